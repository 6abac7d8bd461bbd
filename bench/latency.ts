import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import { expectOk, post } from './support/http';
import { bundledHandler, silencedLines } from './support/router';
import { count, median, msSince, p99, paired, round } from './support/stats';
import { close, createUpstream, listen } from './support/upstream';
import { lambdaContext, proxyEvent } from '../src/emulator/runtime-shim';
import { createEmulatorServer } from '../src/emulator/server';

/** Localhost mean overheads other gateways publish (their figures, their machines: not measured here). */
export const PUBLISHED_MEAN_OVERHEAD_MS = { bifrost: 0.44, portkeyOss: 2.37, litellm: 4.34 };

function requestBody(bytes: number, nonce: string): string {
  const base = { model: 'gpt-5', messages: [{ role: 'user', content: nonce }, { role: 'user', content: '' }] };
  const overhead = JSON.stringify(base).length;
  base.messages[1].content = 'x'.repeat(Math.max(0, bytes - overhead));
  return JSON.stringify(base);
}

export interface Added {
  /**
   * Quantiles of the per-request difference, router minus direct in the
   * same iteration (paired), computed per round; the figure is the median
   * across rounds (a single run's p99 moves by a millisecond on a shared VM).
   */
  p50: number;
  p99: number;
  mean: number;
  p50ByRound: number[];
  p99ByRound: number[];
  /** The same quantiles over all rounds pooled. */
  pooledP50: number;
  pooledP99: number;
  /** The difference of the two distributions' quantiles (pooled), for comparison. */
  p50OfRouterMinusP50OfDirect: number;
  p99OfRouterMinusP99OfDirect: number;
}

export interface LatencyResult {
  bodyBytes: number;
  rounds: number;
  requestsPerRound: number;
  warmup: number;
  direct: { p50: number; p99: number; mean: number };
  inProcess: { p50: number; p99: number; mean: number; added: Added };
  emulator: { p50: number; p99: number; mean: number; added: Added };
  /** EMF documents + log lines the router produced (and the bench swallowed) per request: 2 expected. */
  jsonLinesPerRouterRequest: number;
  publishedMeanOverheadMs: typeof PUBLISHED_MEAN_OVERHEAD_MS;
}

const mean = (s: readonly number[]) => s.reduce((a, b) => a + b, 0) / s.length;

function added(router: number[], direct: number[], rounds: number): Added {
  const diff = paired(router, direct);
  const per = diff.length / rounds;
  const byRound = Array.from({ length: rounds }, (_, r) => diff.slice(r * per, (r + 1) * per));
  const p50ByRound = byRound.map((d) => median(d));
  const p99ByRound = byRound.map((d) => p99(d));
  return {
    p50: round(median(p50ByRound)),
    p99: round(median(p99ByRound)),
    mean: round(mean(diff)),
    p50ByRound: p50ByRound.map((x) => round(x)),
    p99ByRound: p99ByRound.map((x) => round(x)),
    pooledP50: round(median(diff)),
    pooledP99: round(p99(diff)),
    p50OfRouterMinusP50OfDirect: round(median(router) - median(direct)),
    p99OfRouterMinusP99OfDirect: round(p99(router) - p99(direct)),
  };
}

/**
 * Sequential requests (one at a time, keep-alive), interleaved so every
 * path sees the same machine state, each iteration sending the same body
 * three ways in rotating order: straight to the local upstream, through
 * the bundled handler invoked in-process (a PassThrough as its response
 * stream), and through the handler behind the local API Gateway emulator.
 * After a warm-up, three rounds of 2,000 iterations. Every answer must be a
 * 200 (an error path would be faster and meaningless).
 */
export async function latency(bodyBytes: number): Promise<LatencyResult> {
  const upstream = createUpstream();
  const upstreamUrl = await listen(upstream);
  const handler = bundledHandler(upstreamUrl);
  const emulator = createEmulatorServer({ handler: handler as never, apiGatewayChecks: false });
  const emulatorUrl = await listen(emulator);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const direct: number[] = [];
  const inProcess: number[] = [];
  const viaEmulator: number[] = [];
  const warmup = count(500, 20);
  const rounds = count(3, 1);
  const perRound = count(2000, 40);
  const n = rounds * perRound;
  const deadline = Date.now() + count(120_000, 20_000);
  const context = lambdaContext();

  // What a Lambda invocation gets: a proxy event and a response stream.
  // Read only the prelude's status; count the body bytes.
  const runInProcess = async (body: string) => {
    const stream = new PassThrough();
    let first: Buffer | undefined;
    let bytes = 0;
    stream.on('data', (c: Buffer) => {
      first ??= c;
      bytes += c.length;
    });
    const ended = new Promise((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    await handler(proxyEvent({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body }), stream, context);
    await ended;
    if (!first?.toString('utf8').startsWith('{"statusCode":200')) throw new Error(`in-process: not a 200: ${first?.toString('utf8').slice(0, 200)}`);
    return bytes;
  };

  const linesBefore = silencedLines();
  try {
    for (let i = 0; i < warmup + n; i++) {
      if (Date.now() > deadline) throw new Error(`latency(${bodyBytes}): time budget exceeded after ${i} iterations`);
      const body = requestBody(bodyBytes, `n${i}`);
      // Rotate the order so no path always runs first.
      for (let k = 0; k < 3; k++) {
        const which = (k + i) % 3;
        const start = process.hrtime.bigint();
        if (which === 0) expectOk(await post(`${upstreamUrl}/v1/chat/completions`, body, agent), 'direct');
        else if (which === 1) await runInProcess(body);
        else expectOk(await post(`${emulatorUrl}/v1/chat/completions`, body, agent), 'emulator');
        const ms = msSince(start);
        if (i >= warmup) [direct, inProcess, viaEmulator][which].push(ms);
      }
    }
  } finally {
    agent.destroy();
    await close(emulator);
    await close(upstream);
  }
  const summary = (s: number[]) => ({ p50: round(median(s)), p99: round(p99(s)), mean: round(mean(s)), added: added(s, direct, rounds) });
  return {
    bodyBytes,
    rounds,
    requestsPerRound: perRound,
    warmup,
    direct: { p50: round(median(direct)), p99: round(p99(direct)), mean: round(mean(direct)) },
    inProcess: summary(inProcess),
    emulator: summary(viaEmulator),
    jsonLinesPerRouterRequest: round((silencedLines() - linesBefore) / (2 * (warmup + n)), 2),
    publishedMeanOverheadMs: PUBLISHED_MEAN_OVERHEAD_MS,
  };
}
