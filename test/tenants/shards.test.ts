import * as sdk from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { shardTenants, TENANT_SHARD_ATTRIBUTE, tenantShardKey, TenantSpec } from '../../src/contract/tenants-schema';
import { localClientConfig } from '../../src/emulator/tenant-store';
import { readTenantShards, writeTenantShards } from '../../src/handler/tenants/shards';
import { LocalDynamo } from '../support/dynamo';
import { DynamoThrottleProxy } from '../support/dynamo-throttle-proxy';

/*
 * The tenants' shards as the handler reads them at cold start: in batches of
 * at most 100 keys, consistently, through DynamoDB's partial answers
 * (UnprocessedKeys), checked against the versions the function expects.
 */

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});
afterAll(() => dynamo.close());

const tenant = (i: number): TenantSpec => ({ id: `team-${i}`, ids: [{ k: 'key', v: `key-${i}` }] });
/** Shards of one tenant each, so shard i holds team-i. */
async function tableWith(n: number): Promise<{ table: string; versions: string[] }> {
  const table = await dynamo.table();
  const { shards } = shardTenants(Array.from({ length: n }, (_, i) => tenant(i)), (doc) => `v${doc.length.toString(16)}`, 1);
  await writeTenantShards(dynamo.client, sdk, table, shards);
  return { table, versions: shards.map((s) => s.version) };
}

async function throughProxy(served: (call: number) => number, run: (client: DynamoDBClient, proxy: DynamoThrottleProxy) => Promise<void>) {
  const proxy = await DynamoThrottleProxy.start(dynamo.endpoint, served);
  const client = new DynamoDBClient({ ...localClientConfig(proxy.endpoint), maxAttempts: 1 });
  try {
    await run(client, proxy);
  } finally {
    client.destroy();
    await proxy.close();
  }
}

test('250 shards are read in batches of at most 100 keys, each consistent, and come back in shard order', async () => {
  const { table, versions } = await tableWith(250);
  await throughProxy(() => Infinity, async (client, proxy) => {
    const read = await readTenantShards(client, sdk, table, versions);
    expect(read.tenants.map((t) => t.id)).toEqual(Array.from({ length: 250 }, (_, i) => `team-${i}`));
    expect(read.current).toBe(true);
    expect(proxy.batchGets.map((b) => b.RequestItems[table].Keys.length).sort((a, b) => a - b)).toEqual([50, 100, 100]);
    expect(proxy.batchGets.every((b) => b.RequestItems[table].ConsistentRead === true)).toBe(true);
    expect(new Set(proxy.batchGets.flatMap((b) => b.RequestItems[table].Keys.map((k: any) => k.pk.S))).size).toBe(250);
  });
});

test('keys DynamoDB leaves unprocessed are asked for again until every shard is read', async () => {
  const { table, versions } = await tableWith(3);
  // One item per answer: three passes, each asking only for what is left.
  await throughProxy(() => 1, async (client, proxy) => {
    const read = await readTenantShards(client, sdk, table, versions);
    expect(read.tenants.map((t) => t.id)).toEqual(['team-0', 'team-1', 'team-2']);
    expect(proxy.batchGets.map((b) => b.RequestItems[table].Keys.length)).toEqual([3, 2, 1]);
  });
});

test('a table that keeps every key unprocessed is given up on after 5 passes, saying so', async () => {
  const { table, versions } = await tableWith(3);
  await throughProxy(() => 0, async (client, proxy) => {
    await expect(readTenantShards(client, sdk, table, versions)).rejects.toThrow('the tenant table left 3 shard(s) unread after 5 passes');
    expect(proxy.batchGets).toHaveLength(5);
  });
});

test('a shard missing from the table, one without its document, and one that is not JSON are named', async () => {
  const { table, versions } = await tableWith(2);
  await expect(readTenantShards(dynamo.client, sdk, table, [...versions, 'v99'])).rejects.toThrow(`tenant shard ~tenants#2 is missing from table ${table}`);
  await dynamo.client.send(new sdk.PutItemCommand({ TableName: table, Item: { pk: { S: tenantShardKey(1) }, v: { S: versions[1] } } }));
  await expect(readTenantShards(dynamo.client, sdk, table, versions)).rejects.toThrow(`tenant shard ~tenants#1 is missing from table ${table}`);
  const malformed = { pk: { S: tenantShardKey(1) }, [TENANT_SHARD_ATTRIBUTE]: { S: '{not json' }, v: { S: versions[1] } };
  await dynamo.client.send(new sdk.PutItemCommand({ TableName: table, Item: malformed }));
  await expect(readTenantShards(dynamo.client, sdk, table, versions)).rejects.toThrow('tenant shard ~tenants#1 is not JSON');
});

test('the read is current only when every shard has the version the function expects', async () => {
  const { table, versions } = await tableWith(3);
  expect((await readTenantShards(dynamo.client, sdk, table, versions)).current).toBe(true);
  expect((await readTenantShards(dynamo.client, sdk, table, [versions[0], versions[1], 'v0'])).current).toBe(false);
  // A shard written without a version (by hand) is never current.
  const stored = await dynamo.client.send(new sdk.GetItemCommand({ TableName: table, Key: { pk: { S: tenantShardKey(2) } } }));
  const doc = stored.Item![TENANT_SHARD_ATTRIBUTE].S!;
  const unversioned = { pk: { S: tenantShardKey(2) }, [TENANT_SHARD_ATTRIBUTE]: { S: doc } };
  await dynamo.client.send(new sdk.PutItemCommand({ TableName: table, Item: unversioned }));
  const read = await readTenantShards(dynamo.client, sdk, table, versions);
  expect(read.current).toBe(false);
  expect(read.tenants).toHaveLength(3);
});

test('tenants of different shards are checked together: the same id in two shards is refused', async () => {
  const table = await dynamo.table();
  const docs = [JSON.stringify({ v: 1, t: [tenant(0)] }), JSON.stringify({ v: 1, t: [{ ...tenant(0), ids: [{ k: 'key', v: 'other' }] }] })];
  await writeTenantShards(dynamo.client, sdk, table, docs.map((doc, i) => ({ doc, version: `v${i}` })));
  await expect(readTenantShards(dynamo.client, sdk, table, ['v0', 'v1'])).rejects.toThrow('names tenant team-0 twice');
});
