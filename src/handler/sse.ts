import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { StreamWindow } from './guardrail/stream-window';
import type { KeyRedactor } from './redact';
import { asCutError, InvocationDeadlineError, UpstreamCutError, UpstreamInvalidResponseError, UpstreamTimeoutError } from './upstream';
import { readUsage, UsageReading } from './usage';

/** What the end of a stream says about the answer: its usage, and the model that answered. */
export interface StreamAnswer {
  usage: UsageReading;
  model?: string;
}

export interface PipeResult {
  firstChunkAt?: number;
  answer: StreamAnswer;
  clientAborted: boolean;
  /** The guardrail ended the stream: the caller got its error event and `[DONE]`, the upstream was closed. */
  guardrailStopped?: boolean;
}

export interface PipeOptions {
  /**
   * Starts the caller's response and returns its body: called once the first
   * line shows that the upstream speaks SSE, so that anything else can still
   * be answered with a status of its own.
   */
  readonly open: () => Writable;
  /** The upstream may be silent for this long. */
  readonly idleTimeoutMs: number;
  /** Epoch ms by which the stream must be over: then it is cut with an `InvocationDeadlineError`. */
  readonly deadline: number;
  readonly redactor: KeyRedactor;
  readonly abortUpstream: () => void;
  /**
   * The guardrail's window: lines that carry text are held until it has
   * checked them. Without one, lines go out as they arrive.
   */
  readonly window?: StreamWindow;
}

/** The tail kept to find the usage chunk, which the gateway sends last. */
const USAGE_TAIL_BYTES = 16 * 1024;
/** A line longer than this is relayed in pieces (holding back enough to redact a key split across them). */
const MAX_LINE_CHARS = 64 * 1024;
/**
 * Under a guardrail a line is checked whole, so it is held whole: one
 * longer than this is refused rather than buffered without end.
 */
const MAX_CHECKED_LINE_CHARS = 4 * 1024 * 1024;
/** The first line of an event stream: an SSE field (`data`, `event`, `id`, `retry`) or a comment. */
const SSE_LINE = /^(:|(data|event|id|retry)(:|\r?$))/;
const DATA_LINE = /(^|\n)data:/;

/**
 * Forwards an upstream SSE body as it arrives, complete line by complete
 * line (SSE events are lines, so a key is never split across two writes and
 * the redaction is exact); only a partial line and a short tail used to read
 * usage are held. Aborts the upstream when the caller goes away; fails with
 * a timeout when the upstream is silent for longer than `idleTimeoutMs`,
 * with `InvocationDeadlineError` at the deadline, and with
 * `UpstreamInvalidResponseError` when the body is not an event stream or
 * carries no `data:` event.
 */
export function pipeSse(upstream: IncomingMessage, options: PipeOptions): Promise<PipeResult> {
  const { idleTimeoutMs, redactor } = options;
  return new Promise((resolve, reject) => {
    const result: PipeResult = { answer: { usage: { status: 'missing' } }, clientAborted: false };
    const decoder = new StringDecoder('utf8');
    let out: Writable | undefined;
    let pending = '';
    let sawData = false;
    let tail = '';
    // Why we cut the stream, when we did ('aborted' follows and must not hide it).
    let cause: Error | undefined;
    const cut = (err: Error) => {
      cause ??= err;
      upstream.destroy(cause);
    };
    const onIdle = () => cut(new UpstreamTimeoutError(`the LLM Gateway stream was idle for ${idleTimeoutMs} ms`));
    let idle = setTimeout(onIdle, idleTimeoutMs);
    const untilDeadline = options.deadline - Date.now();
    const deadline = Number.isFinite(untilDeadline)
      ? setTimeout(() => cut(new InvocationDeadlineError('the stream did not finish before the router\'s function deadline')), Math.max(0, untilDeadline))
      : undefined;
    const onClientGone = () => {
      if (upstream.complete) return;
      result.clientAborted = true;
      options.abortUpstream();
      finish();
    };

    let done = false;
    function finish(err?: Error) {
      if (done) return;
      done = true;
      clearTimeout(idle);
      clearTimeout(deadline);
      out?.off('close', onClientGone);
      out?.off('error', onClientGone);
      if (err) {
        reject(cause ?? err);
      } else if (!sawData) {
        reject(new UpstreamInvalidResponseError('the LLM Gateway stream carried no data: events'));
      } else {
        result.answer = answerFromSseTail(tail);
        resolve(result);
      }
    }

    /** Starts the caller's response on the first non-blank line, if it is SSE. */
    function opened(text: string): boolean {
      if (out) return true;
      const first = text.split('\n').find((line) => line.trim().length > 0);
      if (first === undefined) return false;
      if (!SSE_LINE.test(first)) {
        cut(new UpstreamInvalidResponseError('the LLM Gateway stream is not server-sent events'));
        return false;
      }
      out = options.open();
      out.once('close', onClientGone);
      out.once('error', onClientGone);
      return true;
    }

    /** The guardrail check in progress: the upstream is paused meanwhile, and the end waits for it. */
    let checking: Promise<void> | undefined;

    function relay(text: string) {
      sawData ||= DATA_LINE.test(text);
      const safe = redactor.text(text);
      const window = options.window;
      if (!window) {
        emit(safe);
        return;
      }
      emit(window.push(safe));
      if (window.due) void runCheck();
    }

    /**
     * Checks the window's text with the upstream paused (and its idle timer
     * off: the wait is the guardrail's), one check at a time; a window that
     * filled meanwhile is checked next.
     */
    function runCheck(): Promise<void> {
      if (checking) return checking;
      clearTimeout(idle);
      upstream.pause();
      checking = options.window!.check().then((release) => {
        checking = undefined;
        if (done) return;
        emit(release.text);
        if (release.stop) {
          // The caller has its error event and [DONE]: the rest of the answer is not wanted.
          result.guardrailStopped = true;
          finish();
          upstream.destroy();
          return;
        }
        if (options.window!.due) {
          void runCheck();
          return;
        }
        // A slow caller: `drain` resumes the upstream (emit arranged it).
        if (out!.writableNeedDrain) return;
        clearTimeout(idle);
        idle = setTimeout(onIdle, idleTimeoutMs);
        upstream.resume();
      }, (err: unknown) => {
        checking = undefined;
        finish(err as Error);
        upstream.destroy();
      });
      return checking;
    }

    function emit(safe: string) {
      if (safe.length === 0) return;
      result.firstChunkAt ??= performance.now();
      tail = (tail + safe).slice(-USAGE_TAIL_BYTES);
      // Respect a slow client: stop reading upstream until the text is out,
      // so a long stream never piles up in the function's memory.
      // The wait is the client's, not the upstream's: no idle timer meanwhile.
      if (!out!.write(safe)) {
        clearTimeout(idle);
        upstream.pause();
        out!.once('drain', () => {
          // A guardrail check under way resumes the upstream itself when it is done.
          if (done || checking) return;
          // Several writes may wait on one drain: each listener restarts the one timer, never adds one.
          clearTimeout(idle);
          idle = setTimeout(onIdle, idleTimeoutMs);
          upstream.resume();
        });
      }
    }

    upstream.on('data', (chunk: Buffer) => {
      if (done || cause) return;
      clearTimeout(idle);
      idle = setTimeout(onIdle, idleTimeoutMs);
      const text = pending + decoder.write(chunk);
      const lineEnd = text.lastIndexOf('\n') + 1;
      if (lineEnd > 0 && opened(text.slice(0, lineEnd))) {
        relay(text.slice(0, lineEnd));
        pending = text.slice(lineEnd);
      } else {
        pending = text;
      }
      if (options.window && pending.length > MAX_CHECKED_LINE_CHARS) {
        cut(new UpstreamInvalidResponseError(`the LLM Gateway stream has a line over ${MAX_CHECKED_LINE_CHARS} characters, too long to check`));
        return;
      }
      if (pending.length > MAX_LINE_CHARS && !options.window) {
        // A first line this long is judged by its start.
        if (!opened(pending)) {
          cut(new UpstreamInvalidResponseError('the LLM Gateway stream is not server-sent events'));
          return;
        }
        // Redact first, then keep back what could be the start of a key.
        sawData ||= DATA_LINE.test(pending);
        const safe = redactor.text(pending);
        const keep = Math.max(0, redactor.longest - 1);
        emit(safe.slice(0, safe.length - keep));
        pending = safe.slice(safe.length - keep);
      }
    });
    upstream.once('end', () => {
      const rest = pending + decoder.end();
      pending = '';
      if (rest.length > 0 && opened(rest) && !cause) relay(rest);
      if (options.window && !cause && !done) {
        // What is still held is checked at the end, after any check under way.
        void (async () => {
          while (checking) await checking;
          if (!done) await runCheck();
          finish();
        })();
        return;
      }
      finish(cause);
    });
    upstream.once('error', (err) => finish(asCutError(err)));
    upstream.once('aborted', () => finish(new UpstreamCutError('the LLM Gateway closed the stream mid-answer')));
  });
}

/**
 * The answer's usage, from the last `data:` event that carries a `usage`
 * (the gateway sends it last), and the model named by the last event that
 * names one. A truncated line at the start of the tail is skipped.
 */
export function answerFromSseTail(tail: string): StreamAnswer {
  const answer: StreamAnswer = { usage: { status: 'missing' } };
  const lines = tail.split('\n');
  let usageFound = false;
  for (let i = lines.length - 1; i >= 0 && (!usageFound || answer.model === undefined); i--) {
    const line = lines[i].trim();
    if (!line.startsWith('data:')) continue;
    let event: unknown;
    try {
      event = JSON.parse(line.slice(5));
    } catch {
      continue;
    }
    if (typeof event !== 'object' || event === null) continue;
    const e = event as { model?: unknown; usage?: unknown };
    if (answer.model === undefined && typeof e.model === 'string' && e.model !== '') answer.model = e.model;
    if (!usageFound && e.usage !== undefined && e.usage !== null) {
      answer.usage = readUsage(event);
      usageFound = true;
    }
  }
  return answer;
}

interface Completion {
  id?: string;
  created?: number;
  model?: string;
  request_id?: string;
  choices?: Array<{
    index?: number;
    finish_reason?: string | null;
    message?: { role?: string; content?: unknown; tool_calls?: Array<Record<string, unknown>>; [k: string]: unknown };
  }>;
  usage?: unknown;
}

/**
 * Turns a complete (non-streamed) chat completion into the SSE events an
 * OpenAI client expects from `stream: true`: one content chunk per choice,
 * a final chunk with `finish_reason` and usage, then `data: [DONE]`.
 */
export function completionToSse(completion: Completion, fallbackModel: string): string {
  const id = completion.id ?? completion.request_id ?? 'chatcmpl-router';
  const created = completion.created ?? Math.floor(Date.now() / 1000);
  const model = completion.model ?? fallbackModel;
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;

  let out = '';
  const choices = completion.choices ?? [];
  for (const [i, choice] of choices.entries()) {
    const index = choice.index ?? i;
    const message = choice.message ?? {};
    const delta: Record<string, unknown> = { role: message.role ?? 'assistant' };
    if (message.content !== undefined) delta.content = message.content;
    if (Array.isArray(message.tool_calls)) {
      delta.tool_calls = message.tool_calls.map((call, n) => ({ index: n, ...call }));
    }
    out += frame([{ index, delta, finish_reason: null }]);
  }
  const finals = choices.map((choice, i) => ({ index: choice.index ?? i, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }));
  out += frame(finals, completion.usage !== undefined ? { usage: completion.usage } : {});
  out += 'data: [DONE]\n\n';
  return out;
}
