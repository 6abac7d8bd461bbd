import { routerEnvironment } from '../../src/emulator/config';
import { createRouterHandler } from '../../src/handler/app';
import { FakeGateway, GatewayBehaviour, respondWith } from '../support/fake-gateway';
import { invoke } from '../support/in-process';
import { startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

/** A gateway behind a proxy that serves it under `/llm` only, as a path-routed egress proxy does. */
const mountedUnderLlm: GatewayBehaviour = (req, res, attempt) => {
  if (!req.path.startsWith('/llm/')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.path}` } }));
    return;
  }
  return respondWith()(req, res, attempt);
};

describe('a custom endpoint with a path', () => {
  test.each(['/llm', '/llm/'])('an endpoint ending in %s is called at /llm/v1/chat/completions', async (suffix) => {
    const gateway = await FakeGateway.start(mountedUnderLlm);
    const router = await startRouter({ region: 'us', endpoint: `${gateway.url}${suffix}`, allowedModels: ['gpt-5'] });
    try {
      const answer = await router.client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.choices[0].message.content).toBe('Hello!');
      expect(gateway.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /llm/v1/chat/completions']);
    } finally {
      await router.close();
      await gateway.close();
    }
  });
});

describe('a custom endpoint over plain http', () => {
  test('to a host that is not loopback: every request is refused with 500 router_misconfigured and nothing is sent', async () => {
    const env = { ...routerEnvironment({ region: 'us', endpoint: 'http://llm-proxy.internal.example/llm', allowedModels: ['gpt-5'] }), LLM_GATEWAY_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:k' };
    let keyReads = 0;
    const handler = createRouterHandler(env, { apiKeyProvider: async () => { keyReads++; return 'k'; } });
    stdout.clear();
    const res = await invoke(handler, JSON.stringify({ model: 'gpt-5', messages: [] }));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body).error.code).toBe('router_misconfigured');
    expect(res.body).not.toContain('llm-proxy.internal.example');
    expect(keyReads).toBe(0);
    expect(stdout.requestLogs[0].error_detail).toMatch(/LLM_GATEWAY_ENDPOINT must be an https URL \(plain http only to a loopback address\), got http:\/\/llm-proxy\.internal\.example\/llm/);
  });
});
