import * as sdk from '@aws-sdk/client-dynamodb';
import type { TenantSpec } from '../../src/contract/tenants-schema';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { DynamoFaultProxy } from '../support/dynamo-fault-proxy';
import { call } from '../support/in-process';
import { catalogWithUsPrices, LITERAL_PRICES, tenantRouter, tenantTestServices } from '../support/tenant-harness';

/*
 * Every refusal of the tenant gate, word for word: what the caller reads is
 * the router's promise (what is left, the request's worst case, when to
 * retry), so each message and header is a literal here.
 *
 * Prices (LITERAL_PRICES): gpt-5-nano 50 nano-USD per input token, 400 per
 * output token. A request's worst case is its body's bytes as input tokens
 * plus max_tokens: `chat('gpt-5-nano', { max_tokens: 10 })` is an 82-byte
 * body, so 92 tokens and 82 x 50 + 10 x 400 = 8,100 nano-USD (0.0000081 USD);
 * with max_tokens 100 it is 83 bytes, 183 tokens and 83 x 50 + 100 x 400 =
 * 44,150 nano-USD (0.00004415 USD).
 */

const services = tenantTestServices();

/** The refusal's code for the caller, and the reason the log line and the Rejected metric carry. */
function expectRefused(res: { json: any }, code: string, reason = code): void {
  expect(res.json.error.code).toBe(code);
  expect(services.stdout.requestLogs.at(-1)).toMatchObject({ reject_reason: reason });
}
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const catalog = catalogWithUsPrices(LITERAL_PRICES);

async function routerWith(tenants: TenantSpec[], extra: { storeEndpoint?: string; transcriptAccess?: boolean; storeFailure?: 'open' | 'closed'; allowedModels?: string[] } = {}) {
  const { storeEndpoint, storeFailure, ...settings } = extra;
  return tenantRouter(services.dynamo, tenants, { endpoint: services.gateway.url, allowedModels: ['gpt-5-nano', 'gpt-5-mini'], catalog, ...settings }, { storeEndpoint, storeFailure });
}

test('a caller that matches no tenant', async () => {
  const { handler } = await routerWith([{ id: 'known', ids: [{ k: 'key', v: 'kk' }] }]);
  const res = await call(handler, { body: chat('gpt-5-nano'), identity: { apiKeyId: 'stranger' } });
  expect(res.status).toBe(403);
  expect(res.json.error).toEqual({ message: 'This router serves named tenants only, and the caller matches none of them.', type: 'permission_error', param: null, code: 'unknown_tenant' });
});

describe('budgets in USD', () => {
  test('a worst case above the whole budget can never be admitted', async () => {
    const { handler } = await routerWith([{ id: 'tiny', ids: [{ k: 'key', v: 'kt' }], usd: 0.00001 }]);
    const res = await call(handler, { body: chat('gpt-5-nano', { max_tokens: 100 }), identity: { apiKeyId: 'kt' } });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('This request\'s worst case, 0.00004415 USD, alone exceeds the monthly budget of 0.00001 USD of tenant tiny: it can never be admitted. Lower max_tokens or shorten the prompt.');
    expectRefused(res, 'request_exceeds_budget');
    expect(res.headers['x-should-retry']).toBe('false');
    expect(res.headers['retry-after']).toBeUndefined();
  });

  test('room held by requests in flight: retry shortly', async () => {
    const { handler, table } = await routerWith([{ id: 'busy', ids: [{ k: 'key', v: 'kb' }], usd: 0.00001 }]);
    // 5,000 of the 10,000 nano-USD held by a request in flight: 5,000 left, below this request's 8,100.
    const held = await new TenantLedger(services.dynamo.client, sdk, table).reserve('busy', { usdNanos: 10_000 }, { usdNanos: 5_000, tokens: 1 }, 60_000);
    expect(held.ok).toBe(true);
    const res = await call(handler, { body: chat('gpt-5-nano', { max_tokens: 10 }), identity: { apiKeyId: 'kb' } });
    expect(res.status).toBe(429);
    expect(res.json.error.message).toBe('Budget exceeded: 0.000005 USD of the monthly budget of 0.00001 USD of tenant busy are left while requests in flight hold the rest, '
      + 'and this request\'s worst case is 0.0000081 USD; retry shortly.');
    expectRefused(res, 'budget_exceeded');
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['x-should-retry']).toBeUndefined();
  });

  test('no price for the model: the budget cannot be applied, and nothing goes upstream', async () => {
    const { handler } = await routerWith([{ id: 'unpriced', ids: [{ k: 'key', v: 'ku' }], usd: 10 }], { allowedModels: ['gpt-7', 'gpt-8'] });
    const before = services.gateway.requests.length;
    const res = await call(handler, { body: chat('gpt-7', { fallbacks: [{ model: 'gpt-8' }] }), identity: { apiKeyId: 'ku' } });
    expect(res.status).toBe(503);
    expect(res.json.error.message).toBe('No price is known for gpt-7, gpt-8, so the budget of tenant unpriced cannot be applied.');
    expectRefused(res, 'budget_unavailable');
    expect(res.headers['retry-after']).toBe('60');
    expect(services.gateway.requests.length).toBe(before);
  });
});

describe('daily tokens', () => {
  async function spentTo(tokens: number) {
    const { handler, table } = await routerWith([{ id: 'daily', ids: [{ k: 'key', v: 'kd' }], tok: 100 }]);
    const ledger = new TenantLedger(services.dynamo.client, sdk, table);
    const r = await ledger.reserve('daily', { tokens: 100 }, { usdNanos: 0, tokens }, 60_000);
    if (!r.ok) throw new Error('refused');
    await ledger.settle(r.reservation, { usdNanos: 0, tokens });
    return call(handler, { body: chat('gpt-5-nano', { max_tokens: 10 }), identity: { apiKeyId: 'kd' } });
  }

  test('two tokens left (the smallest request) is not "spent": a smaller request may fit', async () => {
    const res = await spentTo(98);
    expect(res.status).toBe(429);
    expect(res.json.error.message).toBe('Budget exceeded: 2 tokens of the daily limit of 100 tokens of tenant daily are left, and this request\'s worst case is 92 tokens. '
      + 'A request with a smaller max_tokens or a shorter prompt may fit.');
    expectRefused(res, 'budget_exceeded');
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.headers['x-should-retry']).toBe('false');
  });

  test('one token left is spent until the day ends', async () => {
    const res = await spentTo(99);
    expect(res.json.error.message).toBe('Budget exceeded: the daily limit of 100 tokens of tenant daily is spent (1 tokens left) until the day ends (UTC).');
    expectRefused(res, 'budget_exceeded');
    const now = new Date();
    const untilDayEnd = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(Math.floor(untilDayEnd) - 2);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(untilDayEnd));
    expect(res.headers['x-should-retry']).toBe('false');
  });
});

describe('per-minute limits', () => {
  test('tokens per minute held: what is left this minute and the worst case', async () => {
    const { handler, table } = await routerWith([{ id: 'tpm', ids: [{ k: 'key', v: 'kp' }], tpm: 200 }]);
    const held = await new TenantLedger(services.dynamo.client, sdk, table).reserveMinuteTokens('tpm', 150, 200);
    expect(held.ok).toBe(true);
    const res = await call(handler, { body: chat('gpt-5-nano', { max_tokens: 10 }), identity: { apiKeyId: 'kp' } });
    expect(res.status).toBe(429);
    expect(res.json.error.message).toBe('Tenant tpm may use 200 tokens per minute: 50 are left this minute, and this request\'s worst case is 92; retry after the minute ends.');
    expectRefused(res, 'tenant_rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  test('a worst case above the whole per-minute limit can never be admitted', async () => {
    const { handler } = await routerWith([{ id: 'small', ids: [{ k: 'key', v: 'ks' }], tpm: 50 }]);
    const res = await call(handler, { body: chat('gpt-5-nano', { max_tokens: 10 }), identity: { apiKeyId: 'ks' } });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe('This request\'s worst case, 92 tokens, alone exceeds the 50 tokens per minute of tenant small: it can never be admitted. '
      + 'Lower max_tokens or shorten the prompt.');
    expectRefused(res, 'request_exceeds_budget');
    expect(res.headers['x-should-retry']).toBe('false');
  });

  test('requests per minute: names every model the request may reach; what the refused request reserved is released', async () => {
    const { handler, table } = await routerWith([{ id: 'rpm', ids: [{ k: 'key', v: 'kr' }], rpm: 1, usd: 1, tpm: 100_000 }]);
    const body = chat('gpt-5-nano', { max_tokens: 10, fallbacks: [{ model: 'gpt-5-mini' }] });
    expect((await call(handler, { body, identity: { apiKeyId: 'kr' } })).status).toBe(200);
    const ledger = new TenantLedger(services.dynamo.client, sdk, table);
    const afterFirst = await ledger.usage('rpm');
    const res = await call(handler, { body, identity: { apiKeyId: 'kr' } });
    expect(res.status).toBe(429);
    expect(res.json.error.message).toBe('Tenant rpm may send 1 requests per minute to each model; one of gpt-5-nano, gpt-5-mini has had them this minute; retry after the minute ends.');
    expectRefused(res, 'tenant_rate_limited');
    // The refused request's USD reservation and minute tokens were given back: nothing in flight, the settled spend unchanged.
    expect(await ledger.usage('rpm')).toEqual({ ...afterFirst, inFlight: 0 });
    const minute = await ledger.reserveMinuteTokens('rpm', 100_000 - 18, 100_000);
    expect(minute.ok).toBe(true);
  });
});

describe('a store that cannot be reached', () => {
  test('while identifying: 503, nobody can be identified', async () => {
    const { handler } = await routerWith([{ id: 't', ids: [{ k: 'key', v: 'k' }] }], { storeEndpoint: 'http://127.0.0.1:1' });
    const res = await call(handler, { body: chat('gpt-5-nano'), identity: { apiKeyId: 'k' } });
    expect(res.status).toBe(503);
    expect(res.json.error.message).toBe('The tenant store cannot be read, so callers cannot be identified; the router fails closed.');
    expect(res.headers['retry-after']).toBe('1');
  });

  test('while admitting, a chat completion and an understanding request alike: 503 failing closed, admitted unmetered failing open', async () => {
    const proxy = await DynamoFaultProxy.start(services.dynamo.endpoint, (operation) => operation === 'UpdateItem');
    try {
      const tenants: TenantSpec[] = [{ id: 't', ids: [{ k: 'key', v: 'k' }], rpm: 10, usd: 1 }];
      const closed = await routerWith(tenants, { storeEndpoint: proxy.endpoint, transcriptAccess: true });
      for (const [path, body] of [['/v1/chat/completions', chat('gpt-5-nano')], ['/v1/understanding', { transcript_id: 't1', speech_understanding: { request: {} } }]] as const) {
        const res = await call(closed.handler, { path, body, identity: { apiKeyId: 'k' } });
        expect(res.status).toBe(503);
        expect(res.json.error.message).toBe('The tenant budget store cannot be reached; the router fails closed.');
        expectRefused(res, 'budget_unavailable');
        // The log says where the store failed and with what, for the platform team to tell an outage from a permission.
        expect(services.stdout.requestLogs.at(-1)).toMatchObject({ tenant_store_error: 'admit', tenant_store_error_name: expect.any(String) });
        expect(res.headers['retry-after']).toBe('1');
      }
      const open = await routerWith(tenants, { storeEndpoint: proxy.endpoint, transcriptAccess: true, storeFailure: 'open' });
      const understood = await call(open.handler, { path: '/v1/understanding', body: { transcript_id: 't1', speech_understanding: { request: {} } }, identity: { apiKeyId: 'k' } });
      expect(understood.status).toBe(200);
    } finally {
      await proxy.close();
    }
  });
});

describe('a tenant without a budget or limits', () => {
  test('is served without a store call: no ledger item, no store error', async () => {
    const { handler, table } = await routerWith([{ id: 'open', ids: [{ k: 'key', v: 'ko' }] }]);
    const res = await call(handler, { body: chat('gpt-5-nano', { max_tokens: 10 }), identity: { apiKeyId: 'ko' } });
    expect(res.status).toBe(200);
    const items = await services.dynamo.client.send(new sdk.ScanCommand({ TableName: table }));
    expect(items.Items!.filter((item) => item.pk.S!.startsWith('open#'))).toEqual([]);
    expect(services.stdout.requestLogs.at(-1)).toMatchObject({ status: 200, tenant: 'open' });
    expect(services.stdout.requestLogs.at(-1).tenant_store_error_name).toBeUndefined();
  });
});

describe('POST /v1/understanding', () => {
  const body = { transcript_id: 't1', speech_understanding: { request: {} } };

  test('a tenant without transcript access is refused', async () => {
    const { handler } = await routerWith([{ id: 'notx', ids: [{ k: 'key', v: 'kn' }], tx: false }], { transcriptAccess: true });
    const res = await call(handler, { path: '/v1/understanding', body, identity: { apiKeyId: 'kn' } });
    expect(res.status).toBe(403);
    expect(res.json.error).toEqual({ message: 'POST /v1/understanding reads a transcript: tenant notx has no transcript access.', type: 'permission_error', param: null, code: 'transcript_access_disabled' });
  });

  test('it counts against the tenant\'s requests per minute, under the route; a tenant without a rate limit is not counted', async () => {
    const { handler, table } = await routerWith([{ id: 'tx', ids: [{ k: 'key', v: 'kx' }], rpm: 1 }, { id: 'free', ids: [{ k: 'key', v: 'kf' }] }], { transcriptAccess: true });
    expect((await call(handler, { path: '/v1/understanding', body, identity: { apiKeyId: 'kx' } })).status).toBe(200);
    const res = await call(handler, { path: '/v1/understanding', body, identity: { apiKeyId: 'kx' } });
    expect(res.status).toBe(429);
    expect(res.json.error.message).toBe('Tenant tx may send 1 requests per minute to /v1/understanding; retry after the minute ends.');
    expectRefused(res, 'tenant_rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) expect((await call(handler, { path: '/v1/understanding', body, identity: { apiKeyId: 'kf' } })).status).toBe(200);
    const items = await services.dynamo.client.send(new sdk.ScanCommand({ TableName: table }));
    expect(items.Items!.filter((item) => item.pk.S!.startsWith('free#'))).toEqual([]);
    // Admitted and answered: the router's log has no fault of its own.
    expect(services.stdout.requestLogs.at(-1)).toMatchObject({ status: 200, tenant: 'free' });
    expect(services.stdout.requestLogs.at(-1).router_error).toBeUndefined();
  });
});
