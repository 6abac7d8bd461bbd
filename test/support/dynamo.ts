import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as sdk from '@aws-sdk/client-dynamodb';
import { EmbeddedDynamoDb, ensureTenantTable, localClientConfig, startEmbeddedDynamoDb } from '../../src/emulator/tenant-store';

/** dynalite in-process, the real SDK v3 client, and a fresh table per call of `table()`. */
export class LocalDynamo {
  static async start(): Promise<LocalDynamo> {
    return new LocalDynamo(await startEmbeddedDynamoDb());
  }

  readonly client: DynamoDBClient;
  private tables = 0;

  private constructor(readonly server: EmbeddedDynamoDb) {
    this.client = new DynamoDBClient(localClientConfig(server.endpoint));
  }

  get endpoint(): string {
    return this.server.endpoint;
  }

  async table(): Promise<string> {
    const name = `tenants-${++this.tables}`;
    await ensureTenantTable(this.client, sdk, name);
    return name;
  }

  async close(): Promise<void> {
    this.client.destroy();
    await this.server.close();
  }
}
