/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Every benchmark, by name, in the order `npm run bench` runs them. Each
 * runs in its own worker process (bench/worker.ts), so modules are loaded
 * lazily here: the latency worker never loads aws-cdk-lib, the synth worker
 * never starts a server.
 */
export const BENCHMARKS: Record<string, () => unknown> = {
  coldStart: () => require('./cold-start').coldStart(),
  latency1k: () => require('./latency').latency(1024),
  latency64k: () => require('./latency').latency(64 * 1024),
  streaming: () => require('./streaming').streaming(),
  handlerCpu: () => require('./handler-cpu').handlerCpu(),
  throughput0ms: () => require('./throughput').throughput(0),
  throughput20ms: () => require('./throughput').throughput(20),
  throughput50ms: () => require('./throughput').throughput(50),
  instructions: () => require('./instructions').instructions(),
  load: () => require('./load').load(),
  memory: () => require('./memory').memory(),
  synth: () => require('./synth').synth(),
};
