import * as sdk from '@aws-sdk/client-dynamodb';
import { TenantLedger, windowOf } from '../../src/handler/tenants/ledger';
import { LocalDynamo } from '../support/dynamo';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});
afterAll(() => dynamo.close());

const SEPT_14_NOON = Date.UTC(2026, 8, 14, 12, 0, 0);
const HOUR = 3_600_000;

async function ledgerAt(clock: { now: number }): Promise<TenantLedger> {
  return new TenantLedger(dynamo.client, sdk, await dynamo.table(), () => clock.now);
}

describe('TenantLedger against DynamoDB (dynalite)', () => {
  test('a reservation holds the estimate until it is settled to the actual usage', async () => {
    const clock = { now: SEPT_14_NOON };
    const ledger = await ledgerAt(clock);
    const r = await ledger.reserve('team-a', { usdNanos: 1_000_000, tokens: 10_000 }, { usdNanos: 400_000, tokens: 3_000 }, 60_000);
    expect(r.ok).toBe(true);
    expect(await ledger.usage('team-a')).toEqual({ usdNanos: 0, usdCommittedNanos: 400_000, tokensToday: 0, tokensCommittedToday: 3_000, inFlight: 1 });
    if (!r.ok) return;
    await ledger.settle(r.reservation, { usdNanos: 150_000, tokens: 1_200 });
    expect(await ledger.usage('team-a')).toEqual({ usdNanos: 150_000, usdCommittedNanos: 150_000, tokensToday: 1_200, tokensCommittedToday: 1_200, inFlight: 0 });
    // Settling again does not move the reservation's estimate a second time.
    await ledger.settle(r.reservation, { usdNanos: 0, tokens: 0 });
    expect(await ledger.usage('team-a')).toEqual({ usdNanos: 150_000, usdCommittedNanos: 150_000, tokensToday: 1_200, tokensCommittedToday: 1_200, inFlight: 0 });
  });

  test('40 concurrent reservations against room for exactly 25: 25 admitted, and settled usage stays within the limit', async () => {
    const clock = { now: SEPT_14_NOON };
    const ledger = await ledgerAt(clock);
    const limits = { usdNanos: 25_000, tokens: 1_000_000 };
    const results = await Promise.all(Array.from({ length: 40 }, () => ledger.reserve('team-b', limits, { usdNanos: 1_000, tokens: 10 }, 60_000)));
    const admitted = results.filter((r) => r.ok);
    expect(admitted).toHaveLength(25);
    const refused = results.filter((r) => !r.ok);
    // Refused while others were in flight, with settled usage at zero: a short Retry-After.
    expect(refused[0]).toEqual({ ok: false, limit: 'usd', never: false, heldByInFlight: true, retryAfterSeconds: 1, remaining: 0, requested: 1_000 });
    await Promise.all(admitted.map((r) => r.ok && ledger.settle(r.reservation, { usdNanos: 990, tokens: 9 })));
    expect(await ledger.usage('team-b')).toEqual({ usdNanos: 24_750, usdCommittedNanos: 24_750, tokensToday: 225, tokensCommittedToday: 225, inFlight: 0 });
    // 250 nano-USD left: a 1,000 estimate no longer fits, and now only a new month helps (Sept 14 12:00 -> Oct 1 00:00).
    expect(await ledger.reserve('team-b', limits, { usdNanos: 1_000, tokens: 10 }, 60_000))
      .toEqual({ ok: false, limit: 'usd', never: false, heldByInFlight: false, retryAfterSeconds: 16 * 86_400 + 12 * 3_600, remaining: 250, requested: 1_000 });
    expect((await ledger.reserve('team-b', limits, { usdNanos: 250, tokens: 10 }, 60_000)).ok).toBe(true);
  });

  test('the daily token limit resets at UTC midnight; the monthly budget does not', async () => {
    const clock = { now: Date.UTC(2026, 8, 14, 23, 59, 0) };
    const ledger = await ledgerAt(clock);
    const limits = { usdNanos: 10_000, tokens: 100 };
    const first = await ledger.reserve('team-c', limits, { usdNanos: 1_000, tokens: 100 }, 60_000);
    if (!first.ok) throw new Error('not admitted');
    await ledger.settle(first.reservation, { usdNanos: 1_000, tokens: 100 });
    expect(await ledger.reserve('team-c', limits, { usdNanos: 1_000, tokens: 1 }, 60_000))
      .toEqual({ ok: false, limit: 'tokens', never: false, heldByInFlight: false, retryAfterSeconds: 60, remaining: 0, requested: 1 });
    clock.now += 2 * 60_000;
    expect((await ledger.reserve('team-c', limits, { usdNanos: 1_000, tokens: 100 }, 60_000)).ok).toBe(true);
    // Both reservations are in September's item: 2,000 nano-USD committed.
    expect((await ledger.usage('team-c')).usdCommittedNanos).toBe(2_000);
  });

  test('an estimate larger than the whole limit is refused without touching the table', async () => {
    const ledger = await ledgerAt({ now: SEPT_14_NOON });
    expect(await ledger.reserve('team-d', { tokens: 50 }, { usdNanos: 0, tokens: 51 }, 60_000))
      .toEqual({ ok: false, limit: 'tokens', never: true, heldByInFlight: false, retryAfterSeconds: 12 * 3_600, remaining: 50, requested: 51 });
    expect(await ledger.usage('team-d')).toEqual({ usdNanos: 0, usdCommittedNanos: 0, tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
  });

  test('a crashed function\'s reservation is reclaimed at its worst case once it has expired (never released at zero), and not before', async () => {
    const clock = { now: SEPT_14_NOON };
    const ledger = await ledgerAt(clock);
    const limits = { usdNanos: 2_000 };
    // Never settled: its function "crashed" (it may have been served, so it is spent).
    expect((await ledger.reserve('team-e', limits, { usdNanos: 800, tokens: 5 }, 15 * 60_000)).ok).toBe(true);
    // Before it expires: held by a request in flight, retry in a second.
    expect(await ledger.reserve('team-e', limits, { usdNanos: 1_300, tokens: 5 }, 60_000))
      .toEqual({ ok: false, limit: 'usd', never: false, heldByInFlight: true, retryAfterSeconds: 1, remaining: 1_200, requested: 1_300 });
    clock.now += 15 * 60_000 + 1;
    // After: reclaimed at 800, settled. 800 + 1,300 > 2,000, now for good this month (Sept 14 12:15:00.001 -> Oct 1, rounded up).
    expect(await ledger.reserve('team-e', limits, { usdNanos: 1_300, tokens: 5 }, 60_000))
      .toEqual({ ok: false, limit: 'usd', never: false, heldByInFlight: false, retryAfterSeconds: 16 * 86_400 + 11 * 3_600 + 45 * 60, remaining: 1_200, requested: 1_300 });
    expect(await ledger.usage('team-e')).toEqual({ usdNanos: 800, usdCommittedNanos: 800, tokensToday: 5, tokensCommittedToday: 5, inFlight: 0 });
    expect((await ledger.reserve('team-e', limits, { usdNanos: 1_200, tokens: 5 }, 60_000)).ok).toBe(true);
  });

  test('requests per minute per model: a fixed UTC minute, counted atomically, per model', async () => {
    const clock = { now: SEPT_14_NOON + 45_000 };
    const ledger = await ledgerAt(clock);
    const results = await Promise.all(Array.from({ length: 12 }, () => ledger.countRequest('team-f', ['gpt-5'], 5)));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.find((r) => !r.ok)).toEqual({ ok: false, retryAfterSeconds: 15 });
    expect(await ledger.countRequest('team-f', ['gpt-5-mini'], 5)).toEqual({ ok: true });
    clock.now += 15_000;
    expect(await ledger.countRequest('team-f', ['gpt-5'], 5)).toEqual({ ok: true });
  });

  test('windows are UTC calendar months and days', () => {
    expect(windowOf(Date.UTC(2026, 11, 31, 23, 30))).toEqual({
      month: '2026-12',
      previousMonth: '2026-11',
      day: '31',
      monthEndsAt: Date.UTC(2027, 0, 1),
      dayEndsAt: Date.UTC(2027, 0, 1),
    });
    expect(windowOf(Date.UTC(2026, 1, 28, 1) + HOUR).day).toBe('28');
  });

  test('the month item is kept 400 days past its month\'s end (its TTL), so chargeback history outlives the budget', async () => {
    const clock = { now: Date.UTC(2026, 1, 10, 8) };
    const ledger = await ledgerAt(clock);
    const table = (ledger as unknown as { table: string }).table;
    const r = await ledger.reserve('team-ttl', { tokens: 100 }, { usdNanos: 0, tokens: 1 }, 60_000);
    expect(r.ok).toBe(true);
    const out = await dynamo.client.send(new sdk.GetItemCommand({ TableName: table, Key: { pk: { S: 'team-ttl#2026-02' } } }));
    // 1 March 2026 00:00 UTC (1772323200) + 400 x 86,400 s.
    expect(out.Item!.expires_at).toEqual({ N: '1806883200' });
  });
});
