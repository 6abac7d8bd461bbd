/**
 * The router handler end to end, in-process: what it logs on failure paths,
 * the body limit, the headers it passes back, caller-chosen global routing,
 * a misconfigured router, bounded ids in the log, upstream error statuses.
 * Expected values are literals (the gateway's documentation, SECURITY.md),
 * never computed by the code under test.
 */
import { createRouterHandler, StreamingHandler } from '../../src/handler/app';
import { errorWith, GatewayBehaviour, respondWith, useFakeGateway } from '../support/fake-gateway';
import { invoke } from '../support/in-process';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());
afterEach(() => stdout.clear());

const fake = useFakeGateway();

/** The environment the construct sets, spelled out (public variable names). */
function usEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    LLM_GATEWAY_REGION: 'us',
    LLM_GATEWAY_ENDPOINT: fake.gateway.url,
    LLM_GATEWAY_CUSTOM_ENDPOINT: 'true',
    LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,claude-sonnet-4-6,qwen3-32B',
    ...extra,
  };
}

function routerWith(env: Record<string, string>, key: string | (() => Promise<string>) = 'gw-key-0123456789abcdef'): StreamingHandler {
  return createRouterHandler(env, { apiKeyProvider: typeof key === 'string' ? async () => key : key });
}

const chat = (model: string, content = 'hi', extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra });

describe('logs on failure paths carry neither the prompt nor the key', () => {
  const PROMPT = 'CANARY-PROMPT-5xx-c0ffee';
  const KEY = 'CANARY-KEY-0123456789abcdef';
  const ROTATED = 'CANARY-ROTATED-KEY-fedcba9876';

  function expectNoCanary(...canaries: string[]): void {
    const everything = stdout.lines.join('\n');
    expect(stdout.requestLogs.length).toBeGreaterThanOrEqual(1);
    for (const canary of canaries) expect(everything).not.toContain(canary);
  }

  test('an upstream 5xx that echoes the prompt and the key', async () => {
    fake.gateway.behaviour = (req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'boom', message: `failed on ${req.rawBody} with ${req.headers.authorization}` } }));
    };
    const res = await invoke(routerWith(usEnv(), KEY), chat('gpt-5', PROMPT));
    expect(res.status).toBe(500);
    expect(fake.gateway.requests.length).toBeGreaterThanOrEqual(1);
    expect(stdout.requestLogs.at(-1)).toMatchObject({ status: 500, upstream_error: '5xx', level: 'ERROR' });
    expectNoCanary(PROMPT, KEY);
  });

  test('an upstream timeout', async () => {
    fake.gateway.behaviour = () => undefined; // never answers
    const res = await invoke(routerWith(usEnv({ LLM_GATEWAY_UPSTREAM_TIMEOUT_MS: '300' }), KEY), chat('gpt-5', PROMPT));
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body).error.code).toBe('upstream_timeout');
    expect(stdout.requestLogs.at(-1)).toMatchObject({ status: 504, upstream_error: 'timeout' });
    expectNoCanary(PROMPT, KEY);
  });

  test('a 401, a key refresh and a retry with the rotated key', async () => {
    fake.gateway.behaviour = (req, res) => {
      if (req.headers.authorization === ROTATED) return respondWith()(req, res, 0);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `invalid key ${req.headers.authorization} for ${req.rawBody}`, status: 'error', request_id: 'r' }));
    };
    let reads = 0;
    const res = await invoke(routerWith(usEnv(), async () => (++reads === 1 ? KEY : ROTATED)), chat('gpt-5', PROMPT));
    expect(res.status).toBe(200);
    expect(reads).toBe(2);
    expect(fake.gateway.requests.map((r) => r.headers.authorization)).toEqual([KEY, ROTATED]);
    expectNoCanary(PROMPT, KEY, ROTATED);
  });

  test('a 401 that survives the refresh: 502 upstream_auth_failed, neither key in the answer or the log', async () => {
    fake.gateway.behaviour = (req, res) => {
      res.writeHead(401, { 'content-type': 'application/json', 'x-ratelimit-note': String(req.headers.authorization) });
      res.end(JSON.stringify({ error: `invalid key ${req.headers.authorization}`, status: 'error', request_id: 'r' }));
    };
    let reads = 0;
    const res = await invoke(routerWith(usEnv(), async () => (++reads === 1 ? KEY : ROTATED)), chat('gpt-5', PROMPT));
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body).error.code).toBe('upstream_auth_failed');
    for (const text of [res.body, JSON.stringify(res.headers)]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(ROTATED);
    }
    expectNoCanary(PROMPT, KEY, ROTATED);
  });
});

describe('the body size limit is exact', () => {
  const LIMIT = 2048;
  const handler = () => routerWith(usEnv({ LLM_GATEWAY_MAX_BODY_BYTES: String(LIMIT) }));

  /** A chat request of exactly `bytes` UTF-8 bytes (the padding has a two-byte character, so bytes and characters differ). */
  function bodyOf(bytes: number): string {
    const base = chat('gpt-5', 'é');
    const body = chat('gpt-5', 'é' + 'x'.repeat(bytes - Buffer.byteLength(base)));
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  }

  test('a body of exactly the limit is forwarded; one byte more is a 413 and nothing is sent', async () => {
    const h = handler();
    expect((await invoke(h, bodyOf(LIMIT))).status).toBe(200);
    expect(fake.gateway.requests).toHaveLength(1);
    const over = await invoke(h, bodyOf(LIMIT + 1));
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body).error).toMatchObject({ code: 'request_too_large', type: 'invalid_request_error' });
    expect(JSON.parse(over.body).error.message).toContain(String(LIMIT));
    expect(fake.gateway.requests).toHaveLength(1);
    expect(stdout.requestLogs.at(-1)).toMatchObject({ status: 413, reject_reason: 'too_large' });
  });

  test('the same for a base64-encoded body (measured decoded)', async () => {
    const h = handler();
    expect((await invoke(h, Buffer.from(bodyOf(LIMIT)))).status).toBe(200);
    expect((await invoke(h, Buffer.from(bodyOf(LIMIT + 1)))).status).toBe(413);
    expect(fake.gateway.requests).toHaveLength(1);
  });

  test('without the variable the limit is 1 MiB (1,048,576 bytes)', async () => {
    const h = routerWith(usEnv());
    expect((await invoke(h, bodyOf(1_048_576))).status).toBe(200);
    expect((await invoke(h, bodyOf(1_048_577))).status).toBe(413);
  });
});

describe('upstream headers: only rate-limit feedback reaches the caller', () => {
  const INTERNAL = {
    'set-cookie': 'AWSALB=upstream-session; Path=/',
    'x-amzn-requestid': 'amzn-req-1',
    'x-amzn-trace-id': 'Root=1-abc',
    'x-amz-apigw-id': 'apigw-1',
    'server': 'envoy',
    'via': '1.1 internal-proxy',
    'x-powered-by': 'Express',
    'x-envoy-upstream-service-time': '12',
    'x-internal-route': 'pool-7',
  };
  const PASSED = { 'x-ratelimit-limit-requests': '30', 'x-ratelimit-remaining-requests': '29', 'retry-after': '7' };

  function withHeaders(status: number, contentType: string, body: (model: string) => string): GatewayBehaviour {
    return (req, res) => {
      res.writeHead(status, { ...INTERNAL, ...PASSED, 'content-type': contentType });
      res.end(body(req.json.model));
    };
  }

  function expectOnlyPassed(headers: Record<string, string>): void {
    for (const name of Object.keys(INTERNAL)) expect(headers).not.toHaveProperty(name);
    for (const value of Object.values(INTERNAL)) expect(JSON.stringify(headers)).not.toContain(value);
    expect(headers).toMatchObject(PASSED);
  }

  test('on a completion, an emulated stream, a real stream and an upstream error', async () => {
    const h = routerWith(usEnv());
    const completionJson = (model: string) => JSON.stringify({ id: 'c', object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
    fake.gateway.behaviour = withHeaders(200, 'application/json', completionJson);
    expectOnlyPassed((await invoke(h, chat('gpt-5'))).headers);
    expectOnlyPassed((await invoke(h, chat('claude-sonnet-4-6', 'hi', { stream: true }))).headers);
    fake.gateway.behaviour = withHeaders(200, 'text/event-stream', () => 'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\n');
    const streamed = await invoke(h, chat('gpt-5', 'hi', { stream: true }));
    expect(streamed.status).toBe(200);
    expectOnlyPassed(streamed.headers);
    fake.gateway.behaviour = withHeaders(400, 'application/json', () => JSON.stringify({ error: { code: 'bad', message: 'no' } }));
    const failed = await invoke(h, chat('gpt-5'));
    expect(failed.status).toBe(400);
    expectOnlyPassed(failed.headers);
  });
});

describe('global routing chosen by the caller', () => {
  test('a caller\'s valid model_region "global" on a global router is forwarded as sent, and the answer says "global"', async () => {
    const h = routerWith(usEnv({ LLM_GATEWAY_GLOBAL_ROUTING: 'true' }));
    const res = await invoke(h, chat('claude-sonnet-4-6', 'hi', { model_region: 'global', fallbacks: [{ model: 'gpt-5', model_region: 'global' }] }));
    expect(res.status).toBe(200);
    expect(res.headers['x-llm-gateway-region']).toBe('global');
    expect(fake.gateway.requests).toHaveLength(1);
    expect(fake.gateway.requests[0].json).toMatchObject({ model: 'claude-sonnet-4-6', model_region: 'global', fallbacks: [{ model: 'gpt-5', model_region: 'global' }] });
  });

  test('the same request on a router without global routing is a 403 global_routing_disabled', async () => {
    const res = await invoke(routerWith(usEnv()), chat('claude-sonnet-4-6', 'hi', { model_region: 'global' }));
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'global_routing_disabled', param: 'model_region' });
    expect(fake.gateway.requests).toHaveLength(0);
  });

  test('Qwen does not accept global routing: the caller\'s "global" is a 403, and the router adds none', async () => {
    const h = routerWith(usEnv({ LLM_GATEWAY_GLOBAL_ROUTING: 'true' }));
    const refused = await invoke(h, chat('qwen3-32B', 'hi', { model_region: 'global' }));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'global_routing_unsupported', param: 'model_region' });
    const plain = await invoke(h, chat('qwen3-32B'));
    expect(plain.status).toBe(200);
    expect(plain.headers['x-llm-gateway-region']).toBe('us');
    expect(fake.gateway.requests).toHaveLength(1);
    expect(fake.gateway.requests[0].json).not.toHaveProperty('model_region');
  });
});

describe('a misconfigured router answers 500 router_misconfigured, and sends nothing', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['no region', { LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5' }, /LLM_GATEWAY_REGION/],
    ['an unknown region', { LLM_GATEWAY_REGION: 'mars', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5' }, /LLM_GATEWAY_REGION/],
    ['an empty allow-list', { LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: '' }, /LLM_GATEWAY_ALLOWED_MODELS/],
    ['EU with global routing', { LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_GLOBAL_ROUTING: 'true', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' }, /LLM_GATEWAY_GLOBAL_ROUTING/],
    ['EU pointed at the US host without the opt-in', { LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ENDPOINT: 'https://llm-fake.gateway.assemblyai.com', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' }, /LLM_GATEWAY_ENDPOINT/],
    ['EU pointed at the fake gateway without the opt-in', { LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ENDPOINT: 'http://127.0.0.1:9', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' }, /LLM_GATEWAY_ENDPOINT/],
    ['a body limit that is not a positive integer', { LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5', LLM_GATEWAY_MAX_BODY_BYTES: '0' }, /LLM_GATEWAY_MAX_BODY_BYTES/],
  ];

  test.each(cases)('%s', async (_name, env, names) => {
    const res = await invoke(routerWith(env), chat('claude-sonnet-4-6'));
    expect(res.status).toBe(500);
    const { error } = JSON.parse(res.body);
    expect(error).toMatchObject({ type: 'api_error', code: 'router_misconfigured' });
    // The caller learns only what failed and the request id; the variable at fault is in the log line.
    expect(error.message).toMatch(/request id/);
    expect(error.message).not.toMatch(names);
    expect(fake.gateway.requests).toHaveLength(0);
    expect(stdout.requestLogs.at(-1)).toMatchObject({ status: 500, level: 'ERROR' });
    expect(stdout.requestLogs.at(-1).error_detail).toMatch(names);
  });
});

describe('caller-chosen ids are bounded in the log', () => {
  test('an overlong model id is logged as its first 128 characters and "..."', async () => {
    const id = `gpt-5${'z'.repeat(995)}`;
    const res = await invoke(routerWith(usEnv()), chat(id));
    expect(res.status).toBe(403);
    const logged = stdout.requestLogs.at(-1).model;
    expect(logged).toBe(`${id.slice(0, 128)}...`);
    expect(logged).toHaveLength(131);
  });

  test('an id of exactly 128 characters is logged whole', async () => {
    const id = `gpt-5${'z'.repeat(123)}`;
    await invoke(routerWith(usEnv()), chat(id));
    expect(stdout.requestLogs.at(-1).model).toBe(id);
  });

  test('an overlong upstream request_id is truncated the same way', async () => {
    const requestId = `req_${'r'.repeat(300)}`;
    fake.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', request_id: requestId, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }));
    };
    await invoke(routerWith(usEnv()), chat('gpt-5'));
    expect(stdout.requestLogs.at(-1).upstream_request_id).toBe(`${requestId.slice(0, 128)}...`);
  });
});

describe('upstream errors keep their status; the shapes the gateway documents are all read', () => {
  test.each([['nested', 'nested error 418'], ['flat', 'flat error 418'], ['auth', 'auth error 418']] as const)('%s', async (shape, message) => {
    fake.gateway.behaviour = errorWith(418, shape);
    const res = await invoke(routerWith(usEnv()), chat('gpt-5'));
    expect(res.status).toBe(418);
    expect(JSON.parse(res.body).error.message).toBe(message);
  });
});
