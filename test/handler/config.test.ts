/**
 * The handler's configuration, read from the environment the construct sets:
 * the documented defaults (1 MiB, 120 s), the gateway's endpoints, and the
 * errors for everything else.
 */
import { loadConfig, RouterConfigError } from '../../src/handler/config';

describe('configuration edges', () => {
  const US = { LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5' };
  const EU = { LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' };

  test('defaults: the region\'s gateway, 1 MiB, 120 s, no global routing, no transcripts, no secret', () => {
    const us = loadConfig(US);
    expect(us.completionsUrl.href).toBe('https://llm-gateway.assemblyai.com/v1/chat/completions');
    expect(us).toMatchObject({ region: 'us', maxBodyBytes: 1_048_576, upstreamTimeoutMs: 120_000, globalRouting: false, transcriptAccess: false, apiKeySecretArn: undefined });
    expect(loadConfig(EU).completionsUrl.href).toBe('https://llm-gateway.eu.assemblyai.com/v1/chat/completions');
    expect(loadConfig({ ...US, LLM_GATEWAY_API_KEY_SECRET_ARN: '' }).apiKeySecretArn).toBeUndefined();
    expect(loadConfig({ ...US, LLM_GATEWAY_API_KEY_SECRET_ARN: 'arn:x' }).apiKeySecretArn).toBe('arn:x');
  });

  test('numbers: a positive integer, or the default when empty; anything else is an error', () => {
    expect(loadConfig({ ...US, LLM_GATEWAY_MAX_BODY_BYTES: '42', LLM_GATEWAY_UPSTREAM_TIMEOUT_MS: '1' })).toMatchObject({ maxBodyBytes: 42, upstreamTimeoutMs: 1 });
    expect(loadConfig({ ...US, LLM_GATEWAY_MAX_BODY_BYTES: '' }).maxBodyBytes).toBe(1_048_576);
    for (const bad of ['0', '-1', '1.5', 'abc', ' ', 'Infinity']) {
      expect(() => loadConfig({ ...US, LLM_GATEWAY_MAX_BODY_BYTES: bad })).toThrow(/LLM_GATEWAY_MAX_BODY_BYTES must be a positive integer/);
      expect(() => loadConfig({ ...US, LLM_GATEWAY_UPSTREAM_TIMEOUT_MS: bad })).toThrow(/LLM_GATEWAY_UPSTREAM_TIMEOUT_MS must be a positive integer/);
    }
  });

  test('flags: exactly "true" or "false"', () => {
    expect(loadConfig({ ...US, LLM_GATEWAY_GLOBAL_ROUTING: 'true' }).globalRouting).toBe(true);
    expect(loadConfig({ ...US, LLM_GATEWAY_TRANSCRIPT_ACCESS: 'true' }).transcriptAccess).toBe(true);
    expect(() => loadConfig({ ...US, LLM_GATEWAY_GLOBAL_ROUTING: 'True' })).toThrow(/LLM_GATEWAY_GLOBAL_ROUTING must be "true" or "false"/);
    expect(() => loadConfig({ ...EU, LLM_GATEWAY_GLOBAL_ROUTING: 'true' })).toThrow(/abandon EU residency/);
    expect(loadConfig({ ...EU, LLM_GATEWAY_GLOBAL_ROUTING: 'false' }).globalRouting).toBe(false);
  });

  test('the allow-list: empty entries dropped, at least one id', () => {
    expect(loadConfig({ ...US, LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,,claude-sonnet-4-6' }).allowedModels).toEqual(['gpt-5', 'claude-sonnet-4-6']);
    expect(() => loadConfig({ ...US, LLM_GATEWAY_ALLOWED_MODELS: ',' })).toThrow(/must list at least one model id/);
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'us' })).toThrow(RouterConfigError);
    expect(() => loadConfig({ ...US, LLM_GATEWAY_REGION: 'EU' })).toThrow(/LLM_GATEWAY_REGION must be "us" or "eu"/);
  });

  test('endpoints: only the region\'s own without the opt-in; any http(s) URL with it', () => {
    // The endpoint's path is kept (a mirror mounted below a path), on the EU origin.
    expect(loadConfig({ ...EU, LLM_GATEWAY_ENDPOINT: 'https://llm-gateway.eu.assemblyai.com/mirror/path' }).completionsUrl.href)
      .toBe('https://llm-gateway.eu.assemblyai.com/mirror/path/v1/chat/completions');
    expect(() => loadConfig({ ...US, LLM_GATEWAY_ENDPOINT: 'https://llm-gateway.eu.assemblyai.com' })).toThrow(/LLM_GATEWAY_CUSTOM_ENDPOINT=true/);
    expect(() => loadConfig({ ...EU, LLM_GATEWAY_ENDPOINT: 'https://llm-gateway.assemblyai.com' })).toThrow(/not the eu gateway endpoint/);
    expect(() => loadConfig({ ...EU, LLM_GATEWAY_ENDPOINT: 'http://llm-gateway.eu.assemblyai.com' })).toThrow(RouterConfigError);
    expect(() => loadConfig({ ...US, LLM_GATEWAY_ENDPOINT: 'not a url' })).toThrow(/is not a URL/);
    const custom = { LLM_GATEWAY_CUSTOM_ENDPOINT: 'true' };
    expect(loadConfig({ ...EU, ...custom, LLM_GATEWAY_ENDPOINT: 'http://127.0.0.1:8080' }).completionsUrl.href).toBe('http://127.0.0.1:8080/v1/chat/completions');
    expect(loadConfig({ ...US, ...custom, LLM_GATEWAY_ENDPOINT: 'https://proxy.example.com' }).completionsUrl.href).toBe('https://proxy.example.com/v1/chat/completions');
    expect(() => loadConfig({ ...US, ...custom, LLM_GATEWAY_ENDPOINT: 'ftp://proxy.example.com' })).toThrow(/must be an https URL/);
    // Anything but exactly "true" is no opt-in.
    expect(() => loadConfig({ ...EU, LLM_GATEWAY_CUSTOM_ENDPOINT: 'TRUE', LLM_GATEWAY_ENDPOINT: 'http://127.0.0.1:8080' })).toThrow(RouterConfigError);
  });
});

describe('configuration from the environment', () => {
  test('an EU router calls only the EU endpoint unless a custom endpoint is opted into', () => {
    expect(loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' }).endpoint.origin).toBe('https://llm-gateway.eu.assemblyai.com');
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ENDPOINT: 'https://llm-gateway.assemblyai.com', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' }))
      .toThrow(/not the eu gateway endpoint/);
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ENDPOINT: 'https://evil.eu.assemblyai.com.example.com', LLM_GATEWAY_ALLOWED_MODELS: 'x' })).toThrow(RouterConfigError);
    const custom = loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ENDPOINT: 'http://127.0.0.1:9', LLM_GATEWAY_CUSTOM_ENDPOINT: 'true', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' });
    expect(custom.endpoint.host).toBe('127.0.0.1:9');
  });

  const customAt = (endpoint: string) => loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ENDPOINT: endpoint, LLM_GATEWAY_CUSTOM_ENDPOINT: 'true', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5' });

  test.each([
    ['https://proxy.example/llm', 'https://proxy.example/llm/v1/chat/completions'],
    ['https://proxy.example/llm/', 'https://proxy.example/llm/v1/chat/completions'],
    ['https://proxy.example:8443/a/b', 'https://proxy.example:8443/a/b/v1/chat/completions'],
    ['https://proxy.example', 'https://proxy.example/v1/chat/completions'],
  ])('a custom endpoint keeps its path: %s is called at %s', (endpoint, expected) => {
    expect(customAt(endpoint).completionsUrl.href).toBe(expected);
  });

  test.each(['http://proxy.example/llm', 'http://10.0.0.5:8080', 'http://llm-proxy.internal', 'http://127.0.0.1.nip.io'])(
    'a custom endpoint over plain http to %s is a configuration error (the key would travel in clear text)', (endpoint) => {
      expect(() => customAt(endpoint)).toThrow(RouterConfigError);
      expect(() => customAt(endpoint)).toThrow(/must be an https URL \(plain http only to a loopback address\)/);
    });

  test.each(['http://127.0.0.1:9', 'http://127.8.9.10', 'http://localhost:4010/llm', 'http://[::1]:9'])('plain http to the loopback address %s is accepted (the local emulator)', (endpoint) => {
    expect(customAt(endpoint).endpoint.href).toBe(new URL(endpoint).href);
  });

  test('EU with global routing, bad flags, empty lists and bad numbers are configuration errors', () => {
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_GLOBAL_ROUTING: 'true', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6' })).toThrow(/abandon EU residency/);
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'ap', LLM_GATEWAY_ALLOWED_MODELS: 'x' })).toThrow(/"us" or "eu"/);
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_GLOBAL_ROUTING: 'yes', LLM_GATEWAY_ALLOWED_MODELS: 'x' })).toThrow(/"true" or "false"/);
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: '' })).toThrow(/at least one/);
    expect(() => loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: 'x', LLM_GATEWAY_MAX_BODY_BYTES: '-1' })).toThrow(/positive integer/);
  });
});
