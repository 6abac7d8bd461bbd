import type { Attempt } from './prices';
import { GLOBAL_MODEL_REGION } from '../../catalog/catalog';

/**
 * The worst case a request can cost, computed from the body the router
 * sends upstream, before anything is sent: what a tenant's budget reserves.
 */

/** The gateway's `max_tokens` when the request sets none (reference/llm-gateway-facts.md). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 1_000;

/**
 * Input tokens assumed per byte of the upstream body: one. Byte-level BPE
 * tokenizers never produce more tokens than the UTF-8 bytes they read, and
 * the body's JSON syntax (keys, quotes, roles) more than covers the few
 * tokens a chat template adds per message. Deliberately pessimistic: a
 * typical English prompt is ~4 bytes per token, so the reservation is about
 * four times the real input, and the surplus returns at settlement. The one
 * input the body cannot bound is a transcript the gateway inserts for
 * `transcript_id` (see README, "Many teams, one router").
 */
export const INPUT_TOKENS_PER_BYTE = 1;

export interface RequestShape {
  /** The primary model and every fallback's. */
  readonly models: readonly string[];
  /** The same attempts, each with where it is routed (`model_region: "global"`, its own or inherited). */
  readonly attempts: readonly Attempt[];
  /** Worst-case input tokens. */
  readonly inputTokens: number;
  /** Worst-case output tokens: the largest limit any attempt may use, times the choices asked for. */
  readonly outputTokens: number;
  /** `transcript_id` appears at the top level or in a fallback. */
  readonly transcript: boolean;
}

/** Reads what the budget needs from the (already policy-checked) upstream body. */
export function shapeOf(upstreamBody: string): RequestShape {
  const body = JSON.parse(upstreamBody) as Record<string, unknown>;
  const fallbacks = Array.isArray(body.fallbacks) ? (body.fallbacks as Array<Record<string, unknown>>) : [];
  // A fallback may override any field, max_tokens and n included: the worst attempt counts.
  const attempts = [body, ...fallbacks.map((f) => ({ ...body, ...f }))];
  let outputTokens = 0;
  for (const a of attempts) {
    const limit = positiveInt(a.max_completion_tokens) ?? positiveInt(a.max_tokens) ?? DEFAULT_MAX_OUTPUT_TOKENS;
    const choices = positiveInt(a.n) ?? 1;
    outputTokens = Math.max(outputTokens, limit * choices);
  }
  return {
    models: attempts.map((a) => a.model as string),
    attempts: attempts.map((a) => ({ model: a.model as string, global: a.model_region === GLOBAL_MODEL_REGION })),
    inputTokens: Math.ceil(Buffer.byteLength(upstreamBody, 'utf8') * INPUT_TOKENS_PER_BYTE),
    outputTokens,
    transcript: 'transcript_id' in body || fallbacks.some((f) => 'transcript_id' in f),
  };
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.ceil(value) : undefined;
}
