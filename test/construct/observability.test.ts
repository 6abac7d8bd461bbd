import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EU_ENV, newStack, routerIn } from './helpers';
import { GatewayRegion, MetricRegion, RouterDashboard } from '../../src';

describe('metric helpers', () => {
  const { stack, secret } = newStack({ env: EU_ENV });
  const us = routerIn(stack, secret, 'Us', { globalRouting: true, metricsNamespace: 'Platform/Llm' });
  const eu = routerIn(stack, secret, 'Eu', { region: GatewayRegion.EU });

  const dims = (m: cloudwatch.Metric) => m.dimensions;

  test.each([
    ['metricRequests', 'Requests', 'Sum'],
    ['metricRejected', 'Rejected', 'Sum'],
    ['metricUpstreamErrors', 'UpstreamErrors', 'Sum'],
    ['metricLatency', 'Latency', 'p99'],
    ['metricTimeToFirstToken', 'TimeToFirstToken', 'p99'],
    ['metricInputTokens', 'InputTokens', 'Sum'],
    ['metricOutputTokens', 'OutputTokens', 'Sum'],
  ] as const)('%s reads %s in the router\'s namespace, service and region', (method, name, statistic) => {
    const m = us[method]();
    expect(m.metricName).toBe(name);
    expect(m.namespace).toBe('Platform/Llm');
    expect(m.statistic).toBe(statistic);
    expect(dims(m)).toEqual({ service: us.routerName, Region: 'us' });
    expect(eu[method]().dimensions).toEqual({ service: eu.routerName, Region: 'eu' });
    expect(eu[method]().namespace).toBe('LlmGatewayRouter');
  });

  test('a region and a model select the per-model dimension set, with the provider from the catalog', () => {
    const m = us.metricOutputTokens({ metricRegion: MetricRegion.GLOBAL, model: 'claude-opus-4-7', period: Duration.minutes(1), statistic: 'Average' });
    expect(m.dimensions).toEqual({ service: us.routerName, Region: 'global', Provider: 'anthropic', Model: 'claude-opus-4-7' });
    expect(m.period.toMinutes()).toBe(1);
    expect(m.statistic).toBe('Average');
  });

  test('a model of no known provider is an error naming the fix', () => {
    expect(() => us.metric('Requests', { model: 'llama' })).toThrow(/model: "llama" matches no known provider.*Fix: use one of the router's allowedModels/);
  });

  test('metricRegions lists what each router can emit', () => {
    expect(us.metricRegions).toEqual([MetricRegion.US, MetricRegion.GLOBAL]);
    expect(eu.metricRegions).toEqual([MetricRegion.EU]);
  });
});

describe('alarms', () => {
  test('addAlarms creates error-rate, p99-latency and rejection alarms that notify a topic', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us', { globalRouting: true });
    const topic = new sns.Topic(stack, 'OnCall');
    const alarms = router.addAlarms({ topic, upstreamErrorRatePercent: 10, latencyP99Threshold: Duration.seconds(30) });
    expect(alarms.alarms).toHaveLength(3);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    const all = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    for (const alarm of all) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: Match.stringLikeRegexp('OnCall') }].map(() => expect.objectContaining({ Ref: expect.stringMatching(/^OnCall/) })));
      expect(alarm.Properties.OKActions).toHaveLength(1);
    }
    const errorRate = all.find((a) => a.Properties.Threshold === 10);
    const expression = errorRate.Properties.Metrics.find((m: any) => m.Expression).Expression;
    expect(expression).toBe('100 * (e0 + e1) / (r0 + r1)');
    const regionsUsed = errorRate.Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'Region').Value);
    expect(regionsUsed.sort()).toEqual(['global', 'global', 'us', 'us']);
    expect(all.some((a) => a.Properties.Threshold === 30_000)).toBe(true);
    expect(all.some((a) => a.Properties.Threshold === 100)).toBe(true);
  });

  test('alarms without a topic have no actions; a bad percentage is refused', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us');
    router.addAlarms();
    const all = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(all).toHaveLength(3);
    expect(all.every((a) => a.Properties.AlarmActions === undefined)).toBe(true);
    const { stack: s2, secret: k2 } = newStack();
    expect(() => routerIn(s2, k2, 'X').addAlarms({ upstreamErrorRatePercent: 0 })).toThrow(/upstreamErrorRatePercent: 0 .*Fix/);
  });
});

describe('dashboard', () => {
  test('one dashboard for a US (global routing) and an EU router shows each region separately', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const us = routerIn(stack, secret, 'Us', { globalRouting: true });
    const eu = routerIn(stack, secret, 'Eu', { region: GatewayRegion.EU });
    new RouterDashboard(stack, 'Dash', { routers: [us, eu], dashboardName: 'llm-routers' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const dash = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as any;
    expect(dash.Properties.DashboardName).toBe('llm-routers');
    const body = JSON.stringify(stack.resolve(dash.Properties.DashboardBody));
    for (const title of ['Requests by region', 'Rejected by reason', 'Upstream errors by class', 'Latency p50 / p99 (ms)', 'Time to first token p50 / p99 (ms)', 'Tokens by region']) {
      expect(body.split(title).length - 1).toBe(2);
    }
    expect(body).toContain(us.routerName);
    expect(body).toContain(eu.routerName);
    expect(body).toContain('\\"global\\"');
    expect(body).toContain('model_not_allowed');
    expect(body).toContain('p99');
  });
});
