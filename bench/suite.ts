/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The benchmarks, by name, in the order `npm run bench` runs them. Each
 * runs in its own worker process (bench/worker.ts), so modules are loaded
 * lazily here: the latency worker never loads aws-cdk-lib, the synth worker
 * never starts a server.
 */

/** What a user of the router pays: added latency, streaming, cold start, synth, CPU and cost per request. */
export const DEFAULT_BENCHMARKS: Record<string, () => unknown> = {
  coldStart: () => require('./cold-start').coldStart(),
  latency1k: () => require('./latency').latency(1024),
  streaming: () => require('./streaming').streaming(),
  handlerCpu: () => require('./handler-cpu').handlerCpu(),
  synth: () => require('./synth').synth(),
  tenantPath: () => require('./tenants').tenantPath(),
  tenantSynth: () => require('./tenants').tenantSynth(),
  tenantColdStart: () => require('./tenants').tenantColdStart(),
  guardrailPath: () => require('./guardrails').guardrailPath(),
};

/** Diagnostics for whoever changes the handler (`npm run bench -- --deep`). */
export const DEEP_BENCHMARKS: Record<string, () => unknown> = {
  latency64k: () => require('./latency').latency(64 * 1024),
  throughput0ms: () => require('./throughput').throughput(0),
  throughput20ms: () => require('./throughput').throughput(20),
  throughput50ms: () => require('./throughput').throughput(50),
  instructions: () => require('./instructions').instructions(),
};

export const BENCHMARKS: Record<string, () => unknown> = { ...DEFAULT_BENCHMARKS, ...DEEP_BENCHMARKS };
