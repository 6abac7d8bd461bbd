import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { errorOf, EU_ENV, newStack, routerIn, US_ENV, warnings } from './helpers';
import { RouterAuthorization } from '../../src';

const handlerPolicy = (template: Template): any[] => {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.includes('HandlerRole'));
  expect(policies).toHaveLength(1);
  return (policies[0][1] as any).Properties.PolicyDocument.Statement;
};
const actionsOf = (statements: any[]): string[] => statements.flatMap((s) => ([] as string[]).concat(s.Action));

describe('cloudWatchRole: the account setting access logs need', () => {
  test('unset: no account resource, and a warning that names the prerequisite and how to silence it', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Account', 0);
    const text = warnings(stack).join('\n');
    expect(text).toMatch(/CloudWatch Logs role ARN must be set in account settings to enable logging/);
    expect(text).toMatch(/cloudWatchRole: true .*cloudWatchRole: false/);
  });

  test('false: no account resource and no warning', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { cloudWatchRole: false });
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(warnings(stack).join('\n')).not.toMatch(/cloudWatchRole/);
  });

  test('true: a retained account setting pointing at a logging role, deployed before the stage, and no warning', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { cloudWatchRole: true });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    const [accountId, account] = Object.entries(template.findResources('AWS::ApiGateway::Account'))[0] as [string, any];
    expect(account.DeletionPolicy).toBe('Retain');
    const roleId = account.Properties.CloudWatchRoleArn['Fn::GetAtt'][0];
    const role = template.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'apigateway.amazonaws.com' });
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('service-role/AmazonAPIGatewayPushToCloudWatchLogs');
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0] as any;
    expect(stage.DependsOn).toContain(accountId);
    expect(warnings(stack).join('\n')).not.toMatch(/cloudWatchRole/);
  });

  describe('one account setting per account and region: a first deploy never races', () => {
    const stagesOf = (template: Template) => Object.values(template.findResources('AWS::ApiGateway::Stage')) as any[];
    const accountIdOf = (template: Template) => Object.keys(template.findResources('AWS::ApiGateway::Account'))[0];

    test('two routers with cloudWatchRole: true in one stack share one setting, and both stages wait for it', () => {
      const { stack, secret } = newStack();
      routerIn(stack, secret, 'A', { cloudWatchRole: true });
      routerIn(stack, secret, 'B', { cloudWatchRole: true });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::ApiGateway::Account', 1);
      template.resourceCountIs('AWS::IAM::Role', 3); // the logging role and the two functions' roles
      const stages = stagesOf(template);
      expect(stages).toHaveLength(2);
      for (const stage of stages) expect(stage.DependsOn).toContain(accountIdOf(template));
    });

    test('a router created before the owner, with cloudWatchRole: false, waits for the setting too', () => {
      const { stack, secret } = newStack();
      routerIn(stack, secret, 'First', { cloudWatchRole: false });
      routerIn(stack, secret, 'Owner', { cloudWatchRole: true });
      const template = Template.fromStack(stack);
      for (const stage of stagesOf(template)) expect(stage.DependsOn).toContain(accountIdOf(template));
    });

    test('a second stack asking for it in the same account and region is a synth error naming the owner', () => {
      const { app, stack, secret } = newStack();
      routerIn(stack, secret, 'Owner', { cloudWatchRole: true });
      const other = new Stack(app, 'Other', { env: US_ENV });
      const otherSecret = new secretsmanager.Secret(other, 'Key');
      expect(errorOf(() => routerIn(other, otherSecret, 'Second', { cloudWatchRole: true }))).toBe(
        'Other/Second: cloudWatchRole: true but router Platform/Owner (stack Platform) already sets the API Gateway account setting for this account and region; '
        + 'two would race on a first deploy. Fix: set cloudWatchRole: false on this router; its stage waits for that setting when both are deployed from this app');
    });

    test('a router of another stack in the same account and region waits for the owner\'s stack, whichever is built first', () => {
      const { app, stack, secret } = newStack();
      const early = new Stack(app, 'Early', { env: US_ENV });
      routerIn(early, new secretsmanager.Secret(early, 'Key'), 'Early', { cloudWatchRole: false });
      routerIn(stack, secret, 'Owner', { cloudWatchRole: true });
      const late = new Stack(app, 'Late', { env: US_ENV });
      routerIn(late, new secretsmanager.Secret(late, 'Key'), 'Late', { cloudWatchRole: false });
      app.synth();
      expect(early.dependencies.map((d) => d.stackName)).toEqual(['Platform']);
      expect(late.dependencies.map((d) => d.stackName)).toEqual(['Platform']);
    });

    test('another region is another setting: each stack owns its own, with no dependency between them', () => {
      const { app, stack, secret } = newStack();
      routerIn(stack, secret, 'Us', { cloudWatchRole: true });
      const eu = new Stack(app, 'Eu', { env: EU_ENV });
      routerIn(eu, new secretsmanager.Secret(eu, 'Key'), 'Eu', { cloudWatchRole: true });
      app.synth();
      Template.fromStack(eu).resourceCountIs('AWS::ApiGateway::Account', 1);
      expect(eu.dependencies).toEqual([]);
      expect(stack.dependencies).toEqual([]);
    });
  });
});

describe('VPC', () => {
  function vpcStack() {
    const { app, stack, secret } = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    return { app, stack, secret, vpc };
  }

  test('the function runs in the VPC\'s private subnets; the explicit role gets the network-interface permissions', () => {
    const { stack, secret, vpc } = vpcStack();
    routerIn(stack, secret, 'Router', { vpc });
    const template = Template.fromStack(stack);
    const fn = Object.entries(template.findResources('AWS::Lambda::Function'))[0][1] as any;
    const subnets = vpc.privateSubnets.map((s) => stack.resolve(s.subnetId));
    expect(fn.Properties.VpcConfig.SubnetIds).toEqual(subnets);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
    const statements = handlerPolicy(template);
    const ec2Statement = statements.find((s) => actionsOf([s]).includes('ec2:CreateNetworkInterface'));
    expect(ec2Statement.Resource).toBe('*');
    expect(actionsOf([ec2Statement])).toEqual(expect.arrayContaining(['ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses']));
    // The policy exists before the function: Lambda checks the role when it creates the interfaces.
    const policyId = Object.keys(template.findResources('AWS::IAM::Policy')).find((id) => id.includes('HandlerRole'));
    expect(fn.DependsOn).toContain(policyId);
    // Still no managed policies on the role.
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0] as any;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('vpcSubnets and securityGroups are used as given', () => {
    const { stack, secret } = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, { name: 'Other', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const sg = new ec2.SecurityGroup(stack, 'RouterSg', { vpc, allowAllOutbound: true });
    routerIn(stack, secret, 'Router', { vpc, vpcSubnets: { subnetGroupName: 'Other' }, securityGroups: [sg] });
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0] as any;
    expect(fn.Properties.VpcConfig.SubnetIds).toEqual(vpc.selectSubnets({ subnetGroupName: 'Other' }).subnetIds.map((id) => stack.resolve(id)));
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([stack.resolve(sg.securityGroupId)]);
  });

  test('a router outside a VPC has no network-interface permissions', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    const template = Template.fromStack(stack);
    expect(actionsOf(handlerPolicy(template)).filter((a) => a.startsWith('ec2:'))).toEqual([]);
    expect((Object.values(template.findResources('AWS::Lambda::Function'))[0] as any).Properties.VpcConfig).toBeUndefined();
  });

  test('vpcSubnets or securityGroups without vpc is an error that names the fix', () => {
    const { stack, secret } = newStack();
    expect(() => routerIn(stack, secret, 'A', { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } })).toThrow(/vpcSubnets: .* is set without vpc\. Fix: pass the VPC as vpc/);
    const other = new ec2.Vpc(stack, 'Other', { maxAzs: 1, natGateways: 0 });
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc: other });
    expect(() => routerIn(stack, secret, 'B', { securityGroups: [sg] })).toThrow(/securityGroups: .* is set without vpc/);
  });
});

describe('reservedConcurrentExecutions and the worst-case concurrency warning', () => {
  test('the ceiling reaches the function', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { reservedConcurrentExecutions: 200, throttlingRateLimit: 2, timeout: Duration.seconds(60) });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 200 });
    expect(warnings(stack).join('\n')).not.toMatch(/worst case/);
  });

  test.each([0, -1, 2.5, 100_001])('%p is refused', (value) => {
    const { stack, secret } = newStack();
    expect(() => routerIn(stack, secret, 'Router', { reservedConcurrentExecutions: value })).toThrow(/reservedConcurrentExecutions: .* is not a whole number from 1 to 100000\. Fix:/);
  });

  test('unset, with the defaults (50 rps × 300 s = 15000 > 1000): a warning', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    expect(warnings(stack).join('\n')).toMatch(/throttlingRateLimit \(50\/s\) × timeout \(300 s\) = 15000 concurrent executions.*more than 1000, the default account concurrency limit.*Set reservedConcurrentExecutions/);
    expect((Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0] as any).Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('unset, with a worst case within the default account limit (3 rps × 300 s = 900): no warning', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { throttlingRateLimit: 3 });
    expect(warnings(stack).join('\n')).not.toMatch(/worst case/);
  });

  test('set below the worst case: a warning naming both numbers', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { reservedConcurrentExecutions: 500 });
    expect(warnings(stack).join('\n')).toMatch(/= 15000 concurrent executions.*more than reservedConcurrentExecutions \(500\)/);
  });
});

describe('tracing', () => {
  test('on: active tracing on the function, tracing on the stage, and the X-Ray permissions', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { tracing: true });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
    expect(actionsOf(handlerPolicy(template))).toEqual(expect.arrayContaining(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']));
  });

  test('off by default', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
    expect((Object.values(template.findResources('AWS::Lambda::Function'))[0] as any).Properties.TracingConfig).toBeUndefined();
  });
});

describe('private API (vpcEndpoints)', () => {
  function endpointStack() {
    const { app, stack, secret } = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const endpoint = vpc.addInterfaceEndpoint('ExecuteApi', { service: ec2.InterfaceVpcEndpointAwsService.APIGATEWAY });
    return { app, stack, secret, endpoint };
  }

  test('a PRIVATE endpoint with the VPC endpoints, and a policy denying every other source (IAM: callers\' policies decide)', () => {
    const { stack, secret, endpoint } = endpointStack();
    routerIn(stack, secret, 'Router', { vpcEndpoints: [endpoint] });
    const api = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::RestApi'))[0] as any;
    expect(api.Properties.EndpointConfiguration).toEqual({ Types: ['PRIVATE'], VpcEndpointIds: [stack.resolve(endpoint.vpcEndpointId)] });
    expect(api.Properties.Policy.Statement).toEqual([{
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
      Condition: { StringNotEquals: { 'aws:SourceVpce': [stack.resolve(endpoint.vpcEndpointId)] } },
    }]);
  });

  test('with API keys, the policy also allows callers through the endpoints', () => {
    const { stack, secret, endpoint } = endpointStack();
    routerIn(stack, secret, 'Router', { vpcEndpoints: [endpoint], authorization: RouterAuthorization.apiKey() });
    const api = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::RestApi'))[0] as any;
    expect(api.Properties.Policy.Statement.map((s: any) => [s.Effect, Object.keys(s.Condition)[0]])).toEqual([['Deny', 'StringNotEquals'], ['Allow', 'StringEquals']]);
  });

  test('a regional API by default, without a resource policy', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    const api = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::RestApi'))[0] as any;
    expect(api.Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
    expect(api.Properties.Policy).toBeUndefined();
  });

  test('an empty list, or a regional domainName, is an error', () => {
    const { stack, secret, endpoint } = endpointStack();
    expect(() => routerIn(stack, secret, 'A', { vpcEndpoints: [] })).toThrow(/vpcEndpoints: \[\] is empty/);
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc');
    expect(() => routerIn(stack, secret, 'B', { vpcEndpoints: [endpoint], domainName: { domainName: 'llm.example.com', certificate } }))
      .toThrow(/domainName: "llm.example.com" cannot be combined with vpcEndpoints/);
  });
});

describe('disableExecuteApiEndpoint', () => {
  test('with a custom domain, the execute-api endpoint is turned off', () => {
    const { stack, secret } = newStack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc');
    routerIn(stack, secret, 'Router', { domainName: { domainName: 'llm.example.com', certificate }, disableExecuteApiEndpoint: true });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
  });

  test('without a custom domain on a regional API it is an error; a private API may', () => {
    const { stack, secret } = newStack();
    expect(() => routerIn(stack, secret, 'A', { disableExecuteApiEndpoint: true })).toThrow(/disableExecuteApiEndpoint: true leaves the API without any endpoint.*Fix: set domainName/);
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0 });
    const endpoint = vpc.addInterfaceEndpoint('ExecuteApi', { service: ec2.InterfaceVpcEndpointAwsService.APIGATEWAY });
    routerIn(stack, secret, 'B', { disableExecuteApiEndpoint: true, vpcEndpoints: [endpoint] });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
  });

  test('not set by default', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    const api = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::RestApi'))[0] as any;
    expect(api.Properties.DisableExecuteApiEndpoint).toBeUndefined();
  });
});

describe('logEncryptionKey', () => {
  test('both log groups use the key, and the key policy lets CloudWatch Logs use it for this account\'s log groups', () => {
    const { stack, secret } = newStack();
    const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    routerIn(stack, secret, 'Router', { logEncryptionKey: key });
    const template = Template.fromStack(stack);
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as any[];
    expect(groups).toHaveLength(2);
    for (const g of groups) expect(g.Properties.KmsKeyId).toEqual(stack.resolve(key.keyArn));
    const keyPolicy = (Object.values(template.findResources('AWS::KMS::Key'))[0] as any).Properties.KeyPolicy.Statement;
    const logs = keyPolicy.find((s: any) => JSON.stringify(s.Principal).includes('logs.us-east-1.amazonaws.com'));
    expect(logs).toBeDefined();
    expect(actionsOf([logs])).toEqual(expect.arrayContaining(['kms:Encrypt*', 'kms:Decrypt*', 'kms:GenerateDataKey*']));
    expect(JSON.stringify(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn'])).toContain(':log-group:*');
  });

  test('an imported key is used as given', () => {
    const { stack, secret } = newStack();
    const key = kms.Key.fromKeyArn(stack, 'LogKey', 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    routerIn(stack, secret, 'Router', { logEncryptionKey: key });
    Template.fromStack(stack).allResourcesProperties('AWS::Logs::LogGroup', { KmsKeyId: key.keyArn });
  });

  test('no key by default', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    for (const g of Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup')) as any[]) expect(g.Properties.KmsKeyId).toBeUndefined();
  });
});

describe('openAiBaseUrl with a custom domain', () => {
  const certificateIn = (stack: Stack) => acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc');

  test('the stage is mapped at the domain root, so the base URL is https://<domain>/v1', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { domainName: { domainName: 'llm.example.com', certificate: certificateIn(stack) } });
    expect(router.openAiBaseUrl).toBe('https://llm.example.com/v1');
    const mapping = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::BasePathMapping'))[0] as any;
    expect(mapping.Properties.BasePath).toBeUndefined();
    expect(mapping.Properties.Stage).toEqual({ Ref: expect.stringMatching(/^RouterApiDeploymentStageprod/) });
  });

  test('a basePath sits between the domain and v1', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { domainName: { domainName: 'api.example.com', certificate: certificateIn(stack), basePath: 'llm' } });
    expect(router.openAiBaseUrl).toBe('https://api.example.com/llm/v1');
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::BasePathMapping', { BasePath: 'llm' });
  });
});

describe('allowTestInvoke', () => {
  const testInvokePermissions = (template: Template) => Object.values(template.findResources('AWS::Lambda::Permission'))
    .filter((p: any) => JSON.stringify(p.Properties.SourceArn).includes('/test-invoke-stage/'));

  test('by default only the deployed stage may invoke the function', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    const template = Template.fromStack(stack);
    expect(testInvokePermissions(template)).toHaveLength(0);
    template.resourceCountIs('AWS::Lambda::Permission', 2);
  });

  test('true keeps the console test permission on both routes', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { allowTestInvoke: true });
    expect(testInvokePermissions(Template.fromStack(stack))).toHaveLength(2);
  });
});

describe('a secret encrypted with a customer-managed key', () => {
  const decryptStatements = (template: Template) => handlerPolicy(template).filter((s) => actionsOf([s]).includes('kms:Decrypt'));
  const KEY_ARN = 'arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab';

  test('an imported secret carrying an imported key: the role may decrypt with that key, through Secrets Manager only', () => {
    const stack = new Stack(new App(), 'Router', { env: US_ENV });
    const secret = secretsmanager.Secret.fromSecretAttributes(stack, 'Key', {
      secretCompleteArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:platform/llm-gateway-key-AbCdEf',
      encryptionKey: kms.Key.fromKeyArn(stack, 'SecretKey', KEY_ARN),
    });
    routerIn(stack, secret, 'Router');
    expect(decryptStatements(Template.fromStack(stack))).toEqual([{
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
    }]);
  });

  test('a secret imported by name, with apiKeySecretEncryptionKey', () => {
    const stack = new Stack(new App(), 'Router', { env: US_ENV });
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'platform/llm-gateway-key');
    routerIn(stack, secret, 'Router', { apiKeySecretEncryptionKey: kms.Key.fromKeyArn(stack, 'SecretKey', KEY_ARN) });
    const [decrypt] = decryptStatements(Template.fromStack(stack));
    expect(decrypt.Resource).toBe(KEY_ARN);
    expect(decrypt.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } });
  });

  test('a secret and key defined in a shared stack: no dependency cycle, the role decrypts through Secrets Manager', () => {
    const app = new App();
    const shared = new Stack(app, 'Shared', { env: US_ENV });
    const key = new kms.Key(shared, 'SecretKey', { enableKeyRotation: true });
    const secret = new secretsmanager.Secret(shared, 'GatewayKey', { encryptionKey: key });
    const stack = new Stack(app, 'Routers', { env: US_ENV });
    routerIn(stack, secret, 'Router');
    const assembly = app.synth();
    const stackDependencies = (name: string) => assembly.getStackByName(name).dependencies.map((d) => d.id).filter((id) => !id.endsWith('.assets'));
    expect(stackDependencies('Routers')).toEqual(['Shared']);
    expect(stackDependencies('Shared')).toEqual([]);
    const statements = handlerPolicy(Template.fromStack(stack));
    const decrypt = statements.find((s) => actionsOf([s]).includes('kms:Decrypt'));
    expect(JSON.stringify(decrypt.Resource)).toMatch(/Fn::ImportValue.*SecretKey/);
    expect(decrypt.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } });
    const read = statements.find((s) => actionsOf([s]).includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(read.Resource)).toMatch(/Fn::ImportValue.*GatewayKey/);
    // The shared stack's key policy does not name the router's role.
    expect(JSON.stringify(Template.fromStack(shared).toJSON())).not.toMatch(/HandlerRole/);
  });

  test('no key: no kms statement', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    expect(decryptStatements(Template.fromStack(stack))).toEqual([]);
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toMatch(/kms:ViaService/);
    void Match;
  });
});
