/*
 * What the gateway reports a request used, read strictly: the one thing a
 * budget is charged from, so a count that cannot be right is never believed.
 *
 * Spellings read (reference/llm-gateway-facts.md): `input_tokens` /
 * `output_tokens` (the docs) and `prompt_tokens` / `completion_tokens` (the
 * SDK types). Cached input, in whichever form appears:
 *   - OpenAI style, `prompt_tokens_details.cached_tokens` (or
 *     `input_tokens_details.cached_tokens`): a part of the input count.
 *   - Anthropic style, `cache_read_input_tokens` and
 *     `cache_creation_input_tokens`: in addition to the input count, as
 *     Anthropic's own API reports them.
 * When the OpenAI form appears, the Anthropic counts are not read (the two
 * would count the same tokens twice).
 */

/** Tokens a request used, as billed. Every count is a non-negative safe integer. */
export interface Usage {
  /** Every input token, cached or not. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Input tokens read from the provider's prompt cache (billed at the cached-input price). */
  readonly cachedInputTokens: number;
  /** Input tokens written to the prompt cache (billed at the cache-write price). */
  readonly cacheWriteTokens: number;
}

/**
 * The usage an answer reports: `ok`, `missing` (no `usage` object at all) or
 * `invalid` (a count that is negative, fractional, not finite, beyond a safe
 * integer, contradictory, or absent beside the other one).
 */
export type UsageReading =
  | { readonly status: 'ok'; readonly usage: Usage }
  | { readonly status: 'missing' }
  | { readonly status: 'invalid' };

const MISSING: UsageReading = Object.freeze({ status: 'missing' });
const INVALID: UsageReading = Object.freeze({ status: 'invalid' });

/** Reads the `usage` of a completion or of a stream chunk. */
export function readUsage(payload: unknown): UsageReading {
  const usage = isObject(payload) ? payload.usage : undefined;
  if (usage === undefined || usage === null) return MISSING;
  if (!isObject(usage)) return INVALID;
  const input = count(usage, 'input_tokens', 'prompt_tokens');
  const output = count(usage, 'output_tokens', 'completion_tokens');
  if (input === undefined || output === undefined) return INVALID;

  const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details
    : isObject(usage.input_tokens_details) ? usage.input_tokens_details : undefined;
  if (details !== undefined && 'cached_tokens' in details) {
    const cached = tokens(details.cached_tokens);
    if (cached === undefined || cached > input) return INVALID;
    return ok({ inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteTokens: 0 });
  }
  const read = 'cache_read_input_tokens' in usage ? tokens(usage.cache_read_input_tokens) : 0;
  const write = 'cache_creation_input_tokens' in usage ? tokens(usage.cache_creation_input_tokens) : 0;
  if (read === undefined || write === undefined) return INVALID;
  const total = input + read + write;
  if (!Number.isSafeInteger(total + output)) return INVALID;
  return ok({ inputTokens: total, outputTokens: output, cachedInputTokens: read, cacheWriteTokens: write });
}

function ok(usage: Usage): UsageReading {
  return { status: 'ok', usage };
}

/**
 * A count given in either spelling. Both present: they must agree, since a
 * report that contradicts itself cannot say what was billed.
 */
function count(usage: Record<string, unknown>, name: string, alias: string): number | undefined {
  const hasName = name in usage && usage[name] !== null;
  const hasAlias = alias in usage && usage[alias] !== null;
  if (!hasName && !hasAlias) return undefined;
  const a = hasName ? tokens(usage[name]) : undefined;
  const b = hasAlias ? tokens(usage[alias]) : undefined;
  if ((hasName && a === undefined) || (hasAlias && b === undefined)) return undefined;
  if (a !== undefined && b !== undefined && a !== b) return undefined;
  return a ?? b;
}

function tokens(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
