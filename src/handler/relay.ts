import type { IncomingMessage } from 'node:http';
import { errorBody, normalizeUpstreamError, OpenAiErrorBody } from './errors';
import type { AnswerGuard } from './guardrail/guard';
import type { UpstreamErrorClass } from './metrics';
import type { Forward } from './policy';
import { KeyRedactor } from './redact';
import type { RequestContext } from './request-context';
import { MaybeBilledCause, NEVER_SENT, Settlement } from './settlement';
import { completionToSse, pipeSse } from './sse';
import {
  InvocationDeadlineError,
  readBody,
  sendWithRetries,
  UpstreamCutError,
  UpstreamExchange,
  UpstreamInvalidResponseError,
  UpstreamTimeoutError,
  UpstreamTooLargeError,
  UpstreamUnreachableError,
} from './upstream';
import { readUsage, UsageReading } from './usage';

/** Upstream answers larger than this are refused rather than buffered. */
const MAX_UPSTREAM_BODY_BYTES = 10 * 1024 * 1024;
/** Time kept back from the Lambda deadline to answer the caller (an upstream timeout, or a stream cut short). */
const DEADLINE_MARGIN_MS = 1_000;
/** Upstream response headers worth passing to the caller (rate-limit feedback). */
const PASSTHROUGH_HEADER = /^(x-ratelimit-|retry-after$)/;

/** Upstream statuses a client retry cannot fix: the same request would be refused again. */
const NO_RETRY_STATUS = new Set([400, 401, 403, 404, 422]);
/** Tells the OpenAI SDKs not to retry (they honour it before their own status rules). */
const NO_RETRY = Object.freeze({ 'x-should-retry': 'false' });

/** A request on its way upstream: the policy's decision and the time it has left. */
interface Relay extends RequestContext {
  readonly decision: Forward;
  /** Epoch ms by which the upstream must have answered. */
  readonly deadline: number;
  /** Epoch ms by which a stream must be over: the function's own deadline less a margin to say so. */
  readonly streamDeadline: number;
  readonly redactor: KeyRedactor;
  readonly attempts: number;
  readonly exchange: UpstreamExchange;
  /** Checks the answer before the caller sees it. */
  readonly guard?: AnswerGuard;
}

/**
 * Sends an admitted request to the LLM Gateway and relays the answer (a
 * stream, a completion or an error) to the caller, filling in the request's
 * upstream fields on the way. Resolves with how the request ended for
 * billing; a router fault is thrown, and `exchange` then tells whether the
 * gateway may have received the request.
 */
export async function proxy(
  ctx: RequestContext, decision: Forward, exchange: UpstreamExchange = new UpstreamExchange(), guard?: AnswerGuard,
): Promise<Settlement> {
  const { router: { config, keys }, context, res, fields } = ctx;
  const upstreamStarted = performance.now();
  const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY;
  const streamDeadline = Date.now() + remaining - DEADLINE_MARGIN_MS;
  const deadline = Math.min(Date.now() + config.upstreamTimeoutMs, streamDeadline);
  const onClientGone = () => exchange.cancel();
  // A caller that hung up before we got here (while the request was being admitted) is gone already.
  if (res.raw.destroyed) exchange.cancel();
  else res.raw.once('close', onClientGone);
  /** The answer's status, once its headers are in: a failure after that is of an answer the gateway gave. */
  let answerStatus: number | undefined;

  try {
    const send = (apiKey: string) => sendWithRetries({
      url: decision.url ?? config.completionsUrl,
      apiKey,
      body: decision.upstreamBody,
      stream: decision.upstreamStream,
      deadline,
      exchange,
      egressProxy: config.egressProxy,
    });
    const key = await keys.get();
    const usedKeys = [key];
    let { response, attempts } = await send(key);
    if (response.statusCode === 401) {
      // The key may have been rotated since we cached it: retry once with a
      // newer one, if the cache has one (it refuses to re-read too often).
      const fresh = await keys.refresh(key);
      if (fresh !== key) {
        response.resume();
        usedKeys.push(fresh);
        const retry = await send(fresh);
        response = retry.response;
        attempts += retry.attempts;
      }
    }
    fields.upstreamAttempts = attempts;
    const relay: Relay = { ...ctx, decision, deadline, streamDeadline, redactor: new KeyRedactor(usedKeys), attempts, exchange, guard };
    const status = response.statusCode ?? 502;
    fields.upstreamStatus = status;
    answerStatus = status;

    if (status >= 400) {
      await passUpstreamError(relay, response, status);
      // The gateway refused it; unless an earlier attempt went unanswered, nothing was billed.
      return exchange.maybeReceived ? { kind: 'maybe_billed', cause: 'cut' } : { kind: 'refused_upstream', status };
    }
    return decision.upstreamStream && isEventStream(response)
      ? await passStream(relay, response, status)
      // A JSON answer to a stream request: some models ignore `stream: true` (the gateway's troubleshooting page).
      : await passCompletion(relay, response, status);
  } catch (err) {
    const settlement = settlementOfFailure(err, answerStatus, exchange);
    if (exchange.isCancelled) {
      fields.clientAborted = true;
      res.end();
      return settlement;
    }
    const failure = failureOf(err, fields.requestId);
    if (!failure) throw err;
    // The caller gets the class of failure; the socket error (host, address, port) goes to the log.
    fields.errorDetail = (err as Error).message;
    fields.upstreamError = failure.errorClass;
    const attempts = (err as { attempts?: unknown }).attempts;
    if (typeof attempts === 'number') fields.upstreamAttempts = attempts;
    if (!res.started) {
      res.json(failure.status, failure.body, typeof attempts === 'number' && attempts > 1 ? NO_RETRY : {});
    } else {
      // Headers are gone already: tell the client in-band and close the stream.
      res.stream!.write(`data: ${JSON.stringify(failure.body)}\n\n`);
      res.end();
    }
    return settlement;
  } finally {
    // Until the answer was fully relayed, or until the upstream failed.
    fields.upstreamLatencyMs = performance.now() - upstreamStarted;
    res.raw.off('close', onClientGone);
  }
}

async function passStream(relay: Relay, response: IncomingMessage, status: number): Promise<Settlement> {
  const { res, fields, started, redactor, router, streamDeadline, exchange, guard } = relay;
  const piped = await pipeSse(response, {
    open: () => {
      res.start(status, { ...redactor.headers(upstreamHeaders(response)), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      return res.stream!;
    },
    idleTimeoutMs: router.config.upstreamTimeoutMs,
    deadline: streamDeadline,
    redactor,
    abortUpstream: () => exchange.cancel(),
    window: guard?.guardrails.streamWindow(relay, guard.spec),
  });
  if (piped.firstChunkAt !== undefined) fields.timeToFirstTokenMs = piped.firstChunkAt - started;
  fields.clientAborted = piped.clientAborted || undefined;
  res.end();
  // Closed before its usage event: the gateway went on generating for a while, or not.
  if (piped.guardrailStopped) return { kind: 'maybe_billed', cause: 'guardrail' };
  const answered = settlementOfAnswer(fields, piped.answer.usage, piped.answer.model);
  // A caller gone before the usage event: the gateway went on (or not) without us.
  return piped.clientAborted && answered.kind !== 'answered' ? { kind: 'maybe_billed', cause: 'client_aborted' } : answered;
}

async function passCompletion(relay: Relay, response: IncomingMessage, status: number): Promise<Settlement> {
  const { decision, deadline, res, fields, started, redactor, guard } = relay;
  let body = redactor.buffer(await readBody(response, deadline, MAX_UPSTREAM_BODY_BYTES));
  let completion: unknown;
  try {
    completion = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamInvalidResponseError(`the LLM Gateway answered HTTP ${status} with ${body.length === 0 ? 'an empty body' : 'a body that is not JSON'}`);
  }
  const upstreamId = (completion as { request_id?: unknown; id?: unknown; model?: unknown } | null);
  if (typeof upstreamId?.request_id === 'string') fields.upstreamRequestId = upstreamId.request_id;
  const headers = redactor.headers(upstreamHeaders(response));
  const model = typeof upstreamId?.model === 'string' && upstreamId.model !== '' ? upstreamId.model : undefined;
  const usage = readUsage(completion);

  if (guard) {
    // Checked (and masked in place) before a byte of it goes out; a blocked answer was still billed.
    const checked = await guard.guardrails.checkAnswer(relay, guard.spec, completion);
    if (typeof checked === 'object') {
      fields.rejectReason = checked.reason;
      res.json(checked.status, checked.body, { ...headers, ...checked.headers });
      return settlementOfAnswer(fields, usage, model);
    }
    if (checked === 'masked') body = Buffer.from(JSON.stringify(completion));
  }

  if (decision.stream) {
    // The caller asked for a stream the upstream did not give (not offered for the model, or
    // `stream: true` ignored): only a real completion can be turned into one.
    if (!isChatCompletion(completion)) {
      throw new UpstreamInvalidResponseError(`the LLM Gateway answered HTTP ${status} with JSON that is not a chat completion`);
    }
    res.start(status, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    fields.timeToFirstTokenMs = performance.now() - started;
    res.stream!.write(redactor.text(completionToSse(completion, decision.model)));
    res.end();
  } else {
    // Pass the upstream's bytes through untouched (but for the key).
    res.start(status, { ...headers, 'content-type': 'application/json' });
    res.stream!.write(body);
    res.end();
  }
  return settlementOfAnswer(fields, usage, model);
}

/** An answer's settlement from its usage report; the usage fields of the log and metrics are filled in from a valid one. */
function settlementOfAnswer(fields: Relay['fields'], usage: UsageReading, model: string | undefined): Settlement {
  if (model !== undefined) fields.answeredModel = model;
  if (usage.status !== 'ok') {
    if (usage.status === 'invalid') fields.usageInvalid = true;
    return { kind: 'answered_without_usage', usage: usage.status, model };
  }
  fields.inputTokens = usage.usage.inputTokens;
  fields.outputTokens = usage.usage.outputTokens;
  if (usage.usage.cachedInputTokens > 0) fields.cachedInputTokens = usage.usage.cachedInputTokens;
  return { kind: 'answered', usage: usage.usage, model };
}

/**
 * How a failed exchange ended for billing: before any answer, billed only if
 * the gateway may have received the request; once an answer had begun (its
 * status known), whatever went wrong, it may have been billed.
 */
function settlementOfFailure(err: unknown, answerStatus: number | undefined, exchange: UpstreamExchange): Settlement {
  // Only the caller's hang-up cancels the exchange; what the upstream then reports (most often a cut) is its doing.
  const cause = exchange.isCancelled ? 'client_aborted' : causeOf(err);
  if (answerStatus !== undefined) {
    return answerStatus >= 400 && !exchange.maybeReceived ? { kind: 'refused_upstream', status: answerStatus } : { kind: 'maybe_billed', cause };
  }
  return exchange.maybeReceived ? { kind: 'maybe_billed', cause } : NEVER_SENT;
}

function causeOf(err: unknown): Exclude<MaybeBilledCause, 'client_aborted'> {
  if (err instanceof UpstreamTimeoutError) return 'timeout';
  if (err instanceof InvocationDeadlineError) return 'deadline';
  if (err instanceof UpstreamTooLargeError) return 'too_large';
  if (err instanceof UpstreamInvalidResponseError) return 'invalid_answer';
  if (err instanceof UpstreamCutError || err instanceof UpstreamUnreachableError) return 'cut';
  return 'router_fault';
}

function isEventStream(response: IncomingMessage): boolean {
  return /^text\/event-stream\b/i.test(String(response.headers['content-type'] ?? ''));
}

async function passUpstreamError({ deadline, res, fields, redactor, attempts }: Relay, response: IncomingMessage, status: number): Promise<void> {
  const body = await readBody(response, deadline, MAX_UPSTREAM_BODY_BYTES);
  fields.upstreamError = status >= 500 ? '5xx' : '4xx';
  const headers = redactor.headers(upstreamHeaders(response));
  // The router has already retried, or the same request would fail again:
  // a client SDK retrying on top would only multiply the upstream calls.
  const noRetry = attempts > 1 || NO_RETRY_STATUS.has(status) ? NO_RETRY : {};
  if (status === 401) {
    // The caller cannot fix the router's own key: this is the router's fault.
    res.json(502, errorBody('The LLM Gateway rejected the router\'s gateway key.', 'api_error', 'upstream_auth_failed'), { ...headers, ...NO_RETRY });
    return;
  }
  const normalized = normalizeUpstreamError(status, redactor.text(body.toString('utf8')));
  const { message, type, code } = normalized.error;
  // Redacted again once parsed: a JSON escape may have spelled the key differently.
  res.json(status, errorBody(redactor.text(message), type, code === null ? null : redactor.text(code)), { ...headers, ...noRetry });
}

interface Failure {
  readonly status: number;
  readonly errorClass: UpstreamErrorClass;
  readonly body: OpenAiErrorBody;
}

/** The caller's answer and the metric class for an upstream failure; undefined for the router's own faults. */
function failureOf(err: unknown, requestId: string): Failure | undefined {
  if (err instanceof UpstreamTimeoutError) {
    return { status: 504, errorClass: 'timeout', body: errorBody(`The LLM Gateway timed out: ${err.message}.`, 'api_error', 'upstream_timeout') };
  }
  if (err instanceof UpstreamUnreachableError) {
    return { status: 502, errorClass: 'unreachable', body: errorBody(`The LLM Gateway could not be reached (request id ${requestId}).`, 'api_error', 'upstream_unreachable') };
  }
  if (err instanceof InvocationDeadlineError) {
    return { status: 504, errorClass: 'deadline', body: errorBody(`The answer was cut short: ${err.message}.`, 'api_error', 'deadline_exceeded') };
  }
  if (err instanceof UpstreamInvalidResponseError) {
    return { status: 502, errorClass: '5xx', body: errorBody(`The LLM Gateway sent an invalid answer: ${err.message}.`, 'api_error', 'upstream_invalid_response') };
  }
  return undefined;
}

/** A completion that can be turned into a stream: an object whose `choices` are objects, at least one. */
function isChatCompletion(value: unknown): value is Parameters<typeof completionToSse>[0] {
  const choices = isObject(value) ? value.choices : undefined;
  return Array.isArray(choices) && choices.length > 0 && choices.every(isObject);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function upstreamHeaders(response: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && PASSTHROUGH_HEADER.test(name)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
