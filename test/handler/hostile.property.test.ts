import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type * as https from 'node:https';
import { Readable } from 'node:stream';
import * as fc from 'fast-check';
import { GATEWAY_ENDPOINTS } from '../../src/catalog/catalog';
import { findModel, modelsServedIn } from '../../src/catalog/lookup';
import { routerEnvironment } from '../../src/emulator/config';
import { createRouterHandler } from '../../src/handler/app';
import { loadConfig, RouterConfigError } from '../../src/handler/config';
import { completion } from '../support/fake-gateway';
import { invoke, InvokeResult } from '../support/in-process';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());
afterEach(() => stdout.clear());

/** What left the router: every upstream request, recorded instead of sent. */
interface Sent {
  url: URL;
  headers: http.OutgoingHttpHeaders;
  body: any;
}

/**
 * Replaces the network: `https.request` and `http.request` record the
 * request and answer 200 with a completion, so the real EU endpoint can be
 * configured and every byte that would leave is inspected.
 */
function interceptUpstream(): { sent: Sent[]; restore: () => void } {
  const sent: Sent[] = [];
  const fake = ((url: URL, options: http.RequestOptions) => {
    const req = new EventEmitter() as any;
    req.destroy = () => undefined;
    req.end = (payload: Buffer) => {
      const body = JSON.parse(payload.toString('utf8'));
      sent.push({ url: new URL(String(url)), headers: options.headers as http.OutgoingHttpHeaders, body });
      const res = Readable.from([Buffer.from(JSON.stringify(completion(body.model)))]) as any;
      res.statusCode = 200;
      res.headers = { 'content-type': 'application/json' };
      process.nextTick(() => req.emit('response', res));
    };
    return req;
  }) as unknown as typeof https.request;
  // The module objects themselves (an `import * as` namespace is a read-only copy).
  const spies = [jest.spyOn(jest.requireActual<typeof https>('node:https'), 'request').mockImplementation(fake),
    jest.spyOn(jest.requireActual<typeof http>('node:http'), 'request').mockImplementation(fake)];
  return { sent, restore: () => spies.forEach((s) => s.mockRestore()) };
}

const EU_ALLOWED = ['claude-sonnet-4-6', 'gemini-2.5-flash'];
const US_ALLOWED = ['gpt-5', 'claude-sonnet-4-6', 'qwen3-32B'];
const FORBIDDEN = ['gpt-5', 'gpt-4.1', 'qwen3-32B', 'kimi-k2.5', 'claude-opus-4-7', 'llama-4'];

/** Ids that look like an allowed one but are not it. */
function lookalikes(ids: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...ids).map((id) => ` ${id}`),
    fc.constantFrom(...ids).map((id) => `${id} `),
    fc.constantFrom(...ids).map((id) => `${id}\n`),
    fc.constantFrom(...ids).map((id) => id.toUpperCase()),
    fc.constantFrom(...ids).map((id) => id.replace('e', '\u0435')), // Cyrillic e
    fc.constantFrom(...ids).map((id) => id.replace('-', '\u2010')), // hyphen
    fc.constantFrom(...ids).map((id) => `${id}\u200b`), // zero-width space
    fc.constantFrom(...ids).map((id) => id.replace('o', '\u043e')), // Cyrillic o
    fc.constantFrom(...ids).map((id) => id.normalize('NFKD') + '\u0301'),
  ).filter((candidate) => !ids.includes(candidate)); // a substitution that found nothing to replace is not a look-alike
}

function modelArb(allowed: string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...allowed) },
    { weight: 2, arbitrary: fc.constantFrom(...FORBIDDEN) },
    { weight: 2, arbitrary: lookalikes(allowed) },
    { weight: 1, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.anything() },
  );
}

const MODEL_REGION_VALUES = ['global', 'GLOBAL', 'Global', 'gLoBaL', ' global', 'global ', 'eu', 'us', '', 'GLOBAL\u0000'];

function requestArb(allowed: string[]): fc.Arbitrary<Record<string, unknown>> {
  const fallback = fc.oneof(
    fc.record({ model: modelArb(allowed) }, { requiredKeys: ['model'] }),
    fc.record({ model: modelArb(allowed), model_region: fc.constantFrom(...MODEL_REGION_VALUES), temperature: fc.double() }, { requiredKeys: ['model'] }),
    fc.anything(),
  );
  return fc.record({
    model: modelArb(allowed),
    messages: fc.oneof(fc.constant([{ role: 'user', content: 'hi' }]), fc.anything()),
    stream: fc.oneof(fc.boolean(), fc.anything()),
    model_region: fc.oneof(fc.constantFrom(...MODEL_REGION_VALUES), fc.anything()),
    fallbacks: fc.oneof(fc.array(fallback, { maxLength: 4 }), fc.anything()),
    MODEL_REGION: fc.constantFrom('global'),
    Model: fc.constantFrom(...FORBIDDEN),
  }, { requiredKeys: [] });
}

/** Every response the router sends for a caller's request: 2xx, or a 4xx OpenAI-shaped error. */
function expectWellFormed(res: InvokeResult): void {
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    const body = JSON.parse(res.body);
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error.message).toBe('string');
    expect(typeof body.error.type).toBe('string');
    expect('param' in body.error && 'code' in body.error).toBe(true);
  }
}

function allModelRegions(body: any): unknown[] {
  const found: unknown[] = [];
  if ('model_region' in body) found.push(body.model_region);
  for (const f of Array.isArray(body.fallbacks) ? body.fallbacks : []) if (f && typeof f === 'object' && 'model_region' in f) found.push(f.model_region);
  return found;
}

/** Intercepts the network around each test of the enclosing describe. */
function useInterceptedUpstream(): () => ReturnType<typeof interceptUpstream> {
  let net: ReturnType<typeof interceptUpstream>;
  beforeEach(() => {
    net = interceptUpstream();
  });
  afterEach(() => net.restore());
  return () => net;
}

/**
 * Sends one request and checks the invariant every router keeps: a
 * well-formed answer, nothing upstream for a rejection, exactly one upstream
 * request for a forward (which it returns for the caller's own checks).
 */
async function sendOne(
  handler: ReturnType<typeof createRouterHandler>,
  net: ReturnType<typeof interceptUpstream>,
  body: string,
): Promise<{ res: InvokeResult; out?: Sent }> {
  net.sent.length = 0;
  const res = await invoke(handler, body);
  expectWellFormed(res);
  if (res.status >= 400) {
    expect(net.sent).toHaveLength(0);
    return { res };
  }
  expect(net.sent).toHaveLength(1);
  return { res, out: net.sent[0] };
}

function routedModels(body: any): string[] {
  return [body.model, ...(Array.isArray(body.fallbacks) ? body.fallbacks.map((f: any) => f.model) : [])];
}

describe('an EU router against hostile requests (the real EU endpoint, network intercepted)', () => {
  const env = routerEnvironment({ region: 'eu', allowedModels: EU_ALLOWED });
  const handler = createRouterHandler(env, { apiKeyProvider: async () => 'eu-key' });
  const net = useInterceptedUpstream();

  test('residency: whatever reaches the upstream goes to the EU host and carries no model_region; a rejection sends nothing', async () => {
    await fc.assert(fc.asyncProperty(requestArb(EU_ALLOWED), async (request) => {
      const { out } = await sendOne(handler, net(), JSON.stringify(request));
      if (!out) return;
      expect(out.url.origin).toBe(GATEWAY_ENDPOINTS.eu);
      expect(out.url.hostname.endsWith('.eu.assemblyai.com')).toBe(true);
      expect(out.url.pathname).toBe('/v1/chat/completions');
      expect(allModelRegions(out.body)).toEqual([]);
      for (const id of routedModels(out.body)) {
        expect(EU_ALLOWED).toContain(id);
        expect(findModel(id)!.regions).toContain('eu');
      }
      expect(out.headers.authorization).toBe('eu-key');
    }), { numRuns: 300 });
  });
});

describe('a US router with global routing against hostile requests', () => {
  const env = routerEnvironment({ region: 'us', globalRouting: true, allowedModels: US_ALLOWED });
  const handler = createRouterHandler(env, { apiKeyProvider: async () => 'us-key' });
  const net = useInterceptedUpstream();

  test('every forwarded request satisfies every policy, global exactly where the model entry accepts it', async () => {
    await fc.assert(fc.asyncProperty(requestArb(US_ALLOWED), async (request) => {
      const { res, out } = await sendOne(handler, net(), JSON.stringify(request));
      if (!out) return;
      expect(out.url.origin).toBe(GATEWAY_ENDPOINTS.us);
      expect(US_ALLOWED).toContain(out.body.model);
      expect(out.body.model_region === 'global').toBe(findModel(out.body.model)!.global);
      for (const f of out.body.fallbacks ?? []) {
        expect(US_ALLOWED).toContain(f.model);
        expect(f.model_region === 'global').toBe(findModel(f.model)!.global);
      }
      expect(res.headers['x-llm-gateway-region']).toBe(out.body.model_region === 'global' ? 'global' : 'us');
    }), { numRuns: 300 });
  });

  test('look-alike and padded ids never match the allow-list', async () => {
    await fc.assert(fc.asyncProperty(lookalikes(US_ALLOWED), async (id) => {
      net().sent.length = 0;
      const res = await invoke(handler, JSON.stringify({ model: id, messages: [] }));
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe('model_not_allowed');
      expect(net().sent).toHaveLength(0);
    }), { numRuns: 200 });
  });

  test('model_region in any casing or value but "global" is a 400, and nothing is sent', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.constantFrom(...MODEL_REGION_VALUES.filter((v) => v !== 'global')), fc.string().filter((s) => s !== 'global'), fc.anything()), async (value) => {
      net().sent.length = 0;
      const res = await invoke(handler, JSON.stringify({ model: 'claude-sonnet-4-6', model_region: value }));
      if (value === undefined) return; // JSON.stringify drops the field
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.param).toBe('model_region');
      expect(net().sent).toHaveLength(0);
    }), { numRuns: 200 });
  });

  test('duplicate keys cannot smuggle a forbidden model: the upstream sees one value per key, the one that was checked', async () => {
    const forbidden = fc.constantFrom(...FORBIDDEN.filter((m) => !US_ALLOWED.includes(m)));
    await fc.assert(fc.asyncProperty(forbidden, fc.constantFrom(...US_ALLOWED), fc.boolean(), async (bad, good, badFirst) => {
      net().sent.length = 0;
      const pair = badFirst ? `"model":${JSON.stringify(bad)},"model":${JSON.stringify(good)}` : `"model":${JSON.stringify(good)},"model":${JSON.stringify(bad)}`;
      const res = await invoke(handler, `{${pair},"messages":[]}`);
      expectWellFormed(res);
      const last = badFirst ? good : bad;
      if (last === bad) {
        expect(res.status).toBe(403);
        expect(net().sent).toHaveLength(0);
      } else {
        expect(net().sent).toHaveLength(1);
        expect(net().sent[0].body.model).toBe(good);
        // Re-serialised: the forbidden id is nowhere in what left.
        expect(JSON.stringify(net().sent[0].body)).not.toContain(JSON.stringify(bad));
      }
    }), { numRuns: 100 });
  });

  test('fallbacks cannot smuggle a forbidden model', async () => {
    // At most one allowed entry: with the forbidden one the list stays within the gateway's 2 fallbacks (longer lists are a 400 of their own).
    const okList = fc.array(fc.constantFrom(...US_ALLOWED), { maxLength: 1 });
    const forbidden = fc.constantFrom(...FORBIDDEN.filter((m) => !US_ALLOWED.includes(m)));
    await fc.assert(fc.asyncProperty(okList, forbidden, fc.nat(3), async (okFallbacks, bad, at) => {
      net().sent.length = 0;
      const fallbacks = okFallbacks.map((model) => ({ model }));
      fallbacks.splice(Math.min(at, fallbacks.length), 0, { model: bad });
      const res = await invoke(handler, JSON.stringify({ model: 'gpt-5', messages: [], fallbacks }));
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error.param).toMatch(/^fallbacks\[\d\]\.model$/);
      expect(net().sent).toHaveLength(0);
    }), { numRuns: 100 });
  });
});

describe('any router against arbitrary input', () => {
  const handler = createRouterHandler(routerEnvironment({ region: 'us', allowedModels: US_ALLOWED, maxBodyBytes: 64 * 1024 }), { apiKeyProvider: async () => 'k' });
  const net = useInterceptedUpstream();

  test('arbitrary bytes: a 4xx OpenAI error or a policy-satisfying forward, never a 5xx or a crash', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
      net().sent.length = 0;
      const res = await invoke(handler, Buffer.from(bytes));
      expectWellFormed(res);
      if (res.status >= 400) expect(net().sent).toHaveLength(0);
    }), { numRuns: 300 });
  });

  test('arbitrary JSON values and strings', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string(), fc.json()), async (text) => {
      net().sent.length = 0;
      const res = await invoke(handler, text);
      expectWellFormed(res);
      if (res.status >= 400) expect(net().sent).toHaveLength(0);
      else expect(US_ALLOWED).toContain(net().sent[0].body.model);
    }), { numRuns: 300 });
  });

  test('deep nesting and huge strings are answered, not crashed on', async () => {
    const deep = '{"model":"gpt-5","messages":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}';
    const res1 = await invoke(handler, deep);
    expectWellFormed(res1);
    const huge = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }] });
    const res2 = await invoke(handler, huge);
    expect(res2.status).toBe(413);
    const hugeModel = JSON.stringify({ model: 'g'.repeat(60_000) });
    const res3 = await invoke(handler, hugeModel);
    expect(res3.status).toBe(403);
    expect(JSON.parse(res3.body).error.message.length).toBeLessThan(70_000);
  });

  test('the handler never rejects its promise (no unhandled rejection), whatever the event', async () => {
    await fc.assert(fc.asyncProperty(fc.record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), path: fc.oneof(fc.constantFrom('/v1/chat/completions', '/v1/models', '/', '/v1'), fc.webPath()) }), fc.string(), async ({ method, path }, body) => {
      const res = await invoke(handler, body, { method, path });
      expect(res.status).toBeLessThan(500);
    }), { numRuns: 200 });
  });
});

describe('the EU endpoint guard in the handler configuration', () => {
  test('an EU router refuses any host but the EU gateway unless the custom endpoint is an explicit opt-in', () => {
    fc.assert(fc.property(fc.webUrl(), (url) => {
      const env = { LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ENDPOINT: url, LLM_GATEWAY_ALLOWED_MODELS: modelsServedIn('eu').join(',') };
      if (new URL(url).origin === GATEWAY_ENDPOINTS.eu) {
        expect(loadConfig(env).endpoint.origin).toBe(GATEWAY_ENDPOINTS.eu);
      } else {
        expect(() => loadConfig(env)).toThrow(RouterConfigError);
      }
    }), { numRuns: 300 });
  });
});
