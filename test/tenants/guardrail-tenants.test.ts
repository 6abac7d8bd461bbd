import * as sdk from '@aws-sdk/client-dynamodb';
import type { GuardrailSpec } from '../../src/contract/guardrail';
import type { TenantSpec } from '../../src/contract/tenants-schema';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { localBedrockConfig, LocalGuardrail } from '../support/bedrock-guardrail';
import { call } from '../support/in-process';
import { catalogWithUsPrices, LITERAL_PRICES, tenantRouter, tenantTestServices } from '../support/tenant-harness';

const services = tenantTestServices();
let guardrail: LocalGuardrail;
beforeAll(async () => {
  guardrail = await LocalGuardrail.start();
});
afterAll(() => guardrail.close());
beforeEach(() => {
  guardrail.calls.length = 0;
  guardrail.fault = undefined;
});

const ROUTER_GUARDRAIL: GuardrailSpec = { id: 'routerguard1', v: '1', r: 'us-east-1', out: true, win: 1000, ms: 2000, optOut: true };
const TEAM_GUARDRAIL: GuardrailSpec = { id: 'legalguard1', v: '2', r: 'us-east-1', out: false, win: 1000, ms: 2000 };
const TENANTS: TenantSpec[] = [
  { id: 'legal', ids: [{ k: 'key', v: 'kl' }], g: TEAM_GUARDRAIL },
  { id: 'free', ids: [{ k: 'key', v: 'kf' }], g: 'none' },
  { id: 'plain', ids: [{ k: 'key', v: 'kp' }], usd: 10 },
];
const chat = (content: string) => ({ model: 'gpt-5-nano', max_tokens: 10, messages: [{ role: 'user', content }] });

async function routerWith(routerGuardrail: GuardrailSpec | undefined, tenants = TENANTS, region: 'us' | 'eu' = 'us') {
  return tenantRouter(services.dynamo, tenants, {
    region,
    endpoint: services.gateway.url,
    allowedModels: region === 'us' ? ['gpt-5-nano'] : ['claude-sonnet-4-6'],
    catalog: catalogWithUsPrices(LITERAL_PRICES),
    guardrail: routerGuardrail,
  }, { guardrails: { bedrockClientConfig: localBedrockConfig(guardrail) } });
}

test('each tenant is checked with its own guardrail, the router\'s, or (where the router allows it) none', async () => {
  const { handler } = await routerWith(ROUTER_GUARDRAIL);
  expect((await call(handler, { body: chat('hi'), identity: { apiKeyId: 'kl' } })).status).toBe(200);
  expect(guardrail.calls.map((c) => [c.id, c.version, c.source])).toEqual([['legalguard1', '2', 'INPUT']]);
  guardrail.calls.length = 0;
  expect((await call(handler, { body: chat('FORBIDDEN'), identity: { apiKeyId: 'kf' } })).status).toBe(200);
  expect(guardrail.calls).toEqual([]);
  expect((await call(handler, { body: chat('hi'), identity: { apiKeyId: 'kp' } })).status).toBe(200);
  expect(guardrail.calls.map((c) => [c.id, c.source])).toEqual([['routerguard1', 'INPUT'], ['routerguard1', 'OUTPUT']]);
});

test('a tenant set to none still gets the router\'s guardrail where the router does not allow opting out', async () => {
  const { handler } = await routerWith({ ...ROUTER_GUARDRAIL, optOut: undefined });
  const res = await call(handler, { body: chat('FORBIDDEN'), identity: { apiKeyId: 'kf' } });
  expect(res.status).toBe(400);
  expect(res.json.error.code).toBe('guardrail_blocked');
});

test('a blocked prompt releases the tenant\'s reservation: nothing charged, nothing in flight', async () => {
  const { handler, table } = await routerWith(ROUTER_GUARDRAIL);
  const before = services.gateway.requests.length;
  const res = await call(handler, { body: chat('a FORBIDDEN prompt'), identity: { apiKeyId: 'kp' } });
  expect(res.status).toBe(400);
  expect(services.gateway.requests.length).toBe(before);
  const ledger = new TenantLedger(services.dynamo.client, sdk, table);
  expect(await ledger.usage('plain')).toEqual({ usdNanos: 0, usdCommittedNanos: 0, tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
  const log = services.stdout.requestLogs.at(-1);
  expect(log).toMatchObject({ tenant: 'plain', settlement: 'never_sent', guardrail: 'blocked', guardrail_text_units: 3 });
  // Chargeback: the tenant's text units, in its own dimension set.
  const doc = services.stdout.emf.find((d) => d.Requests === 1 && d.Tenant === 'plain');
  expect(doc.GuardrailTextUnits).toBe(3);
});

test('a tenant guardrail outside an EU router\'s member states (a table written by hand) is refused: 500, nothing sent, nothing charged', async () => {
  const euTenants: TenantSpec[] = [{ id: 'rogue', ids: [{ k: 'key', v: 'kr' }], usd: 10, g: { ...TEAM_GUARDRAIL, r: 'us-east-1' } }];
  const { handler, table } = await routerWith(undefined, euTenants, 'eu');
  const before = services.gateway.requests.length;
  const res = await call(handler, { body: { model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, identity: { apiKeyId: 'kr' } });
  expect(res.status).toBe(500);
  expect(res.json.error.code).toBe('router_misconfigured');
  expect(guardrail.calls).toEqual([]);
  expect(services.gateway.requests.length).toBe(before);
  expect(await new TenantLedger(services.dynamo.client, sdk, table).usage('rogue')).toMatchObject({ usdCommittedNanos: 0, inFlight: 0 });
});
