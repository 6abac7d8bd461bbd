import { PassThrough } from 'node:stream';
import * as sdk from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LocalDynamo } from './dynamo';
import { FakeGateway, useFakeGateway } from './fake-gateway';
import { TEST_KEY } from './router-harness';
import { StdoutCapture } from './stdout-capture';
import { BUNDLED_CATALOG, CatalogData, parseCatalog, TokenPrice } from '../../src/catalog/model-catalog';
import type { TenantSpec } from '../../src/catalog/tenants-schema';
import { LocalRouterSettings, routerEnvironment } from '../../src/emulator/config';
import { lambdaContext, proxyEvent, splitPrelude } from '../../src/emulator/runtime-shim';
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

export interface CallOptions {
  readonly body?: unknown;
  readonly method?: string;
  readonly path?: string;
  /** requestContext.identity fields (apiKeyId, userArn). */
  readonly identity?: Record<string, string>;
  /** requestContext.authorizer. */
  readonly authorizer?: Record<string, unknown>;
  /** Hang up as soon as the first body bytes arrive. */
  readonly abortOnFirstBytes?: boolean;
  /** Hang up at once, while the request is being admitted (before anything can be answered). */
  readonly abortDuringAdmission?: boolean;
  /** Hang up when this settles (for example once the gateway has the request). */
  readonly abortOn?: Promise<unknown>;
  /** The function's remaining time when the request arrives. @default 60 s */
  readonly timeoutMs?: number;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly json: any;
}

/** Invokes the streaming handler in-process with an authenticated request context, as API Gateway would. */
export async function call(handler: StreamingHandler, o: CallOptions = {}): Promise<CallResult> {
  const event: APIGatewayProxyEvent = proxyEvent({
    method: o.method ?? 'POST',
    path: o.path ?? '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: o.body === undefined ? null : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
  });
  (event.requestContext as any).identity = { sourceIp: '10.0.0.1', ...o.identity };
  (event.requestContext as any).authorizer = o.authorizer ?? null;
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => {
    chunks.push(c);
    if (o.abortOnFirstBytes) {
      const split = splitPrelude(Buffer.concat(chunks));
      if (split && split.body.length > 0) stream.destroy();
    }
  });
  const running = handler(event, stream, lambdaContext(o.timeoutMs ?? 60_000));
  // The handler runs synchronously up to its first store call: destroying now is a hang-up during admission.
  if (o.abortDuringAdmission) stream.destroy();
  void o.abortOn?.then(() => stream.destroy());
  await running;
  const split = splitPrelude(Buffer.concat(chunks));
  if (!split) {
    if (o.abortDuringAdmission || o.abortOn) return { status: 0, headers: {}, body: '', json: undefined };
    throw new Error('no prelude in handler output');
  }
  const body = split.body.toString('utf8');
  let json: any;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: split.prelude.statusCode!, headers: split.prelude.headers!, body, json };
}
