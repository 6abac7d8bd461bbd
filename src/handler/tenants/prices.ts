/**
 * What a token costs, as the tenant budgets need it. A narrow seam: the
 * per-model catalog with prices (issue 13) will provide `PriceOf`; until it
 * does, `provisionalPriceOf` below stands in.
 */

/** Where a request is processed, which decides its price. */
export type PriceRegion = 'us' | 'eu' | 'global';

export interface TokenPrice {
  /** USD per input (prompt) token. */
  readonly inputPerToken: number;
  /** USD per output (completion) token. */
  readonly outputPerToken: number;
}

/** The price of a model in a region; `undefined` when unknown. */
export type PriceOf = (model: string, region: PriceRegion) => TokenPrice | undefined;

// PROVISIONAL until the catalog carries prices (issue 13): global-routing list
// prices in USD per million tokens (input, output), from the gateway's 2026
// model list. In-region requests cost 10% more since 1 July 2026.
const PER_MILLION_GLOBAL: Readonly<Record<string, readonly [number, number]>> = {
  'claude-opus-4-7': [5, 25],
  'claude-opus-4-6': [5, 25],
  'claude-opus-4-5-20251101': [5, 25],
  'claude-sonnet-5': [3, 15],
  'claude-sonnet-4-6': [3, 15],
  'claude-sonnet-4-5-20250929': [3, 15],
  'claude-haiku-4-5-20251001': [1, 5],
  'gpt-5.5': [1.75, 14],
  'gpt-5.2': [1.75, 14],
  'gpt-5.1': [1.25, 10],
  'gpt-5': [1.25, 10],
  'gpt-5-mini': [0.25, 2],
  'gpt-5-nano': [0.05, 0.4],
  'gpt-4.1': [2, 8],
  'gpt-oss-120b': [0.15, 0.6],
  'gpt-oss-20b': [0.05, 0.2],
  'gemini-3.5-flash': [0.5, 3],
  'gemini-3.5-flash-lite': [0.1, 0.4],
  'gemini-2.5-pro': [1.25, 10],
  'gemini-2.5-flash': [0.3, 2.5],
  'gemini-2.5-flash-lite': [0.1, 0.4],
  'qwen3-next-80b-a3b': [0.2, 0.8],
  'qwen3-32B': [0.2, 0.8],
};
const IN_REGION_MARKUP = 1.1;

/** PROVISIONAL: the table above; the lead wires the catalog's prices in at merge. */
export const provisionalPriceOf: PriceOf = (model, region) => {
  const entry = PER_MILLION_GLOBAL[model];
  if (!entry) return undefined;
  const factor = (region === 'global' ? 1 : IN_REGION_MARKUP) / 1_000_000;
  return { inputPerToken: entry[0] * factor, outputPerToken: entry[1] * factor };
};

/**
 * The price the budget charges for a request that may be answered by any of
 * `models` (the primary and its fallbacks): the highest input and the highest
 * output price among them, so the reservation covers whichever answers. A
 * model without a known price is charged at the highest price `known`
 * contains: a budget must never be bypassed by an unpriced model.
 */
export function worstPrice(priceOf: PriceOf, models: readonly string[], region: PriceRegion, known: readonly string[]): TokenPrice | undefined {
  let input = 0;
  let output = 0;
  let unknown = false;
  for (const id of models) {
    const p = priceOf(id, region);
    if (!p) {
      unknown = true;
      continue;
    }
    input = Math.max(input, p.inputPerToken);
    output = Math.max(output, p.outputPerToken);
  }
  if (unknown) {
    for (const id of known) {
      const p = priceOf(id, region);
      if (p) {
        input = Math.max(input, p.inputPerToken);
        output = Math.max(output, p.outputPerToken);
      }
    }
  }
  // Nothing priced at all: no safe price exists, and the caller must not guess zero.
  if (input === 0 && output === 0) return undefined;
  return { inputPerToken: input, outputPerToken: output };
}

/** USD as integer nano-dollars, rounded up: counters stay exact integers in DynamoDB and JavaScript. */
export function toNanoUsd(usd: number): number {
  // The epsilon absorbs float noise such as 3e-6 * 1e9 = 2999.9999999999995.
  return Math.ceil(usd * 1e9 - 1e-6);
}

export function costNanoUsd(price: TokenPrice, inputTokens: number, outputTokens: number): number {
  return toNanoUsd(price.inputPerToken * inputTokens + price.outputPerToken * outputTokens);
}
