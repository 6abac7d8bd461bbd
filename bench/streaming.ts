import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import { REQUEST_TIMEOUT_MS } from './support/http';
import { bundledHandler } from './support/router';
import { count, median, p99, paired, quantile, round } from './support/stats';
import { close, createUpstream, listen } from './support/upstream';
import { lambdaContext, proxyEvent, splitPrelude } from '../src/emulator/runtime-shim';
import { createEmulatorServer } from '../src/emulator/server';

const CHUNKS = 10;
const CHUNK_GAP_MS = 20;

/** What the client saw of one stream. */
interface Seen {
  /** Request sent → first SSE event complete, ms. */
  ttfb: number;
  /** Arrival time of each `data: {...}` event (hrtime, ns) and the read it completed in. */
  arrivals: bigint[];
  reads: number[];
  firstContent?: string;
  done: boolean;
}

/** Splits an SSE body into events as bytes arrive; timestamps each complete event. */
class EventClock {
  readonly seen: Seen = { ttfb: -1, arrivals: [], reads: [], done: false };
  private text = '';
  private read = 0;
  constructor(private readonly start: bigint) {}

  push(chunk: Buffer): void {
    const now = process.hrtime.bigint();
    this.read++;
    this.text += chunk.toString('utf8');
    let at: number;
    while ((at = this.text.indexOf('\n\n')) >= 0) {
      const event = this.text.slice(0, at);
      this.text = this.text.slice(at + 2);
      if (event === 'data: [DONE]') {
        this.seen.done = true;
        continue;
      }
      if (!event.startsWith('data: {')) continue;
      if (this.seen.arrivals.length === 0) {
        this.seen.ttfb = Number(now - this.start) / 1e6;
        this.seen.firstContent = JSON.parse(event.slice(6)).choices?.[0]?.delta?.content;
      }
      this.seen.arrivals.push(now);
      this.seen.reads.push(this.read);
    }
  }
}

function streamOverHttp(url: string, body: string, agent: http.Agent): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const clock = new EventClock(start);
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`stream: HTTP ${res.statusCode}`));
      res.on('data', (c: Buffer) => clock.push(c));
      res.on('end', () => resolve(clock.seen));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('stream: timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface StreamPath {
  ttfbP50: number;
  ttfbP99: number;
  /** Upstream write → client arrival, per event. */
  eventDelayP50: number;
  eventDelayP99: number;
  eventDelayMax: number;
  /** Gaps between consecutive events at the client. */
  gapP50: number;
  gapP1: number;
  gapMin: number;
  gapMax: number;
  /** Events that arrived in the same read as the previous one (batched). */
  batchedEvents: number;
  eventsPerStream: number;
}

export interface StreamingResult {
  streams: number;
  chunkGapMs: number;
  eventsPerStreamSent: number;
  /** Gaps between the upstream's own writes (its timer jitter). */
  upstreamGapP50: number;
  upstreamGapMin: number;
  upstreamGapMax: number;
  direct: StreamPath;
  inProcess: StreamPath;
  emulator: StreamPath;
  /** Paired per stream, router minus direct. */
  addedTtfbInProcess: { p50: number; p99: number };
  addedTtfbEmulator: { p50: number; p99: number };
  /** Paired per event, router minus direct event delay. */
  addedEventDelayEmulator: { p50: number; p99: number };
}

/**
 * Model gpt-5 (its provider streams upstream, so the router pipes SSE). The
 * local upstream writes 10 content events and a final usage event, 20 ms
 * apart, and records when it wrote each. The client times each event's
 * arrival: directly, through the handler in-process, and through the
 * emulator. No batching means the router's clients see every event in its
 * own read, 20 ms apart, with a delay as small as the direct path's.
 */
export async function streaming(): Promise<StreamingResult> {
  const written = new Map<string, bigint[]>();
  const upstream = createUpstream({
    chunks: CHUNKS,
    chunkGapMs: CHUNK_GAP_MS,
    onEventWritten: (nonce, i, at) => {
      const list = written.get(nonce) ?? [];
      list[i] = at;
      written.set(nonce, list);
    },
  });
  const upstreamUrl = await listen(upstream);
  const handler = bundledHandler(upstreamUrl);
  const emulator = createEmulatorServer({ handler: handler as never, apiGatewayChecks: false });
  const emulatorUrl = await listen(emulator);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const context = lambdaContext();

  const inProcess = async (body: string): Promise<Seen> => {
    const start = process.hrtime.bigint();
    const clock = new EventClock(start);
    const stream = new PassThrough();
    let prelude: Buffer | undefined = Buffer.alloc(0);
    stream.on('data', (c: Buffer) => {
      if (prelude === undefined) return clock.push(c);
      prelude = Buffer.concat([prelude, c]);
      const split = splitPrelude(prelude);
      if (!split) return;
      if (split.prelude.statusCode !== 200) throw new Error(`in-process stream: ${JSON.stringify(split.prelude)}`);
      prelude = undefined;
      if (split.body.length) clock.push(split.body);
    });
    const ended = new Promise((resolve) => stream.on('end', resolve));
    await handler(proxyEvent({ method: 'POST', path: '/v1/chat/completions', body }), stream, context);
    await ended;
    return clock.seen;
  };

  const n = count(100, 4);
  const warmup = count(5, 1);
  const deadline = Date.now() + count(120_000, 20_000);
  const seen: Record<'direct' | 'inProcess' | 'emulator', Array<{ nonce: string; s: Seen }>> = { direct: [], inProcess: [], emulator: [] };
  try {
    for (let i = 0; i < warmup + n; i++) {
      if (Date.now() > deadline) throw new Error(`streaming: time budget exceeded after ${i} iterations`);
      for (const path of ['direct', 'inProcess', 'emulator'] as const) {
        const nonce = `s${i}-${path}`;
        const body = JSON.stringify({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: nonce }] });
        const s = path === 'direct' ? await streamOverHttp(`${upstreamUrl}/v1/chat/completions`, body, agent)
          : path === 'inProcess' ? await inProcess(body)
            : await streamOverHttp(`${emulatorUrl}/v1/chat/completions`, body, agent);
        if (s.firstContent !== nonce || !s.done || s.arrivals.length !== CHUNKS + 1) {
          throw new Error(`streaming ${path}: got ${s.arrivals.length} events, first ${JSON.stringify(s.firstContent)}, [DONE] ${s.done}`);
        }
        if (i >= warmup) seen[path].push({ nonce, s });
      }
    }
  } finally {
    agent.destroy();
    await close(emulator);
    await close(upstream);
  }

  const ms = (ns: bigint) => Number(ns) / 1e6;
  const delays = (runs: Array<{ nonce: string; s: Seen }>) =>
    runs.flatMap(({ nonce, s }) => s.arrivals.map((a, i) => ms(a - written.get(nonce)![i])));
  const gapsOf = (times: bigint[]) => times.slice(1).map((t, i) => ms(t - times[i]));
  const summary = (runs: Array<{ nonce: string; s: Seen }>): StreamPath => {
    const d = delays(runs);
    const gaps = runs.flatMap(({ s }) => gapsOf(s.arrivals));
    return {
      ttfbP50: round(median(runs.map((r) => r.s.ttfb))),
      ttfbP99: round(p99(runs.map((r) => r.s.ttfb))),
      eventDelayP50: round(median(d)),
      eventDelayP99: round(p99(d)),
      eventDelayMax: round(Math.max(...d)),
      gapP50: round(median(gaps)),
      gapP1: round(quantile(gaps, 0.01)),
      gapMin: round(Math.min(...gaps)),
      gapMax: round(Math.max(...gaps)),
      batchedEvents: runs.reduce((sum, { s }) => sum + s.reads.filter((r, i) => i > 0 && r === s.reads[i - 1]).length, 0),
      eventsPerStream: median(runs.map((r) => r.s.arrivals.length)),
    };
  };
  const upstreamGaps = [...seen.direct, ...seen.inProcess, ...seen.emulator].flatMap(({ nonce }) => gapsOf(written.get(nonce)!));
  const ttfbs = (p: keyof typeof seen) => seen[p].map((r) => r.s.ttfb);
  const addedTtfb = (p: 'inProcess' | 'emulator') => {
    const diff = paired(ttfbs(p), ttfbs('direct'));
    return { p50: round(median(diff)), p99: round(p99(diff)) };
  };
  const eventDiff = paired(delays(seen.emulator), delays(seen.direct));
  return {
    streams: n,
    chunkGapMs: CHUNK_GAP_MS,
    eventsPerStreamSent: CHUNKS + 1,
    upstreamGapP50: round(median(upstreamGaps)),
    upstreamGapMin: round(Math.min(...upstreamGaps)),
    upstreamGapMax: round(Math.max(...upstreamGaps)),
    direct: summary(seen.direct),
    inProcess: summary(seen.inProcess),
    emulator: summary(seen.emulator),
    addedTtfbInProcess: addedTtfb('inProcess'),
    addedTtfbEmulator: addedTtfb('emulator'),
    addedEventDelayEmulator: { p50: round(median(eventDiff)), p99: round(p99(eventDiff)) },
  };
}
