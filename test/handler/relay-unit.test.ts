/**
 * The relay's edges that mutation testing found unasserted: what
 * the caller sees for each kind of bad upstream answer, the stream headers,
 * the SDK retry hint, and the log fields (attempts, timings, aborts) that
 * dashboards and chargeback read. Expected values are literals.
 */
import { PassThrough } from 'node:stream';
import { lambdaContext, proxyEvent } from '../../src/emulator/runtime-shim';
import { createRouterHandler, StreamingHandler } from '../../src/handler/app';
import { completion, errorWith, GatewayBehaviour, respondWith, sseEvent, useFakeGateway } from '../support/fake-gateway';
import { invoke, CallResult } from '../support/in-process';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

const fake = useFakeGateway();
beforeEach(() => {
  stdout.clear();
});

function router(extra: Record<string, string> = {}, keys: () => Promise<string> = async () => 'gw-key-0123456789abcdef'): StreamingHandler {
  return createRouterHandler({
    LLM_GATEWAY_REGION: 'us',
    LLM_GATEWAY_ENDPOINT: fake.gateway.url,
    LLM_GATEWAY_CUSTOM_ENDPOINT: 'true',
    LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,claude-sonnet-4-6',
    ...extra,
  }, { apiKeyProvider: keys });
}

// gpt-5 streams upstream; claude-sonnet-4-6 is answered whole and the router emulates the stream.
const chat = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const lastLog = (): Record<string, any> => stdout.records.filter((r: any) => r.message === 'request').at(-1);

/** Invokes the handler and measures the wall time around it: every timing the router logs lies within. */
async function timed(handler: StreamingHandler, body: string): Promise<CallResult & { wallMs: number }> {
  const started = performance.now();
  const res = await invoke(handler, body);
  return { ...res, wallMs: performance.now() - started };
}

const errorOf = (res: CallResult) => JSON.parse(res.body).error;

describe('bad answers from the upstream', () => {
  const answer = (contentType: string | undefined, body: string): GatewayBehaviour => (_req, res) => {
    res.writeHead(200, contentType ? { 'content-type': contentType } : {});
    res.end(body);
  };

  test.each([
    ['application/json'],
    ['application/json; profile=text/event-stream'],
    [undefined],
  ])('a stream request answered with one JSON completion (content-type %p) is relayed as SSE, with its usage', async (contentType) => {
    // Some models ignore `stream: true` and answer with a single JSON body (the gateway's troubleshooting page).
    fake.gateway.behaviour = answer(contentType, JSON.stringify(completion('gpt-5')));
    const res = await invoke(router(), chat('gpt-5', { stream: true }));
    expect([res.status, res.headers['content-type']]).toEqual([200, 'text/event-stream; charset=utf-8']);
    const events = res.body.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events[0]).choices[0].delta).toEqual({ role: 'assistant', content: 'Hello from the gateway' });
    expect(JSON.parse(events[1]).usage).toEqual({ input_tokens: 11, output_tokens: 7, total_tokens: 18 });
    expect(lastLog()).toMatchObject({ status: 200, input_tokens: 11, output_tokens: 7, settlement: 'answered', charge_basis: 'usage', answered_model: 'gpt-5' });
    // No cached input reported: none logged (not a 0 that dashboards would average in).
    expect(lastLog()).not.toHaveProperty('cached_input_tokens');
  });

  test('a stream request answered with a body that is neither SSE nor JSON is a 502 naming it', async () => {
    fake.gateway.behaviour = answer('text/plain', 'busy');
    const res = await invoke(router(), chat('gpt-5', { stream: true }));
    expect(res.status).toBe(502);
    const message = 'The LLM Gateway sent an invalid answer: the LLM Gateway answered HTTP 200 with a body that is not JSON.';
    expect(errorOf(res)).toEqual({ message, type: 'api_error', param: null, code: 'upstream_invalid_response' });
    expect(lastLog()).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'invalid_answer' });
  });

  test.each([
    ['', 'an empty body'],
    ['<html>busy</html>', 'a body that is not JSON'],
  ])('a completion of %p is a 502 saying "%s"', async (body, said) => {
    fake.gateway.behaviour = answer('application/json', body);
    const res = await invoke(router(), chat('gpt-5'));
    expect([res.status, errorOf(res).message]).toEqual([502, `The LLM Gateway sent an invalid answer: the LLM Gateway answered HTTP 200 with ${said}.`]);
    // The attempts made are still logged when the failure carries no count of its own.
    expect(lastLog()).toMatchObject({ upstream_error: '5xx', upstream_attempts: 1 });
  });

  test.each([
    ['no choices', { id: 'x', choices: [] }],
    ['a choice that is a number', { id: 'x', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }, 5] }],
    ['a choice that is null', { id: 'x', choices: [null] }],
    ['a JSON array', [{ choices: [{}] }]],
  ])('an emulated stream over %s is a 502: only a chat completion can be streamed', async (_name, body) => {
    fake.gateway.behaviour = answer('application/json', JSON.stringify(body));
    const res = await invoke(router(), chat('claude-sonnet-4-6', { stream: true }));
    expect([res.status, errorOf(res).message]).toEqual([502, 'The LLM Gateway sent an invalid answer: the LLM Gateway answered HTTP 200 with JSON that is not a chat completion.']);
  });

  test('the router\'s own key refused (401) is a 502 the caller cannot retry away', async () => {
    fake.gateway.behaviour = errorWith(401, 'auth');
    const res = await invoke(router(), chat('gpt-5'));
    expect(res.status).toBe(502);
    expect(errorOf(res)).toEqual({ message: 'The LLM Gateway rejected the router\'s gateway key.', type: 'api_error', param: null, code: 'upstream_auth_failed' });
    expect(res.headers['x-should-retry']).toBe('false');
  });
});

describe('streams', () => {
  test('a stream that ends before its first event is a 502 invalid answer, logged without a time to the first token', async () => {
    fake.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end();
    };
    const res = await invoke(router(), chat('gpt-5', { stream: true }));
    expect([res.status, errorOf(res).message]).toEqual([502, 'The LLM Gateway sent an invalid answer: the LLM Gateway stream carried no data: events.']);
    const log = lastLog();
    expect(log).not.toHaveProperty('time_to_first_token_ms');
    // The request reached the gateway: it may have been billed.
    expect(log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'invalid_answer', charge_basis: 'worst_case' });
  });

  test('a real and an emulated stream are both text/event-stream, uncached', async () => {
    fake.gateway.behaviour = (req, res) => {
      res.writeHead(200, { 'content-type': req.json.stream ? 'text/event-stream' : 'application/json' });
      res.end(req.json.stream ? `${sseEvent('gpt-5', 'ok')}data: [DONE]\n\n` : JSON.stringify(completion(req.json.model)));
    };
    for (const model of ['gpt-5', 'claude-sonnet-4-6']) {
      const res = await timed(router(), chat(model, { stream: true }));
      expect([res.status, res.headers['content-type'], res.headers['cache-control']]).toEqual([200, 'text/event-stream; charset=utf-8', 'no-cache']);
      const log = lastLog();
      // The time to the first token is measured from the request's start, so it lies within the call.
      expect(log.time_to_first_token_ms).toBeGreaterThanOrEqual(0);
      expect(log.time_to_first_token_ms).toBeLessThanOrEqual(res.wallMs + 1);
      expect(log).not.toHaveProperty('client_aborted');
    }
  });

  test('a stream cut at the function\'s deadline ends with an in-band error that says why', async () => {
    fake.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5', 'first')); // then never ends
    };
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    // The router keeps 1 s of the function's time to say so: this stream is cut after about 0.5 s.
    await router()(proxyEvent({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: chat('gpt-5', { stream: true }) }), stream, lambdaContext(1_500));
    const lastEvent = Buffer.concat(chunks).toString('utf8').trim().split('\n\n').at(-1)!;
    const message = 'The answer was cut short: the stream did not finish before the router\'s function deadline.';
    expect(JSON.parse(lastEvent.replace(/^data: /, '')).error).toEqual({ message, type: 'api_error', param: null, code: 'deadline_exceeded' });
    expect(lastLog()).toMatchObject({ upstream_error: 'deadline', settlement: 'maybe_billed', settlement_cause: 'deadline' });
  });

  test('a caller hanging up mid-stream closes the upstream request and is logged as an abort', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    fake.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5', 'first'));
      res.on('close', upstreamClosed); // never ends on its own
    };
    const stream = new PassThrough();
    stream.on('data', () => stream.destroy());
    await router()(proxyEvent({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: chat('gpt-5', { stream: true }) }), stream, lambdaContext(60_000));
    await expect(Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 3_000))])).resolves.toBe('closed');
    expect(lastLog()).toMatchObject({ client_aborted: true });
  });
});

describe('failures and the retry hint', () => {
  test('an unreachable upstream after 3 attempts: 502, x-should-retry false, 3 attempts logged', async () => {
    const res = await invoke(router({ LLM_GATEWAY_ENDPOINT: 'http://127.0.0.1:9' }), chat('gpt-5'));
    expect(res.status).toBe(502);
    expect(errorOf(res).code).toBe('upstream_unreachable');
    expect(res.headers['x-should-retry']).toBe('false');
    expect(lastLog()).toMatchObject({ upstream_error: 'unreachable', upstream_attempts: 3 });
  });

  test('a timeout on the first attempt: 504 without the hint (the SDK may retry), 1 attempt logged', async () => {
    fake.gateway.behaviour = () => undefined; // never answers
    const res = await invoke(router({ LLM_GATEWAY_UPSTREAM_TIMEOUT_MS: '100' }), chat('gpt-5'));
    expect(res.status).toBe(504);
    expect(errorOf(res)).toMatchObject({ type: 'api_error', code: 'upstream_timeout' });
    expect(errorOf(res).message).toMatch(/^The LLM Gateway timed out: the LLM Gateway did not answer within \d+ ms\.$/);
    expect(res.headers).not.toHaveProperty('x-should-retry');
    expect(lastLog()).toMatchObject({ upstream_error: 'timeout', upstream_attempts: 1 });
  });

  test('upstream 4xx and 5xx are logged as such', async () => {
    fake.gateway.behaviour = errorWith(422, 'nested');
    await invoke(router(), chat('gpt-5'));
    expect(lastLog()).toMatchObject({ status: 422, upstream_error: '4xx' });
    fake.gateway.behaviour = errorWith(500, 'nested');
    await invoke(router(), chat('gpt-5'));
    expect(lastLog()).toMatchObject({ status: 500, upstream_error: '5xx' });
  });

  test('a 401 answered again after the key refresh counts both attempts', async () => {
    fake.gateway.behaviour = (req, res, attempt) => (attempt === 1 ? errorWith(401, 'auth')(req, res, attempt) : respondWith()(req, res, attempt));
    let reads = 0;
    const res = await invoke(router({}, async () => `gw-key-${++reads}-0123456789abcdef`), chat('gpt-5'));
    expect(res.status).toBe(200);
    expect(fake.gateway.requests.map((r) => r.headers.authorization)).toEqual(['gw-key-1-0123456789abcdef', 'gw-key-2-0123456789abcdef']);
    expect(lastLog()).toMatchObject({ upstream_attempts: 2 });
  });

  test('the upstream latency logged lies within the call', async () => {
    const res = await timed(router(), chat('gpt-5'));
    expect(lastLog().upstream_latency_ms).toBeGreaterThanOrEqual(0);
    expect(lastLog().upstream_latency_ms).toBeLessThanOrEqual(res.wallMs + 1);
  });
});

describe('a caller hanging up before the answer', () => {
  test('destroys the upstream request, logs the abort and writes nothing more', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    fake.gateway.behaviour = (_req, res) => {
      res.on('close', upstreamClosed); // never answers
    };
    const stream = new PassThrough();
    const invocation = router()(proxyEvent({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: chat('gpt-5') }), stream, lambdaContext(60_000));
    while (fake.gateway.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    stream.destroy();
    await invocation;
    await expect(Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 3_000))])).resolves.toBe('closed');
    expect(lastLog()).toMatchObject({ client_aborted: true });
    expect(lastLog()).not.toHaveProperty('upstream_error');
  });
});

describe('a context without getRemainingTimeInMillis (not every runtime shim has one)', () => {
  test('the request is relayed with the configured upstream timeout alone', async () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const { getRemainingTimeInMillis: _omitted, ...context } = lambdaContext(60_000);
    await router()(proxyEvent({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: chat('gpt-5') }), stream, context as any);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('"chat.completion"');
    expect(lastLog()).toMatchObject({ status: 200, upstream_attempts: 1 });
  });
});
