import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { costTable } from './cost-model';
import { rows, table } from './report';
import { BENCHMARKS, DEFAULT_BENCHMARKS } from './suite';
import { SMOKE } from './support/stats';
import { BUNDLE_PATH } from '../src/emulator/runtime-shim';

/**
 * `npm run bench`: the default benchmarks (bench/suite.ts), each against a
 * baseline measured in the same run, each in a fresh worker process (no JIT
 * state, heap or loaded modules carried from one benchmark into the next);
 * prints a results table and the cost model and writes
 * bench/results/latest.json. `npm run bench -- --deep` adds the diagnostics
 * (64 KB latency, throughput, instruction counts); `npm run bench -- latency1k
 * streaming` runs the named ones only. `npm run bench:smoke`
 * (BENCH_SMOKE=1): the default benchmarks with tiny counts, checking only
 * that they run and yield numbers. Bars are reported, never enforced: the
 * exit code is non-zero only when a benchmark throws or yields no number.
 */

const WORKER = path.join(__dirname, 'worker.ts');
/** Each benchmark's worker is killed after this. */
const WORKER_TIMEOUT_MS = SMOKE ? 60_000 : 10 * 60_000;
/** The full run waits up to this long for other processes to quiet down before each benchmark (the machine may be shared; the whole default run must stay within minutes). */
const IDLE_WAIT_MS = SMOKE ? 0 : Number(process.env.BENCH_IDLE_WAIT_MS ?? 15_000);
const IDLE_BUSY_PCT = 15;

/** Machine-wide CPU ticks (all cores), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3] - (cpu[4] ?? 0), total };
}

/** CPU ticks used by this process and every child it has reaped (the workers and, through them, their servers). */
function ownTicks(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return fields[11] + fields[12] + fields[13] + fields[14]; // utime, stime, cutime, cstime
}

/** Share of the machine's CPU time that was busy over `ms` (other processes included). */
async function machineBusy(ms = 500): Promise<number> {
  const a = machineTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = machineTicks();
  return Math.round(100 * ((b.busy - a.busy) / Math.max(1, b.total - a.total)));
}

/** Waits (bounded) until the machine is at most IDLE_BUSY_PCT busy; returns the last reading. */
async function quietMachine(): Promise<{ busyPct: number; waitedSeconds: number }> {
  const started = Date.now();
  let busyPct = await machineBusy();
  while (busyPct > IDLE_BUSY_PCT && Date.now() - started < IDLE_WAIT_MS) busyPct = await machineBusy(2_000);
  return { busyPct, waitedSeconds: Math.round((Date.now() - started) / 1000) };
}

/** Which code was measured: the commit, whether the handler sources differ from it, and the bundle's hash. */
function codeUnderTest(): Record<string, string | boolean> {
  const git = (...args: string[]) => spawnSync('git', args, { encoding: 'utf8', cwd: path.join(__dirname, '..') }).stdout?.trim() ?? '';
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    handlerSourcesModified: git('status', '--porcelain', '--', 'src/handler', 'src/contract', 'src/emulator') !== '',
    bundleSha256: fs.existsSync(BUNDLE_PATH) ? createHash('sha256').update(fs.readFileSync(BUNDLE_PATH)).digest('hex').slice(0, 16) : 'missing',
  };
}

function runWorker(name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', WORKER, name], {
      env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', 'test', 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT '.length)));
      else reject(new Error(`${name}: worker exited ${signal ?? code}${signal === 'SIGKILL' ? ` (over ${WORKER_TIMEOUT_MS / 1000} s)` : ''}; output: ${out.slice(-2000)}`));
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const deep = args.includes('--deep');
  const only = args.filter((a) => a !== '--deep');
  const unknown = only.filter((n) => !(n in BENCHMARKS));
  if (unknown.length) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  const names = only.length > 0 ? Object.keys(BENCHMARKS).filter((n) => only.includes(n)) : Object.keys(deep ? BENCHMARKS : DEFAULT_BENCHMARKS);
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    node: process.version,
    smoke: SMOKE,
    date: new Date().toISOString(),
    busyPctBeforeRun: await machineBusy(1000),
    ...codeUnderTest(),
  };
  console.log(`machine: ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, ${machine.busyPctBeforeRun}% busy before the run${SMOKE ? ' (smoke: tiny counts)' : ''}`);
  const results: Record<string, unknown> = { machine };
  const timing: Record<string, { seconds: number; busyPctBefore: number; waitedForIdleSeconds: number; othersBusyPctDuring: number }> = {};
  const failures: string[] = [];
  for (const name of names) {
    const { busyPct: busyPctBefore, waitedSeconds } = await quietMachine();
    if (busyPctBefore > IDLE_BUSY_PCT) console.warn(`warning: the machine was ${busyPctBefore}% busy before ${name}: other processes are competing for the cores`);
    const started = Date.now();
    const machine0 = machineTicks();
    const own0 = ownTicks();
    try {
      results[name] = await runWorker(name);
      // Whatever the machine was busy with that was not this benchmark's process tree.
      const machine1 = machineTicks();
      const others = (machine1.busy - machine0.busy - (ownTicks() - own0)) / Math.max(1, machine1.total - machine0.total);
      timing[name] = {
        seconds: Math.round((Date.now() - started) / 100) / 10,
        busyPctBefore,
        waitedForIdleSeconds: waitedSeconds,
        othersBusyPctDuring: Math.max(0, Math.round(100 * others)),
      };
      console.log(`\n== ${name} (${timing[name].seconds} s, other processes used ${timing[name].othersBusyPctDuring}% of the CPU meanwhile)`);
      console.log(JSON.stringify(results[name], null, 2));
    } catch (err) {
      failures.push(name);
      console.error(`\n== ${name} FAILED: ${(err as Error).message}`);
    }
  }
  results.timing = timing;

  const list = rows(results as Record<string, never>);
  results.table = list;
  console.log(`\n${table(list)}\n`);
  const cpu = results.handlerCpu as { cpuUsPerRequest: number; costModel: Parameters<typeof costTable>[0] } | undefined;
  if (cpu) console.log(`cost model (router CPU ${cpu.cpuUsPerRequest} µs per request on one core; bench/cost-model.ts):\n\n${costTable(cpu.costModel)}\n`);

  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  // A partial run (named benchmarks) never overwrites the full results.
  const file = path.join(outDir, SMOKE ? 'smoke.json' : only.length > 0 ? 'partial.json' : deep ? 'deep.json' : 'latest.json');
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${path.relative(process.cwd(), file)}`);

  // Correctness, never performance: a benchmark that threw, a figure that is not a number.
  const notNumbers = list.filter((row) => typeof row.value !== 'number' || !Number.isFinite(row.value)).map((row) => `${row.section} ${row.metric}`);
  if (failures.length) console.error(`failed: ${failures.join(', ')}`);
  if (notNumbers.length) console.error(`no number for: ${notNumbers.join('; ')}`);
  const met = list.filter((row) => row.met === true).length;
  const missed = list.filter((row) => row.met === false).map((row) => `${row.section}: ${row.metric}`);
  console.log(`bars: ${met} met, ${missed.length} missed${missed.length ? ` (${missed.join('; ')})` : ''} — reported, not enforced`);
  if (failures.length || notNumbers.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
