import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import { bundledHandler } from './support/router';
import { count, median, msSince, p99, round } from './support/stats';
import { createUpstream, listen } from './support/upstream';
import { createEmulatorServer } from '../src/emulator/server';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function requestBody(bytes: number, i: number): string {
  const base = { model: 'gpt-5', messages: [{ role: 'user', content: `n${i}` }, { role: 'user', content: '' }] };
  const overhead = JSON.stringify(base).length;
  base.messages[1].content = 'x'.repeat(Math.max(0, bytes - overhead));
  return JSON.stringify(base);
}

export interface LatencyResult {
  bodyBytes: number;
  requests: number;
  direct: { p50: number; p99: number };
  inProcess: { p50: number; p99: number; addedP50: number; addedP99: number };
  emulator: { p50: number; p99: number; addedP50: number; addedP99: number };
}

/**
 * Sequential requests, interleaved so every path sees the same machine
 * state: directly to the upstream, through the handler invoked in-process,
 * and through the handler behind the local API Gateway emulator.
 */
export async function latency(bodyBytes: number): Promise<LatencyResult> {
  const upstream = createUpstream();
  const upstreamUrl = await listen(upstream);
  const handler = bundledHandler(upstreamUrl);
  const emulator = createEmulatorServer({ handler });
  const emulatorUrl = await listen(emulator);
  const direct: number[] = [];
  const inProcess: number[] = [];
  const viaEmulator: number[] = [];
  const warmup = count(300, 20);
  const n = count(3000, 40);
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 300_000 };

  const runInProcess = async (body: string) => {
    const stream = new PassThrough();
    let bytes = 0;
    stream.on('data', (c: Buffer) => (bytes += c.length));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    await handler({ resource: '/v1/chat/completions', path: '/v1/chat/completions', httpMethod: 'POST', headers: {}, body, isBase64Encoded: false, requestContext: { requestId: 'r' } }, stream, context);
    await ended;
    return bytes;
  };

  for (let i = 0; i < warmup + n; i++) {
    const body = requestBody(bodyBytes, i);
    // Rotate the order so no path always runs first.
    const order = [0, 1, 2].map((k) => (k + i) % 3);
    for (const path of order) {
      const start = process.hrtime.bigint();
      if (path === 0) await post(`${upstreamUrl}/v1/chat/completions`, body);
      else if (path === 1) await runInProcess(body);
      else await post(`${emulatorUrl}/v1/chat/completions`, body);
      const ms = msSince(start);
      if (i >= warmup) [direct, inProcess, viaEmulator][path].push(ms);
    }
  }
  agent.destroy();
  upstream.close();
  emulator.close();
  const d50 = median(direct);
  const d99 = p99(direct);
  const summary = (s: number[]) => ({ p50: round(median(s)), p99: round(p99(s)), addedP50: round(median(s) - d50), addedP99: round(p99(s) - d99) });
  return { bodyBytes, requests: n, direct: { p50: round(d50), p99: round(d99) }, inProcess: summary(inProcess), emulator: summary(viaEmulator) };
}
