/**
 * The router reads the gateway key through its function role only.
 * It never puts a resource policy on the secret (which would widen who may
 * read the key beyond what the secret's owner wrote).
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EU_ENV, newStack, routerIn } from './helpers';
import { GatewayRegion, RouterAuthorization } from '../../src';

function expectNoSecretPolicy(stack: Stack): void {
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
  // And the role's read is for this one secret, not a wildcard.
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
    .filter((s: any) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
  expect(statements.length).toBeGreaterThanOrEqual(1);
  for (const s of statements) expect(s.Resource).not.toBe('*');
}

describe('no resource policy on the gateway key secret', () => {
  test('a default US router', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router');
    expectNoSecretPolicy(stack);
  });

  test('an EU router with API keys and a caller granted invoke', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const router = routerIn(stack, secret, 'Eu', { region: GatewayRegion.EU, authorization: RouterAuthorization.apiKey() });
    router.addApiKey('Team');
    expectNoSecretPolicy(stack);
  });

  test('two routers sharing one secret, one of them granting invoke to a role', () => {
    const { stack, secret } = newStack();
    const a = routerIn(stack, secret, 'A');
    routerIn(stack, secret, 'B', { globalRouting: true });
    a.grantInvoke(new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() }));
    expectNoSecretPolicy(stack);
  });

  test('a secret encrypted with a customer-managed key', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'SecretKey');
    const secret = new secretsmanager.Secret(stack, 'EncryptedKey', { encryptionKey: key });
    routerIn(stack, secret, 'Router');
    expectNoSecretPolicy(stack);
  });
});
