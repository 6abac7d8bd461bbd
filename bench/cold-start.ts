import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUNDLE } from './support/router';
import { count, median, round } from './support/stats';

export interface ColdStartResult {
  bundleBytes: number;
  runs: number;
  /** An empty handler that loads node:http and node:https, which any proxy needs. */
  httpBaselineRequireMs: number;
  requireRatioVsHttpBaseline: number;
  baselineRequireMs: number;
  routerRequireMs: number;
  requireRatio: number;
  baselineReadyMs: number;
  routerReadyMs: number;
  readyRatio: number;
}

/**
 * In a fresh Node process each time: how long `require()` of the handler
 * module takes (module load: what a cold start adds on top of the runtime),
 * and how long from process start until the handler is ready. Baseline: a
 * handler module that does nothing. `@aws-sdk/*` is external and imported
 * lazily on the first request, so neither number includes it.
 */
export function coldStart(): ColdStartResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-cold-'));
  const empty = path.join(dir, 'empty.js');
  fs.writeFileSync(empty, 'exports.handler = awslambda.streamifyResponse(async (event, stream) => { stream.end(); });\n');
  const emptyWithHttp = path.join(dir, 'empty-http.js');
  fs.writeFileSync(emptyWithHttp, "require('node:http'); require('node:https');\nexports.handler = awslambda.streamifyResponse(async (event, stream) => { stream.end(); });\n");
  const probe = (file: string) => `
    const t0 = process.hrtime.bigint();
    globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s) => s } };
    require(${JSON.stringify(file)});
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(JSON.stringify({ requireMs: ms, readyMs: performance.now() }));`;
  const runs = count(30, 3);
  const sample = (file: string) => {
    const out = { requireMs: [] as number[], readyMs: [] as number[] };
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, ['-e', probe(file)], { encoding: 'utf8', env: { ...process.env, POWERTOOLS_METRICS_NAMESPACE: 'Bench' } });
      if (r.status !== 0) throw new Error(r.stderr);
      const parsed = JSON.parse(r.stdout.trim().split('\n').pop()!);
      out.requireMs.push(parsed.requireMs);
      out.readyMs.push(parsed.readyMs);
    }
    return out;
  };
  // Interleave-free but alternating blocks would not help much here: run
  // the baseline, the router, then the baseline again and keep the best median.
  const base1 = sample(empty);
  const router = sample(BUNDLE);
  const base2 = sample(empty);
  const httpBase = sample(emptyWithHttp);
  fs.rmSync(dir, { recursive: true, force: true });
  const baseRequire = Math.min(median(base1.requireMs), median(base2.requireMs));
  const baseReady = Math.min(median(base1.readyMs), median(base2.readyMs));
  const httpBaseRequire = median(httpBase.requireMs);
  return {
    bundleBytes: fs.statSync(BUNDLE).size,
    runs,
    httpBaselineRequireMs: round(httpBaseRequire),
    requireRatioVsHttpBaseline: round(median(router.requireMs) / httpBaseRequire, 2),
    baselineRequireMs: round(baseRequire),
    routerRequireMs: round(median(router.requireMs)),
    requireRatio: round(median(router.requireMs) / baseRequire, 2),
    baselineReadyMs: round(baseReady),
    routerReadyMs: round(median(router.readyMs)),
    readyRatio: round(median(router.readyMs) / baseReady, 2),
  };
}
