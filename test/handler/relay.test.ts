import OpenAI from 'openai';
import { ApiKeyCache } from '../../src/handler/secret';
import { completion, errorWith, FakeGateway, GatewayBehaviour, respondWith, sleep, sseEvent, waitUntil } from '../support/fake-gateway';
import { rawRequest, RawResponse, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

const chat = (model: string, extra: object = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

/** One request against a fresh gateway and router; returns the response, the upstream call count and the request's log line. */
async function once(behaviour: GatewayBehaviour, body: string, opts: { timeoutMs?: number; upstreamTimeoutMs?: number } = {}, settled = () => true) {
  const gateway = await FakeGateway.start(behaviour);
  const router = await startRouter(
    { region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5', 'claude-sonnet-4-6'], upstreamTimeoutMs: opts.upstreamTimeoutMs },
    { timeoutMs: opts.timeoutMs },
  );
  stdout.clear();
  const started = Date.now();
  try {
    const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', body);
    const elapsedMs = Date.now() - started;
    // Give the gateway a moment to see what the router did, before closing it ends everything anyway.
    await waitUntil(settled, 1_000);
    const upstreamCalls = gateway.requests.length;
    return { res, elapsedMs, beforeGatewayClosed: Date.now(), upstreamCalls, log: stdout.requestLogs.at(-1), emf: stdout.emf.at(-1) };
  } finally {
    await router.close();
    await gateway.close();
  }
}

/** The SSE events of a body, parsed (`[DONE]` as the string). */
function events(body: string): any[] {
  return body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => (l === 'data: [DONE]' ? '[DONE]' : JSON.parse(l.slice(6))));
}

function errorCode(res: RawResponse): string | undefined {
  return JSON.parse(res.body).error?.code;
}

describe('a stream that would outlive the function', () => {
  test('is ended before the deadline with an in-band deadline_exceeded event, logged and counted as class "deadline"', async () => {
    let upstreamClosedAt: number | undefined;
    const trickle: GatewayBehaviour = async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.on('close', () => {
        if (!res.writableFinished) upstreamClosedAt = Date.now();
      });
      for (let i = 0; i < 200 && !res.destroyed; i++) {
        res.write(sseEvent(req.json.model, `t${i}`));
        await sleep(50);
      }
      res.end('data: [DONE]\n\n');
    };
    // A 2.5 s function; the upstream's idle timeout (5 s) never fires since the stream keeps trickling.
    const r = await once(trickle, chat('gpt-5', { stream: true }), { timeoutMs: 2_500, upstreamTimeoutMs: 5_000 }, () => upstreamClosedAt !== undefined);
    expect(r.res.status).toBe(200);
    const got = events(r.res.body);
    expect(got[0].choices[0].delta.content).toBe('t0');
    expect(got.at(-1)).toEqual({ error: { message: expect.any(String), type: 'api_error', param: null, code: 'deadline_exceeded' } });
    expect(got).not.toContain('[DONE]');
    // Ended by the router itself, with time to spare before the function's timeout.
    expect(r.elapsedMs).toBeLessThan(2_400);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(1_000);
    // The router hung up on the gateway (not the test's teardown).
    expect(upstreamClosedAt).toBeLessThanOrEqual(r.beforeGatewayClosed);
    expect(r.log).toMatchObject({ status: 200, upstream_error: 'deadline' });
    expect(r.emf).toMatchObject({ ErrorClass: 'deadline', UpstreamErrors: 1 });
  });
});

describe('a revoked gateway key', () => {
  async function revokedRouter() {
    let reads = 0;
    const gateway = await FakeGateway.start(errorWith(401, 'auth'));
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] }, {
      apiKeyProvider: async () => {
        reads++;
        return 'revoked-key-0123456789abcdef';
      },
    });
    return { gateway, router, reads: () => reads };
  }

  test('50 sequential 401s: one read, one re-read, then no more reads; every caller gets 502 upstream_auth_failed', async () => {
    const { gateway, router, reads } = await revokedRouter();
    try {
      for (let i = 0; i < 50; i++) {
        const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', chat('gpt-5'));
        expect(res.status).toBe(502);
        expect(errorCode(res)).toBe('upstream_auth_failed');
      }
      expect(reads()).toBe(2);
      // The re-read returned the same refused key: no request retries upstream with it.
      expect(gateway.requests).toHaveLength(50);
    } finally {
      await router.close();
      await gateway.close();
    }
  });

  test('100 concurrent 401s share the reads', async () => {
    const { gateway, router, reads } = await revokedRouter();
    try {
      const all = await Promise.all(Array.from({ length: 100 }, () => rawRequest(`${router.url}/v1/chat/completions`, 'POST', chat('gpt-5'))));
      expect(all.map((r) => r.status)).toEqual(Array(100).fill(502));
      expect(reads()).toBe(2);
      expect(gateway.requests.length).toBeLessThanOrEqual(200);
    } finally {
      await router.close();
      await gateway.close();
    }
  });

  test('rotation under concurrency: 100 requests after a rotation all succeed with the new key, after one re-read', async () => {
    let secret = 'key-A-0123456789abcdef';
    let valid = 'key-A-0123456789abcdef';
    let reads = 0;
    const gateway = await FakeGateway.start((req, res, attempt) =>
      (req.headers.authorization === valid ? respondWith() : errorWith(401, 'auth'))(req, res, attempt));
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] }, {
      apiKeyProvider: async () => {
        reads++;
        await sleep(20); // a Secrets Manager call takes a while: concurrent requests overlap it
        return secret;
      },
    });
    try {
      expect((await rawRequest(`${router.url}/v1/chat/completions`, 'POST', chat('gpt-5'))).status).toBe(200);
      secret = 'key-B-0123456789abcdef';
      valid = 'key-B-0123456789abcdef';
      const all = await Promise.all(Array.from({ length: 100 }, () => rawRequest(`${router.url}/v1/chat/completions`, 'POST', chat('gpt-5'))));
      expect(all.map((r) => r.status)).toEqual(Array(100).fill(200));
      expect(reads).toBe(2);
    } finally {
      await router.close();
      await gateway.close();
    }
  });

  test('the cache: concurrent refreshes share one read; a refused key is re-read again only after the cooldown', async () => {
    let now = 0;
    let reads = 0;
    let secret = 'revoked';
    const cache = new ApiKeyCache(async () => {
      reads++;
      return secret;
    }, { refreshCooldownMs: 10_000, now: () => now });
    expect(await cache.get()).toBe('revoked');
    expect(await Promise.all(Array.from({ length: 10 }, () => cache.refresh('revoked')))).toEqual(Array(10).fill('revoked'));
    expect(reads).toBe(2);
    now = 9_999;
    expect(await cache.refresh('revoked')).toBe('revoked');
    expect(reads).toBe(2);
    secret = 'rotated';
    now = 10_000;
    expect(await cache.refresh('revoked')).toBe('rotated');
    expect(reads).toBe(3);
    // A request still holding the old key gets the new one without a read.
    expect(await cache.refresh('revoked')).toBe('rotated');
    expect(await cache.get()).toBe('rotated');
    expect(reads).toBe(3);
  });
});

describe('retries do not compound with the OpenAI SDK\'s', () => {
  test('one create() with the SDK\'s default retries on a persistent 429 makes only the router\'s attempts', async () => {
    const gateway = await FakeGateway.start(errorWith(429, 'flat'));
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
    // The SDK's defaults (maxRetries: 2), as a team would use it.
    const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'caller-credential' });
    try {
      const err = await client.chat.completions.create({ model: 'gpt-5', messages: [] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.headers.get('x-should-retry')).toBe('false');
      expect(gateway.requests).toHaveLength(3); // 1 + the router's 2 retries
    } finally {
      await router.close();
      await gateway.close();
    }
  }, 30_000);

  test('upstream_auth_failed is not retried by the SDK', async () => {
    const gateway = await FakeGateway.start(errorWith(401, 'auth'));
    let n = 0;
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] }, { apiKeyProvider: async () => `key-${n++}-0123456789abcdef` });
    const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'caller-credential' });
    try {
      const err = await client.chat.completions.create({ model: 'gpt-5', messages: [] }).catch((e) => e);
      expect(err.status).toBe(502);
      expect(err.code).toBe('upstream_auth_failed');
      expect(gateway.requests).toHaveLength(2); // the key, then the re-read key; no SDK retry
    } finally {
      await router.close();
      await gateway.close();
    }
  }, 30_000);

  test.each([
    [400, 'false'],
    [403, 'false'],
    [404, 'false'],
    [422, 'false'],
    [500, undefined], // not retried by the router: the SDK may
  ])('HTTP %i from the gateway: x-should-retry %s', async (status, expected) => {
    const r = await once(errorWith(status, 'nested'), chat('gpt-5'));
    expect(r.res.status).toBe(status);
    expect(r.res.headers['x-should-retry']).toBe(expected);
  });

  test('retried 503s and unreachable upstreams say x-should-retry: false', async () => {
    const r503 = await once(errorWith(503, 'nested'), chat('gpt-5'));
    expect(r503).toMatchObject({ upstreamCalls: 3 });
    expect(r503.res.headers['x-should-retry']).toBe('false');
    const reset = await once((_req, res) => {
      res.socket?.destroy();
    }, chat('gpt-5'));
    expect(reset.res.status).toBe(502);
    expect(errorCode(reset.res)).toBe('upstream_unreachable');
    expect(reset.res.headers['x-should-retry']).toBe('false');
    expect(reset.log).toMatchObject({ upstream_attempts: 3, upstream_error: 'unreachable' });
  });
});

describe('a malformed upstream 200', () => {
  const json = (body: string): GatewayBehaviour => (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  };

  test.each([
    ['null', 'null'],
    ['an empty object', '{}'],
    ['choices not an array', '{"choices":"nope"}'],
    ['choices of non-objects', '{"choices":[1,null]}'],
    ['no choices at all', '{"choices":[]}'],
  ])('emulating a stream from %s: 502 upstream_invalid_response, counted as an upstream error', async (_name, body) => {
    const r = await once(json(body), chat('claude-sonnet-4-6', { stream: true }));
    expect(r.res.status).toBe(502);
    expect(errorCode(r.res)).toBe('upstream_invalid_response');
    expect(r.log).toMatchObject({ status: 502, upstream_error: '5xx' });
  });

  test('a real completion is still emulated as a stream', async () => {
    const r = await once(json(JSON.stringify(completion('claude-sonnet-4-6', 'fine'))), chat('claude-sonnet-4-6', { stream: true }));
    expect(r.res.status).toBe(200);
    expect(events(r.res.body).at(-1)).toBe('[DONE]');
  });

  test('a stream answered with a JSON completion instead of SSE is relayed as SSE (some models ignore stream: true)', async () => {
    const r = await once(json(JSON.stringify(completion('gpt-5'))), chat('gpt-5', { stream: true }));
    expect(r.res.status).toBe(200);
    expect(r.log).toMatchObject({ status: 200, input_tokens: 11, output_tokens: 7 });
    expect(r.log.upstream_error).toBeUndefined();
  });

  test('a stream answered with JSON that is not a completion: 502 upstream_invalid_response', async () => {
    const r = await once(json('{"id":"x","choices":[]}'), chat('gpt-5', { stream: true }));
    expect(r.res.status).toBe(502);
    expect(errorCode(r.res)).toBe('upstream_invalid_response');
    expect(r.log).toMatchObject({ status: 502, upstream_error: '5xx' });
  });

  test.each([
    ['an HTML page', '<html>maintenance</html>\n'],
    ['an empty body', ''],
  ])('an event-stream content type over %s: 502 upstream_invalid_response', async (_name, body) => {
    const r = await once((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(body);
    }, chat('gpt-5', { stream: true }));
    expect(r.res.status).toBe(502);
    expect(errorCode(r.res)).toBe('upstream_invalid_response');
    expect(r.log).toMatchObject({ upstream_error: '5xx' });
  });

  test('an event stream without a single data: line ends with an in-band upstream_invalid_response', async () => {
    const r = await once((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(': keep-alive\n\nevent: ping\n\n');
    }, chat('gpt-5', { stream: true }));
    expect(r.res.status).toBe(200);
    expect(events(r.res.body)).toEqual([{ error: expect.objectContaining({ code: 'upstream_invalid_response' }) }]);
    expect(r.log).toMatchObject({ upstream_error: '5xx' });
  });
});
