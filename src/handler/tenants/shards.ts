import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import type { Sdk } from './ledger';
import {
  checkTenants, parseTenants, TENANT_SHARD_ATTRIBUTE, TENANT_SHARD_VERSION_ATTRIBUTE, TENANT_TABLE_KEY,
  tenantShardItem, tenantShardKey, tenantTableKey, TenantSpec,
} from '../../contract/tenants-schema';

/*
 * The tenants live in the tenant table as shards (contract/tenants-schema.ts),
 * written at deploy time; the handler reads them all at once when its
 * execution environment starts: one BatchGetItem per hundred shards, in
 * parallel, so a router with 1,000 tenants starts as fast as one with one.
 */

/** BatchGetItem reads at most 100 keys per call. */
const KEYS_PER_BATCH = 100;
/** Passes over keys DynamoDB left unprocessed (throttling) before giving up. */
const MAX_PASSES = 5;

/** The tenants read, and whether every shard had the version the function expects (else a deployment is under way). */
export interface ShardRead {
  readonly tenants: TenantSpec[];
  readonly current: boolean;
}

/** Reads the shards whose versions are `versions` and checks them together. Throws naming what is missing or malformed. */
export async function readTenantShards(client: DynamoDb.DynamoDBClient, sdk: Sdk, table: string, versions: readonly string[]): Promise<ShardRead> {
  const keys = versions.map((_, i) => tenantShardKey(i));
  const docs = new Map<string, string | undefined>();
  const found = new Map<string, string | undefined>();
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += KEYS_PER_BATCH) batches.push(keys.slice(i, i + KEYS_PER_BATCH));
  await Promise.all(batches.map(async (batch) => {
    let pending = batch;
    for (let pass = 0; pending.length > 0; pass++) {
      if (pass === MAX_PASSES) throw new Error(`the tenant table left ${pending.length} shard(s) unread after ${MAX_PASSES} passes`);
      const out = await client.send(new sdk.BatchGetItemCommand({
        RequestItems: { [table]: { Keys: pending.map(tenantTableKey), ConsistentRead: true } },
      }));
      // BatchGetItem returns whole items, each with its key; one without a document is reported missing below.
      for (const item of out.Responses?.[table] ?? []) {
        const pk = item[TENANT_TABLE_KEY].S as string;
        docs.set(pk, item[TENANT_SHARD_ATTRIBUTE]?.S);
        found.set(pk, item[TENANT_SHARD_VERSION_ATTRIBUTE]?.S);
      }
      // Unprocessed keys come back as they were requested.
      pending = (out.UnprocessedKeys?.[table]?.Keys ?? []).map((k) => k[TENANT_TABLE_KEY].S as string);
    }
  }));
  const tenants: TenantSpec[] = [];
  for (const key of keys) {
    const doc = docs.get(key);
    if (doc === undefined) throw new Error(`tenant shard ${key} is missing from table ${table}`);
    try {
      tenants.push(...parseTenants(doc));
    } catch (err) {
      throw new Error(`tenant shard ${key} ${(err as Error).message}`);
    }
  }
  checkTenants(tenants);
  return { tenants, current: keys.every((key, i) => found.get(key) === versions[i]) };
}

/** Writes the shards (the emulator's and the tests' way; deployed, CloudFormation writes them). */
export async function writeTenantShards(
  client: DynamoDb.DynamoDBClient, sdk: Sdk, table: string, shards: ReadonlyArray<{ doc: string; version: string }>,
): Promise<void> {
  await Promise.all(shards.map(({ doc, version }, i) => client.send(new sdk.PutItemCommand({
    TableName: table,
    Item: tenantShardItem(i, doc, version),
  }))));
}
