import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { EU_ENV, functionEnv, newStack, routerIn, warnings } from './helpers';
import { GatewayCatalog, GatewayRegion, LlmGatewayRouterProps, MetricRegion } from '../../src';
import { loadConfig } from '../../src/handler/config';
import { decide } from '../../src/handler/policy';

/**
 * A catalog file as `catalog fetch` writes it, built here from the hand-written
 * expected catalog of the fixtures (test/contract/fixtures/README.md): it adds
 * the provider "mistral", which the bundled catalog does not know.
 */
const EXPECTED = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'contract', 'fixtures', 'catalog.expected.json'), 'utf8'));
const CATALOG_JSON = JSON.stringify({ schema: 1, source: 'test fixture', generatedAt: '2026-10-20T12:00:00.000Z', pricesNote: 'test', ...EXPECTED });

function synth(props: Partial<LlmGatewayRouterProps>, env = EU_ENV) {
  const { stack, secret } = newStack({ env });
  routerIn(stack, secret, 'R', props);
  const fnEnv = functionEnv(Template.fromStack(stack));
  return { env: fnEnv, warnings: warnings(stack), config: () => loadConfig({ ...fnEnv, LLM_GATEWAY_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:k' }) };
}

function expectError(fn: () => unknown, ...patterns: RegExp[]) {
  let message = '';
  try {
    fn();
  } catch (err) {
    message = (err as Error).message;
  }
  for (const p of patterns) expect(message).toMatch(p);
}

describe('a user catalog (GatewayCatalog.fromJson / fromFile)', () => {
  const catalog = GatewayCatalog.fromJson(CATALOG_JSON);

  test('a brand-new provider\'s model the EU endpoint lists is usable on an EU router: synth accepts it and the handler forwards it', () => {
    const { env, config } = synth({ region: GatewayRegion.EU, catalog, allowedModels: ['mistral-medium-3'] });
    expect(env.LLM_GATEWAY_ALLOWED_MODELS).toBe('mistral-medium-3');
    expect(JSON.parse(env.LLM_GATEWAY_MODEL_RULES)).toEqual({ mistral: { 'mistral-medium-3': ['ue', 0.44, 2.2] } });
    expect(decide(JSON.stringify({ model: 'mistral-medium-3', messages: [] }), config())).toMatchObject({ kind: 'forward', provider: 'mistral', global: false });
  });

  test('the bundled catalog does not know that model: the same router fails synth with the refresh hint', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    expectError(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, allowedModels: ['mistral-medium-3'] }),
      /allowedModels: "mistral-medium-3" is not in the catalog and matches no known provider/, /catalog fetch/, /GatewayCatalog.fromFile/);
  });

  test('typos of the new provider\'s ids get the same suggestions', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    expectError(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, catalog, allowedModels: ['mistral-medum-3'] }), /"mistral-medum-3"/, /Fix: did you mean "mistral-medium-3"\?/);
    expectError(() => routerIn(stack, secret, 'S', { region: GatewayRegion.EU, catalog, allowedModels: ['Mistral-Medium-3'] }), /letter case/, /use "mistral-medium-3"/);
  });

  test('an EU router accepts only what the EU endpoint lists, at synth and at request time', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    expectError(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, catalog, allowedModels: ['gpt-5.5'] }),
      /"gpt-5.5" is an OpenAI GPT model, and the EU endpoint does not serve it/, /claude-opus-4-7, claude-haiku-4-5-20251001, mistral-medium-3/);
    // An unlisted id of a known provider is accepted with a warning in the US, refused in the EU.
    expectError(() => routerIn(stack, secret, 'S', { region: GatewayRegion.EU, catalog, allowedModels: ['claude-sonnet-9'] }),
      /"claude-sonnet-9" is an Anthropic Claude id the EU endpoint does not list/);
    const eu = synth({ region: GatewayRegion.EU, catalog });
    expect(eu.env.LLM_GATEWAY_ALLOWED_MODELS).toBe('claude-opus-4-7,claude-haiku-4-5-20251001,mistral-medium-3');
    // Residency: an EU router's rules carry no global flag and no global price, even for a model that accepts it in the US.
    expect(JSON.parse(eu.env.LLM_GATEWAY_MODEL_RULES).anthropic['claude-opus-4-7']).toEqual(['ue', 5.5, 27.5]);
    // A hand-edited allow-list still cannot reach a model the rules do not place in the EU.
    const handEdited = loadConfig({ ...eu.env, LLM_GATEWAY_ALLOWED_MODELS: 'claude-opus-4-7,gpt-5.5' });
    expect(decide(JSON.stringify({ model: 'gpt-5.5' }), handEdited)).toMatchObject({ kind: 'reject', status: 403 });
  });

  test('global routing per model: claude-opus-4-7 goes global, its sibling claude-haiku-4-5-20251001 stays in-region and cannot be forced global', () => {
    const { config } = synth({ globalRouting: true, catalog, allowedModels: ['claude-opus-4-7', 'claude-haiku-4-5-20251001'] }, { account: '111111111111', region: 'us-east-1' });
    const opus = decide(JSON.stringify({ model: 'claude-opus-4-7', messages: [], fallbacks: [{ model: 'claude-haiku-4-5-20251001' }] }), config());
    // The fallback inherits "global" upstream, but haiku does not accept it: it is priced in-region (and is the cheaper of the two).
    expect(opus).toMatchObject({
      kind: 'forward',
      global: true,
      attempts: [{ model: 'claude-opus-4-7', global: true }, { model: 'claude-haiku-4-5-20251001', global: true }],
      worstCase: { price: { input: 0.000005, output: 0.000025 } },
    });
    expect(JSON.parse((opus as any).upstreamBody)).toEqual({ model: 'claude-opus-4-7', messages: [], model_region: 'global', fallbacks: [{ model: 'claude-haiku-4-5-20251001' }] });
    const haiku = decide(JSON.stringify({ model: 'claude-haiku-4-5-20251001', messages: [] }), config());
    expect(haiku).toMatchObject({ kind: 'forward', global: false, worstCase: { price: { input: 0.0000011, output: 0.0000055 } } });
    expect(JSON.parse((haiku as any).upstreamBody)).toEqual({ model: 'claude-haiku-4-5-20251001', messages: [] });
    expect(decide(JSON.stringify({ model: 'claude-haiku-4-5-20251001', model_region: 'global' }), config()))
      .toMatchObject({ kind: 'reject', status: 403, reason: 'global_routing', body: { error: { code: 'global_routing_unsupported' } } });
  });

  test('stream emulation per model: gpt-5.5 is streamed upstream, qwen3-32B emulated', () => {
    const { config } = synth({ catalog, allowedModels: ['gpt-5.5', 'qwen3-32B'] }, { account: '111111111111', region: 'us-east-1' });
    expect(decide('{"model":"gpt-5.5","stream":true}', config())).toMatchObject({ stream: true, upstreamStream: true });
    expect(decide('{"model":"qwen3-32B","stream":true}', config())).toMatchObject({ stream: true, upstreamStream: false, upstreamBody: '{"model":"qwen3-32B"}' });
  });

  test('a retired model is refused at synth, naming a live one', () => {
    const { stack, secret } = newStack({ env: { account: '111111111111', region: 'us-east-1' } });
    expectError(() => routerIn(stack, secret, 'R', { catalog, allowedModels: ['gpt-5.1'] }),
      /allowedModels: "gpt-5.1" is retired: no gateway endpoint lists it any more/, /Fix: use a live model such as "gpt-5.5"/);
    // The bundled catalog: kimi-k2.5 was retired in August 2026.
    expectError(() => routerIn(stack, secret, 'S', { allowedModels: ['kimi-k2.5'] }), /"kimi-k2.5" is retired/, /Fix: use a live model such as "[a-z0-9.-]+"/);
  });

  test('fromFile reads a catalog file; a missing or malformed one fails with the fix', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cat-')), 'gateway-catalog.json');
    fs.writeFileSync(file, CATALOG_JSON);
    expect(GatewayCatalog.fromFile(file).modelsServedIn(GatewayRegion.EU)).toEqual(['claude-opus-4-7', 'claude-haiku-4-5-20251001', 'mistral-medium-3']);
    expect(() => GatewayCatalog.fromFile(`${file}.missing`)).toThrow(/cannot read .*Fix: write it with `npx llm-gateway-router catalog fetch --out/);
    expect(() => GatewayCatalog.fromJson('{"schema":1,"providers":{},"models":[]}')).toThrow(/"models" must be a non-empty array.*Fix/);
  });
});

describe('an upgrade never widens a router silently', () => {
  const US = { account: '111111111111', region: 'us-east-1' };
  const catalog = GatewayCatalog.fromJson(CATALOG_JSON);

  test('without allowedModels, synth warns with the effective count and how to pin it, and the list is in the template', () => {
    const { env, warnings: w } = synth({ catalog }, US);
    expect(env.LLM_GATEWAY_ALLOWED_MODELS).toBe('claude-opus-4-7,claude-haiku-4-5-20251001,gpt-5.5,qwen3-32B,mistral-medium-3');
    expect(w.join('\n')).toMatch(/allowedModels is not set, so callers may use all 5 models the US endpoint lists in the catalog \(2026-10-20T12:00:00.000Z\).*Pin the list with allowedModels.*allowAllModels: true.*cdk diff/);
  });

  test('a newer catalog that lists one more model changes the template (cdk diff shows the widening)', () => {
    const wider = JSON.parse(CATALOG_JSON);
    wider.models.push({ id: 'claude-sonnet-6', provider: 'anthropic', regions: ['us'], global: true, stream: false, prices: {} });
    const before = synth({ catalog, allowAllModels: true }, US).env;
    const after = synth({ catalog: GatewayCatalog.fromJson(JSON.stringify(wider)), allowAllModels: true }, US).env;
    expect(after.LLM_GATEWAY_ALLOWED_MODELS).toBe(`${before.LLM_GATEWAY_ALLOWED_MODELS},claude-sonnet-6`);
    expect(after.LLM_GATEWAY_MODEL_RULES).not.toBe(before.LLM_GATEWAY_MODEL_RULES);
  });

  test('allowAllModels: true is the explicit opt-in: no warning; a pinned list never warns', () => {
    expect(synth({ catalog, allowAllModels: true }, US).warnings.join('\n')).not.toMatch(/allowedModels is not set/);
    expect(synth({ catalog, allowedModels: ['qwen3-32B'] }, US).warnings.join('\n')).not.toMatch(/allowedModels is not set/);
  });

  test('allowAllModels with allowedModels is a contradiction', () => {
    const { stack, secret } = newStack({ env: US });
    expectError(() => routerIn(stack, secret, 'R', { allowAllModels: true, allowedModels: ['gpt-5'] }), /allowAllModels: true contradicts allowedModels/, /Fix: remove allowAllModels/);
  });
});

describe('metricCostUsd()', () => {
  test('reads the handler\'s CostUsd with the same dimension sets; the per-model set names the provider from the router\'s catalog', () => {
    const { stack, secret } = newStack({ env: { account: '111111111111', region: 'us-east-1' } });
    const router = routerIn(stack, secret, 'R', { routerName: 'costs', globalRouting: true, catalog: GatewayCatalog.fromJson(CATALOG_JSON), allowedModels: ['claude-opus-4-7', 'mistral-medium-3'] });
    const all = router.metricCostUsd();
    expect(all).toMatchObject({ namespace: 'LlmGatewayRouter', metricName: 'CostUsd', statistic: 'Sum', dimensions: { service: 'costs' } });
    expect(router.metricCostUsd({ metricRegion: MetricRegion.GLOBAL }).dimensions).toEqual({ service: 'costs', Region: 'global' });
    expect(router.metricCostUsd({ model: 'mistral-medium-3' }).dimensions).toEqual({ service: 'costs', Provider: 'mistral', Model: 'mistral-medium-3' });
    expect(router.metrics.metricCostUsd().metricName).toBe('CostUsd');
  });
});
