import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { localClientConfig } from './tenant-store';
import { parseTenants, tenantShardKey, TenantSpec, TENANT_SHARD_ATTRIBUTE } from '../contract/tenants-schema';
import { percentOfBudget } from '../handler/billing';
import { monthKey, windowOf } from '../handler/tenants/ledger';

export const SPEND_USAGE = `Usage: llm-gateway-router spend [options]

Prints each tenant's spend for a month from the router's tenant table: the
ledger the budgets are enforced with (settled USD, budget, tokens today,
requests in flight).

Options:
  --table NAME             the tenant table (the router's tenantTable; default: the one a running
                           \`serve\` uses)
  --dynamodb-endpoint URL  a DynamoDB endpoint (default: AWS, with the default credentials; or a
                           running \`serve\`'s when --table is not given either)
  --month YYYY-MM          the calendar month, UTC (default: this month)
  --format table|json|csv  (default: table)`;

/** Where a running `serve --tenants` says which table and endpoint it uses, for `spend` without flags. */
export const SERVE_STATE_FILE = path.join(os.tmpdir(), 'llm-gateway-router', 'serve-tenants.json');

export interface ServeState {
  readonly pid: number;
  readonly endpoint: string;
  readonly table: string;
}

/** Written by `serve --tenants` once its table is ready; removed when it stops. */
export function writeServeState(state: ServeState): void {
  fs.mkdirSync(path.dirname(SERVE_STATE_FILE), { recursive: true });
  fs.writeFileSync(SERVE_STATE_FILE, JSON.stringify(state));
}

export function clearServeState(pid: number): void {
  try {
    const state = JSON.parse(fs.readFileSync(SERVE_STATE_FILE, 'utf8')) as ServeState;
    if (state.pid === pid) fs.rmSync(SERVE_STATE_FILE);
  } catch {
    // nothing to clear
  }
}

/** One tenant's month, as `spend` prints it. */
export interface TenantSpend {
  readonly id: string;
  readonly spentUsd: number;
  /** `null` when the tenant has no monthly budget. */
  readonly budgetUsd: number | null;
  readonly percentOfBudget: number | null;
  /** Tokens settled today (UTC); `null` for a past month. */
  readonly tokensToday: number | null;
  readonly requestsInFlight: number;
}

/** Runs `spend ...`; resolves to the process exit code. */
export async function runSpendCommand(
  argv: string[], out: (text: string) => void = (t) => process.stdout.write(t), now = Date.now(),
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'table': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      'month': { type: 'string' },
      'format': { type: 'string', default: 'table' },
      'help': { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(SPEND_USAGE);
    return 0;
  }
  const format = values.format!;
  if (!['table', 'json', 'csv'].includes(format)) throw new Error(`--format must be table, json or csv, got ${format}`);
  const month = values.month ?? windowOf(now).month;
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new Error(`--month must be YYYY-MM, got ${month}`);
  const { table, endpoint } = target(values.table, values['dynamodb-endpoint']);
  // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
  const sdk: typeof DynamoDb = require('@aws-sdk/client-dynamodb');
  const local = endpoint !== undefined && /^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(endpoint);
  const client = new sdk.DynamoDBClient(local ? localClientConfig(endpoint!) : endpoint !== undefined ? { endpoint } : {});
  try {
    const spend = await readSpend(client, sdk, table, month, now);
    out(render(month, spend, format));
  } finally {
    client.destroy();
  }
  return 0;
}

/** The table and endpoint: the flags, or a running `serve`'s. */
function target(table: string | undefined, endpoint: string | undefined): { table: string; endpoint?: string } {
  if (table !== undefined) return { table, endpoint };
  let state: ServeState | undefined;
  try {
    state = JSON.parse(fs.readFileSync(SERVE_STATE_FILE, 'utf8')) as ServeState;
    process.kill(state.pid, 0);
  } catch {
    state = undefined;
  }
  if (!state) throw new Error('no --table given and no running `llm-gateway-router serve --tenants` found: pass --table NAME (and --dynamodb-endpoint URL for a local one)');
  return { table: state.table, endpoint: endpoint ?? state.endpoint };
}

/** Every tenant of the table's shards, and its month item, read in batches of 100. */
export async function readSpend(
  client: DynamoDb.DynamoDBClient, sdk: typeof DynamoDb, table: string, month: string, now: number,
): Promise<TenantSpend[]> {
  const tenants: TenantSpec[] = [];
  for (let first = 0; ; first += 100) {
    const keys = Array.from({ length: 100 }, (_, i) => tenantShardKey(first + i));
    const items = await batchGet(client, sdk, table, keys);
    const docs = keys.map((k) => items.get(k)?.[TENANT_SHARD_ATTRIBUTE]?.S).filter((d): d is string => d !== undefined);
    for (const doc of docs) tenants.push(...parseTenants(doc));
    if (docs.length < keys.length) break;
  }
  if (tenants.length === 0) throw new Error(`table ${table} holds no tenants (no ${tenantShardKey(0)} item)`);
  const months = await batchGet(client, sdk, table, tenants.map((t) => monthKey(t.id, month)));
  const w = windowOf(now);
  return tenants.map((t) => {
    const item = months.get(monthKey(t.id, month)) ?? {};
    const spentNanos = Number(item.usd_s?.N ?? 0);
    return {
      id: t.id,
      spentUsd: spentNanos / 1e9,
      budgetUsd: t.usd ?? null,
      percentOfBudget: t.usd !== undefined ? percentOfBudget(spentNanos, t.usd, 2) : null,
      tokensToday: month === w.month ? Number(item[`tok_s_${w.day}`]?.N ?? 0) : null,
      requestsInFlight: Object.keys(item).filter((k) => k.startsWith('r_')).length,
    };
  });
}

type Item = Record<string, DynamoDb.AttributeValue>;

async function batchGet(client: DynamoDb.DynamoDBClient, sdk: typeof DynamoDb, table: string, keys: readonly string[]): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  for (let i = 0; i < keys.length; i += 100) {
    let pending = keys.slice(i, i + 100).map((pk) => ({ pk: { S: pk } }));
    while (pending.length > 0) {
      const res = await client.send(new sdk.BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of res.Responses?.[table] ?? []) found.set(item.pk.S!, item);
      pending = (res.UnprocessedKeys?.[table]?.Keys ?? []) as typeof pending;
    }
  }
  return found;
}

function render(month: string, spend: readonly TenantSpend[], format: string): string {
  if (format === 'json') return `${JSON.stringify({ month, tenants: spend }, null, 2)}\n`;
  const rows = spend.map((s) => [s.id, s.spentUsd, s.budgetUsd ?? '', s.percentOfBudget ?? '', s.tokensToday ?? '', s.requestsInFlight].map(String));
  const header = ['tenant', 'spent_usd', 'budget_usd', 'percent_of_budget', 'tokens_today', 'requests_in_flight'];
  if (format === 'csv') return [header, ...rows].map((r) => r.join(',')).join('\n') + '\n';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return `${month} (UTC)\n${[line(header), ...rows.map(line)].join('\n')}\n`;
}
