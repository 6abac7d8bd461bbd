import * as http from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { expectOk, post } from './support/http';
import { bundledHandler, passthroughHandler, silencedLines } from './support/router';
import { count, median, p99, paired, round } from './support/stats';
import { close, createUpstream, listen } from './support/upstream';
import { lambdaContext, proxyEvent } from '../src/emulator/runtime-shim';
import { createEmulatorServer } from '../src/emulator/server';

/** The paths a request takes, each timed against `direct` in the same iteration. */
const PATHS = ['direct', 'bareHop', 'emulatorPassthrough', 'emulator', 'inProcess'] as const;
type PathName = typeof PATHS[number];

function requestBody(bytes: number, nonce: string): string {
  const base = { model: 'gpt-5', messages: [{ role: 'user', content: nonce }, { role: 'user', content: '' }] };
  base.messages[1].content = 'x'.repeat(Math.max(0, bytes - JSON.stringify(base).length));
  return JSON.stringify(base);
}

/**
 * The least any Node.js proxy hop costs: a plain server that forwards the
 * request with a keep-alive agent and pipes the answer back.
 */
function bareHop(target: string): http.Server {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return http.createServer((req, res) => {
    const headers = { 'content-type': String(req.headers['content-type']), 'content-length': String(req.headers['content-length']) };
    const up = http.request(target + (req.url ?? '/'), { method: req.method, agent, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { 'content-type': String(answer.headers['content-type']) });
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
}

/** Added latency of one path: per-iteration difference to `direct` (paired). */
export interface Added {
  /** Median across rounds of each round's quantile (one round's p99 is fragile on a shared machine). */
  p50: number;
  p99: number;
  p99ByRound: number[];
  /** p99 over the iterations in which this process was never preempted (no involuntary context switch in either leg). */
  p99NotPreempted: number;
  /** Of the iterations at or above the pooled p99: how many were preempted, how many overlapped a V8 GC pause. */
  tail: { iterations: number; preempted: number; duringGc: number };
  /** Median extra CPU time of this process per request (process.resourceUsage), paired. */
  cpuP50: number;
}

export interface LatencyResult {
  bodyBytes: number;
  rounds: number;
  requestsPerRound: number;
  warmup: number;
  direct: { p50: number; p99: number };
  added: Record<Exclude<PathName, 'direct'>, Added>;
  /** Iterations in which no leg was preempted, of all. */
  notPreemptedShare: number;
  gcPauses: { count: number; p50Ms: number; maxMs: number };
  /** EMF documents + log lines the router produced (and the bench swallowed) per router request: 2 expected. */
  jsonLinesPerRouterRequest: number;
}

interface Sample { ms: number; cpuMs: number; preempted: boolean; from: number; to: number }

/**
 * Sequential requests with keep-alive, every iteration sending the same
 * body along every path in rotating order, so all see the same machine:
 * straight to the local upstream (`direct`), through a bare Node.js proxy
 * hop, through the local API Gateway emulator with a do-nothing
 * pass-through handler, through the emulator with the router (the deployed
 * bundle), and through the router's handler invoked in-process. Each
 * request also records whether the process was preempted during it and
 * whether a GC pause overlapped it, which is what says where the tail comes
 * from. Every answer must be a 200.
 */
export async function latency(bodyBytes: number): Promise<LatencyResult> {
  const upstream = createUpstream();
  const upstreamUrl = await listen(upstream);
  const handler = bundledHandler(upstreamUrl);
  const servers = [
    upstream,
    bareHop(upstreamUrl),
    createEmulatorServer({ handler: passthroughHandler(upstreamUrl) as never, apiGatewayChecks: false }),
    createEmulatorServer({ handler: handler as never, apiGatewayChecks: false }),
  ];
  const [bareUrl, passthroughUrl, emulatorUrl] = await Promise.all(servers.slice(1).map((s) => listen(s)));
  const url: Record<string, string> = { direct: upstreamUrl, bareHop: bareUrl, emulatorPassthrough: passthroughUrl, emulator: emulatorUrl };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warmup = count(500, 20);
  const rounds = count(3, 1);
  const perRound = count(2000, 40);
  const deadline = Date.now() + count(180_000, 20_000);
  const context = lambdaContext();
  const samples = Object.fromEntries(PATHS.map((p) => [p, [] as Sample[]])) as Record<PathName, Sample[]>;
  const gcs: Array<[number, number]> = [];
  const observer = new PerformanceObserver((list) => list.getEntries().forEach((e) => gcs.push([e.startTime, e.startTime + e.duration])));
  observer.observe({ entryTypes: ['gc'] });

  // What a Lambda invocation gets: a proxy event and a response stream; only the prelude's status is read.
  const runInProcess = async (body: string) => {
    const stream = new PassThrough();
    let first: Buffer | undefined;
    stream.on('data', (c: Buffer) => (first ??= c));
    const ended = new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
    await handler(proxyEvent({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body }), stream, context);
    await ended;
    if (!first?.toString('utf8').startsWith('{"statusCode":200')) throw new Error(`in-process: not a 200: ${first?.toString('utf8').slice(0, 200)}`);
  };

  const linesBefore = silencedLines();
  try {
    for (let i = 0; i < warmup + rounds * perRound; i++) {
      if (Date.now() > deadline) throw new Error(`latency(${bodyBytes}): time budget exceeded after ${i} iterations`);
      const body = requestBody(bodyBytes, `n${i}`);
      for (let k = 0; k < PATHS.length; k++) {
        const path = PATHS[(k + i) % PATHS.length];
        const before = process.resourceUsage();
        const from = performance.now();
        if (path === 'inProcess') await runInProcess(body);
        else expectOk(await post(`${url[path]}/v1/chat/completions`, body, agent), path);
        const to = performance.now();
        const after = process.resourceUsage();
        const cpuMs = (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / 1000;
        const preempted = after.involuntaryContextSwitches > before.involuntaryContextSwitches;
        if (i >= warmup) samples[path].push({ ms: to - from, cpuMs, preempted, from, to });
      }
    }
  } finally {
    observer.disconnect();
    agent.destroy();
    await Promise.all(servers.map(close));
  }

  const direct = samples.direct;
  const duringGc = (s: Sample) => gcs.some(([a, b]) => a < s.to && b > s.from);
  const added = (path: PathName): Added => {
    const own = samples[path];
    const diff = paired(own.map((s) => s.ms), direct.map((s) => s.ms));
    const byRound = Array.from({ length: rounds }, (_, r) => diff.slice(r * perRound, (r + 1) * perRound));
    const p99ByRound = byRound.map((d) => p99(d));
    const quiet = diff.filter((_, i) => !own[i].preempted && !direct[i].preempted);
    const threshold = p99(diff);
    const tail = diff.map((_, i) => i).filter((i) => diff[i] >= threshold);
    return {
      p50: round(median(byRound.map((d) => median(d)))),
      p99: round(median(p99ByRound)),
      p99ByRound: p99ByRound.map((x) => round(x)),
      p99NotPreempted: round(p99(quiet)),
      tail: {
        iterations: tail.length,
        preempted: tail.filter((i) => own[i].preempted || direct[i].preempted).length,
        duringGc: tail.filter((i) => duringGc(own[i]) || duringGc(direct[i])).length,
      },
      cpuP50: round(median(paired(own.map((s) => s.cpuMs), direct.map((s) => s.cpuMs)))),
    };
  };
  const pauses = gcs.map(([a, b]) => b - a);
  const routerRequests = warmup + rounds * perRound;
  return {
    bodyBytes,
    rounds,
    requestsPerRound: perRound,
    warmup,
    direct: { p50: round(median(direct.map((s) => s.ms))), p99: round(p99(direct.map((s) => s.ms))) },
    added: {
      bareHop: added('bareHop'),
      emulatorPassthrough: added('emulatorPassthrough'),
      emulator: added('emulator'),
      inProcess: added('inProcess'),
    },
    notPreemptedShare: round(direct.filter((s, i) => !s.preempted && PATHS.every((p) => !samples[p][i].preempted)).length / direct.length, 2),
    gcPauses: { count: pauses.length, p50Ms: round(median(pauses)), maxMs: round(Math.max(0, ...pauses)) },
    jsonLinesPerRouterRequest: round((silencedLines() - linesBefore) / (2 * routerRequests), 2),
  };
}
