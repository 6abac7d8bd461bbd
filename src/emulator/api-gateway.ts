import { ApiRoute, gatewayErrorBody, gatewayErrorType, matchesSchema } from '../contract/api-contract';

/*
 * What the deployed REST API answers itself, before the handler runs, for
 * the emulator to answer the same: API Gateway routes only the API's two
 * methods, and its request validator checks chat-completion bodies against
 * the request model. Both answers are API Gateway's own errors, which the
 * construct's gateway responses put in the OpenAI error shape.
 */

export interface GatewayAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** API Gateway's answer for a request the handler would never see, or undefined to invoke the handler. */
export function apiGatewayAnswer(
  routes: readonly ApiRoute[],
  method: string,
  path: string,
  contentType: string | undefined,
  body: Buffer,
): GatewayAnswer | undefined {
  const route = routes.find((r) => r.path === path && r.method === method);
  // Unknown paths and methods: 403, whatever the authorization type.
  if (!route) return gatewayError(403, 'MISSING_AUTHENTICATION_TOKEN', 'Missing Authentication Token', 'MissingAuthenticationTokenException');
  if (route.schema && isJson(contentType) && !parsesAndMatches(route.schema, body)) {
    return gatewayError(400, 'BAD_REQUEST_BODY', 'Invalid request body', 'BadRequestException');
  }
  return undefined;
}

/** A REST API's payload limit: 10 MB. A larger request never reaches the function. */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** API Gateway's answer to a request over its payload limit. */
export function payloadTooLargeAnswer(): GatewayAnswer {
  return gatewayError(413, 'REQUEST_TOO_LARGE', 'Request Too Long', 'RequestTooLargeException');
}

/** API Gateway's answer when an API key is required and the request has none it knows (checked before the request validator). */
export function invalidApiKeyAnswer(): GatewayAnswer {
  return gatewayError(403, 'INVALID_API_KEY', 'Forbidden', 'ForbiddenException');
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
