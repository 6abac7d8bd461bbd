import { RouterConfig } from './config';
import { Rejection, reject } from './errors';
import { GLOBAL_MODEL_REGION, ProviderEntry } from '../catalog/catalog';
import { providerOf, servesProvider } from '../catalog/lookup';

/** A request that satisfies every policy, ready to go upstream. */
export interface Forward {
  readonly kind: 'forward';
  readonly model: string;
  readonly provider: ProviderEntry;
  /** The caller asked for `stream: true`. */
  readonly stream: boolean;
  /** The upstream itself streams this request (otherwise the router emulates SSE). */
  readonly upstreamStream: boolean;
  /** The request goes upstream with `model_region: "global"`. */
  readonly global: boolean;
  /** The exact JSON sent upstream: re-serialised, so duplicate keys cannot reach it. */
  readonly upstreamBody: string;
}

export type Decision = Forward | (Rejection & { readonly kind: 'reject'; readonly model?: string });

/** Fields whose meaning decides routing; a key that is one of them but for case is ambiguous. */
const ROUTING_FIELDS = ['model', 'model_region', 'fallbacks', 'stream'];

/**
 * Applies the router's policy to a raw request body, in the documented order:
 * JSON shape, field types, allow-list and region, then `model_region`.
 * Pure: nothing here performs I/O, so a rejection can never reach the upstream.
 */
export function decide(rawBody: string, config: RouterConfig): Decision {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    return rejected(reject(400, 'bad_request', 'The request body is not valid JSON.', 'invalid_json'));
  }
  if (!isPlainObject(parsed)) {
    return rejected(reject(400, 'bad_request', 'The request body must be a JSON object.', 'invalid_json'));
  }
  const body = parsed;

  const shapeError = checkShape(body);
  if (shapeError) return rejected(shapeError);
  const model = body.model as string;
  const fallbacks = (body.fallbacks ?? []) as Array<Record<string, unknown>>;

  // Allow-list and region, for the primary model and every fallback.
  const providers = new Map<string, ProviderEntry>();
  for (const [id, param] of [[model, 'model'] as const, ...fallbacks.map((f, i) => [f.model as string, `fallbacks[${i}].model`] as const)]) {
    const provider = providerOf(id);
    if (!config.allowedModelSet.has(id) || !provider) {
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
    if (!servesProvider(config.region, provider)) {
      return rejected(
        reject(
          403,
          'residency',
          `Model ${JSON.stringify(id)} (${provider.name}) is not served in region ${config.region}.`,
          'model_not_allowed',
          param,
        ),
        model,
      );
    }
    providers.set(id, provider);
  }

  // model_region, as sent by the caller, at the top level and in each fallback override.
  const targets: Array<[Record<string, unknown>, string, string]> = [
    [body, model, 'model_region'],
    ...fallbacks.map((f, i) => [f, f.model as string, `fallbacks[${i}].model_region`] as [Record<string, unknown>, string, string]),
  ];
  for (const [target, id, param] of targets) {
    const problem = checkModelRegion(target, providers.get(id)!, config, param);
    if (problem) return rejected(problem, model);
  }

  // With global routing on, the router opts in for every provider that accepts it.
  if (config.globalRouting) {
    for (const [target, id] of targets) {
      if (providers.get(id)!.globalRouting) target.model_region = GLOBAL_MODEL_REGION;
    }
  }

  const provider = providers.get(model)!;
  const stream = body.stream === true;
  const upstreamStream = stream && provider.upstreamStreaming;
  if (stream && !upstreamStream) {
    // The upstream does not stream this provider: ask for a complete answer and emulate SSE.
    delete body.stream;
    delete body.stream_options;
  }
  return {
    kind: 'forward',
    model,
    provider,
    stream,
    upstreamStream,
    global: body.model_region === GLOBAL_MODEL_REGION,
    upstreamBody: JSON.stringify(body),
  };
}

function checkShape(body: Record<string, unknown>): Rejection | undefined {
  for (const key of Object.keys(body)) {
    const lower = key.toLowerCase();
    if (key !== lower && ROUTING_FIELDS.includes(lower)) {
      return reject(400, 'bad_request', `Field ${JSON.stringify(key)} is ambiguous: routing fields are lower-case (${lower}).`, 'invalid_field', key);
    }
  }
  if (typeof body.model !== 'string' || body.model.length === 0) {
    return reject(400, 'bad_request', 'Field "model" is required and must be a non-empty string.', 'invalid_model', 'model');
  }
  if ('stream' in body && typeof body.stream !== 'boolean') {
    return reject(400, 'bad_request', 'Field "stream" must be a boolean.', 'invalid_type', 'stream');
  }
  if ('fallbacks' in body) {
    if (!Array.isArray(body.fallbacks)) {
      return reject(400, 'bad_request', 'Field "fallbacks" must be an array of objects with a string "model".', 'invalid_type', 'fallbacks');
    }
    for (let i = 0; i < body.fallbacks.length; i++) {
      const fallback: unknown = body.fallbacks[i];
      if (!isPlainObject(fallback) || typeof fallback.model !== 'string' || fallback.model.length === 0) {
        return reject(400, 'bad_request', `Field "fallbacks[${i}].model" is required and must be a non-empty string.`, 'invalid_type', `fallbacks[${i}].model`);
      }
    }
  }
  return undefined;
}

function checkModelRegion(
  target: Record<string, unknown>,
  provider: ProviderEntry,
  config: RouterConfig,
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
  if (!config.globalRouting) {
    return reject(403, 'global_routing', `Global routing is not enabled on this router (${param}).`, 'global_routing_disabled', param);
  }
  if (!provider.globalRouting) {
    return reject(403, 'global_routing', `${provider.name} does not accept global routing (${param}).`, 'global_routing_unsupported', param);
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
