/**
 * The Secrets Manager key provider and the Lambda entry point, with the real
 * SDK v3 client reading from a local server that speaks Secrets Manager's
 * wire format, and the gateway intercepted (no gateway call).
 */
import { secretsManagerKeyProvider } from '../../src/handler/secret';
import { invoke } from '../support/in-process';
import { interceptUpstream } from '../support/intercept-upstream';
import { LocalSecretsManager } from '../support/local-secrets-manager';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const ARN = 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:gateway-key-AbCdEf';

let secrets: LocalSecretsManager;
beforeAll(async () => {
  secrets = await LocalSecretsManager.start();
});
afterAll(() => secrets.close());
beforeEach(() => {
  secrets.calls.length = 0;
  secrets.answer = { SecretString: 'local-key' };
});

const local = () => ({ endpoint: secrets.endpoint, region: 'eu-central-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

describe('secretsManagerKeyProvider', () => {
  test('reads the secret it was given, by id, and returns its string value', async () => {
    secrets.answer = { SecretString: 'gw-key-123-0123456789abcdef' };
    expect(await secretsManagerKeyProvider(ARN, local())()).toBe('gw-key-123-0123456789abcdef');
    expect(secrets.calls).toEqual([{ operation: 'GetSecretValue', input: { SecretId: ARN }, scope: expect.stringMatching(/^\d{8}\/eu-central-1\/secretsmanager\/aws4_request$/) }]);
  });

  test('trims whitespace and newlines around the value (a key pasted with a trailing newline)', async () => {
    const provider = secretsManagerKeyProvider(ARN, local());
    secrets.answer = { SecretString: '  gw-key-123\n' };
    expect(await provider()).toBe('gw-key-123');
    secrets.answer = { SecretString: '\tgw key 456 \r\n' };
    expect(await provider()).toBe('gw key 456');
  });

  test.each([
    ['an empty string', { SecretString: '' }],
    ['only whitespace', { SecretString: ' \n\t ' }],
    ['no string value (a binary secret)', { SecretBinary: Buffer.from([1, 2]).toString('base64') }],
  ])('rejects %s', async (_name, answer) => {
    secrets.answer = answer;
    await expect(secretsManagerKeyProvider(ARN, local())()).rejects.toThrow('the gateway key secret has no string value');
    expect(secrets.calls).toHaveLength(1);
  });

  test('the SDK is not loaded until the first read (cold start does not pay for it); every call reads again (the cache above decides when), with the same client and connection', async () => {
    const loaded = () => Object.keys(require.cache).some((path) => path.includes('client-secrets-manager'));
    let provider!: ReturnType<typeof secretsManagerKeyProvider>;
    let before!: boolean;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fresh: typeof import('../../src/handler/secret') = require('../../src/handler/secret');
      provider = fresh.secretsManagerKeyProvider(ARN, local());
      before = loaded();
    });
    expect(before).toBe(false);
    const connectionsBefore = secrets.connections;
    secrets.answer = { SecretString: 'first' };
    expect(await provider()).toBe('first');
    expect(loaded()).toBe(true);
    secrets.answer = { SecretString: 'second' };
    expect(await provider()).toBe('second');
    expect(secrets.calls.map((c) => c.input)).toEqual([{ SecretId: ARN }, { SecretId: ARN }]);
    expect(secrets.connections - connectionsBefore).toBe(1);
  });

  test('a refused read propagates with the service\'s error (the handler answers that request with a 500 and tries again next time)', async () => {
    const provider = secretsManagerKeyProvider(ARN, local());
    secrets.answer = { error: 'AccessDeniedException', status: 400 };
    await expect(provider()).rejects.toMatchObject({ name: 'AccessDeniedException' });
    secrets.answer = { SecretString: 'k' };
    expect(await provider()).toBe('k');
  });

  test('a Secrets Manager that takes the request and never answers fails the read at the request timeout (5 s), not at the function\'s', async () => {
    secrets.answer = 'silence';
    const started = Date.now();
    // One attempt: the request timeout alone bounds it (the router makes two).
    const failure = await secretsManagerKeyProvider(ARN, { ...local(), maxAttempts: 1 })().then(() => undefined, (err: unknown) => err);
    const took = Date.now() - started;
    expect(failure).toMatchObject({ name: 'TimeoutError' });
    expect(took).toBeGreaterThanOrEqual(5_000);
    expect(took).toBeLessThan(10_000);
    expect(secrets.calls).toHaveLength(1);
  }, 15_000);
});

describe('the Lambda entry point (router.lambda.ts) with an EU environment', () => {
  const stdout = StdoutCapture.install();
  afterAll(() => stdout.restore());

  test('streamifies the router built from process.env: the key from the secret, the request to the EU endpoint', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      LLM_GATEWAY_REGION: 'eu',
      LLM_GATEWAY_ENDPOINT: 'https://llm-gateway.eu.assemblyai.com',
      LLM_GATEWAY_GLOBAL_ROUTING: 'false',
      LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6,gemini-2.5-flash',
      LLM_GATEWAY_API_KEY_SECRET_ARN: ARN,
      // What the Lambda runtime provides, here pointing the SDK at the local Secrets Manager.
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    });
    const streamify = jest.spyOn((globalThis as any).awslambda, 'streamifyResponse');
    const net = interceptUpstream({ passThroughHost: '127.0.0.1' });
    try {
      secrets.answer = { SecretString: 'eu-secret-key-0123456789abcdef\n' };
      let entry: { handler: Parameters<typeof invoke>[0] } | undefined;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        entry = require('../../src/handler/router.lambda');
      });
      expect(streamify).toHaveBeenCalledTimes(1);
      expect(entry!.handler).toBe(streamify.mock.results[0].value);

      const res = await invoke(entry!.handler, JSON.stringify({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(200);
      expect(res.headers['x-llm-gateway-region']).toBe('eu');
      expect(net.sent).toHaveLength(1);
      expect(net.sent[0].url.href).toBe('https://llm-gateway.eu.assemblyai.com/v1/chat/completions');
      expect(net.sent[0].headers.authorization).toBe('eu-secret-key-0123456789abcdef');
      expect(net.sent[0].body).not.toHaveProperty('model_region');
      expect(secrets.calls.map((c) => c.input)).toEqual([{ SecretId: ARN }]);

      const refused = await invoke(entry!.handler, JSON.stringify({ model: 'claude-sonnet-4-6', messages: [], model_region: 'global' }));
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body).error.code).toBe('residency_violation');
      expect(net.sent).toHaveLength(1);
    } finally {
      net.restore();
      streamify.mockRestore();
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});
