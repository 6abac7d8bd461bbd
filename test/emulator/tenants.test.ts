import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingTenantPackages } from '../../src/emulator/tenants';
import { serve as serveCli } from '../support/cli';
import { FakeGateway } from '../support/fake-gateway';
import { rawRequest } from '../support/router-harness';

/** The emulator as a user starts it (test/support/cli.ts), answering at its root URL. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const { child, baseURL, output } = await serveCli(args, { ASSEMBLYAI_API_KEY: 'cli-key-0123456789abcdef' });
  return { child, url: baseURL.replace(/\/v1$/, ''), output };
}

describe('serve --tenants', () => {
  let gateway: FakeGateway;
  let file: string;
  beforeAll(async () => {
    gateway = await FakeGateway.start();
    // The tenants file a router reads with addTenantsFromFile, in YAML; locally a key is presented by its name.
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tenants-')), 'tenants.yaml');
    fs.writeFileSync(file, [
      'version: 1',
      'tenants:',
      '  - id: search',
      '    identities: [{ apiKey: search-secret-key }]',
      '    allowedModels: [claude-haiku-4-5-20251001]',
      '    requestsPerMinutePerModel: 1',
      '  - id: ml',
      '    identities:',
      '      - apiKey: ml-secret-key-old',
      '      - apiKey: ml-secret-key',
      '    dailyTokenLimit: 1500',
      '',
    ].join('\n'));
  });
  afterAll(() => gateway.close());

  test('x-api-key picks the tenant, as the key id does deployed; policy, rate and budget apply; the store is an embedded dynalite', async () => {
    const { child, url, output } = await serve(['--tenants', file, '--endpoint', gateway.url, '--allowed-models', 'claude-sonnet-4-6,claude-haiku-4-5-20251001']);
    try {
      expect(output()).toMatch(/tenants: search, ml; tenant budgets: embedded in-memory DynamoDB \(dynalite\) at http:\/\/127\.0\.0\.1:\d+/);
      const post = (key: string | undefined, body: unknown) =>
        rawRequest(`${url}/v1/chat/completions`, 'POST', JSON.stringify(body), key ? { 'x-api-key': key } : {});
      const chat = (model: string, extra = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

      const noKey = await post(undefined, chat('claude-haiku-4-5-20251001'));
      expect(noKey.status).toBe(403);
      expect(JSON.parse(noKey.body).error.code).toBe('INVALID_API_KEY');

      const secondsLeft = 60 - new Date().getUTCSeconds();
      if (secondsLeft < 3) await new Promise((resolve) => setTimeout(resolve, secondsLeft * 1000 + 100));
      expect((await post('search-secret-key', chat('claude-haiku-4-5-20251001'))).status).toBe(200);
      const limited = await post('search-secret-key', chat('claude-haiku-4-5-20251001'));
      expect(limited.status).toBe(429);
      expect(JSON.parse(limited.body).error.code).toBe('tenant_rate_limited');
      expect(JSON.parse((await post('search-secret-key', chat('claude-sonnet-4-6'))).body).error.code).toBe('model_not_allowed');

      // 1,500 tokens a day: the default 1,000 output tokens plus the body fit; 2,000 can never fit (400).
      expect((await post('ml-secret-key', chat('claude-sonnet-4-6'))).status).toBe(200);
      // A tenant with two keys (a rotation under way): either one identifies it.
      expect((await post('ml-secret-key-old', chat('claude-sonnet-4-6', { max_tokens: 10 }))).status).toBe(200);
      const over = await post('ml-secret-key', chat('claude-sonnet-4-6', { max_tokens: 2_000 }));
      expect(over.status).toBe(400);
      expect(JSON.parse(over.body).error.code).toBe('request_exceeds_budget');
      expect(gateway.requests).toHaveLength(3);
      // The log names tenants, never their keys.
      expect(output()).toContain('"tenant":"ml"');
      expect(output()).not.toContain('secret-key');
    } finally {
      child.kill('SIGTERM');
    }
  }, 40_000);

  test('a bad tenants file is refused at startup naming the file, the tenant and the field', async () => {
    const bad = path.join(path.dirname(file), 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ version: 1, tenants: [{ id: 'a', identities: [{ apiKey: 'k1' }] }, { id: 'b', identities: [{ apiKey: 'k1' }], monthlyBudgetUsd: '5' }] }));
    await expect(serve(['--tenants', bad])).rejects.toThrow(`--tenants ${bad}: tenants[1] (b): monthlyBudgetUsd: "5" is not a positive number`);
    fs.writeFileSync(bad, JSON.stringify({ version: 1, tenants: [{ id: 'a', identities: [{ apiKey: 'k1' }] }, { id: 'b', identities: [{ apiKey: 'k1' }] }] }));
    await expect(serve(['--tenants', bad])).rejects.toThrow(`--tenants ${bad}: tenant b: the API key "k1" also identifies another tenant`);
  });
});

describe('serve --tenants right after `npm install cdk-llm-gateway-router`', () => {
  test('names every missing package in one command', () => {
    const none = () => {
      throw new Error('Cannot find module');
    };
    expect(missingTenantPackages(undefined, none)).toBe('--tenants needs @aws-sdk/client-dynamodb and dynalite, which are not installed: '
      + 'run `npm install --save-dev @aws-sdk/client-dynamodb dynalite`');
    // With a DynamoDB endpoint, dynalite is not needed.
    expect(missingTenantPackages('http://localhost:8000', none)).toBe('--tenants needs @aws-sdk/client-dynamodb, which is not installed: run `npm install --save-dev @aws-sdk/client-dynamodb`');
    expect(missingTenantPackages(undefined, () => '/found')).toBeUndefined();
  });
});
