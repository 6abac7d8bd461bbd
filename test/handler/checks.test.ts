import { loadConfig, RouterConfigError } from '../../src/handler/config';
import { normalizeUpstreamError } from '../../src/handler/errors';
import { decide, Decision } from '../../src/handler/policy';
import { answerFromSseTail, completionToSse } from '../../src/handler/sse';
import { retryAfterMs } from '../../src/handler/upstream';
import { readUsage } from '../../src/handler/usage';

const us = loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,claude-sonnet-4-6,qwen3-32B' });
const usGlobal = loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_GLOBAL_ROUTING: 'true', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,claude-sonnet-4-6,qwen3-32B' });
const eu = loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6,gemini-2.5-flash' });

function rejected(d: Decision) {
  if (d.kind !== 'reject') throw new Error(`expected a rejection, got a forward of ${d.upstreamBody}`);
  return { status: d.status, reason: d.reason, code: d.body.error.code, param: d.body.error.param, message: d.body.error.message };
}
function forwarded(d: Decision) {
  if (d.kind !== 'forward') throw new Error(`expected a forward, got ${d.status} ${d.body.error.message}`);
  return { ...d, body: JSON.parse(d.upstreamBody) };
}

describe('request checks, in order', () => {
  test('2. the body must be JSON that parses to an object', () => {
    expect(rejected(decide('{"model":', us))).toMatchObject({ status: 400, code: 'invalid_json' });
    for (const body of ['[]', '"gpt-5"', '42', 'null', 'true']) {
      expect(rejected(decide(body, us))).toMatchObject({ status: 400, code: 'invalid_json', reason: 'bad_request' });
    }
  });

  test('3. model must be a non-empty string', () => {
    for (const body of ['{}', '{"model":""}', '{"model":5}', '{"model":null}', '{"model":["gpt-5"]}']) {
      expect(rejected(decide(body, us))).toMatchObject({ status: 400, param: 'model', code: 'invalid_model' });
    }
  });

  test('3. stream must be a boolean when present', () => {
    for (const value of ['"true"', '1', 'null', '{}']) {
      expect(rejected(decide(`{"model":"gpt-5","stream":${value}}`, us))).toMatchObject({ status: 400, param: 'stream' });
    }
  });

  test('3. fallbacks must be an array of objects with a string model', () => {
    expect(rejected(decide('{"model":"gpt-5","fallbacks":{}}', us))).toMatchObject({ status: 400, param: 'fallbacks' });
    expect(rejected(decide('{"model":"gpt-5","fallbacks":["gpt-5"]}', us))).toMatchObject({ status: 400, param: 'fallbacks[0].model' });
    expect(rejected(decide('{"model":"gpt-5","fallbacks":[{"model":"gpt-5"},{"temperature":1}]}', us))).toMatchObject({ status: 400, param: 'fallbacks[1].model' });
  });

  test('3. a case variant of a routing field is ambiguous, so refused', () => {
    for (const key of ['Model', 'MODEL_REGION', 'Model_Region', 'Fallbacks', 'STREAM']) {
      expect(rejected(decide(JSON.stringify({ model: 'gpt-5', [key]: 'x' }), us))).toMatchObject({ status: 400, param: key, code: 'invalid_field' });
    }
  });

  test('4. a model outside the allow-list: 403 naming the model and the region', () => {
    expect(rejected(decide('{"model":"gpt-4.1"}', us))).toMatchObject({ status: 403, code: 'model_not_allowed', param: 'model', reason: 'model_not_allowed' });
    expect(rejected(decide('{"model":"gpt-4.1"}', us)).message).toMatch(/"gpt-4\.1" is not allowed on this router \(region us\)/);
    expect(rejected(decide('{"model":"gpt-5","fallbacks":[{"model":"claude-sonnet-4-6"},{"model":"gpt-4.1"}]}', us))).toMatchObject({ status: 403, param: 'fallbacks[1].model' });
  });

  test('4. exact ids: no trimming, no case folding', () => {
    for (const id of [' gpt-5', 'gpt-5 ', 'GPT-5', 'qwen3-32b']) {
      expect(rejected(decide(JSON.stringify({ model: id }), us))).toMatchObject({ status: 403, code: 'model_not_allowed' });
    }
  });

  test('4. an allow-listed model of a provider the region does not serve is a residency refusal', () => {
    const misconfigured = loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,claude-sonnet-4-6' });
    expect(rejected(decide('{"model":"gpt-5"}', misconfigured))).toMatchObject({ status: 403, reason: 'residency', code: 'model_not_allowed' });
    expect(rejected(decide('{"model":"claude-sonnet-4-6","fallbacks":[{"model":"gpt-5"}]}', misconfigured))).toMatchObject({ status: 403, reason: 'residency', param: 'fallbacks[0].model' });
  });

  test('5. model_region other than "global" is a 400', () => {
    for (const value of ['"GLOBAL"', '"eu"', '""', 'null', 'true', '["global"]']) {
      expect(rejected(decide(`{"model":"claude-sonnet-4-6","model_region":${value}}`, usGlobal))).toMatchObject({ status: 400, param: 'model_region', code: 'invalid_model_region' });
    }
  });

  test('5. "global" on an EU router is a residency refusal, also inside a fallback', () => {
    expect(rejected(decide('{"model":"claude-sonnet-4-6","model_region":"global"}', eu))).toMatchObject({ status: 403, code: 'residency_violation', reason: 'residency' });
    expect(rejected(decide('{"model":"claude-sonnet-4-6","fallbacks":[{"model":"gemini-2.5-flash","model_region":"global"}]}', eu)))
      .toMatchObject({ status: 403, code: 'residency_violation', param: 'fallbacks[0].model_region' });
  });

  test('5. "global" without global routing, or for a provider that does not accept it, is a 403 that says so', () => {
    expect(rejected(decide('{"model":"claude-sonnet-4-6","model_region":"global"}', us))).toMatchObject({ status: 403, code: 'global_routing_disabled' });
    const r = rejected(decide('{"model":"qwen3-32B","model_region":"global"}', usGlobal));
    expect(r).toMatchObject({ status: 403, code: 'global_routing_unsupported' });
    // Per model now: the catalog entry, not the provider, decides.
    expect(r.message).toContain('Model "qwen3-32B" does not accept global routing');
  });

  test('6. with global routing on, the router adds model_region for accepting providers only (also in fallbacks)', () => {
    const f = forwarded(decide('{"model":"claude-sonnet-4-6","messages":[],"fallbacks":[{"model":"qwen3-32B"},{"model":"gpt-5"}]}', usGlobal));
    expect(f.global).toBe(true);
    expect(f.body).toEqual({ model: 'claude-sonnet-4-6', messages: [], model_region: 'global', fallbacks: [{ model: 'qwen3-32B' }, { model: 'gpt-5', model_region: 'global' }] });
    const q = forwarded(decide('{"model":"qwen3-32B"}', usGlobal));
    expect(q.global).toBe(false);
    expect(q.body).toEqual({ model: 'qwen3-32B' });
  });

  test('without global routing nothing is added', () => {
    expect(forwarded(decide('{"model":"claude-sonnet-4-6","temperature":0.2}', us)).body).toEqual({ model: 'claude-sonnet-4-6', temperature: 0.2 });
  });

  test('streaming: kept for providers the gateway streams, removed (and emulated) for the others', () => {
    const gpt = forwarded(decide('{"model":"gpt-5","stream":true,"stream_options":{"include_usage":true}}', us));
    expect(gpt).toMatchObject({ stream: true, upstreamStream: true });
    expect(gpt.body.stream).toBe(true);
    const claude = forwarded(decide('{"model":"claude-sonnet-4-6","stream":true,"stream_options":{"include_usage":true}}', us));
    expect(claude).toMatchObject({ stream: true, upstreamStream: false });
    expect(claude.body).toEqual({ model: 'claude-sonnet-4-6' });
  });

  test('duplicate keys: the value that was checked is the only one forwarded', () => {
    const f = forwarded(decide('{"model":"gpt-4.1","model":"gpt-5"}', us));
    expect(f.upstreamBody).toBe('{"model":"gpt-5"}');
    expect(rejected(decide('{"model":"gpt-5","model":"gpt-4.1"}', us))).toMatchObject({ status: 403 });
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

describe('upstream error shapes, usage and Retry-After', () => {
  test('the three error shapes, invalid JSON and an empty body all become OpenAI errors', () => {
    expect(normalizeUpstreamError(400, '{"error":{"code":"invalid","message":"bad input","metadata":{}}}')).toEqual({ error: { message: 'bad input', type: 'invalid_request_error', param: null, code: 'invalid' } });
    expect(normalizeUpstreamError(404, '{"code":"not_found","message":"no such model","request_id":"r","metadata":{}}')).toEqual({ error: { message: 'no such model', type: 'not_found_error', param: null, code: 'not_found' } });
    expect(normalizeUpstreamError(401, '{"error":"Invalid API key","status":"error","request_id":"r"}')).toEqual({ error: { message: 'Invalid API key', type: 'authentication_error', param: null, code: 'upstream_401' } });
    expect(normalizeUpstreamError(502, '<html>bad gateway</html>').error).toEqual({ message: 'The LLM Gateway answered with HTTP 502', type: 'api_error', param: null, code: 'upstream_502' });
    expect(normalizeUpstreamError(503, '').error.message).toBe('The LLM Gateway answered with HTTP 503 and an empty body');
    expect(normalizeUpstreamError(429, '{"error":{"code":429,"message":"slow down"}}').error).toMatchObject({ type: 'rate_limit_error', code: '429' });
  });

  test('usage in both spellings, from a completion and from the tail of a stream, with the model that answered', () => {
    const usage = (inputTokens: number, outputTokens: number) => ({ status: 'ok', usage: { inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0 } });
    expect(readUsage({ usage: { input_tokens: 3, output_tokens: 4 } })).toEqual(usage(3, 4));
    expect(readUsage({ usage: { prompt_tokens: 5, completion_tokens: 6 } })).toEqual(usage(5, 6));
    expect(readUsage({})).toEqual({ status: 'missing' });
    expect(answerFromSseTail('data: {"model":"gpt-5.5","choices":[]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}\n\ndata: [DONE]\n\n'))
      .toEqual({ usage: usage(9, 2), model: 'gpt-5.5' });
    expect(answerFromSseTail('age":{"prompt_tokens":1}}\n\ndata: [DONE]\n\n')).toEqual({ usage: { status: 'missing' } });
  });

  test('Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0.25')).toBe(250);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    const inFive = new Date(Date.now() + 5_000).toUTCString();
    expect(retryAfterMs(inFive)).toBeGreaterThan(3_000);
    expect(retryAfterMs(inFive)).toBeLessThanOrEqual(5_000);
  });

  test('an emulated stream is well-formed chat.completion.chunk SSE ending in [DONE]', () => {
    const sse = completionToSse({
      id: 'c1',
      created: 7,
      model: 'claude-sonnet-4-6',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }],
      usage: { input_tokens: 1, output_tokens: 2 },
    }, 'claude-sonnet-4-6');
    const events = sse.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === 'c1' && c.model === 'claude-sonnet-4-6')).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: 'Hi', tool_calls: [{ index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] });
    expect(chunks.at(-1)).toMatchObject({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }], usage: { input_tokens: 1, output_tokens: 2 } });
  });
});
