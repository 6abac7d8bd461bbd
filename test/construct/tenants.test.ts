import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { functionEnv, newStack, rendered, routerIn, shardsOf, warnings } from './helpers';
import { GatewayCatalog, RouterAuthorization, RouterDashboard, RouterTenant, TenantIdentity, TenantStoreFailureMode } from '../../src';

const MODELS = ['claude-sonnet-4-6', 'claude-haiku-4-5-20251001', 'gpt-5-mini'];

/** The tenants document of the router's only shard. */
function tenantsDoc(template: Template): any {
  const shards = shardsOf(template);
  expect(shards).toHaveLength(1);
  return shards[0].doc;
}

describe('a router without tenants', () => {
  test('synthesizes exactly as before: no table, no tenant variables, no DynamoDB permission, no Contributor Insights rule', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { allowedModels: MODELS });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::CloudWatch::InsightRule', 0);
    expect(Object.keys(functionEnv(template)).sort()).toEqual([
      'LLM_GATEWAY_ALLOWED_MODELS', 'LLM_GATEWAY_API_KEY_SECRET_ARN', 'LLM_GATEWAY_ENDPOINT', 'LLM_GATEWAY_GLOBAL_ROUTING',
      'LLM_GATEWAY_MAX_BODY_BYTES', 'LLM_GATEWAY_MODEL_RULES', 'LLM_GATEWAY_REGION', 'LLM_GATEWAY_TRANSCRIPT_ACCESS', 'LLM_GATEWAY_UPSTREAM_TIMEOUT_MS',
      'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME',
    ]);
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('dynamodb:');
  });
});

describe('a router with API-key tenants', () => {
  const { stack, secret } = newStack();
  const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey(), routerName: 'shared' });
  const search = router.addTenant('search', {
    identity: TenantIdentity.apiKey(),
    allowedModels: ['claude-haiku-4-5-20251001'],
    monthlyBudgetUsd: 200,
    dailyTokenLimit: 2_000_000,
    requestsPerMinutePerModel: 10,
  });
  const ownKey = new apigw.ApiKey(stack, 'AnalyticsKey');
  router.usagePlan!.addApiKey(ownKey);
  router.addTenant('analytics', { identity: TenantIdentity.apiKey(ownKey), monthlyBudgetUsd: 50 });
  router.addTenant('everyone-else', { defaultTenant: true, allowedModels: ['gpt-5-mini'], requestsPerMinutePerModel: 2 });
  const template = Template.fromStack(stack);

  test('one budget table: on demand, point-in-time recovery, encrypted, TTL on expires_at, retained like the logs', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      },
      DeletionPolicy: 'Retain',
    });
  });

  test('the function may GetItem, UpdateItem and BatchGetItem on that table, and nothing else in DynamoDB', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('RouterHandlerRole'));
    const statements = policies.flatMap(([, p]: [string, any]) => p.Properties.PolicyDocument.Statement);
    const dynamo = statements.filter((s: any) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo).toEqual([{
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'],
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RouterTenantsTable[0-9A-F]+$/), 'Arn'] },
    }]);
  });

  test('the tenants are written into the table at deploy time, keys by id; the environment carries only the shard\'s version and the table', () => {
    const env = functionEnv(template);
    expect(JSON.stringify(env.LLM_GATEWAY_TENANT_TABLE)).toMatch(/"Ref":"RouterTenantsTable/);
    expect(env.LLM_GATEWAY_TENANT_STORE_FAILURE).toBeUndefined();
    const [shard] = shardsOf(template);
    expect(shard.key).toBe('~tenants#0');
    expect(env.LLM_GATEWAY_TENANT_SHARDS).toBe(shard.version);
    expect(shard.version).toMatch(/^[0-9a-f]{12}$/);
    const doc = shard.doc;
    expect(doc.v).toBe(1);
    expect(doc.t).toHaveLength(3);
    expect(doc.t[0]).toEqual({ id: 'search', m: ['claude-haiku-4-5-20251001'], usd: 200, tok: 2_000_000, rpm: 10, ids: [{ k: 'key', v: expect.stringMatching(/^<\{'Ref':'RouterTenantKeysearch/) }] });
    expect(doc.t[1]).toEqual({ id: 'analytics', usd: 50, ids: [{ k: 'key', v: expect.stringMatching(/^<\{'Ref':'AnalyticsKey/) }] });
    expect(doc.t[2]).toEqual({ id: 'everyone-else', def: true, m: ['gpt-5-mini'], rpm: 2 });
    expect(JSON.stringify(env)).not.toContain('search');
  });

  test('the shard is written, rewritten and deleted through the table, by a custom resource allowed PutItem and DeleteItem on it only', () => {
    const [resource] = Object.values(template.findResources('Custom::LlmGatewayRouterTenants')) as any[];
    expect(JSON.parse(rendered(resource.Properties.Delete))).toMatchObject({ service: 'DynamoDB', action: 'DeleteItem', parameters: { Key: { pk: { S: '~tenants#0' } } } });
    const policy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('RouterTenantsShard0WriteCustomResourcePolicy'))![1] as any;
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{
      Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RouterTenantsTable/), 'Arn'] },
    }]);
  });

  test('a tenant without a key gets one issued into the router\'s usage plan', () => {
    expect(search.apiKey).toBeDefined();
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
  });

  test('Contributor Insights rules over the function\'s log group: top tenants by cost, by model, and rejections by reason', () => {
    const rules = Object.values(template.findResources('AWS::CloudWatch::InsightRule')).map((r: any) => r.Properties);
    expect(rules.map((r) => r.RuleName)).toEqual(['shared-tenants-by-cost', 'shared-tenant-models-by-cost', 'shared-tenant-rejections']);
    const body = JSON.stringify(rules[1].RuleBody);
    expect(body).toContain('\\"Keys\\":[\\"$.tenant\\",\\"$.model\\"]');
    expect(body).toContain('\\"ValueOf\\":\\"$.cost_usd\\"');
    expect(body).toContain('\\"AggregateOn\\":\\"Sum\\"');
    expect(body).toMatch(/"Ref":"RouterHandlerLogs/);
  });

  test('tenant metrics read the (service, Tenant) dimension set', () => {
    const metric = search.metricCostUsd();
    expect(metric.metricName).toBe('CostUsd');
    expect(metric.dimensions).toEqual({ service: 'shared', Tenant: 'search' });
    expect(router.metricRequests({ tenant: 'search' }).dimensions).toEqual({ service: 'shared', Tenant: 'search' });
    expect(() => router.metricRequests({ tenant: 'search', model: 'gpt-5-mini' })).toThrow(/pass only one of/);
  });
});

describe('IAM tenants', () => {
  test('a role (its assumed-role sessions) and a user are passed as ARNs to compare at run time', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, tenantStoreFailureMode: TenantStoreFailureMode.FAIL_OPEN });
    const role = new iam.Role(stack, 'MlRole', { assumedBy: new iam.AccountRootPrincipal() });
    const user = new iam.User(stack, 'FinBot');
    router.addTenant('ml', { identity: TenantIdentity.iamPrincipal(role), dailyTokenLimit: 1_000_000 });
    router.addTenant('finance', { identity: TenantIdentity.iamPrincipal(user), monthlyBudgetUsd: 10 });
    const template = Template.fromStack(stack);
    const doc = tenantsDoc(template);
    expect(doc.t[0].ids).toEqual([{ k: 'role', v: expect.stringMatching(/^<\{'Fn::GetAtt':\['MlRole[0-9A-F]+','Arn'\]\}>$/) }]);
    expect(doc.t[1].ids).toEqual([{ k: 'user', v: expect.stringMatching(/^<\{'Fn::GetAtt':\['FinBot[0-9A-F]+','Arn'\]\}>$/) }]);
    expect(functionEnv(template).LLM_GATEWAY_TENANT_STORE_FAILURE).toBe('open');
  });
});

describe('synth-time errors name the prop, the value and the fix', () => {
  function setup(props: Parameters<typeof routerIn>[3] = {}) {
    const { stack, secret } = newStack();
    return { stack, router: routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey(), ...props }) };
  }

  test('an identity that does not fit the router\'s authorization', () => {
    const { stack, router } = setup();
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => router.addTenant('ml', { identity: TenantIdentity.iamPrincipal(role) }))
      .toThrow('Platform/Router/Tenant-ml: identity: an IAM identity does not fit the router\'s API_KEY authorization, so no caller could ever match it. Fix: use the TenantIdentity factory for API_KEY');
    expect(() => router.addTenant('sup', { identity: TenantIdentity.cognitoClaim('custom:team', 'support') })).toThrow(/a COGNITO identity does not fit/);
  });

  test('two tenants with one identity', () => {
    const { stack, router } = setup();
    const key = new apigw.ApiKey(stack, 'Shared');
    router.addTenant('a', { identity: TenantIdentity.apiKey(key) });
    expect(() => router.addTenant('b', { identity: TenantIdentity.apiKey(key) })).toThrow(/identity: API key already identifies tenant a; one caller cannot belong to two tenants/);
    const { router: custom } = setup({ authorization: RouterAuthorization.custom({ authorizerId: 'x', authorizationType: apigw.AuthorizationType.CUSTOM } as any) });
    custom.addTenant('p1', { identity: TenantIdentity.authorizerPrincipal('partner-7') });
    expect(() => custom.addTenant('p2', { identity: TenantIdentity.authorizerPrincipal('partner-7') })).toThrow(/already identifies tenant p1/);
  });

  test('a key bound to the stage (router.addApiKey) would make a dependency cycle', () => {
    const { router } = setup();
    expect(() => router.addTenant('a', { identity: TenantIdentity.apiKey(router.addApiKey('Bound')) }))
      .toThrow(/is bound to an API stage .* \(a dependency cycle\)\. Fix: omit the key/);
  });

  test('a model outside the router\'s allow-list, with a suggestion', () => {
    const { router } = setup();
    expect(() => router.addTenant('a', { identity: TenantIdentity.apiKey(), allowedModels: ['claude-sonet-4-6'] }))
      .toThrow('Platform/Router/Tenant-a: allowedModels: "claude-sonet-4-6" is not in the router\'s allowedModels; a tenant\'s list is a subset of its router\'s. Fix: did you mean "claude-sonnet-4-6"?');
    expect(() => router.addTenant('b', { identity: TenantIdentity.apiKey(), allowedModels: ['gemini-2.5-pro'] }))
      .toThrow(/Fix: choose from claude-sonnet-4-6, claude-haiku-4-5-20251001, gpt-5-mini, or add it to the router's allowedModels/);
  });

  test('the router\'s catalog (GatewayCatalog) explains an id: a model it has retired points to the live one the router allows', () => {
    const { stack, secret } = newStack();
    // A user catalog in which gpt-5.1 is retired (test/contract/fixtures); the bundled catalog lists it live.
    const expected = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'contract', 'fixtures', 'catalog.expected.json'), 'utf8'));
    const catalog = GatewayCatalog.fromJson(JSON.stringify({ schema: 1, source: 'test fixture', generatedAt: '2026-10-20T12:00:00.000Z', pricesNote: 'test', ...expected }));
    const router = routerIn(stack, secret, 'Router', { allowedModels: ['gpt-5.5', 'claude-opus-4-7'], catalog, authorization: RouterAuthorization.apiKey() });
    expect(() => router.addTenant('a', { identity: TenantIdentity.apiKey(), allowedModels: ['gpt-5.1'] }))
      .toThrow('allowedModels: "gpt-5.1" is not in the router\'s allowedModels; a tenant\'s list is a subset of its router\'s, and it is retired (catalog of 2026-10-20T12:00:00.000Z). Fix: use "gpt-5.5"');
  });

  test('transcript access wider than the router\'s; a missing identity; a second default; a bad limit; a bad id', () => {
    const { router } = setup();
    expect(() => router.addTenant('a', { identity: TenantIdentity.apiKey(), transcriptAccess: true })).toThrow(/transcriptAccess: true is wider than the router's/);
    expect(() => router.addTenant('b', {})).toThrow(/identity: \(none\) is required unless the tenant is the default tenant/);
    router.addTenant('d1', { defaultTenant: true });
    expect(() => router.addTenant('d2', { defaultTenant: true })).toThrow(/defaultTenant: true but tenant d1 is already the default tenant/);
    expect(() => router.addTenant('c', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: -5 })).toThrow(/monthlyBudgetUsd: -5 is not a positive number/);
    expect(() => router.addTenant('e', { identity: TenantIdentity.apiKey(), dailyTokenLimit: 10.5 })).toThrow(/dailyTokenLimit: 10.5 is not a whole number/);
    expect(() => router.addTenant('team a', { identity: TenantIdentity.apiKey() })).toThrow(/tenant id: "team a" is not 1-64 letters/);
  });

});

describe('the dashboard', () => {
  test('shows each tenant\'s month-to-date spend against its monthly budget, and its daily spend', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey(), routerName: 'shared' });
    const search = router.addTenant('search', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 200 });
    const dashboard = new RouterDashboard(stack, 'Dash', { routers: [router] });
    dashboard.addTenants([search]);
    const body = JSON.stringify(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard')).replace(/\\/g, '');
    expect(body).toContain('Tenant search: spend vs budget');
    expect(body).toContain('"TenantMonthToDateUsd","Tenant","search","service","shared",{"label":"month to date (USD)","period":3600,"stat":"Maximum"}');
    expect(body).toContain('"CostUsd","Tenant","search","service","shared",{"label":"spend per day (USD)","period":86400,"stat":"Sum","yAxis":"right"}');
    expect(body).toContain('"value":200,"label":"monthly budget 200 USD"');
  });
});

describe('a tenant\'s budget alarm', () => {
  test('fires at a share of the monthly budget, on the month-to-date percentage the handler publishes', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey(), routerName: 'shared' });
    const search = router.addTenant('search', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 200 });
    const topic = new sns.Topic(stack, 'Team');
    search.addBudgetAlarm('Budget80', { percent: 80, topic });
    const [alarm] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(alarm.Properties).toMatchObject({
      MetricName: 'TenantBudgetUsedPercent',
      Namespace: 'LlmGatewayRouter',
      Statistic: 'Maximum',
      Threshold: 80,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
      Dimensions: [{ Name: 'Tenant', Value: 'search' }, { Name: 'service', Value: 'shared' }],
      AlarmDescription: 'Tenant search has spent 80% of its monthly budget of 200 USD',
    });
    expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Team/) }]);
  });

  test('needs a budget and a percentage', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    const unbudgeted = router.addTenant('a', { identity: TenantIdentity.apiKey() });
    expect(() => unbudgeted.addBudgetAlarm('B', { percent: 80 })).toThrow('Platform/Router/Tenant-a: monthlyBudgetUsd: (none) is needed for a budget alarm');
    const budgeted = router.addTenant('b', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 5 });
    expect(() => budgeted.addBudgetAlarm('B', { percent: 120 })).toThrow('Platform/Router/Tenant-b: percent: 120 is not a percentage in (0, 100]. Fix: pass a value such as 80');
  });
});

describe('USD budgets on the bundled catalog\'s illustrative prices', () => {
  const budgetWarnings = (stack: import('aws-cdk-lib').Stack) => warnings(stack).filter((w) => w.includes('budgetOnIllustrativePrices'));

  test('warn once per router at synth, naming catalog fetch', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    router.addTenant('a', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 10 });
    router.addTenant('b', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 20 });
    const found = budgetWarnings(stack);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('Tenants have monthly USD budgets priced from the bundled catalog, whose prices are illustrative, not the gateway\'s.');
    expect(found[0]).toContain('npx llm-gateway-router catalog fetch --out gateway-catalog.json');
  });

  test('do not warn with a fetched catalog, or with token limits only', () => {
    const { stack, secret } = newStack();
    const catalog = GatewayCatalog.fromJson(fs.readFileSync(path.join(__dirname, '..', '..', 'src', 'contract', 'models.json'), 'utf8'));
    const fetched = routerIn(stack, secret, 'Fetched', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey(), catalog });
    fetched.addTenant('a', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 10 });
    const tokensOnly = routerIn(stack, secret, 'Tokens', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    tokensOnly.addTenant('a', { identity: TenantIdentity.apiKey(), dailyTokenLimit: 10_000 });
    expect(budgetWarnings(stack)).toEqual([]);
  });
});

test('a RouterTenant constructed directly registers itself through its router\'s interface, as addTenant() does', () => {
  const { stack, secret } = newStack();
  const router = routerIn(stack, secret, 'Router', { authorization: RouterAuthorization.apiKey() });
  const tenant = new RouterTenant(router, 'Direct', { router, tenantId: 'direct', identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 5 });
  expect(tenant.apiKeys).toHaveLength(1);
  expect(tenant.allowedModels).toEqual(router.allowedModels);
  const doc = shardsOf(Template.fromStack(stack))[0].doc;
  expect(doc.t).toEqual([expect.objectContaining({ id: 'direct', usd: 5 })]);
  expect(tenant.metricRequests().dimensions).toEqual({ service: router.routerName, Tenant: 'direct' });
});
