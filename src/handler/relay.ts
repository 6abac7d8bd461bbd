import type { IncomingMessage } from 'node:http';
import { errorBody, normalizeUpstreamError, OpenAiErrorBody } from './errors';
import type { Forward } from './policy';
import type { RequestContext } from './request-context';
import { completionToSse, pipeSse, readUsage } from './sse';
import { readBody, sendWithRetries, UpstreamCancellation, UpstreamTimeoutError, UpstreamUnreachableError } from './upstream';

/** Upstream answers larger than this are refused rather than buffered. */
const MAX_UPSTREAM_BODY_BYTES = 10 * 1024 * 1024;
/** Time kept back from the Lambda deadline to answer the caller after an upstream timeout. */
const DEADLINE_MARGIN_MS = 1_000;
/** Upstream response headers worth passing to the caller (rate-limit feedback). */
const PASSTHROUGH_HEADER = /^(x-ratelimit-|retry-after$)/;

/** A request on its way upstream: the policy's decision and the time it has left. */
interface Relay extends RequestContext {
  readonly decision: Forward;
  /** Epoch ms by which the upstream must have answered. */
  readonly deadline: number;
}

/**
 * Sends an admitted request to the LLM Gateway and relays the answer (a
 * stream, a completion or an error) to the caller, filling in the request's
 * upstream fields on the way.
 */
export async function proxy(ctx: RequestContext, decision: Forward): Promise<void> {
  const { router: { config }, context, res, fields } = ctx;
  const upstreamStarted = performance.now();
  const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY;
  const relay: Relay = { ...ctx, decision, deadline: Date.now() + Math.min(config.upstreamTimeoutMs, remaining - DEADLINE_MARGIN_MS) };
  const cancellation = new UpstreamCancellation();
  const onClientGone = () => cancellation.cancel();
  res.raw.once('close', onClientGone);

  try {
    const send = (apiKey: string) => sendWithRetries({
      url: config.completionsUrl,
      apiKey,
      body: decision.upstreamBody,
      stream: decision.upstreamStream,
      deadline: relay.deadline,
      cancellation,
      egressProxy: config.egressProxy,
    });
    let { response, attempts } = await send(await ctx.router.keys.get());
    if (response.statusCode === 401) {
      // The key may have been rotated since we cached it: read it again, once.
      response.resume();
      const retry = await send(await ctx.router.keys.refresh());
      response = retry.response;
      attempts += retry.attempts;
    }
    fields.upstreamAttempts = attempts;
    const status = response.statusCode ?? 502;

    if (status >= 400) {
      await passUpstreamError(relay, response, status);
    } else if (decision.upstreamStream) {
      res.start(status, { ...upstreamHeaders(response), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      try {
        const piped = await pipeSse(response, res.stream!, config.upstreamTimeoutMs, () => cancellation.cancel());
        if (piped.firstChunkAt !== undefined) fields.timeToFirstTokenMs = piped.firstChunkAt - ctx.started;
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
      await passCompletion(relay, response, status);
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

async function passCompletion({ decision, deadline, res, fields, started }: Relay, response: IncomingMessage, status: number): Promise<void> {
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

async function passUpstreamError({ deadline, res, fields }: Relay, response: IncomingMessage, status: number): Promise<void> {
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
