import { Attempt, worstCaseNanos, worstPrice, WorstCase } from './billing';
import { RouterConfig } from './config';
import { Rejection, reject } from './errors';
import { attemptsOf, estimateOf } from './estimate';
import { GLOBAL_MODEL_REGION, MAX_FALLBACKS } from '../contract/catalog';
import { ModelRule } from '../contract/model-rules';

/** A request that satisfies every policy, ready to go upstream. */
export interface Forward {
  readonly kind: 'forward';
  readonly model: string;
  /** The model's provider id (the `Provider` metric dimension). */
  readonly provider: string;
  /** The caller asked for `stream: true`. */
  readonly stream: boolean;
  /** The upstream itself streams this request (otherwise the router emulates SSE). */
  readonly upstreamStream: boolean;
  /** The request goes upstream with `model_region: "global"`. */
  readonly global: boolean;
  /** The primary model and every fallback, each as routed: every model the gateway may reach for this request. */
  readonly attempts: readonly Attempt[];
  /** The most the request can use, and cost at the dearest attempt's price: what a budget reserves. */
  readonly worstCase: WorstCase;
  /** `transcript_id` appears at the top level or in a fallback. */
  readonly transcript: boolean;
  /** The exact JSON sent upstream: re-serialised, so duplicate keys cannot reach it. */
  readonly upstreamBody: string;
  /** Where it goes upstream. @default the chat completions URL */
  readonly url?: URL;
}

export type Decision = Forward | (Rejection & { readonly kind: 'reject'; readonly model?: string });

/** What a tenant narrows of the router's policy (routers with tenants: contract/tenants-schema.ts). */
export interface TenantPolicy {
  readonly id: string;
  /** A subset of the router's allow-list. @default the router's */
  readonly allowedModels?: readonly string[];
  /** `false` refuses `transcript_id` even where the router allows it. @default the router's */
  readonly transcriptAccess?: boolean;
  /** Overrides the router's global routing (a US router's only). @default the router's */
  readonly globalRouting?: boolean;
}

/**
 * Fields whose meaning decides routing or what the gateway may read. The gateway's
 * decoder matches keys case-insensitively (Unicode case folding, last key wins), so a
 * key that folds to one of these without being spelled exactly is ambiguous.
 */
const ROUTING_FIELDS: readonly string[] = ['model', 'model_region', 'stream', 'fallbacks', 'transcript_id'];
/** A key longer than this (UTF-16 units) cannot fold to a routing field: every code point folds to at least one. */
const LONGEST_FOLDABLE_KEY = 2 * Math.max(...ROUTING_FIELDS.map((f) => f.length));
/** Code points whose JavaScript case mapping is not what a Go-style decoder folds them to. */
const FOLD_EXCEPTIONS: ReadonlyMap<string, string> = new Map([
  // İ: Go's ToUpper(ToLower(r)) makes it I; JavaScript's full lower-casing gives "i\u0307".
  ['\u0130', 'i'],
]);

/**
 * Deepest nesting of arrays and objects the router accepts. Far above any chat request
 * (tool schemas included), far below what re-serialising the body can recurse through.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Applies the router's policy, and its tenant's when the caller has one, to
 * a raw request body, in the documented order: nesting depth, JSON shape,
 * field types, transcript access, allow-list and region, `model_region`,
 * then the tenant's allow-list and transcript access.
 * Pure: nothing here performs I/O, so a rejection can never reach the upstream.
 */
export function decide(rawBody: string, config: RouterConfig, tenant?: TenantPolicy): Decision {
  const parsed = parseRequestObject(rawBody);
  if ('status' in parsed) return rejected(parsed);
  const body = parsed.body;

  const shapeError = checkShape(body);
  if (shapeError) return rejected(shapeError);
  const model = body.model as string;
  const fallbacks = (body.fallbacks ?? []) as Array<Record<string, unknown>>;

  // Transcript access: the gateway reads transcript_id at the top level and in every fallback.
  if (!config.transcriptAccess) {
    const at = 'transcript_id' in body ? 'transcript_id' : fallbacks.findIndex((f) => 'transcript_id' in f);
    if (at !== -1) {
      const param = typeof at === 'string' ? at : `fallbacks[${at}].transcript_id`;
      return rejected(
        reject(403, 'transcript_access', `Field "${param}" is refused: transcript access is not enabled on this router.`, 'transcript_access_disabled', param),
        model,
      );
    }
  }

  // Allow-list and region, for the primary model and every fallback: each by its own catalog rule.
  const rules = new Map<string, ModelRule>();
  for (const [id, param] of [[model, 'model'] as const, ...fallbacks.map((f, i) => [f.model as string, `fallbacks[${i}].model`] as const)]) {
    const rule = config.modelRules.get(id);
    if (!config.allowedModelSet.has(id) || !rule) {
      return rejected(
        reject(
          403,
          'model_not_allowed',
          `Model ${JSON.stringify(id)} is not allowed on this router (region ${config.region}). Allowed models: ${config.allowedModels.join(', ')}.`,
          'model_not_allowed',
          param,
        ),
        model,
      );
    }
    // Residency is absolute: only a model the region's endpoint lists, whatever the allow-list says.
    if (!rule.regions.includes(config.region)) {
      return rejected(
        reject(403, 'residency', `Model ${JSON.stringify(id)} (${rule.provider}) is not served in region ${config.region}.`, 'model_not_allowed', param),
        model,
      );
    }
    rules.set(id, rule);
  }

  // model_region, as sent by the caller, at the top level and in each fallback override.
  const targets: Array<[Record<string, unknown>, string, string]> = [
    [body, model, 'model_region'],
    ...fallbacks.map((f, i) => [f, f.model as string, `fallbacks[${i}].model_region`] as [Record<string, unknown>, string, string]),
  ];
  // A tenant's own choice of global routing overrides the router's; an EU router never routes globally.
  const globalRouting = config.region !== 'eu' && (tenant?.globalRouting ?? config.globalRouting);
  for (const [target, id, param] of targets) {
    const problem = checkModelRegion(target, id, rules.get(id)!, config, globalRouting, param);
    if (problem) return rejected(problem, model);
  }

  const tenantRefusal = tenant && checkTenant(tenant, targets.map(([, id]) => id), 'transcript_id' in body || fallbacks.some((f) => 'transcript_id' in f));
  if (tenantRefusal) return rejected(tenantRefusal, model);

  // With global routing on, the router opts in for exactly the models whose entry accepts it:
  // the gateway answers 200 to an ineligible global request, so it cannot be left to refuse.
  if (globalRouting) {
    for (const [target, id] of targets) {
      if (rules.get(id)!.global) target.model_region = GLOBAL_MODEL_REGION;
    }
  }

  const rule = rules.get(model)!;
  const stream = body.stream === true;
  const upstreamStream = stream && rule.stream;
  if (stream && !upstreamStream) {
    // The upstream does not stream this model: ask for a complete answer and emulate SSE.
    delete body.stream;
    delete body.stream_options;
  }
  const global = body.model_region === GLOBAL_MODEL_REGION;
  const upstreamBody = JSON.stringify(body);
  const attempts = attemptsOf(body);
  const estimate = estimateOf(body, upstreamBody);
  const price = worstPrice(config.modelRules, attempts, config.allowedModels);
  return {
    kind: 'forward',
    model,
    provider: rule.provider,
    stream,
    upstreamStream,
    global,
    attempts,
    worstCase: {
      inputTokens: estimate.inputTokens,
      outputTokens: estimate.outputTokens,
      price,
      usdNanos: price && worstCaseNanos(price, estimate.inputTokens, estimate.outputTokens),
    },
    transcript: 'transcript_id' in body || fallbacks.some((f) => 'transcript_id' in f),
    upstreamBody,
  };
}

/**
 * The body as a JSON object, or the 400 that refuses it. Nesting is bounded
 * before parsing: serialising a deeply nested value again overflows the stack.
 */
export function parseRequestObject(rawBody: string): { body: Record<string, unknown> } | Rejection {
  if (exceedsDepth(rawBody, MAX_JSON_DEPTH)) {
    return reject(400, 'bad_request', `The request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels.`, 'body_too_deep');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    return reject(400, 'bad_request', 'The request body is not valid JSON.', 'invalid_json');
  }
  if (!isPlainObject(parsed)) {
    return reject(400, 'bad_request', 'The request body must be a JSON object.', 'invalid_json');
  }
  return { body: parsed };
}

/** A key that a case-insensitive decoder would read as a routing field without being spelled exactly. */
export function checkRoutingKeys(target: Record<string, unknown>): Rejection | undefined {
  return checkKeys(target, '');
}

function checkShape(body: Record<string, unknown>): Rejection | undefined {
  const ambiguous = checkKeys(body, '');
  if (ambiguous) return ambiguous;
  if (typeof body.model !== 'string' || body.model.length === 0) {
    return reject(400, 'bad_request', 'Field "model" is required and must be a non-empty string.', 'invalid_model', 'model');
  }
  if ('stream' in body && typeof body.stream !== 'boolean') {
    return reject(400, 'bad_request', 'Field "stream" must be a boolean.', 'invalid_type', 'stream');
  }
  const limits = checkCountFields(body, '');
  if (limits) return limits;
  if ('fallbacks' in body) {
    if (!Array.isArray(body.fallbacks)) {
      return reject(400, 'bad_request', 'Field "fallbacks" must be an array of objects with a string "model".', 'invalid_type', 'fallbacks');
    }
    if (body.fallbacks.length > MAX_FALLBACKS) {
      return reject(
        400,
        'bad_request',
        `Field "fallbacks" has ${body.fallbacks.length} entries; the gateway tries at most ${MAX_FALLBACKS}.`,
        'too_many_fallbacks',
        'fallbacks',
      );
    }
    for (let i = 0; i < body.fallbacks.length; i++) {
      const fallback: unknown = body.fallbacks[i];
      if (isPlainObject(fallback)) {
        // A fallback overrides any field of the request, so its keys are read like the top level's.
        const problem = checkKeys(fallback, `fallbacks[${i}].`);
        if (problem) return problem;
        if ('fallbacks' in fallback) {
          return reject(400, 'bad_request', `Field "fallbacks[${i}].fallbacks" is refused: fallbacks cannot be nested.`, 'nested_fallbacks', `fallbacks[${i}].fallbacks`);
        }
      }
      if (!isPlainObject(fallback) || typeof fallback.model !== 'string' || fallback.model.length === 0) {
        return reject(400, 'bad_request', `Field "fallbacks[${i}].model" is required and must be a non-empty string.`, 'invalid_type', `fallbacks[${i}].model`);
      }
      const fallbackLimits = checkCountFields(fallback, `fallbacks[${i}].`);
      if (fallbackLimits) return fallbackLimits;
    }
  }
  return undefined;
}

/**
 * Fields that set how much a request may produce: what its worst case (and a
 * tenant's reservation) is computed from. Each must be a positive whole
 * number (or null, the default): anything else, a numeric string included,
 * would reach the gateway uncounted.
 */
const COUNT_FIELDS: readonly string[] = ['max_tokens', 'max_completion_tokens', 'n'];

function checkCountFields(target: Record<string, unknown>, prefix: string): Rejection | undefined {
  for (const field of COUNT_FIELDS) {
    if (!(field in target) || target[field] === null) continue;
    const value = target[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      const param = `${prefix}${field}`;
      return reject(400, 'bad_request', `Field "${param}" must be a positive whole number, got ${safeJson(value)}.`, 'invalid_type', param);
    }
  }
  return undefined;
}

/** Refuses a key that a case-insensitive decoder would read as a routing field, unless it is spelled exactly. */
function checkKeys(target: Record<string, unknown>, prefix: string): Rejection | undefined {
  for (const key of Object.keys(target)) {
    const field = routingFieldOf(key);
    if (field !== undefined && field !== key) {
      const param = `${prefix}${key}`;
      return reject(
        400,
        'bad_request',
        `Field ${JSON.stringify(param)} is ambiguous: it reads as the routing field "${prefix}${field}"; routing fields must be spelled exactly.`,
        'invalid_field',
        param,
      );
    }
  }
  return undefined;
}

/**
 * The routing field a key folds to, if any. Folding is a superset of Go's
 * `strings.EqualFold` (Unicode simple case folding: 'ſ' is 's', the Kelvin sign is
 * 'k'), of encoding/json's ToUpper(ToLower(r)) ('ı' and 'İ' are 'i') and of full case
 * folding ('ß' is "ss", 'ﬅ' is "st"), so no decoder of that family reads a routing
 * field the router did not check.
 */
function routingFieldOf(key: string): string | undefined {
  if (key.length > LONGEST_FOLDABLE_KEY) return undefined;
  let folded = '';
  for (const ch of key) folded += FOLD_EXCEPTIONS.get(ch) ?? ch.toUpperCase().toLowerCase();
  return ROUTING_FIELDS.includes(folded) ? folded : undefined;
}

/**
 * Whether arrays and objects nest deeper than `limit`: a linear scan, no recursion,
 * exact for any text JSON.parse accepts (brackets inside strings do not count).
 */
function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next unit is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

function checkModelRegion(
  target: Record<string, unknown>,
  id: string,
  rule: ModelRule,
  config: RouterConfig,
  globalRouting: boolean,
  param: string,
): Rejection | undefined {
  if (!('model_region' in target)) return undefined;
  const value = target.model_region;
  if (value !== GLOBAL_MODEL_REGION) {
    return reject(400, 'bad_request', `Field "${param}" can only be "global", got ${safeJson(value)}.`, 'invalid_model_region', param);
  }
  if (config.region === 'eu') {
    return reject(403, 'residency', `Global routing is refused on this EU router: it would send data outside the EU (${param}).`, 'residency_violation', param);
  }
  if (!globalRouting) {
    return reject(403, 'global_routing', `Global routing is not enabled on this router${config.globalRouting ? ' for this tenant' : ''} (${param}).`, 'global_routing_disabled', param);
  }
  if (!rule.global) {
    return reject(403, 'global_routing', `Model ${JSON.stringify(id)} does not accept global routing (${param}).`, 'global_routing_unsupported', param);
  }
  return undefined;
}

/** The tenant's allow-list, over the primary model and every fallback, and its transcript access. */
function checkTenant(tenant: TenantPolicy, models: readonly string[], transcript: boolean): Rejection | undefined {
  if (tenant.allowedModels) {
    const allowed = new Set(tenant.allowedModels);
    const at = models.findIndex((id) => !allowed.has(id));
    if (at !== -1) {
      return reject(403, 'model_not_allowed',
        `Model ${JSON.stringify(models[at])} is not allowed for tenant ${tenant.id}. Allowed models: ${tenant.allowedModels.join(', ')}.`,
        'model_not_allowed', at === 0 ? 'model' : `fallbacks[${at - 1}].model`);
    }
  }
  if (transcript && tenant.transcriptAccess === false) {
    return reject(403, 'transcript_access', `Field "transcript_id" is refused: tenant ${tenant.id} has no transcript access.`, 'transcript_access_disabled', 'transcript_id');
  }
  return undefined;
}

function rejected(rejection: Rejection, model?: string): Decision {
  return { kind: 'reject', ...rejection, model };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
