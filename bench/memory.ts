import * as http from 'node:http';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { createEmulatorServer } from '../src/emulator/server';
import { bundledHandler } from './support/router';
import { count, round } from './support/stats';
import { createUpstream, listen } from './support/upstream';

export interface MemoryResult {
  requestsPerRound: number;
  heapAfterGcMiB: number[];
  growthMiB: number;
}

/**
 * Does memory grow with the request count? The router (in this process,
 * behind the emulator) serves rounds of mixed requests at concurrency 64;
 * after each round a full GC, then the live heap is read. Flat means no leak
 * (RSS alone rises for a while as V8 grows its heap lazily).
 */
export async function memory(): Promise<MemoryResult> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const upstream = createUpstream();
  const emulator = createEmulatorServer({ handler: bundledHandler(await listen(upstream)) });
  const url = await listen(emulator);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const call = (i: number) => new Promise<void>((resolve, reject) => {
    const req = http.request(`${url}/v1/chat/completions`, { method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: i % 2 ? 'gpt-5' : 'claude-sonnet-4-6', stream: i % 3 === 0, messages: [{ role: 'user', content: `n${i}` }] }));
  });
  const perRound = count(5_000, 100);
  const heap: number[] = [];
  let next = 0;
  for (let roundNo = 0; roundNo < 5; roundNo++) {
    const end = next + perRound;
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < end) await call(next++);
    }));
    gc();
    gc();
    heap.push(round(process.memoryUsage().heapUsed / 1048576, 2));
  }
  agent.destroy();
  emulator.close();
  upstream.close();
  return { requestsPerRound: perRound, heapAfterGcMiB: heap, growthMiB: round(heap[heap.length - 1] - heap[0], 2) };
}
