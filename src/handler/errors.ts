/** OpenAI-shaped error bodies: `{"error":{"message","type","param","code"}}`. */

export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

import type { RejectReason, RouterErrorClass } from '../contract/metrics-schema';

export type { RejectReason, RouterErrorClass };

export interface Rejection {
  readonly status: number;
  readonly reason: RejectReason;
  readonly body: OpenAiErrorBody;
}

export function errorBody(message: string, type: string, code: string | null, param: string | null = null): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

export function reject(
  status: number,
  reason: RejectReason,
  message: string,
  code: string,
  param: string | null = null,
): Rejection {
  return { status, reason, body: errorBody(message, typeForStatus(status), code, param) };
}

/**
 * A failure of the router itself, with its class (the `RouterErrors`
 * metric's `ErrorClass`) and a detail for the log line only: the detail may
 * name accounts, roles, ARNs, hosts or configuration values, which callers
 * must not see.
 */
export class RouterFault extends Error {
  /** Classifies anything thrown past the router's own handling; unknown errors are `internal`. */
  static of(err: unknown): RouterFault {
    return err instanceof RouterFault ? err : new RouterFault('internal', internalDetail(err));
  }

  constructor(readonly errorClass: RouterErrorClass, readonly detail: string) {
    super(detail);
    // Spelled out: the bundle is minified, and class names with it.
    this.name = 'RouterFault';
  }
}

const ROUTER_FAULT_CODES: Readonly<Record<RouterErrorClass, string>> = {
  secret_unavailable: 'secret_unavailable',
  misconfigured: 'router_misconfigured',
  internal: 'internal_error',
};

/** What a caller sees of a router fault: its code and the request id to quote, nothing more. */
export function routerFaultBody(errorClass: RouterErrorClass, requestId: string): OpenAiErrorBody {
  return errorBody(`The router failed to process the request (request id ${requestId}).`, 'api_error', ROUTER_FAULT_CODES[errorClass]);
}

/** An error's name and message, for the log (the message of a known fault holds no request content). */
export function describeError(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown; code?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const code = typeof e?.code === 'string' && e.code !== name ? ` [${e.code}]` : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return truncate(`${name}${code}: ${message}`);
}

/**
 * An unexpected error's name, code and where it was thrown, but not its
 * message: an unforeseen error may quote data it was handed (V8's JSON
 * errors quote their input), which could be the caller's prompt.
 */
function internalDetail(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; stack?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : typeof err;
  const code = typeof e?.code === 'string' ? ` [${e.code}]` : '';
  const frame = typeof e?.stack === 'string' ? e.stack.split('\n').find((line) => line.trimStart().startsWith('at '))?.trim() : undefined;
  return truncate(`${name}${code}${frame ? ` ${frame}` : ''}`);
}

function truncate(text: string): string {
  return text.length > 512 ? `${text.slice(0, 512)}...` : text;
}

/** The OpenAI error `type` conventionally used for a status. */
export function typeForStatus(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * Normalises the three error shapes the gateway has used into the OpenAI one:
 * `{"error":{"code","message","metadata"}}`, the flattened
 * `{code,message,request_id,metadata}`, and auth errors `{error,status,request_id}`.
 */
export function normalizeUpstreamError(status: number, raw: string): OpenAiErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  let message: string | undefined;
  let code: string | null = null;
  if (isObject(parsed)) {
    const inner = isObject(parsed.error) ? parsed.error : parsed;
    if (typeof inner.message === 'string') message = inner.message;
    else if (typeof parsed.error === 'string') message = parsed.error;
    if (typeof inner.code === 'string' || typeof inner.code === 'number') code = String(inner.code);
  }
  return errorBody(
    message ?? `The LLM Gateway answered with HTTP ${status}${raw.length === 0 ? ' and an empty body' : ''}`,
    typeForStatus(status),
    code ?? `upstream_${status}`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
