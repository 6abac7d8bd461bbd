/** OpenAI-shaped error bodies: `{"error":{"message","type","param","code"}}`. */

export interface OpenAiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

import type { RejectReason } from '../catalog/metrics-schema';

export type { RejectReason };

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
