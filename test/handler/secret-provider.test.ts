/**
 * The Secrets Manager key provider and the Lambda entry point,
 * with the SDK mocked (no AWS call) and the network intercepted (no gateway call).
 */
// jest hoists jest.mock (below) above these imports: the provider sees the mocked SDK.
import { secretsManagerKeyProvider } from '../../src/handler/secret';
import { invoke } from '../support/in-process';
import { interceptUpstream } from '../support/intercept-upstream';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const send = jest.fn();
const commands: unknown[] = [];
const clients: unknown[] = [];

jest.mock('@aws-sdk/client-secrets-manager', () => ({
  SecretsManagerClient: jest.fn().mockImplementation((config: unknown) => {
    clients.push(config);
    return { send };
  }),
  GetSecretValueCommand: jest.fn().mockImplementation((input: unknown) => {
    const command = { input };
    commands.push(command);
    return command;
  }),
}));

const ARN = 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:gateway-key-AbCdEf';

beforeEach(() => {
  send.mockReset();
  commands.length = 0;
  clients.length = 0;
});

describe('secretsManagerKeyProvider', () => {
  test('reads the secret it was given, by id, and returns its string value', async () => {
    send.mockResolvedValue({ SecretString: 'gw-key-123-0123456789abcdef' });
    const key = await secretsManagerKeyProvider(ARN)();
    expect(key).toBe('gw-key-123-0123456789abcdef');
    expect(commands).toEqual([{ input: { SecretId: ARN } }]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(send).toHaveBeenCalledWith(commands[0]);
  });

  test('trims whitespace and newlines around the value (a key pasted with a trailing newline)', async () => {
    send.mockResolvedValue({ SecretString: '  gw-key-123\n' });
    expect(await secretsManagerKeyProvider(ARN)()).toBe('gw-key-123');
    send.mockResolvedValue({ SecretString: '\tgw key 456 \r\n' });
    expect(await secretsManagerKeyProvider(ARN)()).toBe('gw key 456');
  });

  test.each([['an empty string', ''], ['only whitespace', ' \n\t '], ['no string value (a binary secret)', undefined]])('rejects %s', async (_name, value) => {
    send.mockResolvedValue(value === undefined ? { SecretBinary: new Uint8Array([1, 2]) } : { SecretString: value });
    await expect(secretsManagerKeyProvider(ARN)()).rejects.toThrow(/no string value/);
  });

  test('one client and one command per provider; every call reads again (the cache above decides when)', async () => {
    send.mockResolvedValueOnce({ SecretString: 'first' }).mockResolvedValueOnce({ SecretString: 'second' });
    const provider = secretsManagerKeyProvider(ARN);
    expect(clients).toHaveLength(0); // nothing until the first read (cold start does not pay for the SDK)
    expect(await provider()).toBe('first');
    expect(await provider()).toBe('second');
    expect(clients).toHaveLength(1);
    expect(commands).toHaveLength(1);
    expect(send).toHaveBeenCalledTimes(2);
  });

  test('a failed read propagates (the handler answers that request with a 500 and tries again next time)', async () => {
    send.mockRejectedValueOnce(new Error('AccessDeniedException')).mockResolvedValueOnce({ SecretString: 'k' });
    const provider = secretsManagerKeyProvider(ARN);
    await expect(provider()).rejects.toThrow('AccessDeniedException');
    expect(await provider()).toBe('k');
  });
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
    });
    const streamify = jest.spyOn((globalThis as any).awslambda, 'streamifyResponse');
    const net = interceptUpstream();
    try {
      send.mockResolvedValue({ SecretString: 'eu-secret-key-0123456789abcdef\n' });
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
      expect(commands).toEqual([{ input: { SecretId: ARN } }]);

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
