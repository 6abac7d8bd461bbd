import * as http from 'node:http';
import { memoryOf, startProcess, stop } from './support/processes';
import { count, round } from './support/stats';

export interface LoadResult {
  requests: number;
  concurrency: number;
  seconds: number;
  errors: number;
  mismatched: number;
  routerRssStartMiB: number;
  routerRssEndMiB: number;
  routerPeakRssMiB: number;
  /** RSS after each quarter of the requests: flat means memory does not grow with the count. */
  routerRssByQuarterMiB: number[];
}

/**
 * The full load check: `requests` at concurrency 64 through the router (in
 * its own process), a mix of buffered and streamed, each response matched
 * to its request by a nonce the upstream echoes.
 */
export async function load(): Promise<LoadResult> {
  const total = count(10_000, 200); // multiples of 4 (RSS is sampled per quarter)
  const concurrency = 64;
  const upstream = await startProcess('upstream');
  const router = await startProcess('router', [upstream.url]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const kinds: Array<[string, boolean]> = [['gpt-5', false], ['gpt-5', true], ['claude-sonnet-4-6', true], ['claude-sonnet-4-6', false]];
  const call = (model: string, stream: boolean, nonce: string) => new Promise<string>((resolve, reject) => {
    const req = http.request(`${router.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        if (!stream) return resolve(JSON.parse(raw).choices[0].message.content);
        const first = raw.split('\n\n').find((e) => e.startsWith('data: {'));
        resolve(first ? JSON.parse(first.slice(6)).choices[0].delta.content : '');
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model, stream, messages: [{ role: 'user', content: nonce }] }));
  });
  try {
    // Warm up, then measure memory from a steady start.
    for (let i = 0; i < 64; i++) await call('gpt-5', false, `warm-${i}`);
    const rssStart = memoryOf(router.child.pid!).rssMiB;
    let next = 0;
    let errors = 0;
    let mismatched = 0;
    let done = 0;
    const quarters: number[] = [];
    const started = Date.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const [model, stream] = kinds[i % kinds.length];
        const nonce = `n${i}-${Math.random().toString(36).slice(2, 10)}`;
        try {
          if ((await call(model, stream, nonce)) !== nonce) mismatched++;
        } catch {
          errors++;
        }
        done++;
        if (done % (total / 4) === 0) quarters.push(round(memoryOf(router.child.pid!).rssMiB, 1));
      }
    }));
    const seconds = (Date.now() - started) / 1000;
    const mem = memoryOf(router.child.pid!);
    return {
      requests: total,
      concurrency,
      seconds: round(seconds, 2),
      errors,
      mismatched,
      routerRssStartMiB: round(rssStart, 1),
      routerRssEndMiB: round(mem.rssMiB, 1),
      routerPeakRssMiB: round(mem.peakMiB, 1),
      routerRssByQuarterMiB: quarters,
    };
  } finally {
    agent.destroy();
    await stop(router.child);
    await stop(upstream.child);
  }
}
