import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectOk, post } from './support/http';
import { startProcess, stop } from './support/processes';
import { count, round } from './support/stats';

export interface InstructionsResult {
  requests: number;
  warmup: number;
  bodyBytes: number;
  /** Instructions the router process (emulator + bundled handler + its upstream client) executed per request. */
  routerPerRequest: number;
  /** The same for the do-nothing pass-through handler behind the same emulator. */
  passthroughPerRequest: number;
  /** routerPerRequest / passthroughPerRequest. */
  ratio: number;
  valgrind: string;
}

/**
 * CPU work per request as instructions counted by valgrind's callgrind in
 * the server process, the router against the pass-through reference.
 * Instruction counts repeat closely run to run (JIT included), where CPU
 * time per request on a shared VM swings widely (BENCHMARKS.md): this is
 * the figure to compare two versions of the handler with
 * (`BENCH_BUNDLE=<other bundle> npm run bench -- instructions`).
 * Sequential buffered 1 KB requests with keep-alive; counting is switched on
 * only after the warm-up (`callgrind_control -i on`).
 */
export async function instructions(): Promise<InstructionsResult> {
  const version = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error('instructions: valgrind is not installed (Debian package valgrind)');
  const warmup = count(500, 20);
  const n = count(2_000, 30);
  const body = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'x'.repeat(980) }] });
  const upstream = await startProcess('upstream', ['0']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-callgrind-'));
  try {
    const perRequest = async (kind: 'router' | 'passthrough'): Promise<number> => {
      const out = path.join(dir, `callgrind.${kind}`);
      const wrapper = ['valgrind', '-q', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`];
      const server = await startProcess(kind, [upstream.url], wrapper, 120_000);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const url = `${server.url}/v1/chat/completions`;
        for (let i = 0; i < warmup; i++) expectOk(await post(url, body, agent), `instructions ${kind} warm-up`);
        execFileSync('callgrind_control', ['-i', 'on', String(server.child.pid)], { stdio: 'ignore' });
        for (let i = 0; i < n; i++) expectOk(await post(url, body, agent), `instructions ${kind}`);
        execFileSync('callgrind_control', ['-i', 'off', String(server.child.pid)], { stdio: 'ignore' });
      } finally {
        agent.destroy();
        await stop(server.child, 60_000); // callgrind writes its profile on exit
      }
      const totals = /^totals: (\d+)/m.exec(fs.readFileSync(out, 'utf8'));
      if (!totals) throw new Error(`instructions ${kind}: no totals in ${out}`);
      return Math.round(Number(totals[1]) / n);
    };
    const routerPerRequest = await perRequest('router');
    const passthroughPerRequest = await perRequest('passthrough');
    return {
      requests: n,
      warmup,
      bodyBytes: Buffer.byteLength(body),
      routerPerRequest,
      passthroughPerRequest,
      ratio: round(routerPerRequest / passthroughPerRequest),
      valgrind: version.stdout.trim(),
    };
  } finally {
    await stop(upstream.child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
