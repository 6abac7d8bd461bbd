import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE } from './router';

let built: string | undefined;

/**
 * serve.ts compiled (esbuild, a devDependency) to one JS file, so server
 * processes run plain Node: no ts-node, no TypeScript compiler in their
 * heap or RSS. The router bundle itself is loaded from `BUNDLE` at run time.
 */
function serveScript(): string {
  if (built) return built;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-bench-'));
  const outfile = path.join(dir, 'serve.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({ entryPoints: [path.join(__dirname, 'serve.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile, logLevel: 'error' });
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  built = outfile;
  return outfile;
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
}

/**
 * Starts `serve <kind> [arg]` in its own Node process, optionally under a
 * wrapper command (valgrind); resolves with the URL it prints (30 s at most,
 * or `startTimeoutMs`).
 */
export function startProcess(kind: 'upstream' | 'router' | 'passthrough', args: string[] = [], wrapper: string[] = [], startTimeoutMs = 30_000): Promise<ServerProcess> {
  const command = [...wrapper, process.execPath, '--expose-gc', serveScript(), kind, ...args];
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, BENCH_BUNDLE: process.env.BENCH_BUNDLE ?? BUNDLE },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} did not start within ${startTimeoutMs / 1000} s: ${out}`));
    }, startTimeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      if (out.length < 10_000) out += c.toString();
      const m = /^URL (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited ${code}: ${out}`));
    });
  });
}

/** Resident set size and its peak (VmHWM), in MiB, from /proc. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 'NaN');
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** Resets the peak RSS (VmHWM) so it covers only what follows; false where the kernel refuses. */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU time (user + system) a process has used so far, ms (10 ms resolution). */
export function cpuMsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] and [12] are utime and stime (fields 14 and 15 of proc(5)), in clock ticks.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export function stop(child: ChildProcess, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
