import type { RouterConfig } from './config';
import type { Guardrails } from './guardrail/guard';
import type { RequestLog } from './log';
import type { RouterMetrics } from './metrics';
import type { ApiKeyCache } from './secret';
import type { ServedRequest } from './served-request';
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

/** One request (served-request.ts) and the router serving it: what routing and the relay pass along. */
export interface RequestContext extends ServedRequest {
  readonly router: Router;
}
