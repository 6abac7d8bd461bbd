import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

const CLI = path.join(__dirname, '..', '..', 'src', 'emulator', 'cli.ts');
const TS_PROJECT = path.join(__dirname, '..', 'tsconfig.json');

/** Starts `llm-gateway-router serve` as a user would, and resolves with its base URL. */
export function serve(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; baseURL: string; output: () => string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env, TS_NODE_PROJECT: TS_PROJECT },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${out}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited ${code}: ${out}`));
    });
    child.stdout!.on('data', () => {
      const match = /on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out);
      if (match && out.includes('allowed models:')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, baseURL: match[1], output: () => out });
      }
    });
  });
}

/** Runs the command to its end (for invocations that must refuse to start). */
export function runToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...args], {
    env: { ...process.env, ASSEMBLYAI_API_KEY: 'k-0123456789abcdef', ...env, TS_NODE_PROJECT: TS_PROJECT },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('close', (code) => {
    clearTimeout(timer);
    resolve({ code, out });
  }));
}
