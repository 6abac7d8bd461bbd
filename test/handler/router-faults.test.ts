import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { Template } from 'aws-cdk-lib/assertions';
import { routerEnvironment } from '../../src/emulator/config';
import { installLambdaRuntimeShim } from '../../src/emulator/runtime-shim';
import { createRouterHandler } from '../../src/handler/app';
import { functionEnv, newStack, routerIn } from '../construct/helpers';
import { FakeGateway } from '../support/fake-gateway';
import { invoke } from '../support/in-process';
import { StdoutCapture } from '../support/stdout-capture';

installLambdaRuntimeShim();
const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());
beforeEach(() => stdout.clear());

const CHAT = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'CANARY-PROMPT-e1f2' }] });
const ACCOUNT = '123456789012';
const SECRET_ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:llm-gateway-key-AbCdEf`;
const ROLE = `arn:aws:sts::${ACCOUNT}:assumed-role/PlatformRouterRole/platform-router-fn`;
/** What the Secrets Manager SDK throws when the role may not read the secret. */
function accessDenied(): Error {
  const err = new Error(`User: ${ROLE} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${SECRET_ARN} because no identity-based policy allows the secretsmanager:GetSecretValue action`);
  err.name = 'AccessDeniedException';
  return err;
}

function errorOf(body: string): { message: string; type: string; code: string } {
  return JSON.parse(body).error;
}

describe('the router\'s own failures', () => {
  test('a secret that cannot be read: 500 secret_unavailable with the request id only; the log has the class and the SDK error; RouterErrors counts it', async () => {
    const gateway = await FakeGateway.start();
    try {
      const env = routerEnvironment({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'], routerName: 'platform-us' });
      const handler = createRouterHandler(env, { apiKeyProvider: () => Promise.reject(accessDenied()) });
      const res = await invoke(handler, CHAT, { requestId: 'req-secret-1' });
      expect(res.status).toBe(500);
      expect(errorOf(res.body)).toEqual({ message: 'The router failed to process the request (request id req-secret-1).', type: 'api_error', param: null, code: 'secret_unavailable' });
      for (const leak of [ACCOUNT, 'arn:aws', 'PlatformRouterRole', 'AccessDenied', 'secretsmanager']) expect(res.body).not.toContain(leak);
      expect(gateway.requests).toHaveLength(0);

      const [log] = stdout.requestLogs;
      expect(log).toMatchObject({ request_id: 'req-secret-1', status: 500, router_error: 'secret_unavailable', level: 'ERROR' });
      expect(log.error_detail).toContain('AccessDeniedException');
      expect(log.error_detail).toContain(SECRET_ARN);
      const [doc] = stdout.emf;
      expect(doc).toMatchObject({ service: 'platform-us', ErrorClass: 'secret_unavailable', RouterErrors: 1, Requests: 1 });
      expect(doc.UpstreamErrors).toBeUndefined();
      expect(stdout.lines.join('\n')).not.toContain('CANARY-PROMPT-e1f2');
    } finally {
      await gateway.close();
    }
  });

  test('the RouterErrors alarm reads the metric the handler writes when the secret cannot be read (same namespace, name and dimensions)', async () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Router', { routerName: 'platform-us', metricsNamespace: 'Platform/Llm', allowedModels: ['gpt-5'] }).addAlarms('Alarms');
    const template = Template.fromStack(stack);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    const alarm = alarms.find((a) => a.Properties.MetricName === 'RouterErrors');
    expect(alarm).toBeDefined();
    expect(alarm.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Sum' });

    // The environment the construct gives the function (the secret's ARN is a token: the failing provider stands in for it).
    const env = { ...functionEnv(template), LLM_GATEWAY_API_KEY_SECRET_ARN: SECRET_ARN };
    const handler = createRouterHandler(env, { apiKeyProvider: () => Promise.reject(accessDenied()) });
    expect((await invoke(handler, CHAT)).status).toBe(500);

    const [doc] = stdout.emf;
    const emf = doc._aws.CloudWatchMetrics[0];
    expect(emf.Namespace).toBe(alarm.Properties.Namespace);
    expect(emf.Metrics.map((m: any) => m.Name)).toContain(alarm.Properties.MetricName);
    const alarmDimensions = alarm.Properties.Dimensions as Array<{ Name: string; Value: string }>;
    expect(emf.Dimensions).toContainEqual(alarmDimensions.map((d) => d.Name));
    for (const d of alarmDimensions) expect(doc[d.Name]).toBe(d.Value);
    expect(doc[alarm.Properties.MetricName]).toBeGreaterThan(alarm.Properties.Threshold);
  });

  test('a misconfigured function: 500 router_misconfigured without the variable or its value; the log has both', async () => {
    const endpoint = 'https://llm-egress.corp.internal:8443/private-route';
    const handler = createRouterHandler({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ENDPOINT: endpoint, LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5', POWERTOOLS_SERVICE_NAME: 'broken' }, { apiKeyProvider: async () => 'k-0123456789abcdef' });
    for (const [method, path, body] of [['POST', '/v1/chat/completions', CHAT], ['GET', '/v1/models', '']]) {
      stdout.clear();
      const res = await invoke(handler, body, { method, path, requestId: 'req-conf-1' });
      expect(res.status).toBe(500);
      expect(errorOf(res.body)).toMatchObject({ message: 'The router failed to process the request (request id req-conf-1).', code: 'router_misconfigured' });
      for (const leak of ['llm-egress', 'corp.internal', '8443', 'private-route', 'LLM_GATEWAY_ENDPOINT']) expect(res.body).not.toContain(leak);
      const [log] = stdout.requestLogs;
      expect(log).toMatchObject({ router_error: 'misconfigured' });
      expect(log.error_detail).toContain(`LLM_GATEWAY_ENDPOINT=${endpoint}`);
      expect(stdout.emf[0]).toMatchObject({ ErrorClass: 'misconfigured', RouterErrors: 1 });
    }
  });

  test('a gateway key shorter than 16 characters is refused before anything is sent: 500 router_misconfigured, the log says why, never the key', async () => {
    const gateway = await FakeGateway.start();
    try {
      const env = routerEnvironment({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
      const res = await invoke(createRouterHandler(env, { apiKeyProvider: async () => 'PLACEHOLDER' }), CHAT, { requestId: 'req-short-1' });
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body).error.code).toBe('router_misconfigured');
      expect(gateway.requests).toHaveLength(0);
      const log = stdout.requestLogs.at(-1);
      expect(log).toMatchObject({ router_error: 'misconfigured', error_detail: 'the gateway key is 11 characters; a gateway key has at least 16' });
      expect(stdout.lines.join('\n')).not.toContain('PLACEHOLDER');
    } finally {
      await gateway.close();
    }
  });

  test('a function without the secret\'s ARN is misconfigured (not a secret that failed to load)', async () => {
    const env = routerEnvironment({ region: 'us', endpoint: 'http://127.0.0.1:9', allowedModels: ['gpt-5'] });
    const res = await invoke(createRouterHandler(env), CHAT);
    expect(res.status).toBe(500);
    expect(errorOf(res.body).code).toBe('router_misconfigured');
    expect(stdout.requestLogs[0]).toMatchObject({ router_error: 'misconfigured', error_detail: expect.stringContaining('LLM_GATEWAY_API_KEY_SECRET_ARN is not set') });
  });

  test('an unexpected error: 500 internal_error; the log names the error and where it was thrown, not its message, the key or the prompt', async () => {
    const gateway = await FakeGateway.start();
    // A key Node.js refuses as a header value makes the request throw inside the router.
    const key = 'CANARY-KEY-0123456789-77\nx';
    try {
      const env = routerEnvironment({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
      const res = await invoke(createRouterHandler(env, { apiKeyProvider: async () => key }), CHAT, { requestId: 'req-int-1' });
      expect(res.status).toBe(500);
      expect(errorOf(res.body)).toMatchObject({ message: 'The router failed to process the request (request id req-int-1).', code: 'internal_error' });
      const [log] = stdout.requestLogs;
      expect(log).toMatchObject({ router_error: 'internal' });
      expect(log.error_detail).toMatch(/^TypeError \[ERR_INVALID_CHAR\] at /);
      expect(stdout.emf[0]).toMatchObject({ ErrorClass: 'internal', RouterErrors: 1 });
      const everything = stdout.lines.join('\n') + res.body;
      for (const canary of ['CANARY-KEY-77', 'CANARY-PROMPT-e1f2', 'authorization']) expect(everything).not.toContain(canary);
    } finally {
      await gateway.close();
    }
  });

  test('an upstream that refuses connections: 502 "could not be reached" without host, port or address; the log has the socket error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const env = routerEnvironment({ region: 'us', endpoint: `http://127.0.0.1:${port}`, allowedModels: ['gpt-5'] });
    const res = await invoke(createRouterHandler(env, { apiKeyProvider: async () => 'k-0123456789abcdef' }), CHAT, { requestId: 'req-net-1' });
    expect(res.status).toBe(502);
    expect(errorOf(res.body)).toMatchObject({ message: 'The LLM Gateway could not be reached (request id req-net-1).', code: 'upstream_unreachable' });
    for (const leak of ['127.0.0.1', String(port), 'ECONNREFUSED', 'connect']) expect(res.body).not.toContain(leak);
    const [log] = stdout.requestLogs;
    expect(log).toMatchObject({ upstream_error: 'unreachable' });
    expect(log.router_error).toBeUndefined();
    expect(log.error_detail).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(stdout.emf[0]).toMatchObject({ ErrorClass: 'unreachable', UpstreamErrors: 1 });
    expect(stdout.emf[0].RouterErrors).toBeUndefined();
  });
});
