import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { shapeOf } from './estimate';
import { TenantDirectory } from './identify';
import { Amount, Reservation, ReserveResult, Sdk, TenantLedger } from './ledger';
import { costNanoUsd, toNanoUsd, worstPrice } from './prices';
import { UNDERSTANDING_PATH } from '../../catalog/catalog';
import { ENV } from '../../catalog/env';
import type { TokenPrice } from '../../catalog/model-catalog';
import { parseTenants, TenantSpec } from '../../catalog/tenants-schema';
import type { RouterConfig } from '../config';
import { estimateCostUsd } from '../cost';
import { reject, Rejection } from '../errors';
import type { Forward } from '../policy';
import type { RequestContext } from '../request-context';

export interface TenantGateOptions {
  /** Merged into the DynamoDB client's configuration (the emulator's and the tests' local endpoint). @default the Lambda's */
  readonly dynamoDbClientConfig?: DynamoDb.DynamoDBClientConfig;
}

/** A refusal with the headers it needs (`Retry-After`). */
export type TenantRefusal = Rejection & { readonly kind: 'reject'; readonly headers: Record<string, string> };

/** An admitted request's obligation: `settle()` once the answer has ended, whatever happened. */
export interface Admission {
  readonly kind: 'admit';
  settle(): Promise<void>;
}

/** Time a reservation outlives the function's own deadline before a sweep may reclaim it. */
const RESERVATION_MARGIN_MS = 60_000;
/** DynamoDB client limits: connecting, and a whole request (in-region answers take milliseconds). */
const STORE_CONNECT_TIMEOUT_MS = 2_000;
const STORE_REQUEST_TIMEOUT_MS = 5_000;
/** The longest a Lambda function lives: the lifetime assumed when the context does not say. */
const MAX_FUNCTION_LIFETIME_MS = 15 * 60_000;

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
    const shape = shapeOf(decision.upstreamBody);
    const policy = this.policy(tenant, shape.models, shape.transcript);
    if (policy) return { kind: 'reject', ...policy, headers: {} };

    // The catalog's prices as the handler's rules carry them (what decision.price comes from), each attempt as routed.
    const price = worstPrice(this.config.modelRules, shape.attempts, this.config.allowedModels);
    if (tenant.usd !== undefined && !price) {
      return refusal(503, 'budget_unavailable', `No price is known for ${shape.models.join(', ')}, so tenant ${tenant.id}'s budget cannot be applied.`, 'budget_unavailable', 60);
    }
    const estimate: Amount = {
      usdNanos: price ? costNanoUsd(price, shape.inputTokens, shape.outputTokens) : 0,
      tokens: shape.inputTokens + shape.outputTokens,
    };
    const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : MAX_FUNCTION_LIFETIME_MS;
    const budgeted = tenant.usd !== undefined || tenant.tok !== undefined;
    const limits = { usdNanos: tenant.usd !== undefined ? Math.floor(tenant.usd * 1e9) : undefined, tokens: tenant.tok };

    // Both checks at once: one DynamoDB round trip of latency before the upstream call.
    const [rate, budget] = await Promise.allSettled([
      tenant.rpm !== undefined ? this.ledger.countRequest(tenant.id, decision.model, tenant.rpm) : Promise.resolve({ ok: true as const }),
      budgeted ? this.ledger.reserve(tenant.id, limits, estimate, remaining + RESERVATION_MARGIN_MS) : Promise.resolve(undefined),
    ]);
    const reservation = budget.status === 'fulfilled' && budget.value?.ok ? budget.value.reservation : undefined;
    const storeFailed = rate.status === 'rejected' || budget.status === 'rejected';
    if (storeFailed) fields.tenantStoreError = 'admit';
    const refused = this.refusalOf(tenant, rate.status === 'fulfilled' ? rate.value : { ok: true }, budget.status === 'fulfilled' ? budget.value : undefined, decision.model);
    // Failing open admits unmetered only what the store could not decide; a refusal it did decide stands.
    if (refused || (storeFailed && !this.failOpen)) {
      // Nothing goes upstream, so a reservation that was made is released in full.
      if (reservation) await this.ledger.settle(reservation, { usdNanos: 0, tokens: 0 }).catch(() => undefined);
      return refused ?? refusal(503, 'budget_unavailable', 'The tenant budget store cannot be reached; the router fails closed.', 'budget_unavailable', 1);
    }
    return { kind: 'admit', settle: () => this.settle(ctx, reservation, estimate, price) };
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
  async admitUnderstanding({ fields }: RequestContext): Promise<TenantRefusal | Admission> {
    const tenant = this.directory.byId.get(fields.tenant!)!;
    if (tenant.tx === false) {
      const message = `POST /v1/understanding reads a transcript: tenant ${tenant.id} has no transcript access.`;
      return { kind: 'reject', ...reject(403, 'transcript_access', message, 'transcript_access_disabled'), headers: {} };
    }
    if (tenant.rpm !== undefined) {
      const rate = await this.ledger.countRequest(tenant.id, UNDERSTANDING_PATH, tenant.rpm).catch(() => undefined);
      if (!rate) {
        fields.tenantStoreError = 'admit';
        if (!this.failOpen) return refusal(503, 'budget_unavailable', 'The tenant budget store cannot be reached; the router fails closed.', 'budget_unavailable', 1);
      }
      const refused = rate && this.refusalOf(tenant, rate, undefined, UNDERSTANDING_PATH);
      if (refused) return refused;
    }
    return { kind: 'admit', settle: async () => undefined };
  }

  /**
   * Closes the reservation once the answer has ended, at the request's cost:
   * `fields.costUsd`, which the handler computes from the reported usage and
   * the catalog's price for the model as routed (the `cost_usd` log field
   * and the `CostUsd` metric). Reported usage of a model the catalog does not
   * price is charged at the reservation's price, and that becomes its cost.
   * An answer that reached the caller without usage (a client abort, a
   * stream cut at the deadline, an upstream timeout, an invalid 2xx answer)
   * is charged the estimate, since the gateway may have billed it; an
   * upstream error status, an upstream that could not be reached, or a
   * router fault before anything was sent (an unreadable gateway key)
   * releases it. Never throws: the caller's answer is already complete.
   */
  private async settle(ctx: RequestContext, reservation: Reservation | undefined, estimate: Amount, price: TokenPrice | undefined): Promise<void> {
    const { fields, res } = ctx;
    const reported = fields.inputTokens !== undefined || fields.outputTokens !== undefined;
    const errorStatus = fields.upstreamStatus !== undefined && fields.upstreamStatus >= 400;
    const neverSent = fields.routerError !== undefined && fields.upstreamAttempts === undefined && fields.upstreamStatus === undefined;
    const nothingBilled = !reported && (errorStatus || neverSent || (fields.upstreamError === 'unreachable' && res.status >= 500));
    let actual: Amount;
    if (reported) {
      fields.costUsd ??= estimateCostUsd(price, fields.inputTokens, fields.outputTokens);
      const tokens = (fields.inputTokens ?? 0) + (fields.outputTokens ?? 0);
      actual = { usdNanos: fields.costUsd !== undefined ? toNanoUsd(fields.costUsd) : 0, tokens };
    } else {
      actual = nothingBilled ? { usdNanos: 0, tokens: 0 } : estimate;
      if (price) fields.costUsd = actual.usdNanos / 1e9;
    }
    if (!reservation) return;
    try {
      await this.ledger.settle(reservation, actual);
    } catch {
      // The reservation stays until it expires and a sweep releases it.
      fields.tenantStoreError = 'settle';
    }
  }
}

function refusal(status: number, reason: Rejection['reason'], message: string, code: string, retryAfterSeconds: number): TenantRefusal {
  return { kind: 'reject', ...reject(status, reason, message, code), headers: { 'retry-after': String(retryAfterSeconds) } };
}
