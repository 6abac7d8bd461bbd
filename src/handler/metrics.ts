import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { GuardrailPolicyType } from '../contract/guardrail';
import { DIMENSION, METRIC, RejectReason, RouterErrorClass, UpstreamErrorClass } from '../contract/metrics-schema';

/** The `Region` dimension: `global` exactly when the request went upstream with `model_region: "global"`. */
export type RegionTag = 'us' | 'eu' | 'global';

export type { RouterErrorClass, UpstreamErrorClass };

/** What one request did, as recorded once at its end. */
export interface RequestOutcome {
  region: RegionTag;
  status: number;
  /** Only allow-listed ids: keeps the `Model` dimension's cardinality bounded. */
  model?: string;
  provider?: string;
  rejectReason?: RejectReason;
  upstreamError?: UpstreamErrorClass;
  /** The router's own failure, when that is how the request ended. */
  routerError?: RouterErrorClass;
  latencyMs: number;
  upstreamLatencyMs?: number;
  timeToFirstTokenMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Input tokens read from a prompt cache (part of `inputTokens`). */
  cachedInputTokens?: number;
  /** The answer's usage report could not be right, so it was charged its worst case. */
  usageInvalid?: boolean;
  /** USD the request is charged (billing.ts `chargeOf`): what the tenant's ledger records too. */
  costUsd?: number;
  /** The tenant store failed: on admission (`admit`, the request went unmetered or was refused) or on settlement (`settle`). */
  tenantStoreError?: 'admit' | 'settle';
  /** The tenant's settled spend this month after this request's settle, USD. */
  tenantMonthToDateUsd?: number;
  /** The same as a percentage of the tenant's monthly budget. */
  tenantBudgetUsedPercent?: number;
  upstreamAttempts?: number;
  coldStart: boolean;
  clientAborted?: boolean;
  /** The caller's tenant (configured ids only, so the `Tenant` dimension stays bounded). */
  tenant?: string;
  /** How the request's guardrail checks went, the strongest outcome of them (guardrail/guard.ts). */
  guardrailAction?: 'blocked' | 'unavailable' | 'unchecked' | 'masked' | 'passed';
  /** The policy types that intervened, sorted. */
  guardrailPolicies?: GuardrailPolicyType[];
  /** Time spent waiting for the checks, all together, ms. */
  guardrailLatencyMs?: number;
  /** Priced text units the checks reported. */
  guardrailTextUnits?: number;
  /** Checks that failed. */
  guardrailErrors?: number;
}

/**
 * Writes one CloudWatch Embedded Metric Format document per request through
 * Powertools. Dimension sets: (service) and (service, Region) always, so a
 * router's whole traffic is one metric and each region another; plus
 * (service, Provider, Model) for allow-listed models, (service, Reason) for
 * rejections and (service, ErrorClass) for upstream and router failures. Recording is
 * synchronous, so concurrent requests in the local emulator cannot mix their
 * dimensions.
 */
export class RouterMetrics {
  private readonly metrics: Metrics;

  constructor(namespace: string, serviceName: string) {
    // Powertools makes `service` a default dimension, in every set.
    this.metrics = new Metrics({ namespace, serviceName });
  }

  record(o: RequestOutcome): void {
    const m = this.metrics;
    // `service` (a default dimension) is in every set; Region is a per-request
    // dimension, which Powertools writes as the set (service, Region). Each
    // key appears in one set only: Powertools warns on a key repeated across sets.
    m.addDimension(DIMENSION.REGION, o.region);
    m.addDimensions({});
    if (o.model && o.provider) m.addDimensions({ [DIMENSION.PROVIDER]: o.provider, [DIMENSION.MODEL]: o.model });
    if (o.rejectReason) m.addDimensions({ [DIMENSION.REASON]: o.rejectReason });
    // One ErrorClass per request: a router fault is how the request ended, so it
    // wins over an upstream failure seen on the way (and that is then not counted).
    const upstreamError = o.routerError ? undefined : o.upstreamError;
    const errorClass = o.routerError ?? upstreamError;
    if (errorClass) m.addDimensions({ [DIMENSION.ERROR_CLASS]: errorClass });
    // (service, Tenant), not (service, Region, Tenant) or (service, Tenant, Reason): Powertools
    // warns whenever a key appears in two sets. Per-tenant regions, models and reasons come
    // from the log line (Contributor Insights, Logs Insights) instead.
    if (o.tenant) m.addDimensions({ [DIMENSION.TENANT]: o.tenant });

    m.addMetric(METRIC.REQUESTS, MetricUnit.Count, 1);
    if (o.coldStart) m.addMetric(METRIC.COLD_START, MetricUnit.Count, 1);
    if (o.rejectReason) m.addMetric(METRIC.REJECTED, MetricUnit.Count, 1);
    if (upstreamError) m.addMetric(METRIC.UPSTREAM_ERRORS, MetricUnit.Count, 1);
    if (o.routerError) m.addMetric(METRIC.ROUTER_ERRORS, MetricUnit.Count, 1);
    if (o.clientAborted) m.addMetric(METRIC.CLIENT_ABORTED, MetricUnit.Count, 1);
    m.addMetric(METRIC.LATENCY, MetricUnit.Milliseconds, o.latencyMs);
    if (o.upstreamLatencyMs !== undefined) m.addMetric(METRIC.UPSTREAM_LATENCY, MetricUnit.Milliseconds, o.upstreamLatencyMs);
    if (o.timeToFirstTokenMs !== undefined) m.addMetric(METRIC.TIME_TO_FIRST_TOKEN, MetricUnit.Milliseconds, o.timeToFirstTokenMs);
    if (o.inputTokens !== undefined) m.addMetric(METRIC.INPUT_TOKENS, MetricUnit.Count, o.inputTokens);
    if (o.outputTokens !== undefined) m.addMetric(METRIC.OUTPUT_TOKENS, MetricUnit.Count, o.outputTokens);
    if (o.cachedInputTokens !== undefined) m.addMetric(METRIC.CACHED_INPUT_TOKENS, MetricUnit.Count, o.cachedInputTokens);
    if (o.usageInvalid) m.addMetric(METRIC.USAGE_INVALID, MetricUnit.Count, 1);
    if (o.tenantStoreError) m.addMetric(METRIC.TENANT_STORE_ERRORS, MetricUnit.Count, 1);
    if (o.tenantStoreError === 'settle') m.addMetric(METRIC.SETTLEMENT_FAILURES, MetricUnit.Count, 1);
    if (o.tenantMonthToDateUsd !== undefined) m.addMetric(METRIC.TENANT_MONTH_TO_DATE_USD, MetricUnit.NoUnit, o.tenantMonthToDateUsd);
    if (o.tenantBudgetUsedPercent !== undefined) m.addMetric(METRIC.TENANT_BUDGET_USED_PERCENT, MetricUnit.Percent, o.tenantBudgetUsedPercent);
    // CloudWatch has no currency unit; the metric's name carries it.
    if (o.costUsd !== undefined) m.addMetric(METRIC.COST_USD, MetricUnit.NoUnit, o.costUsd);
    const intervened = o.guardrailPolicies !== undefined && o.guardrailPolicies.length > 0
      || o.guardrailAction === 'blocked' || o.guardrailAction === 'masked';
    if (intervened) m.addMetric(METRIC.GUARDRAIL_INTERVENTIONS, MetricUnit.Count, 1);
    if (o.guardrailLatencyMs !== undefined) m.addMetric(METRIC.GUARDRAIL_LATENCY, MetricUnit.Milliseconds, o.guardrailLatencyMs);
    if (o.guardrailTextUnits !== undefined) m.addMetric(METRIC.GUARDRAIL_TEXT_UNITS, MetricUnit.Count, o.guardrailTextUnits);
    if (o.guardrailErrors) m.addMetric(METRIC.GUARDRAIL_ERRORS, MetricUnit.Count, o.guardrailErrors);
    if (o.guardrailAction === 'unchecked') m.addMetric(METRIC.GUARDRAIL_UNCHECKED, MetricUnit.Count, 1);
    m.publishStoredMetrics();
    // By policy type: one document each, in the set (service, GuardrailPolicy) only, so the
    // request-level count above is not repeated in its Region and Tenant sets.
    for (const policy of o.guardrailPolicies ?? []) {
      m.addDimension(DIMENSION.GUARDRAIL_POLICY, policy);
      m.addMetric(METRIC.GUARDRAIL_INTERVENTIONS, MetricUnit.Count, 1);
      m.publishStoredMetrics();
    }
  }
}
