import { Template } from 'aws-cdk-lib/assertions';
import { GatewayRegion } from '../../src';
import { routerEnvironment } from '../../src/emulator/config';
import { loadConfig } from '../../src/handler/config';
import { EU_ENV, newStack, routerIn } from '../construct/helpers';
import { FakeGateway } from '../support/fake-gateway';
import { rawRequest, startRouter, TEST_KEY } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

// The gateway's transcript-based API (AssemblyAI/assemblyai-api-spec, llm-gateway.yml: POST /v1/understanding).
const REQUEST = { transcript_id: 'tr_0123', speech_understanding: { request: { translation: { target_languages: ['de'] } } } };
const ANSWER = { request_id: 'u-1', speech_understanding: { response: { translation: { status: 'success' } } } };

// The handler's metrics and log lines, kept out of the test output.
const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

describe('POST /v1/understanding', () => {
  let gateway: FakeGateway;
  beforeAll(async () => {
    gateway = await FakeGateway.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ANSWER));
    });
  });
  afterAll(() => gateway.close());
  beforeEach(() => {
    gateway.requests.length = 0;
  });

  test('without transcript access: 403 transcript_access_disabled, nothing upstream', async () => {
    const router = await startRouter({ region: 'us', endpoint: gateway.url });
    try {
      const res = await rawRequest(`${router.url}/v1/understanding`, 'POST', JSON.stringify(REQUEST));
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error).toMatchObject({ code: 'transcript_access_disabled', type: 'permission_error' });
      expect(gateway.requests).toHaveLength(0);
    } finally {
      await router.close();
    }
  });

  test('with transcript access: the body goes to the endpoint\'s /v1/understanding with the key, and the answer comes back', async () => {
    const router = await startRouter({ region: 'eu', endpoint: `${gateway.url}/eu-mirror`, transcriptAccess: true });
    try {
      const res = await rawRequest(`${router.url}/v1/understanding`, 'POST', JSON.stringify(REQUEST));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual(ANSWER);
      expect(gateway.requests).toHaveLength(1);
      expect(gateway.requests[0]).toMatchObject({ method: 'POST', path: '/eu-mirror/v1/understanding', json: REQUEST });
      expect(gateway.requests[0].headers.authorization).toBe(TEST_KEY);
    } finally {
      await router.close();
    }
  });

  test.each([
    ['model_region on an EU router', 'eu', { ...REQUEST, model_region: 'global' }, 403, 'residency_violation'],
    ['model_region on a US router', 'us', { ...REQUEST, model_region: 'global' }, 400, 'invalid_field'],
    ['a model (the route has no allow-list to check it against)', 'us', { ...REQUEST, model: 'gpt-5' }, 400, 'invalid_field'],
    ['fallbacks', 'eu', { ...REQUEST, fallbacks: [{ model: 'gpt-5' }] }, 400, 'invalid_field'],
    ['no transcript_id', 'us', { speech_understanding: REQUEST.speech_understanding }, 400, 'invalid_type'],
    ['no speech_understanding', 'us', { transcript_id: 'tr_0123' }, 400, 'invalid_type'],
    ['a folded routing key', 'us', { ...REQUEST, Transcript_ID: 'tr_other' }, 400, 'invalid_field'],
  ] as const)('refuses %s, nothing upstream', async (_name, region, body, status, code) => {
    const router = await startRouter({ region, endpoint: gateway.url, transcriptAccess: true });
    try {
      const res = await rawRequest(`${router.url}/v1/understanding`, 'POST', JSON.stringify(body));
      expect(res.status).toBe(status);
      expect(JSON.parse(res.body).error.code).toBe(code);
      expect(gateway.requests).toHaveLength(0);
    } finally {
      await router.close();
    }
  });

  test('the emulator answers as the deployed API: no such route without transcript access, the validator with it', async () => {
    const closed = await startRouter({ region: 'us', endpoint: gateway.url }, { apiGatewayChecks: true });
    const open = await startRouter({ region: 'us', endpoint: gateway.url, transcriptAccess: true }, { apiGatewayChecks: true });
    try {
      const missing = await rawRequest(`${closed.url}/v1/understanding`, 'POST', JSON.stringify(REQUEST));
      expect(missing.status).toBe(403);
      expect(JSON.parse(missing.body).error).toMatchObject({ message: 'Missing Authentication Token', code: 'MISSING_AUTHENTICATION_TOKEN' });
      const invalid = await rawRequest(`${open.url}/v1/understanding`, 'POST', JSON.stringify({ transcript_id: 'tr_0123' }));
      expect(invalid.status).toBe(400);
      expect(JSON.parse(invalid.body).error).toMatchObject({ message: 'Invalid request body', code: 'BAD_REQUEST_BODY' });
      expect(gateway.requests).toHaveLength(0);
    } finally {
      await closed.close();
      await open.close();
    }
  });

  test('an EU router\'s understanding URL is the EU gateway\'s', () => {
    const config = loadConfig(routerEnvironment({ region: 'eu', transcriptAccess: true, allowedModels: ['claude-sonnet-4-6'] }));
    expect(config.understandingUrl.href).toBe('https://llm-gateway.eu.assemblyai.com/v1/understanding');
  });

  test('the construct adds the route only to routers with transcript access, validated by its own request model', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    routerIn(stack, secret, 'Closed', { region: GatewayRegion.EU, allowedModels: ['claude-sonnet-4-6'] });
    routerIn(stack, secret, 'Open', { region: GatewayRegion.EU, allowedModels: ['claude-sonnet-4-6'], transcriptAccess: true });
    const template = Template.fromStack(stack);
    const parts = Object.entries(template.findResources('AWS::ApiGateway::Resource'))
      .filter(([, r]: [string, any]) => r.Properties.PathPart === 'understanding')
      .map(([id]) => id);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatch(/^Open/);
    const models = Object.values(template.findResources('AWS::ApiGateway::Model')).map((m: any) => m.Properties.Name ?? m.Properties.Schema.required);
    expect(models).toContainEqual(['transcript_id', 'speech_understanding']);
  });
});
