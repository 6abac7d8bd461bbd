import * as sdk from '@aws-sdk/client-dynamodb';
import { TenantSpec } from '../../src/contract/tenants-schema';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { sseEvent } from '../support/fake-gateway';
import { call } from '../support/in-process';
import { tenantRouter, tenantTestServices } from '../support/tenant-harness';

/*
 * The settlement runs for every way a request can end after admission,
 * including the relay's and the router's own failures: a stream cut at the
 * function's deadline, an invalid answer with a 2xx status, and a router
 * fault before anything went upstream. (The concurrency wave covers answers,
 * upstream error statuses, upstream timeouts and client aborts.)
 */

const services = tenantTestServices();
const { stdout } = services;

const TEAM: TenantSpec[] = [{ id: 'team', ids: [{ k: 'key', v: 'k' }], tok: 1_000_000 }];
const ID = { apiKeyId: 'k' };
const chat = (stream: boolean) => ({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, ...(stream ? { stream: true } : {}) });
const lastLog = () => stdout.records.filter((r: any) => r.message === 'request').at(-1);
/** The worst case the gateway was asked for: one token per upstream byte, plus max_tokens. */
const estimateOf = (rawBody: string) => Buffer.byteLength(rawBody, 'utf8') + 100;

async function routerWithLedger(opts: Parameters<typeof tenantRouter>[3] = {}) {
  const { handler, table } = await tenantRouter(services.dynamo, TEAM, { endpoint: services.gateway.url, allowedModels: ['gpt-5-mini'] }, opts);
  return { handler, ledger: new TenantLedger(services.dynamo.client, sdk, table) };
}

describe('tenant settlement on the relay\'s and the router\'s failures', () => {
  test('a stream cut at the function\'s deadline (deadline_exceeded) settles at the estimate, nothing left in flight', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5-mini', 'Hel'));
      // Never ends: the router cuts the stream 1 s before the function's deadline.
    };
    const { handler, ledger } = await routerWithLedger();
    const res = await call(handler, { body: chat(true), identity: ID, timeoutMs: 1_800 });
    expect(res.status).toBe(200);
    expect(res.body).toContain('deadline_exceeded');
    expect(lastLog()).toMatchObject({ tenant: 'team', upstream_error: 'deadline' });
    expect(await ledger.usage('team')).toMatchObject({ tokensToday: estimateOf(services.gateway.requests[0].rawBody), inFlight: 0 });
  });

  test('an invalid answer with status 200 (502 upstream_invalid_response) settles at the estimate: the gateway may have billed it', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('not json');
    };
    const { handler, ledger } = await routerWithLedger();
    const res = await call(handler, { body: chat(false), identity: ID });
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe('upstream_invalid_response');
    expect(await ledger.usage('team')).toMatchObject({ tokensToday: estimateOf(services.gateway.requests[0].rawBody), inFlight: 0 });
  });

  test('a router fault before anything went upstream (unreadable key) releases the reservation, and the metrics carry both sets without a Powertools warning', async () => {
    const { handler, ledger } = await routerWithLedger({ apiKeyProvider: () => Promise.reject(new Error('AccessDeniedException')) });
    const res = await call(handler, { body: chat(false), identity: ID });
    expect(res.status).toBe(500);
    expect(res.json.error.code).toBe('secret_unavailable');
    expect(services.gateway.requests).toHaveLength(0);
    expect(lastLog()).toMatchObject({ tenant: 'team', router_error: 'secret_unavailable', status: 500 });
    expect(await ledger.usage('team')).toMatchObject({ tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
    const doc = stdout.emf.at(-1);
    expect(doc._aws.CloudWatchMetrics[0].Dimensions).toEqual(expect.arrayContaining([['service', 'ErrorClass'], ['service', 'Tenant']]));
    expect(doc).toMatchObject({ Tenant: 'team', ErrorClass: 'secret_unavailable', RouterErrors: 1 });
    expect(stdout.lines.filter((l) => /already been added|defined as both/.test(l))).toEqual([]);
  });
});
