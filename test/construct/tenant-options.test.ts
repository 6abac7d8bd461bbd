import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as kms from 'aws-cdk-lib/aws-kms';
import { errorOf, EU_ENV, newStack, routerIn, shardsOf, warnings } from './helpers';
import { GatewayRegion, RouterAuthorization, TenantIdentity } from '../../src';

/*
 * The tenant options a platform team sets per team, as the
 * template carries them, and the table a platform would approve.
 */

const MODELS = ['claude-sonnet-4-6', 'claude-haiku-4-5-20251001', 'gpt-5-mini'];

function apiKeyRouter(props: Parameters<typeof routerIn>[3] = {}) {
  const { stack, secret } = newStack();
  return { stack, router: routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey(), routerName: 'shared', ...props }) };
}

describe('key rotation without a cut-over', () => {
  test('a tenant holds several keys at once, each named; both identify it until the old one is removed', () => {
    const { stack, router } = apiKeyRouter();
    const tenant = router.addTenant('search', { identities: [TenantIdentity.newApiKey('2026-11'), TenantIdentity.newApiKey('2026-12')] });
    expect(tenant.apiKeys).toHaveLength(2);
    const template = Template.fromStack(stack);
    const keys = Object.values(template.findResources('AWS::ApiGateway::ApiKey')).map((k: any) => k.Properties.Name);
    expect(keys.sort()).toEqual(['shared-search-2026-11', 'shared-search-2026-12']);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
    const [shard] = shardsOf(template);
    expect(shard.doc.t[0].ids).toEqual([
      { k: 'key', v: expect.stringMatching(/^<\{'Ref':'RouterTenantKeysearch202611/) },
      { k: 'key', v: expect.stringMatching(/^<\{'Ref':'RouterTenantKeysearch202612/) },
    ]);
  });

  test('a key name that cannot be part of a construct id is refused', () => {
    expect(errorOf(() => TenantIdentity.newApiKey('dec 2026'))).toBe('TenantIdentity.newApiKey(name): "dec 2026" is not 1-64 letters, digits, ".", "_" or "-". Fix: use a name such as "2026-12".');
  });
});

describe('per-tenant global routing and tokens per minute', () => {
  test('carried in the tenant\'s shard', () => {
    const { stack, router } = apiKeyRouter();
    router.addTenant('a', { identity: TenantIdentity.apiKey(), globalRouting: true, tokensPerMinute: 50_000 });
    router.addTenant('b', { identity: TenantIdentity.apiKey(), globalRouting: false });
    const [shard] = shardsOf(Template.fromStack(stack));
    expect(shard.doc.t.map((t: any) => [t.id, t.gr, t.tpm])).toEqual([['a', true, 50_000], ['b', false, undefined]]);
  });

  test('an EU router refuses a tenant\'s globalRouting at synth; tokensPerMinute must be a whole positive number', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const eu = routerIn(stack, secret, 'Eu', { region: GatewayRegion.EU, allowedModels: ['claude-sonnet-4-6'], authorization: RouterAuthorization.apiKey() });
    expect(errorOf(() => eu.addTenant('a', { identity: TenantIdentity.apiKey(), globalRouting: true }))).toBe(
      'Platform/Eu/Tenant-a: globalRouting: true is set on a tenant of an EU router, which never routes globally (it would send data outside the EU). '
      + 'Fix: remove globalRouting from the tenant; an EU router keeps every request in the EU');
    expect(errorOf(() => eu.addTenant('b', { identity: TenantIdentity.apiKey(), tokensPerMinute: 10.5 }))).toMatch(/tokensPerMinute: 10.5 is not a whole number/);
    expect(errorOf(() => eu.addTenant('c', { identity: TenantIdentity.apiKey(), tokensPerMinute: 0 }))).toMatch(/tokensPerMinute: 0 is not a positive number/);
  });
});

describe('warnings a platform team needs', () => {
  test('a Cognito custom attribute users can write warns; a group does not', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.cognito([new cognito.UserPool(stack, 'Pool')]) });
    router.addTenant('support', { identity: TenantIdentity.cognitoClaim('custom:team', 'support') });
    router.addTenant('search', { identity: TenantIdentity.cognitoGroup('search') });
    const found = warnings(stack).filter((w) => w.includes('custom attribute'));
    expect(found).toEqual([expect.stringContaining('tenant support: cognito claim custom:team=support is a custom attribute, which Cognito lets users write themselves')]);
    const [shard] = shardsOf(Template.fromStack(stack));
    expect(shard.doc.t[1].ids).toEqual([{ k: 'claim', n: 'cognito:groups', v: 'search' }]);
  });

  test('tenants\' requests per minute past the gateway\'s 30 per model warn once, naming the models', () => {
    const { stack, router } = apiKeyRouter();
    router.addTenant('a', { identity: TenantIdentity.apiKey(), requestsPerMinutePerModel: 20 });
    expect(warnings(stack).filter((w) => w.includes('tenantRatesOverGatewayLimit'))).toEqual([]);
    router.addTenant('b', { identity: TenantIdentity.apiKey(), requestsPerMinutePerModel: 11, allowedModels: ['gpt-5-mini'] });
    router.addTenant('c', { identity: TenantIdentity.apiKey(), requestsPerMinutePerModel: 50 });
    const found = warnings(stack).filter((w) => w.includes('requestsPerMinutePerModel add up'));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('for gpt-5-mini (31), as of tenant Tenant-b');
  });
});

describe('the tenant table a platform would approve', () => {
  test('deletion protection on by default, AWS managed encryption, the Contributor Insights rules', () => {
    const { stack, router } = apiKeyRouter();
    router.addTenant('a', { identity: TenantIdentity.apiKey() });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true, SSESpecification: { SSEEnabled: true } });
    template.resourceCountIs('AWS::CloudWatch::InsightRule', 3);
  });

  test('a customer-managed key (the function may use it), deletion protection off, no Contributor Insights rules', () => {
    const { stack, secret } = newStack();
    const key = new kms.Key(stack, 'TableKey');
    const router = routerIn(stack, secret, 'Router', {
      allowedModels: MODELS,
      authorization: RouterAuthorization.apiKey(),
      tenantTable: { encryptionKey: key, deletionProtection: false, contributorInsights: false },
    });
    router.addTenant('a', { identity: TenantIdentity.apiKey() });
    const template = Template.fromStack(stack);
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0] as any;
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    expect(table.Properties.SSESpecification).toEqual({ KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^TableKey/), 'Arn'] }, SSEEnabled: true, SSEType: 'KMS' });
    template.resourceCountIs('AWS::CloudWatch::InsightRule', 0);
    const handlerPolicy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('RouterHandlerRole'))![1] as any;
    expect(JSON.stringify(handlerPolicy.Properties.PolicyDocument.Statement)).toMatch(/kms:Decrypt.*TableKey/);
  });
});

describe('the function\'s environment, whatever adds to it', () => {
  test('a variable added after construction that takes it past 4 KB fails synth, naming the variable', () => {
    const { stack, router } = apiKeyRouter();
    router.handler.addEnvironment('MY_LARGE_SETTING', 'x'.repeat(5_000));
    expect(errorOf(() => Template.fromStack(stack))).toMatch(
      /environment: 12 variables need \d+ bytes of the function's 4 KB \(deploy-time values counted as 256\); the largest: MY_LARGE_SETTING 5016, .*Fix: remove or shorten variables added with addEnvironment/);
  });

  test('small additions pass', () => {
    const { stack, router } = apiKeyRouter();
    router.handler.addEnvironment('MY_SETTING', 'on');
    expect(() => Template.fromStack(stack)).not.toThrow();
  });
});
