import { Template } from 'aws-cdk-lib/assertions';
import { errorOf, EU_ENV, functionEnv, newStack, routerIn, warnings } from './helpers';
import { GatewayRegion } from '../../src';

describe('the egressProxy prop', () => {
  test('reaches the function as LLM_GATEWAY_EGRESS_PROXY; the endpoint stays the region\'s gateway', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    routerIn(stack, secret, 'R', { region: GatewayRegion.EU, egressProxy: 'http://proxy.corp.example:3128' });
    const env = functionEnv(Template.fromStack(stack));
    expect(env.LLM_GATEWAY_EGRESS_PROXY).toBe('http://proxy.corp.example:3128');
    expect(env.LLM_GATEWAY_ENDPOINT).toBe('https://llm-gateway.eu.assemblyai.com');
    expect(env.LLM_GATEWAY_CUSTOM_ENDPOINT).toBeUndefined();
    expect(warnings(stack).filter((w) => /egressProxy|proxy/i.test(w))).toEqual([]);
  });

  test('is absent by default', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'R');
    expect(functionEnv(Template.fromStack(stack)).LLM_GATEWAY_EGRESS_PROXY).toBeUndefined();
  });

  test.each(['proxy.corp:3128', 'socks5://proxy.corp:1080', 'not a url'])('%s is refused, naming the prop and the fix', (value) => {
    const { stack, secret } = newStack();
    expect(errorOf(() => routerIn(stack, secret, 'R', { egressProxy: value })))
      .toMatch(/R: egressProxy: \(the given value\) is not an http\(s\) URL of a proxy\. Fix: pass the proxy's URL, such as http:\/\/proxy\.corp\.example:3128/);
  });

  test('a URL with a path is refused', () => {
    const { stack, secret } = newStack();
    expect(errorOf(() => routerIn(stack, secret, 'R', { egressProxy: 'http://proxy.corp:3128/tunnel' })))
      .toMatch(/egressProxy: proxy\.corp:3128 has a path.*Fix: use http:\/\/proxy\.corp:3128/);
  });

  test('credentials in the URL are allowed with a warning that they sit in the environment in clear, without repeating them', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'R', { egressProxy: 'http://svc:s3cret@proxy.corp:3128' });
    const text = warnings(stack).join('\n');
    expect(text).toMatch(/egressProxy: the proxy URL for proxy\.corp:3128 carries credentials; they are stored in clear in the function's environment/);
    expect(text).not.toContain('s3cret');
  });
});

describe('the 4 KB environment check counts every variable', () => {
  // 300 ids of a known provider the catalog does not list (accepted on a US router, no rules):
  // the list alone fits; the proxy URL, another variable, tips the total over Lambda's limit.
  const ids = Array.from({ length: 300 }, (_, i) => `gpt-x-${String(i).padStart(4, '0')}`);
  const proxy = `http://${'p'.repeat(60)}.${'q'.repeat(60)}.corp.example:3128`;

  test('a list that fits on its own is accepted', () => {
    const { stack, secret } = newStack();
    expect(errorOf(() => routerIn(stack, secret, 'R', { allowedModels: ids }))).toBe('');
  });

  test('the same list with a long egressProxy URL is refused, naming the list and the fix', () => {
    const { stack, secret } = newStack();
    expect(errorOf(() => routerIn(stack, secret, 'R', { allowedModels: ids, egressProxy: proxy })))
      .toMatch(/allowedModels: \(300 models\) need \d+ bytes of the function's 4 KB environment \(every variable.*Fix: list fewer models/);
  });
});
