/**
 * The shape of the router's CloudWatch metrics: written by the handler,
 * read by the construct's metric helpers, dashboard and alarms.
 */
export const METRIC = Object.freeze({
  REQUESTS: 'Requests',
  REJECTED: 'Rejected',
  UPSTREAM_ERRORS: 'UpstreamErrors',
  LATENCY: 'Latency',
  UPSTREAM_LATENCY: 'UpstreamLatency',
  TIME_TO_FIRST_TOKEN: 'TimeToFirstToken',
  INPUT_TOKENS: 'InputTokens',
  OUTPUT_TOKENS: 'OutputTokens',
  COLD_START: 'ColdStart',
  CLIENT_ABORTED: 'ClientAborted',
  /** Estimated USD: the gateway's reported tokens times the catalog's price for the region used; a tenant's budget is charged the same amount. */
  COST_USD: 'CostUsd',
  /** Failures of the router itself (its secret, its configuration, a bug): never the caller's or the gateway's. */
  ROUTER_ERRORS: 'RouterErrors',
  /** Input tokens the gateway reported as read from a prompt cache (priced at the cached-input rate). */
  CACHED_INPUT_TOKENS: 'CachedInputTokens',
  /** Answers whose usage report could not be right (negative, fractional, incomplete): charged their worst case. */
  USAGE_INVALID: 'UsageInvalid',
  /** Tenant settlements that failed after their retries: the reservation is left for a sweep to charge at its worst case. */
  SETTLEMENT_FAILURES: 'SettlementFailures',
  /** Calls to the tenant store that failed (admission or settlement), by the error's name in the log. */
  TENANT_STORE_ERRORS: 'TenantStoreErrors',
  /** A tenant's settled spend this calendar month (UTC), USD, as of each settle: read with the Maximum statistic. */
  TENANT_MONTH_TO_DATE_USD: 'TenantMonthToDateUsd',
  /** The same as a percentage of the tenant's monthly budget (tenants with one). */
  TENANT_BUDGET_USED_PERCENT: 'TenantBudgetUsedPercent',
  /**
   * Requests (or stream windows' answers) a guardrail intervened on, blocking or masking: once per
   * request in the Region and Tenant sets, and once per policy type that intervened in the
   * (service, GuardrailPolicy) set.
   */
  GUARDRAIL_INTERVENTIONS: 'GuardrailInterventions',
  /** Time a request spent waiting for its guardrail checks, all of them together, ms. */
  GUARDRAIL_LATENCY: 'GuardrailLatency',
  /** Text units the checks reported for priced policies (all but word filters and free units): what Bedrock bills. */
  GUARDRAIL_TEXT_UNITS: 'GuardrailTextUnits',
  /** Checks that failed (an error, a throttle, a timeout): each answered 503 when failing closed. */
  GUARDRAIL_ERRORS: 'GuardrailErrors',
  /** Requests let through unchecked because the check failed and the guardrail fails open. */
  GUARDRAIL_UNCHECKED: 'GuardrailUnchecked',
});

export const DIMENSION = Object.freeze({
  /** Powertools' own dimension, set to the router's name. */
  SERVICE: 'service',
  REGION: 'Region',
  PROVIDER: 'Provider',
  MODEL: 'Model',
  REASON: 'Reason',
  ERROR_CLASS: 'ErrorClass',
  /** A configured tenant's id (bounded: only tenants the construct declared). */
  TENANT: 'Tenant',
  /** The guardrail policy type that intervened (catalog/guardrail.ts `GUARDRAIL_POLICY_TYPES`). */
  GUARDRAIL_POLICY: 'GuardrailPolicy',
});

/** Why a request was refused before anything went upstream (the `Reason` dimension). */
export const REJECT_REASONS = Object.freeze([
  'too_large',
  'bad_request',
  'model_not_allowed',
  'residency',
  'global_routing',
  /** `transcript_id` on a router without transcript access. */
  'transcript_access',
  'not_found',
  'method_not_allowed',
  // Tenants (issue 15).
  /** The router has tenants and the caller matches none (and there is no default tenant). */
  'unknown_tenant',
  /** The tenant's monthly USD budget or daily token limit has no room for the request's worst case. */
  'budget_exceeded',
  /** The tenant's requests per minute for the model are used up. */
  'tenant_rate_limited',
  /** The tenant store could not be reached and the router fails closed. */
  'budget_unavailable',
  /** The request's worst case alone exceeds the tenant's whole budget or per-minute tokens: it can never be admitted. */
  'request_exceeds_budget',
  // Guardrails (issue 21).
  /** The router's guardrail blocked the prompt (nothing went upstream) or the answer (nothing of it was relayed). */
  'guardrail_blocked',
  /** The guardrail check failed and the guardrail fails closed. */
  'guardrail_unavailable',
] as const);
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * Where an upstream failure came from (the `ErrorClass` dimension).
 * `deadline`: a stream still running when the function's own timeout came
 * near, ended by the router with an in-band `deadline_exceeded` event.
 */
export const UPSTREAM_ERROR_CLASSES = Object.freeze(['4xx', '5xx', 'timeout', 'unreachable', 'deadline'] as const);
export type UpstreamErrorClass = (typeof UPSTREAM_ERROR_CLASSES)[number];

/**
 * Why the router itself failed a request (the `ErrorClass` dimension of
 * `RouterErrors`): the gateway key could not be read, the function's
 * configuration is unusable, or anything else the router did not expect.
 * They share the `ErrorClass` key with upstream failures because Powertools
 * refuses a key in two dimension sets; the values never overlap.
 */
export const ROUTER_ERROR_CLASSES = Object.freeze(['secret_unavailable', 'misconfigured', 'internal'] as const);
export type RouterErrorClass = (typeof ROUTER_ERROR_CLASSES)[number];
