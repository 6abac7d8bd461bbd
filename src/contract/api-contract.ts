import { CHAT_COMPLETIONS_PATH, MODELS_PATH, UNDERSTANDING_PATH } from './catalog';

/*
 * What API Gateway answers before the handler runs, as data: the construct
 * configures the REST API from it, and the local emulator reproduces the
 * deployed API's answers from the same objects.
 */

/** A JSON schema (draft-04), as far as the router's request model uses it. */
export interface RequestSchema {
  readonly schema?: string;
  readonly type?: 'object' | 'string' | 'boolean' | 'number' | 'integer' | 'array' | 'null';
  readonly required?: readonly string[];
  readonly minLength?: number;
  readonly properties?: Readonly<Record<string, RequestSchema>>;
}

/**
 * The request model API Gateway's validator checks chat-completion bodies
 * against: a string `model` and, when present, a boolean `stream`. Everything
 * else is the handler's to check.
 */
export const CHAT_COMPLETION_REQUEST_SCHEMA: RequestSchema = Object.freeze({
  schema: 'http://json-schema.org/draft-04/schema#',
  type: 'object',
  required: ['model'],
  properties: {
    model: { type: 'string', minLength: 1 },
    stream: { type: 'boolean' },
  },
} as const);

/**
 * The request model of `POST /v1/understanding` (the gateway's spec,
 * `llm-gateway.yml`): a transcript id and the understanding request.
 */
export const UNDERSTANDING_REQUEST_SCHEMA: RequestSchema = Object.freeze({
  schema: 'http://json-schema.org/draft-04/schema#',
  type: 'object',
  required: ['transcript_id', 'speech_understanding'],
  properties: {
    transcript_id: { type: 'string', minLength: 1 },
    speech_understanding: { type: 'object' },
  },
} as const);

/** A method of the API; `modelName` names its request model in the REST API. */
export interface ApiRoute {
  readonly method: string;
  readonly path: string;
  readonly schema?: RequestSchema;
  readonly modelName?: string;
}

/** The API's methods on every router; any other path or method is API Gateway's 403 "Missing Authentication Token". */
export const API_ROUTES: readonly ApiRoute[] = Object.freeze([
  { method: 'POST', path: CHAT_COMPLETIONS_PATH, schema: CHAT_COMPLETION_REQUEST_SCHEMA, modelName: 'ChatCompletionRequest' },
  { method: 'GET', path: MODELS_PATH },
]);

/** The methods that read transcripts, only on routers with transcript access. */
export const TRANSCRIPT_ROUTES: readonly ApiRoute[] = Object.freeze([
  { method: 'POST', path: UNDERSTANDING_PATH, schema: UNDERSTANDING_REQUEST_SCHEMA, modelName: 'UnderstandingRequest' },
]);

/** The methods a router's API has. */
export function apiRoutes(transcriptAccess: boolean): readonly ApiRoute[] {
  return transcriptAccess ? [...API_ROUTES, ...TRANSCRIPT_ROUTES] : API_ROUTES;
}

/**
 * API Gateway's own errors (auth, throttling, validation, unknown routes),
 * each answered in the OpenAI error shape with this `type`. Types not listed
 * fall back to DEFAULT_4XX or DEFAULT_5XX.
 */
export const GATEWAY_ERROR_TYPES: ReadonlyArray<{ readonly id: string; readonly responseType: string; readonly errorType: string }> = Object.freeze([
  { id: 'Default4xx', responseType: 'DEFAULT_4XX', errorType: 'invalid_request_error' },
  { id: 'Default5xx', responseType: 'DEFAULT_5XX', errorType: 'api_error' },
  { id: 'Throttled', responseType: 'THROTTLED', errorType: 'rate_limit_error' },
  { id: 'QuotaExceeded', responseType: 'QUOTA_EXCEEDED', errorType: 'rate_limit_error' },
  { id: 'Unauthorized', responseType: 'UNAUTHORIZED', errorType: 'authentication_error' },
  { id: 'AccessDenied', responseType: 'ACCESS_DENIED', errorType: 'permission_error' },
  // Also what API Gateway answers for unknown paths and methods, whatever the authorization.
  { id: 'MissingToken', responseType: 'MISSING_AUTHENTICATION_TOKEN', errorType: 'authentication_error' },
]);

/** The OpenAI error type API Gateway's error of `responseType` (with `status`) is answered with. */
export function gatewayErrorType(responseType: string, status: number): string {
  const entry = GATEWAY_ERROR_TYPES.find((r) => r.responseType === responseType)
    ?? GATEWAY_ERROR_TYPES.find((r) => r.responseType === (status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'))!;
  return entry.errorType;
}

/** The body of a gateway response: API Gateway's message and response type in the OpenAI error shape. */
export function gatewayErrorBody(message: string, errorType: string, responseType: string) {
  return { error: { message, type: errorType, param: null, code: responseType } };
}

/** Whether `value` satisfies the schema (the draft-04 keywords `RequestSchema` has). */
export function matchesSchema(schema: RequestSchema, value: unknown): boolean {
  if (schema.type && !hasType(schema.type, value)) return false;
  if (typeof value === 'string' && schema.minLength !== undefined && [...value].length < schema.minLength) return false;
  if (isObject(value)) {
    if (schema.required?.some((key) => !(key in value))) return false;
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      if (key in value && !matchesSchema(sub, value[key])) return false;
    }
  }
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(type: NonNullable<RequestSchema['type']>, value: unknown): boolean {
  switch (type) {
    case 'object': return isObject(value);
    case 'array': return Array.isArray(value);
    case 'null': return value === null;
    case 'integer': return Number.isInteger(value);
    default: return typeof value === type;
  }
}
