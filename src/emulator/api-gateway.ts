import { ApiRoute, gatewayErrorBody, gatewayErrorType, matchesSchema } from '../contract/api-contract';

/*
 * The emulator's API Gateway layer, in one place: what the deployed REST API
 * answers itself before (and instead of) the function, for the emulator to
 * answer the same. API Gateway refuses bodies over its payload limit, routes
 * only the API's methods, checks API keys, and validates chat-completion
 * bodies against the request model; those answers are API Gateway's own
 * errors, which the construct's gateway responses put in the OpenAI error
 * shape. A failed integration gets its fixed 502 body.
 */

export interface GatewayAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What the front door needs to know of the deployed API. */
export interface FrontDoor {
  /** The API's methods and their request models. */
  readonly routes: readonly ApiRoute[];
  /** Answer unknown routes and invalid bodies as the deployed API does (off only to test the handler's own defences). */
  readonly checks: boolean;
  /** API key authorization: x-api-key value -> key id. @default no API keys */
  readonly apiKeyIds?: ReadonlyMap<string, string>;
}

/** API Gateway's own answer, or the API key it matched when the function is to run. */
export type FrontDoorOutcome =
  | { readonly answer: GatewayAnswer }
  | { readonly answer?: undefined; readonly apiKeyId?: string };

/**
 * What API Gateway does with a received request before the function runs,
 * in its order: the route (403 "Missing Authentication Token", before any
 * authentication), the API key against the usage plan (403 "Forbidden"),
 * then the request validator (400 "Invalid request body"). The payload
 * limit (413) comes first of all, while the body arrives
 * (`API_GATEWAY_MAX_PAYLOAD_BYTES`).
 */
export function frontDoor(
  door: FrontDoor,
  request: { readonly method: string; readonly path: string; readonly headers: Readonly<Record<string, string | string[] | undefined>> },
  body: Buffer,
): FrontDoorOutcome {
  const route = door.routes.find((r) => r.path === request.path && r.method === request.method);
  if (door.checks && !route) return { answer: gatewayError(403, 'MISSING_AUTHENTICATION_TOKEN', 'Missing Authentication Token', 'MissingAuthenticationTokenException') };
  let apiKeyId: string | undefined;
  if (door.apiKeyIds) {
    apiKeyId = door.apiKeyIds.get(String(request.headers['x-api-key'] ?? ''));
    if (!apiKeyId) return { answer: gatewayError(403, 'INVALID_API_KEY', 'Forbidden', 'ForbiddenException') };
  }
  const contentType = request.headers['content-type'];
  if (door.checks && route?.schema && isJson(typeof contentType === 'string' ? contentType : undefined) && !parsesAndMatches(route.schema, body)) {
    return { answer: gatewayError(400, 'BAD_REQUEST_BODY', 'Invalid request body', 'BadRequestException') };
  }
  return { apiKeyId };
}

/** A REST API's payload limit: 10 MB. A larger request never reaches the function. */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** API Gateway's answer to a request over its payload limit. */
export function payloadTooLargeAnswer(): GatewayAnswer {
  return gatewayError(413, 'REQUEST_TOO_LARGE', 'Request Too Long', 'RequestTooLargeException');
}

/**
 * API Gateway's answer for an integration that failed (the function crashed,
 * timed out or answered without a prelude): this body exactly, nothing of the
 * failure; the detail is for the log only.
 */
export function integrationFailedAnswer(): GatewayAnswer {
  return { status: 502, headers: { 'content-type': 'application/json' }, body: '{"message":"Internal server error"}' };
}

function gatewayError(status: number, responseType: string, message: string, amznErrorType: string): GatewayAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': amznErrorType },
    body: JSON.stringify(gatewayErrorBody(message, gatewayErrorType(responseType, status), responseType)),
  };
}

/**
 * The model is registered for application/json, which is also what API
 * Gateway assumes when no Content-Type is sent; bodies of other types have
 * no model to be checked against.
 */
function isJson(contentType: string | undefined): boolean {
  return contentType === undefined || contentType.split(';')[0].trim().toLowerCase() === 'application/json';
}

function parsesAndMatches(schema: Parameters<typeof matchesSchema>[0], body: Buffer): boolean {
  try {
    return matchesSchema(schema, JSON.parse(body.toString('utf8')));
  } catch {
    return false;
  }
}
