import type { TokenPrice } from '../../catalog/model-catalog';
import { ModelRule, priceAsRouted } from '../../catalog/model-rules';

/*
 * What a token costs, as the tenant budgets need it: the catalog's prices as
 * the handler's configuration carries them (`modelRules`, from
 * LLM_GATEWAY_MODEL_RULES), read with the same function that prices
 * `decision.price`. No table of its own: one source of prices.
 */

/** One attempt the gateway may make: a model, in-region or with `model_region: "global"`. */
export interface Attempt {
  readonly model: string;
  readonly global: boolean;
}

/**
 * The price the budget reserves for a request that may be answered by any
 * of its `attempts` (the primary and its fallbacks, each as routed): the
 * highest input and the highest output price among them, so the reservation
 * covers whichever answers. A model without a price is charged at the
 * highest price any of the router's `known` models has in either routing: a
 * budget must never be bypassed by an unpriced model.
 */
export function worstPrice(rules: ReadonlyMap<string, ModelRule>, attempts: readonly Attempt[], known: readonly string[]): TokenPrice | undefined {
  let input = 0;
  let output = 0;
  const take = (p: TokenPrice | undefined) => {
    if (!p) return false;
    input = Math.max(input, p.input);
    output = Math.max(output, p.output);
    return true;
  };
  let unknown = false;
  for (const a of attempts) {
    const rule = rules.get(a.model);
    // A model that does not accept global routing is answered in-region, whatever the request inherits.
    if (!take(rule && priceAsRouted(rule, a.global && rule.global))) unknown = true;
  }
  if (unknown) {
    for (const id of known) {
      const rule = rules.get(id);
      if (!rule) continue;
      take(priceAsRouted(rule, false));
      take(priceAsRouted(rule, true));
    }
  }
  // Nothing priced at all: no safe price exists, and the caller must not guess zero.
  if (input === 0 && output === 0) return undefined;
  return { input, output };
}

/** USD as integer nano-dollars, rounded up: counters stay exact integers in DynamoDB and JavaScript. */
export function toNanoUsd(usd: number): number {
  // The epsilon absorbs float noise such as 3e-6 * 1e9 = 2999.9999999999995.
  return Math.ceil(usd * 1e9 - 1e-6);
}

/** A worst case in nano-dollars: `price` times the tokens the request may use. */
export function costNanoUsd(price: TokenPrice, inputTokens: number, outputTokens: number): number {
  return toNanoUsd(price.input * inputTokens + price.output * outputTokens);
}
