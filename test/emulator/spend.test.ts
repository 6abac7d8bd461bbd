import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as sdk from '@aws-sdk/client-dynamodb';
import { runSpendCommand } from '../../src/emulator/spend-command';
import { writeLocalTenants } from '../../src/emulator/tenants';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { runToExit, serve } from '../support/cli';
import { LocalDynamo } from '../support/dynamo';
import { FakeGateway } from '../support/fake-gateway';
import { rawRequest } from '../support/router-harness';

/*
 * `llm-gateway-router spend` prints what a team and the platform
 * need from the ledger: spent USD, budget, percent, tokens today, requests
 * in flight, per tenant, for a month; and works with a running `serve`
 * without any flag.
 */

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});
afterAll(() => dynamo.close());

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);

async function ledgerWithSpend(): Promise<string> {
  const table = await dynamo.table();
  await writeLocalTenants(dynamo.client, sdk, table, [
    { id: 'search', ids: [{ k: 'key', v: 'k1' }], usd: 200 },
    { id: 'ml', ids: [{ k: 'key', v: 'k2' }] },
  ]);
  const ledger = new TenantLedger(dynamo.client, sdk, table, () => NOW);
  const a = await ledger.reserve('search', { usdNanos: 200e9 }, { usdNanos: 60_000_000_000, tokens: 5_000 }, 60_000);
  if (!a.ok) throw new Error('refused');
  await ledger.settle(a.reservation, { usdNanos: 50_250_000_000, tokens: 4_000 });
  // One still in flight.
  await ledger.reserve('search', { usdNanos: 200e9 }, { usdNanos: 1_000_000, tokens: 10 }, 60_000);
  return table;
}

test('--format json: per tenant, spent USD, budget, percent, tokens today and requests in flight', async () => {
  const table = await ledgerWithSpend();
  let printed = '';
  const code = await runSpendCommand(['--table', table, '--dynamodb-endpoint', dynamo.endpoint, '--format', 'json'], (t) => (printed += t), NOW);
  expect(code).toBe(0);
  // 50.25 of 200 USD is 25.125%.
  expect(JSON.parse(printed)).toEqual({
    month: '2026-12',
    tenants: [
      { id: 'search', spentUsd: 50.25, budgetUsd: 200, percentOfBudget: 25.13, tokensToday: 4_000, requestsInFlight: 1 },
      { id: 'ml', spentUsd: 0, budgetUsd: null, percentOfBudget: null, tokensToday: 0, requestsInFlight: 0 },
    ],
  });
});

test('--format csv and table; another month', async () => {
  const table = await ledgerWithSpend();
  let csv = '';
  await runSpendCommand(['--table', table, '--dynamodb-endpoint', dynamo.endpoint, '--format', 'csv'], (t) => (csv += t), NOW);
  expect(csv).toBe('tenant,spent_usd,budget_usd,percent_of_budget,tokens_today,requests_in_flight\nsearch,50.25,200,25.13,4000,1\nml,0,,,0,0\n');
  let text = '';
  await runSpendCommand(['--table', table, '--dynamodb-endpoint', dynamo.endpoint], (t) => (text += t), NOW);
  expect(text.split('\n')).toEqual([
    '2026-12 (UTC)',
    'tenant  spent_usd  budget_usd  percent_of_budget  tokens_today  requests_in_flight',
    'search      50.25         200              25.13          4000                   1',
    'ml              0                                            0                   0',
    '',
  ]);
  let november = '';
  await runSpendCommand(['--table', table, '--dynamodb-endpoint', dynamo.endpoint, '--month', '2026-11', '--format', 'json'], (t) => (november += t), NOW);
  expect(JSON.parse(november).tenants[0]).toEqual({ id: 'search', spentUsd: 0, budgetUsd: 200, percentOfBudget: 0, tokensToday: null, requestsInFlight: 0 });
});

test('bad flags are refused with what to pass', async () => {
  await expect(runSpendCommand(['--table', 't', '--month', '2026-13'])).rejects.toThrow('--month must be YYYY-MM, got 2026-13');
  await expect(runSpendCommand(['--table', 't', '--format', 'xml'])).rejects.toThrow('--format must be table, json or csv, got xml');
});

test('with a running `serve --tenants` and no flag at all, it reads that emulator\'s ledger', async () => {
  const gateway = await FakeGateway.start();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spend-')), 'tenants.json');
  fs.writeFileSync(file, JSON.stringify({ version: 1, tenants: [{ id: 'search', identities: [{ apiKey: 'search-key' }], monthlyBudgetUsd: 10 }] }));
  let child: ChildProcess | undefined;
  try {
    const started = await serve(['--tenants', file, '--endpoint', gateway.url, '--allowed-models', 'gpt-5-mini'], { ASSEMBLYAI_API_KEY: 'k-0123456789abcdef' });
    child = started.child;
    const res = await rawRequest(`${started.baseURL}/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5-mini', messages: [] }), { 'x-api-key': 'search-key' });
    expect(res.status).toBe(200);
    const { code, out } = await runToExit(['spend', '--format', 'json']);
    expect(code).toBe(0);
    // The fake gateway reports 11 input and 7 output tokens: 11 x 0.000000275 + 7 x 0.0000022 = $0.000018425 (the bundled gpt-5-mini price).
    const report = JSON.parse(out.slice(out.indexOf('{')));
    expect(report.tenants).toEqual([{ id: 'search', spentUsd: 0.000018425, budgetUsd: 10, percentOfBudget: 0, tokensToday: 18, requestsInFlight: 0 }]);
  } finally {
    child?.kill('SIGTERM');
    await gateway.close();
  }
});
