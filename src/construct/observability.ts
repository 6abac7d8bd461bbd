import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MetricRegion } from './region';
import { IRouterMetrics, MetricErrorClass, RejectionReason, RouterMetricFactory } from './router-metrics';
import type { RouterTenant } from './tenants/tenant';
import { tenantSpendWidgets } from './tenants/tenant-dashboard';
import { METRIC, REJECT_REASONS, ROUTER_ERROR_CLASSES, UPSTREAM_ERROR_CLASSES } from '../contract/metrics-schema';

/**
 * Options for a router's alarms.
 */
export interface RouterAlarmOptions {
  /**
   * Where alarms (and their recovery) are sent.
   * @default - no notification
   */
  readonly topic?: sns.ITopic;

  /**
   * Upstream errors as a percentage of requests, across the router's regions.
   * @default 5
   */
  readonly upstreamErrorRatePercent?: number;

  /**
   * p99 of the handler's end-to-end latency (a full answer, or a whole stream).
   * @default Duration.seconds(60)
   */
  readonly latencyP99Threshold?: Duration;

  /**
   * Rejected requests in one period that count as a spike (a misconfigured
   * client, or someone probing the allow-list).
   * @default 100
   */
  readonly rejectionsThreshold?: number;

  /**
   * Requests the router itself failed (unreadable key, misconfiguration,
   * internal error) in one period above which the alarm fires. These never
   * happen in a healthy router, and one cause usually fails every request.
   * @default 0
   */
  readonly routerErrorsThreshold?: number;

  /**
   * Tenant settlements that failed after their retries, in one period,
   * above which the alarm fires: each leaves a reservation that is later
   * charged at its worst case, so spend reads high until the store is back.
   * @default 0
   */
  readonly settlementFailuresThreshold?: number;

  /**
   * Failed calls to the tenant store (admissions and settlements) in one
   * period above which the alarm fires: the log's `tenant_store_error_name`
   * tells an IAM mistake (`AccessDeniedException`) from an outage.
   * @default 0
   */
  readonly tenantStoreErrorsThreshold?: number;

  /**
   * Guardrail checks that failed (errors, throttles, timeouts) in one
   * period above which the alarm fires: each answered 503 when the
   * guardrail fails closed, or went unchecked when it fails open. The log's
   * `guardrail_error_name` tells a missing permission from a throttle.
   * @default 0
   */
  readonly guardrailErrorsThreshold?: number;

  /**
   * 5xx answers from the stage as a percentage of its requests (router
   * faults, upstream failures and API Gateway's own errors).
   * @default 5
   */
  readonly serverErrorRatePercent?: number;

  /**
   * Failed invocations of the router function (crashes, timeouts) in one
   * period above which the alarm fires. Needs the function's name.
   * @default 0
   */
  readonly functionErrorsThreshold?: number;

  /**
   * Throttled invocations of the router function in one period above which
   * the alarm fires (callers then get 5xx from API Gateway). Needs the
   * function's name.
   * @default 0
   */
  readonly throttlesThreshold?: number;

  /**
   * The period of each evaluation.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;

  /**
   * Consecutive breaching periods before an alarm fires.
   * @default 2
   */
  readonly evaluationPeriods?: number;
}

/**
 * Properties of `RouterAlarms`.
 */
export interface RouterAlarmsProps extends RouterAlarmOptions {
  /** The router to watch (an `LlmGatewayRouter`, or a `RouterMetricFactory` for one defined elsewhere). */
  readonly router: IRouterMetrics;
}

/**
 * Alarms on one router: its handler metrics, its stage's 5xx rate and, when
 * the function's name is known, the function's errors and throttles. Create
 * with `router.addAlarms()`.
 */
export class RouterAlarms extends Construct {
  /** Upstream errors as a percentage of requests. */
  public readonly upstreamErrorRate: cloudwatch.Alarm;
  /** p99 latency. */
  public readonly latencyP99: cloudwatch.Alarm;
  /** A spike of rejections. */
  public readonly rejections: cloudwatch.Alarm;
  /** The router's own failures (`RouterErrors`). */
  public readonly routerErrors: cloudwatch.Alarm;
  /** The stage's 5xx answers as a percentage of its requests. */
  public readonly serverErrorRate: cloudwatch.Alarm;
  /** Tenant settlements that failed (`SettlementFailures`); never fires on a router without tenants. */
  public readonly settlementFailures: cloudwatch.Alarm;
  /** Failed calls to the tenant store (`TenantStoreErrors`); never fires on a router without tenants. */
  public readonly tenantStoreErrors: cloudwatch.Alarm;
  /** Failed guardrail checks (`GuardrailErrors`); never fires on a router without guardrails. */
  public readonly guardrailErrors: cloudwatch.Alarm;
  /** Failed invocations of the function; absent when the router does not know its function's name. */
  public readonly functionErrors?: cloudwatch.Alarm;
  /** Throttled invocations of the function; absent when the router does not know its function's name. */
  public readonly functionThrottles?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RouterAlarmsProps) {
    super(scope, id);
    const router = RouterMetricFactory.of(this, props.router);
    const period = props.period ?? Duration.minutes(5);
    const evaluationPeriods = props.evaluationPeriods ?? 2;
    const errorRate = this.percentage('upstreamErrorRatePercent', props.upstreamErrorRatePercent ?? 5);
    const serverErrorRate = this.percentage('serverErrorRatePercent', props.serverErrorRatePercent ?? 5);
    // The router's all-regions metrics: a global router's us and global traffic together.
    const sum = { statistic: cloudwatch.Stats.SUM, period };
    this.upstreamErrorRate = new cloudwatch.MathExpression({
      expression: '100 * errors / requests',
      usingMetrics: { errors: router.metricUpstreamErrors(sum), requests: router.metricRequests(sum) },
      period,
      label: 'Upstream error rate (%)',
    }).createAlarm(this, 'UpstreamErrorRate', {
      alarmDescription: `${router.routerName}: more than ${errorRate}% of requests failed upstream`,
      threshold: errorRate,
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const latencyThreshold = props.latencyP99Threshold ?? Duration.seconds(60);
    this.latencyP99 = router.metricLatency({ statistic: cloudwatch.Stats.p(99), period }).createAlarm(this, 'LatencyP99', {
      alarmDescription: `${router.routerName}: p99 latency above ${latencyThreshold.toHumanString()}`,
      threshold: latencyThreshold.toMilliseconds(),
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const rejectionsThreshold = props.rejectionsThreshold ?? 100;
    this.rejections = router.metricRejected(sum).createAlarm(this, 'Rejections', {
      alarmDescription: `${router.routerName}: more than ${rejectionsThreshold} requests refused by policy in ${period.toHumanString()}`,
      threshold: rejectionsThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Faults that fail requests outright, whatever the traffic: one period is enough.
    const anyIn = (metric: cloudwatch.Metric, alarmId: string, prop: string, threshold: number | undefined, what: string) => {
      const limit = this.count(prop, threshold ?? 0);
      return metric.createAlarm(this, alarmId, {
        alarmDescription: `${router.routerName}: more than ${limit} ${what} in ${period.toHumanString()}`,
        threshold: limit,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    };
    this.routerErrors = anyIn(router.metricRouterErrors(sum), 'RouterErrors', 'routerErrorsThreshold', props.routerErrorsThreshold,
      'requests failed by the router itself (key, configuration or internal error; see the log\'s router_error)');
    this.settlementFailures = anyIn(router.metric(METRIC.SETTLEMENT_FAILURES, sum), 'SettlementFailures', 'settlementFailuresThreshold',
      props.settlementFailuresThreshold, 'tenant settlements that failed (their reservations are charged at the worst case when reclaimed)');
    this.tenantStoreErrors = anyIn(router.metric(METRIC.TENANT_STORE_ERRORS, sum), 'TenantStoreErrors', 'tenantStoreErrorsThreshold',
      props.tenantStoreErrorsThreshold, 'failed calls to the tenant store (see the log\'s tenant_store_error_name)');
    this.guardrailErrors = anyIn(router.metricGuardrailErrors(sum), 'GuardrailErrors', 'guardrailErrorsThreshold',
      props.guardrailErrorsThreshold, 'guardrail checks that failed: 503 guardrail_unavailable, or unchecked when failing open (see the log\'s guardrail_error_name)');
    if (router.functionName !== undefined) {
      this.functionErrors = anyIn(router.metricFunctionErrors(sum), 'FunctionErrors', 'functionErrorsThreshold', props.functionErrorsThreshold,
        'failed invocations of the router function');
      this.functionThrottles = anyIn(router.metricFunctionThrottles(sum), 'FunctionThrottles', 'throttlesThreshold', props.throttlesThreshold,
        'throttled invocations of the router function');
    }

    // API Gateway writes 5XXError as 0 or 1 per request: its average is the 5xx share.
    this.serverErrorRate = new cloudwatch.MathExpression({
      expression: '100 * serverErrors',
      usingMetrics: { serverErrors: router.metricServerErrors({ statistic: cloudwatch.Stats.AVERAGE, period }) },
      period,
      label: 'Stage 5xx rate (%)',
    }).createAlarm(this, 'ServerErrorRate', {
      alarmDescription: `${router.routerName}: more than ${serverErrorRate}% of the stage's answers were 5xx`,
      threshold: serverErrorRate,
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.topic) {
      const action = new actions.SnsAction(props.topic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** Every alarm of the set. */
  public get alarms(): cloudwatch.Alarm[] {
    const optional = [this.functionErrors, this.functionThrottles].filter((a): a is cloudwatch.Alarm => a !== undefined);
    return [
      this.upstreamErrorRate, this.latencyP99, this.rejections, this.routerErrors, this.serverErrorRate,
      this.settlementFailures, this.tenantStoreErrors, this.guardrailErrors, ...optional,
    ];
  }

  private percentage(prop: string, value: number): number {
    if (!(value > 0 && value <= 100)) {
      throw new Error(`${this.node.path}: ${prop}: ${value} is not a percentage in (0, 100]. Fix: pass a value such as 5.`);
    }
    return value;
  }

  private count(prop: string, value: number): number {
    if (!(Number.isInteger(value) && value >= 0)) {
      throw new Error(`${this.node.path}: ${prop}: ${value} is not a whole number of at least 0. Fix: pass a count such as 0 (alarm on the first one).`);
    }
    return value;
  }
}

/**
 * Properties of a `RouterDashboard`.
 */
export interface RouterDashboardProps {
  /**
   * Routers to show; more can be added with `addRouter`.
   * @default - none yet
   */
  readonly routers?: IRouterMetrics[];

  /**
   * The dashboard's name.
   * @default - generated by CloudFormation
   */
  readonly dashboardName?: string;

  /**
   * The period of every graph.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/**
 * A CloudWatch dashboard for one or several routers: per-region traffic,
 * rejections by reason, upstream errors by class, router errors by class,
 * p50/p99 latency and time to first token, and tokens.
 *
 * @example
 * declare const usRouter: LlmGatewayRouter;
 * declare const euRouter: LlmGatewayRouter;
 * new RouterDashboard(this, 'LlmDashboard', { routers: [usRouter, euRouter] });
 */
export class RouterDashboard extends Construct {
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: RouterDashboardProps = {}) {
    super(scope, id);
    this.period = props.period ?? Duration.minutes(5);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    for (const router of props.routers ?? []) this.addRouter(router);
  }

  /** Adds a row of graphs for one router. */
  public addRouter(routerToShow: IRouterMetrics): void {
    const router = RouterMetricFactory.of(this, routerToShow);
    const period = this.period;
    const perRegion = (metricName: string, statistic: string, label: (r: MetricRegion) => string) =>
      router.metricRegions.map((metricRegion) => router.metric(metricName, { metricRegion, statistic, period, label: label(metricRegion) }));
    const sum = cloudwatch.Stats.SUM;
    // The handler's own lists (contract/metrics-schema.ts): every value it can write is graphed.
    const rejectedBy = REJECT_REASONS.map((reason) =>
      router.metricRejected({ reason: reason as RejectionReason, statistic: sum, period, label: reason }));
    const failedBy = UPSTREAM_ERROR_CLASSES.map((errorClass) =>
      router.metricUpstreamErrors({ errorClass: errorClass as MetricErrorClass, statistic: sum, period, label: errorClass }));
    const routerFailedBy = ROUTER_ERROR_CLASSES.map((errorClass) =>
      router.metricRouterErrors({ errorClass: errorClass as MetricErrorClass, statistic: sum, period, label: errorClass }));

    this.dashboard.addWidgets(new cloudwatch.TextWidget({
      markdown: `### ${router.routerName} (${router.region}${router.globalRouting ? ', global routing' : ''})`,
      width: 24,
      height: 1,
    }));
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Requests by region', left: perRegion(METRIC.REQUESTS, sum, (r) => r), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Rejected by reason', left: rejectedBy, width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Upstream errors by class', left: failedBy, width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Latency p50 / p99 (ms)',
        left: [...perRegion(METRIC.LATENCY, cloudwatch.Stats.p(50), (r) => `${r} p50`), ...perRegion(METRIC.LATENCY, cloudwatch.Stats.p(99), (r) => `${r} p99`)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Time to first token p50 / p99 (ms)',
        left: [...perRegion(METRIC.TIME_TO_FIRST_TOKEN, cloudwatch.Stats.p(50), (r) => `${r} p50`), ...perRegion(METRIC.TIME_TO_FIRST_TOKEN, cloudwatch.Stats.p(99), (r) => `${r} p99`)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Tokens by region',
        left: perRegion(METRIC.INPUT_TOKENS, sum, (r) => `${r} input`),
        right: perRegion(METRIC.OUTPUT_TOKENS, sum, (r) => `${r} output`),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(new cloudwatch.GraphWidget({ title: 'Router errors by class', left: routerFailedBy, width: 8 }));
  }

  /** Adds a row of per-tenant spend graphs (daily spend and its running sum against each tenant's monthly budget). */
  public addTenants(tenants: RouterTenant[]): void {
    this.dashboard.addWidgets(...tenantSpendWidgets(tenants));
  }
}
