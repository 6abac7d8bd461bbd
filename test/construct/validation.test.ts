import { App, CfnParameter, Duration, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EU_ENV, newStack, routerIn, warnings } from './helpers';
import { GatewayRegion } from '../../src';

/** Every synth-time error names the prop, the bad value and the fix. */
function expectPropError(fn: () => unknown, prop: string, value: string, ...more: RegExp[]) {
  let message = '';
  try {
    fn();
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).not.toBe('');
  expect(message).toContain(`${prop}: ${value}`);
  expect(message).toMatch(/Fix: \S/);
  for (const pattern of more) expect(message).toMatch(pattern);
}

/** The template's Rules other than the CDK's own bootstrap-version check. */
function residencyRules(stack: Stack): Record<string, any> {
  const rules = { ...(Template.fromStack(stack).toJSON().Rules ?? {}) };
  delete rules.CheckBootstrapVersion;
  return rules;
}

describe('synth-time validation', () => {
  test('EU with global routing is refused: it would abandon residency', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    expectPropError(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, globalRouting: true }), 'globalRouting', 'true', /abandon EU data residency/, /GatewayRegion.US/);
  });

  test.each(['gpt-5', 'qwen3-32B', 'kimi-k2.5'])('EU with %s is refused, listing what EU serves', (id) => {
    const { stack, secret } = newStack({ env: EU_ENV });
    expectPropError(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, allowedModels: ['claude-sonnet-4-6', id] }),
      'allowedModels', JSON.stringify(id), /the EU endpoint does not serve/, /Anthropic Claude, Google Gemini/, /claude-opus-4-6/);
  });

  test('an empty allow-list is refused', () => {
    const { stack, secret } = newStack();
    expectPropError(() => routerIn(stack, secret, 'R', { allowedModels: [] }), 'allowedModels', '[]', /refuse every request/);
  });

  test('an id with whitespace is refused, naming the trimmed id', () => {
    const { stack, secret } = newStack();
    expectPropError(() => routerIn(stack, secret, 'R', { allowedModels: [' gpt-5'] }), 'allowedModels', '" gpt-5"', /whitespace/, /"gpt-5"/);
  });

  test('an id that differs from a known id only in case is refused, naming the exact id', () => {
    const { stack, secret } = newStack();
    expectPropError(() => routerIn(stack, secret, 'R', { allowedModels: ['qwen3-32b'] }), 'allowedModels', '"qwen3-32b"', /letter case/, /use "qwen3-32B"/);
    expectPropError(() => routerIn(stack, secret, 'S', { allowedModels: ['GPT-5'] }), 'allowedModels', '"GPT-5"', /use "gpt-5"/);
  });

  test('an id with no known provider prefix is refused, naming the known providers', () => {
    const { stack, secret } = newStack();
    expectPropError(() => routerIn(stack, secret, 'R', { allowedModels: ['llama-4'] }), 'allowedModels', '"llama-4"', /no known provider/, /Anthropic Claude \(claude-...\)/, /Moonshot AI Kimi/);
  });

  test('a duplicate id is refused', () => {
    const { stack, secret } = newStack();
    expectPropError(() => routerIn(stack, secret, 'R', { allowedModels: ['gpt-5', 'gpt-5'] }), 'allowedModels', '"gpt-5"', /twice/);
  });

  test('an unlisted id with a known prefix is accepted with a warning naming a close known id', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'R', { allowedModels: ['claude-sonet-4-6', 'gpt-7'] });
    const text = warnings(stack).join('\n');
    expect(text).toMatch(/"claude-sonet-4-6" is an Anthropic Claude id the catalog does not list yet.*Did you mean "claude-sonnet-4-6"\?/);
    expect(text).toMatch(/"gpt-7" is an OpenAI GPT id the catalog does not list yet/);
    expect(text).not.toMatch(/"gpt-7".*Did you mean/);
  });

  test('global routing with no model that accepts it warns', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'R', { globalRouting: true, allowedModels: ['qwen3-32B'] });
    expect(warnings(stack).join('\n')).toMatch(/no model in allowedModels accepts global routing/);
  });

  test('global routing with a model that accepts it does not warn', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'R', { globalRouting: true, allowedModels: ['qwen3-32B', 'claude-opus-4-7'] });
    expect(warnings(stack).join('\n')).not.toMatch(/global routing/);
  });

  test('token entries in the allow-list are accepted with a warning', () => {
    const { stack, secret } = newStack();
    const extra = new CfnParameter(stack, 'ExtraModel', { type: 'String' });
    routerIn(stack, secret, 'R', { allowedModels: ['gpt-5', extra.valueAsString] });
    expect(warnings(stack).join('\n')).toMatch(/contains a token/);
  });

  test('out-of-range numbers and durations are refused', () => {
    const { stack, secret } = newStack();
    expectPropError(() => routerIn(stack, secret, 'A', { timeout: Duration.minutes(20) }), 'timeout', '20 minutes', /15 minutes/);
    expectPropError(() => routerIn(stack, secret, 'B', { timeout: Duration.minutes(1), upstreamTimeout: Duration.minutes(1) }), 'upstreamTimeout', '1 minute', /shorter than timeout/);
    expectPropError(() => routerIn(stack, secret, 'C', { maxRequestBodySize: Size.mebibytes(20) }), 'maxRequestBodySize', `${20 * 1024 * 1024} bytes`, /10 MiB/);
    expectPropError(() => routerIn(stack, secret, 'D', { throttlingRateLimit: 0 }), 'throttlingRateLimit', '0', /between 1 and 10000/);
    expectPropError(() => routerIn(stack, secret, 'E', { memorySize: 64 }), 'memorySize', '64', /128 to 10240/);
    expectPropError(() => routerIn(stack, secret, 'F', { routerName: 'has spaces' }), 'routerName', '"has spaces"', /platform-eu/);
    expectPropError(() => routerIn(stack, secret, 'G', { customEndpoint: 'ftp://x' }), 'customEndpoint', '"ftp://x"', /http\(s\) URL/);
  });

  test.each(['http://llm-proxy.internal.example/llm', 'http://10.0.0.5:8080', 'http://localhost.example.com'])(
    'a plain-http customEndpoint %s is refused: the gateway key would travel in clear text', (endpoint) => {
      const { stack, secret } = newStack();
      expectPropError(() => routerIn(stack, secret, 'Proxy', { customEndpoint: endpoint }), 'customEndpoint', JSON.stringify(endpoint),
        /uses plain http, so the gateway key would travel in clear text/, /Fix: use https \("https:\/\//, /loopback addresses \(localhost, 127\.0\.0\.0\/8, \[::1\]\)/);
    });

  test('the fix for a plain-http customEndpoint keeps its host and path', () => {
    const { stack, secret } = newStack();
    expectPropError(() => routerIn(stack, secret, 'Proxy', { customEndpoint: 'http://proxy.example:8080/llm' }), 'customEndpoint', '"http://proxy.example:8080/llm"',
      /Fix: use https \("https:\/\/proxy\.example:8080\/llm"\)/);
  });

  test.each(['http://127.0.0.1:4010', 'http://localhost:4010/llm', 'http://[::1]:4010', 'https://proxy.example/llm'])(
    'customEndpoint %s is accepted (https, or plain http to loopback) and passed on with its path', (endpoint) => {
      const { stack, secret } = newStack();
      routerIn(stack, secret, 'Proxy', { customEndpoint: endpoint });
      const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).find((f: any) => f.Properties.Environment?.Variables?.LLM_GATEWAY_ENDPOINT) as any;
      expect(fn.Properties.Environment.Variables.LLM_GATEWAY_ENDPOINT).toBe(endpoint);
    });
});

describe('residency of the router itself', () => {
  test.each(['eu-west-2', 'eu-central-2', 'us-east-1'])('an EU router in a stack in %s fails synth, naming the allowed regions', (region) => {
    const { stack, secret } = newStack({ env: { account: '111111111111', region } });
    expectPropError(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU }), 'region', 'GatewayRegion.EU',
      new RegExp(`in ${region}, which is not an EU member-state AWS region`), /eu-west-1, eu-west-3, eu-central-1, eu-north-1, eu-south-1, eu-south-2, eusc-de-east-1/, /additionalDeploymentRegions/);
  });

  test.each(['eu-west-1', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eusc-de-east-1'])('an EU router may be deployed in %s', (region) => {
    const { stack, secret } = newStack({ env: { account: '111111111111', region } });
    expect(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU })).not.toThrow();
  });

  test('additionalDeploymentRegions widens the list explicitly', () => {
    const { stack, secret } = newStack({ env: { account: '111111111111', region: 'eu-west-2' } });
    expect(() => routerIn(stack, secret, 'R', { region: GatewayRegion.EU, additionalDeploymentRegions: ['eu-west-2'] })).not.toThrow();
  });

  test('an environment-agnostic stack gets a CloudFormation Rule that fails outside the allowed regions', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const secret = new secretsmanager.Secret(stack, 'Key');
    routerIn(stack, secret, 'R', { region: GatewayRegion.EU });
    const rules = residencyRules(stack);
    const [rule] = Object.values(rules) as any[];
    expect(Object.keys(rules)).toHaveLength(1);
    const assertion = rule.Assertions[0];
    expect(assertion.Assert).toEqual({ 'Fn::Contains': [['eu-west-1', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eusc-de-east-1'], { Ref: 'AWS::Region' }] });
    expect(assertion.AssertDescription).toMatch(/may only be deployed in/);
  });

  test('a US router in an agnostic stack gets no rule', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const secret = new secretsmanager.Secret(stack, 'Key');
    routerIn(stack, secret, 'R');
    expect(residencyRules(stack)).toEqual({});
  });

  test('two EU routers in one agnostic stack each carry their own rule', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const secret = new secretsmanager.Secret(stack, 'Key');
    routerIn(stack, secret, 'A', { region: GatewayRegion.EU });
    routerIn(stack, secret, 'B', { region: GatewayRegion.EU });
    expect(Object.keys(residencyRules(stack))).toHaveLength(2);
  });
});
