import * as sdk from '@aws-sdk/client-dynamodb';
import { monthKey, TenantLedger } from '../../src/handler/tenants/ledger';
import { LocalDynamo } from '../support/dynamo';

/*
 * Reservations never fill the month item. 10,000 requests whose
 * functions crash (never settle) in one month, time compressed: each
 * admission reclaims what has expired, so the item stays small, the tenant
 * is still served, and every crashed request is charged its worst case.
 */

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});
afterAll(() => dynamo.close());

/** DynamoDB's limit on one item. */
const ITEM_LIMIT_BYTES = 400 * 1024;
const CRASHES = 10_000;

test(`${CRASHES} crashed reservations in one month: the item stays far under 400 KB, the tenant is served, each is charged its 100 nano-USD`, async () => {
  const table = await dynamo.table();
  const clock = { now: Date.UTC(2026, 8, 1, 0, 0, 1) };
  const ledger = new TenantLedger(dynamo.client, sdk, table, () => clock.now);
  const limits = { usdNanos: 10_000_000, tokens: 1_000_000 };
  let largestItem = 0;
  let reclaimed = 0;
  for (let i = 0; i < CRASHES; i++) {
    // Each reservation may live 1 s; a new request arrives every 250 ms (10,000 in about 42 minutes).
    const r = await ledger.reserve('crashy', limits, { usdNanos: 100, tokens: 1 }, 1_000);
    if (!r.ok) throw new Error(`refused at ${i}: ${JSON.stringify(r)}`);
    for (const work of r.reclaim) if ('expired' in work) reclaimed += work.expired.length;
    await ledger.reclaim(r.reclaim);
    // Never settled: the function "crashed".
    clock.now += 250;
    if (i % 1_000 === 999) largestItem = Math.max(largestItem, await itemBytes(table));
  }
  // At most the last few seconds' reservations are still live.
  const usage = await ledger.usage('crashy');
  expect(usage.inFlight).toBeLessThanOrEqual(5);
  expect(reclaimed).toBe(CRASHES - usage.inFlight);
  // Every reclaimed one charged at its worst case, 100 nano-USD and 1 token: never zero.
  expect(usage.usdNanos).toBe(100 * reclaimed);
  expect(usage.usdCommittedNanos).toBe(100 * CRASHES);
  expect(largestItem).toBeLessThan(ITEM_LIMIT_BYTES / 100);
  // Still served.
  expect((await ledger.reserve('crashy', limits, { usdNanos: 100, tokens: 1 }, 1_000)).ok).toBe(true);
}, 600_000);

/** An upper bound of the month item's size: DynamoDB counts attribute names and values, JSON adds quotes and braces. */
async function itemBytes(table: string): Promise<number> {
  const out = await dynamo.client.send(new sdk.GetItemCommand({ TableName: table, Key: { pk: { S: monthKey('crashy', '2026-09') } }, ConsistentRead: true }));
  return Buffer.byteLength(JSON.stringify(out.Item ?? {}), 'utf8');
}
