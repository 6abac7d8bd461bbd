import type { ServerResponse } from 'node:http';
import * as sdk from '@aws-sdk/client-dynamodb';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { LocalDynamo } from '../support/dynamo';
import { FakeGateway, RecordedRequest, sseEvent, waitUntil } from '../support/fake-gateway';
import { call, CallResult } from '../support/in-process';
import { StdoutCapture } from '../support/stdout-capture';
import { catalogWithUsPrices, tenantRouter } from '../support/tenant-harness';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

/*
 * Every request body below is 97 bytes upstream, e.g.
 * {"model":"gpt-5-mini","messages":[{"role":"user","content":"ok"}],"max_tokens":100,"stream":true}
 * so its worst case is 97 input tokens (one per byte) + 100 output tokens = 197 tokens.
 * The gateway reports 90 input + 100 output = 190 tokens for an answer that completes.
 */
const body = (content: 'ok' | 'er' | 'to' | 'ab') => ({ model: 'gpt-5-mini', messages: [{ role: 'user', content }], max_tokens: 100, stream: true });
const TEAM = { apiKeyId: 'key-team-a' };

let dynamo: LocalDynamo;
let gateway: FakeGateway;
/** Answers are held until the test releases them, so that every admitted request is in flight at once. */
let hold: Promise<void>;
let release: () => void;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  gateway = await FakeGateway.start(behaviour);
});
afterAll(async () => {
  await gateway.close();
  await dynamo.close();
});
beforeEach(() => {
  gateway.requests.length = 0;
  hold = new Promise((resolve) => {
    release = resolve;
  });
});

async function behaviour(req: RecordedRequest, res: ServerResponse): Promise<void> {
  const kind = req.json.messages[0].content;
  if (kind === 'to') return; // never answers: the router's upstream timeout fires
  if (kind === 'er') {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"internal","message":"boom"}}');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(sseEvent('gpt-5-mini', 'Hel'));
  if (kind === 'ab') return; // the caller hangs up after this chunk; no usage ever comes
  await hold;
  res.write(sseEvent('gpt-5-mini', null, { usage: { prompt_tokens: 90, completion_tokens: 100 } }));
  res.end('data: [DONE]\n\n');
}

/** Test prices in a user catalog: 1 micro-USD per input token, 2 per output token (gpt-5-mini, in-region US). */
const TEST_PRICES = catalogWithUsPrices({ 'gpt-5-mini': { input: 1e-6, output: 2e-6 } });

function statuses(results: CallResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const key = `${r.status}${r.json?.error?.code ? ` ${r.json.error.code}` : ''}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('tenant budgets under concurrency (handler + dynalite + fake gateway)', () => {
  test('daily tokens: a wave of 32 with successes, upstream errors, timeouts and aborts settles exactly; the remainder admits exactly what fits', async () => {
    const LIMIT = 8_374;
    const { handler, table } = await tenantRouter(dynamo, [{ id: 'team-a', ids: [{ k: 'key', v: 'key-team-a' }], tok: LIMIT }],
      { endpoint: gateway.url, allowedModels: ['gpt-5-mini'], upstreamTimeoutMs: 2_000, catalog: TEST_PRICES });
    const ledger = new TenantLedger(dynamo.client, sdk, table);

    // Wave 1: 32 concurrent, 8 of each outcome; 32 x 197 = 6,304 fits in 8,374, so all are admitted.
    const kinds = (['ok', 'er', 'to', 'ab'] as const).flatMap((k) => Array(8).fill(k) as Array<typeof k>);
    const wave1 = kinds.map((k) => call(handler, { body: body(k), identity: TEAM, abortOnFirstBytes: k === 'ab' }));
    await waitUntil(() => gateway.requests.length === 32, 5_000);
    release();
    const results1 = await Promise.all(wave1);
    expect(gateway.requests).toHaveLength(32);
    expect(statuses(results1.filter((_, i) => kinds[i] !== 'ab'))).toEqual({ '200': 8, '500 internal': 8, '504 upstream_timeout': 8 });
    // Successes settle at 190 each; upstream errors release; timeouts and aborts settle at the estimate (197),
    // because the gateway may have billed them: 8 x 190 + 16 x 197 = 4,672. No reservation is left behind.
    // In USD at the test prices: 8 x 290 + 16 x 297 = 7,072 micro-USD, recorded for chargeback (no USD budget here).
    expect(await ledger.usage('team-a')).toEqual({ usdNanos: 7_072_000, usdCommittedNanos: 7_072_000, tokensToday: 4_672, tokensCommittedToday: 4_672, inFlight: 0 });

    // Wave 2: 40 concurrent successes held in flight. 8,374 - 4,672 = 3,702 tokens of room: 18 x 197 = 3,546 fits, 19 do not.
    gateway.requests.length = 0;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const wave2 = Array.from({ length: 40 }, () => call(handler, { body: body('ok'), identity: TEAM }));
    await waitUntil(() => gateway.requests.length === 18, 5_000);
    const early = await Promise.race([Promise.all(wave2), new Promise((resolve) => setTimeout(resolve, 300, 'pending'))]);
    expect(early).toBe('pending');
    release();
    const results2 = await Promise.all(wave2);
    expect(statuses(results2)).toEqual({ '200': 18, '429 budget_exceeded': 22 });
    expect(gateway.requests).toHaveLength(18);
    // Refused while the others held the room: retry in a second.
    expect(results2.find((r) => r.status === 429)!.headers['retry-after']).toBe('1');
    expect(await ledger.usage('team-a')).toMatchObject({ tokensToday: 8_092, tokensCommittedToday: 8_092, inFlight: 0 });

    // 282 left: one more fits (197), then 92 are left: this request (197) does not fit, a smaller one would.
    expect((await call(handler, { body: body('ok'), identity: TEAM })).status).toBe(200);
    const over = await call(handler, { body: body('ok'), identity: TEAM });
    expect(over.status).toBe(429);
    expect(over.json.error).toEqual({
      message: 'Budget exceeded: 92 tokens of the daily limit of 8374 tokens of tenant team-a are left, and this request\'s worst case is 197 tokens. '
        + 'A request with a smaller max_tokens or a shorter prompt may fit.',
      type: 'rate_limit_error',
      param: null,
      code: 'budget_exceeded',
    });
    // No multi-hour Retry-After while something still fits, and no SDK retry of the same request.
    expect(over.headers['retry-after']).toBeUndefined();
    expect(over.headers['x-should-retry']).toBe('false');
    expect((await ledger.usage('team-a')).tokensToday).toBe(8_282);
    expect(8_282).toBeLessThanOrEqual(LIMIT);
  }, 30_000);

  test('monthly USD: 40 concurrent requests against room for 33 admit 33, and settled spend stays under the budget', async () => {
    // Test prices: 1 micro-USD per input token, 2 per output token.
    // Worst case 97 x 1 + 100 x 2 = 297 micro-USD; an answer costs 90 x 1 + 100 x 2 = 290.
    const { handler, table } = await tenantRouter(dynamo, [{ id: 'team-usd', ids: [{ k: 'key', v: 'key-usd' }], usd: 0.01 }],
      { endpoint: gateway.url, allowedModels: ['gpt-5-mini'], catalog: TEST_PRICES });
    const ledger = new TenantLedger(dynamo.client, sdk, table);
    const wave = Array.from({ length: 40 }, () => call(handler, { body: body('ok'), identity: { apiKeyId: 'key-usd' } }));
    await waitUntil(() => gateway.requests.length === 33, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    expect(statuses(await Promise.all(wave))).toEqual({ '200': 33, '429 budget_exceeded': 7 });
    // 33 x 290 = 9,570 micro-USD of 10,000.
    expect(await ledger.usage('team-usd')).toMatchObject({ usdNanos: 9_570_000, usdCommittedNanos: 9_570_000, inFlight: 0 });
    expect((await call(handler, { body: body('ok'), identity: { apiKeyId: 'key-usd' } })).status).toBe(200);
    // 10,000 - 9,860 = 140 micro-USD left: this request's 297 do not fit; the smallest request (1 + 2 = 3) would.
    const over = await call(handler, { body: body('ok'), identity: { apiKeyId: 'key-usd' } });
    expect(over.status).toBe(429);
    expect(over.json.error.message).toBe('Budget exceeded: 0.00014 USD of the monthly budget of 0.01 USD of tenant team-usd are left, '
      + 'and this request\'s worst case is 0.000297 USD. A request with a smaller max_tokens or a shorter prompt may fit.');
    expect(over.headers['retry-after']).toBeUndefined();
    expect((await ledger.usage('team-usd')).usdNanos).toBe(9_860_000);
    // The EMF document of a success carries the tenant's cost in its (service, Tenant) set.
    const doc = stdout.emf.filter((d: any) => d.Tenant === 'team-usd' && d.CostUsd !== undefined).at(-1);
    expect(doc).toMatchObject({ Tenant: 'team-usd', CostUsd: 0.00029 });
  }, 30_000);
});
