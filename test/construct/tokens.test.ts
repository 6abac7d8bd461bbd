import { CfnParameter, Duration, Fn } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { errorOf, EU_ENV, functionEnv, newStack, routerIn, warnings } from './helpers';
import { GatewayRegion } from '../../src';
import { splitModelList } from '../../src/contract/rules';
import { loadConfig } from '../../src/handler/config';

describe('deploy-time values (tokens) in props', () => {
  test('a CommaDelimitedList parameter is passed through, joined at deploy time, with a warning', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const models = new CfnParameter(stack, 'Models', { type: 'CommaDelimitedList' });
    routerIn(stack, secret, 'R', { region: GatewayRegion.EU, allowedModels: models.valueAsList });
    const env = functionEnv(Template.fromStack(stack));
    expect(env.LLM_GATEWAY_ALLOWED_MODELS).toEqual({ 'Fn::Join': [',', { Ref: 'Models' }] });
    expect(warnings(stack).join('\n')).toMatch(/allowedModels is a deploy-time list .* checked at synth time; the handler enforces/);
  });

  test('an SSM StringList parameter is passed through the same way', () => {
    const { stack, secret } = newStack();
    const list = ssm.StringListParameter.valueForTypedListParameter(stack, '/platform/llm/models');
    routerIn(stack, secret, 'R', { allowedModels: list });
    const joined = functionEnv(Template.fromStack(stack)).LLM_GATEWAY_ALLOWED_MODELS;
    expect(joined['Fn::Join'][0]).toBe(',');
    expect(JSON.stringify(joined)).toContain('Ref');
  });

  test('the token-free parts of an entry holding a token are still checked (EU residency)', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const extra = new CfnParameter(stack, 'Extra', { type: 'String' });
    const message = errorOf(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, allowedModels: [`${extra.valueAsString}, gpt-5`] }));
    expect(message).toMatch(/allowedModels: "gpt-5" is an OpenAI GPT model, and the EU endpoint does not serve/);
  });

  test('a literal entry with a comma is refused: the handler would read two ids', () => {
    const { stack, secret } = newStack();
    const message = errorOf(() => routerIn(stack, secret, 'R', { allowedModels: ['claude-sonnet-4-6,gpt-5'] }));
    expect(message).toMatch(/allowedModels: "claude-sonnet-4-6,gpt-5" contains a comma.*Fix: list each id as its own entry: \["claude-sonnet-4-6","gpt-5"\]/);
  });

  test('the handler trims a deploy-time "a, b" exactly as synth and the emulator split lists', () => {
    const raw = 'claude-sonnet-4-6, gemini-2.5-flash ,';
    expect(splitModelList(raw)).toEqual(['claude-sonnet-4-6', 'gemini-2.5-flash']);
    const config = loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: raw });
    expect(config.allowedModels).toEqual(['claude-sonnet-4-6', 'gemini-2.5-flash']);
    expect(config.allowedModelSet.has('gemini-2.5-flash')).toBe(true);
  });

  test('timeout as a token is refused with a message naming the prop and the fix, not a CDK unit error', () => {
    const { stack, secret } = newStack();
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number' });
    for (const timeout of [Duration.seconds(seconds.valueAsNumber), Duration.millis(seconds.valueAsNumber)]) {
      const message = errorOf(() => routerIn(stack, secret, `R${timeout.unitLabel()}`, { timeout }));
      expect(message).toMatch(/timeout: \(a deploy-time token\) cannot be a token: .*Fix: pass a literal Duration/);
    }
    const upstream = errorOf(() => routerIn(stack, secret, 'U', { upstreamTimeout: Duration.millis(seconds.valueAsNumber) }));
    expect(upstream).toMatch(/upstreamTimeout: \(a deploy-time token\) cannot be a token.*Fix: pass a literal Duration/);
  });

  test('stageName as a token is refused at construction, not with a CDK internal error at synth', () => {
    const { stack, secret } = newStack();
    const stage = new CfnParameter(stack, 'Stage', { type: 'String' });
    expect(errorOf(() => routerIn(stack, secret, 'R', { stageName: stage.valueAsString })))
      .toMatch(/R: stageName: \(a deploy-time token\) cannot be a token: .*Fix: pass a literal stage name/);
    expect(errorOf(() => routerIn(stack, secret, 'S', { stageName: Fn.ref('Stage') }))).toMatch(/stageName/);
  });
});
