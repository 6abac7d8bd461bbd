import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { TenantDirectory } from './identify';
import { Amount, MinuteReservation, MinuteResult, RateResult, ReclaimWork, Reservation, ReserveResult, Sdk, TenantLedger } from './ledger';
import { readTenantShards, ShardRead } from './shards';
import { UNDERSTANDING_PATH } from '../../contract/catalog';
import { ENV } from '../../contract/env';
import type { TenantGuardrailSpec } from '../../contract/guardrail';
import { TenantSpec } from '../../contract/tenants-schema';
import { Charge, percentOfBudget, worstCaseNanos } from '../billing';
import type { RouterConfig } from '../config';
import { reject, Rejection } from '../errors';
import type { Forward, TenantPolicy } from '../policy';
import type { ServedRequest } from '../served-request';

export interface TenantGateOptions {
  /** Merged into the DynamoDB client's configuration (the emulator's and the tests' local endpoint). @default the Lambda's */
  readonly dynamoDbClientConfig?: DynamoDb.DynamoDBClientConfig;
}

/** A refusal with the headers it needs (`Retry-After`). */
export type TenantRefusal = Rejection & { readonly kind: 'reject'; readonly headers: Record<string, string> };

/** An admitted request's obligation: `settle()` once the answer has ended, whatever happened, with what it is charged. */
export interface Admission {
  readonly kind: 'admit';
  settle(charge: Charge | undefined): Promise<void>;
}

/** Time a reservation outlives the function's own deadline before a sweep may reclaim it. */
const RESERVATION_MARGIN_MS = 60_000;
/** DynamoDB client limits: connecting, and a whole request (in-region answers take milliseconds). */
const STORE_CONNECT_TIMEOUT_MS = 2_000;
const STORE_REQUEST_TIMEOUT_MS = 5_000;
/** The longest a Lambda function lives: the lifetime assumed when the context does not say. */
const MAX_FUNCTION_LIFETIME_MS = 15 * 60_000;
/** Time kept back from the function's deadline when settling, so the last try still returns. */
const SETTLE_MARGIN_MS = 250;

/**
 * The tenant layer of the handler: who is calling (403 `unknown_tenant`),
 * what they may use (their allow-list and transcript access), and whether
 * their budget and rate limit have room, all decided before a byte goes
 * upstream; and, once the answer has ended, settling what it used.
 */
export class TenantGate {
  /**
   * The gate for a router with tenants; `undefined` (no SDK loaded, no cost)
   * for one without. Its tenants are read from the table's shards at once
   * (during the execution environment's init), and `ready()` waits for them.
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>>, config: RouterConfig, options: TenantGateOptions = {}): TenantGate | undefined {
    const raw = env[ENV.TENANT_SHARDS];
    if (!raw) return undefined;
    const versions = raw.split(',');
    if (versions.some((v) => !/^[0-9a-f]{4,64}$/.test(v))) throw new Error(`${ENV.TENANT_SHARDS} must be the shards' versions, comma-separated, got ${JSON.stringify(raw)}`);
    const table = env[ENV.TENANT_TABLE];
    if (!table) throw new Error(`${ENV.TENANT_TABLE} must name the tenant table when ${ENV.TENANT_SHARDS} is set`);
    // Loaded only here: routers without tenants never pay for the DynamoDB client. The Lambda
    // runtime provides it (the bundle keeps @aws-sdk/* external).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk: Sdk = require('@aws-sdk/client-dynamodb');
    // Bounded: a store that cannot be reached (a VPC without a DynamoDB route) or never answers fails fast, not at the
    // function's timeout. Recent @smithy/node-http-handler versions only warn at requestTimeout unless told to throw.
    const requestHandler = { connectionTimeout: STORE_CONNECT_TIMEOUT_MS, requestTimeout: STORE_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true };
    const client = new sdk.DynamoDBClient({ maxAttempts: 2, requestHandler, ...options.dynamoDbClientConfig });
    return new TenantGate(() => readTenantShards(client, sdk, table, versions), new TenantLedger(client, sdk, table), config, env[ENV.TENANT_STORE_FAILURE] === 'open');
  }

  private loaded: TenantDirectory | undefined;
  /** The last directory read, kept or not: what this request was identified with. */
  private latest: TenantDirectory | undefined;
  private loading: Promise<TenantDirectory> | undefined;

  constructor(
    private readonly load: () => Promise<ShardRead>,
    readonly ledger: TenantLedger,
    private readonly config: RouterConfig,
    private readonly failOpen: boolean,
  ) {
    // Started now: in Lambda, during the environment's init, before the first request waits for it.
    this.ready().catch(() => undefined);
  }

  /**
   * The tenants, once read. A failed read is tried again by the next
   * request; so is one that found a shard of another version than the
   * function expects (a deployment under way): its tenants serve the request
   * that read them, and are not kept.
   */
  ready(): Promise<TenantDirectory> {
    if (this.loaded) return Promise.resolve(this.loaded);
    this.loading ??= this.load().then((read) => {
      const directory = new TenantDirectory(read.tenants);
      this.latest = directory;
      if (read.current) this.loaded = directory;
      else this.loading = undefined;
      return directory;
    }, (err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  /** The directory, once `ready()` has resolved. */
  get directory(): TenantDirectory {
    if (!this.latest) throw new Error('the tenants are not loaded yet: await ready() first');
    return this.latest;
  }

  /**
   * Names the caller's tenant in `fields.tenant`, or refuses an unknown
   * caller; 503 when the tenants cannot be read (nobody can be identified).
   */
  async identify(ctx: ServedRequest): Promise<TenantRefusal | undefined> {
    const { event, fields } = ctx;
    let directory: TenantDirectory;
    try {
      directory = await this.ready();
    } catch (err) {
      this.noteStoreError(ctx, 'admit', err);
      return refusal(503, 'budget_unavailable', 'The tenant store cannot be read, so callers cannot be identified; the router fails closed.', 'budget_unavailable', { 'retry-after': '1' });
    }
    const tenant = directory.match(event);
    if (!tenant) {
      return { kind: 'reject', ...reject(403, 'unknown_tenant', 'This router serves named tenants only, and the caller matches none of them.', 'unknown_tenant'), headers: {} };
    }
    fields.tenant = tenant.id;
    return undefined;
  }

  /** What the caller's tenant narrows of the router's policy (applied by `decide`). */
  policyOf(tenantId: string | undefined): TenantPolicy | undefined {
    const tenant = tenantId === undefined ? undefined : this.directory.byId.get(tenantId);
    return tenant && { id: tenant.id, allowedModels: tenant.m, transcriptAccess: tenant.tx, globalRouting: tenant.gr };
  }

  /** The caller's tenant's own guardrail, or `none`; undefined when it has no say (the router's applies). */
  guardrailOf(tenantId: string | undefined): TenantGuardrailSpec | undefined {
    return tenantId === undefined ? undefined : this.directory.byId.get(tenantId)?.g;
  }

  /** The model ids the caller's tenant may use (for GET /v1/models). */
  modelsFor(tenantId: string | undefined): readonly string[] {
    return (tenantId && this.directory.byId.get(tenantId)?.m) || this.config.allowedModels;
  }

  /**
   * Reserves the request's worst case against the tenant's budget, daily and
   * per-minute tokens, and counts it against its requests per minute (every
   * model it may reach): all at once, one DynamoDB round trip before the
   * upstream call. A refusal, or an admission to settle later.
   */
  async admit(ctx: ServedRequest, decision: Forward): Promise<TenantRefusal | Admission> {
    const { fields, context } = ctx;
    const tenant = this.directory.byId.get(fields.tenant!)!;
    const models = decision.attempts.map((a) => a.model);
    const { worstCase } = decision;
    if (tenant.usd !== undefined && worstCase.usdNanos === undefined) {
      return refusal(503, 'budget_unavailable', `No price is known for ${models.join(', ')}, so the budget of tenant ${tenant.id} cannot be applied.`, 'budget_unavailable', { 'retry-after': '60' });
    }
    const estimate: Amount = { usdNanos: worstCase.usdNanos ?? 0, tokens: worstCase.inputTokens + worstCase.outputTokens };
    const remaining = remainingMs(context);
    const budgeted = tenant.usd !== undefined || tenant.tok !== undefined;
    const limits = { usdNanos: tenant.usd !== undefined ? Math.floor(tenant.usd * 1e9) : undefined, tokens: tenant.tok };

    const [rate, budget, minute] = await Promise.allSettled([
      tenant.rpm !== undefined ? this.ledger.countRequest(tenant.id, models, tenant.rpm) : Promise.resolve(undefined),
      budgeted ? this.ledger.reserve(tenant.id, limits, estimate, remaining + RESERVATION_MARGIN_MS) : Promise.resolve(undefined),
      tenant.tpm !== undefined ? this.ledger.reserveMinuteTokens(tenant.id, estimate.tokens, tenant.tpm) : Promise.resolve(undefined),
    ]);
    const value = <T>(r: PromiseSettledResult<T>): T | undefined => (r.status === 'fulfilled' ? r.value : undefined);
    const reserved = value(budget)?.ok ? value(budget) as Extract<ReserveResult, { ok: true }> : undefined;
    const minuteHeld = value(minute)?.ok ? value(minute) as Extract<MinuteResult, { ok: true }> : undefined;
    const storeError = [rate, budget, minute].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (storeError) this.noteStoreError(ctx, 'admit', storeError.reason);
    const refused = this.refusalOf(tenant, decision, value(rate), value(budget), value(minute));
    // Failing open admits unmetered only what the store could not decide; a refusal it did decide stands.
    if (refused || (storeError && !this.failOpen)) {
      // Nothing goes upstream: what was reserved is released in full, and rate slots taken are given back.
      await Promise.allSettled([
        ...(reserved ? [this.ledger.settle(reserved.reservation, { usdNanos: 0, tokens: 0 }, deadlineOf(context))] : []),
        ...(minuteHeld ? [this.ledger.settleMinuteTokens(minuteHeld.reservation, 0)] : []),
        ...(value(rate)?.ok ? [this.ledger.uncount(tenant.id, models)] : []),
      ]);
      return refused ?? refusal(503, 'budget_unavailable', 'The tenant budget store cannot be reached; the router fails closed.', 'budget_unavailable', { 'retry-after': '1' });
    }
    // Expired reservations the admission saw: reclaimed while the request is on its way, finished before settling.
    const reclaiming = this.reclaim(ctx, reserved?.reclaim ?? []);
    return { kind: 'admit', settle: (charge) => this.settle(ctx, reserved?.reservation, minuteHeld?.reservation, charge, reclaiming) };
  }

  /**
   * The refusal that tells the truth: what is left and what this request's
   * worst case is; a `Retry-After` up to the window's reset only when nothing
   * can fit any more (a smaller request that would fit is told so, with no
   * multi-day wait); 400 for a request that can never fit; and
   * `x-should-retry: false` wherever an immediate retry cannot succeed.
   */
  private refusalOf(
    tenant: TenantSpec, decision: Forward, rate: RateResult | undefined, budget: ReserveResult | undefined, minute: MinuteResult | undefined,
  ): TenantRefusal | undefined {
    if (budget && !budget.ok) {
      const usd = budget.limit === 'usd';
      const what = usd ? `monthly budget of ${tenant.usd} USD` : `daily limit of ${tenant.tok} tokens`;
      const show = (amount: number) => (usd ? `${formatUsd(amount)} USD` : `${amount} tokens`);
      if (budget.never) {
        return refusal(400, 'request_exceeds_budget', `This request's worst case, ${show(budget.requested)}, alone exceeds the ${what} of tenant ${tenant.id}: `
          + 'it can never be admitted. Lower max_tokens or shorten the prompt.', 'request_exceeds_budget', NO_RETRY);
      }
      if (budget.heldByInFlight) {
        // Requests in flight settle within seconds, usually below their worst case: retrying shortly is the right thing.
        return refusal(429, 'budget_exceeded', `Budget exceeded: ${show(budget.remaining)} of the ${what} of tenant ${tenant.id} are left while requests in flight hold the rest, `
          + `and this request's worst case is ${show(budget.requested)}; retry shortly.`, 'budget_exceeded', { 'retry-after': String(budget.retryAfterSeconds) });
      }
      const smallest = usd ? this.smallestRequestNanos(decision) : 2;
      if (budget.remaining < smallest) {
        return refusal(429, 'budget_exceeded', `Budget exceeded: the ${what} of tenant ${tenant.id} is spent (${show(budget.remaining)} left) until the ${usd ? 'month' : 'day'} ends (UTC).`,
          'budget_exceeded', { 'retry-after': String(budget.retryAfterSeconds), ...NO_RETRY });
      }
      return refusal(429, 'budget_exceeded', `Budget exceeded: ${show(budget.remaining)} of the ${what} of tenant ${tenant.id} are left, and this request's worst case is `
        + `${show(budget.requested)}. A request with a smaller max_tokens or a shorter prompt may fit.`, 'budget_exceeded', NO_RETRY);
    }
    if (minute && !minute.ok) {
      if (minute.never) {
        return refusal(400, 'request_exceeds_budget', `This request's worst case, ${decision.worstCase.inputTokens + decision.worstCase.outputTokens} tokens, alone exceeds the `
          + `${tenant.tpm} tokens per minute of tenant ${tenant.id}: it can never be admitted. Lower max_tokens or shorten the prompt.`, 'request_exceeds_budget', NO_RETRY);
      }
      return refusal(429, 'tenant_rate_limited', `Tenant ${tenant.id} may use ${tenant.tpm} tokens per minute: ${minute.remaining} are left this minute, and this request's `
        + `worst case is ${decision.worstCase.inputTokens + decision.worstCase.outputTokens}; retry after the minute ends.`, 'tenant_rate_limited', { 'retry-after': String(minute.retryAfterSeconds) });
    }
    if (rate && !rate.ok) {
      return refusal(429, 'tenant_rate_limited', `Tenant ${tenant.id} may send ${tenant.rpm} requests per minute to each model; one of ${decision.attempts.map((a) => a.model).join(', ')} `
        + 'has had them this minute; retry after the minute ends.', 'tenant_rate_limited', { 'retry-after': String(rate.retryAfterSeconds) });
    }
    return undefined;
  }

  /** The cost of the smallest request there is (one input and one output token) at this request's price: below it, nothing fits. */
  private smallestRequestNanos(decision: Forward): number {
    const price = decision.worstCase.price;
    return price ? worstCaseNanos(price, 1, 1) : 1;
  }

  /**
   * Admits a `POST /v1/understanding` request: it reads a transcript by
   * design, so only a tenant with transcript access may send it, and it
   * counts against the tenant's rate limit (under the route, as if it were a
   * model). It names no model, so nothing prices it: no USD reservation and
   * nothing to settle.
   */
  async admitUnderstanding(ctx: ServedRequest): Promise<TenantRefusal | Admission> {
    const { fields } = ctx;
    const tenant = this.directory.byId.get(fields.tenant!)!;
    if (tenant.tx === false) {
      const message = `POST /v1/understanding reads a transcript: tenant ${tenant.id} has no transcript access.`;
      return { kind: 'reject', ...reject(403, 'transcript_access', message, 'transcript_access_disabled'), headers: {} };
    }
    if (tenant.rpm !== undefined) {
      const rate = await this.ledger.countRequest(tenant.id, [UNDERSTANDING_PATH], tenant.rpm).catch((err: unknown) => {
        this.noteStoreError(ctx, 'admit', err);
        return undefined;
      });
      if (!rate) {
        if (!this.failOpen) return refusal(503, 'budget_unavailable', 'The tenant budget store cannot be reached; the router fails closed.', 'budget_unavailable', { 'retry-after': '1' });
      }
      if (rate && !rate.ok) {
        return refusal(429, 'tenant_rate_limited', `Tenant ${tenant.id} may send ${tenant.rpm} requests per minute to ${UNDERSTANDING_PATH}; retry after the minute ends.`,
          'tenant_rate_limited', { 'retry-after': String(rate.retryAfterSeconds) });
      }
    }
    return { kind: 'admit', settle: async () => undefined };
  }

  /**
   * Closes the reservation once the answer has ended, at the request's
   * charge (billing.ts `chargeOf`, from how it ended): the amount the log's
   * `cost_usd` and the `CostUsd` metric carry too. A settle that fails every
   * retry leaves the reservation to be reclaimed at its worst case (never at
   * zero), logged as `tenant_store_error: "settle"` and counted in
   * `SettlementFailures`. Never throws: the caller's answer is complete.
   */
  private async settle(
    ctx: ServedRequest, reservation: Reservation | undefined, minute: MinuteReservation | undefined,
    charge: Charge | undefined, reclaiming: Promise<void>,
  ): Promise<void> {
    const actual: Amount = { usdNanos: charge?.usdNanos ?? 0, tokens: charge?.tokens ?? 0 };
    await Promise.all([
      reservation && this.ledger.settle(reservation, actual, deadlineOf(ctx.context)).then((month) => {
        const tenant = this.directory.byId.get(ctx.fields.tenant!);
        ctx.fields.tenantMonthToDateUsd = month.usdNanos / 1e9;
        if (tenant?.usd !== undefined) ctx.fields.tenantBudgetUsedPercent = percentOfBudget(month.usdNanos, tenant.usd, 4);
      }, (err: unknown) => this.noteStoreError(ctx, 'settle', err)),
      // The minute's count moves to what was used; a failure here only leaves the minute stricter than it was.
      minute && this.ledger.settleMinuteTokens(minute, actual.tokens).catch(() => undefined),
    ]);
    await reclaiming;
  }

  private reclaim(ctx: ServedRequest, work: readonly ReclaimWork[]): Promise<void> {
    if (work.length === 0) return Promise.resolve();
    return this.ledger.reclaim(work).catch((err: unknown) => {
      // Left for the next admission to see again.
      ctx.fields.tenantStoreErrorName ??= storeErrorName(err);
    });
  }

  /** Records a store failure for the log and the `TenantStoreErrors` metric: the error's name and code only. */
  private noteStoreError({ fields }: ServedRequest, phase: 'admit' | 'settle', err: unknown): void {
    fields.tenantStoreError = phase;
    fields.tenantStoreErrorName = storeErrorName(err);
  }
}

/**
 * What a store failure was, for the operator: `AccessDeniedException` (an IAM
 * mistake), `ResourceNotFoundException` (a wrong table), a timeout or a
 * network error, by name and code. Never the message, which may name the
 * table, the role or the account.
 */
export function storeErrorName(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const name = typeof e?.name === 'string' && e.name !== '' ? e.name : 'Error';
  // A network error's code (ECONNREFUSED, ETIMEDOUT), also when the SDK wraps it and keeps only its message.
  const networkCode = typeof e?.message === 'string' ? /\bE[A-Z]{3,}\b/.exec(e.message)?.[0] : undefined;
  const rawCode = typeof e?.code === 'string' ? e.code : networkCode;
  const code = rawCode !== undefined && rawCode !== name ? ` [${rawCode}]` : '';
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return `${name}${code}${status}`.slice(0, 128);
}

function remainingMs(context: ServedRequest['context']): number {
  return typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : MAX_FUNCTION_LIFETIME_MS;
}

/** Epoch ms by which the store's work for this request must be done: the function's deadline, less a margin. */
function deadlineOf(context: ServedRequest['context']): number {
  return Date.now() + remainingMs(context) - SETTLE_MARGIN_MS;
}

/** Tells the OpenAI SDKs not to retry: an immediate retry would be refused again (and refused requests take no slot). */
const NO_RETRY = Object.freeze({ 'x-should-retry': 'false' });

function refusal(status: number, reason: Rejection['reason'], message: string, code: string, headers: Record<string, string>): TenantRefusal {
  return { kind: 'reject', ...reject(status, reason, message, code), headers };
}

/** nano-USD as USD, without float noise or trailing zeros: 12345000 -> "0.012345". */
export function formatUsd(nanos: number): string {
  const whole = Math.floor(nanos / 1e9);
  const fraction = String(nanos % 1e9).padStart(9, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}
