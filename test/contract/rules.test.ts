/**
 * The shared rules (src/contract/rules.ts) that synth and the
 * emulator apply, against a small catalog written out here, so that every
 * message is a literal: the prop, the value, the problem and the fix a user
 * reads. The bundled catalog's own facts are tested elsewhere.
 */
import { parseCatalog } from '../../src/contract/model-catalog';
import {
  checkAllowedModels, checkEgressProxy, checkGlobalRouting, checkGlobalRoutingUseful, checkMaxBodyBytes,
  checkTenantModels, checkTimeouts, RuleViolation, withArticle,
} from '../../src/contract/rules';

const model = (id: string, provider: string, regions: string[], global: boolean, extra: Record<string, unknown> = {}) =>
  ({ id, provider, regions, global, stream: false, ...extra });

const CATALOG = parseCatalog({
  schema: 1,
  generatedAt: '2026-01-02T00:00:00.000Z',
  providers: {
    anthropic: { name: 'Claude', prefixes: ['claude-'] },
    openai: { name: 'GPT', prefixes: ['gpt-', 'o3-'] },
    house: { name: 'House', prefixes: [] },
  },
  models: [
    model('claude-sonnet-9', 'anthropic', ['us', 'eu'], true),
    model('claude-sonnet-8', 'anthropic', ['us', 'eu'], true, { retired: true }),
    model('claude-eu-1', 'anthropic', ['eu'], true),
    model('gpt-pro-3', 'openai', ['us'], true),
    model('gpt-mini-3', 'openai', ['us'], false),
    model('house-model', 'house', ['us'], false),
  ],
}, 'test catalog');

const REFRESH = 'if the gateway lists it now, write a fresh catalog with `npx llm-gateway-router catalog fetch --out gateway-catalog.json` '
  + 'and pass catalog: GatewayCatalog.fromFile(\'gateway-catalog.json\')';
const isToken = (s: string) => s.includes('${Token');

function violation(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuleViolation) return err.message;
    throw err;
  }
  throw new Error('expected a RuleViolation');
}

const models = (region: 'us' | 'eu', entries: string[] | undefined, allowAll?: boolean) =>
  checkAllowedModels(region, entries, isToken, CATALOG, allowAll);

test('a rule violation is named as such (the emulator prints it)', () => {
  expect(new RuleViolation('p', 'v', 'is bad', 'fix it')).toMatchObject({ name: 'RuleViolation', message: 'p: v is bad. Fix: fix it' });
});

describe('global routing', () => {
  test('refused on an EU router only', () => {
    expect(violation(() => checkGlobalRouting(true, 'eu'))).toBe('globalRouting: true is not allowed with region: GatewayRegion.EU, because global routing sends '
      + 'requests to providers\' non-regional endpoints and would abandon EU data residency. Fix: remove globalRouting from the EU router, or use GatewayRegion.US '
      + 'for traffic without residency needs');
    expect(() => checkGlobalRouting(true, 'us')).not.toThrow();
    expect(() => checkGlobalRouting(false, 'eu')).not.toThrow();
  });

  test('a warning when no allowed model accepts it, listing the US models that do (live ones only)', () => {
    const checked = (ids: string[], hasTokens = false) => ({ models: ids, hasTokens, warnings: [] });
    expect(checkGlobalRoutingUseful(true, checked(['gpt-mini-3', 'house-model']), CATALOG)).toEqual({
      id: 'globalRoutingUnused',
      message: 'globalRouting is true but no model in allowedModels accepts global routing (the catalog\'s models that do: claude-sonnet-9, gpt-pro-3); '
        + 'every request will be processed in-region.',
    });
    expect(checkGlobalRoutingUseful(true, checked(['gpt-nano-3']), CATALOG)?.id).toBe('globalRoutingUnused'); // an id the catalog does not list yet
    expect(checkGlobalRoutingUseful(true, checked(['gpt-mini-3', 'gpt-pro-3']), CATALOG)).toBeUndefined();
    expect(checkGlobalRoutingUseful(false, checked(['gpt-mini-3']), CATALOG)).toBeUndefined();
    expect(checkGlobalRoutingUseful(true, checked(['${Token[X]}'], true), CATALOG)).toBeUndefined();
  });
});

describe('allowedModels', () => {
  test('unset: every live model of the region, with a warning unless allowAllModels says so', () => {
    expect(models('us', undefined)).toEqual({
      models: ['claude-sonnet-9', 'gpt-pro-3', 'gpt-mini-3', 'house-model'],
      hasTokens: false,
      warnings: [{
        id: 'allowedModelsUnpinned',
        message: 'allowedModels is not set, so callers may use all 4 models the US endpoint lists in the catalog (2026-01-02T00:00:00.000Z); a newer catalog or '
          + 'library version widens that without a code change. Pin the list with allowedModels: [...], or set allowAllModels: true to accept it. The effective '
          + 'list is the function\'s LLM_GATEWAY_ALLOWED_MODELS, so cdk diff shows every change.',
      }],
    });
    expect(models('eu', undefined, true)).toEqual({ models: ['claude-sonnet-9', 'claude-eu-1'], hasTokens: false, warnings: [] });
  });

  test('a valid list is returned as given, with no warning', () => {
    expect(models('us', ['gpt-pro-3', 'claude-sonnet-9'])).toEqual({ models: ['gpt-pro-3', 'claude-sonnet-9'], hasTokens: false, warnings: [] });
  });

  test.each<[string, 'us' | 'eu', string[], boolean | undefined, string]>([
    ['with allowAllModels', 'us', ['gpt-pro-3'], true,
      'allowAllModels: true contradicts allowedModels, which lists the models callers may use. Fix: remove allowAllModels, or remove allowedModels to allow every model the endpoint lists'],
    ['empty', 'eu', [], undefined,
      'allowedModels: [] is empty, so the router would refuse every request. Fix: omit allowedModels to allow every model the EU endpoint serves, or list at least one id'],
    ['an entry with a comma', 'us', ['gpt-pro-3, gpt-mini-3'], undefined,
      'allowedModels: "gpt-pro-3, gpt-mini-3" contains a comma; the router reads the list as comma-separated ids. Fix: list each id as its own entry: ["gpt-pro-3","gpt-mini-3"]'],
    ['an entry with a space', 'us', [' gpt-pro-3'], undefined,
      'allowedModels: " gpt-pro-3" contains whitespace or is empty; model ids are exact strings. Fix: write the id without spaces ("gpt-pro-3")'],
    ['an empty entry', 'us', [''], undefined,
      'allowedModels: "" contains whitespace or is empty; model ids are exact strings. Fix: write the id without spaces'],
    ['an id listed twice', 'us', ['gpt-pro-3', 'gpt-pro-3'], undefined,
      'allowedModels: "gpt-pro-3" is listed twice. Fix: list each model id once'],
    ['a US-only model on an EU router', 'eu', ['gpt-pro-3'], undefined,
      'allowedModels: "gpt-pro-3" is a GPT model, and the EU endpoint does not serve it (the catalog has it in US only). Fix: remove it; the EU endpoint serves Claude: claude-sonnet-9, claude-eu-1'],
    ['an EU-only model on a US router', 'us', ['claude-eu-1'], undefined,
      'allowedModels: "claude-eu-1" is a Claude model, and the US endpoint does not serve it (the catalog has it in EU only). Fix: remove it; the US endpoint serves Claude, GPT, House: claude-sonnet-9, gpt-pro-3, gpt-mini-3, house-model'],
    ['a retired model', 'us', ['claude-sonnet-8'], undefined,
      'allowedModels: "claude-sonnet-8" is retired: no gateway endpoint lists it any more (catalog of 2026-01-02T00:00:00.000Z). Fix: use a live model such as "claude-sonnet-9"'],
    ['a letter-case slip', 'us', ['Claude-Sonnet-9'], undefined,
      'allowedModels: "Claude-Sonnet-9" differs from a known model id only in letter case; ids are case-sensitive. Fix: use "claude-sonnet-9"'],
    ['an id of no known provider', 'us', ['llama-4'], undefined,
      `allowedModels: "llama-4" is not in the catalog and matches no known provider. Fix: use an id from one of the known providers: Claude (claude-...); GPT (gpt-, o3-...); ${REFRESH}`],
    ['a typo of no known provider', 'us', ['claud-sonnet-9'], undefined,
      `allowedModels: "claud-sonnet-9" is not in the catalog and matches no known provider. Fix: did you mean "claude-sonnet-9"? Otherwise use an id from one of the known providers: Claude (claude-...); GPT (gpt-, o3-...); ${REFRESH}`],
    ['an unlisted Claude id on an EU router', 'eu', ['claude-haiku-9'], undefined,
      `allowedModels: "claude-haiku-9" is a Claude id the EU endpoint does not list in the catalog (2026-01-02T00:00:00.000Z), and an EU router allows only what the EU endpoint lists. Fix: choose one of claude-sonnet-9, claude-eu-1; ${REFRESH}`],
    ['a token entry\'s literal part on an EU router', 'eu', ['${Token[A]}, gpt-pro-3'], undefined,
      'allowedModels: "gpt-pro-3" is a GPT model, and the EU endpoint does not serve it (the catalog has it in US only). Fix: remove it; the EU endpoint serves Claude: claude-sonnet-9, claude-eu-1'],
  ])('%s is refused', (_name, region, entries, allowAll, message) => {
    expect(violation(() => models(region, entries, allowAll))).toBe(message);
  });

  test('a retired model with no live model left in the region: choose from what is served', () => {
    const retiredOnly = parseCatalog({
      schema: 1,
      generatedAt: 'g',
      providers: { openai: { name: 'GPT', prefixes: ['gpt-'] } },
      models: [model('gpt-old-1', 'openai', ['us'], false, { retired: true }), model('gpt-eu-1', 'openai', ['eu'], false)],
    }, 'retired only');
    expect(violation(() => checkAllowedModels('us', ['gpt-old-1'], isToken, retiredOnly)))
      .toBe('allowedModels: "gpt-old-1" is retired: no gateway endpoint lists it any more (catalog of g). Fix: choose one of: ');
  });

  test('an unlisted id of a known provider on a US router is allowed with a warning (and a suggestion when close)', () => {
    const unknown = (id: string, near = '') => ({
      id: 'unknownModel',
      message: `allowedModels: "${id}" is a GPT id the catalog does not list yet; it is allowed (in-region, without global routing, streaming emulated, no cost `
        + `estimate), and the gateway will reject it if it does not exist.${near}`,
    });
    expect(models('us', ['gpt-nano-3'])).toEqual({ models: ['gpt-nano-3'], hasTokens: false, warnings: [unknown('gpt-nano-3')] });
    expect(models('us', ['gpt-mimi-3']).warnings).toEqual([unknown('gpt-mimi-3', ' Did you mean "gpt-mini-3"?')]);
  });

  test('token entries: passed through, warned about once, their literal parts still checked', () => {
    expect(models('us', ['${Token[A]}', '${Token[B]}, gpt-pro-3'])).toEqual({
      models: ['${Token[A]}', '${Token[B]}, gpt-pro-3'],
      hasTokens: true,
      warnings: [{ id: 'modelToken', message: 'allowedModels contains a token: it is not checked at synth time; the handler checks it against the bundled catalog at request time.' }],
    });
  });
});

describe('egressProxy', () => {
  test.each([
    ['not a URL', 'proxy.corp:3128'],
    ['another scheme', 'socks5://proxy.corp:1080'],
  ])('%s is refused without repeating the value (it may carry credentials)', (_name, raw) => {
    expect(violation(() => checkEgressProxy(raw))).toBe('egressProxy: (the given value) is not an http(s) URL of a proxy. Fix: pass the proxy\'s URL, such as http://proxy.corp.example:3128');
  });

  test.each(['http://proxy.corp:3128/path', 'http://proxy.corp:3128/?a=1', 'http://proxy.corp:3128/#x'])('%s: a path, query or fragment is refused', (raw) => {
    expect(violation(() => checkEgressProxy(raw)))
      .toBe('egressProxy: proxy.corp:3128 has a path, query or fragment; a forward proxy is addressed by scheme, host and port only. Fix: use http://proxy.corp:3128');
  });

  test('credentials (user, password or both) are allowed with a warning that does not repeat them', () => {
    for (const raw of ['http://u:secret@proxy.corp:3128', 'http://u@proxy.corp:3128', 'https://:secret@proxy.corp:3128']) {
      expect(checkEgressProxy(raw)).toEqual({
        id: 'egressProxyCredentials',
        message: 'egressProxy: the proxy URL for proxy.corp:3128 carries credentials; they are stored in clear in the function\'s environment variable, visible to '
          + 'anyone who can read the function\'s configuration. Prefer a proxy that admits the function\'s VPC or security group without a password.',
      });
    }
    expect(checkEgressProxy('http://proxy.corp:3128')).toBeUndefined();
    expect(checkEgressProxy('https://proxy.corp')).toBeUndefined();
  });
});

describe('sizes and timeouts', () => {
  test('maxRequestBodySize: 1 KiB to 10 MiB, whole bytes', () => {
    expect(() => checkMaxBodyBytes(1024)).not.toThrow();
    expect(() => checkMaxBodyBytes(10 * 1024 * 1024)).not.toThrow();
    for (const bytes of [1023, 10 * 1024 * 1024 + 1, 2048.5]) {
      expect(violation(() => checkMaxBodyBytes(bytes)))
        .toBe(`maxRequestBodySize: ${bytes} bytes is outside 1 KiB to 10 MiB. Fix: choose a size in that range (10 MB is API Gateway's payload limit)`);
    }
  });

  const show = (ms: number) => `${ms} ms`;
  test('timeout: 10 s to 15 min', () => {
    for (const ms of [9_999, 900_001]) {
      expect(violation(() => checkTimeouts(ms, 5_000, 120_000, show)))
        .toBe(`timeout: ${ms} ms is outside 10 seconds to 15 minutes. Fix: choose a timeout in that range (15 minutes is API Gateway's limit for a streamed response)`);
    }
    expect(checkTimeouts(10_000, 5_000, 120_000, show)).toBe(5_000);
    expect(checkTimeouts(900_000, undefined, 120_000, show)).toBe(120_000);
  });

  test('upstreamTimeout: defaults to 10 s under the timeout (at most the default); at least 1 s and under the timeout', () => {
    expect(checkTimeouts(60_000, undefined, 120_000, show)).toBe(50_000);
    expect(checkTimeouts(60_000, 1_000, 120_000, show)).toBe(1_000);
    expect(checkTimeouts(60_000, 59_999, 120_000, show)).toBe(59_999);
    const refused = (upstream: number) => `upstreamTimeout: ${upstream} ms must be at least 1 second and shorter than timeout (60000 ms) so the router can still answer 504. `
      + 'Fix: lower upstreamTimeout or raise timeout';
    for (const upstream of [999, 60_000]) expect(violation(() => checkTimeouts(60_000, upstream, 120_000, show))).toBe(refused(upstream));
    // The default for a 10 s function leaves no upstream time at all: refused, not silently 0.
    expect(violation(() => checkTimeouts(10_000, undefined, 120_000, show))).toMatch(/^upstreamTimeout: 0 ms must be at least 1 second/);
  });
});

describe('a tenant\'s allowedModels', () => {
  const ROUTER = ['claude-sonnet-9', 'gpt-pro-3', 'gpt-mini-3'];
  const tenant = (ids: string[] | undefined, router = ROUTER) => checkTenantModels(ids, router, 'us', CATALOG);
  const notInRouter = (id: string, fix: string) => `allowedModels: "${id}" is not in the router's allowedModels; a tenant's list is a subset of its router's. Fix: ${fix}`;
  const choose = 'choose from claude-sonnet-9, gpt-pro-3, gpt-mini-3, or add it to the router\'s allowedModels';

  test('unset is the router\'s list; a subset is kept as given', () => {
    expect(tenant(undefined)).toEqual(ROUTER);
    expect(tenant(['gpt-mini-3'])).toEqual(['gpt-mini-3']);
  });

  test.each<[string, string[], string[], string]>([
    ['empty', [], ROUTER, 'allowedModels: [] is empty, so the tenant could use no model. Fix: omit allowedModels to give the tenant the router\'s list, or list at least one id'],
    ['a letter-case slip of a router id', ['GPT-Pro-3'], ROUTER, notInRouter('GPT-Pro-3', 'did you mean "gpt-pro-3"?')],
    ['a typo the catalog recognises, allowed on the router', ['claud-sonnet-9'], ROUTER, notInRouter('claud-sonnet-9', 'did you mean "claude-sonnet-9"?')],
    ['a typo of a router id the catalog does not know', ['gpt-mini-4x'], ROUTER, notInRouter('gpt-mini-4x', 'did you mean "gpt-mini-3"?')],
    ['a typo of an uncatalogued router id: the nearest one', ['gpt-nano-4'], ['gpt-nanoo-3', 'gpt-nano-3'], notInRouter('gpt-nano-4', 'did you mean "gpt-nano-3"?')],
    ['a letter-case slip of an uncatalogued router id', ['GPT-NANO-3'], ['gpt-nano-3'], notInRouter('GPT-NANO-3', 'did you mean "gpt-nano-3"?')],
    ['two edits from an uncatalogued router id', ['gpt-nano-45'], ['gpt-nano-3'], notInRouter('gpt-nano-45', 'did you mean "gpt-nano-3"?')],
    ['a listed model the router does not allow', ['house-model'], ROUTER, notInRouter('house-model', choose)],
    ['a retired model whose replacement the router allows', ['claude-sonnet-8'], ROUTER,
      'allowedModels: "claude-sonnet-8" is not in the router\'s allowedModels; a tenant\'s list is a subset of its router\'s, and it is retired (catalog of 2026-01-02T00:00:00.000Z). Fix: use "claude-sonnet-9"'],
    ['a retired model whose replacement the router does not allow', ['claude-sonnet-8'], ['gpt-pro-3'],
      'allowedModels: "claude-sonnet-8" is not in the router\'s allowedModels; a tenant\'s list is a subset of its router\'s, and it is retired (catalog of 2026-01-02T00:00:00.000Z). '
        + 'Fix: choose from gpt-pro-3, or add it to the router\'s allowedModels'],
  ])('%s is refused', (_name, ids, router, message) => {
    expect(violation(() => tenant(ids, router))).toBe(message);
  });
});

describe('withArticle', () => {
  test.each([
    ['OpenAI', 'an OpenAI'], ['IAM', 'an IAM'], ['API_KEY', 'an API_KEY'], ['xAI', 'an xAI'], ['Anthropic', 'an Anthropic'],
    ['Google', 'a Google'], ['COGNITO', 'a COGNITO'], ['CUSTOM', 'a CUSTOM'], ['Mistral', 'a Mistral'], ['Moonshot', 'a Moonshot'],
  ])('%s', (name, expected) => {
    expect(withArticle(name)).toBe(expected);
  });
});
