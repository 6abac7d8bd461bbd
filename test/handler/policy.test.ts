/**
 * The request policy (`decide`), check by check in the order it runs: the
 * body, the routing fields, the allow-list, residency and global routing.
 */
import { loadConfig } from '../../src/handler/config';
import { decide, Decision } from '../../src/handler/policy';

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
