import { randomUUID } from 'node:crypto';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { TENANT_TABLE_TTL_ATTRIBUTE, tenantTableKey } from '../../contract/tenants-schema';

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
 *   expires_at   TTL, 400 days after the month ends (chargeback history)
 * DynamoDB conditions cannot add, so the condition compares the committed
 * counter with the room left for this request (limit - estimate), computed by
 * the caller: `usd_c <= :room`. Settling removes the reservation and moves its
 * counters by (actual - estimate), conditional on the reservation still being
 * there, so a settle can never be applied twice.
 *
 * A reservation expires after the longest its function can still live.
 * Nobody can settle it then (its execution environment crashed, or its
 * settle failed every retry), so it is reclaimed at its worst case, never
 * at zero: the request may have been served. The admission's UpdateItem
 * returns the whole item, so every admission sees the expired reservations
 * and reclaims them (after the request is on its way, not before): the item
 * never fills up with dead reservations, whether or not the tenant is ever
 * refused. The first admission of a month also reclaims what the previous
 * month's item still holds.
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

/** A reservation nobody can settle any more, as read from the month item. */
export interface ExpiredReservation {
  readonly attr: string;
  readonly day: string;
  readonly amount: Amount;
}

export type ReserveResult =
  | {
    readonly ok: true;
    readonly reservation: Reservation;
    /** Expired reservations the admission saw in the month item (and older months' items to look at): `reclaim()` them. */
    readonly reclaim: readonly ReclaimWork[];
  }
  | {
    readonly ok: false;
    /** Which limit refused. */
    readonly limit: 'usd' | 'tokens';
    /** The estimate alone exceeds the limit: this request can never be admitted. */
    readonly never: boolean;
    /** Settled usage alone would leave room: requests in flight hold it. */
    readonly heldByInFlight: boolean;
    /** Seconds until the window resets (or until requests in flight may have settled). */
    readonly retryAfterSeconds: number;
    /** What is left of the limit now (nano-USD or tokens), requests in flight counted. */
    readonly remaining: number;
    /** What this request asked for, in the same unit. */
    readonly requested: number;
  };

/** The month's settled spend as a settle left it. */
export interface MonthToDate {
  readonly usdNanos: number;
}

/** A per-minute token reservation: held until the request settles, then moved to what it used. */
export interface MinuteReservation {
  readonly pk: string;
  readonly tokens: number;
}

export type MinuteResult =
  | { readonly ok: true; readonly reservation: MinuteReservation }
  | { readonly ok: false; readonly never: boolean; readonly remaining: number; readonly retryAfterSeconds: number };

export interface TenantUsage {
  readonly usdNanos: number;
  readonly usdCommittedNanos: number;
  readonly tokensToday: number;
  readonly tokensCommittedToday: number;
  /** Reservations not yet settled. */
  readonly inFlight: number;
}

/** Work an admission leaves for `reclaim()`: expired reservations of a month item, or a whole item to look at. */
export type ReclaimWork =
  | { readonly pk: string; readonly expired: readonly ExpiredReservation[] }
  | { readonly pk: string; readonly lookAt: true };

export type RateResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/** Month-item history kept for chargeback: 400 days past the month's end. */
export const MONTH_ITEM_TTL_SECONDS = 400 * 86_400;
/** Retry-After when in-flight reservations, not settled spend, fill the budget. */
const IN_FLIGHT_RETRY_SECONDS = 1;
/** Expired reservations reclaimed per UpdateItem: keeps each expression far below DynamoDB's 4 KB limit. */
const RECLAIM_BATCH = 40;
/** Settle attempts (each itself retried once by the SDK), spaced 50 ms then 100 ms apart while time is left. */
const SETTLE_ATTEMPTS = 3;
const SETTLE_BACKOFF_MS = 50;

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
    const pk = monthKey(tenant, w.month);
    const attr = `r_${randomUUID().replace(/-/g, '')}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.client.send(new this.sdk.UpdateItemCommand(reserveUpdate(this.table, pk, attr, w, limits, amount, now + lifetimeMs)));
        const item = out.Attributes ?? {};
        const reclaim: ReclaimWork[] = [];
        const expired = expiredIn(item, now);
        if (expired.length > 0) reclaim.push({ pk, expired });
        // The month's first admission: the previous month's item may still hold reservations nobody will settle.
        // Committed spend is settled spend plus what is in flight, so alone and committing only this reservation
        // means nothing has been settled this month.
        const alone = Object.keys(item).filter((k) => k.startsWith('r_')).length === 1;
        if (alone && num(item.usd_c) === amount.usdNanos) {
          reclaim.push({ pk: monthKey(tenant, w.previousMonth), lookAt: true });
        }
        return { ok: true, reservation: { pk, attr, day: w.day, amount }, reclaim };
      } catch (err) {
        if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
      }
      const item = await this.read(pk);
      const expired = expiredIn(item, now);
      if (attempt === 0 && expired.length > 0) {
        await this.reclaim([{ pk, expired }]);
        continue;
      }
      const counters = { usd_c: num(item.usd_c), usd_s: num(item.usd_s), tok_c: num(item[`tok_c_${w.day}`]), tok_s: num(item[`tok_s_${w.day}`]) };
      // The condition failed yet the counters read have room: others changed them meanwhile, so retry shortly.
      return refusal(limits, amount, w, counters, false, now) ?? {
        ok: false,
        limit: limits.usdNanos !== undefined ? 'usd' : 'tokens',
        never: false,
        heldByInFlight: true,
        retryAfterSeconds: IN_FLIGHT_RETRY_SECONDS,
        remaining: limits.usdNanos !== undefined ? Math.max(0, limits.usdNanos - counters.usd_c) : Math.max(0, (limits.tokens ?? 0) - counters.tok_c),
        requested: limits.usdNanos !== undefined ? amount.usdNanos : amount.tokens,
      };
    }
  }

  /**
   * Charges expired reservations at their worst case and removes them: a
   * request whose function died, or whose settle never got through, may
   * have been served, so it is never released at zero. Batched; a batch that
   * races a concurrent reclaim or a late settle falls back to one by one.
   */
  async reclaim(work: readonly ReclaimWork[]): Promise<void> {
    for (const w of work) {
      const expired = 'lookAt' in w ? expiredIn(await this.read(w.pk), this.now()) : w.expired;
      for (let i = 0; i < expired.length; i += RECLAIM_BATCH) {
        const batch = expired.slice(i, i + RECLAIM_BATCH);
        try {
          await this.client.send(new this.sdk.UpdateItemCommand(reclaimUpdate(this.table, w.pk, batch)));
        } catch (err) {
          if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
          if (batch.length === 1) continue; // closed meanwhile by someone else
          for (const one of batch) {
            await this.client.send(new this.sdk.UpdateItemCommand(reclaimUpdate(this.table, w.pk, [one]))).catch((e: unknown) => {
              if (!(e instanceof this.sdk.ConditionalCheckFailedException)) throw e;
            });
          }
        }
      }
    }
  }

  /**
   * Closes a reservation at the amount actually charged (zero to release
   * it), retrying until `deadline` (epoch ms). Conditional on the
   * reservation still existing, so it applies once; if a reclaim charged it
   * already (its function outlived the expiry, which the expiry is chosen to
   * prevent), only what the charge exceeds the reservation by is added:
   * nothing is ever credited back. Throws when every attempt failed; the
   * reservation is then left for a reclaim.
   */
  async settle(r: Reservation, actual: Amount, deadline = Number.POSITIVE_INFINITY): Promise<MonthToDate> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.settleOnce(r, actual, deadline);
      } catch (err) {
        const wait = SETTLE_BACKOFF_MS * 2 ** (attempt - 1);
        if (attempt >= SETTLE_ATTEMPTS || this.now() + wait >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private async settleOnce(r: Reservation, actual: Amount, deadline: number): Promise<MonthToDate> {
    const tc = `tok_c_${r.day}`;
    const ts = `tok_s_${r.day}`;
    const options = Number.isFinite(deadline) ? { abortSignal: AbortSignal.timeout(Math.max(1, deadline - this.now())) } : undefined;
    try {
      const out = await this.client.send(new this.sdk.UpdateItemCommand({
        TableName: this.table,
        Key: tenantTableKey(r.pk),
        UpdateExpression: 'ADD usd_c :du, usd_s :au, #tc :dt, #ts :at REMOVE #r',
        ConditionExpression: 'attribute_exists(#r)',
        ExpressionAttributeNames: { '#tc': tc, '#ts': ts, '#r': r.attr },
        ExpressionAttributeValues: {
          ':du': n(actual.usdNanos - r.amount.usdNanos),
          ':au': n(actual.usdNanos),
          ':dt': n(actual.tokens - r.amount.tokens),
          ':at': n(actual.tokens),
        },
        // The month's settled spend after this settle: the tenant's month-to-date metric, without another read.
        ReturnValues: 'UPDATED_NEW',
      }), options);
      return { usdNanos: num(out.Attributes?.usd_s) };
    } catch (err) {
      if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
      const extra = { usdNanos: Math.max(0, actual.usdNanos - r.amount.usdNanos), tokens: Math.max(0, actual.tokens - r.amount.tokens) };
      const out = await this.client.send(new this.sdk.UpdateItemCommand({
        TableName: this.table,
        Key: tenantTableKey(r.pk),
        UpdateExpression: 'ADD usd_c :au, usd_s :au, #tc :at, #ts :at',
        ExpressionAttributeNames: { '#tc': tc, '#ts': ts },
        ExpressionAttributeValues: { ':au': n(extra.usdNanos), ':at': n(extra.tokens) },
        ReturnValues: 'UPDATED_NEW',
      }), options);
      return { usdNanos: num(out.Attributes?.usd_s) };
    }
  }

  /**
   * Counts one request against each of `models` (every model it may reach) in
   * the current UTC minute, unless one of them is at `limit`: then none is
   * counted (the ones already taken are given back) and the refusal says
   * when the minute ends.
   */
  async countRequest(tenant: string, models: readonly string[], limit: number): Promise<RateResult> {
    const now = this.now();
    const minute = Math.floor(now / 60_000);
    const distinct = [...new Set(models)];
    const counted = await Promise.allSettled(distinct.map((model) => this.client.send(new this.sdk.UpdateItemCommand({
      TableName: this.table,
      Key: tenantTableKey(rateKey(tenant, model, minute)),
      UpdateExpression: `ADD n :one SET ${TENANT_TABLE_TTL_ATTRIBUTE} = :ttl`,
      ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
      ExpressionAttributeValues: { ':one': n(1), ':limit': n(limit), ':ttl': n((minute + 61) * 60) },
    }))));
    const taken = distinct.filter((_, i) => counted[i].status === 'fulfilled');
    const failure = counted.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (!failure) return { ok: true };
    await this.uncount(tenant, taken, minute);
    if (!(failure.reason instanceof this.sdk.ConditionalCheckFailedException)) throw failure.reason;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000)) };
  }

  /**
   * Reserves `tokens` in the current UTC minute against `limit` tokens per
   * minute (one conditional UpdateItem, exact under concurrency); refused
   * with what is left and when the minute ends.
   */
  async reserveMinuteTokens(tenant: string, tokens: number, limit: number): Promise<MinuteResult> {
    const now = this.now();
    const minute = Math.floor(now / 60_000);
    const retryAfterSeconds = Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000));
    if (tokens > limit) return { ok: false, never: true, remaining: limit, retryAfterSeconds };
    const pk = `${tenant}#tpm#${minute}`;
    try {
      await this.client.send(new this.sdk.UpdateItemCommand({
        TableName: this.table,
        Key: tenantTableKey(pk),
        UpdateExpression: `ADD n :t SET ${TENANT_TABLE_TTL_ATTRIBUTE} = :ttl`,
        ConditionExpression: 'attribute_not_exists(n) OR n <= :room',
        ExpressionAttributeValues: { ':t': n(tokens), ':room': n(limit - tokens), ':ttl': n((minute + 61) * 60) },
      }));
      return { ok: true, reservation: { pk, tokens } };
    } catch (err) {
      if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
    }
    const used = num((await this.read(pk)).n);
    return { ok: false, never: false, remaining: Math.max(0, limit - used), retryAfterSeconds };
  }

  /** Moves a minute's reservation to what the request used (zero to give it all back). Never below zero in total. */
  async settleMinuteTokens(r: MinuteReservation, used: number): Promise<void> {
    if (used === r.tokens) return;
    await this.client.send(new this.sdk.UpdateItemCommand({
      TableName: this.table,
      Key: tenantTableKey(r.pk),
      UpdateExpression: 'ADD n :d',
      ConditionExpression: 'attribute_exists(n)',
      ExpressionAttributeValues: { ':d': n(used - r.tokens) },
    })).catch((err: unknown) => {
      if (!(err instanceof this.sdk.ConditionalCheckFailedException)) throw err;
    });
  }

  /** Gives back the slots `countRequest` took in `minute` (of a request that is not sent after all). */
  async uncount(tenant: string, models: readonly string[], minute = Math.floor(this.now() / 60_000)): Promise<void> {
    await Promise.all(models.map((model) => this.client.send(new this.sdk.UpdateItemCommand({
      TableName: this.table,
      Key: tenantTableKey(rateKey(tenant, model, minute)),
      UpdateExpression: 'ADD n :minus',
      ConditionExpression: 'attribute_exists(n)',
      ExpressionAttributeValues: { ':minus': n(-1) },
    })).catch(() => undefined)));
  }

  /** A tenant's month so far (for reports, the emulator and tests): settled, committed, in flight. */
  async usage(tenant: string, at = this.now()): Promise<TenantUsage> {
    const w = windowOf(at);
    const item = await this.read(monthKey(tenant, w.month));
    return {
      usdNanos: num(item.usd_s),
      usdCommittedNanos: num(item.usd_c),
      tokensToday: num(item[`tok_s_${w.day}`]),
      tokensCommittedToday: num(item[`tok_c_${w.day}`]),
      inFlight: Object.keys(item).filter((k) => k.startsWith('r_')).length,
    };
  }

  private async read(pk: string): Promise<Record<string, DynamoDb.AttributeValue>> {
    const out = await this.client.send(new this.sdk.GetItemCommand({ TableName: this.table, Key: tenantTableKey(pk), ConsistentRead: true }));
    return out.Item ?? {};
  }

}

interface Window {
  readonly month: string;
  /** The month before, as `month` spells it. */
  readonly previousMonth: string;
  readonly day: string;
  readonly monthEndsAt: number;
  readonly dayEndsAt: number;
}

/** The UTC calendar month and day of `now`, and when each ends. */
export function windowOf(now: number): Window {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const before = new Date(Date.UTC(y, m, 0));
  return {
    month: `${y}-${String(m + 1).padStart(2, '0')}`,
    previousMonth: `${before.getUTCFullYear()}-${String(before.getUTCMonth() + 1).padStart(2, '0')}`,
    day: String(d.getUTCDate()).padStart(2, '0'),
    monthEndsAt: Date.UTC(y, m + 1, 1),
    dayEndsAt: Date.UTC(y, m, d.getUTCDate() + 1),
  };
}

/** The month item's key. Tenant ids cannot contain "#", so keys of two tenants never meet. */
export function monthKey(tenant: string, month: string): string {
  return `${tenant}#${month}`;
}

function rateKey(tenant: string, model: string, minute: number): string {
  return `${tenant}#rpm#${model}#${minute}`;
}

/** The reservations of `item` that expired before `now`. */
function expiredIn(item: Record<string, DynamoDb.AttributeValue>, now: number): ExpiredReservation[] {
  const out: ExpiredReservation[] = [];
  for (const [attr, value] of Object.entries(item)) {
    if (!attr.startsWith('r_')) continue;
    const m = value.M ?? {};
    if (num(m.x) >= now) continue;
    out.push({ attr, day: m.d?.S ?? '00', amount: { usdNanos: num(m.u), tokens: num(m.t) } });
  }
  return out;
}

/** Charges `batch` at their reserved amounts (already committed) and removes them, if every one is still there. */
function reclaimUpdate(table: string, pk: string, batch: readonly ExpiredReservation[]): DynamoDb.UpdateItemCommandInput {
  const names: Record<string, string> = {};
  const values: Record<string, DynamoDb.AttributeValue> = {};
  const tokensByDay = new Map<string, number>();
  let usd = 0;
  batch.forEach((r, i) => {
    names[`#r${i}`] = r.attr;
    usd += r.amount.usdNanos;
    tokensByDay.set(r.day, (tokensByDay.get(r.day) ?? 0) + r.amount.tokens);
  });
  const adds = ['usd_s :u'];
  values[':u'] = n(usd);
  [...tokensByDay].forEach(([day, tokens], i) => {
    names[`#ts${i}`] = `tok_s_${day}`;
    values[`:t${i}`] = n(tokens);
    adds.push(`#ts${i} :t${i}`);
  });
  return {
    TableName: table,
    Key: tenantTableKey(pk),
    UpdateExpression: `ADD ${adds.join(', ')} REMOVE ${batch.map((_, i) => `#r${i}`).join(', ')}`,
    ConditionExpression: batch.map((_, i) => `attribute_exists(#r${i})`).join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
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
    Key: tenantTableKey(pk),
    UpdateExpression: `ADD usd_c :u, #tc :t SET #r = :res, ${TENANT_TABLE_TTL_ATTRIBUTE} = if_not_exists(${TENANT_TABLE_TTL_ATTRIBUTE}, :ttl)`,
    ConditionExpression: conditions.length ? conditions.join(' AND ') : undefined,
    ExpressionAttributeNames: { '#tc': `tok_c_${w.day}`, '#r': attr },
    ExpressionAttributeValues: values,
    // The whole item: the admission sees every expired reservation in it, at no extra round trip.
    ReturnValues: 'ALL_NEW',
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
    return {
      ok: false,
      limit,
      never,
      heldByInFlight,
      retryAfterSeconds: heldByInFlight ? IN_FLIGHT_RETRY_SECONDS : untilReset,
      remaining: Math.max(0, max - committed),
      requested: est,
    };
  }
  return undefined;
}

function n(value: number): DynamoDb.AttributeValue {
  return { N: String(value) };
}

function num(value: DynamoDb.AttributeValue | undefined): number {
  return value?.N !== undefined ? Number(value.N) : 0;
}
