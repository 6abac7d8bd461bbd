import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EU_ENV, newStack, routerIn } from './helpers';
import { GatewayRegion, RouterAuthorization, TenantIdentity } from '../../src';
import { ACKNOWLEDGED_RULES_METADATA_KEY } from '../../src/construct/nag';

function findings(scope: import('constructs').IConstruct) {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

describe('cdk-nag AwsSolutions', () => {
  test('the metadata key the construct writes is the one aws-cdk-lib and cdk-nag use', () => {
    expect(ACKNOWLEDGED_RULES_METADATA_KEY).toBe(Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
  });

  test('a default router has no unacknowledged findings', () => {
    const { app, stack, secret } = newStack();
    // The example secret is the caller's; rotation is their concern.
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret: the gateway key is rotated by the platform team, outside this stack.' });
    routerIn(stack, secret, 'Router');
    expect(findings(app)).toEqual([]);
  });

  test('an EU router with API-key authorization has no unacknowledged findings', () => {
    const { app, stack, secret } = newStack({ env: EU_ENV });
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
    const router = routerIn(stack, secret, 'Eu', { region: GatewayRegion.EU, authorization: RouterAuthorization.apiKey() });
    router.addApiKey('TeamA');
    expect(findings(app)).toEqual([]);
  });

  test('a router with tenants (budget table, tenant keys, Contributor Insights rules) has no unacknowledged findings', () => {
    const { app, stack, secret } = newStack({ env: EU_ENV });
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
    const router = routerIn(stack, secret, 'Tenanted', { region: GatewayRegion.EU, authorization: RouterAuthorization.apiKey() });
    router.addTenant('search', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 100, requestsPerMinutePerModel: 10 });
    router.addTenant('rest', { defaultTenant: true, dailyTokenLimit: 100_000 });
    expect(router.tenantTable).toBeDefined();
    expect(findings(app)).toEqual([]);
  });

  test('a router with Cognito authorization has no unacknowledged findings', () => {
    const { app, stack, secret } = newStack();
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
    const pool = new cognito.UserPool(stack, 'Pool', {
      passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { sms: false, otp: true },
    });
    Validations.of(pool).acknowledge({ id: 'AwsSolutions-COG3', reason: 'Test fixture pool.' });
    routerIn(stack, secret, 'Cognito', { authorization: RouterAuthorization.cognito([pool]) });
    const remaining = findings(app).filter((f) => !f.includes('/Pool/'));
    expect(remaining).toEqual([]);
  });

  test('a router that owns the API Gateway account role has no unacknowledged findings', () => {
    const { app, stack, secret } = newStack();
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
    routerIn(stack, secret, 'Router', { cloudWatchRole: true });
    expect(findings(app)).toEqual([]);
  });

  test('a router in a VPC, with tracing, reserved concurrency and encrypted logs, has no unacknowledged findings', () => {
    const { app, stack, secret } = newStack();
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, flowLogs: { all: {} } });
    vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER });
    const logKey = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    routerIn(stack, secret, 'Router', { vpc, tracing: true, reservedConcurrentExecutions: 100, logEncryptionKey: logKey, cloudWatchRole: false });
    // The fixture VPC's endpoint security group (ingress from the VPC CIDR, a token) is not the router's.
    expect(findings(app).filter((f) => !f.includes('Platform/Vpc/'))).toEqual([]);
  });

  test('a private API (API keys, VPC endpoint) has no unacknowledged findings', () => {
    const { app, stack, secret } = newStack();
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, flowLogs: { all: {} } });
    const endpoint = vpc.addInterfaceEndpoint('ExecuteApi', { service: ec2.InterfaceVpcEndpointAwsService.APIGATEWAY });
    const router = routerIn(stack, secret, 'Private', { vpcEndpoints: [endpoint], authorization: RouterAuthorization.apiKey(), disableExecuteApiEndpoint: true });
    router.addApiKey('TeamA');
    routerIn(stack, secret, 'PrivateIam', { vpcEndpoints: [endpoint] });
    expect(findings(app).filter((f) => !f.includes('Platform/Vpc/'))).toEqual([]);
  });

  test('the acknowledgements are scoped: a router with none() still reports missing authorization', () => {
    const { app, stack, secret } = newStack();
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret.' });
    routerIn(stack, secret, 'Open', { authorization: RouterAuthorization.none() });
    const result = findings(app);
    expect(result.some((f) => f.startsWith('AwsSolutions-APIG4'))).toBe(true);
  });

  test('the gateway key is in no template, and only the secret ARN reaches the function', () => {
    const stack = new Stack(new App(), 'NoSecretResource', { env: EU_ENV });
    const imported = secretsmanager.Secret.fromSecretNameV2(stack, 'Imported', 'platform/llm-gateway-key');
    routerIn(stack, imported, 'Router');
    const template = Template.fromStack(stack);
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toMatch(/SecretString|resolve:secretsmanager|secretsmanager:ResolveSecret/);
    const env = Object.values(template.findResources('AWS::Lambda::Function'))[0] as any;
    const values = Object.entries(env.Properties.Environment.Variables);
    expect(values.filter(([name]) => /KEY|SECRET/.test(name)).map(([name]) => name)).toEqual(['LLM_GATEWAY_API_KEY_SECRET_ARN']);
    expect(JSON.stringify(env.Properties.Environment.Variables.LLM_GATEWAY_API_KEY_SECRET_ARN)).toContain(':secret:platform/llm-gateway-key');
  });
});
