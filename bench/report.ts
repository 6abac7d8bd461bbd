/* eslint-disable @typescript-eslint/no-explicit-any */

/** One line of the results table. `met` is undefined for figures with no bar. */
export interface Row {
  section: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: string;
  bar?: string;
  met?: boolean;
}

const f = (n: number, digits = 3) => (Number.isFinite(n) ? String(Math.round(n * 10 ** digits) / 10 ** digits) : String(n));

/** Derives the table (figures, baselines, bars) from the raw results; missing benchmarks are skipped. */
export function rows(r: Record<string, any>): Row[] {
  const out: Row[] = [];
  const add = (row: Row) => out.push(row);

  for (const [key, label] of [['latency1k', '1 KB'], ['latency64k', '64 KB']] as const) {
    const l = r[key];
    if (!l) continue;
    const bars = key === 'latency1k';
    const bare = l.added.bareHop;
    const paths = [['bareHop', 'bare Node proxy hop'], ['emulatorPassthrough', 'emulator + pass-through handler'], ['emulator', 'emulator + router'], ['inProcess', 'router in-process']] as const;
    for (const [path, name] of paths) {
      const a = l.added[path];
      const tail = `tail ${a.tail.preempted}/${a.tail.iterations} preempted, ${a.tail.duringGc}/${a.tail.iterations} during GC`;
      const routerBars = bars && path === 'emulator';
      add({ section: '1 latency', metric: `${label} ${name}: added p50 (paired)`, value: a.p50, unit: 'ms', baseline: `direct p50 ${f(l.direct.p50)} ms; ${f(a.p50 / bare.p50, 2)}x the bare hop's; CPU +${f(a.cpuP50)} ms`, bar: routerBars ? "≤ 1.5x bare hop's" : undefined, met: routerBars ? a.p50 <= 1.5 * bare.p50 : undefined });
      add({ section: '1 latency', metric: `${label} ${name}: added p99 (paired)`, value: a.p99, unit: 'ms', baseline: `rounds ${a.p99ByRound.map((x: number) => f(x)).join(' / ')}; not preempted ${f(a.p99NotPreempted)} ms; ${tail}`, bar: routerBars ? '≤ 2 ms' : undefined, met: routerBars ? a.p99 <= 2 : undefined });
    }
  }

  const s = r.streaming;
  if (s) {
    add({ section: '2 streaming', metric: 'added time to first event, emulator, p50 (paired)', value: s.addedTtfbEmulator.p50, unit: 'ms', baseline: `direct p50 ${f(s.direct.ttfbP50)} ms`, bar: '< 1 ms', met: s.addedTtfbEmulator.p50 < 1 });
    add({ section: '2 streaming', metric: 'added time to first event, emulator, p99 (paired)', value: s.addedTtfbEmulator.p99, unit: 'ms', baseline: `direct p99 ${f(s.direct.ttfbP99)} ms` });
    add({ section: '2 streaming', metric: 'added time to first event, in-process, p50 (paired)', value: s.addedTtfbInProcess.p50, unit: 'ms', baseline: `direct p50 ${f(s.direct.ttfbP50)} ms`, bar: '< 1 ms', met: s.addedTtfbInProcess.p50 < 1 });
    add({ section: '2 streaming', metric: 'inter-event gap at client via router, p50', value: s.emulator.gapP50, unit: 'ms', baseline: `upstream wrote p50 ${f(s.upstreamGapP50)} ms; direct client p50 ${f(s.direct.gapP50)} ms`, bar: 'within 1 ms of upstream', met: Math.abs(s.emulator.gapP50 - s.upstreamGapP50) < 1 });
    add({ section: '2 streaming', metric: 'inter-event gap at client via router, min / p1', value: s.emulator.gapMin, unit: 'ms', baseline: `p1 ${f(s.emulator.gapP1)} ms; upstream min ${f(s.upstreamGapMin)} ms; direct min ${f(s.direct.gapMin)} ms` });
    add({ section: '2 streaming', metric: 'events batched into one read via router', value: s.emulator.batchedEvents, unit: 'events', baseline: `direct ${s.direct.batchedEvents} of ${s.streams * (s.eventsPerStreamSent - 1)} gaps`, bar: '0 (no batching)', met: s.emulator.batchedEvents === 0 && s.inProcess.batchedEvents === 0 });
    add({ section: '2 streaming', metric: 'per-event delay added via router, p50 / p99 (paired)', value: s.addedEventDelayEmulator.p50, unit: 'ms', baseline: `p99 ${f(s.addedEventDelayEmulator.p99)} ms; direct event delay p50 ${f(s.direct.eventDelayP50)} ms` });
  }

  const h = r.handlerCpu;
  if (h) add({ section: '1 latency', metric: 'handler CPU per request (in-memory upstream, 1 KB)', value: h.cpuUsPerRequest, unit: 'µs', baseline: `${h.requestsPerCoreSecond} req per core-second` });

  for (const key of ['throughput0ms', 'throughput20ms', 'throughput50ms']) {
    const t = r[key];
    if (!t) continue;
    add({ section: '3 throughput', metric: `c=64, upstream delay ${t.upstreamDelayMs} ms: router/direct req/s`, value: t.ratio, unit: 'x', baseline: `router ${t.router.rps} vs direct ${t.direct.rps} req/s (pass-through handler ${t.passthrough.rps}, ${f(t.passthroughRatio)}x)`, bar: '≥ 0.8', met: t.ratio >= 0.8 });
  }
  const t0 = r.throughput0ms;
  if (t0) {
    add({ section: '3 throughput', metric: 'router process CPU per request (delay 0)', value: t0.router.serverCpuUsPerRequest, unit: 'µs', baseline: `pass-through ${t0.passthrough.serverCpuUsPerRequest} µs; upstream ${t0.direct.serverCpuUsPerRequest} µs` });
    add({ section: '6 memory', metric: 'router process peak RSS, throughput run (delay 0)', value: t0.routerPeakRssMiB, unit: 'MiB', baseline: `pass-through handler ${t0.passthroughPeakRssMiB} MiB` });
  }

  const ins = r.instructions;
  if (ins) add({ section: '3 throughput', metric: 'router process instructions per request (callgrind, 1 KB buffered)', value: ins.routerPerRequest, unit: 'instructions', baseline: `pass-through ${ins.passthroughPerRequest} → ${f(ins.ratio)}x; ${ins.requests} requests after ${ins.warmup}` });

  const c = r.coldStart;
  if (c) {
    add({ section: '4 cold start', metric: 'bundle size (minified)', value: c.bundleBytes, unit: 'bytes', bar: '< 60 KB (61,440 B)', met: c.bundleBytes < 61_440 });
    add({ section: '4 cold start', metric: 'require() of the bundle, fresh process, p50', value: c.routerRequireMs, unit: 'ms', baseline: `empty handler ${f(c.emptyRequireMs)} ms → ${f(c.requireRatio, 2)}x`, bar: '< 2x empty handler', met: c.requireRatio < 2 });
    add({ section: '4 cold start', metric: 'require() vs an empty handler that loads node:http+https', value: c.requireRatioVsHttpEmpty, unit: 'x', baseline: `${f(c.httpEmptyRequireMs)} ms` });
    add({ section: '4 cold start', metric: "router's own module code (http/https preloaded)", value: c.routerOwnRequireMs, unit: 'ms' });
    add({ section: '4 cold start', metric: 'process start → handler ready', value: c.routerReadyMs, unit: 'ms', baseline: `empty handler ${f(c.emptyReadyMs)} ms → ${f(c.readyRatio, 2)}x` });
  }

  const sy = r.synth;
  if (sy) {
    for (const p of sy.points) add({ section: '5 synth', metric: `${p.routers} router(s), ${p.stacks} stack(s), ${p.resources} resources: total p50`, value: p.totalMsP50, unit: 'ms', baseline: `${f(p.perRouterMs, 1)} ms per router` });
    add({ section: '5 synth', metric: 'per-router ms at 50 / at 10', value: sy.perRouterGrowth50vs10, unit: 'x', baseline: `marginal ms per added router: ${sy.marginalMsPerRouter.map((m: number) => f(m, 1)).join(' (1→10), ')} (10→50)`, bar: '≤ 1.25 (flat)', met: sy.perRouterGrowth50vs10 <= 1.25 });
  }

  const tp = r.tenantPath;
  if (tp) {
    add({ section: '7 tenants', metric: 'DynamoDB calls before the upstream call (budget + tokens/min + rate, issued together)', value: tp.dynamoDbCallsBeforeUpstream, unit: 'calls', baseline: `arrival spread p50 ${f(tp.gapBetweenCallsBeforeUpstreamMs.p50)} ms, p99 ${f(tp.gapBetweenCallsBeforeUpstreamMs.p99)} ms: one round trip`, bar: 'one round trip', met: tp.gapBetweenCallsBeforeUpstreamMs.p50 < 1 });
    add({ section: '7 tenants', metric: 'settle started after the caller\'s last byte', value: tp.settleStartedAfterLastBytePercent, unit: '%', baseline: `${tp.dynamoDbCallsAfterUpstream} calls after upstream`, bar: '100%', met: tp.settleStartedAfterLastBytePercent === 100 });
    add({ section: '7 tenants', metric: 'added by a tenant, last byte, p50 (paired)', value: tp.addedByTenantMs.p50, unit: 'ms', baseline: `without tenants p50 ${f(tp.lastByteMs.withoutTenants.p50)} ms, with ${f(tp.lastByteMs.withTenant.p50)} ms (local dynalite)` });
    add({ section: '7 tenants', metric: 'added by a tenant, last byte, p99 (paired)', value: tp.addedByTenantMs.p99, unit: 'ms', baseline: `without tenants p99 ${f(tp.lastByteMs.withoutTenants.p99)} ms, with ${f(tp.lastByteMs.withTenant.p99)} ms` });
  }
  for (const p of r.tenantSynth ?? []) {
    add({ section: '7 tenants', metric: `synth, a router with ${p.tenants} API-key tenants, p50`, value: p.msP50, unit: 'ms', baseline: `${f(p.msPerTenant)} ms per tenant, ${p.runs} runs` });
  }
  const tc = r.tenantColdStart;
  if (tc) {
    add({ section: '7 tenants', metric: 'cold start to the first answer, 1,000 tenants vs 1', value: tc.firstAnswerRatio, unit: 'x', baseline: `${f(tc.thousandTenants.firstAnswerMs)} ms vs ${f(tc.oneTenant.firstAnswerMs)} ms (module load ${f(tc.thousandTenants.moduleLoadMs)} vs ${f(tc.oneTenant.moduleLoadMs)} ms)`, bar: '≤ 1.2x', met: tc.firstAnswerRatio <= 1.2 });
  }

  const g = r.guardrailPath;
  if (g) {
    const checked = g.checkedRequest;
    add({ section: '8 guardrails', metric: 'added by a guardrail per checked request (prompt + answer), last byte, p50 (paired)', value: checked.addedMs.p50, unit: 'ms', baseline: `without p50 ${f(checked.lastByteMs.withoutGuardrail.p50)} ms, with ${f(checked.lastByteMs.withGuardrail.p50)} ms; the guardrail answers at once` });
    add({ section: '8 guardrails', metric: 'added by a guardrail per checked request, last byte, p99 (paired)', value: checked.addedMs.p99, unit: 'ms', baseline: `without p99 ${f(checked.lastByteMs.withoutGuardrail.p99)} ms, with ${f(checked.lastByteMs.withGuardrail.p99)} ms` });
    const st = g.stream;
    add({ section: '8 guardrails', metric: `added per stream window (${st.characters} characters, window ${st.window}, ${st.checks} checks incl. the prompt), p50`, value: st.addedPerWindowMs, unit: 'ms', baseline: `whole stream +${f(st.addedMs.p50)} ms p50 (+${f(st.addedMs.p99)} ms p99): ${f(st.lastByteMs.withoutGuardrail)} vs ${f(st.lastByteMs.withGuardrail)} ms; first byte ${f(st.firstByteMs.withoutGuardrail)} vs ${f(st.firstByteMs.withGuardrail)} ms` });
    add({ section: '8 guardrails', metric: 'Bedrock client loaded by a router without a guardrail', value: g.bedrockClientLoadedWithoutGuardrail ? 1 : 0, unit: '(0 = no)', bar: 'never', met: !g.bedrockClientLoadedWithoutGuardrail });
  }

  return out;
}

/** A Markdown table (what BENCHMARKS.md quotes). */
export function table(list: Row[]): string {
  const lines = ['| # | metric | value | baseline / context | bar | met |', '|---|---|---|---|---|---|'];
  for (const row of list) {
    const verdict = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
    lines.push(`| ${row.section} | ${row.metric} | ${f(row.value)} ${row.unit} | ${row.baseline ?? ''} | ${row.bar ?? ''} | ${verdict} |`);
  }
  return lines.join('\n');
}
