import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as bedrock from 'aws-cdk-lib/aws-bedrock';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { errorOf, EU_ENV, functionEnv, newStack, rendered, routerIn, shardsOf, US_ENV } from './helpers';
import { GatewayRegion, GuardrailFailureMode, GuardrailPolicy, RouterAuthorization, RouterGuardrail, TenantIdentity } from '../../src';
import { ENV } from '../../src/contract/env';

const IMPORTED_ARN = 'arn:aws:bedrock:eu-west-1:222222222222:guardrail/abc123def456';

function cfnGuardrail(stack: Stack): { guardrail: bedrock.CfnGuardrail; version: bedrock.CfnGuardrailVersion } {
  const guardrail = new bedrock.CfnGuardrail(stack, 'Guardrail', {
    name: 'platform-guardrail',
    blockedInputMessaging: 'Blocked.',
    blockedOutputsMessaging: 'Blocked.',
    sensitiveInformationPolicyConfig: { piiEntitiesConfig: [{ type: 'EMAIL', action: 'ANONYMIZE' }] },
  });
  const version = new bedrock.CfnGuardrailVersion(stack, 'GuardrailVersion', { guardrailIdentifier: guardrail.attrGuardrailId });
  return { guardrail, version };
}

/** Every bedrock:ApplyGuardrail statement of the template's policies: their resources, resolved. */
function applyGuardrailResources(template: Template): unknown[] {
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('bedrock:')));
  for (const s of statements) expect(s.Action).toBe('bedrock:ApplyGuardrail');
  return statements.map((s: any) => s.Resource);
}

function guardrailEnv(template: Template): any {
  const raw = functionEnv(template)[ENV.GUARDRAIL];
  return raw === undefined ? undefined : JSON.parse(rendered(raw));
}

describe('RouterGuardrail.bedrock on the router', () => {
  test('a CfnGuardrail of the same stack: its id and version reach the function, which may apply that guardrail only', () => {
    const { stack, secret } = newStack();
    const { guardrail, version } = cfnGuardrail(stack);
    routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: guardrail.attrGuardrailId, guardrailVersion: version.attrVersion }) });
    const template = Template.fromStack(stack);
    expect(guardrailEnv(template)).toEqual({
      id: "<{'Fn::GetAtt':['Guardrail','GuardrailId']}>",
      v: "<{'Fn::GetAtt':['GuardrailVersion','Version']}>",
      out: true,
      win: 1000,
      ms: 3000,
    });
    expect(applyGuardrailResources(template)).toEqual([{
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:us-east-1:111111111111:guardrail/', { 'Fn::GetAtt': ['Guardrail', 'GuardrailId'] }]],
    }]);
  });

  test('its ARN (attrGuardrailArn) is granted as it is', () => {
    const { stack, secret } = newStack();
    const { guardrail } = cfnGuardrail(stack);
    routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: guardrail.attrGuardrailArn, guardrailVersion: '2' }) });
    expect(applyGuardrailResources(Template.fromStack(stack))).toEqual([{ 'Fn::GetAtt': ['Guardrail', 'GuardrailArn'] }]);
  });

  test('an imported guardrail\'s ARN: granted as it is, and checked in the ARN\'s region', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    routerIn(stack, secret, 'Router', {
      region: GatewayRegion.EU,
      guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: IMPORTED_ARN, guardrailVersion: 'DRAFT', checkOutput: false, failureMode: GuardrailFailureMode.FAIL_OPEN, streamWindowCharacters: 500, timeout: Duration.seconds(2) }),
    });
    const template = Template.fromStack(stack);
    expect(applyGuardrailResources(template)).toEqual([IMPORTED_ARN]);
    expect(guardrailEnv(template)).toEqual({ id: IMPORTED_ARN, v: 'DRAFT', r: 'eu-west-1', out: false, open: true, win: 500, ms: 2000 });
  });

  test('the guardrail\'s customer-managed key may be used to decrypt', () => {
    const { stack, secret } = newStack();
    const key = new kms.Key(stack, 'GuardrailKey', { enableKeyRotation: true });
    routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'abc123', guardrailVersion: '1', encryptionKey: key }) });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] } }));
  });

  test('without a guardrail the function has no guardrail variable and no Bedrock permission', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    const template = Template.fromStack(stack);
    expect(guardrailEnv(template)).toBeUndefined();
    expect(applyGuardrailResources(template)).toEqual([]);
  });
});

describe('the check stays in the region', () => {
  test.each([
    ['eu-west-2', 'London is in the UK'],
    ['eu-central-2', 'Zurich is in Switzerland'],
    ['us-east-1', 'a US region'],
  ])('an EU router\'s guardrail in %s is a synth error (%s)', (region) => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const message = errorOf(() => routerIn(stack, secret, 'Router', { region: GatewayRegion.EU, guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'abc123', guardrailVersion: '1', region }) }));
    expect(message).toContain(`guardrail.region: "${region}" is not in an EU member state`);
    expect(message).toContain('Fix: use a guardrail in one of eu-west-1');
  });

  test('an EU router\'s guardrail given by an ARN outside the EU is refused too', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const message = errorOf(() => routerIn(stack, secret, 'Router', {
      region: GatewayRegion.EU,
      guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'arn:aws:bedrock:eu-west-2:222222222222:guardrail/abc123', guardrailVersion: '1' }),
    }));
    expect(message).toContain('"eu-west-2" is not in an EU member state');
  });

  test('an EU router\'s guardrail defaults to the stack\'s EU region, which the handler is told', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    routerIn(stack, secret, 'Router', { region: GatewayRegion.EU, guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'abc123', guardrailVersion: '1' }) });
    const template = Template.fromStack(stack);
    expect(guardrailEnv(template).r).toBe('eu-central-1');
    expect(applyGuardrailResources(template)).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:eu-central-1:111111111111:guardrail/abc123']] }]);
  });

  test('an EU router in an environment-agnostic stack must name its guardrail\'s region', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const secret = new secretsmanager.Secret(stack, 'Key');
    const message = errorOf(() => routerIn(stack, secret, 'Router', { region: GatewayRegion.EU, guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'abc123', guardrailVersion: '1' }) }));
    expect(message).toContain('guardrail.region: (none) leaves the region of an EU router\'s guardrail unknown at synth');
  });

  test('a US router\'s guardrail defaults to the function\'s own region: no region in the spec, the stack\'s in the grant', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const secret = new secretsmanager.Secret(stack, 'Key');
    routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'abc123', guardrailVersion: '1' }) });
    const template = Template.fromStack(stack);
    expect(guardrailEnv(template).r).toBeUndefined();
    expect(applyGuardrailResources(template)).toEqual([{
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':guardrail/abc123']],
    }]);
  });

  test('a region that contradicts the ARN\'s is refused', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const message = errorOf(() => routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: IMPORTED_ARN, guardrailVersion: '1', region: 'eu-central-1' }) }));
    expect(message).toContain('guardrail.region: "eu-central-1" differs from the region of the guardrail\'s ARN (eu-west-1)');
  });
});

describe('bad props are synth errors naming the prop, the value and the fix', () => {
  test.each([
    [{ guardrailIdentifier: 'Not An Id', guardrailVersion: '1' }, 'guardrail.guardrailIdentifier: "Not An Id" is neither a guardrail id'],
    [{ guardrailIdentifier: 'abc123', guardrailVersion: 'latest' }, 'guardrail.guardrailVersion: "latest" is neither a version number nor DRAFT'],
    [{ guardrailIdentifier: 'abc123', guardrailVersion: '0' }, 'guardrail.guardrailVersion: "0"'],
    [{ guardrailIdentifier: 'abc123', guardrailVersion: '1', streamWindowCharacters: 99 }, 'guardrail.streamWindowCharacters: 99 is not a whole number from 100 to 25000'],
    [{ guardrailIdentifier: 'abc123', guardrailVersion: '1', streamWindowCharacters: 25_001 }, 'guardrail.streamWindowCharacters: 25001'],
    [{ guardrailIdentifier: 'abc123', guardrailVersion: '1', timeout: Duration.seconds(31) }, 'guardrail.timeout: 31000 ms is not between 1 ms and 30 seconds'],
    [{ guardrailIdentifier: 'abc123', guardrailVersion: '1', region: 'Frankfurt' }, 'guardrail.region: "Frankfurt" is not an AWS region name'],
  ])('%j', (options, expected) => {
    const { stack, secret } = newStack();
    const message = errorOf(() => routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock(options) }));
    expect(message).toContain(expected);
    expect(message).toContain('Fix: ');
  });

  test('RouterGuardrail.none() on the router itself is refused', () => {
    const { stack, secret } = newStack();
    expect(errorOf(() => routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.none() }))).toContain('guardrail: RouterGuardrail.none() opts out of a guardrail the router does not have');
  });
});

describe('tenants', () => {
  function tenanted(optOut?: boolean) {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', {
      authorization: RouterAuthorization.apiKey(),
      guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'routerguard1', guardrailVersion: '1', allowTenantOptOut: optOut }),
    });
    return { stack, router };
  }

  test('a tenant\'s own guardrail goes into its shard and is granted beside the router\'s, once however many tenants share it', () => {
    const { stack, router } = tenanted();
    const own = RouterGuardrail.bedrock({ guardrailIdentifier: 'teamguard1', guardrailVersion: '4', checkOutput: false });
    router.addTenant('legal', { identity: TenantIdentity.apiKey(), guardrail: own });
    router.addTenant('legal2', { identity: TenantIdentity.apiKey(), guardrail: own });
    router.addTenant('search', { identity: TenantIdentity.apiKey() });
    const template = Template.fromStack(stack);
    const tenants = shardsOf(template)[0].doc.t;
    expect(tenants.find((t: any) => t.id === 'legal').g).toEqual({ id: 'teamguard1', v: '4', out: false, win: 1000, ms: 3000 });
    expect(tenants.find((t: any) => t.id === 'search').g).toBeUndefined();
    const resources = applyGuardrailResources(template).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(2);
    expect(resources.some((r) => r.includes('guardrail/routerguard1'))).toBe(true);
    expect(resources.some((r) => r.includes('guardrail/teamguard1'))).toBe(true);
  });

  test('a tenant may opt out only where the router allows it', () => {
    const refused = tenanted(false);
    expect(errorOf(() => refused.router.addTenant('free', { identity: TenantIdentity.apiKey(), guardrail: RouterGuardrail.none() })))
      .toContain('guardrail: RouterGuardrail.none() opts out of the router\'s guardrail, which does not allow tenants to opt out');
    const allowed = tenanted(true);
    allowed.router.addTenant('free', { identity: TenantIdentity.apiKey(), guardrail: RouterGuardrail.none() });
    expect(shardsOf(Template.fromStack(allowed.stack))[0].doc.t[0].g).toBe('none');
    expect(guardrailEnv(Template.fromStack(allowed.stack)).optOut).toBe(true);
  });

  test('an EU router\'s tenant guardrail outside the EU is refused', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const router = routerIn(stack, secret, 'Router', { region: GatewayRegion.EU, authorization: RouterAuthorization.apiKey() });
    expect(errorOf(() => router.addTenant('t', { identity: TenantIdentity.apiKey(), guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'abc', guardrailVersion: '1', region: 'us-west-2' }) })))
      .toContain('guardrail.region: "us-west-2" is not in an EU member state');
  });
});

describe('visible', () => {
  test('addAlarms() alarms on failed guardrail checks', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'abc123', guardrailVersion: '1' }) });
    const alarms = router.addAlarms('Alarms');
    expect(alarms.guardrailErrors).toBeDefined();
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GuardrailErrors',
      Namespace: 'LlmGatewayRouter',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('interventions by policy type read the (service, GuardrailPolicy) set', () => {
    const { stack, secret } = newStack({ env: US_ENV });
    const router = routerIn(stack, secret, 'Router');
    const metric = router.metricGuardrailInterventions({ guardrailPolicy: GuardrailPolicy.SENSITIVE_INFORMATION });
    expect(metric.dimensions).toEqual({ service: router.routerName, GuardrailPolicy: 'sensitive_information' });
    expect(router.metricGuardrailLatency().statistic).toBe('p99');
  });
});

test('cdk-nag AwsSolutions: a router with a guardrail and tenant guardrails has no unacknowledged findings', () => {
  const { app, stack, secret } = newStack();
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
  const { guardrail, version } = cfnGuardrail(stack);
  const router = routerIn(stack, secret, 'Router', {
    authorization: RouterAuthorization.apiKey(),
    guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: guardrail.attrGuardrailId, guardrailVersion: version.attrVersion }),
  });
  router.addTenant('legal', { identity: TenantIdentity.apiKey(), guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: IMPORTED_ARN, guardrailVersion: '1' }) });
  const report = new AwsSolutionsChecks().validateScope(app);
  expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
});

test('a CfnGuardrail in another stack of the same app: referenced across stacks, granted by id', () => {
  const app = new App();
  const shared = new Stack(app, 'Shared', { env: US_ENV });
  const { guardrail, version } = cfnGuardrail(shared);
  const stack = new Stack(app, 'Platform', { env: US_ENV });
  const secret = new secretsmanager.Secret(stack, 'Key');
  routerIn(stack, secret, 'Router', { guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: guardrail.attrGuardrailId, guardrailVersion: version.attrVersion }) });
  const template = Template.fromStack(stack);
  const [resource] = applyGuardrailResources(template) as any[];
  expect(JSON.stringify(resource)).toContain('Fn::ImportValue');
  expect(JSON.stringify(resource)).toContain(':guardrail/');
  expect(JSON.stringify(functionEnv(template)[ENV.GUARDRAIL])).toContain('Fn::ImportValue');
});
