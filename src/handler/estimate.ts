import type { Attempt } from './billing';
import { GLOBAL_MODEL_REGION } from '../contract/catalog';

/*
 * The most a request can use, read from the body the router sends upstream
 * (already policy-checked, so every field read here has its checked type):
 * what a tenant's budget reserves before anything is sent, and what an
 * answer without usable usage is charged.
 */

/** The gateway's `max_tokens` when the request sets none (reference/llm-gateway-facts.md). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 1_000;

/**
 * Input tokens assumed per byte of the upstream body: one. Byte-level BPE
 * tokenizers never produce more tokens than the UTF-8 bytes they read, and
 * the body's JSON syntax (keys, quotes, roles) more than covers the few
 * tokens a chat template adds per message. Deliberately pessimistic: a
 * typical English prompt is about four bytes per token, and the surplus
 * returns at settlement. Inline media (base64 data) is covered the same way,
 * at far more than any provider bills for it.
 */
export const INPUT_TOKENS_PER_BYTE = 1;

/**
 * Input tokens reserved per non-text content part, on top of its bytes: what
 * a part that names its media by reference (a URL, a file id) may cost, which
 * its bytes in the body cannot bound. Above what the providers document for
 * their largest inputs of each kind: an image (Anthropic about 1,600 tokens,
 * OpenAI's high-detail tiles under 2,500), audio beyond its inline data, and
 * a document (a long PDF). A part of any other non-text type is reserved as a file.
 */
export const CONTENT_PART_ALLOWANCE = Object.freeze({ image: 3_000, audio: 10_000, file: 100_000 });

export interface Estimate {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Non-text content parts found (the allowance's count, for the log and tests). */
  readonly mediaParts: number;
}

/**
 * Input: one token per upstream byte plus each non-text part's allowance.
 * Output: the largest limit any attempt may use (`max_tokens` or
 * `max_completion_tokens`, the larger when both are set, else the gateway's
 * default) times the choices it asks for (`n`).
 */
export function estimateOf(body: Record<string, unknown>, upstreamBody: string): Estimate {
  const fallbacks = fallbacksOf(body);
  let outputTokens = 0;
  let media = 0;
  let mediaParts = 0;
  for (const attempt of [body, ...fallbacks.map((f) => ({ ...body, ...f }))]) {
    const limits = [attempt.max_tokens, attempt.max_completion_tokens].filter((v): v is number => typeof v === 'number');
    const limit = limits.length > 0 ? Math.max(...limits) : DEFAULT_MAX_OUTPUT_TOKENS;
    const choices = typeof attempt.n === 'number' ? attempt.n : 1;
    outputTokens = Math.max(outputTokens, limit * choices);
  }
  for (const source of [body, ...fallbacks]) {
    for (const kind of nonTextParts(source.messages)) {
      media += CONTENT_PART_ALLOWANCE[kind];
      mediaParts++;
    }
  }
  return { inputTokens: Buffer.byteLength(upstreamBody, 'utf8') * INPUT_TOKENS_PER_BYTE + media, outputTokens, mediaParts };
}

/** The primary and every fallback, each with where it goes (`model_region: "global"`, its own or inherited). */
export function attemptsOf(body: Record<string, unknown>): Attempt[] {
  return [body, ...fallbacksOf(body).map((f) => ({ ...body, ...f }))]
    .map((a) => ({ model: a.model as string, global: a.model_region === GLOBAL_MODEL_REGION }));
}

function fallbacksOf(body: Record<string, unknown>): Array<Record<string, unknown>> {
  return Array.isArray(body.fallbacks) ? (body.fallbacks as Array<Record<string, unknown>>) : [];
}

function* nonTextParts(messages: unknown): Generator<keyof typeof CONTENT_PART_ALLOWANCE> {
  if (!Array.isArray(messages)) return;
  for (const message of messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const type = (part as { type?: unknown } | null)?.type;
      if (type === 'text') continue;
      const name = typeof type === 'string' ? type : '';
      yield name.includes('image') ? 'image' : name.includes('audio') ? 'audio' : 'file';
    }
  }
}
