import { randomUUID } from 'node:crypto';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';

/*
 * Tenant budgets and rate limits in DynamoDB, correct under any concurrency.
 *
 * One item per tenant and UTC calendar month (pk "<tenant>#<YYYY-MM>") holds
 * everything a budget decision reads, so admitting a request is ONE
 * conditional UpdateItem:
 *   usd_c        nano-USD committed this month: settled + in flight
 *   usd_s        nano-USD settled this month (chargeback)
 *   tok_c_<DD>   tokens committed on day DD (a UTC day lies inside its month)
 *   tok_s_<DD>   tokens settled on day DD
 *   r_<id>       one in-flight reservation: {u: nano-USD, t: tokens, d: DD, x: expiry ms}
 *   expires_at   TTL, long after the month ends (chargeback history)
 * DynamoDB conditions cannot add, so the condition compares the committed
 * counter with the room left for this request (limit - estimate), computed by
 * the caller: `usd_c <= :room`. Settling removes the reservation and moves its
 * counters by (actual - estimate), conditional on the reservation still being
 * there, so a settle can never be applied twice.
 *
 * A reservation expires after the longest a function can live. Nobody alive
 * can still settle it then, so a refused admission sweeps expired
 * reservations (a crashed execution environment's) and tries again: nothing
 * leaks. A live request's reservation never expires, so settled usage never
 * exceeds a limit as long as each request's usage stays within its estimate.
 *
 * Rate limits: one item per tenant, model and UTC minute, incremented
 * conditionally (`n < :limit`), expiring an hour later.
 */

export type Sdk = typeof DynamoDb;

export interface Amount {
  /** nano-USD (1e-9 USD), an integer. */
  readonly usdNanos: number;
  readonly tokens: number;
}

export interface Limits {
  /** Monthly budget, nano-USD. */
  readonly usdNanos?: number;
  /** Tokens per UTC day. */
  readonly tokens?: number;
}

/** A held reservation: what `settle` needs to find and close it. */
export interface Reservation {
  readonly pk: string;
  readonly attr: string;
  readonly day: string;
  readonly amount: Amount;
}

export type ReserveResult =
  | { readonly ok: true; readonly reservation: Reservation }
  | {
    readonly ok: false;
    /** Which limit refused. */
    readonly limit: 'usd' | 'tokens';
    /** The estimate alone exceeds the limit: this request can never be admitted. */
    readonly never: boolean;
    /** Settled usage alone would leave room: requests in flight hold it. */
    readonly heldByInFlight: boolean;
    readonly retryAfterSeconds: number;
  };

export interface TenantUsage {
  readonly usdNanos: number;
  readonly usdCommittedNanos: number;
  readonly tokensToday: number;
  readonly tokensCommittedToday: number;
  /** Reservations not yet settled. */
  readonly inFlight: number;
}

export type RateResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/** Month-item history kept for chargeback: 400 days past the month's end. */
const MONTH_ITEM_TTL_SECONDS = 400 * 86_400;
/** Retry-After when in-flight reservations, not settled spend, fill the budget. */
const IN_FLIGHT_RETRY_SECONDS = 1;

export class TenantLedger {
  constructor(
    private readonly client: DynamoDb.DynamoDBClient,
    private readonly sdk: Sdk,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reserves `amount` against the tenant's limits for at most `lifetimeMs`
   * (the caller's longest possible remaining life, margin included).
   */
  async reserve(tenant: string, limits: Limits, amount: Amount, lifetimeMs: number): Promise<ReserveResult> {
    const now = this.now();
    const w = windowOf(now);
    const early = refusal(limits, amount, w, { usd_c: 0, usd_s: 0, tok_c: 0, tok_s: 0 }, true, now);
    if (early) return early;
    const pk = `${tenant}#${w.month}`;
    const attr = `r_${randomUUID().replace(/-/g, '')}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new this.sdk.UpdateItemCommand(reserveUpdate(this.table, pk, attr, w, limits, amount, now + lifetimeMs)));
        return { ok: true, reservation: { pk, attr, day: w.day, amount } };
      } catch (err) {
        if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
      }
      const item = await this.read(pk);
      const expired = Object.entries(item).filter(([k, v]) => k.startsWith('r_') && Number(v.M?.x?.N ?? 0) < now);
      if (attempt === 0 && expired.length > 0) {
        await Promise.all(expired.map(([k, v]) => this.release(pk, k, v)));
        continue;
      }
      const counters = { usd_c: num(item.usd_c), usd_s: num(item.usd_s), tok_c: num(item[`tok_c_${w.day}`]), tok_s: num(item[`tok_s_${w.day}`]) };
      return refusal(limits, amount, w, counters, false, now) ?? { ok: false, limit: 'usd', never: false, heldByInFlight: true, retryAfterSeconds: IN_FLIGHT_RETRY_SECONDS };
    }
  }

  /**
   * Closes a reservation at the usage actually reported (zero to release it).
   * Conditional on the reservation still existing, so it applies once; if a
   * sweep reclaimed it already (the function outlived its expiry, which the
   * expiry is chosen to prevent) the usage is still recorded, because it was spent.
   */
  async settle(r: Reservation, actual: Amount): Promise<void> {
    const tc = `tok_c_${r.day}`;
    const ts = `tok_s_${r.day}`;
    try {
      await this.client.send(new this.sdk.UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: r.pk } },
        UpdateExpression: 'ADD usd_c :du, usd_s :au, #tc :dt, #ts :at REMOVE #r',
        ConditionExpression: 'attribute_exists(#r)',
        ExpressionAttributeNames: { '#tc': tc, '#ts': ts, '#r': r.attr },
        ExpressionAttributeValues: {
          ':du': n(actual.usdNanos - r.amount.usdNanos),
          ':au': n(actual.usdNanos),
          ':dt': n(actual.tokens - r.amount.tokens),
          ':at': n(actual.tokens),
        },
      }));
    } catch (err) {
      if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
      await this.client.send(new this.sdk.UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: r.pk } },
        UpdateExpression: 'ADD usd_c :au, usd_s :au, #tc :at, #ts :at',
        ExpressionAttributeNames: { '#tc': tc, '#ts': ts },
        ExpressionAttributeValues: { ':au': n(actual.usdNanos), ':at': n(actual.tokens) },
      }));
    }
  }

  /** Counts one request of `model` in the current UTC minute, unless `limit` were exceeded. */
  async countRequest(tenant: string, model: string, limit: number): Promise<RateResult> {
    const now = this.now();
    const minute = Math.floor(now / 60_000);
    try {
      await this.client.send(new this.sdk.UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: `${tenant}#rpm#${model}#${minute}` } },
        UpdateExpression: 'ADD n :one SET expires_at = :ttl',
        ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
        ExpressionAttributeValues: { ':one': n(1), ':limit': n(limit), ':ttl': n((minute + 61) * 60) },
      }));
      return { ok: true };
    } catch (err) {
      if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000)) };
    }
  }

  /** A tenant's month so far (for reports, the emulator and tests): settled, committed, in flight. */
  async usage(tenant: string, at = this.now()): Promise<TenantUsage> {
    const w = windowOf(at);
    const item = await this.read(`${tenant}#${w.month}`);
    return {
      usdNanos: num(item.usd_s),
      usdCommittedNanos: num(item.usd_c),
      tokensToday: num(item[`tok_s_${w.day}`]),
      tokensCommittedToday: num(item[`tok_c_${w.day}`]),
      inFlight: Object.keys(item).filter((k) => k.startsWith('r_')).length,
    };
  }

  private async read(pk: string): Promise<Record<string, DynamoDb.AttributeValue>> {
    const out = await this.client.send(new this.sdk.GetItemCommand({ TableName: this.table, Key: { pk: { S: pk } }, ConsistentRead: true }));
    return out.Item ?? {};
  }

  /** Frees an expired reservation; a concurrent sweep or a late settle may have closed it already. */
  private async release(pk: string, attr: string, value: DynamoDb.AttributeValue): Promise<void> {
    const m = value.M ?? {};
    try {
      await this.client.send(new this.sdk.UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: pk } },
        UpdateExpression: 'ADD usd_c :du, #tc :dt REMOVE #r',
        ConditionExpression: 'attribute_exists(#r)',
        ExpressionAttributeNames: { '#tc': `tok_c_${m.d?.S ?? '00'}`, '#r': attr },
        ExpressionAttributeValues: { ':du': n(-num(m.u)), ':dt': n(-num(m.t)) },
      }));
    } catch (err) {
      if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
    }
  }
}

interface Window {
  readonly month: string;
  readonly day: string;
  readonly monthEndsAt: number;
  readonly dayEndsAt: number;
}

/** The UTC calendar month and day of `now`, and when each ends. */
export function windowOf(now: number): Window {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return {
    month: `${y}-${String(m + 1).padStart(2, '0')}`,
    day: String(d.getUTCDate()).padStart(2, '0'),
    monthEndsAt: Date.UTC(y, m + 1, 1),
    dayEndsAt: Date.UTC(y, m, d.getUTCDate() + 1),
  };
}

function reserveUpdate(
  table: string, pk: string, attr: string, w: Window, limits: Limits, amount: Amount, expiresAt: number,
): DynamoDb.UpdateItemCommandInput {
  const conditions: string[] = [];
  const values: Record<string, DynamoDb.AttributeValue> = {
    ':u': n(amount.usdNanos),
    ':t': n(amount.tokens),
    ':res': { M: { u: n(amount.usdNanos), t: n(amount.tokens), d: { S: w.day }, x: n(expiresAt) } },
    ':ttl': n(Math.floor(w.monthEndsAt / 1000) + MONTH_ITEM_TTL_SECONDS),
  };
  if (limits.usdNanos !== undefined) {
    conditions.push('(attribute_not_exists(usd_c) OR usd_c <= :ur)');
    values[':ur'] = n(limits.usdNanos - amount.usdNanos);
  }
  if (limits.tokens !== undefined) {
    conditions.push('(attribute_not_exists(#tc) OR #tc <= :tr)');
    values[':tr'] = n(limits.tokens - amount.tokens);
  }
  return {
    TableName: table,
    Key: { pk: { S: pk } },
    UpdateExpression: 'ADD usd_c :u, #tc :t SET #r = :res, expires_at = if_not_exists(expires_at, :ttl)',
    ConditionExpression: conditions.length ? conditions.join(' AND ') : undefined,
    ExpressionAttributeNames: { '#tc': `tok_c_${w.day}`, '#r': attr },
    ExpressionAttributeValues: values,
  };
}

interface Counters { usd_c: number; usd_s: number; tok_c: number; tok_s: number }

/** Which limit `amount` breaks given the counters, and until when; `undefined` if none does. */
function refusal(limits: Limits, amount: Amount, w: Window, c: Counters, estimateOnly: boolean, now: number): ReserveResult | undefined {
  const checks: Array<['usd' | 'tokens', number | undefined, number, number, number, number]> = [
    ['usd', limits.usdNanos, amount.usdNanos, c.usd_c, c.usd_s, w.monthEndsAt],
    ['tokens', limits.tokens, amount.tokens, c.tok_c, c.tok_s, w.dayEndsAt],
  ];
  for (const [limit, max, est, committed, settled, endsAt] of checks) {
    if (max === undefined) continue;
    const never = est > max;
    if (estimateOnly ? !never : committed + est <= max) continue;
    const heldByInFlight = !never && settled + est <= max;
    const untilReset = Math.max(1, Math.ceil((endsAt - now) / 1000));
    return { ok: false, limit, never, heldByInFlight, retryAfterSeconds: heldByInFlight ? IN_FLIGHT_RETRY_SECONDS : untilReset };
  }
  return undefined;
}

function n(value: number): DynamoDb.AttributeValue {
  return { N: String(value) };
}

function num(value: DynamoDb.AttributeValue | undefined): number {
  return value?.N !== undefined ? Number(value.N) : 0;
}
