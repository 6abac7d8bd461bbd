import type { Settlement } from './settlement';
import type { Usage } from './usage';
import type { TokenPrice } from '../contract/model-catalog';
import { ModelRule, priceAsRouted } from '../contract/model-rules';

/*
 * What a request costs, in integer nano-dollars: the one computation behind
 * the `cost_usd` log field, the `CostUsd` metric and a tenant's ledger, so
 * the three always agree. Prices are the catalog's, as the handler's
 * configuration carries them (`modelRules`), for the region each attempt is
 * routed to. Arithmetic is exact: a price becomes whole pico-dollars per
 * token, products are BigInt, and the total is rounded up to a nano-dollar once.
 */

/** One attempt the gateway may make: a model, in-region or with `model_region: "global"`. */
export interface Attempt {
  readonly model: string;
  readonly global: boolean;
}

/** The most a request can use: what a reservation holds and what an unmetered answer is charged. */
export interface WorstCase {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** The price the worst case is charged at: the dearest of the attempts (see `worstPrice`); absent when nothing is priced. */
  readonly price?: TokenPrice;
  /** `inputTokens` and `outputTokens` at `price`, nano-USD; absent when nothing is priced. */
  readonly usdNanos?: number;
}

/** What one request is charged, once it has ended. */
export interface Charge {
  /** nano-USD; absent when no price is known (the cost is then unknown, never zero by default). */
  readonly usdNanos?: number;
  /** Input + output tokens charged (the daily token limit's unit). */
  readonly tokens: number;
  /** Where the amount comes from: the reported usage, the worst case (usage unknown or invalid), or nothing billed. */
  readonly basis: ChargeBasis;
  /** The model whose price was applied to reported usage. */
  readonly pricedAs?: string;
}

export type ChargeBasis = 'usage' | 'worst_case' | 'none';

/**
 * The price a request that may be answered by any of its `attempts` is held
 * to: the highest input price (cache writes included) and the highest output
 * price among them, so it covers whichever answers. A model without a price
 * is charged at the highest price any of the router's `known` models has in
 * either routing: a budget must never be bypassed by an unpriced model.
 */
export function worstPrice(rules: ReadonlyMap<string, ModelRule>, attempts: readonly Attempt[], known: readonly string[]): TokenPrice | undefined {
  let input = 0;
  let output = 0;
  const take = (p: TokenPrice | undefined) => {
    if (!p) return false;
    input = Math.max(input, p.input, p.cacheWrite ?? 0);
    output = Math.max(output, p.output);
    return true;
  };
  let unknown = false;
  for (const a of attempts) {
    if (!take(attemptPrice(rules, a))) unknown = true;
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

/** An attempt's own price; a model that does not accept global routing is answered in-region, whatever it inherits. */
function attemptPrice(rules: ReadonlyMap<string, ModelRule>, a: Attempt): TokenPrice | undefined {
  const rule = rules.get(a.model);
  return rule && priceAsRouted(rule, a.global && rule.global);
}

/**
 * The price of the answer: that of the attempt whose model answered (the
 * dearest, if the model is tried twice with different routing). An answer
 * from a model no attempt names, or one without a price, is charged the
 * worst-case price.
 */
export function answerPrice(
  rules: ReadonlyMap<string, ModelRule>, attempts: readonly Attempt[], answeredBy: string | undefined, worst: TokenPrice | undefined,
): { price?: TokenPrice; pricedAs?: string } {
  let best: TokenPrice | undefined;
  for (const a of attempts) {
    if (a.model !== answeredBy) continue;
    const p = attemptPrice(rules, a);
    if (!p) continue;
    if (!best || dearer(p, best)) best = p;
  }
  return best ? { price: best, pricedAs: answeredBy } : { price: worst };
}

function dearer(a: TokenPrice, b: TokenPrice): boolean {
  return a.input + a.output > b.input + b.output;
}

/** `tokens` at `price`, nano-USD: the worst case a reservation holds. */
export function worstCaseNanos(price: TokenPrice, inputTokens: number, outputTokens: number): number {
  return picoToNanos(BigInt(inputTokens) * picos(price.input) + BigInt(outputTokens) * picos(price.output));
}

/** Reported usage at `price`, nano-USD: cached input at its own price, cache writes at theirs (each the input price when the catalog has none). */
export function usageNanos(price: TokenPrice, usage: Usage): number {
  const uncached = usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens;
  const pico = BigInt(uncached) * picos(price.input)
    + BigInt(usage.cachedInputTokens) * picos(price.cachedInput ?? price.input)
    + BigInt(usage.cacheWriteTokens) * picos(price.cacheWrite ?? price.input)
    + BigInt(usage.outputTokens) * picos(price.output);
  return picoToNanos(pico);
}

/**
 * What a request is charged for how it ended: reported usage at the
 * answering model's price; the worst case when it was (or may have been)
 * billed without a usable report; nothing when it never reached the gateway
 * or the gateway refused it.
 */
export function chargeOf(
  settlement: Settlement, worst: WorstCase, rules: ReadonlyMap<string, ModelRule>, attempts: readonly Attempt[],
): Charge {
  switch (settlement.kind) {
    case 'answered': {
      const { price, pricedAs } = answerPrice(rules, attempts, settlement.model, worst.price);
      const { usage } = settlement;
      return { usdNanos: price && usageNanos(price, usage), tokens: usage.inputTokens + usage.outputTokens, basis: 'usage', pricedAs };
    }
    case 'answered_without_usage':
    case 'maybe_billed':
      return { usdNanos: worst.usdNanos, tokens: worst.inputTokens + worst.outputTokens, basis: 'worst_case' };
    case 'never_sent':
    case 'refused_upstream':
      return { usdNanos: worst.price ? 0 : undefined, tokens: 0, basis: 'none' };
  }
}

/** USD per token as whole pico-dollars: exact for any price the catalog writes (at most 12 decimals). */
function picos(usdPerToken: number): bigint {
  return BigInt(Math.round(usdPerToken * 1e12));
}

function picoToNanos(pico: bigint): number {
  return Number((pico + 999n) / 1000n);
}

/** nano-USD as USD, for the log and the metric (exact to the nano-dollar). */
export function nanosToUsd(nanos: number): number {
  return nanos / 1e9;
}

/**
 * `nanos` as a percentage of a budget in USD, rounded half up to `decimals`
 * places, in exact integer arithmetic (25.125 is 25.13, never 25.12 from float noise).
 */
export function percentOfBudget(nanos: number, budgetUsd: number, decimals: number): number {
  const budget = BigInt(Math.round(budgetUsd * 1e9));
  const scale = 10n ** BigInt(decimals);
  const scaled = (BigInt(nanos) * 100n * scale * 2n + budget) / (2n * budget);
  return Number(scaled) / Number(scale);
}
