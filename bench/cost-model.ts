/**
 * What a memory size costs and adds, from the router's CPU time per request.
 * Lambda gives a function CPU in proportion to its memory, one vCPU at
 * 1,769 MB, so below that the router's CPU work is stretched by 1,769 / MB.
 * The duration billed is the stream's, which dwarfs the router's own work;
 * the model assumes STREAM_SECONDS per request. Prices: arm64 Lambda, API
 * Gateway REST (us-east-1 list prices, first tier).
 */
export const PRICES = {
  lambdaPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  apiGatewayRestPerMillion: 3.5,
};
export const MB_PER_VCPU = 1769;
export const STREAM_SECONDS = 10;
export const MEMORY_SIZES_MB = [128, 256, 512];

export interface CostRow {
  memoryMb: number;
  /** Share of one vCPU the function gets. */
  vcpu: number;
  /** The router's CPU time per request at that share (the latency it adds). */
  addedLatencyMs: number;
  /** Lambda duration for a STREAM_SECONDS stream plus the added latency, per million requests. */
  lambdaDurationUsdPerMillion: number;
  /** Of which the router's own work (the added latency), per million requests. */
  routerWorkUsdPerMillion: number;
  /** Duration + Lambda requests + API Gateway, per million requests. */
  totalUsdPerMillion: number;
}

/** The cost table for a CPU time per request measured on one full core (µs). */
export function costModel(cpuUsPerRequest: number): CostRow[] {
  return MEMORY_SIZES_MB.map((memoryMb) => {
    const vcpu = Math.min(1, memoryMb / MB_PER_VCPU);
    const addedSeconds = cpuUsPerRequest / 1e6 / vcpu;
    const gb = memoryMb / 1024;
    const perMillion = (seconds: number) => seconds * gb * PRICES.lambdaPerGbSecond * 1e6;
    const duration = perMillion(STREAM_SECONDS + addedSeconds);
    return {
      memoryMb,
      vcpu: Math.round(vcpu * 1000) / 1000,
      addedLatencyMs: Math.round(addedSeconds * 1e6) / 1000,
      lambdaDurationUsdPerMillion: Math.round(duration * 100) / 100,
      routerWorkUsdPerMillion: Math.round(perMillion(addedSeconds) * 1000) / 1000,
      totalUsdPerMillion: Math.round((duration + PRICES.lambdaPerMillionRequests + PRICES.apiGatewayRestPerMillion) * 100) / 100,
    };
  });
}

/** The cost table as Markdown (what BENCHMARKS.md quotes). */
export function costTable(rows: CostRow[]): string {
  const lines = [
    `| memory | vCPU share | router's added latency | Lambda duration (${STREAM_SECONDS} s streams) $/M | of which router work $/M | total with requests + API Gateway $/M |`,
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) lines.push(`| ${r.memoryMb} MB | ${r.vcpu} | ${r.addedLatencyMs} ms | ${r.lambdaDurationUsdPerMillion.toFixed(2)} | ${r.routerWorkUsdPerMillion.toFixed(3)} | ${r.totalUsdPerMillion.toFixed(2)} |`);
  return lines.join('\n');
}
