import * as http from 'node:http';
import { post } from './support/http';
import { heapAfterGc, startProcess, stop } from './support/processes';
import { count, round } from './support/stats';

export interface MemoryResult {
  requestsPerRound: number;
  rounds: number;
  /** Live heap of the router process after a full GC: before the first round, then after each. */
  heapAfterGcMiB: number[];
  /** RSS of the router process at the same points. */
  rssMiB: number[];
  /** Heap growth from the end of the first round to the end of the last. */
  growthMiB: number;
  growthBytesPerRequest: number;
}

/**
 * Does the router retain memory per request? Rounds of mixed requests at
 * concurrency 64 through the router process; after each round that process
 * runs a full GC and reports its live heap. Flat means no leak (RSS alone
 * keeps rising for a while as V8 sizes its heap lazily).
 */
export async function memory(): Promise<MemoryResult> {
  const upstream = await startProcess('upstream');
  const router = await startProcess('router', [upstream.url]).catch(async (err) => {
    await stop(upstream.child);
    throw err;
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = `${router.url}/v1/chat/completions`;
  const perRound = count(5_000, 100);
  const rounds = 5;
  const deadline = Date.now() + count(180_000, 30_000);
  const heap: number[] = [];
  const rss: number[] = [];
  try {
    const sample = async () => {
      const m = await heapAfterGc(router.child);
      heap.push(round(m.heapUsedMiB, 2));
      rss.push(round(m.rssMiB, 1));
    };
    await sample();
    let next = 0;
    for (let r = 0; r < rounds; r++) {
      const end = next + perRound;
      await Promise.all(Array.from({ length: 64 }, async () => {
        while (next < end) {
          if (Date.now() > deadline) throw new Error('memory: time budget exceeded');
          const i = next++;
          const a = await post(url, JSON.stringify({ model: i % 2 ? 'gpt-5' : 'claude-sonnet-4-6', stream: i % 3 === 0, messages: [{ role: 'user', content: `m${i}` }] }), agent);
          if (a.status !== 200) throw new Error(`memory: HTTP ${a.status}`);
        }
      }));
      await sample();
    }
  } finally {
    agent.destroy();
    await stop(router.child);
    await stop(upstream.child);
  }
  const growth = heap[heap.length - 1] - heap[1];
  return {
    requestsPerRound: perRound,
    rounds,
    heapAfterGcMiB: heap,
    rssMiB: rss,
    growthMiB: round(growth, 2),
    growthBytesPerRequest: round((growth * 1048576) / (perRound * (rounds - 1)), 1),
  };
}
