import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { RequestLogFields } from './log';
import type { ResponseWriter } from './response-writer';

/**
 * One request as the layers that serve it see it (the tenant gate, the
 * guardrails, the relay): what arrived, its response, and `fields`, which
 * fill in along the way and become the request's metrics and log line once
 * it is answered. The router it runs in is added by `RequestContext`
 * (request-context.ts), so these layers never import the router's shape.
 */
export interface ServedRequest {
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
  readonly res: ResponseWriter;
  readonly fields: RequestLogFields;
  /** `performance.now()` when the invocation began. */
  readonly started: number;
}
