/**
 * Transcript access is an opt-in, routing keys are read the way a
 * case-insensitive (Go-style) decoder reads them at every level, fallbacks are
 * bounded, and bodies nested too deeply for the router are a 400.
 *
 * Every request goes through the real handler (in-process) to a local fake
 * gateway, which records what actually left the router.
 */
import * as fc from 'fast-check';
import { routerEnvironment } from '../../src/emulator/config';
import { createRouterHandler, StreamingHandler } from '../../src/handler/app';
import { loadConfig, RouterConfigError } from '../../src/handler/config';
import { FakeGateway, RecordedRequest } from '../support/fake-gateway';
import { invoke, CallResult } from '../support/in-process';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());
afterEach(() => stdout.clear());

/** The variable the construct and the emulator set (literal: it is a public name). */
const TRANSCRIPT_ACCESS = 'LLM_GATEWAY_TRANSCRIPT_ACCESS';
/** The router's documented limits (SECURITY.md). */
const MAX_DEPTH = 128;
/** llm-gateway-facts.md: "fallback_config.depth up to 2". */
const MAX_FALLBACKS = 2;
/** The default body limit, 1 MiB. */
const ONE_MIB = 1024 * 1024;
const US_ALLOWED = ['gpt-5', 'claude-sonnet-4-6', 'qwen3-32B'];
const ROUTING_FIELDS = ['model', 'model_region', 'stream', 'fallbacks', 'transcript_id'];

let gateway: FakeGateway;
beforeAll(async () => {
  gateway = await FakeGateway.start();
});
afterAll(() => gateway.close());

/** A US router in front of the fake gateway (built on first use, once the gateway listens). */
function router(extra: Record<string, string> = {}): StreamingHandler {
  let handler: StreamingHandler | undefined;
  return (event, stream, context) => {
    if (!handler) {
      const env = { ...routerEnvironment({ region: 'us', allowedModels: US_ALLOWED, endpoint: gateway.url }), ...extra };
      if (extra[TRANSCRIPT_ACCESS] === undefined) delete env[TRANSCRIPT_ACCESS]; // the default: variable absent
      handler = createRouterHandler(env, { apiKeyProvider: async () => 'k-0123456789abcdef' });
    }
    return handler(event, stream, context);
  };
}

/**
 * Sends one body and checks what every answer must be: below 500, an
 * OpenAI-shaped error for a refusal, and nothing upstream for a refusal.
 */
async function send(handler: StreamingHandler, body: string): Promise<{ res: CallResult; error?: any; sent: RecordedRequest[] }> {
  gateway.requests.length = 0;
  const res = await invoke(handler, body);
  const sent = [...gateway.requests];
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    const parsed = JSON.parse(res.body);
    expect(Object.keys(parsed)).toEqual(['error']);
    expect(typeof parsed.error.message).toBe('string');
    expect(typeof parsed.error.type).toBe('string');
    expect(typeof parsed.error.code).toBe('string');
    expect(sent).toHaveLength(0);
    return { res, error: parsed.error, sent };
  }
  expect(sent).toHaveLength(1);
  return { res, sent };
}

function lastEmf(): any {
  return stdout.emf.at(-1);
}

describe('transcript access is an explicit opt-in', () => {
  const byDefault = router();
  const disabled = router({ [TRANSCRIPT_ACCESS]: 'false' });
  const enabled = router({ [TRANSCRIPT_ACCESS]: 'true' });

  test('without the variable, transcript_id at the top level is a 403 transcript_access_disabled, counted as a rejection, nothing sent', async () => {
    const { res, error } = await send(byDefault, JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: '{{ transcript }}' }], transcript_id: 'tr_123' }));
    expect(res.status).toBe(403);
    expect(error).toMatchObject({ type: 'permission_error', code: 'transcript_access_disabled', param: 'transcript_id' });
    expect(lastEmf()).toMatchObject({ Reason: 'transcript_access', Rejected: 1, Requests: 1 });
  });

  test('inside any fallback too, whatever the value', async () => {
    for (const value of ['tr_1', '', null, 5, ['tr_1'], { id: 'tr_1' }]) {
      const { res, error } = await send(disabled, JSON.stringify({ model: 'gpt-5', messages: [], fallbacks: [{ model: 'claude-sonnet-4-6' }, { model: 'qwen3-32B', transcript_id: value }] }));
      expect(res.status).toBe(403);
      expect(error).toMatchObject({ type: 'permission_error', code: 'transcript_access_disabled', param: 'fallbacks[1].transcript_id' });
    }
  });

  test('property: a request carrying transcript_id anywhere is refused; one without it is forwarded without it', async () => {
    let forwarded = 0;
    const placement = fc.record({
      top: fc.boolean(),
      fallbackCount: fc.integer({ min: 0, max: MAX_FALLBACKS }),
      inFallback: fc.array(fc.boolean(), { minLength: MAX_FALLBACKS, maxLength: MAX_FALLBACKS }),
      value: fc.oneof(fc.string(), fc.jsonValue()),
    });
    await fc.assert(fc.asyncProperty(placement, async ({ top, fallbackCount, inFallback, value }) => {
      const fallbacks = Array.from({ length: fallbackCount }, (_, i) => ({
        model: US_ALLOWED[i % US_ALLOWED.length],
        ...(inFallback[i] ? { transcript_id: value } : {}),
      }));
      const body = { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], ...(top ? { transcript_id: value } : {}), ...(fallbackCount > 0 ? { fallbacks } : {}) };
      const carries = top || fallbacks.some((f) => 'transcript_id' in f);
      const { res, error, sent } = await send(byDefault, JSON.stringify(body));
      if (carries) {
        expect(res.status).toBe(403);
        expect(error.code).toBe('transcript_access_disabled');
      } else {
        expect(res.status).toBe(200);
        forwarded++;
        expect(sent[0].rawBody).not.toContain('transcript_id');
      }
    }), { numRuns: 200 });
    // Roughly a quarter of the cases carry no transcript_id at all; the forward path must be exercised.
    expect(forwarded).toBeGreaterThanOrEqual(20);
  });

  test('with LLM_GATEWAY_TRANSCRIPT_ACCESS=true, transcript_id is forwarded as sent (top level and fallbacks)', async () => {
    const body = { model: 'gpt-5', messages: [], transcript_id: 'tr_top', fallbacks: [{ model: 'claude-sonnet-4-6', transcript_id: 'tr_fb' }] };
    const { res, sent } = await send(enabled, JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(sent[0].json.transcript_id).toBe('tr_top');
    expect(sent[0].json.fallbacks[0].transcript_id).toBe('tr_fb');
  });

  test('the variable accepts only "true" or "false"', () => {
    const base = { LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5' };
    for (const bad of ['yes', 'TRUE', '1', '']) {
      expect(() => loadConfig({ ...base, [TRANSCRIPT_ACCESS]: bad })).toThrow(RouterConfigError);
    }
  });

  test('the emulator sets the variable: false by default, true with transcriptAccess', () => {
    expect(routerEnvironment({ region: 'us' })[TRANSCRIPT_ACCESS]).toBe('false');
    expect(routerEnvironment({ region: 'us', transcriptAccess: true } as Parameters<typeof routerEnvironment>[0])[TRANSCRIPT_ACCESS]).toBe('true');
  });
});

/**
 * Spellings a Go-style decoder (encoding/json: case-insensitive key matching with
 * Unicode simple case folding, last key wins) reads as the field: every letter
 * in either case, and the two non-ASCII code points whose simple case folding is
 * an ASCII letter: U+017F LATIN SMALL LETTER LONG S folds to 's', U+212A KELVIN
 * SIGN folds to 'k'.
 */
const FOLD_VARIANTS: Record<string, string[]> = { s: ['s', 'S', '\u017f'], k: ['k', 'K', '\u212a'] };
function foldedSpelling(field: string): fc.Arbitrary<string> {
  return fc.tuple(...[...field].map((ch) => fc.constantFrom(...(FOLD_VARIANTS[ch] ?? [...new Set([ch, ch.toUpperCase()])]))))
    .map((chars) => chars.join(''))
    .filter((spelling) => spelling !== field);
}

/** A value that would matter if the gateway read it as the routing field. */
const SMUGGLED: Record<string, unknown> = {
  model: 'gpt-4.1',
  model_region: 'global',
  stream: true,
  fallbacks: [{ model: 'gpt-4.1' }],
  transcript_id: 'tr_other_team',
};

describe('routing keys are read the way a case-insensitive decoder reads them, at every level', () => {
  const handler = router({ [TRANSCRIPT_ACCESS]: 'true' });

  test('property: a folded spelling of a routing field, at the top level or inside a fallback, is a 400 and nothing is sent', async () => {
    const arb = fc.record({
      field: fc.constantFrom(...ROUTING_FIELDS).chain((field) => foldedSpelling(field).map((key) => ({ field, key }))),
      where: fc.constantFrom(-1, 0, 1), // -1: top level, else the index of the fallback
    });
    await fc.assert(fc.asyncProperty(arb, async ({ field: { field, key }, where }) => {
      const fallbacks: Array<Record<string, unknown>> = [{ model: 'claude-sonnet-4-6' }, { model: 'qwen3-32B' }];
      const body: Record<string, unknown> = { model: 'gpt-5', messages: [], fallbacks };
      if (where < 0) body[key] = SMUGGLED[field];
      else fallbacks[where][key] = SMUGGLED[field];
      const { res, error } = await send(handler, JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(error.code).toBe('invalid_field');
      expect(error.param).toBe(where < 0 ? key : `fallbacks[${where}].${key}`);
    }), { numRuns: 300 });
  });

  test('examples: long s and the Kelvin sign (what toLowerCase() misses), in both places', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ model: 'gpt-5', ['\u017ftream']: true }, '\u017ftream'],
      [{ model: 'gpt-5', ['fallbac\u212a\u017f']: [{ model: 'gpt-4.1' }] }, 'fallbac\u212a\u017f'],
      [{ model: 'gpt-5', ['tran\u017fcript_id']: 'tr_1' }, 'tran\u017fcript_id'],
      [{ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B', Model: 'gpt-4.1' }] }, 'fallbacks[0].Model'],
      [{ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B', MODEL_REGION: 'global' }] }, 'fallbacks[0].MODEL_REGION'],
      [{ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B', ['\u017fTREAM']: true }] }, 'fallbacks[0].\u017fTREAM'],
      [{ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B', Transcript_Id: 'tr_1' }] }, 'fallbacks[0].Transcript_Id'],
    ];
    for (const [body, param] of cases) {
      const { res, error } = await send(handler, JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_field', param });
    }
  });

  test('also refused: what looser decoders fold (encoding/json\'s ToUpper(ToLower(r)) reads dotless \u0131 and \u0130 as i; full case folding reads \ufb05 as st)', async () => {
    // UnicodeData.txt: U+0131 upper-cases to U+0049, U+0130 lower-cases to U+0069; CaseFolding.txt (F): U+FB05 folds to "st".
    for (const key of ['transcr\u0131pt_id', 'TRANSCR\u0130PT_ID', '\ufb05ream', 'MODEL_REG\u0130ON']) {
      const { res, error } = await send(handler, JSON.stringify({ model: 'gpt-5', messages: [], fallbacks: [{ model: 'qwen3-32B', [key]: 'x' }] }));
      expect(res.status).toBe(400);
      expect(error).toMatchObject({ code: 'invalid_field', param: `fallbacks[0].${key}` });
    }
  });

  test('a duplicate key in another case cannot override the checked one ("last key wins" upstream)', async () => {
    const { res, error } = await send(handler, '{"model":"gpt-5","messages":[],"fallbacks":[{"model":"qwen3-32B","MODEL":"gpt-4.1"}]}');
    expect(res.status).toBe(400);
    expect(error.param).toBe('fallbacks[0].MODEL');
  });

  test('property (control): keys that do not fold to a routing field are forwarded as sent, at both levels', async () => {
    // Near misses: other letters, look-alikes from other scripts, separators. None folds to a routing field.
    const nearMiss = fc.constantFrom('models', 'model-region', 'modelregion', 'streams', 'stream ', ' model', '\u0455tream' /* Cyrillic dze */,
      'fallback', 'transcript-id', 'transcript_ids', 'mode1', 'model_regi0n', 'temperature', 'Temperature', 'MAX_TOKENS', 'metadata');
    let forwarded = 0;
    await fc.assert(fc.asyncProperty(nearMiss, fc.boolean(), async (key, inFallback) => {
      const body: any = { model: 'gpt-5', messages: [], fallbacks: [{ model: 'claude-sonnet-4-6' }] };
      if (inFallback) body.fallbacks[0][key] = 'x';
      else body[key] = 'x';
      const { res, sent } = await send(handler, JSON.stringify(body));
      expect(res.status).toBe(200);
      forwarded++;
      expect(inFallback ? sent[0].json.fallbacks[0][key] : sent[0].json[key]).toBe('x');
    }), { numRuns: 100 });
    expect(forwarded).toBeGreaterThanOrEqual(50);
  });

  test('fallbacks cannot be nested, whatever the value', async () => {
    for (const nested of [[{ model: 'gpt-4.1' }], [], null, 'gpt-4.1']) {
      const { res, error } = await send(handler, JSON.stringify({ model: 'gpt-5', messages: [], fallbacks: [{ model: 'qwen3-32B', fallbacks: nested }] }));
      expect(res.status).toBe(400);
      expect(error).toMatchObject({ code: 'nested_fallbacks', param: 'fallbacks[0].fallbacks' });
    }
  });

  test(`property: at most ${MAX_FALLBACKS} fallbacks (the gateway's documented depth); more is a 400, nothing sent`, async () => {
    let forwarded = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom(...US_ALLOWED), { maxLength: 2 * MAX_FALLBACKS + 1 }), async (ids) => {
      const { res, error, sent } = await send(handler, JSON.stringify({ model: 'gpt-5', messages: [], fallbacks: ids.map((model) => ({ model })) }));
      if (ids.length > MAX_FALLBACKS) {
        expect(res.status).toBe(400);
        expect(error).toMatchObject({ code: 'too_many_fallbacks', param: 'fallbacks' });
      } else {
        expect(res.status).toBe(200);
        forwarded++;
        expect(sent[0].json.fallbacks.map((f: any) => f.model)).toEqual(ids);
      }
    }), { numRuns: 150 });
    expect(forwarded).toBeGreaterThanOrEqual(150 / 4);
  });
});

describe('bodies nested too deeply to process are a 400 at the default 1 MiB limit', () => {
  const handler = router();

  test('500,000 nested arrays inside 1 MiB: 400 body_too_deep, nothing sent (not a 500)', async () => {
    const n = 500_000;
    const body = '{"model":"gpt-5","messages":' + '['.repeat(n) + ']'.repeat(n) + '}';
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(ONE_MIB);
    const { res, error } = await send(handler, body);
    expect(res.status).toBe(400);
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'body_too_deep' });
    expect(lastEmf()).toMatchObject({ Reason: 'bad_request', Rejected: 1 });
  });

  test('170,000 nested objects inside 1 MiB, and deep nesting in a fallback: 400 body_too_deep', async () => {
    const n = 170_000;
    const objects = '{"model":"gpt-5","messages":[],"metadata":' + '{"a":'.repeat(n) + '0' + '}'.repeat(n) + '}';
    expect(Buffer.byteLength(objects)).toBeLessThanOrEqual(ONE_MIB);
    expect((await send(handler, objects)).error.code).toBe('body_too_deep');
    const inFallback = '{"model":"gpt-5","fallbacks":[{"model":"qwen3-32B","tools":' + '['.repeat(5_000) + ']'.repeat(5_000) + '}]}';
    expect((await send(handler, inFallback)).error.code).toBe('body_too_deep');
  });

  test('brackets inside strings are text, not nesting: 900,000 of them are forwarded', async () => {
    const content = '[{'.repeat(450_000) + '\\"[';
    const body = `{"model":"gpt-5","messages":[{"role":"user","content":"${content}"}]}`;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(ONE_MIB);
    const { res, sent } = await send(handler, body);
    expect(res.status).toBe(200);
    expect(sent[0].json.messages[0].content).toBe(JSON.parse(`"${content}"`));
  });

  test(`property: nesting up to ${MAX_DEPTH} levels (the body object included) is forwarded intact, deeper is a 400`, async () => {
    let forwarded = 0;
    const depth = fc.oneof(fc.integer({ min: 1, max: MAX_DEPTH }), fc.integer({ min: MAX_DEPTH + 1, max: 20_000 }));
    await fc.assert(fc.asyncProperty(depth, fc.array(fc.boolean(), { minLength: 1, maxLength: 64 }), async (d, pattern) => {
      // The body object is level 1; `metadata` holds d - 1 more levels of arrays and objects.
      let inner = '0';
      for (let level = d - 1; level >= 1; level--) inner = pattern[level % pattern.length] ? `[${inner}]` : `{"k":${inner}}`;
      const body = `{"model":"gpt-5","messages":[],"metadata":${inner}}`;
      const { res, error, sent } = await send(handler, body);
      if (d > MAX_DEPTH) {
        expect(res.status).toBe(400);
        expect(error.code).toBe('body_too_deep');
      } else {
        expect(res.status).toBe(200);
        forwarded++;
        expect(sent[0].json.metadata).toEqual(JSON.parse(inner));
      }
    }), { numRuns: 120 });
    expect(forwarded).toBeGreaterThanOrEqual(120 / 4);
  });
});
