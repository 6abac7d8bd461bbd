import type { TokenPrice } from '../catalog/model-catalog';

/**
 * A request's cost: the gateway's reported tokens times the catalog's price
 * for the region the request was routed to (in-region or global). The one
 * computation of a request's USD: the `cost_usd` log field, the `CostUsd`
 * metric and what a tenant's budget is charged. Undefined when the gateway
 * reported no usage or the catalog has no price.
 */
export function estimateCostUsd(price: TokenPrice | undefined, inputTokens?: number, outputTokens?: number): number | undefined {
  if (!price || (inputTokens === undefined && outputTokens === undefined)) return undefined;
  const cost = (inputTokens ?? 0) * price.input + (outputTokens ?? 0) * price.output;
  // Twelve significant digits: enough for a sum over millions of requests, without float noise in the log.
  return Number(cost.toPrecision(12));
}
