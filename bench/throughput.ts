import autocannon from 'autocannon';
import { cpuMsOf, memoryOf, resetPeak, ServerProcess, startProcess, stop } from './support/processes';
import { count, round } from './support/stats';

export interface Target {
  /** Mean requests/s over the measured window (autocannon's average of per-second samples). */
  rps: number;
  /** Median of the per-second samples. */
  rpsMedianSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
  non2xx: number;
  /** CPU the server process used per request, µs (10 ms clock resolution over the whole window). */
  serverCpuUsPerRequest: number;
  /** CPU the upstream process used per request, µs. */
  upstreamCpuUsPerRequest: number;
}

export interface ThroughputResult {
  upstreamDelayMs: number;
  seconds: number;
  connections: number;
  direct: Target;
  router: Target;
  /** A minimal pass-through handler behind the same emulator: what any Node proxy hop costs here. */
  passthrough: Target;
  ratio: number;
  passthroughRatio: number;
  routerVsPassthrough: number;
  /** Peak RSS (VmHWM, reset after warm-up) of the router process during its measured window. */
  routerPeakRssMiB: number;
  passthroughPeakRssMiB: number;
  peakResetWorked: boolean;
}

function cannon(url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({
      url: `${url}/v1/chat/completions`,
      method: 'POST',
      connections,
      duration: seconds,
      timeout: 10,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'throughput' }] }),
    }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * Concurrency 64 for `seconds` with autocannon (keep-alive): requests/s
 * straight to the local upstream, through the router (the deployed bundle
 * behind the emulator), and through a minimal pass-through handler behind
 * the same emulator. The upstream, the router and the pass-through each run
 * in their own plain-Node process; autocannon runs in this one. All share
 * the machine's cores, so the upstream delay decides what is measured: 0 ms
 * measures CPU per request (every hop competes for the same 2 cores), a
 * model-like delay measures how much the router holds requests up.
 */
export async function throughput(upstreamDelayMs: number): Promise<ThroughputResult> {
  const seconds = count(10, 1);
  const warmSeconds = count(2, 0);
  const connections = 64;
  const upstream = await startProcess('upstream', [String(upstreamDelayMs)]);
  const servers: ServerProcess[] = [upstream];
  try {
    const router = await startProcess('router', [upstream.url]);
    servers.push(router);
    const passthrough = await startProcess('passthrough', [upstream.url]);
    servers.push(passthrough);
    const measure = async (server: ServerProcess): Promise<Target> => {
      if (warmSeconds > 0) await cannon(server.url, warmSeconds, connections);
      resetPeak(server.child.pid!);
      const cpu0 = cpuMsOf(server.child.pid!);
      const up0 = cpuMsOf(upstream.child.pid!);
      const r = await cannon(server.url, seconds, connections);
      const done = r.requests.total || 1;
      return {
        rps: round(r.requests.average, 0),
        rpsMedianSecond: round(r.requests.p50, 0),
        latencyP50Ms: r.latency.p50,
        latencyP99Ms: r.latency.p99,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
        serverCpuUsPerRequest: round(((cpuMsOf(server.child.pid!) - cpu0) * 1000) / done, 0),
        upstreamCpuUsPerRequest: round(((cpuMsOf(upstream.child.pid!) - up0) * 1000) / done, 0),
      };
    };
    const direct = await measure(upstream);
    const routed = await measure(router);
    const routerPeakRssMiB = round(memoryOf(router.child.pid!).peakMiB, 1);
    const plain = await measure(passthrough);
    const passthroughPeakRssMiB = round(memoryOf(passthrough.child.pid!).peakMiB, 1);
    if (routed.errors > 0 || routed.non2xx > 0) throw new Error(`throughput: ${routed.errors} errors, ${routed.non2xx} non-2xx through the router`);
    return {
      upstreamDelayMs,
      seconds,
      connections,
      direct: { ...direct, serverCpuUsPerRequest: direct.upstreamCpuUsPerRequest },
      router: routed,
      passthrough: plain,
      ratio: round(routed.rps / direct.rps, 3),
      passthroughRatio: round(plain.rps / direct.rps, 3),
      routerVsPassthrough: round(routed.rps / plain.rps, 3),
      routerPeakRssMiB,
      passthroughPeakRssMiB,
      peakResetWorked: resetPeak(upstream.child.pid!),
    };
  } finally {
    for (const s of servers.reverse()) await stop(s.child);
  }
}
