/**
 * Every refusal of the request policy, in full. A caller reads the
 * message, `param` and `code`; the dashboards read the reason; so each is
 * asserted as a literal, not just the status. The routers are built from the
 * same environment variables the construct sets; the facts are the gateway's
 * (gpt-5 is OpenAI's and served in the US only, qwen3-32B does not accept
 * global routing).
 */
import { loadConfig, RouterConfig } from '../../src/handler/config';
import { checkRoutingKeys, decide, MAX_JSON_DEPTH } from '../../src/handler/policy';

const US = loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,claude-sonnet-4-6,qwen3-32B' });
const US_GLOBAL = loadConfig({ LLM_GATEWAY_REGION: 'us', LLM_GATEWAY_GLOBAL_ROUTING: 'true', LLM_GATEWAY_ALLOWED_MODELS: 'gpt-5,claude-sonnet-4-6,qwen3-32B' });
// An EU allow-list that (wrongly) lists a US-only model: the handler refuses it all the same.
const EU = loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6,gpt-5' });

const messages = [{ role: 'user', content: 'hi' }];
const chat = (fields: Record<string, unknown>) => JSON.stringify({ messages, ...fields });

interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly type: string;
  readonly code: string;
  readonly param: string | null;
  readonly message: string;
}

function refusalOf(raw: string, config: RouterConfig): Refusal {
  const decision = decide(raw, config);
  if (decision.kind !== 'reject') throw new Error(`forwarded: ${decision.upstreamBody}`);
  const { message, type, code, param } = decision.body.error;
  return { status: decision.status, reason: decision.reason, type, code: code!, param, message };
}

const badRequest = (code: string, param: string | null, message: string): Refusal =>
  ({ status: 400, reason: 'bad_request', type: 'invalid_request_error', code, param, message });
const forbidden = (reason: string, code: string, param: string, message: string): Refusal =>
  ({ status: 403, reason, type: 'permission_error', code, param, message });

describe('the request policy: each refusal in full', () => {
  test.each<[string, string, RouterConfig, Refusal]>([
    ['a body that is not JSON', '{"model":', US, badRequest('invalid_json', null, 'The request body is not valid JSON.')],
    ['a JSON array', '[1]', US, badRequest('invalid_json', null, 'The request body must be a JSON object.')],
    ['JSON null', 'null', US, badRequest('invalid_json', null, 'The request body must be a JSON object.')],
    ['nesting one level too deep', `{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`, US,
      badRequest('body_too_deep', null, 'The request body nests arrays or objects deeper than 128 levels.')],
    ['no model', chat({}), US, badRequest('invalid_model', 'model', 'Field "model" is required and must be a non-empty string.')],
    ['an empty model', chat({ model: '' }), US, badRequest('invalid_model', 'model', 'Field "model" is required and must be a non-empty string.')],
    ['a string stream', chat({ model: 'gpt-5', stream: 'yes' }), US, badRequest('invalid_type', 'stream', 'Field "stream" must be a boolean.')],
    ['fallbacks that are not an array', chat({ model: 'gpt-5', fallbacks: { model: 'qwen3-32B' } }), US,
      badRequest('invalid_type', 'fallbacks', 'Field "fallbacks" must be an array of objects with a string "model".')],
    ['three fallbacks', chat({ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B' }, { model: 'qwen3-32B' }, { model: 'qwen3-32B' }] }), US,
      badRequest('too_many_fallbacks', 'fallbacks', 'Field "fallbacks" has 3 entries; the gateway tries at most 2.')],
    ['a nested fallback', chat({ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B', fallbacks: [] }] }), US,
      badRequest('nested_fallbacks', 'fallbacks[0].fallbacks', 'Field "fallbacks[0].fallbacks" is refused: fallbacks cannot be nested.')],
    ['a fallback with a numeric model', chat({ model: 'gpt-5', fallbacks: [{ model: 5 }] }), US,
      badRequest('invalid_type', 'fallbacks[0].model', 'Field "fallbacks[0].model" is required and must be a non-empty string.')],
    ['a fallback with an empty model', chat({ model: 'gpt-5', fallbacks: [{ model: '' }] }), US,
      badRequest('invalid_type', 'fallbacks[0].model', 'Field "fallbacks[0].model" is required and must be a non-empty string.')],
    ['a fallback that is a string', chat({ model: 'gpt-5', fallbacks: ['qwen3-32B'] }), US,
      badRequest('invalid_type', 'fallbacks[0].model', 'Field "fallbacks[0].model" is required and must be a non-empty string.')],
    // What the worst case is computed from must be a number the estimate reads: a numeric string would go upstream uncounted.
    ['max_tokens as a numeric string', chat({ model: 'gpt-5', max_tokens: '100000' }), US,
      badRequest('invalid_type', 'max_tokens', 'Field "max_tokens" must be a positive whole number, got "100000".')],
    ['max_completion_tokens as a numeric string', chat({ model: 'gpt-5', max_completion_tokens: '9' }), US,
      badRequest('invalid_type', 'max_completion_tokens', 'Field "max_completion_tokens" must be a positive whole number, got "9".')],
    ['n as a numeric string', chat({ model: 'gpt-5', n: '4' }), US, badRequest('invalid_type', 'n', 'Field "n" must be a positive whole number, got "4".')],
    ['a fractional max_tokens', chat({ model: 'gpt-5', max_tokens: 10.5 }), US,
      badRequest('invalid_type', 'max_tokens', 'Field "max_tokens" must be a positive whole number, got 10.5.')],
    ['a zero n', chat({ model: 'gpt-5', n: 0 }), US, badRequest('invalid_type', 'n', 'Field "n" must be a positive whole number, got 0.')],
    ['a negative max_tokens', chat({ model: 'gpt-5', max_tokens: -1 }), US,
      badRequest('invalid_type', 'max_tokens', 'Field "max_tokens" must be a positive whole number, got -1.')],
    ['a fallback\'s max_tokens as a numeric string', chat({ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B', max_tokens: '50' }] }), US,
      badRequest('invalid_type', 'fallbacks[0].max_tokens', 'Field "fallbacks[0].max_tokens" must be a positive whole number, got "50".')],
    ['a max_tokens beyond a safe integer', chat({ model: 'gpt-5', max_tokens: 2 ** 53 }), US,
      badRequest('invalid_type', 'max_tokens', 'Field "max_tokens" must be a positive whole number, got 9007199254740992.')],
    ['a folded routing key at the top level', chat({ model: 'gpt-5', MODEL_REGION: 'global' }), US_GLOBAL,
      badRequest('invalid_field', 'MODEL_REGION', 'Field "MODEL_REGION" is ambiguous: it reads as the routing field "model_region"; routing fields must be spelled exactly.')],
    ['a folded routing key in a fallback', chat({ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B', Model: 'gpt-4.1' }] }), US,
      badRequest('invalid_field', 'fallbacks[0].Model', 'Field "fallbacks[0].Model" is ambiguous: it reads as the routing field "fallbacks[0].model"; routing fields must be spelled exactly.')],
    ['a model_region other than "global"', chat({ model: 'gpt-5', model_region: 'eu' }), US_GLOBAL,
      badRequest('invalid_model_region', 'model_region', 'Field "model_region" can only be "global", got "eu".')],
    ['a long model_region, quoted and cut at 40 characters', chat({ model: 'gpt-5', model_region: 'x'.repeat(60) }), US_GLOBAL,
      badRequest('invalid_model_region', 'model_region', `Field "model_region" can only be "global", got "${'x'.repeat(39)}....`)],
    ['a model_region of exactly 40 characters as JSON, quoted whole', chat({ model: 'gpt-5', model_region: 'y'.repeat(38) }), US_GLOBAL,
      badRequest('invalid_model_region', 'model_region', `Field "model_region" can only be "global", got "${'y'.repeat(38)}".`)],
    ['an object model_region', chat({ model: 'gpt-5', fallbacks: [{ model: 'claude-sonnet-4-6', model_region: { a: 1 } }] }), US_GLOBAL,
      badRequest('invalid_model_region', 'fallbacks[0].model_region', 'Field "fallbacks[0].model_region" can only be "global", got {"a":1}.')],
  ])('%s', (_name, raw, config, expected) => {
    expect(refusalOf(raw, config)).toEqual(expected);
  });

  test.each<[string, string, RouterConfig, Refusal]>([
    ['a model off the allow-list', chat({ model: 'gpt-4.1' }), US, forbidden('model_not_allowed', 'model_not_allowed', 'model',
      'Model "gpt-4.1" is not allowed on this router (region us). Allowed models: gpt-5, claude-sonnet-4-6, qwen3-32B.')],
    ['a fallback off the allow-list', chat({ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B' }, { model: 'gpt-4.1' }] }), US, forbidden('model_not_allowed', 'model_not_allowed', 'fallbacks[1].model',
      'Model "gpt-4.1" is not allowed on this router (region us). Allowed models: gpt-5, claude-sonnet-4-6, qwen3-32B.')],
    ['a US-only model on an EU router', chat({ model: 'gpt-5' }), EU, forbidden('residency', 'model_not_allowed', 'model',
      'Model "gpt-5" (openai) is not served in region eu.')],
    ['"global" on an EU router', chat({ model: 'claude-sonnet-4-6', model_region: 'global' }), EU, forbidden('residency', 'residency_violation', 'model_region',
      'Global routing is refused on this EU router: it would send data outside the EU (model_region).')],
    ['"global" without global routing', chat({ model: 'gpt-5', model_region: 'global' }), US, forbidden('global_routing', 'global_routing_disabled', 'model_region',
      'Global routing is not enabled on this router (model_region).')],
    ['"global" for a model that does not accept it', chat({ model: 'qwen3-32B', model_region: 'global' }), US_GLOBAL, forbidden('global_routing', 'global_routing_unsupported', 'model_region',
      'Model "qwen3-32B" does not accept global routing (model_region).')],
  ])('%s', (_name, raw, config, expected) => {
    expect(refusalOf(raw, config)).toEqual(expected);
  });

  test('null max_tokens, max_completion_tokens and n mean the defaults, and are forwarded', () => {
    const decision = decide(chat({ model: 'gpt-5', max_tokens: null, max_completion_tokens: null, n: null }), US);
    expect(decision.kind).toBe('forward');
    if (decision.kind === 'forward') expect(decision.worstCase.outputTokens).toBe(1_000);
  });

  test('a transcript_id without transcript access, at the top level or in a fallback', () => {
    const refusal = (param: string) =>
      forbidden('transcript_access', 'transcript_access_disabled', param, `Field "${param}" is refused: transcript access is not enabled on this router.`);
    expect(refusalOf(chat({ model: 'gpt-5', transcript_id: 't' }), US)).toEqual(refusal('transcript_id'));
    expect(refusalOf(chat({ model: 'gpt-5', fallbacks: [{ model: 'qwen3-32B' }, { model: 'qwen3-32B', transcript_id: 't' }] }), US)).toEqual(refusal('fallbacks[1].transcript_id'));
  });

  test('checkRoutingKeys (the understanding route\'s check) names the key as sent, with no prefix', () => {
    const ambiguous = checkRoutingKeys({ Model: 'x' });
    expect(ambiguous && { status: ambiguous.status, reason: ambiguous.reason, ...ambiguous.body.error }).toEqual(
      badRequest('invalid_field', 'Model', 'Field "Model" is ambiguous: it reads as the routing field "model"; routing fields must be spelled exactly.'));
    expect(checkRoutingKeys({ model: 'x', note: 'y' })).toBeUndefined();
  });
});

describe('the depth scan reads JSON as the parser does', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

  test('brackets inside a string, after an escaped quote, do not nest', () => {
    // Were the escaped quote taken as the string's end, the 200 brackets after it would count.
    const raw = chat({ model: 'gpt-5', note: `\\"${'['.repeat(200)}` });
    expect(decide(raw, US).kind).toBe('forward');
  });

  test('closing brackets end a level: 200 siblings at depth 2 are shallow', () => {
    const raw = chat({ model: 'gpt-5', tools: Array.from({ length: 200 }, () => ({})) });
    expect(decide(raw, US).kind).toBe('forward');
  });

  test('exactly the limit passes; one more is refused', () => {
    // The body object is one level, so the value may nest MAX_JSON_DEPTH - 1 more.
    expect(decide(chat({ model: 'gpt-5', extra: JSON.parse(deep(MAX_JSON_DEPTH - 1)) }), US).kind).toBe('forward');
    expect(refusalOf(chat({ model: 'gpt-5', extra: JSON.parse(deep(MAX_JSON_DEPTH)) }), US).code).toBe('body_too_deep');
  });
});
