import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { asUpstreamError, UpstreamTimeoutError, UpstreamUnreachableError } from './upstream';

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
}

/** Usage in either spelling the gateway has used: input/output or prompt/completion tokens. */
export function readUsage(payload: unknown): TokenUsage {
  const usage = (payload as { usage?: Record<string, unknown> } | undefined)?.usage;
  if (!usage || typeof usage !== 'object') return {};
  return {
    inputTokens: numberOr(usage.input_tokens, usage.prompt_tokens),
    outputTokens: numberOr(usage.output_tokens, usage.completion_tokens),
  };
}

function numberOr(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && Number.isFinite(a)) return a;
  if (typeof b === 'number' && Number.isFinite(b)) return b;
  return undefined;
}

export interface PipeResult {
  firstChunkAt?: number;
  usage: TokenUsage;
  clientAborted: boolean;
}

/** The tail kept to find the usage chunk, which the gateway sends last. */
const USAGE_TAIL_BYTES = 16 * 1024;

/**
 * Forwards an upstream SSE body chunk by chunk, writing each chunk the moment
 * it arrives: nothing is buffered but a short tail used to read usage.
 * Aborts the upstream when the caller goes away, and fails with a timeout
 * when the upstream is silent for longer than `idleTimeoutMs`.
 */
export function pipeSse(upstream: IncomingMessage, out: Writable, idleTimeoutMs: number, abortUpstream: () => void): Promise<PipeResult> {
  return new Promise((resolve, reject) => {
    const result: PipeResult = { usage: {}, clientAborted: false };
    let tail = '';
    // Why we cut the stream, when we did ('aborted' follows and must not hide it).
    let cause: Error | undefined;
    let idle = setTimeout(onIdle, idleTimeoutMs);
    function onIdle() {
      cause ??= new UpstreamTimeoutError(`the LLM Gateway stream was idle for ${idleTimeoutMs} ms`);
      upstream.destroy(cause);
    }
    const onClientGone = () => {
      if (upstream.complete) return;
      result.clientAborted = true;
      abortUpstream();
      finish();
    };
    out.once('close', onClientGone);
    out.once('error', onClientGone);

    let done = false;
    function finish(err?: Error) {
      if (done) return;
      done = true;
      clearTimeout(idle);
      out.off('close', onClientGone);
      out.off('error', onClientGone);
      if (err) {
        reject(cause ?? err);
      } else {
        result.usage = usageFromSseTail(tail);
        resolve(result);
      }
    }

    upstream.on('data', (chunk: Buffer) => {
      clearTimeout(idle);
      idle = setTimeout(onIdle, idleTimeoutMs);
      result.firstChunkAt ??= performance.now();
      // Respect a slow client: stop reading upstream until the chunk is out,
      // so a long stream never piles up in the function's memory.
      // The wait is the client's, not the upstream's: no idle timer meanwhile.
      if (!out.write(chunk)) {
        clearTimeout(idle);
        upstream.pause();
        out.once('drain', () => {
          if (done) return;
          idle = setTimeout(onIdle, idleTimeoutMs);
          upstream.resume();
        });
      }
      tail = (tail + chunk.toString('utf8')).slice(-USAGE_TAIL_BYTES);
    });
    upstream.once('end', () => finish());
    upstream.once('error', (err) => finish(asUpstreamError(err)));
    upstream.once('aborted', () => finish(new UpstreamUnreachableError('the LLM Gateway closed the stream mid-answer')));
  });
}

/** Usage from the last `data:` event that carries one. */
export function usageFromSseTail(tail: string): TokenUsage {
  const lines = tail.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith('data:') || !line.includes('"usage"')) continue;
    try {
      const usage = readUsage(JSON.parse(line.slice(5)));
      if (usage.inputTokens !== undefined || usage.outputTokens !== undefined) return usage;
    } catch {
      // a truncated line at the start of the tail: keep looking
    }
  }
  return {};
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
