import { Aspects, CfnResource, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag-v2';
import { IConstruct } from 'constructs';
import { EU_ENV, newStack, routerIn } from './helpers';
import { GatewayRegion, RouterAuthorization, RouterGuardrail, TenantIdentity } from '../../src';
import { CDK_NAG_V2_METADATA_KEY } from '../../src/construct/nag';

/*
 * cdk-nag 2 (still pinned by many teams) reads suppressions from each L1
 * resource's CloudFormation metadata, not cdk-nag 3's acknowledgements; the
 * router writes both. These are the same checks as nag.test.ts, on cdk-nag 2.
 */

/** cdk-nag 2's findings: error annotations its aspect adds while the app synthesizes. */
function findings(stack: Stack): string[] {
  Aspects.of(stack).add(new AwsSolutionsChecks());
  (stack.node.root as import('aws-cdk-lib').App).synth();
  return stack.node.findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:error').map((m) => `${String(m.data).split(':')[0]}: ${c.node.path}`));
}

function suppressFixtureSecret(secret: IConstruct): void {
  NagSuppressions.addResourceSuppressions(secret, [{ id: 'AwsSolutions-SMG4', reason: 'Test fixture secret: rotated outside this stack.' }]);
}

describe('cdk-nag 2 AwsSolutions', () => {
  test('two default routers in one stack have no unsuppressed findings', () => {
    const { stack, secret } = newStack();
    suppressFixtureSecret(secret);
    routerIn(stack, secret, 'RouterA');
    routerIn(stack, secret, 'RouterB');
    expect(findings(stack)).toEqual([]);
  });

  test('an EU router with API-key authorization has no unsuppressed findings', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    suppressFixtureSecret(secret);
    const router = routerIn(stack, secret, 'Eu', { region: GatewayRegion.EU, authorization: RouterAuthorization.apiKey() });
    router.addApiKey('TeamA');
    expect(findings(stack)).toEqual([]);
  });

  test('a router with Cognito authorization has no unsuppressed findings', () => {
    const { stack, secret } = newStack();
    suppressFixtureSecret(secret);
    const pool = new cognito.UserPool(stack, 'Pool', {
      passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { sms: false, otp: true },
    });
    routerIn(stack, secret, 'Cognito', { authorization: RouterAuthorization.cognito([pool]) });
    expect(findings(stack).filter((f) => !f.includes('/Pool'))).toEqual([]);
  });

  test('a router with tenants (budget table, tenant keys, Contributor Insights rules) has no unsuppressed findings', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    suppressFixtureSecret(secret);
    const router = routerIn(stack, secret, 'Tenanted', { region: GatewayRegion.EU, authorization: RouterAuthorization.apiKey() });
    router.addTenant('search', { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 100, requestsPerMinutePerModel: 10 });
    router.addTenant('rest', { defaultTenant: true, dailyTokenLimit: 100_000 });
    expect(router.tenantTable).toBeDefined();
    expect(findings(stack)).toEqual([]);
  });

  test('an EU router with a guardrail and a tenant\'s own guardrail has no unsuppressed findings', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    suppressFixtureSecret(secret);
    const router = routerIn(stack, secret, 'Guarded', {
      region: GatewayRegion.EU,
      authorization: RouterAuthorization.apiKey(),
      guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'routerguard1', guardrailVersion: '1' }),
    });
    router.addTenant('legal', { identity: TenantIdentity.apiKey(), guardrail: RouterGuardrail.bedrock({ guardrailIdentifier: 'arn:aws:bedrock:eu-west-1:222222222222:guardrail/team1', guardrailVersion: '2' }) });
    expect(findings(stack)).toEqual([]);
  });

  test('the suppressions are scoped: a router with none() still reports missing authorization', () => {
    const { stack, secret } = newStack();
    suppressFixtureSecret(secret);
    routerIn(stack, secret, 'Open', { authorization: RouterAuthorization.none() });
    expect(findings(stack).some((f) => f.startsWith('AwsSolutions-APIG4'))).toBe(true);
  });

  test('the granular IAM5 suppression names the finding in applies_to, as cdk-nag 2 requires', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    const policy = stack.node.findAll().find((c) => c.node.path === 'Platform/Router/HandlerRole/DefaultPolicy/Resource') as CfnResource;
    const iam5 = policy.getMetadata(CDK_NAG_V2_METADATA_KEY).rules_to_suppress.find((s: { id: string }) => s.id === 'AwsSolutions-IAM5');
    expect(iam5.applies_to).toEqual([expect.stringMatching(/^Resource::<RouterHandlerLogs[0-9A-F]+\.Arn>:\*$/)]);
  });
});
