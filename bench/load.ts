import * as http from 'node:http';
import { post } from './support/http';
import { heapAfterGc, memoryOf, startProcess, stop } from './support/processes';
import { count, round } from './support/stats';

export interface LoadResult {
  requests: number;
  concurrency: number;
  seconds: number;
  requestsPerSecond: number;
  errors: number;
  mismatched: number;
  firstProblems: string[];
  routerRssStartMiB: number;
  routerRssEndMiB: number;
  routerPeakRssMiB: number;
  /** RSS after each quarter of the requests. */
  routerRssByQuarterMiB: number[];
  /** Live heap after a full GC in the router process, before and after the run: flat means nothing is retained per request. */
  routerHeapAfterGcStartMiB: number;
  routerHeapAfterGcEndMiB: number;
  routerRssAfterGcEndMiB: number;
}

type Kind = { model: string; stream: boolean };
// gpt-5 streams upstream (piped SSE); claude is answered whole and, when a
// stream is asked for, turned into SSE by the router.
const KINDS: Kind[] = [
  { model: 'gpt-5', stream: false },
  { model: 'gpt-5', stream: true },
  { model: 'claude-sonnet-4-6', stream: true },
  { model: 'claude-sonnet-4-6', stream: false },
];

/** The content the answer carries: the message, or the first content delta of the stream (which must end in [DONE]). */
function echoed(raw: string, stream: boolean): string | undefined {
  if (!stream) return JSON.parse(raw).choices?.[0]?.message?.content;
  const events = raw.split('\n\n').filter((e) => e.startsWith('data: '));
  if (events[events.length - 1] !== 'data: [DONE]') return undefined;
  const first = events.find((e) => e.startsWith('data: {') && e.includes('"content"'));
  return first ? JSON.parse(first.slice(6)).choices?.[0]?.delta?.content : undefined;
}

/**
 * The full load check: 10,000 requests at concurrency 64 through the router
 * (the deployed bundle behind the emulator, in its own process), a mix of
 * buffered and streamed, each answer matched to its request by a nonce the
 * upstream echoes. Zero errors and zero mix-ups expected.
 */
export async function load(): Promise<LoadResult> {
  const total = count(10_000, 200); // a multiple of 4: RSS is sampled per quarter
  const concurrency = 64;
  const deadline = Date.now() + count(180_000, 30_000);
  const upstream = await startProcess('upstream');
  const router = await startProcess('router', [upstream.url]).catch(async (err) => {
    await stop(upstream.child);
    throw err;
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = `${router.url}/v1/chat/completions`;
  const call = async (kind: Kind, nonce: string): Promise<string | undefined> => {
    const a = await post(url, JSON.stringify({ model: kind.model, stream: kind.stream, messages: [{ role: 'user', content: nonce }] }), agent);
    if (a.status !== 200) throw new Error(`HTTP ${a.status}: ${a.body.slice(0, 120)}`);
    return echoed(a.body, kind.stream);
  };
  try {
    for (let i = 0; i < 256; i++) await call(KINDS[i % 4], `warm-${i}`);
    const heapStart = await heapAfterGc(router.child);
    const rssStart = memoryOf(router.child.pid!).rssMiB;
    let next = 0;
    let errors = 0;
    let mismatched = 0;
    let done = 0;
    const problems: string[] = [];
    const quarters: number[] = [];
    const started = Date.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total) {
        if (Date.now() > deadline) throw new Error(`load: time budget exceeded after ${done} requests`);
        const i = next++;
        const kind = KINDS[i % KINDS.length];
        const nonce = `n${i}-${Math.random().toString(36).slice(2, 10)}`;
        try {
          const got = await call(kind, nonce);
          if (got !== nonce) {
            mismatched++;
            if (problems.length < 5) problems.push(`${kind.model}/${kind.stream ? 'stream' : 'json'} ${nonce}: got ${JSON.stringify(got)}`);
          }
        } catch (err) {
          errors++;
          if (problems.length < 5) problems.push(`${kind.model}/${kind.stream ? 'stream' : 'json'} ${nonce}: ${(err as Error).message}`);
        }
        done++;
        if (done % (total / 4) === 0) quarters.push(round(memoryOf(router.child.pid!).rssMiB, 1));
      }
    }));
    const seconds = (Date.now() - started) / 1000;
    const mem = memoryOf(router.child.pid!);
    const heapEnd = await heapAfterGc(router.child);
    return {
      requests: total,
      concurrency,
      seconds: round(seconds, 2),
      requestsPerSecond: round(total / seconds, 0),
      errors,
      mismatched,
      firstProblems: problems,
      routerRssStartMiB: round(rssStart, 1),
      routerRssEndMiB: round(mem.rssMiB, 1),
      routerPeakRssMiB: round(mem.peakMiB, 1),
      routerRssByQuarterMiB: quarters,
      routerHeapAfterGcStartMiB: round(heapStart.heapUsedMiB, 2),
      routerHeapAfterGcEndMiB: round(heapEnd.heapUsedMiB, 2),
      routerRssAfterGcEndMiB: round(heapEnd.rssMiB, 1),
    };
  } finally {
    agent.destroy();
    await stop(router.child);
    await stop(upstream.child);
  }
}
