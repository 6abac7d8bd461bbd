import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { RejectReason } from './errors';

/** The `Region` dimension: `global` exactly when the request went upstream with `model_region: "global"`. */
export type RegionTag = 'us' | 'eu' | 'global';

/** Where an upstream failure came from (the `ErrorClass` dimension of `UpstreamErrors`). */
export type UpstreamErrorClass = '4xx' | '5xx' | 'timeout' | 'unreachable';

/** What one request did, as recorded once at its end. */
export interface RequestOutcome {
  region: RegionTag;
  status: number;
  /** Only allow-listed ids: keeps the `Model` dimension's cardinality bounded. */
  model?: string;
  provider?: string;
  rejectReason?: RejectReason;
  upstreamError?: UpstreamErrorClass;
  latencyMs: number;
  upstreamLatencyMs?: number;
  timeToFirstTokenMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  upstreamAttempts?: number;
  coldStart: boolean;
  clientAborted?: boolean;
}

/**
 * Writes one CloudWatch Embedded Metric Format document per request through
 * Powertools. Dimension sets: (service, Region) always; plus
 * (service, Region, Provider, Model) for allow-listed models,
 * (service, Region, Reason) for rejections and (service, Region, ErrorClass)
 * for upstream failures. Recording is synchronous, so concurrent requests in
 * the local emulator cannot mix their dimensions.
 */
export class RouterMetrics {
  private readonly metrics: Metrics;

  constructor(namespace: string, private readonly serviceName: string) {
    this.metrics = new Metrics({ namespace, serviceName });
  }

  record(o: RequestOutcome): void {
    const m = this.metrics;
    // (service, Region) is the base of every dimension set. Set as default
    // dimensions, freshly per request, so that no key is repeated across sets.
    m.clearDefaultDimensions();
    m.setDefaultDimensions({ service: this.serviceName, Region: o.region });
    m.addDimensions({});
    if (o.model && o.provider) m.addDimensions({ Provider: o.provider, Model: o.model });
    if (o.rejectReason) m.addDimensions({ Reason: o.rejectReason });
    if (o.upstreamError) m.addDimensions({ ErrorClass: o.upstreamError });

    m.addMetric('Requests', MetricUnit.Count, 1);
    if (o.coldStart) m.addMetric('ColdStart', MetricUnit.Count, 1);
    if (o.rejectReason) m.addMetric('Rejected', MetricUnit.Count, 1);
    if (o.upstreamError) m.addMetric('UpstreamErrors', MetricUnit.Count, 1);
    if (o.clientAborted) m.addMetric('ClientAborted', MetricUnit.Count, 1);
    m.addMetric('Latency', MetricUnit.Milliseconds, o.latencyMs);
    if (o.upstreamLatencyMs !== undefined) m.addMetric('UpstreamLatency', MetricUnit.Milliseconds, o.upstreamLatencyMs);
    if (o.timeToFirstTokenMs !== undefined) m.addMetric('TimeToFirstToken', MetricUnit.Milliseconds, o.timeToFirstTokenMs);
    if (o.inputTokens !== undefined) m.addMetric('InputTokens', MetricUnit.Count, o.inputTokens);
    if (o.outputTokens !== undefined) m.addMetric('OutputTokens', MetricUnit.Count, o.outputTokens);
    m.publishStoredMetrics();
  }
}
