import * as sdk from '@aws-sdk/client-dynamodb';
import type { TenantSpec } from '../../src/contract/tenants-schema';
import { writeLocalTenants } from '../../src/emulator/tenants';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { waitUntil } from '../support/fake-gateway';
import { call } from '../support/in-process';
import { catalogWithUsPrices, LITERAL_PRICES, tenantRouter, tenantTestServices } from '../support/tenant-harness';

/*
 * What a tenant's own options do at request time: global routing
 * per tenant, tokens per minute reserved up front, refusals that say what
 * is left, the month-to-date spend published after each settle, and shards
 * re-read while a deployment is under way.
 */

const services = tenantTestServices();
const { stdout } = services;
const lastLog = () => stdout.records.filter((r: any) => r.message === 'request').at(-1);
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('global routing per tenant (a US router)', () => {
  // claude-sonnet-4-6 accepts global routing; gpt-5-mini too; qwen3-32B does not (the bundled catalog).
  const TENANTS: TenantSpec[] = [
    { id: 'global-team', ids: [{ k: 'key', v: 'kg' }], gr: true },
    { id: 'local-team', ids: [{ k: 'key', v: 'kl' }], gr: false },
    { id: 'router-team', ids: [{ k: 'key', v: 'kr' }] },
  ];

  test('on a router without global routing, a tenant with globalRouting: true goes global where the model accepts it, and is priced at the global rate', async () => {
    const catalog = catalogWithUsPrices({});
    const { handler } = await tenantRouter(services.dynamo, TENANTS, { endpoint: services.gateway.url, allowedModels: ['claude-sonnet-4-6', 'qwen3-32B'], catalog });
    expect((await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'kg' } })).status).toBe(200);
    expect(services.gateway.requests[0].json.model_region).toBe('global');
    // The fake gateway reports 11 input and 7 output tokens; the bundled global price is 0.000003 / 0.000015:
    // 11 x 0.000003 + 7 x 0.000015 = 0.000033 + 0.000105 = $0.000138 (in-region it would be 0.0001518).
    expect(lastLog()).toMatchObject({ region: 'global', cost_usd: 0.000138 });
    expect((await call(handler, { body: chat('qwen3-32B'), identity: { apiKeyId: 'kg' } })).status).toBe(200);
    expect(services.gateway.requests[1].json.model_region).toBeUndefined();
    // The router's other tenants stay in-region.
    expect((await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'kr' } })).status).toBe(200);
    expect(services.gateway.requests[2].json.model_region).toBeUndefined();
  });

  test('on a router with global routing, a tenant with globalRouting: false stays in-region, and its own "global" is refused', async () => {
    const { handler } = await tenantRouter(services.dynamo, TENANTS, { endpoint: services.gateway.url, allowedModels: ['claude-sonnet-4-6'], globalRouting: true });
    expect((await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'kl' } })).status).toBe(200);
    expect(services.gateway.requests[0].json.model_region).toBeUndefined();
    expect(lastLog()).toMatchObject({ region: 'us' });
    const refused = await call(handler, { body: chat('claude-sonnet-4-6', { model_region: 'global' }), identity: { apiKeyId: 'kl' } });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ code: 'global_routing_disabled', message: 'Global routing is not enabled on this router for this tenant (model_region).' });
    expect((await call(handler, { body: chat('claude-sonnet-4-6'), identity: { apiKeyId: 'kr' } })).status).toBe(200);
    expect(services.gateway.requests[1].json.model_region).toBe('global');
  });
});

describe('tokens per minute, reserved up front', () => {
  test('exact under concurrency: 1,000 tokens a minute admit 5 concurrent requests of 183 tokens worst case, not 6; refused with what is left', async () => {
    const secondsLeft = 60 - new Date().getUTCSeconds();
    if (secondsLeft < 5) await new Promise((resolve) => setTimeout(resolve, secondsLeft * 1000 + 100));
    let release!: () => void;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    services.gateway.behaviour = async (_req, res) => {
      await hold;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: 'gpt-5-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage: { input_tokens: 10, output_tokens: 20 } }));
    };
    const { handler } = await tenantRouter(services.dynamo, [{ id: 'tpm', ids: [{ k: 'key', v: 'kt' }], tpm: 1_000 }],
      { endpoint: services.gateway.url, allowedModels: ['gpt-5-mini'] });
    // {"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":100} is 83 bytes: 83 + 100 = 183 tokens worst case.
    const wave = Array.from({ length: 6 }, () => call(handler, { body: chat('gpt-5-mini', { max_tokens: 100 }), identity: { apiKeyId: 'kt' } }));
    await waitUntil(() => services.gateway.requests.length === 5, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const results = await Promise.all(wave);
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = results.find((r) => r.status === 429)!;
    expect(services.gateway.requests[0].rawBody).toBe('{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":100}');
    // 5 x 183 = 915 held: 85 left.
    expect(refused.json.error.message).toBe('Tenant tpm may use 1000 tokens per minute: 85 are left this minute, and this request\'s worst case is 183; retry after the minute ends.');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Settled: each used 30 tokens, so 150 of the minute are used and another 183 fit now.
    expect((await call(handler, { body: chat('gpt-5-mini', { max_tokens: 100 }), identity: { apiKeyId: 'kt' } })).status).toBe(200);
  });

  test('a worst case above the whole minute can never be admitted: 400 request_exceeds_budget', async () => {
    const { handler } = await tenantRouter(services.dynamo, [{ id: 'tpm2', ids: [{ k: 'key', v: 'kt2' }], tpm: 500 }], { endpoint: services.gateway.url, allowedModels: ['gpt-5-mini'] });
    const res = await call(handler, { body: chat('gpt-5-mini', { max_tokens: 1_000 }), identity: { apiKeyId: 'kt2' } });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('This request\'s worst case, 1084 tokens, alone exceeds the 500 tokens per minute of tenant tpm2: it can never be admitted. Lower max_tokens or shorten the prompt.');
    expect(services.gateway.requests).toHaveLength(0);
  });
});

describe('a budget with nothing left', () => {
  test('says so, with a Retry-After to the end of the month and no SDK retry', async () => {
    // gpt-5-nano at 0.00000005 / 0.0000004: a 10,000 nano-USD budget. The first request's worst case (82 bytes),
    // 82 x 50 + 10 x 400 = 8,100 nano-USD, fits; it settles at its usage, 11 x 50 + 7 x 400 = 3,350.
    const catalog = catalogWithUsPrices(LITERAL_PRICES);
    const { handler, table } = await tenantRouter(services.dynamo, [{ id: 'tiny', ids: [{ k: 'key', v: 'kb' }], usd: 0.00001 }],
      { endpoint: services.gateway.url, allowedModels: ['gpt-5-nano'], catalog });
    expect((await call(handler, { body: chat('gpt-5-nano', { max_tokens: 10 }), identity: { apiKeyId: 'kb' } })).status).toBe(200);
    const ledger = new TenantLedger(services.dynamo.client, sdk, table);
    expect((await ledger.usage('tiny')).usdNanos).toBe(3_350);
    expect(lastLog()).toMatchObject({ tenant_month_to_date_usd: 0.00000335, tenant_budget_used_percent: 33.5 });
    expect(stdout.emf.at(-1)).toMatchObject({ Tenant: 'tiny', TenantMonthToDateUsd: 0.00000335, TenantBudgetUsedPercent: 33.5 });
    // Spend the rest by hand: 6,650 nano-USD settled, so nothing is left.
    const r = await ledger.reserve('tiny', { usdNanos: 10_000 }, { usdNanos: 6_650, tokens: 1 }, 60_000);
    if (!r.ok) throw new Error('refused');
    await ledger.settle(r.reservation, { usdNanos: 6_650, tokens: 1 });
    const spent = await call(handler, { body: chat('gpt-5-nano', { max_tokens: 10 }), identity: { apiKeyId: 'kb' } });
    expect(spent.status).toBe(429);
    expect(spent.json.error.message).toBe('Budget exceeded: the monthly budget of 0.00001 USD of tenant tiny is spent (0 USD left) until the month ends (UTC).');
    const now = new Date();
    const untilMonthEnd = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) - now.getTime()) / 1000;
    expect(Number(spent.headers['retry-after'])).toBeGreaterThanOrEqual(Math.floor(untilMonthEnd) - 2);
    expect(Number(spent.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(untilMonthEnd));
    expect(spent.headers['x-should-retry']).toBe('false');
  });
});

describe('shards read while a deployment is under way', () => {
  test('a shard of another version serves the request that read it, and is read again until the expected one is there', async () => {
    const table = await services.dynamo.table();
    const v1: TenantSpec[] = [{ id: 'a', ids: [{ k: 'key', v: 'ka' }] }];
    const v2: TenantSpec[] = [...v1, { id: 'b', ids: [{ k: 'key', v: 'kb' }] }];
    // The function expects version 2; the table still has version 1 (CloudFormation has not written it yet).
    const expected = await writeLocalTenants(services.dynamo.client, sdk, table, v2);
    await writeLocalTenants(services.dynamo.client, sdk, table, v1);
    const { handler } = await tenantRouter(services.dynamo, v1, { endpoint: services.gateway.url, allowedModels: ['gpt-5-mini'] }, { table, shardVersions: expected });
    expect((await call(handler, { body: chat('gpt-5-mini'), identity: { apiKeyId: 'ka' } })).status).toBe(200);
    expect((await call(handler, { body: chat('gpt-5-mini'), identity: { apiKeyId: 'kb' } })).json.error.code).toBe('unknown_tenant');
    await writeLocalTenants(services.dynamo.client, sdk, table, v2);
    expect((await call(handler, { body: chat('gpt-5-mini'), identity: { apiKeyId: 'kb' } })).status).toBe(200);
  });
});
