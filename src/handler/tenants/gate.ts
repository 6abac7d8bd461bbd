import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { TenantDirectory } from './identify';
import { Amount, ReclaimWork, Reservation, ReserveResult, Sdk, TenantLedger } from './ledger';
import { UNDERSTANDING_PATH } from '../../catalog/catalog';
import { ENV } from '../../catalog/env';
import { parseTenants, TenantSpec } from '../../catalog/tenants-schema';
import type { Charge } from '../billing';
import type { RouterConfig } from '../config';
import { reject, Rejection } from '../errors';
import type { Forward } from '../policy';
import type { RequestContext } from '../request-context';

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
  /** The gate for a router with tenants; `undefined` (no SDK loaded, no cost) for one without. */
  static fromEnv(env: Readonly<Record<string, string | undefined>>, config: RouterConfig, options: TenantGateOptions = {}): TenantGate | undefined {
    const raw = env[ENV.TENANTS];
    if (!raw) return undefined;
    let tenants: TenantSpec[];
    try {
      tenants = parseTenants(raw);
    } catch (err) {
      throw new Error(`${ENV.TENANTS} ${(err as Error).message}`);
    }
    const table = env[ENV.TENANT_TABLE];
    if (!table) throw new Error(`${ENV.TENANT_TABLE} must name the tenant table when ${ENV.TENANTS} is set`);
    // Loaded only here: routers without tenants never pay for the DynamoDB client. The Lambda
    // runtime provides it (the bundle keeps @aws-sdk/* external).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk: Sdk = require('@aws-sdk/client-dynamodb');
    // Bounded: a store that cannot be reached (a VPC without a DynamoDB route) fails fast, not at the function's timeout.
    const requestHandler = { connectionTimeout: STORE_CONNECT_TIMEOUT_MS, requestTimeout: STORE_REQUEST_TIMEOUT_MS };
    const client = new sdk.DynamoDBClient({ maxAttempts: 2, requestHandler, ...options.dynamoDbClientConfig });
    return new TenantGate(tenants, new TenantLedger(client, sdk, table), config, env[ENV.TENANT_STORE_FAILURE] === 'open');
  }

  readonly directory: TenantDirectory;

  constructor(
    tenants: readonly TenantSpec[],
    readonly ledger: TenantLedger,
    private readonly config: RouterConfig,
    private readonly failOpen: boolean,
  ) {
    this.directory = new TenantDirectory(tenants);
  }

  /** Names the caller's tenant in `fields.tenant`, or refuses an unknown caller. */
  identify({ event, fields }: RequestContext): Rejection | undefined {
    const tenant = this.directory.match(event);
    if (!tenant) {
      return reject(403, 'unknown_tenant', 'This router serves named tenants only, and the caller matches none of them.', 'unknown_tenant');
    }
    fields.tenant = tenant.id;
    return undefined;
  }

  /** The model ids the caller's tenant may use (for GET /v1/models). */
  modelsFor(tenantId: string | undefined): readonly string[] {
    return (tenantId && this.directory.byId.get(tenantId)?.m) || this.config.allowedModels;
  }

  /** Applies the tenant's policy and reserves its worst case: a refusal, or an admission to settle later. */
  async admit(ctx: RequestContext, decision: Forward): Promise<TenantRefusal | Admission> {
    const { fields, context } = ctx;
    const tenant = this.directory.byId.get(fields.tenant!)!;
    const models = decision.attempts.map((a) => a.model);
    const policy = this.policy(tenant, models, decision.transcript);
    if (policy) return { kind: 'reject', ...policy, headers: {} };

    const { worstCase } = decision;
    if (tenant.usd !== undefined && worstCase.usdNanos === undefined) {
      return refusal(503, 'budget_unavailable', `No price is known for ${models.join(', ')}, so tenant ${tenant.id}'s budget cannot be applied.`, 'budget_unavailable', 60);
    }
    const estimate: Amount = { usdNanos: worstCase.usdNanos ?? 0, tokens: worstCase.inputTokens + worstCase.outputTokens };
    const remaining = remainingMs(context);
    const budgeted = tenant.usd !== undefined || tenant.tok !== undefined;
    const limits = { usdNanos: tenant.usd !== undefined ? Math.floor(tenant.usd * 1e9) : undefined, tokens: tenant.tok };

    // Both checks at once: one DynamoDB round trip of latency before the upstream call.
    // The rate limit counts every model the request may reach: its fallbacks too.
    const [rate, budget] = await Promise.allSettled([
      tenant.rpm !== undefined ? this.ledger.countRequest(tenant.id, models, tenant.rpm) : Promise.resolve(undefined),
      budgeted ? this.ledger.reserve(tenant.id, limits, estimate, remaining + RESERVATION_MARGIN_MS) : Promise.resolve(undefined),
    ]);
    const reserved = budget.status === 'fulfilled' && budget.value?.ok ? budget.value : undefined;
    const storeError = [rate, budget].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (storeError) this.noteStoreError(ctx, 'admit', storeError.reason);
    const rateResult = rate.status === 'fulfilled' ? rate.value : undefined;
    const refused = this.refusalOf(tenant, rateResult ?? { ok: true }, budget.status === 'fulfilled' ? budget.value : undefined, decision.model);
    // Failing open admits unmetered only what the store could not decide; a refusal it did decide stands.
    if (refused || (storeError && !this.failOpen)) {
      // Nothing goes upstream: a reservation made is released in full, and rate slots taken are given back.
      const undo: Array<Promise<unknown>> = [];
      if (reserved) undo.push(this.ledger.settle(reserved.reservation, { usdNanos: 0, tokens: 0 }, deadlineOf(context)));
      if (rateResult?.ok) undo.push(this.ledger.uncount(tenant.id, models));
      await Promise.allSettled(undo);
      return refused ?? refusal(503, 'budget_unavailable', 'The tenant budget store cannot be reached; the router fails closed.', 'budget_unavailable', 1);
    }
    // Expired reservations the admission saw: reclaimed while the request is on its way, finished before settling.
    const reclaiming = this.reclaim(ctx, reserved?.reclaim ?? []);
    return { kind: 'admit', settle: (charge) => this.settle(ctx, reserved?.reservation, charge, reclaiming) };
  }

  /** The tenant's allow-list and transcript access, over the primary model and every fallback. */
  private policy(tenant: TenantSpec, models: readonly string[], transcript: boolean): Rejection | undefined {
    if (tenant.m) {
      const allowed = new Set(tenant.m);
      const at = models.findIndex((id) => !allowed.has(id));
      if (at !== -1) {
        return reject(403, 'model_not_allowed',
          `Model ${JSON.stringify(models[at])} is not allowed for tenant ${tenant.id}. Allowed models: ${tenant.m.join(', ')}.`,
          'model_not_allowed', at === 0 ? 'model' : `fallbacks[${at - 1}].model`);
      }
    }
    if (transcript && tenant.tx === false) {
      return reject(403, 'transcript_access', `Field "transcript_id" is refused: tenant ${tenant.id} has no transcript access.`, 'transcript_access_disabled', 'transcript_id');
    }
    return undefined;
  }

  private refusalOf(
    tenant: TenantSpec, rate: { ok: boolean; retryAfterSeconds?: number }, budget: ReserveResult | undefined, model: string,
  ): TenantRefusal | undefined {
    if (budget && !budget.ok) {
      const what = budget.limit === 'usd' ? `monthly budget of ${tenant.usd} USD` : `daily limit of ${tenant.tok} tokens`;
      const why = budget.never
        ? `this request's worst case alone exceeds tenant ${tenant.id}'s ${what}; lower max_tokens or shorten the prompt`
        : budget.heldByInFlight
          ? `tenant ${tenant.id}'s ${what} is held by requests in flight; retry shortly`
          : `tenant ${tenant.id}'s ${what} is spent until the ${budget.limit === 'usd' ? 'month' : 'day'} ends (UTC)`;
      return refusal(429, 'budget_exceeded', `Budget exceeded: ${why}.`, 'budget_exceeded', budget.retryAfterSeconds);
    }
    if (!rate.ok) {
      return refusal(429, 'tenant_rate_limited', `Tenant ${tenant.id} may send ${tenant.rpm} requests per minute to ${model}; retry after the minute ends.`,
        'tenant_rate_limited', rate.retryAfterSeconds!);
    }
    return undefined;
  }

  /**
   * Admits a `POST /v1/understanding` request: it reads a transcript by
   * design, so only a tenant with transcript access may send it, and it
   * counts against the tenant's rate limit (under the route, as if it were a
   * model). It names no model, so nothing prices it: no USD reservation and
   * nothing to settle.
   */
  async admitUnderstanding(ctx: RequestContext): Promise<TenantRefusal | Admission> {
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
        if (!this.failOpen) return refusal(503, 'budget_unavailable', 'The tenant budget store cannot be reached; the router fails closed.', 'budget_unavailable', 1);
      }
      const refused = rate && this.refusalOf(tenant, rate, undefined, UNDERSTANDING_PATH);
      if (refused) return refused;
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
    ctx: RequestContext, reservation: Reservation | undefined, charge: Charge | undefined, reclaiming: Promise<void>,
  ): Promise<void> {
    if (reservation) {
      const actual: Amount = { usdNanos: charge?.usdNanos ?? 0, tokens: charge?.tokens ?? 0 };
      try {
        await this.ledger.settle(reservation, actual, deadlineOf(ctx.context));
      } catch (err) {
        this.noteStoreError(ctx, 'settle', err);
      }
    }
    await reclaiming;
  }

  private reclaim(ctx: RequestContext, work: readonly ReclaimWork[]): Promise<void> {
    if (work.length === 0) return Promise.resolve();
    return this.ledger.reclaim(work).catch((err: unknown) => {
      // Left for the next admission to see again.
      ctx.fields.tenantStoreErrorName ??= storeErrorName(err);
    });
  }

  /** Records a store failure for the log and the `TenantStoreErrors` metric: the error's name and code only. */
  private noteStoreError({ fields }: RequestContext, phase: 'admit' | 'settle', err: unknown): void {
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

function remainingMs(context: RequestContext['context']): number {
  return typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : MAX_FUNCTION_LIFETIME_MS;
}

/** Epoch ms by which the store's work for this request must be done: the function's deadline, less a margin. */
function deadlineOf(context: RequestContext['context']): number {
  return Date.now() + remainingMs(context) - SETTLE_MARGIN_MS;
}

function refusal(status: number, reason: Rejection['reason'], message: string, code: string, retryAfterSeconds: number): TenantRefusal {
  return { kind: 'reject', ...reject(status, reason, message, code), headers: { 'retry-after': String(retryAfterSeconds) } };
}
