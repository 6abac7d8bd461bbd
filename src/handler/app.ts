import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { loadConfig, RouterConfig } from './config';
import { errorBody, normalizeUpstreamError, OpenAiErrorBody, RejectReason, reject } from './errors';
import { RequestLog, RequestLogFields } from './log';
import { RouterMetrics } from './metrics';
import { decide, Forward } from './policy';
import { ApiKeyCache, ApiKeyProvider, secretsManagerKeyProvider } from './secret';
import { completionToSse, pipeSse, readUsage } from './sse';
import { readBody, sendWithRetries, UpstreamCancellation, UpstreamTimeoutError, UpstreamUnreachableError } from './upstream';
import { CHAT_COMPLETIONS_PATH, MODELS_PATH } from '../catalog/catalog';
import { DEFAULTS, ENV } from '../catalog/env';
import { providerOf } from '../catalog/lookup';

/** The Lambda streaming handler's signature (what `awslambda.streamifyResponse` wraps). */
export type StreamingHandler = (event: APIGatewayProxyEvent, responseStream: Writable, context: Context) => Promise<void>;

export interface RouterHandlerOptions {
  /** Where the gateway key comes from. @default Secrets Manager, from `LLM_GATEWAY_API_KEY_SECRET_ARN` */
  readonly apiKeyProvider?: ApiKeyProvider;
}

/** Upstream answers larger than this are refused rather than buffered. */
const MAX_UPSTREAM_BODY_BYTES = 10 * 1024 * 1024;
/** Time kept back from the Lambda deadline to answer the caller after an upstream timeout. */
const DEADLINE_MARGIN_MS = 1_000;
/** Upstream response headers worth passing to the caller (rate-limit feedback). */
const PASSTHROUGH_HEADER = /^(x-ratelimit-|retry-after$)/;

interface Router {
  readonly config: RouterConfig;
  readonly keys: ApiKeyCache;
  readonly metrics: RouterMetrics;
  readonly log: RequestLog;
}

/**
 * Builds the router's streaming handler from an environment (the Lambda's,
 * or the local emulator's). A broken configuration does not crash the
 * function: every request gets a 500 that names the problem.
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
    router = { config, keys: new ApiKeyCache(provider), metrics, log };
  } catch (err) {
    configError = (err as Error).message;
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
    const res = new Response(responseStream, fields.region);
    try {
      if (!router) {
        res.json(500, errorBody(`The router is misconfigured: ${configError}`, 'api_error', 'router_misconfigured'));
      } else if (route === CHAT_COMPLETIONS_PATH) {
        if (event.httpMethod !== 'POST') methodNotAllowed(res, fields, 'POST');
        else await proxy(router, event, context, res, fields, started);
      } else if (route === MODELS_PATH) {
        if (event.httpMethod !== 'GET') methodNotAllowed(res, fields, 'GET');
        else res.json(200, listModels(router.config));
      } else {
        refuse(res, fields, reject(404, 'not_found', `No route for ${event.httpMethod} ${route}.`, 'not_found'));
      }
    } catch (err) {
      // Only the router's own faults land here; callers' mistakes were answered above.
      if (!res.started) res.json(500, errorBody(`Internal router error: ${(err as Error).message}`, 'api_error', 'internal_error'));
      else res.end();
    } finally {
      fields.status = res.status;
      fields.region = res.region;
      fields.latencyMs = performance.now() - started;
      metrics.record(fields);
      log.record(fields);
    }
  };
}

const missingKey: ApiKeyProvider = () => Promise.reject(new Error(`${ENV.API_KEY_SECRET_ARN} is not set`));

async function proxy(
  router: Router,
  event: APIGatewayProxyEvent,
  context: Context,
  res: Response,
  fields: RequestLogFields,
  started: number,
): Promise<void> {
  const { config } = router;
  const rawBody = event.body ?? '';
  // Decoded once; a text body is measured without copying it.
  const decoded = event.isBase64Encoded ? Buffer.from(rawBody, 'base64') : undefined;
  const size = decoded ? decoded.length : Buffer.byteLength(rawBody, 'utf8');
  if (size > config.maxBodyBytes) {
    refuse(res, fields, reject(413, 'too_large', `The request body is ${size} bytes; this router accepts at most ${config.maxBodyBytes}.`, 'request_too_large'));
    return;
  }
  const text = decoded ? decoded.toString('utf8') : rawBody;

  const decision = decide(text, config);
  fields.requestedModel = decision.model;
  if (decision.kind === 'reject') {
    refuse(res, fields, decision);
    return;
  }
  fields.model = decision.model;
  fields.provider = decision.provider.id;
  res.region = decision.global ? 'global' : config.region;

  const upstreamStarted = performance.now();
  const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY;
  const deadline = Date.now() + Math.min(config.upstreamTimeoutMs, remaining - DEADLINE_MARGIN_MS);
  const cancellation = new UpstreamCancellation();
  const onClientGone = () => cancellation.cancel();
  res.raw.once('close', onClientGone);

  try {
    const send = (apiKey: string) => sendWithRetries({
      url: config.completionsUrl,
      apiKey,
      body: decision.upstreamBody,
      stream: decision.upstreamStream,
      deadline,
      cancellation,
    });
    let { response, attempts } = await send(await router.keys.get());
    if (response.statusCode === 401) {
      // The key may have been rotated since we cached it: read it again, once.
      response.resume();
      const retry = await send(await router.keys.refresh());
      response = retry.response;
      attempts += retry.attempts;
    }
    fields.upstreamAttempts = attempts;
    const status = response.statusCode ?? 502;

    if (status >= 400) {
      await passUpstreamError(response, status, deadline, res, fields);
    } else if (decision.upstreamStream) {
      res.start(status, { ...upstreamHeaders(response), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      try {
        const piped = await pipeSse(response, res.stream!, config.upstreamTimeoutMs, () => cancellation.cancel());
        if (piped.firstChunkAt !== undefined) fields.timeToFirstTokenMs = piped.firstChunkAt - started;
        fields.inputTokens = piped.usage.inputTokens;
        fields.outputTokens = piped.usage.outputTokens;
        fields.clientAborted = piped.clientAborted || undefined;
      } catch (err) {
        // Headers are gone already: tell the client in-band and close the stream.
        fields.upstreamError = failureClass(err);
        res.stream!.write(`data: ${JSON.stringify(upstreamFailureBody(err))}\n\n`);
      }
      res.end();
    } else {
      await passCompletion(response, status, deadline, decision, res, fields, started);
    }
  } catch (err) {
    if (cancellation.isCancelled) {
      fields.clientAborted = true;
      res.end();
      return;
    }
    if (!(err instanceof UpstreamTimeoutError || err instanceof UpstreamUnreachableError)) throw err;
    fields.upstreamError = failureClass(err);
    if (!res.started) res.json(err instanceof UpstreamTimeoutError ? 504 : 502, upstreamFailureBody(err));
    else res.end();
  } finally {
    // Until the answer was fully relayed, or until the upstream failed.
    fields.upstreamLatencyMs = performance.now() - upstreamStarted;
    res.raw.off('close', onClientGone);
  }
}

async function passCompletion(
  response: IncomingMessage,
  status: number,
  deadline: number,
  decision: Forward,
  res: Response,
  fields: RequestLogFields,
  started: number,
): Promise<void> {
  const body = await readBody(response, deadline, MAX_UPSTREAM_BODY_BYTES);
  let completion: unknown;
  try {
    completion = JSON.parse(body.toString('utf8'));
  } catch {
    fields.upstreamError = '5xx';
    res.json(502, errorBody(`The LLM Gateway answered HTTP ${status} with ${body.length === 0 ? 'an empty body' : 'a body that is not JSON'}.`, 'api_error', 'upstream_invalid_response'));
    return;
  }
  const usage = readUsage(completion);
  fields.inputTokens = usage.inputTokens;
  fields.outputTokens = usage.outputTokens;
  const upstreamId = (completion as { request_id?: unknown; id?: unknown } | null);
  if (typeof upstreamId?.request_id === 'string') fields.upstreamRequestId = upstreamId.request_id;

  if (decision.stream) {
    // The caller asked for a stream the upstream does not offer for this provider.
    res.start(status, { ...upstreamHeaders(response), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    fields.timeToFirstTokenMs = performance.now() - started;
    res.stream!.write(completionToSse(completion as Parameters<typeof completionToSse>[0], decision.model));
    res.end();
  } else {
    // Pass the upstream's bytes through untouched.
    res.start(status, { ...upstreamHeaders(response), 'content-type': 'application/json' });
    res.stream!.write(body);
    res.end();
  }
}

async function passUpstreamError(
  response: IncomingMessage,
  status: number,
  deadline: number,
  res: Response,
  fields: RequestLogFields,
): Promise<void> {
  const body = await readBody(response, deadline, MAX_UPSTREAM_BODY_BYTES);
  fields.upstreamError = status >= 500 ? '5xx' : '4xx';
  const normalized = normalizeUpstreamError(status, body.toString('utf8'));
  if (status === 401) {
    // The caller cannot fix the router's own key: this is the router's fault.
    res.json(502, errorBody('The LLM Gateway rejected the router\'s gateway key.', 'api_error', 'upstream_auth_failed'), upstreamHeaders(response));
    return;
  }
  res.json(status, normalized, upstreamHeaders(response));
}

function failureClass(err: unknown): 'timeout' | 'unreachable' {
  return err instanceof UpstreamTimeoutError ? 'timeout' : 'unreachable';
}

function upstreamFailureBody(err: unknown): OpenAiErrorBody {
  return err instanceof UpstreamTimeoutError
    ? errorBody(`The LLM Gateway timed out: ${err.message}.`, 'api_error', 'upstream_timeout')
    : errorBody(`The LLM Gateway could not be reached: ${(err as Error).message}.`, 'api_error', 'upstream_unreachable');
}

function upstreamHeaders(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && PASSTHROUGH_HEADER.test(name)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function listModels(config: RouterConfig) {
  return {
    object: 'list',
    data: config.allowedModels.map((id) => ({ id, object: 'model', created: 0, owned_by: providerOf(id)?.id ?? 'unknown' })),
  };
}

function methodNotAllowed(res: Response, fields: RequestLogFields, allow: string): void {
  refuse(res, fields, reject(405, 'method_not_allowed', `Method ${fields.method} is not allowed on ${fields.route}; use ${allow}.`, 'method_not_allowed'), { allow });
}

function refuse(
  res: Response,
  fields: RequestLogFields,
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

/**
 * The HTTP side of Lambda response streaming: the status and headers go out
 * as the prelude (`awslambda.HttpResponseStream.from`), the body follows.
 */
class Response {
  status = 500;
  stream: Writable | undefined;

  constructor(readonly raw: Writable, public region: RequestLogFields['region']) {}

  get started(): boolean {
    return this.stream !== undefined;
  }

  start(status: number, headers: Record<string, string>): void {
    this.status = status;
    this.stream = awslambda.HttpResponseStream.from(this.raw, {
      statusCode: status,
      headers: { ...headers, 'x-llm-gateway-region': this.region },
    });
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.start(status, { ...headers, 'content-type': 'application/json' });
    this.stream!.write(JSON.stringify(body));
    this.end();
  }

  end(): void {
    if (!this.stream) this.start(this.status, {});
    if (!this.stream!.writableEnded) this.stream!.end();
  }
}
