import OpenAI from 'openai';
import { completion, errorWith, FakeGateway, respondWith } from '../support/fake-gateway';
import { rawRequest, RunningRouter, startRouter, TEST_KEY } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

describe('the router, driven by the official openai client through the local emulator', () => {
  let gateway: FakeGateway;
  let router: RunningRouter;

  beforeAll(async () => {
    gateway = await FakeGateway.start();
    router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5', 'claude-sonnet-4-6', 'qwen3-32B'] });
  });
  afterAll(async () => {
    await router.close();
    await gateway.close();
  });
  beforeEach(() => {
    gateway.requests.length = 0;
    gateway.behaviour = respondWith();
  });

  test('a completion passes through with the raw key and none of the caller\'s credentials', async () => {
    const res = await router.client.chat.completions.create({
      model: 'claude-sonnet-4-6',
      messages: [{ role: 'user', content: 'hi' }],
    }, { headers: { cookie: 'session=secret-cookie' } });
    expect(res.choices[0].message.content).toBe('Hello!');
    expect(res.usage).toMatchObject({ input_tokens: 11, output_tokens: 7 });
    expect(gateway.requests).toHaveLength(1);
    const sent = gateway.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(TEST_KEY);
    expect(sent.headers.cookie).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain('caller-credential');
    expect(sent.json).toEqual({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] });
  });

  test('the router says which region served the request', async () => {
    const { response } = await router.client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-llm-gateway-region')).toBe('us');
  });

  test('stream: true for a provider the gateway streams is forwarded chunk by chunk', async () => {
    const stream = await router.client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x' }], stream: true });
    const parts: string[] = [];
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta?.content;
      if (text) parts.push(text);
    }
    expect(parts).toEqual(['Hel', 'lo', '!']);
    expect(gateway.requests[0].json.stream).toBe(true);
  });

  test('stream: true for a provider the gateway does not stream is emulated from one completion', async () => {
    const stream = await router.client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Hello!');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    // Upstream got a plain request: no stream flag for a provider that cannot stream.
    expect(gateway.requests[0].json.stream).toBeUndefined();
  });

  test('models.list() returns exactly the allow-list', async () => {
    const ids = [];
    for await (const model of router.client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['gpt-5', 'claude-sonnet-4-6', 'qwen3-32B']);
    expect(gateway.requests).toHaveLength(0);
  });

  test('a model outside the allow-list is a 403 APIError and nothing goes upstream', async () => {
    const err = await router.client.chat.completions.create({ model: 'gpt-4.1', messages: [] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.status).toBe(403);
    expect(err.code).toBe('model_not_allowed');
    expect(err.message).toContain('gpt-4.1');
    expect(err.message).toContain('region us');
    expect(gateway.requests).toHaveLength(0);
  });

  test('a padded id does not slip through the exact allow-list', async () => {
    const err = await router.client.chat.completions.create({ model: ' gpt-5', messages: [] }).catch((e) => e);
    expect(err.status).toBe(403);
    expect(gateway.requests).toHaveLength(0);
  });

  test('model_region "global" on a router without global routing is a 403', async () => {
    const err = await router.client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [], model_region: 'global' } as any).catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.code).toBe('global_routing_disabled');
    expect(gateway.requests).toHaveLength(0);
  });

  test('any model_region other than "global" is a 400 naming the field', async () => {
    const err = await router.client.chat.completions.create({ model: 'gpt-5', messages: [], model_region: 'eu' } as any).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('model_region');
  });

  test('a fallback outside the allow-list is refused', async () => {
    const err = await router.client.chat.completions.create({ model: 'gpt-5', messages: [], fallbacks: [{ model: 'gpt-4.1' }] } as any).catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.param).toBe('fallbacks[0].model');
    expect(gateway.requests).toHaveLength(0);
  });

  test('bad JSON is a 400, a non-object a 400, a missing model a 400', async () => {
    for (const body of ['{not json', '[1,2]', '{"messages":[]}', '{"model":"gpt-5","stream":"yes"}', '{"model":"gpt-5","fallbacks":{}}']) {
      const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', body);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error).toEqual(expect.objectContaining({ type: 'invalid_request_error', message: expect.any(String) }));
    }
    expect(gateway.requests).toHaveLength(0);
  });

  test('the handler itself answers unknown routes 404 and wrong methods 405, as JSON errors (API Gateway answers 403 before it)', async () => {
    const missing = await rawRequest(`${router.url}/v1/embeddings`, 'POST', '{}');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error.code).toBe('not_found');
    const wrong = await rawRequest(`${router.url}/v1/chat/completions`, 'GET');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
  });

  test('upstream errors keep their status and get an OpenAI-shaped body, whatever the gateway\'s shape', async () => {
    for (const [status, shape] of [[400, 'nested'], [404, 'flat'], [500, 'auth']] as const) {
      gateway.behaviour = errorWith(status, shape);
      const err = await router.client.chat.completions.create({ model: 'gpt-5', messages: [] }).catch((e) => e);
      expect(err.status).toBe(status);
      expect(err.message).toContain(`${shape} error ${status}`);
    }
  });

  test('usage is read in both spellings', async () => {
    gateway.behaviour = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(completion(req.json.model, 'x', 'openai')));
    };
    stdout.clear();
    await router.client.chat.completions.create({ model: 'gpt-5', messages: [] });
    const log = stdout.requestLogs.at(-1);
    expect(log).toMatchObject({ input_tokens: 11, output_tokens: 7, status: 200, model: 'gpt-5', region: 'us' });
  });
});

describe('global routing', () => {
  test('the router adds model_region "global" only for providers that accept it', async () => {
    const gateway = await FakeGateway.start();
    const router = await startRouter({ region: 'us', globalRouting: true, endpoint: gateway.url, allowedModels: ['claude-sonnet-4-6', 'qwen3-32B'] });
    try {
      const { response } = await router.client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [] }).withResponse();
      expect(gateway.requests[0].json.model_region).toBe('global');
      expect(response.headers.get('x-llm-gateway-region')).toBe('global');
      await router.client.chat.completions.create({ model: 'qwen3-32B', messages: [] });
      expect(gateway.requests[1].json).not.toHaveProperty('model_region');
      const err = await router.client.chat.completions.create({ model: 'qwen3-32B', messages: [], model_region: 'global' } as any).catch((e) => e);
      expect(err.status).toBe(403);
      expect(err.code).toBe('global_routing_unsupported');
      expect(gateway.requests).toHaveLength(2);
    } finally {
      await router.close();
      await gateway.close();
    }
  });
});

describe('an EU router', () => {
  test('refuses model_region "global" as a residency violation and never forwards it', async () => {
    const gateway = await FakeGateway.start();
    const router = await startRouter({ region: 'eu', endpoint: gateway.url });
    try {
      const err = await router.client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [], model_region: 'global' } as any).catch((e) => e);
      expect(err.status).toBe(403);
      expect(err.code).toBe('residency_violation');
      const refused = await router.client.chat.completions.create({ model: 'gpt-5', messages: [] }).catch((e) => e);
      expect(refused.status).toBe(403);
      expect(gateway.requests).toHaveLength(0);
      const ok = await router.client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [] }).withResponse();
      expect(ok.response.headers.get('x-llm-gateway-region')).toBe('eu');
      expect(gateway.requests[0].json).not.toHaveProperty('model_region');
    } finally {
      await router.close();
      await gateway.close();
    }
  });
});

describe('the body size limit', () => {
  test('a body over the limit is a 413 and nothing goes upstream', async () => {
    const gateway = await FakeGateway.start();
    const router = await startRouter({ region: 'us', endpoint: gateway.url, maxBodyBytes: 2048 });
    try {
      const err = await router.client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x'.repeat(4096) }] }).catch((e) => e);
      expect(err.status).toBe(413);
      expect(err.code).toBe('request_too_large');
      expect(gateway.requests).toHaveLength(0);
    } finally {
      await router.close();
      await gateway.close();
    }
  });
});
