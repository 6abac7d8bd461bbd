import * as fc from 'fast-check';
import { routerEnvironment } from '../../src/emulator/config';
import { createRouterHandler } from '../../src/handler/app';
import { loadConfig, RouterConfigError } from '../../src/handler/config';
import { invoke, CallResult } from '../support/in-process';
import { interceptUpstream, Sent } from '../support/intercept-upstream';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());
afterEach(() => stdout.clear());

/*
 * Expected values are literal facts from the gateway's documentation
 * (reference/llm-gateway-facts.md), never read from the catalog under test:
 * a wrong catalog entry must fail these properties.
 */
/** The EU endpoint, as documented. */
const EU_ORIGIN = 'https://llm-gateway.eu.assemblyai.com';
/** The US (default) endpoint, as documented. */
const US_ORIGIN = 'https://llm-gateway.assemblyai.com';
/** The EU endpoint serves Anthropic Claude and Google Gemini only. */
const EU_SERVED_PREFIX = /^(claude-|gemini-)/;
/** Which of the US router's models accept `model_region: "global"` (Claude, GPT: yes; Qwen: no). */
const ACCEPTS_GLOBAL: Readonly<Record<string, boolean>> = { 'gpt-5': true, 'claude-sonnet-4-6': true, 'qwen3-32B': false };

const EU_ALLOWED = ['claude-sonnet-4-6', 'gemini-2.5-flash'];
/** US-only ids (OpenAI, Qwen, Kimi per the docs), put on the EU router's allow-list by a careless operator: residency must still refuse them. */
const US_ONLY = ['gpt-5', 'qwen3-32B', 'kimi-k2.5'];
const US_ALLOWED = ['gpt-5', 'claude-sonnet-4-6', 'qwen3-32B'];
const FORBIDDEN = ['gpt-5', 'gpt-4.1', 'qwen3-32B', 'kimi-k2.5', 'claude-opus-4-7', 'llama-4'];

/** Forward-path counts, reported once per file (the README quotes them). */
const reached: Record<string, { forwarded: number; runs: number }> = {};
afterAll(() => {
  // eslint-disable-next-line no-console
  console.info(Object.entries(reached).map(([name, c]) => `${name}: ${c.forwarded}/${c.runs} reached the upstream`).join('\n'));
});

/**
 * Counts the runs of a property that reached its forward-path assertions and
 * fails when fewer than `minShare` of them did: a property whose assertions
 * sit behind "if it was forwarded" proves nothing if nothing is forwarded.
 */
function forwardCounter(name: string, runs: number, minShare = 0.5) {
  const count = { forwarded: 0, runs };
  reached[name] = count;
  return {
    hit: () => {
      count.forwarded++;
    },
    check: () => {
      expect(count.forwarded).toBeGreaterThanOrEqual(Math.ceil(runs * minShare));
    },
  };
}

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

/** Anything at all in every field, and case variants of routing keys: nearly always refused. */
function chaoticRequestArb(allowed: string[]): fc.Arbitrary<Record<string, unknown>> {
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

/** Mostly `usual`, rarely (1 in `oneIn`) `rare`. */
function rarely<T, U>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<U>, oneIn: number): fc.Arbitrary<T | U> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: usual }, { weight: 1, arbitrary: rare });
}

/** Extra fields callers send that do not decide routing (never a case variant of a routing field). */
const harmlessExtras = fc.record({
  temperature: fc.double({ min: 0, max: 2, noNaN: true }),
  max_tokens: fc.nat(4096),
  metadata: fc.dictionary(fc.constantFrom('team', 'ticket', 'note'), fc.string()),
}, { requiredKeys: [] });

/**
 * A request a router would forward, but for rare hostile variations: a
 * forbidden or look-alike model, a bad `model_region`, a case variant of a
 * routing key. The common case must be valid, or the forward-path
 * assertions never run.
 */
interface RequestArbOptions {
  /** Ids on the router's allow-list that it must still refuse (rarely generated). */
  readonly alsoListed?: string[];
  /** The caller sends a valid model_region "global" now and then. */
  readonly callerGlobal?: boolean;
}

function mostlyValidRequestArb(allowed: string[], opts: RequestArbOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  const rareModel = fc.oneof(fc.constantFrom(...FORBIDDEN), lookalikes(allowed), ...(opts.alsoListed ? [fc.constantFrom(...opts.alsoListed)] : []));
  const model = rarely(fc.constantFrom(...allowed), rareModel, 20);
  const none = fc.constant(undefined);
  const badRegion = fc.constantFrom(...MODEL_REGION_VALUES.filter((v) => v !== 'global'));
  // "global" from the caller: valid on a global router for a provider that accepts it; refused otherwise.
  const region = opts.callerGlobal
    ? rarely(fc.oneof({ weight: 2, arbitrary: none }, { weight: 1, arbitrary: fc.constant('global') }), badRegion, 20)
    : rarely(none, fc.oneof(fc.constant('global'), badRegion), 20);
  const fallbackEntry = fc.record({ model, model_region: rarely(none, region, 5) }).map(dropUndefined);
  const hostileKey = rarely(none, fc.constantFrom<[string, unknown]>(['MODEL_REGION', 'global'], ['Model', 'gpt-4.1'], ['Stream', true], ['FALLBACKS', [{ model: 'gpt-4.1' }]]), 20);
  return fc.record({
    model,
    messages: fc.constant([{ role: 'user', content: 'hi' }]),
    stream: fc.oneof(none, fc.boolean()),
    model_region: region,
    fallbacks: fc.oneof({ weight: 2, arbitrary: none }, { weight: 1, arbitrary: fc.array(fallbackEntry, { maxLength: 2 }) }),
    extras: harmlessExtras,
    hostileKey,
  }).map(({ extras, hostileKey: hostile, ...fields }) => {
    const request: Record<string, unknown> = { ...dropUndefined(fields), ...extras };
    if (hostile) request[hostile[0]] = hostile[1];
    return request;
  });
}

function dropUndefined<T extends Record<string, unknown>>(value: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** Five in six requests nearly valid, one in six chaotic. */
function requestArb(allowed: string[], opts: RequestArbOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof({ weight: 5, arbitrary: mostlyValidRequestArb(allowed, opts) }, { weight: 1, arbitrary: chaoticRequestArb(allowed) });
}

/** Every response the router sends for a caller's request: 2xx, or a 4xx OpenAI-shaped error. */
function expectWellFormed(res: CallResult): void {
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
): Promise<{ res: CallResult; out?: Sent }> {
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
  // US-only ids on the EU allow-list too: only the residency check stands between them and the EU endpoint.
  const env = { LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: [...EU_ALLOWED, ...US_ONLY].join(',') };
  const handler = createRouterHandler(env, { apiKeyProvider: async () => 'eu-key-0123456789abcdef' });
  const net = useInterceptedUpstream();
  const RUNS = 300;

  test(`residency: whatever reaches the upstream goes to ${EU_ORIGIN} and carries no model_region; a rejection sends nothing`, async () => {
    const counter = forwardCounter('EU residency (hostile requests)', RUNS);
    await fc.assert(fc.asyncProperty(requestArb(EU_ALLOWED, { alsoListed: US_ONLY }), async (request) => {
      const { out } = await sendOne(handler, net(), JSON.stringify(request));
      if (!out) return;
      counter.hit();
      expect(out.url.origin).toBe(EU_ORIGIN);
      expect(out.url.pathname).toBe('/v1/chat/completions');
      expect(allModelRegions(out.body)).toEqual([]);
      for (const id of routedModels(out.body)) {
        expect(EU_ALLOWED).toContain(id);
        expect(id).toMatch(EU_SERVED_PREFIX);
      }
      expect(out.headers.authorization).toBe('eu-key-0123456789abcdef');
    }), { numRuns: RUNS });
    counter.check();
  });

  test('a US-only model on the EU allow-list is a 403 residency refusal, and nothing is sent', async () => {
    for (const model of US_ONLY) {
      const { res } = await sendOne(handler, net(), JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe('model_not_allowed');
    }
  });

  test(`one plain request with the production endpoint goes to exactly ${EU_ORIGIN}/v1/chat/completions`, async () => {
    for (const production of [env, { ...env, LLM_GATEWAY_ENDPOINT: EU_ORIGIN }]) {
      const { res, out } = await sendOne(createRouterHandler(production, { apiKeyProvider: async () => 'eu-key-0123456789abcdef' }), net(), JSON.stringify({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(200);
      expect(out!.url.href).toBe(`${EU_ORIGIN}/v1/chat/completions`);
      expect(res.headers['x-llm-gateway-region']).toBe('eu');
    }
  });
});

describe('a US router with global routing against hostile requests', () => {
  const env = { LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_GLOBAL_ROUTING: 'true', LLM_GATEWAY_ALLOWED_MODELS: US_ALLOWED.join(',') };
  const handler = createRouterHandler(env, { apiKeyProvider: async () => 'us-key-0123456789abcdef' });
  const net = useInterceptedUpstream();
  const RUNS = 300;

  test('every forwarded request satisfies every policy, global exactly where the provider accepts it', async () => {
    const counter = forwardCounter('US global routing (hostile requests)', RUNS);
    let callerGlobal = 0;
    await fc.assert(fc.asyncProperty(requestArb(US_ALLOWED, { callerGlobal: true }), async (request) => {
      const { res, out } = await sendOne(handler, net(), JSON.stringify(request));
      if (!out) return;
      counter.hit();
      if (request.model_region === 'global') callerGlobal++;
      expect(out.url.href).toBe(`${US_ORIGIN}/v1/chat/completions`);
      expect(US_ALLOWED).toContain(out.body.model);
      expect(out.body.model_region === 'global').toBe(ACCEPTS_GLOBAL[out.body.model]);
      for (const f of out.body.fallbacks ?? []) {
        expect(US_ALLOWED).toContain(f.model);
        expect(f.model_region === 'global').toBe(ACCEPTS_GLOBAL[f.model]);
      }
      expect(res.headers['x-llm-gateway-region']).toBe(out.body.model_region === 'global' ? 'global' : 'us');
    }), { numRuns: RUNS });
    counter.check();
    reached['US global routing, the caller\'s own "global"'] = { forwarded: callerGlobal, runs: RUNS };
    // The caller's own (valid) "global" was forwarded too, not just the router's. About 1 in 7
    // runs forward one (a third of requests carry it, and a US-only model refuses it): a floor of
    // 15 in 300 sits far below that mean, so it fails on a broken path rather than on chance.
    expect(callerGlobal).toBeGreaterThanOrEqual(15);
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
  const handler = createRouterHandler(routerEnvironment({ region: 'us', allowedModels: US_ALLOWED, maxBodyBytes: 64 * 1024 }), { apiKeyProvider: async () => 'k-0123456789abcdef' });
  const net = useInterceptedUpstream();

  test('arbitrary bytes: a 4xx OpenAI error or a policy-satisfying forward, never a 5xx or a crash', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
      net().sent.length = 0;
      const res = await invoke(handler, Buffer.from(bytes));
      expectWellFormed(res);
      if (res.status >= 400) expect(net().sent).toHaveLength(0);
    }), { numRuns: 300 });
  });

  test('arbitrary JSON values and strings, and valid requests carrying arbitrary extra fields', async () => {
    const RUNS = 300;
    const counter = forwardCounter('arbitrary JSON (half valid requests with arbitrary extras)', RUNS, 0.3);
    // Arbitrary values under keys that cannot fold to a routing field (no letters from m, o, d, e, l, r, g, i, n, s, t, a, f, b, c, k, p, _).
    const extraKey = fc.string({ unit: fc.constantFrom(...'xyzhjquvw0123456789-'.split('')), minLength: 1, maxLength: 8 });
    const validWithExtras = fc.tuple(fc.constantFrom(...US_ALLOWED), fc.dictionary(extraKey, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 5 }))
      .map(([model, extra]) => JSON.stringify({ ...extra, model, messages: [{ role: 'user', content: 'hi' }] }));
    const input = fc.oneof({ weight: 3, arbitrary: validWithExtras }, fc.jsonValue().map((v) => JSON.stringify(v)), fc.string(), fc.json());
    await fc.assert(fc.asyncProperty(input, async (text) => {
      net().sent.length = 0;
      const res = await invoke(handler, text);
      expectWellFormed(res);
      if (res.status >= 400) {
        expect(net().sent).toHaveLength(0);
        return;
      }
      counter.hit();
      expect(net().sent).toHaveLength(1);
      expect(US_ALLOWED).toContain(net().sent[0].body.model);
      expect(net().sent[0].body).toEqual(JSON.parse(text));
    }), { numRuns: RUNS });
    counter.check();
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
    const RUNS = 300;
    const counter = forwardCounter('EU endpoint guard (accepted URLs)', RUNS, 0.25);
    // Mostly URLs on the EU origin (with paths and queries), which must be accepted; the rest must be refused.
    const url = fc.oneof(fc.webPath().map((path) => `${EU_ORIGIN}${path}`), fc.webUrl());
    fc.assert(fc.property(url, (raw) => {
      const env = { LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ENDPOINT: raw, LLM_GATEWAY_ALLOWED_MODELS: EU_ALLOWED.join(',') };
      if (new URL(raw).origin === EU_ORIGIN) {
        counter.hit();
        // Still the EU origin; the endpoint's own path is kept below it.
        const completions = loadConfig(env).completionsUrl;
        expect(completions.origin).toBe(EU_ORIGIN);
        expect(completions.pathname).toBe(`${new URL(raw).pathname.replace(/\/+$/, '')}/v1/chat/completions`);
      } else {
        expect(() => loadConfig(env)).toThrow(RouterConfigError);
      }
    }), { numRuns: RUNS });
    counter.check();
  });
});
