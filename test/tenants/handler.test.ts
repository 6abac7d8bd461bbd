import * as sdk from '@aws-sdk/client-dynamodb';
import { TenantSpec } from '../../src/contract/tenants-schema';
import { routerEnvironment } from '../../src/emulator/config';
import { worstPrice } from '../../src/handler/billing';
import { loadConfig } from '../../src/handler/config';
import { attemptsOf, estimateOf } from '../../src/handler/estimate';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { DynamoFault, DynamoFaultProxy } from '../support/dynamo-fault-proxy';
import { call } from '../support/in-process';
import { SwitchableProxy } from '../support/switchable-proxy';
import { catalogWithUsPrices, tenantRouter, tenantTestServices } from '../support/tenant-harness';

const services = tenantTestServices();
const { stdout } = services;

const ROUTER_MODELS = ['claude-sonnet-4-6', 'claude-haiku-4-5-20251001', 'gpt-5-mini'];
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const lastLog = () => stdout.records.filter((r: any) => r.message === 'request').at(-1);

const TENANTS: TenantSpec[] = [
  { id: 'search', ids: [{ k: 'key', v: 'kid-search' }], m: ['claude-haiku-4-5-20251001'] },
  { id: 'ml-platform', ids: [{ k: 'role', v: 'arn:aws:iam::123456789012:role/teams/ml/MlCaller' }] },
  { id: 'finance', ids: [{ k: 'user', v: 'arn:aws:iam::123456789012:user/ops/fin-bot' }] },
  { id: 'support', ids: [{ k: 'claim', n: 'custom:team', v: 'support' }] },
  { id: 'partners', ids: [{ k: 'principal', v: 'partner-7' }], rpm: 2 },
];

describe('tenant identity', () => {
  test.each([
    ['an API key id', { identity: { apiKeyId: 'kid-search' } }, 'search'],
    ['an assumed-role session of the role (its path is not in the session ARN)', { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/MlCaller/job-42' } }, 'ml-platform'],
    ['the IAM user', { identity: { userArn: 'arn:aws:iam::123456789012:user/ops/fin-bot' } }, 'finance'],
    ['a Cognito claim', { authorizer: { claims: { 'sub': 'u-1', 'custom:team': 'support' } } }, 'support'],
    ['a custom authorizer principal', { authorizer: { principalId: 'partner-7' } }, 'partners'],
  ])('%s identifies the tenant, whose id (never the credential) is logged', async (_name, who, tenant) => {
    const { handler } = await tenantRouter(services.dynamo, TENANTS, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    const res = await call(handler, { body: chat('claude-haiku-4-5-20251001'), ...who });
    expect(res.status).toBe(200);
    expect(lastLog()).toMatchObject({ tenant, status: 200 });
    const line = stdout.lines.filter((l) => l.includes('"message":"request"')).at(-1)!;
    for (const secret of ['kid-search', 'MlCaller', 'fin-bot', 'partner-7', 'u-1']) expect(line).not.toContain(secret);
  });

  test.each([
    ['no identity at all', {}],
    ['a role of the same name in another account', { identity: { userArn: 'arn:aws:sts::999999999999:assumed-role/MlCaller/s' } }],
    ['another role', { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/Other/s' } }],
    ['an unknown API key', { identity: { apiKeyId: 'kid-other' } }],
    ['a claim with another value', { authorizer: { claims: { 'custom:team': 'Support' } } }],
  ])('%s: 403 unknown_tenant on every route, and nothing goes upstream', async (_name, who) => {
    const { handler } = await tenantRouter(services.dynamo, TENANTS, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    const res = await call(handler, { body: chat('claude-sonnet-4-6'), ...who });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: { message: 'This router serves named tenants only, and the caller matches none of them.', type: 'permission_error', param: null, code: 'unknown_tenant' } });
    expect((await call(handler, { method: 'GET', path: '/v1/models', ...who })).status).toBe(403);
    expect(services.gateway.requests).toHaveLength(0);
    expect(lastLog()).toMatchObject({ reject_reason: 'unknown_tenant' });
    expect(lastLog()).not.toHaveProperty('tenant');
  });

  test('a default tenant takes callers that match no tenant, with its own policy', async () => {
    const { handler } = await tenantRouter(services.dynamo, [...TENANTS, { id: 'everyone-else', def: true, m: ['gpt-5-mini'] }], { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    expect((await call(handler, { body: chat('gpt-5-mini') })).status).toBe(200);
    expect(lastLog()).toMatchObject({ tenant: 'everyone-else' });
    expect((await call(handler, { body: chat('claude-sonnet-4-6') })).json.error.code).toBe('model_not_allowed');
  });
});

describe('tenant policy, before anything goes upstream', () => {
  test('the tenant\'s allow-list applies to the model and to every fallback; GET /v1/models lists only the tenant\'s', async () => {
    const { handler } = await tenantRouter(services.dynamo, TENANTS, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    const who = { identity: { apiKeyId: 'kid-search' } };
    const primary = await call(handler, { body: chat('claude-sonnet-4-6'), ...who });
    expect(primary.status).toBe(403);
    expect(primary.json.error).toMatchObject({ code: 'model_not_allowed', param: 'model', message: 'Model "claude-sonnet-4-6" is not allowed for tenant search. Allowed models: claude-haiku-4-5-20251001.' });
    const fallback = await call(handler, { body: chat('claude-haiku-4-5-20251001', { fallbacks: [{ model: 'gpt-5-mini' }] }), ...who });
    expect(fallback.json.error).toMatchObject({ code: 'model_not_allowed', param: 'fallbacks[0].model' });
    expect(services.gateway.requests).toHaveLength(0);
    const models = await call(handler, { method: 'GET', path: '/v1/models', ...who });
    expect(models.json.data.map((m: any) => m.id)).toEqual(['claude-haiku-4-5-20251001']);
  });

  test('transcript access is refused to a tenant without it, on a router that has it', async () => {
    const { handler } = await tenantRouter(services.dynamo, [{ id: 'no-tx', ids: [{ k: 'key', v: 'k1' }], tx: false }, { id: 'tx', ids: [{ k: 'key', v: 'k2' }] }],
      { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS, transcriptAccess: true });
    const body = chat('claude-sonnet-4-6', { transcript_id: 't-1' });
    const refused = await call(handler, { body, identity: { apiKeyId: 'k1' } });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('transcript_access_disabled');
    expect(services.gateway.requests).toHaveLength(0);
    expect((await call(handler, { body, identity: { apiKeyId: 'k2' } })).status).toBe(200);
  });

  test('requests per minute per model: 429 tenant_rate_limited with Retry-After, per model', async () => {
    const { handler } = await tenantRouter(services.dynamo, TENANTS, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    const who = { authorizer: { principalId: 'partner-7' } };
    // Two per minute: keep clear of a minute boundary so all three land in one minute.
    const secondsLeft = 60 - new Date().getUTCSeconds();
    if (secondsLeft < 3) await new Promise((resolve) => setTimeout(resolve, secondsLeft * 1000 + 100));
    expect((await call(handler, { body: chat('gpt-5-mini'), ...who })).status).toBe(200);
    expect((await call(handler, { body: chat('gpt-5-mini'), ...who })).status).toBe(200);
    const limited = await call(handler, { body: chat('gpt-5-mini'), ...who });
    expect(limited.status).toBe(429);
    expect(limited.json.error).toMatchObject({ code: 'tenant_rate_limited', type: 'rate_limit_error' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(services.gateway.requests).toHaveLength(2);
    expect((await call(handler, { body: chat('claude-haiku-4-5-20251001'), ...who })).status).toBe(200);
  });

  test('the rate limit counts every model a request may reach: a model at its limit is not reached as a fallback either', async () => {
    const { handler } = await tenantRouter(services.dynamo, [{ id: 'fb', ids: [{ k: 'key', v: 'kfb' }], rpm: 1 }], { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    const who = { identity: { apiKeyId: 'kfb' } };
    const secondsLeft = 60 - new Date().getUTCSeconds();
    if (secondsLeft < 3) await new Promise((resolve) => setTimeout(resolve, secondsLeft * 1000 + 100));
    // Counts gpt-5-mini and claude-haiku (its fallback): one each this minute.
    expect((await call(handler, { body: chat('gpt-5-mini', { fallbacks: [{ model: 'claude-haiku-4-5-20251001' }] }), ...who })).status).toBe(200);
    // claude-haiku as a fallback of another primary: over its limit, refused, nothing sent.
    const limited = await call(handler, { body: chat('claude-sonnet-4-6', { fallbacks: [{ model: 'claude-haiku-4-5-20251001' }] }), ...who });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('tenant_rate_limited');
    expect(services.gateway.requests).toHaveLength(1);
    // The refused request took no slot: claude-sonnet-4-6 alone still has its one request this minute.
    expect((await call(handler, { body: chat('claude-sonnet-4-6'), ...who })).status).toBe(200);
  });

  test('a request the budget refuses takes no rate slot', async () => {
    const { handler } = await tenantRouter(services.dynamo, [{ id: 'rb', ids: [{ k: 'key', v: 'krb' }], rpm: 1, tok: 1_500 }], { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    const who = { identity: { apiKeyId: 'krb' } };
    const secondsLeft = 60 - new Date().getUTCSeconds();
    if (secondsLeft < 3) await new Promise((resolve) => setTimeout(resolve, secondsLeft * 1000 + 100));
    expect((await call(handler, { body: chat('gpt-5-mini', { max_tokens: 5_000 }), ...who })).json.error.code).toBe('request_exceeds_budget');
    expect((await call(handler, { body: chat('gpt-5-mini', { max_tokens: 10 }), ...who })).status).toBe(200);
  });

  test('a worst case larger than the whole budget is refused, counting a fallback\'s larger max_tokens', async () => {
    const { handler } = await tenantRouter(services.dynamo, [{ id: 'small', ids: [{ k: 'key', v: 'k' }], tok: 1_500 }], { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS });
    const body = chat('claude-sonnet-4-6', { max_tokens: 100, fallbacks: [{ model: 'claude-haiku-4-5-20251001', max_tokens: 5_000 }] });
    const res = await call(handler, { body, identity: { apiKeyId: 'k' } });
    // Never admissible: 400, not a 429 an SDK would retry. The upstream body is 160 bytes, plus the fallback's 5,000.
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({
      message: 'This request\'s worst case, 5160 tokens, alone exceeds the daily limit of 1500 tokens of tenant small: it can never be admitted. Lower max_tokens or shorten the prompt.',
      type: 'invalid_request_error',
      param: null,
      code: 'request_exceeds_budget',
    });
    expect(res.headers['x-should-retry']).toBe('false');
    expect(services.gateway.requests).toHaveLength(0);
    // Without the fallback the same tenant is served.
    expect((await call(handler, { body: chat('claude-sonnet-4-6', { max_tokens: 100 }), identity: { apiKeyId: 'k' } })).status).toBe(200);
  });
});

describe('when the tenant store cannot be reached', () => {
  const down = { storeEndpoint: 'http://127.0.0.1:9' };
  const budgeted: TenantSpec[] = [{ id: 'team', ids: [{ k: 'key', v: 'k' }], usd: 10 }];

  test('an environment that cannot read its tenants identifies nobody: 503 budget_unavailable, nothing upstream', async () => {
    const { handler } = await tenantRouter(services.dynamo, budgeted, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS }, down);
    const res = await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'k' } });
    expect(res.status).toBe(503);
    expect(res.json.error).toEqual({
      message: 'The tenant store cannot be read, so callers cannot be identified; the router fails closed.', type: 'api_error', param: null, code: 'budget_unavailable',
    });
    expect(services.gateway.requests).toHaveLength(0);
    expect(lastLog()).toMatchObject({ reject_reason: 'budget_unavailable', tenant_store_error: 'admit' });
  });

  test('once the tenants are read, a store that goes away fails closed by default: 503, nothing upstream', async () => {
    const proxy = await SwitchableProxy.start(services.dynamo.endpoint);
    try {
      const settings = { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS };
      const { handler } = await tenantRouter(services.dynamo, budgeted, settings, { storeEndpoint: proxy.endpoint });
      expect((await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'k' } })).status).toBe(200);
      proxy.cut();
      const res = await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'k' } });
      expect(res.status).toBe(503);
      expect(res.json.error).toEqual({ message: 'The tenant budget store cannot be reached; the router fails closed.', type: 'api_error', param: null, code: 'budget_unavailable' });
      expect(services.gateway.requests).toHaveLength(1);
      expect(lastLog()).toMatchObject({ tenant: 'team', reject_reason: 'budget_unavailable', tenant_store_error: 'admit' });
    } finally {
      await proxy.close();
    }
  });

  test('a router that opts into failing open serves such a request unmetered and says so in the log', async () => {
    const proxy = await SwitchableProxy.start(services.dynamo.endpoint);
    try {
      const { handler } = await tenantRouter(services.dynamo, budgeted, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS },
        { storeEndpoint: proxy.endpoint, storeFailure: 'open' });
      expect((await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'k' } })).status).toBe(200);
      proxy.cut();
      const res = await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'k' } });
      expect(res.status).toBe(200);
      expect(services.gateway.requests).toHaveLength(2);
      expect(lastLog()).toMatchObject({ tenant: 'team', status: 200, tenant_store_error: 'admit' });
    } finally {
      await proxy.close();
    }
  });
});

describe('a tenant store failure says why in the log, never which table or role', () => {
  const ROLE_ARN = 'arn:aws:sts::123456789012:assumed-role/RouterRole/fn';
  test.each<[string, DynamoFault, string]>([
    ['an IAM mistake', { status: 400, type: 'AccessDeniedException', message: `User: ${ROLE_ARN} is not authorized to perform: dynamodb:UpdateItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/tenants` },
      'AccessDeniedException (HTTP 400)'],
    ['a wrong table', { status: 400, type: 'ResourceNotFoundException', message: 'Requested resource not found: Table: tenants-prod not found' }, 'ResourceNotFoundException (HTTP 400)'],
  ])('%s: 503, tenant_store_error_name is the error\'s name, TenantStoreErrors counts it', async (_name, fault, name) => {
    const faults = await DynamoFaultProxy.start(services.dynamo.endpoint, () => true, fault);
    try {
      const budgeted: TenantSpec[] = [{ id: 'team', ids: [{ k: 'key', v: 'k' }], usd: 10 }];
      const settings = { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS };
      const { handler } = await tenantRouter(services.dynamo, budgeted, settings, { storeEndpoint: faults.endpoint });
      const res = await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'k' } });
      expect(res.status).toBe(503);
      expect(lastLog()).toMatchObject({ tenant_store_error: 'admit', tenant_store_error_name: name });
      expect(stdout.emf.at(-1).TenantStoreErrors).toBe(1);
      const line = stdout.lines.filter((l) => l.includes('"message":"request"')).at(-1)!;
      for (const secret of ['123456789012', 'RouterRole', 'tenants-prod', 'arn:aws']) expect(line).not.toContain(secret);
    } finally {
      await faults.close();
    }
  });

  test('an unreachable store: a network error by name', async () => {
    const budgeted: TenantSpec[] = [{ id: 'team', ids: [{ k: 'key', v: 'k' }], usd: 10 }];
    const { handler } = await tenantRouter(services.dynamo, budgeted, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS }, { storeEndpoint: 'http://127.0.0.1:9' });
    await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'k' } });
    expect(lastLog().tenant_store_error_name).toBe('Error [ECONNREFUSED]');
  });
});

describe('POST /v1/understanding on a router with tenants (and transcript access)', () => {
  const UNDERSTANDING = { transcript_id: 'tr_0123', speech_understanding: { request: { translation: { target_languages: ['de'] } } } };
  const understanding = { method: 'POST', path: '/v1/understanding', body: UNDERSTANDING };
  const specs: TenantSpec[] = [
    { id: 'notes', ids: [{ k: 'key', v: 'kid-notes' }], usd: 0.000001, rpm: 2 },
    { id: 'no-transcripts', ids: [{ k: 'key', v: 'kid-nt' }], tx: false },
  ];
  const settings = { allowedModels: ROUTER_MODELS, transcriptAccess: true };

  test('an unknown caller gets 403 unknown_tenant, and nothing goes upstream', async () => {
    const { handler } = await tenantRouter(services.dynamo, specs, { ...settings, endpoint: services.gateway.url });
    const res = await call(handler, { ...understanding, identity: { apiKeyId: 'kid-other' } });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('unknown_tenant');
    expect(services.gateway.requests).toHaveLength(0);
  });

  test('a tenant without transcript access gets 403 transcript_access_disabled, and nothing goes upstream', async () => {
    const { handler } = await tenantRouter(services.dynamo, specs, { ...settings, endpoint: services.gateway.url });
    const res = await call(handler, { ...understanding, identity: { apiKeyId: 'kid-nt' } });
    expect(res.status).toBe(403);
    expect(res.json.error).toMatchObject({ code: 'transcript_access_disabled', type: 'permission_error' });
    expect(services.gateway.requests).toHaveLength(0);
    expect(lastLog()).toMatchObject({ tenant: 'no-transcripts', reject_reason: 'transcript_access' });
  });

  test('a tenant with access is served without a USD reservation (the route names no model to price), and counted against its rate limit', async () => {
    const { handler, table } = await tenantRouter(services.dynamo, specs, { ...settings, endpoint: services.gateway.url });
    const ledger = new TenantLedger(services.dynamo.client, sdk, table);
    // A budget far below any chat request's worst case: understanding is not priced, so it is not refused for it.
    const first = await call(handler, { ...understanding, identity: { apiKeyId: 'kid-notes' } });
    expect(first.status).toBe(200);
    expect(services.gateway.requests.map((r) => r.path)).toEqual(['/v1/understanding']);
    expect(await ledger.usage('notes')).toEqual({ usdNanos: 0, usdCommittedNanos: 0, tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
    // Nothing to charge, and nothing goes wrong settling nothing.
    expect(lastLog()).toMatchObject({ status: 200, tenant: 'notes' });
    expect(lastLog()).not.toHaveProperty('charge_basis');
    expect(lastLog()).not.toHaveProperty('router_error');
    expect(stdout.records.filter((r: any) => r.message !== 'request' && !r._aws)).toEqual([]);
    expect((await call(handler, { ...understanding, identity: { apiKeyId: 'kid-notes' } })).status).toBe(200);
    // rpm 2 for the route, counted like a model: the third in the minute is refused.
    const third = await call(handler, { ...understanding, identity: { apiKeyId: 'kid-notes' } });
    expect(third.status).toBe(429);
    expect(third.json.error.code).toBe('tenant_rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    expect(services.gateway.requests).toHaveLength(2);
  });
});

describe('tenant metrics', () => {
  test('a tenant request adds the (service, Tenant) set, with tokens and cost, and no Powertools warning', async () => {
    const catalog = catalogWithUsPrices({ 'claude-haiku-4-5-20251001': { input: 0.000001, output: 0.000004 } });
    const { handler } = await tenantRouter(services.dynamo, TENANTS, { endpoint: services.gateway.url, allowedModels: ROUTER_MODELS, routerName: 'shared', catalog });
    await call(handler, { body: chat('claude-haiku-4-5-20251001'), identity: { apiKeyId: 'kid-search' } });
    const doc = stdout.emf.at(-1);
    expect(doc._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'Region'], ['service'], ['service', 'Provider', 'Model'], ['service', 'Tenant']]);
    // The fake gateway reports 11 input and 7 output tokens: 11 x 1 + 7 x 4 = 39 micro-USD.
    expect(doc).toMatchObject({ service: 'shared', Tenant: 'search', Requests: 1, InputTokens: 11, OutputTokens: 7, CostUsd: 0.000039 });
    expect(lastLog()).toMatchObject({ tenant: 'search', cost_usd: 0.000039 });
    expect(stdout.lines.filter((l) => /already been added|defined as both/.test(l))).toEqual([]);
  });
});

describe('the worst-case price: the catalog\'s, for the region each attempt is routed to', () => {
  // The bundled catalog's prices (src/contract/models.json, read by hand), USD per token:
  // claude-sonnet-4-6 us 3.3e-6 / 1.65e-5, global 3e-6 / 1.5e-5; gpt-5-mini us 2.75e-7 / 2.2e-6, global 2.5e-7 / 2e-6.
  const rules = loadConfig(routerEnvironment({ region: 'us', globalRouting: true, allowedModels: ['claude-sonnet-4-6', 'gpt-5-mini'] })).modelRules;
  const known = ['claude-sonnet-4-6', 'gpt-5-mini'];
  // The environment carries USD per million tokens: compared to 15 decimals (far below a nano-dollar per token).
  const expectPrice = (p: { input: number; output: number } | undefined, input: number, output: number) => {
    expect(p!.input).toBeCloseTo(input, 15);
    expect(p!.output).toBeCloseTo(output, 15);
  };

  test('in-region and global attempts are priced at their own region\'s price', () => {
    expectPrice(worstPrice(rules, [{ model: 'claude-sonnet-4-6', global: false }], known), 3.3e-6, 1.65e-5);
    expectPrice(worstPrice(rules, [{ model: 'claude-sonnet-4-6', global: true }], known), 3e-6, 1.5e-5);
    expectPrice(worstPrice(rules, [{ model: 'gpt-5-mini', global: true }], known), 2.5e-7, 2e-6);
  });

  test('the dearest attempt decides, and an unpriced model is charged the dearest known price', () => {
    expectPrice(worstPrice(rules, [{ model: 'gpt-5-mini', global: true }, { model: 'claude-sonnet-4-6', global: true }], known), 3e-6, 1.5e-5);
    expectPrice(worstPrice(rules, [{ model: 'gpt-5-mini', global: false }, { model: 'not-in-the-catalog', global: false }], known), 3.3e-6, 1.65e-5);
  });

  test('the upstream body says which attempts go global (a fallback inherits the request\'s model_region)', () => {
    expect(attemptsOf(JSON.parse('{"model":"a","model_region":"global","fallbacks":[{"model":"b"},{"model":"c","model_region":"x"}]}')))
      .toEqual([{ model: 'a', global: true }, { model: 'b', global: true }, { model: 'c', global: false }]);
  });
});

describe('the worst-case estimate', () => {
  const estimate = (text: string) => estimateOf(JSON.parse(text), text);
  test('input is one token per upstream byte; output is the largest max_tokens or max_completion_tokens of any attempt times n', () => {
    expect(estimate('{"model":"a","messages":[]}')).toEqual({ inputTokens: 27, outputTokens: 1_000, mediaParts: 0 });
    expect(estimate('{"model":"a","max_tokens":50,"n":3}').outputTokens).toBe(150);
    // Both limits set: the larger is what a provider may honour.
    expect(estimate('{"model":"a","max_completion_tokens":70,"max_tokens":50}').outputTokens).toBe(70);
    expect(estimate('{"model":"a","max_completion_tokens":50,"max_tokens":70}').outputTokens).toBe(70);
    expect(estimate('{"model":"a","max_tokens":50,"fallbacks":[{"model":"b"},{"model":"c","transcript_id":"t"}]}').outputTokens).toBe(50);
    expect(estimate('{"model":"a","max_tokens":50,"fallbacks":[{"model":"b","n":4}]}').outputTokens).toBe(200);
    // "é" is two UTF-8 bytes.
    expect(estimate('{"model":"é"}').inputTokens).toBe(14);
  });

  test('each non-text part adds its documented allowance: image 3,000, audio 10,000, file (and any other type) 100,000', () => {
    const parts = [
      { type: 'text', text: 'x' },
      { type: 'image_url', image_url: { url: 'https://a/b.png' } },
      { type: 'input_audio', input_audio: { data: '', format: 'wav' } },
      { type: 'file', file: { file_id: 'f' } },
      { type: 'video' },
    ];
    const text = JSON.stringify({ model: 'a', messages: [{ role: 'user', content: parts }], fallbacks: [{ model: 'b', messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }] });
    const bytes = Buffer.byteLength(text, 'utf8');
    expect(estimate(text)).toEqual({ inputTokens: bytes + 3_000 + 10_000 + 100_000 + 100_000 + 3_000, outputTokens: 1_000, mediaParts: 5 });
  });
});
