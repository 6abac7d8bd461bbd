import * as http from 'node:http';
import { bundledHandler } from './support/router';
import { count, median, msSince, round } from './support/stats';
import { createUpstream, listen } from './support/upstream';
import { createEmulatorServer } from '../src/emulator/server';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Time to first byte and the gaps between the chunks a client sees. */
function stream(url: string, body: string): Promise<{ ttfb: number; gaps: number[] }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let ttfb = -1;
    let last = 0;
    const gaps: number[] = [];
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        const now = msSince(start);
        if (ttfb < 0) ttfb = now;
        else gaps.push(now - last);
        last = now;
        void chunk;
      });
      res.on('end', () => resolve({ ttfb, gaps }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface StreamingResult {
  streams: number;
  chunkGapMs: number;
  directTtfbP50: number;
  routerTtfbP50: number;
  addedTtfbP50: number;
  directGapP50: number;
  routerGapP50: number;
  routerMinGap: number;
  chunksSeenDirect: number;
  chunksSeenRouter: number;
}

/**
 * An upstream that streams 10 chunks 20 ms apart. Through the router the
 * client must see the same 10 reads, ~20 ms apart (no batching), and the
 * first byte must come no later than direct plus the router's overhead.
 */
export async function streaming(): Promise<StreamingResult> {
  const chunkGapMs = 20;
  const upstream = createUpstream({ chunks: 10, chunkGapMs });
  const upstreamUrl = await listen(upstream);
  const emulator = createEmulatorServer({ handler: bundledHandler(upstreamUrl) });
  const emulatorUrl = await listen(emulator);
  const n = count(100, 5);
  const direct: Array<{ ttfb: number; gaps: number[] }> = [];
  const routed: Array<{ ttfb: number; gaps: number[] }> = [];
  for (let i = 0; i < n + 3; i++) {
    const body = JSON.stringify({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: `s${i}` }] });
    const d = await stream(`${upstreamUrl}/v1/chat/completions`, body);
    const r = await stream(`${emulatorUrl}/v1/chat/completions`, body);
    if (i >= 3) {
      direct.push(d);
      routed.push(r);
    }
  }
  agent.destroy();
  upstream.close();
  emulator.close();
  const allGaps = (s: typeof direct) => s.flatMap((x) => x.gaps.filter((g) => g > 1));
  return {
    streams: n,
    chunkGapMs,
    directTtfbP50: round(median(direct.map((x) => x.ttfb))),
    routerTtfbP50: round(median(routed.map((x) => x.ttfb))),
    addedTtfbP50: round(median(routed.map((x) => x.ttfb)) - median(direct.map((x) => x.ttfb))),
    directGapP50: round(median(allGaps(direct))),
    routerGapP50: round(median(allGaps(routed))),
    routerMinGap: round(Math.min(...allGaps(routed))),
    chunksSeenDirect: round(median(direct.map((x) => x.gaps.filter((g) => g > 1).length + 1)), 1),
    chunksSeenRouter: round(median(routed.map((x) => x.gaps.filter((g) => g > 1).length + 1)), 1),
  };
}
