import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as sdk from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localClientConfig } from '../../src/emulator/tenant-store';
import { monthKey, TenantLedger, windowOf } from '../../src/handler/tenants/ledger';
import { LocalDynamo } from '../support/dynamo';
import { DynamoFault, DynamoFaultProxy } from '../support/dynamo-fault-proxy';
import { DynamoThrottleProxy } from '../support/dynamo-throttle-proxy';

/*
 * The ledger's edges, each against dynalite through the real SDK: the
 * boundaries of its limits, the month's first admission, reservations that
 * race, reclaims that race settles, settle retries within a deadline, rate
 * and minute items and their expiry, and what it does with errors that are
 * not a failed condition. Amounts are nano-USD and tokens, literal.
 */

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});
afterAll(() => dynamo.close());

/** 2026-12-03 10:00:30.500 UTC: minute 29,938,200 (1,796,292,030,500 ms), 29.5 s before the next. */
const NOW = 1_796_292_030_500;
const MINUTE = 29_938_200;

const CONDITION_FAILED: DynamoFault = { status: 400, type: 'ConditionalCheckFailedException', message: 'The conditional request failed' };
const INTERNAL: DynamoFault = { status: 500, type: 'InternalServerError', message: 'injected' };

async function ledgerOn(
  endpoint: string, now: () => number = () => NOW, existingTable?: string,
): Promise<{ ledger: TenantLedger; table: string; client: DynamoDBClient }> {
  const table = existingTable ?? await dynamo.table();
  const client = new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
  return { ledger: new TenantLedger(client, sdk, table, now), table, client };
}

async function withRecorder(run: (proxy: DynamoThrottleProxy) => Promise<void>) {
  const proxy = await DynamoThrottleProxy.start(dynamo.endpoint, () => Infinity);
  try {
    await run(proxy);
  } finally {
    await proxy.close();
  }
}

async function withFaults(
  shouldFail: (operation: string, body: string) => boolean, fault: DynamoFault, run: (proxy: DynamoFaultProxy) => Promise<void>,
  target = dynamo.endpoint,
) {
  const proxy = await DynamoFaultProxy.start(target, shouldFail, fault);
  try {
    await run(proxy);
  } finally {
    await proxy.close();
  }
}

async function item(table: string, pk: string) {
  return (await dynamo.client.send(new sdk.GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item ?? {};
}

describe('the month\'s first admission looks at the month before; later ones do not', () => {
  test('exactly: alone, nothing settled, only this reservation committed', async () => {
    const { ledger } = await ledgerOn(dynamo.endpoint);
    const first = await ledger.reserve('t', { usdNanos: 10_000 }, { usdNanos: 1_000, tokens: 10 }, 60_000);
    expect(first).toMatchObject({ ok: true, reclaim: [{ pk: 't#2026-11', lookAt: true }] });
    const second = await ledger.reserve('t', { usdNanos: 10_000 }, { usdNanos: 2_000, tokens: 10 }, 60_000);
    expect(second).toMatchObject({ ok: true, reclaim: [] });
    if (!first.ok || !second.ok) throw new Error('refused');
    await ledger.settle(first.reservation, { usdNanos: 500, tokens: 5 });
    await ledger.settle(second.reservation, { usdNanos: 700, tokens: 5 });
    // Alone again, but the month has settled spend: not its first admission.
    expect(await ledger.reserve('t', { usdNanos: 10_000 }, { usdNanos: 1_000, tokens: 10 }, 60_000)).toMatchObject({ ok: true, reclaim: [] });
  });

  test('reservations that cost nothing (token limits only, an unpriced model): the one beside another in flight is not the first', async () => {
    const { ledger } = await ledgerOn(dynamo.endpoint);
    const first = await ledger.reserve('z', { tokens: 1_000 }, { usdNanos: 0, tokens: 10 }, 60_000);
    expect(first).toMatchObject({ ok: true, reclaim: [{ pk: 'z#2026-11', lookAt: true }] });
    // Committed spend (0) equals this reservation's (0), but it is not alone.
    expect(await ledger.reserve('z', { tokens: 1_000 }, { usdNanos: 0, tokens: 10 }, 60_000)).toMatchObject({ ok: true, reclaim: [] });
  });

  test('windowOf names the month before in two digits, across the year', () => {
    expect(windowOf(Date.UTC(2026, 1, 15)).previousMonth).toBe('2026-01');
    expect(windowOf(Date.UTC(2026, 0, 15)).previousMonth).toBe('2025-12');
    expect(windowOf(Date.UTC(2026, 10, 1)).previousMonth).toBe('2026-10');
  });
});

test('overlapping reservations each keep their own amount: two settles add up exactly', async () => {
  const { ledger } = await ledgerOn(dynamo.endpoint);
  const a = await ledger.reserve('o', { usdNanos: 100_000 }, { usdNanos: 100, tokens: 10 }, 60_000);
  const b = await ledger.reserve('o', { usdNanos: 100_000 }, { usdNanos: 200, tokens: 20 }, 60_000);
  if (!a.ok || !b.ok) throw new Error('refused');
  expect(a.reservation.attr).toMatch(/^r_[0-9a-f]{32}$/);
  expect(b.reservation.attr).not.toBe(a.reservation.attr);
  await ledger.settle(a.reservation, { usdNanos: 50, tokens: 5 });
  await ledger.settle(b.reservation, { usdNanos: 150, tokens: 15 });
  // 50 + 150 settled; committed back to what was settled.
  expect(await ledger.usage('o', NOW)).toMatchObject({ usdNanos: 200, usdCommittedNanos: 200, inFlight: 0 });
});

describe('limits at their boundaries', () => {
  test('in-flight reservations hold the room exactly when settled spend and this request fit: retry in 1 s', async () => {
    const { ledger } = await ledgerOn(dynamo.endpoint);
    const limits = { usdNanos: 1_000 };
    const spent = await ledger.reserve('b', limits, { usdNanos: 500, tokens: 1 }, 60_000);
    if (!spent.ok) throw new Error('refused');
    await ledger.settle(spent.reservation, { usdNanos: 500, tokens: 1 });
    expect((await ledger.reserve('b', limits, { usdNanos: 300, tokens: 1 }, 60_000)).ok).toBe(true);
    // Settled 500 + this 500 = the limit exactly: in flight holds the rest.
    expect(await ledger.reserve('b', limits, { usdNanos: 500, tokens: 1 }, 60_000)).toEqual({
      ok: false, limit: 'usd', never: false, heldByInFlight: true, retryAfterSeconds: 1, remaining: 200, requested: 500,
    });
  });

  test('a condition that fails while the counters read have room (a race): refused as held in flight, for USD and for tokens', async () => {
    await withFaults((operation) => operation === 'UpdateItem', CONDITION_FAILED, async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      expect(await ledger.reserve('r', { usdNanos: 1_000 }, { usdNanos: 100, tokens: 7 }, 60_000)).toEqual({
        ok: false, limit: 'usd', never: false, heldByInFlight: true, retryAfterSeconds: 1, remaining: 1_000, requested: 100,
      });
      expect(await ledger.reserve('r', { tokens: 50 }, { usdNanos: 100, tokens: 7 }, 60_000)).toEqual({
        ok: false, limit: 'tokens', never: false, heldByInFlight: true, retryAfterSeconds: 1, remaining: 50, requested: 7,
      });
    });
  });

  test('the same race with 300 nano-USD and 20 tokens already committed: what is left is the limit less them', async () => {
    await withFaults((operation) => operation === 'UpdateItem', CONDITION_FAILED, async (proxy) => {
      const { ledger, table } = await ledgerOn(proxy.endpoint);
      const direct = new TenantLedger(new DynamoDBClient({ ...localClientConfig(dynamo.endpoint), maxAttempts: 1 }), sdk, table, () => NOW);
      expect((await direct.reserve('c', { usdNanos: 1_000 }, { usdNanos: 300, tokens: 20 }, 60_000)).ok).toBe(true);
      expect(await ledger.reserve('c', { usdNanos: 1_000 }, { usdNanos: 100, tokens: 7 }, 60_000)).toMatchObject({ ok: false, heldByInFlight: true, remaining: 700 });
      expect(await ledger.reserve('c', { tokens: 50 }, { usdNanos: 100, tokens: 7 }, 60_000)).toMatchObject({ ok: false, heldByInFlight: true, remaining: 30 });
    });
  });

  test('a refused reservation costs one read, no retry, when nothing has expired', async () => {
    await withRecorder(async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      expect((await ledger.reserve('x', { usdNanos: 100 }, { usdNanos: 100, tokens: 1 }, 60_000)).ok).toBe(true);
      proxy.operations.length = 0;
      expect((await ledger.reserve('x', { usdNanos: 100 }, { usdNanos: 1, tokens: 1 }, 60_000)).ok).toBe(false);
      expect(proxy.operations).toEqual(['UpdateItem', 'GetItem']);
    });
  });

  test('a reservation is expired only after its expiry, not at it', async () => {
    let now = NOW;
    const { ledger } = await ledgerOn(dynamo.endpoint, () => now);
    const held = await ledger.reserve('e', { usdNanos: 10_000 }, { usdNanos: 100, tokens: 1 }, 1_000);
    if (!held.ok) throw new Error('refused');
    now = NOW + 1_000;
    expect(await ledger.reserve('e', { usdNanos: 10_000 }, { usdNanos: 100, tokens: 1 }, 60_000)).toMatchObject({ ok: true, reclaim: [] });
    now = NOW + 1_001;
    const later = await ledger.reserve('e', { usdNanos: 10_000 }, { usdNanos: 100, tokens: 1 }, 60_000);
    expect(later).toMatchObject({ ok: true, reclaim: [{ pk: held.reservation.pk, expired: [{ attr: held.reservation.attr, day: '03', amount: { usdNanos: 100, tokens: 1 } }] }] });
  });

  test('errors other than a failed condition are the caller\'s to see', async () => {
    await withFaults((operation) => operation === 'UpdateItem', INTERNAL, async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      await expect(ledger.reserve('f', { usdNanos: 1_000 }, { usdNanos: 1, tokens: 1 }, 60_000)).rejects.toThrow('injected');
      await expect(ledger.countRequest('f', ['m'], 5)).rejects.toThrow('injected');
      await expect(ledger.reserveMinuteTokens('f', 1, 5)).rejects.toThrow('injected');
      await expect(ledger.settleMinuteTokens({ pk: 'f#tpm#1', tokens: 5 }, 1)).rejects.toThrow('injected');
      await expect(ledger.reclaim([{ pk: 'f#2026-12', expired: [{ attr: 'r_1', day: '03', amount: { usdNanos: 1, tokens: 1 } }] }])).rejects.toThrow('injected');
      await expect(ledger.reclaim([{ pk: 'f#2026-12', expired: [1, 2].map((i) => ({ attr: `r_${i}`, day: '03', amount: { usdNanos: 1, tokens: 1 } })) }])).rejects.toThrow('injected');
    });
  });
});

describe('reclaim', () => {
  async function expiredReservations(ledger: TenantLedger, count: number) {
    const out = [];
    for (let i = 0; i < count; i++) {
      const r = await ledger.reserve('c', { usdNanos: 1_000_000 }, { usdNanos: 10, tokens: 2 }, -1);
      if (!r.ok) throw new Error('refused');
      out.push(r.reservation);
    }
    return out;
  }

  test('41 expired reservations are charged in two batches of at most 40', async () => {
    await withRecorder(async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      const held = await expiredReservations(ledger, 41);
      proxy.operations.length = 0;
      await ledger.reclaim([{ pk: held[0].pk, expired: held.map((r) => ({ attr: r.attr, day: r.day, amount: r.amount })) }]);
      expect(proxy.operations).toEqual(['UpdateItem', 'UpdateItem']);
      expect(await ledger.usage('c', NOW)).toMatchObject({ usdNanos: 410, inFlight: 0 });
    });
  });

  test('looking at a month with nothing expired (the common first admission of a month): one read, no update', async () => {
    await withRecorder(async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      const live = await ledger.reserve('n', { usdNanos: 1_000 }, { usdNanos: 10, tokens: 2 }, 60_000);
      if (!live.ok) throw new Error('refused');
      proxy.operations.length = 0;
      await ledger.reclaim([{ pk: live.reservation.pk, lookAt: true }, { pk: monthKey('n', '2026-11'), lookAt: true }]);
      expect(proxy.operations).toEqual(['GetItem', 'GetItem']);
      expect(await ledger.usage('n', NOW)).toMatchObject({ usdNanos: 0, usdCommittedNanos: 10, inFlight: 1 });
    });
  });

  test('40 expired reservations are one batch, exactly', async () => {
    await withRecorder(async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      const held = await expiredReservations(ledger, 40);
      proxy.operations.length = 0;
      await ledger.reclaim([{ pk: held[0].pk, expired: held.map((r) => ({ attr: r.attr, day: r.day, amount: r.amount })) }]);
      expect(proxy.operations).toEqual(['UpdateItem']);
      expect(await ledger.usage('c', NOW)).toMatchObject({ usdNanos: 400, inFlight: 0 });
    });
  });

  test('a batch that races a settle falls back to one by one: the settled one keeps its settle, the other is charged its worst case', async () => {
    await withRecorder(async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      const [a, b] = await expiredReservations(ledger, 2);
      await ledger.settle(a, { usdNanos: 3, tokens: 1 });
      proxy.operations.length = 0;
      await ledger.reclaim([{ pk: a.pk, expired: [a, b].map((r) => ({ attr: r.attr, day: r.day, amount: r.amount })) }]);
      // The batch, then each alone (the settled one's condition fails quietly).
      expect(proxy.operations).toEqual(['UpdateItem', 'UpdateItem', 'UpdateItem']);
      expect(await ledger.usage('c', NOW)).toMatchObject({ usdNanos: 13, usdCommittedNanos: 13, inFlight: 0 });
      // One reservation closed meanwhile: nothing more to try.
      proxy.operations.length = 0;
      await ledger.reclaim([{ pk: a.pk, expired: [{ attr: a.attr, day: a.day, amount: a.amount }] }]);
      expect(proxy.operations).toEqual(['UpdateItem']);
    });
  });

  test('one by one after a failed batch, an error other than a failed condition is the caller\'s to see, and nothing is charged', async () => {
    const { ledger, table } = await ledgerOn(dynamo.endpoint);
    const [a, b] = await expiredReservations(ledger, 2);
    // The batch (conditions on #r0 and #r1) fails its condition; each reservation alone then fails otherwise.
    await withFaults((op, body) => op === 'UpdateItem' && !body.includes('#r1'), INTERNAL, async (inner) => {
      await withFaults((op, body) => op === 'UpdateItem' && body.includes('#r1'), CONDITION_FAILED, async (outer) => {
        const { ledger: faulty } = await ledgerOn(outer.endpoint, () => NOW, table);
        await expect(faulty.reclaim([{ pk: a.pk, expired: [a, b].map((r) => ({ attr: r.attr, day: r.day, amount: r.amount })) }])).rejects.toThrow('injected');
        expect([outer.failed, inner.failed]).toEqual([1, 1]);
      }, inner.endpoint);
    });
    expect(await ledger.usage('c', NOW)).toMatchObject({ usdNanos: 0, usdCommittedNanos: 20, inFlight: 2 });
  });

  test('a reservation written without its day is charged to day 00', async () => {
    const { ledger, table } = await ledgerOn(dynamo.endpoint);
    const pk = monthKey('h', '2026-12');
    await dynamo.client.send(new sdk.PutItemCommand({ TableName: table, Item: { pk: { S: pk }, usd_c: { N: '4' }, r_hand: { M: { u: { N: '4' }, t: { N: '5' }, x: { N: '0' } } } } }));
    await ledger.reclaim([{ pk, lookAt: true }]);
    expect(await item(table, pk)).toMatchObject({ usd_s: { N: '4' }, tok_s_00: { N: '5' } });
  });
});

describe('settle', () => {
  test('retried twice (50 ms, then 100 ms apart): a store that recovers by the third attempt settles', async () => {
    let failures = 0;
    await withFaults((operation) => operation === 'UpdateItem' && failures-- > 0, INTERNAL, async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      const r = await ledger.reserve('s', { usdNanos: 1_000 }, { usdNanos: 100, tokens: 1 }, 60_000);
      if (!r.ok) throw new Error('refused');
      failures = 2;
      const started = Date.now();
      expect(await ledger.settle(r.reservation, { usdNanos: 40, tokens: 1 })).toEqual({ usdNanos: 40 });
      expect(proxy.failed).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    });
  });

  test('three failed attempts are all: the error is thrown and the reservation left for a reclaim', async () => {
    await withFaults((operation, body) => operation === 'UpdateItem' && body.includes('REMOVE'), INTERNAL, async (proxy) => {
      const { ledger } = await ledgerOn(proxy.endpoint);
      const r = await ledger.reserve('s3', { usdNanos: 1_000 }, { usdNanos: 100, tokens: 1 }, 60_000);
      if (!r.ok) throw new Error('refused');
      await expect(ledger.settle(r.reservation, { usdNanos: 40, tokens: 1 })).rejects.toThrow('injected');
      expect(proxy.failed).toBe(3);
      expect(await ledger.usage('s3', NOW)).toMatchObject({ inFlight: 1, usdCommittedNanos: 100 });
    });
  });

  test('no attempt starts whose wait would reach the deadline', async () => {
    await withFaults((operation, body) => operation === 'UpdateItem' && body.includes('REMOVE'), INTERNAL, async (proxy) => {
      // A clock that stands still: after the first failure the wait is 50 ms (< 100 left), after the second 100 ms (= 100 left).
      const { ledger } = await ledgerOn(proxy.endpoint, () => NOW);
      const r = await ledger.reserve('sd', { usdNanos: 1_000 }, { usdNanos: 100, tokens: 1 }, 60_000);
      if (!r.ok) throw new Error('refused');
      await expect(ledger.settle(r.reservation, { usdNanos: 40, tokens: 1 }, NOW + 100)).rejects.toThrow('injected');
      expect(proxy.failed).toBe(2);
    });
  });

  test('a store that does not answer is given up on at the deadline', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const client = new DynamoDBClient({ ...localClientConfig(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`), maxAttempts: 1 });
      const ledger = new TenantLedger(client, sdk, 'any');
      const started = Date.now();
      await expect(ledger.settle({ pk: 'p', attr: 'r_1', day: '03', amount: { usdNanos: 1, tokens: 1 } }, { usdNanos: 1, tokens: 1 }, Date.now() + 300)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(3_000);
      client.destroy();
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test('a late settle (after a reclaim) adds only what exceeds the reservation, and reports the month so far', async () => {
    const { ledger } = await ledgerOn(dynamo.endpoint);
    const r = await ledger.reserve('late', { usdNanos: 10_000 }, { usdNanos: 100, tokens: 2 }, -1);
    if (!r.ok) throw new Error('refused');
    await ledger.reclaim([{ pk: r.reservation.pk, lookAt: true }]);
    expect(await ledger.settle(r.reservation, { usdNanos: 130, tokens: 3 })).toEqual({ usdNanos: 130 });
    expect(await ledger.usage('late', NOW)).toMatchObject({ usdNanos: 130, usdCommittedNanos: 130 });
  });
});

describe('requests and tokens per minute', () => {
  test('a rate item expires an hour after its minute; the refusal says when the minute ends', async () => {
    const { ledger, table } = await ledgerOn(dynamo.endpoint);
    expect(await ledger.countRequest('m', ['a'], 1)).toEqual({ ok: true });
    expect(await item(table, `m#rpm#a#${MINUTE}`)).toMatchObject({ n: { N: '1' }, expires_at: { N: '1796295660' } });
    expect(await ledger.countRequest('m', ['a'], 1)).toEqual({ ok: false, retryAfterSeconds: 30 });
  });

  test('a request refused for one model gives back only the slots it took', async () => {
    const { ledger, table } = await ledgerOn(dynamo.endpoint);
    expect((await ledger.countRequest('g', ['a'], 1)).ok).toBe(true);
    expect((await ledger.countRequest('g', ['a', 'b'], 1)).ok).toBe(false);
    expect((await item(table, `g#rpm#a#${MINUTE}`)).n).toEqual({ N: '1' });
    expect((await item(table, `g#rpm#b#${MINUTE}`)).n).toEqual({ N: '0' });
  });

  test('minute tokens: exactly the limit fits; the item expires an hour after its minute; the refusal says what is left and when', async () => {
    const { ledger, table } = await ledgerOn(dynamo.endpoint);
    expect(await ledger.reserveMinuteTokens('k', 100, 100)).toEqual({ ok: true, reservation: { pk: `k#tpm#${MINUTE}`, tokens: 100 } });
    expect(await item(table, `k#tpm#${MINUTE}`)).toMatchObject({ n: { N: '100' }, expires_at: { N: '1796295660' } });
    expect(await ledger.reserveMinuteTokens('k', 1, 100)).toEqual({ ok: false, never: false, remaining: 0, retryAfterSeconds: 30 });
    expect(await ledger.reserveMinuteTokens('k', 101, 100)).toEqual({ ok: false, never: true, remaining: 100, retryAfterSeconds: 30 });
  });

  test('settling minute tokens at what was reserved costs no call; a minute item gone meanwhile is no error', async () => {
    await withRecorder(async (proxy) => {
      const { ledger, table } = await ledgerOn(proxy.endpoint);
      const r = await ledger.reserveMinuteTokens('z', 40, 100);
      if (!r.ok) throw new Error('refused');
      proxy.operations.length = 0;
      await ledger.settleMinuteTokens(r.reservation, 40);
      expect(proxy.operations).toEqual([]);
      await ledger.settleMinuteTokens(r.reservation, 10);
      expect((await item(table, r.reservation.pk)).n).toEqual({ N: '10' });
      await dynamo.client.send(new sdk.DeleteItemCommand({ TableName: table, Key: { pk: { S: r.reservation.pk } } }));
      await expect(ledger.settleMinuteTokens(r.reservation, 0)).resolves.toBeUndefined();
      expect(await item(table, r.reservation.pk)).toEqual({});
    });
  });
});
