import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { missingPackages } from './packages';
import { ensureTenantTable, localClientConfig, startEmbeddedDynamoDb } from './tenant-store';
import { parseTenantsFile, TenantFileEntry, TenantFileIdentity } from '../contract/tenants-file';
import { checkTenants, shardTenants, TenantIdentitySpec, tenantSpec, TenantSpec } from '../contract/tenants-schema';
import { writeTenantShards } from '../handler/tenants/shards';

/**
 * `serve --tenants FILE`: the tenants file (the same format as
 * `router.addTenantsFromFile`), the table that holds their shards and
 * budgets (a real endpoint's, or an embedded in-memory dynalite), and the
 * map from each API key to the key id API Gateway would put in the request
 * context when deployed. Locally, a key the router would issue is presented
 * by its name (`x-api-key: <name>`), an existing key by its id.
 */

export interface LocalTenants {
  readonly specs: TenantSpec[];
  /** x-api-key value -> API key id. */
  readonly apiKeyIds: ReadonlyMap<string, string>;
  readonly table: string;
  /** The shards' versions, for the function's environment. */
  readonly shardVersions: string;
  readonly dynamoDbClientConfig: DynamoDb.DynamoDBClientConfig;
  /** What the startup banner says about the store. */
  readonly storeDescription: string;
  close(): Promise<void>;
}

/** The packages `serve --tenants` needs at run time, and when. */
const NEEDED = [
  { name: '@aws-sdk/client-dynamodb', when: () => true },
  { name: 'dynalite', when: (endpoint: string | undefined) => endpoint === undefined },
];

/** The packages `serve --tenants` needs that are not installed, as one message (emulator/packages.ts). */
export function missingTenantPackages(endpoint: string | undefined, resolve?: (name: string) => unknown): string | undefined {
  return missingPackages('--tenants', NEEDED.filter((n) => n.when(endpoint)).map((n) => n.name), resolve);
}

/** Reads and checks the tenants file; throws with a message naming the file, the tenant and the field. */
export function readTenantsFile(file: string): { specs: TenantSpec[]; apiKeyIds: Map<string, string> } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const entries = parseTenantsFile(text, file, (t) => require('yaml').parse(t));
  const apiKeyIds = new Map<string, string>();
  const specs = entries.map((entry) => localSpec(entry, file, apiKeyIds));
  try {
    checkTenants(specs);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return { specs, apiKeyIds };
}

function localSpec(entry: TenantFileEntry, file: string, apiKeyIds: Map<string, string>): TenantSpec {
  const ids = entry.identities.map((identity): TenantIdentitySpec => {
    const local = localIdentity(entry.id, identity);
    if (local.presented !== undefined) {
      if (apiKeyIds.has(local.presented)) throw new Error(`${file}: tenant ${entry.id}: the API key ${JSON.stringify(local.presented)} also identifies another tenant`);
      apiKeyIds.set(local.presented, local.spec.v);
    }
    return local.spec;
  });
  return tenantSpec(entry.id, ids, { ...entry, isDefault: entry.default });
}

/** The identity as the handler matches it, and what a local caller presents as x-api-key for it. */
function localIdentity(tenant: string, identity: TenantFileIdentity): { spec: TenantIdentitySpec; presented?: string } {
  switch (identity.kind) {
    // Deployed, the handler sees a key's id, never its value: so it does here.
    case 'apiKey': return { spec: { k: 'key', v: `local-key-${tenant}-${identity.name}` }, presented: identity.name };
    case 'apiKeyId': return { spec: { k: 'key', v: identity.id }, presented: identity.id };
    case 'iamPrincipal': return { spec: /:role\//.test(identity.arn) ? { k: 'role', v: identity.arn } : { k: 'user', v: identity.arn } };
    case 'cognitoGroup': return { spec: { k: 'claim', n: 'cognito:groups', v: identity.group } };
    case 'cognitoClaim': return { spec: { k: 'claim', n: identity.claim, v: identity.value } };
    case 'authorizerPrincipal': return { spec: { k: 'principal', v: identity.principalId } };
  }
}

/** The shards of `specs`, written into `table`: what CloudFormation writes when deployed. */
export async function writeLocalTenants(
  client: DynamoDb.DynamoDBClient, sdk: typeof DynamoDb, table: string, specs: readonly TenantSpec[],
): Promise<string> {
  const { shards, shardVersions } = shardTenants(specs, (doc) => createHash('sha256').update(doc).digest('hex').slice(0, 12));
  await writeTenantShards(client, sdk, table, shards);
  return shardVersions;
}

/** Loads the tenants and gets their table ready (shards written): at `endpoint`, or in an embedded dynalite. */
export async function prepareLocalTenants(file: string, endpoint: string | undefined, table: string): Promise<LocalTenants> {
  const { specs, apiKeyIds } = readTenantsFile(file);
  // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
  const sdk: typeof DynamoDb = require('@aws-sdk/client-dynamodb');
  const embedded = endpoint === undefined ? await startEmbeddedDynamoDb() : undefined;
  const config = endpoint !== undefined && !/^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(endpoint)
    ? { endpoint } // a real service: the default credential chain
    : localClientConfig(endpoint ?? embedded!.endpoint);
  const client = new sdk.DynamoDBClient(config);
  let shardVersions: string;
  try {
    await ensureTenantTable(client, sdk, table);
    shardVersions = await writeLocalTenants(client, sdk, table, specs);
  } finally {
    client.destroy();
  }
  return {
    specs,
    apiKeyIds,
    table,
    shardVersions,
    dynamoDbClientConfig: config,
    storeDescription: embedded
      ? `tenant budgets: embedded in-memory DynamoDB (dynalite) at ${embedded.endpoint}; they reset when the emulator stops (--dynamodb-endpoint URL keeps them)`
      : `tenant budgets: table ${table} at ${endpoint}`,
    close: async () => embedded?.close(),
  };
}
