import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { count, round } from './support/stats';

export interface HandlerCpuResult {
  requests: number;
  wallUsPerRequest: number;
  cpuUsPerRequest: number;
  requestsPerCoreSecond: number;
}

/**
 * What one request costs the function itself: the bundled handler with the
 * upstream answered in memory (no sockets), 1 KB request bodies. On Lambda
 * each execution environment serves one request at a time and concurrency
 * scales out, so this, not a single process's HTTP throughput, is the
 * router's own cost.
 */
export function handlerCpu(): HandlerCpuResult {
  const n = count(20_000, 200);
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'support', 'handler-cpu.ts'), String(n)], {
    encoding: 'utf8',
    env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, 'tsconfig.json') },
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`handler-cpu failed: ${r.stderr}`);
  const parsed = JSON.parse(line.slice('RESULT '.length));
  return {
    requests: parsed.requests,
    wallUsPerRequest: round(parsed.wallUsPerRequest, 1),
    cpuUsPerRequest: round(parsed.cpuUsPerRequest, 1),
    requestsPerCoreSecond: round(1e6 / parsed.cpuUsPerRequest, 0),
  };
}
