import autocannon from 'autocannon';
import { memoryOf, startProcess, stop } from './support/processes';
import { count, round } from './support/stats';

export interface ThroughputResult {
  upstreamDelayMs: number;
  seconds: number;
  connections: number;
  directRps: number;
  routerRps: number;
  ratio: number;
  routerErrors: number;
  routerNon2xx: number;
  routerPeakRssMiB: number;
}

function cannon(url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({
      url: `${url}/v1/chat/completions`,
      method: 'POST',
      connections,
      duration: seconds,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'throughput' }] }),
    }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * Concurrency 64 for `seconds`: requests/s straight to the upstream, then
 * through the router (the bundled handler behind the emulator). The
 * upstream and the router each run in their own Node process; the load
 * generator is this process. All three share the machine's 2 cores.
 */
export async function throughput(upstreamDelayMs: number): Promise<ThroughputResult> {
  const seconds = count(10, 1);
  const connections = 64;
  const upstream = await startProcess('upstream', [String(upstreamDelayMs)]);
  const router = await startProcess('router', [upstream.url]);
  try {
    await cannon(upstream.url, 1, connections); // warm-up
    await cannon(router.url, 1, connections);
    const direct = await cannon(upstream.url, seconds, connections);
    const routed = await cannon(router.url, seconds, connections);
    const directRps = direct.requests.average;
    const routerRps = routed.requests.average;
    return {
      upstreamDelayMs,
      seconds,
      connections,
      directRps: round(directRps, 0),
      routerRps: round(routerRps, 0),
      ratio: round(routerRps / directRps, 3),
      routerErrors: routed.errors + routed.timeouts,
      routerNon2xx: routed.non2xx,
      routerPeakRssMiB: round(memoryOf(router.child.pid!).peakMiB, 1),
    };
  } finally {
    await stop(router.child);
    await stop(upstream.child);
  }
}
