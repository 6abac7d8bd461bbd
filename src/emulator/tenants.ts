import * as fs from 'node:fs';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { ensureTenantTable, loadDynamoDbSdk, localClientConfig, startEmbeddedDynamoDb } from './tenant-store';
import { parseTenants, TenantSpec } from '../catalog/tenants-schema';

/**
 * `serve --tenants FILE`: the tenants file, the table that holds their
 * budgets (a real endpoint's, or an embedded in-memory dynalite), and the
 * map from each tenant's API key to the key id API Gateway would put in the
 * request context when deployed.
 */

/** One entry of the tenants file. */
interface TenantFileEntry {
  readonly id: string;
  readonly apiKey: string;
  readonly allowedModels?: string[];
  readonly monthlyBudgetUsd?: number;
  readonly dailyTokenLimit?: number;
  readonly requestsPerMinutePerModel?: number;
  readonly transcriptAccess?: boolean;
}

export interface LocalTenants {
  readonly specs: TenantSpec[];
  /** x-api-key value -> API key id. */
  readonly apiKeyIds: ReadonlyMap<string, string>;
  readonly table: string;
  readonly dynamoDbClientConfig: DynamoDb.DynamoDBClientConfig;
  /** What the startup banner says about the store. */
  readonly storeDescription: string;
  close(): Promise<void>;
}

/** Reads and checks the tenants file; throws with a message naming the problem. */
export function readTenantsFile(file: string): { specs: TenantSpec[]; apiKeyIds: Map<string, string> } {
  let doc: { tenants?: TenantFileEntry[] };
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`--tenants ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc?.tenants) || doc.tenants.length === 0) throw new Error(`--tenants ${file}: expected {"tenants":[{"id","apiKey",...}]}`);
  const apiKeyIds = new Map<string, string>();
  const specs = doc.tenants.map((t): TenantSpec => {
    if (typeof t.apiKey !== 'string' || t.apiKey.length === 0) throw new Error(`--tenants ${file}: tenant ${JSON.stringify(t.id)} has no apiKey`);
    if (apiKeyIds.has(t.apiKey)) throw new Error(`--tenants ${file}: two tenants share one apiKey`);
    // Deployed, the handler sees the key's id, never its value: so does it here.
    const keyId = `local-key-${t.id}`;
    apiKeyIds.set(t.apiKey, keyId);
    return {
      id: t.id,
      who: { k: 'key', v: keyId },
      m: t.allowedModels,
      usd: t.monthlyBudgetUsd,
      tok: t.dailyTokenLimit,
      rpm: t.requestsPerMinutePerModel,
      tx: t.transcriptAccess,
    };
  });
  try {
    parseTenants(JSON.stringify({ v: 1, t: specs }));
  } catch (err) {
    throw new Error(`--tenants ${file}: ${(err as Error).message}`);
  }
  return { specs, apiKeyIds };
}

/** Loads the tenants and gets their table ready: at `endpoint`, or in an embedded dynalite. */
export async function prepareLocalTenants(file: string, endpoint: string | undefined, table: string): Promise<LocalTenants> {
  const { specs, apiKeyIds } = readTenantsFile(file);
  const sdk = loadDynamoDbSdk();
  const embedded = endpoint === undefined ? await startEmbeddedDynamoDb() : undefined;
  const config = endpoint !== undefined && !/^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(endpoint)
    ? { endpoint } // a real service: the default credential chain
    : localClientConfig(endpoint ?? embedded!.endpoint);
  const client = new sdk.DynamoDBClient(config);
  try {
    await ensureTenantTable(client, sdk, table);
  } finally {
    client.destroy();
  }
  return {
    specs,
    apiKeyIds,
    table,
    dynamoDbClientConfig: config,
    storeDescription: embedded
      ? `tenant budgets: embedded in-memory DynamoDB (dynalite) at ${embedded.endpoint}; they reset when the emulator stops (--dynamodb-endpoint URL keeps them)`
      : `tenant budgets: table ${table} at ${endpoint}`,
    close: async () => embedded?.close(),
  };
}
