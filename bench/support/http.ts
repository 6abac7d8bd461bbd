import * as http from 'node:http';

/** No benchmark request may wait longer than this (every loop is bounded in time as well as count). */
export const REQUEST_TIMEOUT_MS = 10_000;

export interface Answer {
  status: number;
  body: string;
}

/** POSTs `body` and resolves with the whole answer; rejects on a socket error or after REQUEST_TIMEOUT_MS. */
export function post(url: string, body: string, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: REQUEST_TIMEOUT_MS,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Fails the benchmark instead of timing an error path. */
export function expectOk(a: Answer, what: string): void {
  if (a.status !== 200) throw new Error(`${what}: HTTP ${a.status} ${a.body.slice(0, 200)}`);
}
