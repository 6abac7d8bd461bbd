import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EU_ENV, newStack, routerIn } from './helpers';
import { GatewayRegion, IRouterMetrics, MetricErrorClass, MetricRegion, RejectionReason, RouterAlarms, RouterDashboard, RouterMetricFactory } from '../../src';

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
    ['metricUpstreamLatency', 'UpstreamLatency', 'p99'],
    ['metricTimeToFirstToken', 'TimeToFirstToken', 'p99'],
    ['metricInputTokens', 'InputTokens', 'Sum'],
    ['metricOutputTokens', 'OutputTokens', 'Sum'],
    ['metricColdStarts', 'ColdStart', 'Sum'],
    ['metricClientAborted', 'ClientAborted', 'Sum'],
    ['metricRouterErrors', 'RouterErrors', 'Sum'],
  ] as const)('%s reads %s in the router\'s namespace, for all of its traffic; metricRegion narrows it', (method, name, statistic) => {
    const m = us[method]();
    expect(m.metricName).toBe(name);
    expect(m.namespace).toBe('Platform/Llm');
    expect(m.statistic).toBe(statistic);
    // A global router's default reads the router-wide set: us and global traffic together.
    expect(dims(m)).toEqual({ service: us.routerName });
    expect(us[method]({ metricRegion: MetricRegion.GLOBAL }).dimensions).toEqual({ service: us.routerName, Region: 'global' });
    expect(us[method]({ metricRegion: MetricRegion.US }).dimensions).toEqual({ service: us.routerName, Region: 'us' });
    expect(eu[method]().dimensions).toEqual({ service: eu.routerName });
    expect(eu[method]().namespace).toBe('LlmGatewayRouter');
  });

  test('a model selects the per-model dimension set, with the provider from the catalog', () => {
    const m = us.metricOutputTokens({ model: 'claude-opus-4-7', period: Duration.minutes(1), statistic: 'Average' });
    expect(m.dimensions).toEqual({ service: us.routerName, Provider: 'anthropic', Model: 'claude-opus-4-7' });
    expect(m.period.toMinutes()).toBe(1);
    expect(m.statistic).toBe('Average');
    expect(us.metricRejected({ reason: RejectionReason.RESIDENCY }).dimensions).toEqual({ service: us.routerName, Reason: 'residency' });
    expect(us.metricUpstreamErrors({ errorClass: MetricErrorClass.TIMEOUT }).dimensions).toEqual({ service: us.routerName, ErrorClass: 'timeout' });
    expect(us.metricRouterErrors({ errorClass: MetricErrorClass.SECRET_UNAVAILABLE }).dimensions).toEqual({ service: us.routerName, ErrorClass: 'secret_unavailable' });
  });

  test('the stage and function metrics are the ones API Gateway and Lambda publish for this router', () => {
    const config = (m: cloudwatch.IMetric) => stack.resolve(m.toMetricConfig());
    // CDK's stage metric names the stage by reference; ours by its name, which that stage resource has.
    const cdk = config(us.restApi.deploymentStage.metricServerError());
    const stageRef = cdk.metricStat.dimensions.find((d: any) => d.name === 'Stage').value.Ref;
    const stageName = Template.fromStack(stack).toJSON().Resources[stageRef].Properties.StageName;
    expect(stageName).toBe('prod');
    const withName = { ...cdk.metricStat, dimensions: cdk.metricStat.dimensions.map((d: any) => (d.name === 'Stage' ? { name: 'Stage', value: stageName } : d)) };
    expect(config(us.metricServerErrors())).toEqual({ ...cdk, metricStat: withName });
    expect(config(us.metricFunctionErrors())).toEqual(config(us.handler.metricErrors()));
    expect(config(us.metricFunctionThrottles())).toEqual(config(us.handler.metricThrottles()));
    expect(us.metricServerErrors().dimensions).toEqual({ ApiName: us.routerName, Stage: 'prod' });
  });

  test('a RouterMetricFactory knows the stage and, when told, the function', () => {
    const factory = new RouterMetricFactory(stack, { namespace: 'Platform/Llm', routerName: us.routerName, stageName: 'prod', functionName: 'platform-us-fn' });
    expect(stack.resolve(factory.metricServerErrors().toMetricConfig())).toEqual(stack.resolve(us.metricServerErrors().toMetricConfig()));
    expect(factory.metricFunctionThrottles().dimensions).toEqual({ FunctionName: 'platform-us-fn' });
    const nameOnly = new RouterMetricFactory(stack, { namespace: 'Platform/Llm', routerName: 'elsewhere' });
    expect(nameOnly.metricServerErrors().dimensions).toEqual({ ApiName: 'elsewhere', Stage: 'prod' });
    expect(() => nameOnly.metricFunctionErrors()).toThrow(/functionName: \(not set\) is needed for the router function's Lambda metrics\. Fix: pass functionName/);
  });

  test('dimensions the handler never writes together are refused with the fix', () => {
    expect(() => us.metricRequests({ model: 'gpt-5', metricRegion: MetricRegion.US })).toThrow(/metric options: .* combine dimensions the handler does not write together\. Fix: pass only one of/);
  });

  test('a RouterMetricFactory built from the router\'s identity reads the same metrics as the router', () => {
    const factory = new RouterMetricFactory(stack, { namespace: 'Platform/Llm', routerName: us.routerName, globalRouting: true });
    expect(stack.resolve(factory.metricRequests().toMetricConfig())).toEqual(stack.resolve(us.metricRequests().toMetricConfig()));
    expect(factory.metricRegions).toEqual(us.metricRegions);
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
  test('addAlarms creates error-rate, p99-latency, rejection, router-error, stage-5xx, function error and throttle alarms that notify a topic', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us', { globalRouting: true });
    const topic = new sns.Topic(stack, 'OnCall');
    const alarms = router.addAlarms('Alarms', { topic, upstreamErrorRatePercent: 10, latencyP99Threshold: Duration.seconds(30) });
    expect(alarms.alarms).toHaveLength(10);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
    const all = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    for (const alarm of all) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: Match.stringLikeRegexp('OnCall') }].map(() => expect.objectContaining({ Ref: expect.stringMatching(/^OnCall/) })));
      expect(alarm.Properties.OKActions).toHaveLength(1);
    }
    const errorRate = all.find((a) => a.Properties.Threshold === 10);
    const expression = errorRate.Properties.Metrics.find((m: any) => m.Expression).Expression;
    expect(expression).toBe('100 * errors / requests');
    // A global router: every alarm reads the router-wide set, so the global share is watched too.
    const dimensionsUsed = errorRate.Properties.Metrics.filter((m: any) => m.MetricStat)
      .map((m: any) => m.MetricStat.Metric.Dimensions.map((d: any) => d.Name));
    expect(dimensionsUsed).toEqual([['service'], ['service']]);
    const latency = all.find((a) => a.Properties.Threshold === 30_000);
    expect(latency.Properties).toMatchObject({ MetricName: 'Latency', ExtendedStatistic: 'p99', Dimensions: [{ Name: 'service', Value: router.routerName }] });
    const rejections = all.find((a) => a.Properties.Threshold === 100);
    expect(rejections.Properties).toMatchObject({ MetricName: 'Rejected', Statistic: 'Sum', Dimensions: [{ Name: 'service', Value: router.routerName }] });
  });

  test('the router\'s own errors, the function\'s errors and throttles alarm on the first one; the stage\'s 5xx share above 5%', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us', { routerName: 'platform-us', stageName: 'v1' });
    router.addAlarms('Alarms');
    const all = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
    const byMetric = (namespace: string, name: string) => all.filter((a) => a.Properties.Namespace === namespace && a.Properties.MetricName === name);
    const once = { Threshold: 0, EvaluationPeriods: 1, Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' };
    expect(byMetric('LlmGatewayRouter', 'RouterErrors')).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ ...once, Dimensions: [{ Name: 'service', Value: 'platform-us' }] }) })]);
    const fnRef = { Name: 'FunctionName', Value: { Ref: stack.getLogicalId(router.handler.node.defaultChild as any) } };
    expect(byMetric('AWS/Lambda', 'Errors')).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ ...once, Dimensions: [fnRef] }) })]);
    expect(byMetric('AWS/Lambda', 'Throttles')).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ ...once, Dimensions: [fnRef] }) })]);
    const serverErrors = all.filter((a) => a.Properties.Metrics?.some((m: any) => m.MetricStat?.Metric.MetricName === '5XXError'));
    expect(serverErrors).toHaveLength(1);
    const props = serverErrors[0].Properties;
    expect(props).toMatchObject({ Threshold: 5, EvaluationPeriods: 2 });
    expect(props.Metrics.find((m: any) => m.Expression).Expression).toBe('100 * serverErrors');
    const stat = props.Metrics.find((m: any) => m.MetricStat).MetricStat;
    expect(stat).toMatchObject({ Stat: 'Average', Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5XXError' } });
    expect(stat.Metric.Dimensions).toEqual(expect.arrayContaining([{ Name: 'ApiName', Value: 'platform-us' }, { Name: 'Stage', Value: 'v1' }]));
  });

  test('failed tenant settlements and tenant store errors alarm on the first one, on the metrics the handler writes', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us', { routerName: 'platform-us' });
    const alarms = router.addAlarms('Alarms', { tenantStoreErrorsThreshold: 2 });
    const all = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
    const once = { EvaluationPeriods: 1, Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' };
    const dimensions = [{ Name: 'service', Value: 'platform-us' }];
    expect(all.filter((a) => a.Properties.MetricName === 'SettlementFailures').map((a) => a.Properties))
      .toEqual([expect.objectContaining({ ...once, Threshold: 0, Namespace: 'LlmGatewayRouter', Dimensions: dimensions })]);
    expect(all.filter((a) => a.Properties.MetricName === 'TenantStoreErrors').map((a) => a.Properties))
      .toEqual([expect.objectContaining({ ...once, Threshold: 2, Namespace: 'LlmGatewayRouter', Dimensions: dimensions })]);
    expect(alarms.alarms).toEqual(expect.arrayContaining([alarms.settlementFailures, alarms.tenantStoreErrors]));
  });

  test('thresholds are configurable and checked; a router known only by name gets no function alarms', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us');
    const alarms = router.addAlarms('Alarms', { routerErrorsThreshold: 3, throttlesThreshold: 10, serverErrorRatePercent: 2 });
    expect(alarms.routerErrors.node.defaultChild).toBeDefined();
    const resolved = (a: cloudwatch.Alarm) => (a.node.defaultChild as cloudwatch.CfnAlarm).threshold;
    const thresholds = [alarms.routerErrors, alarms.functionThrottles!, alarms.functionErrors!, alarms.serverErrorRate].map(resolved);
    expect(thresholds).toEqual([3, 10, 0, 2]);
    expect(() => router.addAlarms('Bad', { routerErrorsThreshold: -1 })).toThrow(/routerErrorsThreshold: -1 is not a whole number.*Fix/);
    expect(() => router.addAlarms('Bad2', { serverErrorRatePercent: 150 })).toThrow(/serverErrorRatePercent: 150 is not a percentage.*Fix/);

    const remote = new RouterAlarms(stack, 'Remote', { router: new RouterMetricFactory(stack, { namespace: 'LlmGatewayRouter', routerName: 'elsewhere' }) });
    expect(remote.functionErrors).toBeUndefined();
    expect(remote.functionThrottles).toBeUndefined();
    expect(remote.alarms).toHaveLength(8);
  });

  test('alarms without a topic have no actions; a bad percentage is refused', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us');
    router.addAlarms('Alarms');
    const all = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(all).toHaveLength(10);
    expect(all.every((a) => a.Properties.AlarmActions === undefined)).toBe(true);
    const { stack: s2, secret: k2 } = newStack();
    expect(() => routerIn(s2, k2, 'X').addAlarms('Alarms', { upstreamErrorRatePercent: 0 })).toThrow(/upstreamErrorRatePercent: 0 .*Fix/);
  });

  test('addAlarms(id, options) can be called twice: a second, stricter set beside the first', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Us');
    const standard = router.addAlarms('Alarms');
    const strict = router.addAlarms('StrictAlarms', { upstreamErrorRatePercent: 1 });
    expect(standard.node.path).not.toBe(strict.node.path);
    const thresholds = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map((a: any) => a.Properties.Threshold);
    expect(thresholds).toHaveLength(20);
    expect(thresholds).toEqual(expect.arrayContaining([5, 1]));
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
    for (const title of ['Requests by region', 'Rejected by reason', 'Upstream errors by class', 'Router errors by class', 'Latency p50 / p99 (ms)', 'Time to first token p50 / p99 (ms)', 'Tokens by region']) {
      expect(body.split(title).length - 1).toBe(2);
    }
    expect(body).toContain(us.routerName);
    expect(body).toContain(eu.routerName);
    expect(body).toContain('\\"global\\"');
    expect(body).toContain('model_not_allowed');
    for (const errorClass of ['secret_unavailable', 'misconfigured', 'internal']) expect(body).toContain(`"RouterErrors","ErrorClass","${errorClass}","service","${us.routerName}"`.replace(/"/g, '\\"'));
    expect(body).toContain('p99');
  });
});

test('the old addAlarms(options) call fails at synth saying what to call now', () => {
  const { stack, secret } = newStack();
  const router = routerIn(stack, secret, 'Us');
  const topic = new sns.Topic(stack, 'OnCall');
  expect(() => (router as any).addAlarms({ topic })).toThrow("addAlarms: addAlarms(options) is the old signature: alarms now take a construct id first, so a router can have several sets. Fix: call router.addAlarms('Alarms', options)");
});

test('an IRouterMetrics of the user\'s own (identity and metric() only) gets alarms and a dashboard row', () => {
  const { stack } = newStack();
  const own: IRouterMetrics = {
    routerName: 'elsewhere',
    region: GatewayRegion.EU,
    globalRouting: false,
    metricRegions: [MetricRegion.EU],
    stageName: 'v2',
    metricsNamespace: 'TeamNamespace',
    metric: (metricName, props) => new RouterMetricFactory(stack, { namespace: 'TeamNamespace', routerName: 'elsewhere', region: GatewayRegion.EU }).metric(metricName, props),
  };
  const alarms = new RouterAlarms(stack, 'OwnAlarms', { router: own });
  new RouterDashboard(stack, 'OwnDashboard', { routers: [own] });
  const all = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
  expect(all).toHaveLength(alarms.alarms.length);
  const latency = all.find((a) => a.Properties.MetricName === 'Latency');
  expect(latency.Properties).toMatchObject({ Namespace: 'TeamNamespace', Dimensions: [{ Name: 'service', Value: 'elsewhere' }] });
  const stage = all.find((a) => a.Properties.Metrics?.some((m: any) => m.MetricStat?.Metric.MetricName === '5XXError'));
  expect(JSON.stringify(stage.Properties.Metrics)).toContain('"Value":"v2"');
});
