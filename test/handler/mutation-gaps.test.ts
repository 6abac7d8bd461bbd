/**
 * Issue 14: unit tests for the edges mutation testing probes in the small
 * security-critical modules (errors, redact, config, the key cache).
 * Expected values are literals: OpenAI's error types, the documented
 * defaults (1 MiB, 120 s, 10 s cooldown), the gateway's endpoints.
 */
import { loadConfig, RouterConfigError } from '../../src/handler/config';
import { errorBody, normalizeUpstreamError, reject, typeForStatus } from '../../src/handler/errors';
import { ApiKeyCache } from '../../src/handler/secret';

describe('errors', () => {
  test('the OpenAI error type for each status', () => {
    const expected: Array<[number, string]> = [
      [400, 'invalid_request_error'], [401, 'authentication_error'], [402, 'invalid_request_error'], [403, 'permission_error'],
      [404, 'not_found_error'], [405, 'invalid_request_error'], [413, 'invalid_request_error'], [428, 'invalid_request_error'],
      [429, 'rate_limit_error'], [430, 'invalid_request_error'], [499, 'invalid_request_error'], [500, 'api_error'], [504, 'api_error'],
    ];
    for (const [status, type] of expected) expect([status, typeForStatus(status)]).toEqual([status, type]);
  });

  test('reject and errorBody build the exact OpenAI shape; param defaults to null', () => {
    expect(reject(403, 'residency', 'no', 'model_not_allowed')).toEqual({
      status: 403, reason: 'residency', body: { error: { message: 'no', type: 'permission_error', param: null, code: 'model_not_allowed' } },
    });
    expect(reject(400, 'bad_request', 'bad', 'invalid_type', 'stream').body.error.param).toBe('stream');
    expect(errorBody('m', 't', null)).toEqual({ error: { message: 'm', type: 't', param: null, code: null } });
  });

  test('upstream errors: what is read from which shape, and the fallbacks', () => {
    // Nested shape without a message: the status fallback, the nested code.
    expect(normalizeUpstreamError(400, '{"error":{"code":"x"}}').error).toEqual({ message: 'The LLM Gateway answered with HTTP 400', type: 'invalid_request_error', param: null, code: 'x' });
    // A numeric code at the top level (flat shape).
    expect(normalizeUpstreamError(409, '{"code":7,"message":"conflict"}').error).toEqual({ message: 'conflict', type: 'invalid_request_error', param: null, code: '7' });
    // A code that is neither string nor number is ignored.
    expect(normalizeUpstreamError(409, '{"code":true,"message":"m"}').error.code).toBe('upstream_409');
    // JSON that is not an object: fallback message and code.
    for (const raw of ['[1,2]', 'null', '"text"', '42']) {
      expect(normalizeUpstreamError(500, raw).error).toEqual({ message: 'The LLM Gateway answered with HTTP 500', type: 'api_error', param: null, code: 'upstream_500' });
    }
    // The auth shape's error string is the message only when no message field exists.
    expect(normalizeUpstreamError(401, '{"error":"bad key","message":"real message"}').error.message).toBe('real message');
    expect(normalizeUpstreamError(401, '{"error":{"message":"inner"},"message":"outer"}').error.message).toBe('inner');
  });
});

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

describe('the key cache', () => {
  test('concurrent gets share one read; the key is then served from the cache', async () => {
    let reads = 0;
    const cache = new ApiKeyCache(async () => `key-${++reads}`);
    expect(await Promise.all([cache.get(), cache.get(), cache.get()])).toEqual(['key-1', 'key-1', 'key-1']);
    expect(await cache.get()).toBe('key-1');
    expect(reads).toBe(1);
  });

  test('a failed read is not cached: the next get reads again', async () => {
    let reads = 0;
    const cache = new ApiKeyCache(async () => {
      if (++reads === 1) throw new Error('throttled');
      return 'k';
    });
    await expect(cache.get()).rejects.toThrow('throttled');
    expect(await cache.get()).toBe('k');
    expect(reads).toBe(2);
  });

  test('a refresh during a read joins it', async () => {
    let release!: (key: string) => void;
    let reads = 0;
    const cache = new ApiKeyCache(() => {
      reads++;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    });
    const first = cache.get();
    const joined = cache.refresh('old');
    release('fresh');
    expect(await first).toBe('fresh');
    expect(await joined).toBe('fresh');
    expect(reads).toBe(1);
  });

  test('the default cooldown is 10 seconds', async () => {
    let now = 0;
    let reads = 0;
    const cache = new ApiKeyCache(async () => {
      reads++;
      return 'revoked';
    }, { now: () => now });
    await cache.get();
    await cache.refresh('revoked');
    expect(reads).toBe(2);
    now = 9_999;
    await cache.refresh('revoked');
    expect(reads).toBe(2);
    now = 10_000;
    await cache.refresh('revoked');
    expect(reads).toBe(3);
  });
});
