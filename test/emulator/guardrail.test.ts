import { ChildProcess } from 'node:child_process';
import OpenAI from 'openai';
import { localGuardrail, missingGuardrailPackages } from '../../src/emulator/guardrail';
import { LocalGuardrail } from '../support/bedrock-guardrail';
import { runToExit, serve } from '../support/cli';
import { FakeGateway, respondWith } from '../support/fake-gateway';

const KEY = { ASSEMBLYAI_API_KEY: 'cli-key-0123456789abcdef' };

describe('serve --guardrail', () => {
  test('runs the bundled handler with the real Bedrock client against --bedrock-endpoint: prompts and answers checked', async () => {
    const gateway = await FakeGateway.start(respondWith({ parts: ['write to ann@example.com'] }));
    const guardrail = await LocalGuardrail.start();
    let child: ChildProcess | undefined;
    try {
      const started = await serve(
        ['--allowed-models', 'gpt-5', '--endpoint', gateway.url, '--guardrail', 'abc123def456:7', '--guardrail-region', 'us-west-2', '--bedrock-endpoint', guardrail.url],
        { ...KEY, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
      );
      child = started.child;
      expect(started.output()).toContain(`guardrail: abc123def456 version 7 in us-west-2 via ${guardrail.url}; prompts and answers (stream windows of 1000 characters); fails closed`);
      const client = new OpenAI({ baseURL: started.baseURL, apiKey: 'x', maxRetries: 0 });
      const refused = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'FORBIDDEN' }] }).catch((e) => e);
      expect(refused.status).toBe(400);
      expect(refused.error.code).toBe('guardrail_blocked');
      expect(gateway.requests).toHaveLength(0);
      const masked = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(masked.choices[0].message.content).toBe('write to {EMAIL}');
      expect(guardrail.calls.map((c) => [c.id, c.version, c.source])).toEqual([['abc123def456', '7', 'INPUT'], ['abc123def456', '7', 'INPUT'], ['abc123def456', '7', 'OUTPUT']]);
      // Signed by the real client (SigV4), for the guardrail's region.
      expect(String(guardrail.calls[0].headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=LOCALGUARDRAIL\/\d{8}\/us-west-2\/bedrock\/aws4_request/);
    } finally {
      child?.kill('SIGTERM');
      await gateway.close();
      await guardrail.close();
    }
  });

  test('refuses an EU router\'s guardrail outside the EU, and a malformed flag, in one line', async () => {
    const eu = await runToExit(['serve', '--region', 'eu', '--guardrail', 'abc123:1', '--guardrail-region', 'eu-west-2']);
    expect(eu.code).toBe(2);
    expect(eu.out.trim()).toBe('llm-gateway-router: --guardrail: an EU router\'s guardrail must be checked in an EU member state\'s region (eu-west-1, eu-west-3, eu-central-1, eu-north-1, eu-south-1, eu-south-2, eusc-de-east-1), got eu-west-2');
    const malformed = await runToExit(['serve', '--guardrail', 'abc123']);
    expect(malformed.out.trim()).toBe('llm-gateway-router: --guardrail must be ID:VERSION (for example abc123def456:1, or an ARN and :DRAFT), got "abc123"');
    const orphan = await runToExit(['serve', '--bedrock-endpoint', 'http://127.0.0.1:1']);
    expect(orphan.out.trim()).toBe('llm-gateway-router: --bedrock-endpoint and --guardrail-region need --guardrail ID:VERSION');
  });
});

describe('localGuardrail', () => {
  test('an ARN\'s region is the default; the environment\'s region after it', () => {
    expect(localGuardrail({ guardrail: 'arn:aws:bedrock:eu-west-3:123456789012:guardrail/abc:DRAFT' }, 'eu', {}).spec)
      .toEqual({ id: 'arn:aws:bedrock:eu-west-3:123456789012:guardrail/abc', v: 'DRAFT', r: 'eu-west-3', out: true, win: 1000, ms: 3000 });
    expect(localGuardrail({ guardrail: 'abc:2' }, 'us', { AWS_REGION: 'us-east-2' }).spec.r).toBe('us-east-2');
    expect(() => localGuardrail({ guardrail: 'abc:2' }, 'us', {})).toThrow('--guardrail needs a region: pass --guardrail-region (or set AWS_REGION)');
  });

  test('a plain-http Bedrock endpoint is accepted only on a loopback address, and gets throwaway credentials only there', () => {
    expect(() => localGuardrail({ guardrail: 'abc:1', region: 'us-east-1', bedrockEndpoint: 'http://bedrock.internal' }, 'us', {}))
      .toThrow('--bedrock-endpoint must be an https URL (plain http only to a loopback address), got "http://bedrock.internal"');
    expect(localGuardrail({ guardrail: 'abc:1', region: 'us-east-1', bedrockEndpoint: 'http://127.0.0.1:9/' }, 'us', {}))
      .toMatchObject({ bedrockEndpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'LOCALGUARDRAIL' } });
    expect(localGuardrail({ guardrail: 'abc:1', region: 'us-east-1', bedrockEndpoint: 'https://vpce.example' }, 'us', {}).credentials).toBeUndefined();
  });

  test('names the packages to install when the Bedrock client is missing', () => {
    expect(missingGuardrailPackages(() => {
      throw new Error('not found');
    })).toBe('--guardrail needs @aws-sdk/client-bedrock-runtime and @smithy/node-http-handler, which are not installed: run `npm install --save-dev @aws-sdk/client-bedrock-runtime @smithy/node-http-handler`');
    expect(missingGuardrailPackages(() => 'found')).toBeUndefined();
  });
});
