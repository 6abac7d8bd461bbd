import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import type { RouterConfig } from './config';
import type { Guardrails } from './guardrail/guard';
import type { RequestLog, RequestLogFields } from './log';
import type { RouterMetrics } from './metrics';
import type { ResponseWriter } from './response-writer';
import type { ApiKeyCache } from './secret';
import type { TenantGate } from './tenants/gate';

/** What lives for the whole execution environment: built once from the environment. */
export interface Router {
  readonly config: RouterConfig;
  readonly keys: ApiKeyCache;
  readonly metrics: RouterMetrics;
  readonly log: RequestLog;
  /** Present only on routers with tenants (src/handler/tenants). */
  readonly tenants?: TenantGate;
  /** Present on routers with a guardrail or with tenants, which may have their own (src/handler/guardrail). */
  readonly guardrails?: Guardrails;
}

/**
 * One request as it travels from routing to the relay. `fields` is filled in
 * along the way and becomes the request's metrics and log line once it is
 * answered; everything else is fixed when the request arrives.
 */
export interface RequestContext {
  readonly router: Router;
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
  readonly res: ResponseWriter;
  readonly fields: RequestLogFields;
  /** `performance.now()` when the invocation began. */
  readonly started: number;
}
