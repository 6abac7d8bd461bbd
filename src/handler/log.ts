import type { ChargeBasis } from './billing';
import { RequestOutcome } from './metrics';
import type { MaybeBilledCause, Settlement } from './settlement';

/** The fields of the one log line written per request: identifiers and numbers, never content. */
export interface RequestLogFields extends RequestOutcome {
  requestId: string;
  route: string;
  method: string;
  /** The caller's model id, even when refused (it may not be on the allow-list). */
  requestedModel?: string;
  upstreamRequestId?: string;
  /** The model the gateway says answered (a fallback's, when one answered). */
  answeredModel?: string;
  /** How the request ended for billing (settlement.ts). */
  settlement?: Settlement['kind'];
  /** Why a `maybe_billed` request has no known outcome (timeout, cut, too_large, invalid_answer, client_aborted, deadline, router_fault, guardrail). */
  settlementCause?: MaybeBilledCause;
  /** What the charge is based on: the reported usage, the worst case, or nothing billed. */
  chargeBasis?: ChargeBasis;
  /** Why the tenant store failed: the error's name and code (never a table or role ARN). */
  tenantStoreErrorName?: string;
  /**
   * What went wrong, for the operator: a router fault's detail or an upstream
   * connection error. Never returned to the caller; never request content.
   */
  errorDetail?: string;
  /** The HTTP status the gateway answered with (tenants settle on it). Not logged. */
  upstreamStatus?: number;
  /** Guardrail checks made (a prompt, an answer, each stream window). */
  guardrailChecks?: number;
  /** Why the last failed check failed: the error's name (`ThrottlingException`, `TimeoutError`). */
  guardrailErrorName?: string;
}

/**
 * One structured JSON line per request, in the shape Lambda's JSON log
 * format and CloudWatch Logs Insights expect (`timestamp`, `level`,
 * `message`, fields). Deliberately typed: there is no field through which a
 * prompt, a completion, a header or the key could pass.
 *
 * Written directly rather than through Powertools Logger: it is the only log
 * line the router writes, and the Logger's construction costs module load
 * time and bundle size (see BENCHMARKS.md, cold start).
 */
export class RequestLog {
  constructor(private readonly serviceName: string, private readonly write: (line: string) => void = (line) => process.stdout.write(line)) {}

  record(f: RequestLogFields): void {
    const level = f.status >= 500 ? 'ERROR' : f.status >= 400 ? 'WARN' : 'INFO';
    const line = {
      timestamp: new Date().toISOString(),
      level,
      message: 'request',
      service: this.serviceName,
      request_id: f.requestId,
      route: f.route,
      method: f.method,
      model: truncate(f.requestedModel ?? f.model),
      provider: f.provider,
      region: f.region,
      status: f.status,
      latency_ms: round(f.latencyMs),
      upstream_latency_ms: round(f.upstreamLatencyMs),
      time_to_first_token_ms: round(f.timeToFirstTokenMs),
      answered_model: truncate(f.answeredModel),
      input_tokens: f.inputTokens,
      output_tokens: f.outputTokens,
      cached_input_tokens: f.cachedInputTokens,
      usage_invalid: f.usageInvalid,
      settlement: f.settlement,
      settlement_cause: f.settlementCause,
      charge_basis: f.chargeBasis,
      cost_usd: f.costUsd,
      upstream_attempts: f.upstreamAttempts,
      upstream_request_id: truncate(f.upstreamRequestId),
      reject_reason: f.rejectReason,
      upstream_error: f.upstreamError,
      router_error: f.routerError,
      error_detail: f.errorDetail,
      client_aborted: f.clientAborted,
      tenant: f.tenant,
      tenant_month_to_date_usd: f.tenantMonthToDateUsd,
      tenant_budget_used_percent: f.tenantBudgetUsedPercent,
      tenant_store_error: f.tenantStoreError,
      tenant_store_error_name: f.tenantStoreErrorName,
      guardrail: f.guardrailAction,
      guardrail_policies: f.guardrailPolicies,
      guardrail_checks: f.guardrailChecks,
      guardrail_latency_ms: round(f.guardrailLatencyMs),
      guardrail_text_units: f.guardrailTextUnits,
      guardrail_errors: f.guardrailErrors,
      guardrail_error_name: f.guardrailErrorName,
      cold_start: f.coldStart,
    };
    this.write(`${JSON.stringify(line)}\n`);
  }
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100;
}

/** Caller-chosen ids are bounded so a hostile model name cannot flood the log. */
function truncate(value: string | undefined): string | undefined {
  return value !== undefined && value.length > 128 ? `${value.slice(0, 128)}...` : value;
}
