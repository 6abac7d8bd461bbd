import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { chargeOf, nanosToUsd } from './billing';
import { loadConfig, RouterConfig } from './config';
import { describeError, OpenAiErrorBody, RejectReason, reject, RouterFault, routerFaultBody } from './errors';
import { AnswerGuard, GuardrailClientOptions, Guardrails } from './guardrail/guard';
import { RequestLog, RequestLogFields } from './log';
import { RouterMetrics } from './metrics';
import { decide, Forward } from './policy';
import { proxy } from './relay';
import type { RequestContext, Router } from './request-context';
import { ResponseWriter } from './response-writer';
import { ApiKeyCache, ApiKeyProvider, secretsManagerKeyProvider } from './secret';
import { NEVER_SENT, Settlement } from './settlement';
import { Admission, TenantGate, TenantGateOptions, TenantRefusal } from './tenants/gate';
import { decideUnderstanding } from './understanding';
import { UpstreamExchange } from './upstream';
import { CHAT_COMPLETIONS_PATH, MODELS_PATH, UNDERSTANDING_PATH } from '../contract/catalog';
import { DEFAULTS, ENV, MIN_GATEWAY_KEY_LENGTH } from '../contract/env';

/** The Lambda streaming handler's signature (what `awslambda.streamifyResponse` wraps). */
export type StreamingHandler = (event: APIGatewayProxyEvent, responseStream: Writable, context: Context) => Promise<void>;

export interface RouterHandlerOptions {
  /** Where the gateway key comes from. @default Secrets Manager, from `LLM_GATEWAY_API_KEY_SECRET_ARN` */
  readonly apiKeyProvider?: ApiKeyProvider;
  /** The tenant store's client configuration and prices (routers with tenants). @default the Lambda's */
  readonly tenants?: TenantGateOptions;
  /** The Bedrock runtime client's configuration (routers with guardrails). @default the Lambda's */
  readonly guardrails?: GuardrailClientOptions;
}

/**
 * Builds the router's streaming handler from an environment (the Lambda's,
 * or the local emulator's). A broken configuration does not crash the
 * function: every request gets a 500 `router_misconfigured`, and the log
 * line and the `RouterErrors` metric name the problem.
 */
export function createRouterHandler(env: Readonly<Record<string, string | undefined>>, options: RouterHandlerOptions = {}): StreamingHandler {
  const serviceName = env[ENV.SERVICE_NAME] || 'llm-gateway-router';
  const metrics = new RouterMetrics(env[ENV.METRICS_NAMESPACE] || DEFAULTS.metricsNamespace, serviceName);
  const log = new RequestLog(serviceName);
  let router: Router | undefined;
  let configError: string | undefined;
  try {
    const config = loadConfig(env);
    const provider = options.apiKeyProvider
      ?? (config.apiKeySecretArn ? secretsManagerKeyProvider(config.apiKeySecretArn) : missingKey);
    const tenants = TenantGate.fromEnv(env, config, options.tenants);
    const guardrails = Guardrails.fromEnv(env, config, options.guardrails);
    router = { config, keys: new ApiKeyCache(classifyKeyFailures(provider)), metrics, log, tenants, guardrails };
  } catch (err) {
    configError = describeError(err);
  }
  let coldStart = true;

  return async (event, responseStream, context) => {
    const started = performance.now();
    const route = routeOf(event);
    const fields: RequestLogFields = {
      requestId: event.requestContext?.requestId ?? context.awsRequestId,
      route,
      method: event.httpMethod,
      region: router?.config.region ?? 'us',
      status: 500,
      latencyMs: 0,
      coldStart,
    };
    coldStart = false;
    const res = new ResponseWriter(responseStream, fields.region);
    try {
      if (router) await dispatch({ router, event, context, res, fields, started });
      else fail(res, fields, new RouterFault('misconfigured', configError!));
    } catch (err) {
      // Only the router's own faults land here; callers' mistakes were answered above.
      fail(res, fields, RouterFault.of(err));
    } finally {
      fields.status = res.status;
      fields.region = res.region;
      fields.latencyMs = performance.now() - started;
      metrics.record(fields);
      log.record(fields);
    }
  };
}

const missingKey: ApiKeyProvider = () => Promise.reject(new RouterFault('misconfigured', `${ENV.API_KEY_SECRET_ARN} is not set`));

/**
 * A key that cannot be read is the router's fault, of its own class (an IAM,
 * KMS or network problem to page on); an implausibly short one is a
 * misconfiguration, refused before it is sent (it could not be redacted).
 */
function classifyKeyFailures(provider: ApiKeyProvider): ApiKeyProvider {
  return () => provider().then((key) => {
    if (key.length < MIN_GATEWAY_KEY_LENGTH) {
      throw new RouterFault('misconfigured', `the gateway key is ${key.length} characters; a gateway key has at least ${MIN_GATEWAY_KEY_LENGTH}`);
    }
    return key;
  }, (err: unknown) => {
    throw err instanceof RouterFault ? err : new RouterFault('secret_unavailable', describeError(err));
  });
}

/** Answers a router fault: a generic body with the request id for the caller, the detail for the log and metric. */
function fail(res: ResponseWriter, fields: RequestLogFields, fault: RouterFault): void {
  fields.routerError = fault.errorClass;
  fields.errorDetail = fault.detail;
  if (!res.started) res.json(500, routerFaultBody(fault.errorClass, fields.requestId));
  else res.end();
}

async function dispatch(ctx: RequestContext): Promise<void> {
  const { event: { httpMethod }, fields: { route } } = ctx;
  // Tenants: a caller that matches none is refused on every route.
  const unknownTenant = await ctx.router.tenants?.identify(ctx);
  if (unknownTenant) {
    refuse(ctx, unknownTenant, unknownTenant.headers);
    return;
  }
  if (route === CHAT_COMPLETIONS_PATH) {
    if (httpMethod !== 'POST') methodNotAllowed(ctx, 'POST');
    else await chatCompletions(ctx);
  } else if (route === MODELS_PATH) {
    if (httpMethod !== 'GET') methodNotAllowed(ctx, 'GET');
    else ctx.res.json(200, listModels(ctx.router.config, ctx.router.tenants?.modelsFor(ctx.fields.tenant) ?? ctx.router.config.allowedModels));
  } else if (route === UNDERSTANDING_PATH) {
    if (httpMethod !== 'POST') methodNotAllowed(ctx, 'POST');
    else await understanding(ctx);
  } else {
    refuse(ctx, reject(404, 'not_found', `No route for ${httpMethod} ${route}.`, 'not_found'));
  }
}

/** The request body as text, or undefined after refusing it as too large. */
function bodyText(ctx: RequestContext): string | undefined {
  const { router: { config }, event } = ctx;
  const rawBody = event.body ?? '';
  // Decoded once; a text body is measured without copying it.
  const decoded = event.isBase64Encoded ? Buffer.from(rawBody, 'base64') : undefined;
  const size = decoded ? decoded.length : Buffer.byteLength(rawBody, 'utf8');
  if (size > config.maxBodyBytes) {
    refuse(ctx, reject(413, 'too_large', `The request body is ${size} bytes; this router accepts at most ${config.maxBodyBytes}.`, 'request_too_large'));
    return undefined;
  }
  return decoded ? decoded.toString('utf8') : rawBody;
}

/** Admits a transcript-based understanding request and hands it to the relay: no model, the router's own region. */
async function understanding(ctx: RequestContext): Promise<void> {
  const text = bodyText(ctx);
  if (text === undefined) return;
  const decision = decideUnderstanding(text, ctx.router.config);
  if (decision.kind === 'reject') {
    refuse(ctx, decision);
    return;
  }
  // Tenants: transcript access and the rate limit (the route has no model to price or budget).
  await forward(ctx, decision, ctx.router.tenants?.admitUnderstanding(ctx));
}

/** Admits a chat completion (size, then policy) and hands it to the relay. */
async function chatCompletions(ctx: RequestContext): Promise<void> {
  const { router: { config }, res, fields } = ctx;
  const text = bodyText(ctx);
  if (text === undefined) return;

  const decision = decide(text, config, ctx.router.tenants?.policyOf(fields.tenant));
  fields.requestedModel = decision.model;
  if (decision.kind === 'reject') {
    refuse(ctx, decision);
    return;
  }
  fields.model = decision.model;
  fields.provider = decision.provider;
  res.region = decision.global ? 'global' : config.region;
  // Tenants: the tenant's policy, budget and rate limit, before a byte goes upstream.
  await forward(ctx, decision, ctx.router.tenants?.admit(ctx, decision), true);
}

/**
 * Sends an admitted request upstream: after the tenant's admission (when the
 * router has tenants) and the guardrail's check of the prompt (chat
 * completions, when a guardrail applies), and then, whatever the outcome,
 * charges it from how it ended (`chargeOf`): one amount for the `cost_usd`
 * log field, the `CostUsd` metric and the tenant's ledger.
 */
async function forward(
  ctx: RequestContext, decision: Forward, admitting: Promise<TenantRefusal | Admission> | undefined, guarded = false,
): Promise<void> {
  const { fields, res } = ctx;
  const admission = await admitting;
  if (admission?.kind === 'reject') {
    refuse(ctx, admission, admission.headers);
    return;
  }
  let settlement: Settlement = NEVER_SENT;
  try {
    settlement = await send(ctx, decision, guarded);
  } catch (err) {
    // Before anything was sent (a tenant's guardrail misconfigured): nothing to charge.
    fail(res, fields, RouterFault.of(err));
  }
  const charge = decision.attempts.length > 0 ? chargeOf(settlement, decision.worstCase, ctx.router.config.modelRules, decision.attempts) : undefined;
  fields.settlement = settlement.kind;
  if (settlement.kind === 'maybe_billed') fields.settlementCause = settlement.cause;
  if (charge) {
    fields.chargeBasis = charge.basis;
    if (charge.usdNanos !== undefined && charge.basis !== 'none') fields.costUsd = nanosToUsd(charge.usdNanos);
  }
  // After the caller's last byte: settle (or release) whatever the outcome, at that charge.
  await admission?.settle(charge);
}

/** Checks the prompt when a guardrail applies, then proxies it, unless the caller has hung up meanwhile. */
async function send(ctx: RequestContext, decision: Forward, guarded: boolean): Promise<Settlement> {
  const { fields, res, router } = ctx;
  const guardrails = guarded ? router.guardrails : undefined;
  const spec = guardrails?.specFor(router.tenants?.guardrailOf(fields.tenant));
  let checked = decision;
  if (spec && !res.raw.destroyed) {
    const verdict = await guardrails!.checkPrompt(ctx, spec, decision);
    if (verdict.kind === 'reject') {
      refuse(ctx, verdict, verdict.headers);
      return NEVER_SENT;
    }
    checked = verdict;
  }
  if (res.raw.destroyed) {
    // The caller hung up while the request was being admitted or checked: nothing goes upstream.
    fields.clientAborted = true;
    return NEVER_SENT;
  }
  const exchange = new UpstreamExchange();
  const guard: AnswerGuard | undefined = spec?.out ? { guardrails: guardrails!, spec } : undefined;
  try {
    return await proxy(ctx, checked, exchange, guard);
  } catch (err) {
    // A router fault is answered before settling, so the caller does not wait on the ledger.
    fail(res, fields, RouterFault.of(err));
    return exchange.maybeReceived ? { kind: 'maybe_billed', cause: 'router_fault' } : NEVER_SENT;
  }
}

function listModels(config: RouterConfig, allowedModels: readonly string[]) {
  return {
    object: 'list',
    data: allowedModels.map((id) => ({ id, object: 'model', created: 0, owned_by: config.modelRules.get(id)?.provider ?? 'unknown' })),
  };
}

function methodNotAllowed(ctx: RequestContext, allow: string): void {
  const { fields } = ctx;
  refuse(ctx, reject(405, 'method_not_allowed', `Method ${fields.method} is not allowed on ${fields.route}; use ${allow}.`, 'method_not_allowed'), { allow });
}

function refuse(
  { res, fields }: RequestContext,
  rejection: { status: number; reason: RejectReason; body: OpenAiErrorBody },
  headers: Record<string, string> = {},
): void {
  fields.rejectReason = rejection.reason;
  res.json(rejection.status, rejection.body, headers);
}

/** The resource path: API Gateway's `resource`, or the raw path behind a proxy resource. */
function routeOf(event: APIGatewayProxyEvent): string {
  const resource = event.resource;
  return resource && !resource.includes('{') ? resource : event.path ?? '/';
}
