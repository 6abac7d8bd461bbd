import * as http from 'node:http';
import { completion, errorWith, FakeGateway, GatewayBehaviour, respondWith, sleep, sseEvent, waitUntil } from '../support/fake-gateway';
import { rawRequest, RunningRouter, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

const UPSTREAM_TIMEOUT_MS = 400;

interface Outcome {
  status: number;
  code: string | undefined;
  body: string;
  elapsedMs: number;
  attempts: number;
  /** The request's log line: how it settled, and why when the outcome is unknown. */
  log: Record<string, unknown>;
}

/**
 * One request through a router whose upstream misbehaves as told. Each case
 * states what the caller gets, how many upstream attempts were made and that
 * the invocation ended within its budget.
 */
async function callWith(behaviour: GatewayBehaviour, body: object = { model: 'gpt-5', messages: [] }): Promise<Outcome> {
  const gateway = await FakeGateway.start(behaviour);
  const router: RunningRouter = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5', 'claude-sonnet-4-6'], upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS }, { timeoutMs: 10_000 });
  const started = Date.now();
  stdout.clear();
  try {
    const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify(body));
    let code: string | undefined;
    try {
      code = JSON.parse(res.body).error?.code;
    } catch {
      code = undefined;
    }
    const log = stdout.requestLogs.at(-1);
    return { status: res.status, code, body: res.body, elapsedMs: Date.now() - started, attempts: gateway.requests.length, log };
  } finally {
    await router.close();
    await gateway.close();
  }
}

describe('upstream faults', () => {
  test('an upstream that never answers: 504 upstream_timeout after one attempt, within the timeout budget', async () => {
    const r = await callWith(() => new Promise(() => undefined));
    expect(r).toMatchObject({ status: 504, code: 'upstream_timeout', attempts: 1 });
    expect(r.elapsedMs).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 50);
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'timeout' });
    expect(r.elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3_000);
  });

  test('an upstream slower than the timeout: 504, and its late answer is discarded', async () => {
    const r = await callWith(async (req, res) => {
      await sleep(UPSTREAM_TIMEOUT_MS + 400);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(req.json.model)));
    });
    expect(r).toMatchObject({ status: 504, code: 'upstream_timeout', attempts: 1 });
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'timeout' });
    expect(r.elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3_000);
  });

  test('a connection reset before the headers: retried twice, then 502 upstream_unreachable', async () => {
    const r = await callWith((_req, res) => {
      res.socket?.destroy();
    });
    expect(r).toMatchObject({ status: 502, code: 'upstream_unreachable', attempts: 3 });
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'cut' });
    expect(r.elapsedMs).toBeLessThan(3_000);
  });

  test('a reset that heals: the retry succeeds and the caller never sees the failure', async () => {
    const r = await callWith((req, res, attempt) => {
      if (attempt === 1) res.socket?.destroy();
      else return respondWith()(req, res, attempt);
    });
    expect(r).toMatchObject({ status: 200, attempts: 2 });
    expect(JSON.parse(r.body).choices[0].message.content).toBe('Hello!');
    expect(r.log.settlement).toBe('answered');
    expect(r.log.settlement_cause).toBeUndefined();
  });

  test('a reset in the middle of a JSON body: 502, not retried (the upstream may have done the work)', async () => {
    const r = await callWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"id":"chatcmpl-1","choices":[{"message":{"content":"par');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    expect(r).toMatchObject({ status: 502, code: 'upstream_unreachable', attempts: 1 });
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'cut' });
  });

  test('a reset in the middle of an SSE stream: the caller keeps what arrived and gets an in-band error event', async () => {
    const r = await callWith((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(req.json.model, 'partial'));
      setTimeout(() => res.socket?.destroy(), 30);
    }, { model: 'gpt-5', stream: true, messages: [] });
    expect(r.status).toBe(200);
    expect(r.attempts).toBe(1);
    expect(r.body).toContain('"partial"');
    expect(r.body).toMatch(/data: \{"error":\{"message":"The LLM Gateway could not be reached[^"]*","type":"api_error","param":null,"code":"upstream_unreachable"\}\}/);
    expect(r.body).not.toContain('[DONE]');
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'cut' });
  });

  test('a stream that goes silent: an in-band upstream_timeout after the idle timeout', async () => {
    const r = await callWith((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(req.json.model, 'then silence'));
    }, { model: 'gpt-5', stream: true, messages: [] });
    expect(r.body).toContain('"then silence"');
    expect(r.body).toContain('"code":"upstream_timeout"');
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'timeout' });
    expect(r.elapsedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS + 3_000);
  });

  test.each([500, 502, 503])('HTTP %i: passed through with a normalised body; 502/503 retried twice, 500 not', async (status) => {
    const r = await callWith(errorWith(status, 'nested'));
    expect(r.status).toBe(status);
    expect(JSON.parse(r.body).error).toEqual({ message: `nested error ${status}`, type: 'api_error', param: null, code: 'bad_thing' });
    expect(r.attempts).toBe(status === 500 ? 1 : 3);
    expect(r.log).toMatchObject({ settlement: 'refused_upstream', charge_basis: 'none' });
    expect(r.log.settlement_cause).toBeUndefined();
  });

  test('429 with Retry-After: waits as asked, then succeeds', async () => {
    const r = await callWith((req, res, attempt) => {
      if (attempt === 1) return errorWith(429, 'flat', { 'retry-after': '0.2' })(req, res, attempt);
      else return respondWith()(req, res, attempt);
    });
    expect(r).toMatchObject({ status: 200, attempts: 2 });
    expect(r.elapsedMs).toBeGreaterThanOrEqual(190);
  });

  test('429 whose Retry-After does not fit the deadline: passed through at once with its headers', async () => {
    const gateway = await FakeGateway.start(errorWith(429, 'flat', { 'retry-after': '30', 'x-ratelimit-remaining': '0' }));
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'], upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS });
    try {
      const started = Date.now();
      const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', messages: [] }));
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('30');
      expect(res.headers['x-ratelimit-remaining']).toBe('0');
      expect(JSON.parse(res.body).error.type).toBe('rate_limit_error');
      expect(gateway.requests).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await router.close();
      await gateway.close();
    }
  });

  test('invalid JSON with 200: 502 upstream_invalid_response', async () => {
    const r = await callWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>oops</html>');
    });
    expect(r).toMatchObject({ status: 502, code: 'upstream_invalid_response', attempts: 1 });
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'invalid_answer' });
  });

  test('an empty body with 200: 502 upstream_invalid_response naming the empty body', async () => {
    const r = await callWith((_req, res) => {
      res.writeHead(200).end();
    });
    expect(r).toMatchObject({ status: 502, code: 'upstream_invalid_response', attempts: 1 });
    expect(JSON.parse(r.body).error.message).toContain('an empty body');
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'invalid_answer' });
  });

  test('an empty error body: the status is kept and the message says so', async () => {
    const r = await callWith((_req, res) => {
      res.writeHead(503).end();
    });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).error.message).toContain('HTTP 503 and an empty body');
  });

  test('a very large answer (over 10 MiB) is refused with 502 rather than buffered; the log says why', async () => {
    stdout.clear();
    const r = await callWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      for (let i = 0; i < 11; i++) res.write(chunk);
      res.end();
    });
    expect(r).toMatchObject({ status: 502, code: 'upstream_unreachable', attempts: 1 });
    // The caller gets the generic upstream failure (no upstream detail in bodies); the operator the reason.
    expect(JSON.parse(r.body).error.message).toContain('could not be reached');
    expect(stdout.requestLogs.at(-1).error_detail).toContain('exceeded');
    expect(r.log).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'too_large' });
  });

  test('a large but acceptable answer (2 MiB) passes through byte for byte', async () => {
    const content = 'x'.repeat(2 * 1024 * 1024);
    const r = await callWith((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(req.json.model, content)));
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).choices[0].message.content).toHaveLength(content.length);
  });
});

describe('the gateway key', () => {
  test('a 401 makes the router re-read the key once and retry with the new one', async () => {
    const keys = ['old-key-0123456789abcdef', 'rotated-key-0123456789abcdef'];
    let reads = 0;
    const gateway = await FakeGateway.start((req, res, attempt) => {
      if (req.headers.authorization === 'old-key-0123456789abcdef') return errorWith(401, 'auth')(req, res, attempt);
      else return respondWith()(req, res, attempt);
    });
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] }, { apiKeyProvider: async () => keys[Math.min(reads++, 1)] });
    try {
      const first = await router.client.chat.completions.create({ model: 'gpt-5', messages: [] });
      expect(first.choices[0].message.content).toBe('Hello!');
      expect(reads).toBe(2);
      expect(gateway.requests.map((r) => r.headers.authorization)).toEqual(['old-key-0123456789abcdef', 'rotated-key-0123456789abcdef']);
      // Cached from then on.
      await router.client.chat.completions.create({ model: 'gpt-5', messages: [] });
      expect(reads).toBe(2);
    } finally {
      await router.close();
      await gateway.close();
    }
  });

  test('a key the gateway keeps refusing: 502 upstream_auth_failed (not the caller\'s 401), after exactly one refresh', async () => {
    let reads = 0;
    const r = await (async () => {
      const gateway = await FakeGateway.start(errorWith(401, 'auth'));
      const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] }, { apiKeyProvider: async () => `key-${reads++}-0123456789abcdef` });
      try {
        const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', messages: [] }));
        return { status: res.status, code: JSON.parse(res.body).error.code, attempts: gateway.requests.length };
      } finally {
        await router.close();
        await gateway.close();
      }
    })();
    expect(r).toEqual({ status: 502, code: 'upstream_auth_failed', attempts: 2 });
    expect(reads).toBe(2);
  });

  test('a secret that cannot be read: 500 for that request, and the next request tries again', async () => {
    let reads = 0;
    const gateway = await FakeGateway.start();
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] }, {
      apiKeyProvider: async () => {
        reads++;
        if (reads === 1) throw new Error('AccessDeniedException');
        return 'k-0123456789abcdef';
      },
    });
    try {
      const first = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', messages: [] }));
      expect(first.status).toBe(500);
      expect(JSON.parse(first.body).error.code).toBe('secret_unavailable');
      expect(gateway.requests).toHaveLength(0);
      const second = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', messages: [] }));
      expect(second.status).toBe(200);
    } finally {
      await router.close();
      await gateway.close();
    }
  });
});

describe('a client that disconnects mid-stream', () => {
  test('makes the router abort the upstream request', async () => {
    let upstreamClosedEarly = false;
    let sent = 0;
    const gateway = await FakeGateway.start(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.on('close', () => {
        if (!res.writableFinished) upstreamClosedEarly = true;
      });
      for (let i = 0; i < 100 && !res.destroyed; i++) {
        res.write(sseEvent(req.json.model, `chunk-${i}`));
        sent++;
        await sleep(20);
      }
      res.end('data: [DONE]\n\n');
    });
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
    try {
      const stream = await router.client.chat.completions.create({ model: 'gpt-5', messages: [], stream: true });
      let received = 0;
      for await (const chunk of stream) {
        void chunk;
        if (++received === 3) break; // leaving the loop aborts the HTTP request
      }
      await waitUntil(() => upstreamClosedEarly, 3_000);
      expect(upstreamClosedEarly).toBe(true);
      expect(sent).toBeLessThan(100);
    } finally {
      await router.close();
      await gateway.close();
    }
  });

  /** Sends a buffered request and hangs up as soon as the gateway has it. */
  async function hangUpOnceForwarded(router: RunningRouter, gateway: FakeGateway): Promise<void> {
    const req = http.request(`${router.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => undefined); // the hang-up is ours
    req.end(JSON.stringify({ model: 'gpt-5', messages: [] }));
    await waitUntil(() => gateway.requests.length > 0, 3_000, 10);
    req.destroy();
  }

  test('while a buffered answer is pending, makes the router close the upstream request', async () => {
    let upstreamClosedEarly = false;
    // A gateway that never answers: only the router can end this request.
    const gateway = await FakeGateway.start((_req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) upstreamClosedEarly = true;
      });
    });
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
    try {
      await hangUpOnceForwarded(router, gateway);
      await waitUntil(() => upstreamClosedEarly, 2_000);
      expect(upstreamClosedEarly).toBe(true);
    } finally {
      await router.close();
      await gateway.close();
    }
  });

  test('while the router waits to retry, makes no further attempt', async () => {
    const gateway = await FakeGateway.start(errorWith(503, 'nested', { 'retry-after': '1' }));
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
    try {
      await hangUpOnceForwarded(router, gateway);
      await sleep(1_500); // past the Retry-After the router would have honoured
      expect(gateway.requests).toHaveLength(1);
    } finally {
      await router.close();
      await gateway.close();
    }
  });
});
