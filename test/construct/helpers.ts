import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { LlmGatewayRouter, LlmGatewayRouterProps } from '../../src';

export const EU_ENV = { account: '111111111111', region: 'eu-central-1' };
export const US_ENV = { account: '111111111111', region: 'us-east-1' };

export function newStack(props: StackProps = { env: US_ENV }): { app: App; stack: Stack; secret: secretsmanager.Secret } {
  const app = new App();
  const stack = new Stack(app, 'Platform', props);
  const secret = new secretsmanager.Secret(stack, 'GatewayKey', { description: 'LLM Gateway key' });
  return { app, stack, secret };
}

export function routerIn(stack: Stack, secret: secretsmanager.ISecret, id: string, props: Partial<LlmGatewayRouterProps> = {}): LlmGatewayRouter {
  return new LlmGatewayRouter(stack, id, { apiKeySecret: secret, ...props });
}

/** The environment variables of the only (or the named) router function. */
export function functionEnv(template: Template, descriptionFragment = 'LLM Gateway router'): Record<string, any> {
  const fns = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp(descriptionFragment) },
  });
  const all = Object.values(fns);
  if (all.length !== 1) throw new Error(`expected one router function matching ${descriptionFragment}, found ${all.length}`);
  return (all[0] as any).Properties.Environment.Variables;
}

export function warnings(stack: Stack): string[] {
  return Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data));
}

/** The synth error's text, or '' when there is none. */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

/** A JSON text with CloudFormation intrinsics in it, the intrinsics shown as <{'Ref':'X'}> placeholders. */
export function rendered(value: unknown): string {
  if (typeof value === 'string') return value;
  const parts: unknown[] = (value as any)['Fn::Join'][1];
  return parts.map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p).replace(/"/g, "'")}>`)).join('');
}

/** The tenant shards the template writes into the table, in shard order: each item's key, document and version. */
export function shardsOf(template: Template): Array<{ key: string; doc: any; version: string }> {
  return Object.values(template.findResources('Custom::LlmGatewayRouterTenants'))
    .map((r: any) => JSON.parse(rendered(r.Properties.Create)).parameters.Item)
    .map((item: any) => ({ key: item.pk.S, doc: JSON.parse(item.doc.S), version: item.v.S }))
    .sort((a, b) => a.key.localeCompare(b.key));
}
