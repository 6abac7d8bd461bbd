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

interface Summary {
  p50: number;
  p99: number;
  addedP50: number;
  addedP99: number;
}

export interface LatencyResult {
  bodyBytes: number;
  /** Independent rounds; each figure is the median of the rounds' figures (p99 is noisy on a shared VM). */
  rounds: number;
  requestsPerRound: number;
  direct: { p50: number; p99: number };
  inProcess: Summary;
  emulator: Summary;
  /** Each round's added p99 in-process, to show the spread. */
  inProcessAddedP99ByRound: number[];
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
  const warmup = count(300, 20);
  const n = count(2000, 40);
  const roundsCount = count(3, 1);
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

  const rounds: Array<{ direct: number[]; inProcess: number[]; emulator: number[] }> = [];
  for (let r = 0; r < roundsCount; r++) {
    const samples = { direct: [] as number[], inProcess: [] as number[], emulator: [] as number[] };
    for (let i = 0; i < warmup + n; i++) {
      const body = requestBody(bodyBytes, i);
      // Rotate the order so no path always runs first.
      for (const k of [0, 1, 2]) {
        const path = (k + i) % 3;
        const start = process.hrtime.bigint();
        if (path === 0) await post(`${upstreamUrl}/v1/chat/completions`, body);
        else if (path === 1) await runInProcess(body);
        else await post(`${emulatorUrl}/v1/chat/completions`, body);
        const ms = msSince(start);
        if (i >= warmup) [samples.direct, samples.inProcess, samples.emulator][path].push(ms);
      }
    }
    rounds.push(samples);
  }
  agent.destroy();
  upstream.close();
  emulator.close();

  const perRound = rounds.map((s) => {
    const d50 = median(s.direct);
    const d99 = p99(s.direct);
    const summary = (x: number[]) => ({ p50: median(x), p99: p99(x), addedP50: median(x) - d50, addedP99: p99(x) - d99 });
    return { direct: { p50: d50, p99: d99 }, inProcess: summary(s.inProcess), emulator: summary(s.emulator) };
  });
  const mid = (pick: (r: (typeof perRound)[number]) => number) => round(median(perRound.map(pick)));
  const summarize = (key: 'inProcess' | 'emulator'): Summary => ({
    p50: mid((r) => r[key].p50),
    p99: mid((r) => r[key].p99),
    addedP50: mid((r) => r[key].addedP50),
    addedP99: mid((r) => r[key].addedP99),
  });
  return {
    bodyBytes,
    rounds: roundsCount,
    requestsPerRound: n,
    direct: { p50: mid((r) => r.direct.p50), p99: mid((r) => r.direct.p99) },
    inProcess: summarize('inProcess'),
    emulator: summarize('emulator'),
    inProcessAddedP99ByRound: perRound.map((r) => round(r.inProcess.addedP99)),
  };
}
