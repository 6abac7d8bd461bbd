import * as sdk from '@aws-sdk/client-dynamodb';
import { LocalDynamo } from './dynamo';
import { FakeGateway, useFakeGateway } from './fake-gateway';
import { TEST_KEY } from './router-harness';
import { StdoutCapture } from './stdout-capture';
import { BUNDLED_CATALOG, CatalogData, parseCatalog, TokenPrice } from '../../src/contract/model-catalog';
import type { TenantSpec } from '../../src/contract/tenants-schema';
import { LocalRouterSettings, routerEnvironment } from '../../src/emulator/config';
import { localClientConfig } from '../../src/emulator/tenant-store';
import { writeLocalTenants } from '../../src/emulator/tenants';
import { createRouterHandler, StreamingHandler } from '../../src/handler/app';
import type { GuardrailClientOptions } from '../../src/handler/guardrail/guard';
import type { ApiKeyProvider } from '../../src/handler/secret';

export interface TenantTestServices {
  readonly stdout: StdoutCapture;
  readonly dynamo: LocalDynamo;
  readonly gateway: FakeGateway;
}

/**
 * Registers the jest hooks a tenant suite needs: a captured stdout, dynalite
 * and a fake gateway for the whole file, the gateway's record and behaviour
 * and the captured lines reset before each test. Read the fields inside tests
 * (they are set in beforeAll).
 */
export function tenantTestServices(): TenantTestServices {
  const stdout = StdoutCapture.install();
  const fake = useFakeGateway();
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
  });
  afterAll(async () => {
    await dynamo?.close();
    stdout.restore();
  });
  beforeEach(() => stdout.clear());
  return {
    stdout,
    get dynamo() {
      return dynamo;
    },
    get gateway() {
      return fake.gateway;
    },
  };
}

/** A router handler with tenants, its table in dynalite, built from the same environment the construct sets. */
export async function tenantRouter(
  dynamo: LocalDynamo,
  specs: TenantSpec[],
  settings: Partial<LocalRouterSettings> & { endpoint: string },
  opts: {
    storeEndpoint?: string;
    storeFailure?: 'open' | 'closed';
    apiKeyProvider?: ApiKeyProvider;
    table?: string;
    shardVersions?: string;
    guardrails?: GuardrailClientOptions;
  } = {},
): Promise<{ handler: StreamingHandler; table: string }> {
  const table = opts.table ?? await dynamo.table();
  // As CloudFormation does when deployed: the shards are in the table before the function reads them
  // (unless the test has written them itself, with the versions it expects).
  const shardVersions = opts.shardVersions ?? await writeLocalTenants(dynamo.client, sdk, table, specs);
  const env = routerEnvironment({ region: 'us', ...settings, tenants: { shardVersions, table, storeFailure: opts.storeFailure } });
  const handler = createRouterHandler(env, {
    apiKeyProvider: opts.apiKeyProvider ?? (async () => TEST_KEY),
    tenants: { dynamoDbClientConfig: { ...localClientConfig(opts.storeEndpoint ?? dynamo.endpoint), maxAttempts: 1 } },
    guardrails: opts.guardrails,
  });
  return { handler, table };
}

/**
 * Literal test prices, USD per token, for tests whose expected charges are
 * computed by hand (test/tenants/settlement.test.ts, settlement.property.test.ts):
 *
 *   gpt-5-nano         input 0.00000005   output 0.0000004
 *   gpt-5.5            input 0.0000055    output 0.000033
 *   claude-sonnet-4-6  input 0.000003     output 0.000015   cached input 0.0000003   cache write 0.00000375
 */
export const LITERAL_PRICES: Record<string, TokenPrice> = {
  'gpt-5-nano': { input: 0.00000005, output: 0.0000004 },
  'gpt-5.5': { input: 0.0000055, output: 0.000033 },
  'claude-sonnet-4-6': { input: 0.000003, output: 0.000015, cachedInput: 0.0000003, cacheWrite: 0.00000375 },
};

/**
 * A user catalog (as `catalog fetch` writes one): the bundled catalog with
 * test prices for some models in the US region, USD per token. Tenants are
 * charged from the router's catalog, so tests set prices the way a user does.
 */
export function catalogWithUsPrices(prices: Record<string, TokenPrice>): CatalogData {
  const models = BUNDLED_CATALOG.models.map((m) => (prices[m.id] ? { ...m, prices: { ...m.prices, us: prices[m.id] } } : m));
  return parseCatalog(JSON.parse(JSON.stringify({ ...BUNDLED_CATALOG, source: 'test prices', models })), 'test catalog');
}

