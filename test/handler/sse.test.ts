/**
 * The SSE relay's own edges, called directly: what bytes the caller gets
 * and when, how a stream is refused or fails, what is read from its end
 * (model, usage), how it waits for a slow caller and for a guardrail's
 * check, and the SSE made from a JSON answer. Expected values are literals.
 */
import * as http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Writable, WritableOptions } from 'node:stream';
import { StreamWindow, WindowOutcome } from '../../src/handler/guardrail/stream-window';
import { KeyRedactor } from '../../src/handler/redact';
import { answerFromSseTail, completionToSse, pipeSse } from '../../src/handler/sse';
import { UpstreamCutError, UpstreamInvalidResponseError, UpstreamTimeoutError } from '../../src/handler/upstream';

/** The router's gateway key: 23 characters, nothing to escape in JSON. */
const KEY = 'gw-key-0123456789abcdef';

const ROLE = 'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n';
const HI = 'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n';
const THERE = 'data: {"choices":[{"index":0,"delta":{"content":" there"}}]}\n';
const USAGE = 'data: {"model":"gpt-5","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7}}\n';
const DONE = 'data: [DONE]\n';
const USAGE_READ = { status: 'ok', usage: { inputTokens: 11, outputTokens: 7, cachedInputTokens: 0, cacheWriteTokens: 0 } };

/** The relay's failure: its class (the cause the settlement reads) and its message, word for word. */
async function expectFailure(piped: Promise<unknown>, kind: new (...args: any[]) => Error, message: string): Promise<void> {
  const err = await piped.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(kind);
  expect((err as Error).message).toBe(message);
}

/** The caller's response body: what it received, and, when slow, writes it has not finished yet. */
class Caller extends Writable {
  received = '';
  private waiting: Array<() => void> = [];

  constructor(private slow = false, options: WritableOptions = {}) {
    super({ highWaterMark: slow ? 1 : 16 * 1024, ...options });
  }

  _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.received += chunk.toString('utf8');
    if (this.slow) this.waiting.push(() => done());
    else done();
  }

  /** Finishes the writes it was holding, and the ones after them at once. */
  catchUp(): void {
    this.slow = false;
    for (const done of this.waiting.splice(0)) done();
  }
}

interface RelayOptions {
  readonly caller?: Caller;
  readonly window?: StreamWindow;
  readonly idleTimeoutMs?: number;
  readonly upstream?: IncomingMessage;
}

/** Runs `pipeSse` over an upstream the test writes to, with the gateway key to redact. */
function relay(options: RelayOptions = {}) {
  const upstream = new PassThrough();
  const caller = options.caller ?? new Caller();
  const counts = { opens: 0, aborts: 0 };
  const piped = pipeSse(options.upstream ?? (upstream as unknown as IncomingMessage), {
    open: () => {
      counts.opens++;
      return caller;
    },
    idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    deadline: Number.POSITIVE_INFINITY,
    redactor: new KeyRedactor([KEY]),
    abortUpstream: () => {
      counts.aborts++;
    },
    window: options.window,
  });
  // Awaited by each test; this only keeps a rejection from being reported before it is.
  piped.catch(() => undefined);
  return { upstream, caller, piped, counts };
}

/** A guardrail whose checks the test answers, one by one. */
function guardrail() {
  const calls: Array<{ texts: readonly string[]; answer: (outcome: WindowOutcome) => void; fail: (err: Error) => void }> = [];
  const check = (texts: readonly string[]) => new Promise<WindowOutcome>((answer, fail) => calls.push({ texts, answer, fail }));
  return { calls, check };
}

/** Lets the streams' pending events run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A real gateway response (an `IncomingMessage`) whose body `answer` writes. */
async function gatewayResponse(answer: (res: http.ServerResponse) => void): Promise<{ upstream: IncomingMessage; close: () => void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, resolve).once('error', reject);
  });
  return {
    upstream,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('pipeSse', () => {
  test('relays an event stream as it came and reads the answering model and usage from its end', async () => {
    const { upstream, caller, piped, counts } = relay();
    upstream.write(ROLE);
    upstream.write(HI);
    upstream.end(USAGE + DONE);
    const result = await piped;
    expect(result).toEqual({
      firstChunkAt: expect.any(Number),
      answer: { usage: USAGE_READ, model: 'gpt-5' },
      clientAborted: false,
    });
    expect(caller.received).toBe(ROLE + HI + USAGE + DONE);
    expect(counts).toEqual({ opens: 1, aborts: 0 });
  });

  test('reads the usage when the only event of the stream carries it', async () => {
    const { upstream, piped } = relay();
    upstream.end(USAGE);
    expect((await piped).answer).toEqual({ usage: USAGE_READ, model: 'gpt-5' });
  });

  test('reads the model and usage from the last 16 KiB of the stream only', async () => {
    const { upstream, piped } = relay();
    upstream.write('data: {"model":"early-model","choices":[]}\n');
    upstream.write(`data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(20_000)}"}}]}\n`);
    upstream.end('data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7}}\n');
    expect((await piped).answer).toEqual({ usage: USAGE_READ });
  });

  test('holds a partial line until its end arrives', async () => {
    const { upstream, caller, piped } = relay();
    upstream.write(ROLE + 'data: {"choices":[{"index":0,');
    await settle();
    expect(caller.received).toBe(ROLE);
    upstream.end('"delta":{"content":"Hi"}}]}\n');
    await piped;
    expect(caller.received).toBe(ROLE + HI);
  });

  test('a first line split inside its field name is still an event stream', async () => {
    const { upstream, caller, piped, counts } = relay();
    upstream.write('da');
    await settle();
    upstream.end('ta: {"choices":[]}\n');
    await piped;
    expect(caller.received).toBe('data: {"choices":[]}\n');
    expect(counts.opens).toBe(1);
  });

  test('relays a line longer than 64 KiB before its end, holding back only what could start the key, which is still redacted', async () => {
    const { upstream, caller, piped } = relay();
    // 7 + 70000 + 10 = 70017 characters; the last 22 (the key's length less one) are held back.
    upstream.write('data: "' + 'x'.repeat(70_000) + KEY.slice(0, 10));
    await settle();
    expect(caller.received).toBe('data: "' + 'x'.repeat(69_988));
    upstream.end(KEY.slice(10) + '"\n');
    const result = await piped;
    expect(caller.received).toBe('data: "' + 'x'.repeat(70_000) + '[REDACTED]"\n');
    expect(result.answer).toEqual({ usage: { status: 'missing' } });
  });

  test('holds a partial line of exactly 64 KiB whole', async () => {
    const { upstream, caller, piped } = relay();
    const line = 'data: "' + 'x'.repeat(65_536 - 7);
    upstream.write(line);
    await settle();
    expect(caller.received).toBe('');
    upstream.end('"\n');
    await piped;
    expect(caller.received).toBe(line + '"\n');
  });

  test.each([
    ['a first line over 64 KiB that is no SSE field', 'x'.repeat(70_000)],
    ['a first line of 70000 spaces', ' '.repeat(70_000)],
  ])('refuses %s as not server-sent events', async (_what, body) => {
    const { upstream, piped, counts } = relay();
    upstream.write(body);
    await expect(piped).rejects.toThrow(new UpstreamInvalidResponseError('the LLM Gateway stream is not server-sent events'));
    expect(counts.opens).toBe(0);
  });

  test('refuses a body whose first line only starts like a field name', async () => {
    const { upstream, piped, counts } = relay();
    upstream.end('database unavailable\n');
    await expectFailure(piped, UpstreamInvalidResponseError, 'the LLM Gateway stream is not server-sent events');
    expect(counts.opens).toBe(0);
  });

  test('skips blank lines (CRLF ones too) before the first event', async () => {
    const { upstream, caller, piped } = relay();
    upstream.end('\r\n\r\ndata: {"choices":[]}\r\n\r\n');
    await piped;
    expect(caller.received).toBe('\r\n\r\ndata: {"choices":[]}\r\n\r\n');
  });

  test('waits past a first chunk of blank lines that ends in the start of a field name', async () => {
    const { upstream, caller, piped, counts } = relay();
    upstream.write('\nda');
    await settle();
    expect(counts.opens).toBe(0);
    upstream.end('ta: {"choices":[]}\n');
    await piped;
    expect(caller.received).toBe('\ndata: {"choices":[]}\n');
  });

  test('refuses a body of blank lines only as carrying no data: events, without starting the response', async () => {
    const { upstream, piped, counts } = relay();
    upstream.end('\n\n  ');
    await expect(piped).rejects.toThrow(new UpstreamInvalidResponseError('the LLM Gateway stream carried no data: events'));
    expect(counts.opens).toBe(0);
  });

  test('refuses a stream of comments and event names with no data: event', async () => {
    const { upstream, piped, counts } = relay();
    upstream.end(': ping\nevent: message\n\n');
    await expectFailure(piped, UpstreamInvalidResponseError, 'the LLM Gateway stream carried no data: events');
    expect(counts.opens).toBe(1);
  });

  test('relays a last line that has no newline', async () => {
    const { upstream, caller, piped } = relay();
    upstream.end(USAGE + 'data: [DONE]');
    const result = await piped;
    expect(caller.received).toBe(USAGE + 'data: [DONE]');
    expect(result.answer).toEqual({ usage: USAGE_READ, model: 'gpt-5' });
  });

  test('starts the response for a body that is one event without a newline', async () => {
    const { upstream, caller, piped, counts } = relay();
    upstream.end('data: [DONE]');
    await piped;
    expect(caller.received).toBe('data: [DONE]');
    expect(counts.opens).toBe(1);
  });

  test('refuses a body with no newline that is not an event stream', async () => {
    const { upstream, piped, counts } = relay();
    upstream.end('{"error":"busy"}');
    await expect(piped).rejects.toThrow(new UpstreamInvalidResponseError('the LLM Gateway stream is not server-sent events'));
    expect(counts.opens).toBe(0);
  });

  test('fails with a timeout naming the idle time when the upstream goes silent', async () => {
    const { upstream, caller, piped } = relay({ idleTimeoutMs: 20 });
    upstream.write(ROLE);
    await expectFailure(piped, UpstreamTimeoutError, 'the LLM Gateway stream was idle for 20 ms');
    expect(caller.received).toBe(ROLE);
  });

  test('after the stream failed, the caller\'s response failing and closing does not abort the upstream again', async () => {
    const { upstream, caller, piped, counts } = relay({ idleTimeoutMs: 20 });
    upstream.write(ROLE);
    await expect(piped).rejects.toThrow(UpstreamTimeoutError);
    caller.on('error', () => undefined);
    caller.destroy(new Error('write EPIPE'));
    await settle();
    expect(counts.aborts).toBe(0);
  });

  test('a caller that leaves mid-stream aborts the upstream once and the answer has no usage', async () => {
    const { upstream, caller, piped, counts } = relay();
    upstream.write(ROLE + HI);
    await settle();
    caller.destroy();
    const result = await piped;
    expect(result.clientAborted).toBe(true);
    expect(result.answer).toEqual({ usage: { status: 'missing' } });
    expect(counts.aborts).toBe(1);
  });

  test('a caller whose response fails without closing counts as gone too', async () => {
    const caller = new Caller(false, { emitClose: false });
    const { upstream, piped, counts } = relay({ caller });
    upstream.write(ROLE);
    await settle();
    caller.destroy(new Error('write EPIPE'));
    const result = await piped;
    expect(result.clientAborted).toBe(true);
    expect(counts.aborts).toBe(1);
  });

  test('an upstream socket error fails the stream as an answer cut short, with its message', async () => {
    const { upstream, piped } = relay();
    upstream.write(ROLE);
    await settle();
    upstream.destroy(new Error('socket hang up'));
    await expectFailure(piped, UpstreamCutError, 'socket hang up');
  });

  test('a gateway that closes the connection mid-answer fails the stream as cut mid-answer', async () => {
    let response!: http.ServerResponse;
    const gateway = await gatewayResponse((res) => {
      response = res;
      res.write(ROLE);
    });
    try {
      const { caller, piped } = relay({ upstream: gateway.upstream });
      while (caller.received === '') await settle();
      response.socket!.destroy();
      await expectFailure(piped, UpstreamCutError, 'the LLM Gateway closed the stream mid-answer');
    } finally {
      gateway.close();
    }
  });

  test('a slow caller holds the upstream back until it drains, then gets the rest', async () => {
    const caller = new Caller(true);
    const { upstream, piped } = relay({ caller });
    upstream.write(ROLE);
    await settle();
    upstream.write(HI);
    upstream.end(USAGE);
    await settle();
    // Only the first line waits in the caller's response: the rest was not read from the upstream.
    expect(caller.writableLength).toBe(ROLE.length);
    expect(upstream.isPaused()).toBe(true);
    caller.catchUp();
    const result = await piped;
    expect(caller.received).toBe(ROLE + HI + USAGE);
    expect(result.answer).toEqual({ usage: USAGE_READ, model: 'gpt-5' });
  });

  describe('under a guardrail', () => {
    test('text the upstream still sends after the caller left is neither checked nor read', async () => {
      const check = guardrail();
      const { upstream, caller, piped, counts } = relay({ window: new StreamWindow(1, check.check) });
      upstream.write(ROLE + HI);
      await settle();
      expect(check.calls.map((c) => c.texts)).toEqual([['Hi']]);
      check.calls[0].answer({ kind: 'pass' });
      await settle();
      expect(caller.received).toBe(ROLE + HI);
      caller.destroy();
      const result = await piped;
      upstream.write(THERE);
      upstream.end(USAGE);
      await settle();
      expect(check.calls).toHaveLength(1);
      expect(result.clientAborted).toBe(true);
      expect(result.answer).toEqual({ usage: { status: 'missing' } });
      expect(counts.aborts).toBe(1);
    });

    test('a caller that leaves while all the text is held for a check never got a first chunk', async () => {
      const check = guardrail();
      const { upstream, caller, piped } = relay({ window: new StreamWindow(1, check.check) });
      upstream.write(HI);
      await settle();
      expect(check.calls).toHaveLength(1);
      caller.destroy();
      const result = await piped;
      check.calls[0].answer({ kind: 'pass' });
      await settle();
      expect(result.firstChunkAt).toBeUndefined();
      expect(result.clientAborted).toBe(true);
      expect(caller.received).toBe('');
    });

    test('checks one window at a time when the stream ends during a check, and relays both in order', async () => {
      const check = guardrail();
      const { upstream, caller, piped } = relay({ window: new StreamWindow(1, check.check) });
      upstream.end(HI + THERE.trimEnd());
      await settle();
      expect(check.calls.map((c) => c.texts)).toEqual([['Hi']]);
      check.calls[0].answer({ kind: 'pass' });
      await settle();
      expect(check.calls.map((c) => c.texts)).toEqual([['Hi'], [' there']]);
      expect(caller.received).toBe(HI);
      check.calls[1].answer({ kind: 'pass' });
      await piped;
      expect(caller.received).toBe(HI + THERE.trimEnd());
    });

    test('a check that stops the stream sends its event and never checks or sends the text held behind it', async () => {
      const check = guardrail();
      const { upstream, caller, piped } = relay({ window: new StreamWindow(1, check.check) });
      upstream.end(HI + THERE.trimEnd());
      await settle();
      const stop = 'data: {"error":{"message":"blocked"}}\n\ndata: [DONE]\n\n';
      check.calls[0].answer({ kind: 'stop', event: stop });
      const result = await piped;
      await settle();
      expect(result.guardrailStopped).toBe(true);
      expect(caller.received).toBe(stop);
      expect(check.calls).toHaveLength(1);
    });

    test('a check that fails fails the stream with its error and closes the upstream', async () => {
      const check = guardrail();
      const { upstream, piped } = relay({ window: new StreamWindow(1, check.check) });
      upstream.write(ROLE + HI);
      await settle();
      const failure = new Error('guardrail unavailable');
      check.calls[0].fail(failure);
      await expect(piped).rejects.toBe(failure);
      expect(upstream.destroyed).toBe(true);
    });

    test('text under check when the upstream fails is never released', async () => {
      const check = guardrail();
      const { upstream, caller, piped } = relay({ window: new StreamWindow(1, check.check) });
      upstream.write(ROLE + HI);
      await settle();
      upstream.destroy(new Error('socket hang up'));
      await expect(piped).rejects.toThrow(new UpstreamCutError('socket hang up'));
      check.calls[0].answer({ kind: 'pass' });
      await settle();
      expect(caller.received).toBe(ROLE);
    });

    test('after a check, a slow caller still holds the upstream back until it drains', async () => {
      const check = guardrail();
      const caller = new Caller(true);
      const { upstream, piped } = relay({ caller, idleTimeoutMs: 500, window: new StreamWindow(1, check.check) });
      upstream.write(ROLE + HI);
      await settle();
      check.calls[0].answer({ kind: 'pass' });
      await settle();
      upstream.write(THERE);
      await settle();
      expect(check.calls).toHaveLength(1);
      caller.catchUp();
      await settle();
      expect(check.calls.map((c) => c.texts)).toEqual([['Hi'], [' there']]);
      check.calls[1].answer({ kind: 'pass' });
      upstream.end(USAGE);
      const result = await piped;
      expect(caller.received).toBe(ROLE + HI + THERE + USAGE);
      expect(result.answer).toEqual({ usage: USAGE_READ, model: 'gpt-5' });
    });

    test('a slow caller draining writes queued behind a check leaves one idle timer: a live upstream is not cut as idle', async () => {
      const check = guardrail();
      const caller = new Caller(true);
      const { upstream, piped } = relay({ caller, idleTimeoutMs: 100, window: new StreamWindow(1, check.check) });
      upstream.write(ROLE + HI);
      await settle();
      check.calls[0].answer({ kind: 'pass' });
      await settle();
      upstream.write(THERE);
      await settle();
      caller.catchUp();
      await settle();
      check.calls[1].answer({ kind: 'pass' });
      await settle();
      // Live for 300 ms, a comment line every 30 ms: never 100 ms of silence.
      for (let i = 0; i < 10; i++) {
        await sleep(30);
        upstream.write(': keep-alive\n');
      }
      upstream.end(USAGE);
      const result = await piped;
      expect(result.answer).toEqual({ usage: USAGE_READ, model: 'gpt-5' });
      expect(caller.received.endsWith(USAGE)).toBe(true);
    });

    test('a check longer than the idle timeout is no upstream silence, even when the caller drains meanwhile', async () => {
      const check = guardrail();
      const caller = new Caller(true);
      const { upstream, piped } = relay({ caller, idleTimeoutMs: 20, window: new StreamWindow(1, check.check) });
      upstream.write(ROLE + HI);
      await settle();
      expect(check.calls).toHaveLength(1);
      caller.catchUp();
      await sleep(80);
      check.calls[0].answer({ kind: 'pass' });
      await settle();
      upstream.end(USAGE);
      const result = await piped;
      expect(caller.received).toBe(ROLE + HI + USAGE);
      expect(result.answer).toEqual({ usage: USAGE_READ, model: 'gpt-5' });
    });

    test('a line of exactly 4 MiB characters is still checked and relayed', async () => {
      const check = guardrail();
      const { upstream, caller, piped } = relay({ window: new StreamWindow(1_000_000, check.check) });
      const line = 'data: ' + 'x'.repeat(4_194_304 - 6);
      upstream.write(line);
      await settle();
      upstream.end('\n');
      while (check.calls.length === 0) await settle();
      expect(check.calls[0].texts[0].length).toBe(4_194_298);
      check.calls[0].answer({ kind: 'pass' });
      await piped;
      expect(caller.received.length).toBe(4_194_305);
    });

    test('a line over 4 MiB characters is refused as too long to check', async () => {
      const check = guardrail();
      const { upstream, piped, counts } = relay({ window: new StreamWindow(1_000_000, check.check) });
      upstream.end('data: ' + 'x'.repeat(4_194_299));
      await expect(piped).rejects.toThrow(
        new UpstreamInvalidResponseError('the LLM Gateway stream has a line over 4194304 characters, too long to check'));
      expect(counts.opens).toBe(0);
      expect(check.calls).toHaveLength(0);
    });

    test('a caller that leaves during the last check, once the gateway has sent everything, is no abort', async () => {
      const check = guardrail();
      const gateway = await gatewayResponse((res) => res.end(HI + USAGE));
      try {
        const { caller, piped, counts } = relay({ upstream: gateway.upstream, window: new StreamWindow(1_000, check.check) });
        while (check.calls.length === 0) await settle();
        caller.destroy();
        await settle();
        check.calls[0].answer({ kind: 'pass' });
        const result = await piped;
        expect(result.clientAborted).toBe(false);
        expect(result.answer).toEqual({ usage: USAGE_READ, model: 'gpt-5' });
        expect(counts.aborts).toBe(0);
      } finally {
        gateway.close();
      }
    });
  });
});

describe('answerFromSseTail', () => {
  const usage = (input: number, output: number) => ({ status: 'ok', usage: { inputTokens: input, outputTokens: output, cachedInputTokens: 0, cacheWriteTokens: 0 } });

  test('reads nothing from an empty tail', () => {
    expect(answerFromSseTail('')).toEqual({ usage: { status: 'missing' } });
  });

  test('reads the usage from an event before the one that names the model', () => {
    expect(answerFromSseTail('data: {"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\ndata: {"model":"gpt-5"}\n\n'))
      .toEqual({ usage: usage(3, 2), model: 'gpt-5' });
  });

  test('the last model named wins over an earlier one', () => {
    expect(answerFromSseTail('data: {"model":"first","usage":{"prompt_tokens":1,"completion_tokens":1}}\n\ndata: {"model":"last"}\n\n'))
      .toEqual({ usage: usage(1, 1), model: 'last' });
  });

  test('the last usage wins over an earlier one', () => {
    expect(answerFromSseTail(
      'data: {"model":"gpt-5","usage":{"prompt_tokens":1,"completion_tokens":1}}\n\ndata: {"model":"gpt-5","usage":{"prompt_tokens":5,"completion_tokens":4}}\n\n',
    )).toEqual({ usage: usage(5, 4), model: 'gpt-5' });
  });

  test('an empty or non-string model is passed over for an earlier one', () => {
    expect(answerFromSseTail(
      'data: {"model":"gpt-5"}\n\ndata: {"model":""}\n\ndata: {"model":42,"usage":{"prompt_tokens":2,"completion_tokens":1}}\n\n',
    )).toEqual({ usage: usage(2, 1), model: 'gpt-5' });
  });

  test('a null usage is passed over for an earlier one', () => {
    expect(answerFromSseTail('data: {"usage":{"prompt_tokens":2,"completion_tokens":1}}\n\ndata: {"usage":null}\n\n'))
      .toEqual({ usage: usage(2, 1) });
  });

  test('skips a data: null event, a payload that is not JSON and lines that are not data: lines', () => {
    expect(answerFromSseTail(
      'data: {"model":"gpt-5","usage":{"prompt_tokens":2,"completion_tokens":1}}\n\ndata: null\n\ndata: not json\n:    {"model":"comment"}\n',
    )).toEqual({ usage: usage(2, 1), model: 'gpt-5' });
  });

  test('reads lines with the whitespace around them trimmed', () => {
    expect(answerFromSseTail('  data: {"model":"gpt-5","usage":{"prompt_tokens":2,"completion_tokens":1}}  \r\n'))
      .toEqual({ usage: usage(2, 1), model: 'gpt-5' });
  });
});

describe('completionToSse', () => {
  test('turns a completion into a content chunk, a final chunk with its finish reason and usage, and [DONE]', () => {
    const sse = completionToSse({
      id: 'chatcmpl-1',
      request_id: 'req-1',
      created: 1_700_000_000,
      model: 'gpt-5',
      choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'Hello' } }],
      usage: { prompt_tokens: 3, completion_tokens: 1 },
    }, 'fallback-model');
    expect(sse).toBe(
      'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-5","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}\n\n'
      + 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-5","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
      + 'data: [DONE]\n\n',
    );
  });

  test('keeps the choices\' own indexes and roles, numbers tool calls, and fills in the id, the time, the role and the finish reason', () => {
    jest.useFakeTimers({ now: 1_767_323_045_678 });
    try {
      const sse = completionToSse({
        request_id: 'req-9',
        model: 'gpt-5',
        choices: [
          { index: 2, message: { role: 'model', content: null, tool_calls: [{ id: 'call_1', type: 'function' }] } },
          { finish_reason: null, message: { content: 'B' } },
        ],
      }, 'fallback-model');
      expect(sse).toBe(
        'data: {"id":"req-9","object":"chat.completion.chunk","created":1767323045,"model":"gpt-5","choices":[{"index":2,"delta":{"role":"model","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function"}]},"finish_reason":null}]}\n\n'
        + 'data: {"id":"req-9","object":"chat.completion.chunk","created":1767323045,"model":"gpt-5","choices":[{"index":1,"delta":{"role":"assistant","content":"B"},"finish_reason":null}]}\n\n'
        + 'data: {"id":"req-9","object":"chat.completion.chunk","created":1767323045,"model":"gpt-5","choices":[{"index":2,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"stop"}]}\n\n'
        + 'data: [DONE]\n\n',
      );
    } finally {
      jest.useRealTimers();
    }
  });

  test('a completion with no id, model or choices gives the router\'s id, the requested model and an empty final chunk', () => {
    expect(completionToSse({ created: 1 }, 'fallback-model')).toBe(
      'data: {"id":"chatcmpl-router","object":"chat.completion.chunk","created":1,"model":"fallback-model","choices":[]}\n\n'
      + 'data: [DONE]\n\n',
    );
  });
});
