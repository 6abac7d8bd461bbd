import type { Usage } from './usage';

/**
 * How a forwarded request ended, as far as billing can tell: the value the
 * relay returns and every charge is computed from (billing.ts `chargeOf`),
 * never re-derived from log fields.
 *
 * - `answered`: the gateway answered and reported usage that holds up: the
 *   answering model's price times that usage.
 * - `answered_without_usage`: it answered without a usable report (none, or
 *   one that cannot be right): billed, amount unknown, so the worst case.
 * - `never_sent`: no byte of the request reached the gateway: nothing.
 * - `refused_upstream`: the gateway answered with an error status: nothing.
 * - `maybe_billed`: the request reached the gateway and what it did is
 *   unknown (no answer in time, an answer cut short or unreadable, the
 *   caller gone, the router failing mid-answer): the worst case.
 */
export type Settlement =
  | { readonly kind: 'answered'; readonly usage: Usage; readonly model?: string }
  | { readonly kind: 'answered_without_usage'; readonly usage: 'missing' | 'invalid'; readonly model?: string }
  | { readonly kind: 'never_sent' }
  | { readonly kind: 'refused_upstream'; readonly status: number }
  | { readonly kind: 'maybe_billed'; readonly cause: MaybeBilledCause };

/** Why a request that reached the gateway has no known outcome. */
export type MaybeBilledCause =
  /** No answer, or no end of it, before the upstream timeout. */
  | 'timeout'
  /** The connection closed before or during the answer. */
  | 'cut'
  /** The answer was larger than the router buffers. */
  | 'too_large'
  /** A 2xx answer that is not what was asked for. */
  | 'invalid_answer'
  /** The caller hung up. */
  | 'client_aborted'
  /** A stream still running at the function's deadline. */
  | 'deadline'
  /** The router itself failed after sending. */
  | 'router_fault'
  /** The router's guardrail ended the stream (a block, or a check that failed closed). */
  | 'guardrail';

export const NEVER_SENT: Settlement = Object.freeze({ kind: 'never_sent' });
