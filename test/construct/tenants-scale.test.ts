import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { US_ENV } from './helpers';
import { LlmGatewayRouter, RouterAuthorization, TenantIdentity } from '../../src';
import { LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../../src/contract/env';

/*
 * A thousand tenants on one router, in each identity kind,
 * synthesize within CloudFormation's limits (500 resources and 1 MB per
 * template; nested stacks hold the rest) and never touch the function's
 * environment. Every template of the assembly is checked.
 */

const TENANTS = 1_000;
const MAX_RESOURCES = 500;
const MAX_TEMPLATE_BYTES = 1_000_000;
const MODELS = ['claude-sonnet-4-6', 'claude-haiku-4-5-20251001', 'gpt-5-mini'];

type Kind = 'apiKey' | 'iam' | 'cognito' | 'custom';

function routerWith(kind: Kind, count: number) {
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: US_ENV });
  const secret = new secretsmanager.Secret(stack, 'Key');
  const authorization = kind === 'apiKey' ? RouterAuthorization.apiKey()
    : kind === 'iam' ? RouterAuthorization.iam()
      : kind === 'cognito' ? RouterAuthorization.cognito([new cognito.UserPool(stack, 'Pool')])
        : RouterAuthorization.custom({ authorizerId: 'auth-1', authorizationType: apigw.AuthorizationType.CUSTOM } as unknown as apigw.IAuthorizer);
  const router = new LlmGatewayRouter(stack, 'Router', { apiKeySecret: secret, allowedModels: MODELS, authorization, cloudWatchRole: false });
  for (let i = 0; i < count; i++) {
    const identity = kind === 'apiKey' ? TenantIdentity.apiKey()
      : kind === 'iam' ? TenantIdentity.iamPrincipal(iam.Role.fromRoleArn(stack, `R${i}`, `arn:aws:iam::123456789012:role/team-${i}`, { mutable: false }))
        : kind === 'cognito' ? TenantIdentity.cognitoGroup(`team-${i}`)
          : TenantIdentity.authorizerPrincipal(`team-${i}`);
    router.addTenant(`team-${i}`, { identity, allowedModels: i % 2 ? ['gpt-5-mini'] : undefined, monthlyBudgetUsd: 100, requestsPerMinutePerModel: i % 3 === 0 ? 1 : undefined });
  }
  return { app, stack, router };
}

/** Every template file of the synthesized assembly: the stack's and its nested stacks'. */
function templatesOf(app: App): Array<{ file: string; bytes: number; resources: number; template: any }> {
  const dir = app.synth().directory;
  return fs.readdirSync(dir).filter((f) => f.endsWith('.template.json') || f.endsWith('.nested.template.json')).map((file) => {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const template = JSON.parse(text);
    return { file, bytes: Buffer.byteLength(text, 'utf8'), resources: Object.keys(template.Resources ?? {}).length, template };
  });
}

describe.each<Kind>(['apiKey', 'iam', 'cognito', 'custom'])('%s identities', (kind) => {
  test(`${TENANTS} tenants: every template within 500 resources and 1 MB, and the environment unchanged by the count`, () => {
    const { app, stack } = routerWith(kind, TENANTS);
    const templates = templatesOf(app);
    for (const t of templates) {
      expect([t.file, t.resources <= MAX_RESOURCES, t.bytes <= MAX_TEMPLATE_BYTES]).toEqual([t.file, true, true]);
    }
    // Shards: 50 tenants in the router's stack, 200 in each nested stack.
    const shards = templates.flatMap((t) => Object.values(t.template.Resources).filter((r: any) => r.Type === 'Custom::LlmGatewayRouterTenants'));
    expect(shards).toHaveLength(1 + Math.ceil((TENANTS - 50) / 200));
    if (kind === 'apiKey') {
      const keys = templates.reduce((n, t) => n + Object.values(t.template.Resources).filter((r: any) => r.Type === 'AWS::ApiGateway::ApiKey').length, 0);
      expect(keys).toBe(TENANTS);
    }
    const env = envOf(stack);
    const one = envOf(routerWith(kind, 1).stack);
    expect(Object.keys(env).sort()).toEqual(Object.keys(one).sort());
    // The shard versions variable grows by one 12-character digest per shard, and nothing else does.
    expect(envBytes(env) - envBytes(one)).toBe(13 * (shards.length - 1));
    expect(envBytes(env)).toBeLessThan(LAMBDA_ENVIRONMENT_LIMIT_BYTES);
  });
});

/** The router function's environment as the template has it. */
function envOf(stack: Stack): Record<string, unknown> {
  const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).find((r: any) => r.Properties.Description?.startsWith('LLM Gateway router')) as any;
  return fn.Properties.Environment.Variables;
}

function envBytes(env: Record<string, unknown>): number {
  return Object.entries(env).reduce((n, [k, v]) => n + k.length + (typeof v === 'string' ? v.length : JSON.stringify(v).length), 0);
}
