import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MetricRegion } from './region';
import { IRouterMetrics } from './router-metrics';
import type { RouterTenant } from './tenant';
import { tenantSpendWidgets } from './tenant-dashboard';
import { METRIC, REJECT_REASONS, UPSTREAM_ERROR_CLASSES } from '../catalog/metrics-schema';

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
 * Alarms on one router's handler metrics. Create with `router.addAlarms()`.
 */
export class RouterAlarms extends Construct {
  /** Upstream errors as a percentage of requests. */
  public readonly upstreamErrorRate: cloudwatch.Alarm;
  /** p99 latency. */
  public readonly latencyP99: cloudwatch.Alarm;
  /** A spike of rejections. */
  public readonly rejections: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RouterAlarmsProps) {
    super(scope, id);
    const { router } = props;
    const period = props.period ?? Duration.minutes(5);
    const evaluationPeriods = props.evaluationPeriods ?? 2;
    const errorRate = props.upstreamErrorRatePercent ?? 5;
    if (errorRate <= 0 || errorRate > 100) {
      throw new Error(`${this.node.path}: upstreamErrorRatePercent: ${errorRate} is not a percentage in (0, 100]. Fix: pass a value such as 5.`);
    }
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

    if (props.topic) {
      const action = new actions.SnsAction(props.topic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** All three alarms. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.upstreamErrorRate, this.latencyP99, this.rejections];
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
 * rejections by reason, upstream errors by class, p50/p99 latency and time
 * to first token, and tokens.
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
  public addRouter(router: IRouterMetrics): void {
    const period = this.period;
    const perRegion = (metricName: string, statistic: string, label: (r: MetricRegion) => string) =>
      router.metricRegions.map((metricRegion) => router.metric(metricName, { metricRegion, statistic, period, label: label(metricRegion) }));
    const sum = cloudwatch.Stats.SUM;
    const rejectedBy = REJECT_REASONS.map((reason) => router.metricRejected({ reason, statistic: sum, period, label: reason }));
    const failedBy = UPSTREAM_ERROR_CLASSES.map((errorClass) =>
      router.metricUpstreamErrors({ errorClass, statistic: sum, period, label: errorClass }));

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
  }

  /** Adds a row of per-tenant spend graphs (daily spend and its running sum against each tenant's monthly budget). */
  public addTenants(tenants: RouterTenant[]): void {
    this.dashboard.addWidgets(...tenantSpendWidgets(tenants));
  }
}
