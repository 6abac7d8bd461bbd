import type { AddressInfo } from 'node:net';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { TENANT_TABLE_KEY } from '../contract/tenants-schema';

/*
 * The tenant table off AWS: an embedded in-memory dynalite (an implementation
 * of the DynamoDB API) for the emulator and the tests, and the table the
 * construct would create, created through the real SDK.
 */


export interface EmbeddedDynamoDb {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite in memory on a free port. Loaded with a dynamic require
 * because it is a devDependency: the error says how to do without it.
 */
export async function startEmbeddedDynamoDb(): Promise<EmbeddedDynamoDb> {
  let dynalite: (options: Record<string, unknown>) => import('node:net').Server;
  try {
    // Optional at run time, by design: the error below says what to do without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
    dynalite = require('dynalite');
  } catch {
    throw new Error('the embedded tenant store needs dynalite: run `npm install --save-dev dynalite`, or pass --dynamodb-endpoint URL');
  }
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A client for a local endpoint: any credentials do for dynalite. */
export function localClientConfig(endpoint: string): DynamoDb.DynamoDBClientConfig {
  return { endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

/** Creates the tenant table unless it exists (same key schema as the construct's, on demand). */
export async function ensureTenantTable(client: DynamoDb.DynamoDBClient, sdk: typeof DynamoDb, table: string): Promise<void> {
  try {
    await client.send(new sdk.CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: TENANT_TABLE_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: TENANT_TABLE_KEY, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
  } catch (err) {
    if (!(err instanceof sdk.ResourceInUseException)) throw err;
  }
  for (let i = 0; i < 100; i++) {
    const { Table } = await client.send(new sdk.DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}
