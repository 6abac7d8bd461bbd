import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { IConstruct } from 'constructs';
import { GatewayCatalog } from './gateway-catalog';
import { GatewayRegion, MetricRegion } from './region';
import { propError } from './validation';
import { providerOf } from '../contract/lookup';
import { DIMENSION, METRIC } from '../contract/metrics-schema';

/**
 * Options for the router's metrics. Without `metricRegion`, `model`,
 * `reason` or `errorClass` a metric counts all of the router's traffic,
 * whichever region (us, eu or global) each request went to.
 */
export interface RouterMetricOptions extends cloudwatch.MetricOptions {
  /**
   * Narrow the metric to one `Region` dimension value.
   * @default - every region the router sends to
   */
  readonly metricRegion?: MetricRegion;

  /**
   * A model id, for the per-model dimension set (all regions).
   * Cannot be combined with `metricRegion`, `reason` or `errorClass`.
   * @default - all models
   */
  readonly model?: string;

  /**
   * A rejection reason (the `Reason` dimension), for the per-reason dimension set.
   * @default - all reasons
   */
  readonly reason?: RejectionReason;

  /**
   * An error class (the `ErrorClass` dimension), for the per-class dimension
   * set: an upstream class for `UpstreamErrors`, a router class for `RouterErrors`.
   * @default - all classes
   */
  readonly errorClass?: MetricErrorClass;

  /**
   * A tenant id, for the per-tenant dimension set (service, Tenant). Only
   * tenants declared on the router appear. Cannot be combined with the
   * other options above.
   * @default - all callers
   */
  readonly tenant?: string;

  /**
   * A guardrail policy type, for `GuardrailInterventions` by policy (the
   * set (service, GuardrailPolicy)). Cannot be combined with the other
   * options above.
   * @default - every intervention, counted once per request
   */
  readonly guardrailPolicy?: GuardrailPolicy;
}

/**
 * Why a request was refused before anything went upstream: the `Reason`
 * dimension of `Rejected` and the log's `reject_reason`.
 */
export enum RejectionReason {
  /** The body is larger than `maxRequestBodySize` (413). */
  TOO_LARGE = 'too_large',
  /** Malformed JSON, a field of the wrong type, an ambiguous key (400). */
  BAD_REQUEST = 'bad_request',
  /** A model or fallback outside the allow-list (403). */
  MODEL_NOT_ALLOWED = 'model_not_allowed',
  /** A model the router's region does not serve, or `model_region` on an EU router (403). */
  RESIDENCY = 'residency',
  /** `model_region: "global"` where global routing is not allowed (403). */
  GLOBAL_ROUTING = 'global_routing',
  /** `transcript_id` without transcript access (403). */
  TRANSCRIPT_ACCESS = 'transcript_access',
  /** A route the router does not have (404). */
  NOT_FOUND = 'not_found',
  /** A method the route does not take (405). */
  METHOD_NOT_ALLOWED = 'method_not_allowed',
  /** The router has tenants and the caller matches none (403). */
  UNKNOWN_TENANT = 'unknown_tenant',
  /** The tenant's budget or token limit has no room for the request's worst case (429). */
  BUDGET_EXCEEDED = 'budget_exceeded',
  /** The tenant's per-minute requests or tokens are used up (429). */
  TENANT_RATE_LIMITED = 'tenant_rate_limited',
  /** The tenant store could not be reached and the router fails closed (503). */
  BUDGET_UNAVAILABLE = 'budget_unavailable',
  /** The request's worst case alone exceeds the tenant's whole budget or per-minute tokens (400). */
  REQUEST_EXCEEDS_BUDGET = 'request_exceeds_budget',
  /** The guardrail blocked the prompt or the answer (400). */
  GUARDRAIL_BLOCKED = 'guardrail_blocked',
  /** The guardrail check failed and the guardrail fails closed (503). */
  GUARDRAIL_UNAVAILABLE = 'guardrail_unavailable',
}

/**
 * The `ErrorClass` dimension: where an upstream failure came from
 * (`UpstreamErrors`), or why the router itself failed (`RouterErrors`).
 */
export enum MetricErrorClass {
  /** The gateway answered 4xx. */
  UPSTREAM_4XX = '4xx',
  /** The gateway answered 5xx, or an answer that is not what was asked for. */
  UPSTREAM_5XX = '5xx',
  /** No answer, or a silent stream, within `upstreamTimeout`. */
  TIMEOUT = 'timeout',
  /** The gateway could not be reached. */
  UNREACHABLE = 'unreachable',
  /** A stream still running at the function's deadline, ended by the router. */
  DEADLINE = 'deadline',
  /** The gateway key could not be read (IAM, KMS or network). */
  SECRET_UNAVAILABLE = 'secret_unavailable',
  /** The function's configuration is unusable. */
  MISCONFIGURED = 'misconfigured',
  /** Anything else the router did not expect. */
  INTERNAL = 'internal',
}

/**
 * The policy types of a Bedrock guardrail, as the `GuardrailPolicy`
 * dimension and the log's `guardrail_policies` name them.
 */
export enum GuardrailPolicy {
  /** Denied topics. */
  TOPIC = 'topic',
  /** Content filters (hate, insults, sexual, violence, misconduct, prompt attacks). */
  CONTENT = 'content',
  /** Word filters (custom words, profanity). */
  WORD = 'word',
  /** Sensitive information filters (PII entities and regexes). */
  SENSITIVE_INFORMATION = 'sensitive_information',
  /** Contextual grounding checks. */
  CONTEXTUAL_GROUNDING = 'contextual_grounding',
  /** Automated reasoning checks. */
  AUTOMATED_REASONING = 'automated_reasoning',
}

/**
 * The metrics of one router, as the dashboard and alarms read them. Both
 * `LlmGatewayRouter` and `RouterMetricFactory` provide them.
 */
export interface IRouterMetrics {
  /** The router's name: the `service` dimension of its metrics. */
  readonly routerName: string;
  /** The gateway region the router sends requests to. */
  readonly region: GatewayRegion;
  /** Whether global routing is on. */
  readonly globalRouting: boolean;
  /** The `Region` dimension values the router can emit. */
  readonly metricRegions: MetricRegion[];
  /** The REST API's stage (with the router's name, the API Gateway metrics' dimensions). */
  readonly stageName: string;
  /**
   * The router function's name, when known: the Lambda metrics need it.
   * @default - unknown: metricFunctionErrors() and metricFunctionThrottles() throw
   */
  readonly functionName?: string;

  /** The CloudWatch namespace the handler writes its metrics to. */
  readonly metricsNamespace: string;

  /**
   * Any metric the handler emits, by name (`contract/metrics-schema.ts`
   * `METRIC`). The named helpers (`metricRequests()`...) are on
   * `RouterMetricFactory` and `LlmGatewayRouter`; `RouterMetricFactory.of()`
   * gives them for any `IRouterMetrics`, so new ones never change this interface.
   */
  metric(metricName: string, props?: RouterMetricOptions): cloudwatch.Metric;
}

/**
 * Properties of a `RouterMetricFactory`.
 */
export interface RouterMetricFactoryProps {
  /** The CloudWatch namespace the handler writes to. */
  readonly namespace: string;
  /** The router's name (the `service` dimension). */
  readonly routerName: string;
  /**
   * The router's gateway region.
   * @default GatewayRegion.US
   */
  readonly region?: GatewayRegion;
  /**
   * Whether the router uses global routing.
   * @default false
   */
  readonly globalRouting?: boolean;
  /**
   * The router's catalog, which names each model's provider (the `Provider`
   * dimension of per-model metrics).
   * @default GatewayCatalog.bundled()
   */
  readonly catalog?: GatewayCatalog;
  /**
   * The REST API's stage name (the API is named after the router).
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * The router function's name, for its Lambda metrics.
   * @default - unknown: the Lambda metrics are unavailable and `RouterAlarms` skips their alarms
   */
  readonly functionName?: string;
}

/**
 * Builds `cloudwatch.Metric`s for one router's handler metrics, from the
 * router's namespace, name, region and global flag alone: dashboards and
 * alarms need no reference to the router construct itself, so a dashboard
 * stack can watch routers defined elsewhere.
 *
 * The handler writes each request to the dimension sets (service),
 * (service, Region), (service, Provider, Model), (service, Reason) and
 * (service, ErrorClass); the options choose one of them. The API Gateway
 * and Lambda metrics (`metricServerErrors()`, `metricFunctionErrors()`,
 * `metricFunctionThrottles()`) are read by API name and stage, and by
 * function name.
 *
 * @example
 * const metrics = new RouterMetricFactory(this, {
 *   namespace: 'LlmGatewayRouter',
 *   routerName: 'platform-us',
 *   globalRouting: true,
 * });
 * metrics.metricRequests(); // us and global traffic together
 */
export class RouterMetricFactory implements IRouterMetrics {
  /**
   * The metrics of any router: itself when it is a factory already, else a
   * factory built from its identity (name, namespace, region, stage, function).
   */
  public static of(scope: IConstruct, router: IRouterMetrics): RouterMetricFactory {
    if (router instanceof RouterMetricFactory) return router;
    return new RouterMetricFactory(scope, {
      namespace: router.metricsNamespace,
      routerName: router.routerName,
      region: router.region,
      globalRouting: router.globalRouting,
      stageName: router.stageName,
      functionName: router.functionName,
    });
  }

  public readonly routerName: string;
  public readonly region: GatewayRegion;
  public readonly globalRouting: boolean;
  /** The CloudWatch namespace of the metrics. */
  public readonly namespace: string;
  public readonly stageName: string;
  public readonly functionName?: string;
  public readonly metricsNamespace: string;

  /**
   * @param scope the construct whose stack the metrics belong to
   * @param props the router's identity
   */
  private readonly catalog: GatewayCatalog;

  constructor(private readonly scope: IConstruct, props: RouterMetricFactoryProps) {
    this.catalog = props.catalog ?? GatewayCatalog.bundled();
    this.namespace = props.namespace;
    this.metricsNamespace = props.namespace;
    this.routerName = props.routerName;
    this.region = props.region ?? GatewayRegion.US;
    this.globalRouting = props.globalRouting ?? false;
    this.stageName = props.stageName ?? 'prod';
    this.functionName = props.functionName;
  }

  public get metricRegions(): MetricRegion[] {
    if (this.region === GatewayRegion.EU) return [MetricRegion.EU];
    return this.globalRouting ? [MetricRegion.US, MetricRegion.GLOBAL] : [MetricRegion.US];
  }

  /**
   * Any metric the handler emits, by name, narrowed to one dimension set by `props`.
   * @default sum over 5 minutes
   */
  public metric(metricName: string, props: RouterMetricOptions = {}): cloudwatch.Metric {
    const { metricRegion, model, reason, errorClass, tenant, guardrailPolicy, ...options } = props;
    const narrowing = [metricRegion, model, reason, errorClass, tenant, guardrailPolicy].filter((v) => v !== undefined);
    if (narrowing.length > 1) {
      throw propError(this.scope, 'metric options', JSON.stringify({ metricRegion, model, reason, errorClass, tenant, guardrailPolicy }),
        'combine dimensions the handler does not write together', 'pass only one of metricRegion, model, reason, errorClass, tenant and guardrailPolicy');
    }
    const dimensionsMap: Record<string, string> = { [DIMENSION.SERVICE]: this.routerName };
    if (metricRegion !== undefined) dimensionsMap[DIMENSION.REGION] = metricRegion;
    if (reason !== undefined) dimensionsMap[DIMENSION.REASON] = reason;
    if (errorClass !== undefined) dimensionsMap[DIMENSION.ERROR_CLASS] = errorClass;
    if (tenant !== undefined) dimensionsMap[DIMENSION.TENANT] = tenant;
    if (guardrailPolicy !== undefined) dimensionsMap[DIMENSION.GUARDRAIL_POLICY] = guardrailPolicy;
    if (model !== undefined) {
      const provider = providerOf(model, this.catalog._data);
      if (!provider) {
        throw propError(this.scope, 'model', JSON.stringify(model), 'matches no known provider (nor any model in the router\'s catalog), so no metric has it as a dimension', 'use one of the router\'s allowedModels');
      }
      dimensionsMap[DIMENSION.PROVIDER] = provider.id;
      dimensionsMap[DIMENSION.MODEL] = model;
    }
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...options,
      dimensionsMap,
    }).attachTo(this.scope);
  }

  /**
   * Requests received (every outcome).
   * @default sum over 5 minutes
   */
  public metricRequests(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.REQUESTS, props);
  }

  /**
   * Requests refused before anything went upstream.
   * @default sum over 5 minutes
   */
  public metricRejected(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.REJECTED, props);
  }

  /**
   * Upstream failures (4xx/5xx answers, timeouts, unreachable).
   * @default sum over 5 minutes
   */
  public metricUpstreamErrors(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.UPSTREAM_ERRORS, props);
  }

  /**
   * End-to-end latency in the handler, ms.
   * @default p99 over 5 minutes
   */
  public metricLatency(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.LATENCY, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /**
   * Time from sending upstream until the answer was relayed or failed, ms.
   * @default p99 over 5 minutes
   */
  public metricUpstreamLatency(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.UPSTREAM_LATENCY, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /**
   * Time to the first streamed byte, ms.
   * @default p99 over 5 minutes
   */
  public metricTimeToFirstToken(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TIME_TO_FIRST_TOKEN, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /**
   * Prompt tokens reported by the gateway.
   * @default sum over 5 minutes
   */
  public metricInputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.INPUT_TOKENS, props);
  }

  /**
   * Completion tokens reported by the gateway.
   * @default sum over 5 minutes
   */
  public metricOutputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.OUTPUT_TOKENS, props);
  }

  /**
   * Requests served by a new execution environment.
   * @default sum over 5 minutes
   */
  public metricColdStarts(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.COLD_START, props);
  }

  /**
   * Requests whose caller hung up before the answer ended.
   * @default sum over 5 minutes
   */
  public metricClientAborted(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.CLIENT_ABORTED, props);
  }

  /**
   * Estimated cost in USD: reported tokens times the catalog's price for the region each request used.
   * @default sum over 5 minutes
   */
  public metricCostUsd(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.COST_USD, props);
  }

  /**
   * Requests the router itself failed (unreadable key, misconfiguration, internal error).
   * @default sum over 5 minutes
   */
  public metricRouterErrors(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.ROUTER_ERRORS, props);
  }

  /**
   * Requests a guardrail blocked or masked (by policy type with `guardrailPolicy`).
   * @default sum over 5 minutes
   */
  public metricGuardrailInterventions(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.GUARDRAIL_INTERVENTIONS, props);
  }

  /**
   * Time a request waited for its guardrail checks, ms.
   * @default p99 over 5 minutes
   */
  public metricGuardrailLatency(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.GUARDRAIL_LATENCY, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /**
   * Priced text units the guardrail checks used: what Bedrock bills, to charge back by tenant.
   * @default sum over 5 minutes
   */
  public metricGuardrailTextUnits(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.GUARDRAIL_TEXT_UNITS, props);
  }

  /**
   * Guardrail checks that failed (errors, throttles, timeouts).
   * @default sum over 5 minutes
   */
  public metricGuardrailErrors(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.GUARDRAIL_ERRORS, props);
  }

  /**
   * API Gateway's `5XXError` for the router's stage: every 5xx answer, whoever produced it.
   * @default sum over 5 minutes
   */
  public metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    // The REST API is named after the router (rest-api.ts), so the name is the ApiName dimension.
    return this.awsMetric('AWS/ApiGateway', '5XXError', { ApiName: this.routerName, Stage: this.stageName }, props);
  }

  /**
   * Lambda's `Errors` for the router function: invocations that crashed or timed out.
   * @default sum over 5 minutes
   */
  public metricFunctionErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.awsMetric('AWS/Lambda', 'Errors', { FunctionName: this.requireFunctionName() }, props);
  }

  /**
   * Lambda's `Throttles` for the router function: invocations refused for lack of concurrency.
   * @default sum over 5 minutes
   */
  public metricFunctionThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.awsMetric('AWS/Lambda', 'Throttles', { FunctionName: this.requireFunctionName() }, props);
  }

  private awsMetric(namespace: string, metricName: string, dimensionsMap: Record<string, string>, props?: cloudwatch.MetricOptions) {
    const defaults = { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) };
    return new cloudwatch.Metric({ namespace, metricName, ...defaults, ...props, dimensionsMap }).attachTo(this.scope);
  }

  private requireFunctionName(): string {
    if (this.functionName === undefined) {
      throw propError(this.scope, 'functionName', '(not set)', 'is needed for the router function\'s Lambda metrics', 'pass functionName to the RouterMetricFactory (the router\'s handler.functionName)');
    }
    return this.functionName;
  }
}
