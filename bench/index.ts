import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { coldStart } from './cold-start';
import { handlerCpu } from './handler-cpu';
import { latency } from './latency';
import { load } from './load';
import { memory } from './memory';
import { streaming } from './streaming';
import { SMOKE } from './support/stats';
import { synth } from './synth';
import { throughput } from './throughput';

/**
 * `npm run bench`: every benchmark, each against a baseline measured in the
 * same run, printed and written to bench/results/latest.json.
 * `npm run bench:smoke` (BENCH_SMOKE=1): the same code with tiny counts, so
 * CI keeps the suite working. Bars are reported, never enforced here.
 * Runs with ts-node --transpile-only: a type-checking ts-node keeps the
 * whole TypeScript program (~750 MB) in this process's heap.
 */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const want = (name: string) => only.length === 0 || only.includes(name);
  const results: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, smoke: SMOKE, date: new Date().toISOString() },
  };
  const step = async (name: string, fn: () => unknown) => {
    if (!want(name)) return;
    const started = Date.now();
    results[name] = await fn();
    console.log(`\n== ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(JSON.stringify(results[name], null, 2));
  };
  await step('coldStart', coldStart);
  await step('latency1k', () => latency(1024));
  await step('latency64k', () => latency(64 * 1024));
  await step('streaming', streaming);
  await step('handlerCpu', handlerCpu);
  await step('throughputNoDelay', () => throughput(0));
  await step('throughput20msUpstream', () => throughput(20));
  await step('throughput50msUpstream', () => throughput(50));
  await step('load', load);
  await step('memory', memory);
  await step('synth', synth);

  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  // A partial run (named benchmarks) never overwrites the full results.
  const file = SMOKE ? 'smoke.json' : only.length > 0 ? 'partial.json' : 'latest.json';
  fs.writeFileSync(path.join(outDir, file), JSON.stringify(results, null, 2));
  const load_ = results.load as { errors: number; mismatched: number } | undefined;
  if (load_ && (load_.errors > 0 || load_.mismatched > 0)) {
    console.error(`load: ${load_.errors} errors, ${load_.mismatched} mismatched responses`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
