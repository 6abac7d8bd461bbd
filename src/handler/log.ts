import { Logger } from '@aws-lambda-powertools/logger';
import { RequestOutcome } from './metrics';

/** The fields of the one log line written per request: identifiers and numbers, never content. */
export interface RequestLogFields extends RequestOutcome {
  requestId: string;
  route: string;
  method: string;
  /** The caller's model id, even when refused (it may not be on the allow-list). */
  requestedModel?: string;
  upstreamRequestId?: string;
}

/**
 * One structured JSON line per request. Deliberately typed: there is no
 * field through which a prompt, a completion, a header or the key could pass.
 */
export class RequestLog {
  private readonly logger: Logger;

  constructor(serviceName: string) {
    this.logger = new Logger({ serviceName });
  }

  write(f: RequestLogFields): void {
    const fields = {
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
      input_tokens: f.inputTokens,
      output_tokens: f.outputTokens,
      upstream_attempts: f.upstreamAttempts,
      upstream_request_id: truncate(f.upstreamRequestId),
      reject_reason: f.rejectReason,
      upstream_error: f.upstreamError,
      client_aborted: f.clientAborted,
      cold_start: f.coldStart,
    };
    if (f.status >= 500) this.logger.error('request', fields);
    else if (f.status >= 400) this.logger.warn('request', fields);
    else this.logger.info('request', fields);
  }
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100;
}

/** Caller-chosen ids are bounded so a hostile model name cannot flood the log. */
function truncate(value: string | undefined): string | undefined {
  return value !== undefined && value.length > 128 ? `${value.slice(0, 128)}...` : value;
}
