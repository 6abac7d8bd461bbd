import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE, MODELS } from './support/router';
import { count, median, p99, round } from './support/stats';
import { ENV } from '../src/contract/env';
import { routerEnvironment } from '../src/emulator/config';

export interface ColdStartResult {
  bundleBytes: number;
  runs: number;
  /** Median ms to require() each module in a fresh Node process. */
  emptyRequireMs: number;
  routerRequireMs: number;
  /** The bar's ratio: router vs an empty handler module. */
  requireRatio: number;
  routerRequireP99Ms: number;
  /** An empty handler that loads node:http and node:https, which any HTTPS proxy needs. */
  httpEmptyRequireMs: number;
  requireRatioVsHttpEmpty: number;
  /** The router's require() when node:http and node:https are already loaded: its own module code. */
  routerOwnRequireMs: number;
  /** Process start until the handler is ready (performance.now() after the require). */
  emptyReadyMs: number;
  routerReadyMs: number;
  readyRatio: number;
}

/**
 * In a fresh `node -e` process each time, the time `require()` of a handler
 * module takes, measured inside the child with process.hrtime (module load
 * is what a cold start adds on top of the runtime's own start). Variants
 * are interleaved run by run. `@aws-sdk/*` is external to the bundle and
 * imported lazily on the first request that needs the key, so no number
 * here includes it.
 */
export function coldStart(): ColdStartResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-cold-'));
  try {
    const handlerCode = 'exports.handler = awslambda.streamifyResponse(async (event, stream) => { stream.end(); });\n';
    const empty = path.join(dir, 'empty.js');
    fs.writeFileSync(empty, handlerCode);
    const httpEmpty = path.join(dir, 'empty-http.js');
    fs.writeFileSync(httpEmpty, `require('node:http'); require('node:https');\n${handlerCode}`);
    const probe = (file: string, preload: boolean) => `
      ${preload ? "require('node:http'); require('node:https');" : ''}
      globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };
      const t0 = process.hrtime.bigint();
      const m = require(${JSON.stringify(file)});
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (typeof m.handler !== 'function') throw new Error('no handler export');
      console.log(JSON.stringify({ requireMs: ms, readyMs: performance.now() }));`;
    const variants = {
      empty: probe(empty, false),
      router: probe(BUNDLE, false),
      httpEmpty: probe(httpEmpty, false),
      routerOwn: probe(BUNDLE, true),
    };
    type Name = keyof typeof variants;
    const runs = count(30, 3);
    const out: Record<Name, { requireMs: number[]; readyMs: number[] }> = {
      empty: { requireMs: [], readyMs: [] },
      router: { requireMs: [], readyMs: [] },
      httpEmpty: { requireMs: [], readyMs: [] },
      routerOwn: { requireMs: [], readyMs: [] },
    };
    // The environment the construct gives a deployed router (the handler reads it at module load).
    const env = {
      ...process.env,
      ...routerEnvironment({ region: 'us', allowedModels: MODELS, routerName: 'bench' }),
      [ENV.API_KEY_SECRET_ARN]: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:llm-gateway-key-AbCdEf',
      [ENV.METRICS_NAMESPACE]: 'Bench',
    };
    const names = Object.keys(variants) as Name[];
    for (let i = 0; i < runs + 1; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + i) % names.length];
        const r = spawnSync(process.execPath, ['-e', variants[name]], { encoding: 'utf8', env, timeout: 30_000 });
        if (r.status !== 0) throw new Error(`cold start (${name}): ${r.stderr || r.error}`);
        if (i === 0) continue; // the first round warms the OS file cache
        const parsed = JSON.parse(r.stdout.trim().split('\n').pop()!);
        out[name].requireMs.push(parsed.requireMs);
        out[name].readyMs.push(parsed.readyMs);
      }
    }
    const m = (name: Name, what: 'requireMs' | 'readyMs') => median(out[name][what]);
    return {
      bundleBytes: fs.statSync(BUNDLE).size,
      runs,
      emptyRequireMs: round(m('empty', 'requireMs')),
      routerRequireMs: round(m('router', 'requireMs')),
      requireRatio: round(m('router', 'requireMs') / m('empty', 'requireMs'), 2),
      routerRequireP99Ms: round(p99(out.router.requireMs)),
      httpEmptyRequireMs: round(m('httpEmpty', 'requireMs')),
      requireRatioVsHttpEmpty: round(m('router', 'requireMs') / m('httpEmpty', 'requireMs'), 2),
      routerOwnRequireMs: round(m('routerOwn', 'requireMs')),
      emptyReadyMs: round(m('empty', 'readyMs')),
      routerReadyMs: round(m('router', 'readyMs')),
      readyRatio: round(m('router', 'readyMs') / m('empty', 'readyMs'), 2),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
