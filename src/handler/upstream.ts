import * as http from 'node:http';
import { agentFor, TunnelLimits } from './egress';
import { ClientGoneError, UpstreamCutError, UpstreamTimeoutError, UpstreamTooLargeError, UpstreamUnreachableError } from './upstream-errors';

export {
  ClientGoneError, InvocationDeadlineError, UpstreamCutError, UpstreamInvalidResponseError,
  UpstreamTimeoutError, UpstreamTooLargeError, UpstreamUnreachableError,
} from './upstream-errors';

export interface UpstreamRequest {
  /** The chat-completions URL (the configured endpoint's, resolved once). */
  readonly url: URL;
  readonly apiKey: string;
  readonly body: string;
  readonly stream: boolean;
  /** Epoch ms by which response headers must have arrived. */
  readonly deadline: number;
  readonly exchange: UpstreamExchange;
  /** The HTTP forward proxy to tunnel through (egressProxy). @default a direct connection */
  readonly egressProxy?: URL;
}

/**
 * One request's exchange with the upstream, over all its attempts: stops the
 * attempt in flight when the caller goes away, and knows whether the gateway
 * may have received a request it never answered (what billing needs to know
 * when the exchange fails). A plain handle rather than an `AbortSignal`:
 * Node.js wires a signal into every `ClientRequest` through `EventTarget`
 * listeners, a measurable share of the router's work per request
 * (BENCHMARKS.md, "Changes made").
 */
export class UpstreamExchange {
  private inFlight: http.ClientRequest | undefined;
  private cancelled = false;
  private unanswered = 0;
  private readonly cancelHooks = new Set<() => void>();

  get isCancelled(): boolean {
    return this.cancelled;
  }

  /**
   * Whether a whole request went out on some attempt that got no answer (no
   * status line): the gateway may then have processed, and billed, it.
   */
  get maybeReceived(): boolean {
    return this.unanswered > 0;
  }

  /** Destroys the request in flight (and with it its response); later attempts are not made. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    // A request whose response already ended is destroyed already: this is then a no-op.
    this.inFlight?.destroy(new ClientGoneError());
    for (const stop of this.cancelHooks) stop();
    this.cancelHooks.clear();
  }

  /** Runs `stop` if the exchange is cancelled (at once if it is already); returns a function that unregisters it. */
  onCancel(stop: () => void): () => void {
    if (this.cancelled) {
      stop();
      return () => undefined;
    }
    this.cancelHooks.add(stop);
    return () => this.cancelHooks.delete(stop);
  }

  track(request: http.ClientRequest): void {
    this.inFlight = request;
    // 'finish': the whole body was handed to a connected socket (never for a refused connection).
    // A status line, even one sent before the body was read, answers the attempt.
    let sent = false;
    let answered = false;
    request.once('finish', () => {
      sent = true;
      if (!answered) this.unanswered++;
    });
    request.once('response', () => {
      answered = true;
      if (sent) this.unanswered--;
    });
  }
}

/** A socket or stream error as one of the two upstream failures: our own timeout, or unreachable. */
export function asUpstreamError(err: Error): UpstreamTimeoutError | UpstreamUnreachableError {
  return err instanceof UpstreamTimeoutError || err instanceof UpstreamUnreachableError ? err : new UpstreamUnreachableError(err.message);
}

/** An error of a response whose headers had arrived: the answer was cut, unless we cut it ourselves for a reason of our own. */
export function asCutError(err: Error): UpstreamTimeoutError | UpstreamUnreachableError {
  return err instanceof UpstreamTimeoutError || err instanceof UpstreamUnreachableError ? err : new UpstreamCutError(err.message);
}

/** Sends one request and resolves with the response once its headers are in. */
export function sendOnce(req: UpstreamRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const url = req.url;
    const payload = Buffer.from(req.body, 'utf8');
    const remaining = req.deadline - Date.now();
    if (req.exchange.isCancelled) {
      reject(new ClientGoneError());
      return;
    }
    if (remaining <= 0) {
      reject(new UpstreamTimeoutError('no time left for the upstream request'));
      return;
    }
    // The agent is the URL protocol's own (https: speaks TLS), and Node.js takes the protocol from it.
    const options: http.RequestOptions & { tunnel?: TunnelLimits } = {
      method: 'POST',
      agent: agentFor(url.protocol, req.egressProxy),
      // Read by the egress proxy's agent: opening its tunnel counts against this request's deadline, and a caller gone stops it.
      tunnel: req.egressProxy && { deadline: req.deadline, onCancel: (stop) => req.exchange.onCancel(stop) },
      // A fresh header set: the caller's credentials and cookies never travel upstream.
      headers: {
        'content-type': 'application/json',
        'content-length': payload.length,
        'accept': req.stream ? 'text/event-stream' : 'application/json',
        'authorization': req.apiKey,
        'user-agent': 'cdk-llm-gateway-router',
      },
    };
    const clientRequest = http.request(url, options);
    req.exchange.track(clientRequest);
    const timer = setTimeout(() => {
      clientRequest.destroy(new UpstreamTimeoutError(`the LLM Gateway did not answer within ${remaining} ms`));
    }, remaining);
    clientRequest.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    clientRequest.once('error', (err) => {
      clearTimeout(timer);
      reject(asUpstreamError(err));
    });
    clientRequest.end(payload);
  });
}

/** Reads a whole response body, failing with a timeout past the deadline. */
export function readBody(res: http.IncomingMessage, deadline: number, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Why we cut the response short, when we did: destroying it also emits
    // 'aborted', which must not hide the real cause.
    let cause: Error | undefined;
    const cut = (err: Error) => {
      cause ??= err;
      res.destroy(err);
    };
    const timer = setTimeout(() => cut(new UpstreamTimeoutError('the LLM Gateway did not finish its answer in time')), Math.max(0, deadline - Date.now()));
    const fail = (fallback: Error) => {
      clearTimeout(timer);
      reject(cause ?? fallback);
    };
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        cut(new UpstreamTooLargeError(`the LLM Gateway answer exceeded ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    res.once('error', (err) => fail(asCutError(err)));
    res.once('aborted', () => fail(new UpstreamCutError('the LLM Gateway closed the connection mid-answer')));
  });
}

/** Statuses worth another attempt: nothing was processed, or the gateway asked us to wait. */
const RETRYABLE_STATUS = new Set([429, 502, 503]);
export const MAX_RETRIES = 2;
const BASE_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export interface AttemptResult {
  readonly response: http.IncomingMessage;
  readonly attempts: number;
}

/**
 * Sends the request with at most two retries, for connection failures and
 * 429/502/503 (honouring `Retry-After`), and only while the wait still fits
 * before the deadline. Retries happen before any byte reaches the caller.
 */
export async function sendWithRetries(req: UpstreamRequest, sleep = delay): Promise<AttemptResult> {
  let attempts = 0;
  for (;;) {
    attempts++;
    let waitMs: number;
    try {
      const response = await sendOnce(req);
      if (!RETRYABLE_STATUS.has(response.statusCode ?? 0) || attempts > MAX_RETRIES) {
        return { response, attempts };
      }
      waitMs = retryAfterMs(response.headers['retry-after']) ?? backoff(attempts);
      if (Date.now() + waitMs >= req.deadline) return { response, attempts };
      response.resume(); // drain so the socket returns to the pool
    } catch (err) {
      if (err instanceof UpstreamUnreachableError || err instanceof UpstreamTimeoutError) err.attempts = attempts;
      if (!(err instanceof UpstreamUnreachableError) || attempts > MAX_RETRIES || req.exchange.isCancelled) throw err;
      waitMs = backoff(attempts);
      if (Date.now() + waitMs >= req.deadline) throw err;
    }
    await sleep(waitMs); // sendOnce refuses to start if the caller went away meanwhile
  }
}

function backoff(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempt - 1));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
