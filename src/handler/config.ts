import { CHAT_COMPLETIONS_PATH, EU_HOST_SUFFIX, UNDERSTANDING_PATH, GATEWAY_ENDPOINTS, RegionCode } from '../contract/catalog';
import { DEFAULTS, ENV, isAcceptableEndpointProtocol } from '../contract/env';
import { findModel, providerOf } from '../contract/lookup';
import { decodeModelRules, ModelRule, ruleOf } from '../contract/model-rules';
import { splitModelList } from '../contract/rules';

/** Everything the handler needs to know, read once from the environment. */
export interface RouterConfig {
  readonly region: RegionCode;
  readonly endpoint: URL;
  /** `endpoint` + /v1/chat/completions (below the endpoint's own path), resolved once. */
  readonly completionsUrl: URL;
  /** The gateway's `/v1/understanding`, below the endpoint's path like `completionsUrl`. */
  readonly understandingUrl: URL;
  readonly globalRouting: boolean;
  /** Callers may send `transcript_id` (the gateway then reads transcripts of the key's account). */
  readonly transcriptAccess: boolean;
  /** Allowed ids in the order the operator gave them (for `GET /v1/models`). */
  readonly allowedModels: readonly string[];
  readonly allowedModelSet: ReadonlySet<string>;
  /** Per allowed model: where it is served, global routing, upstream streaming, prices. */
  readonly modelRules: ReadonlyMap<string, ModelRule>;
  readonly apiKeySecretArn?: string;
  readonly maxBodyBytes: number;
  readonly upstreamTimeoutMs: number;
  /** HTTP forward proxy the gateway connections are tunnelled through. */
  readonly egressProxy?: URL;
}

/** A deployment mistake: the handler refuses to serve rather than guess. */
export class RouterConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouterConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): RouterConfig {
  const region = env[ENV.REGION];
  if (region !== 'us' && region !== 'eu') {
    throw new RouterConfigError(`${ENV.REGION} must be "us" or "eu", got ${JSON.stringify(region)}`);
  }
  const custom = env[ENV.CUSTOM_ENDPOINT] === 'true';
  const endpoint = parseEndpoint(env[ENV.ENDPOINT] ?? GATEWAY_ENDPOINTS[region], region, custom);

  const globalRouting = parseBoolean(env[ENV.GLOBAL_ROUTING] ?? 'false', ENV.GLOBAL_ROUTING);
  if (globalRouting && region === 'eu') {
    throw new RouterConfigError(`${ENV.GLOBAL_ROUTING}=true is not allowed with ${ENV.REGION}=eu (it would abandon EU residency)`);
  }

  const transcriptAccess = parseBoolean(env[ENV.TRANSCRIPT_ACCESS] ?? 'false', ENV.TRANSCRIPT_ACCESS);

  // Trimmed like everywhere else: an SSM list "a, b" joined at deploy time means ["a", "b"].
  const allowedModels = splitModelList(env[ENV.ALLOWED_MODELS] ?? '');
  if (allowedModels.length === 0) {
    throw new RouterConfigError(`${ENV.ALLOWED_MODELS} must list at least one model id`);
  }

  let modelRules: Map<string, ModelRule>;
  try {
    modelRules = env[ENV.MODEL_RULES] ? decodeModelRules(env[ENV.MODEL_RULES]!) : new Map();
  } catch (err) {
    throw new RouterConfigError(`${ENV.MODEL_RULES} is not valid: ${(err as Error).message}`);
  }
  for (const id of allowedModels) {
    if (!modelRules.has(id)) {
      const fallback = bundledRule(id, region);
      if (fallback) modelRules.set(id, fallback);
    }
  }

  return {
    region,
    endpoint,
    completionsUrl: completionsUrlOf(endpoint),
    understandingUrl: urlBelow(endpoint, UNDERSTANDING_PATH),
    globalRouting,
    transcriptAccess,
    allowedModels,
    allowedModelSet: new Set(allowedModels),
    modelRules,
    apiKeySecretArn: env[ENV.API_KEY_SECRET_ARN] || undefined,
    maxBodyBytes: parsePositiveInt(env[ENV.MAX_BODY_BYTES], DEFAULTS.maxBodyBytes, ENV.MAX_BODY_BYTES),
    upstreamTimeoutMs: parsePositiveInt(env[ENV.UPSTREAM_TIMEOUT_MS], DEFAULTS.upstreamTimeoutMs, ENV.UPSTREAM_TIMEOUT_MS),
    egressProxy: parseEgressProxy(env[ENV.EGRESS_PROXY]),
  };
}

/**
 * The rule for an allowed id the environment has none for (an allow-list
 * entry that was a deploy-time token, or an environment written by hand):
 * the bundled catalog's entry, or for an id it does not list but whose
 * provider prefix it knows, the most cautious rule: US only, no global
 * routing, streaming emulated, no price. Anything else gets no rule and is refused.
 */
function bundledRule(id: string, region: RegionCode): ModelRule | undefined {
  const entry = findModel(id);
  if (entry && !entry.retired) return ruleOf(entry, region);
  const provider = entry ? undefined : providerOf(id);
  return provider ? { provider: provider.id, regions: ['us'], global: false, stream: false } : undefined;
}

function parseEndpoint(raw: string, region: RegionCode, custom: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RouterConfigError(`${ENV.ENDPOINT} is not a URL: ${JSON.stringify(raw)}`);
  }
  if (!custom) {
    // Without the explicit opt-in only the catalog's endpoint for the region is acceptable.
    if (url.origin !== new URL(GATEWAY_ENDPOINTS[region]).origin) {
      throw new RouterConfigError(
        `${ENV.ENDPOINT}=${raw} is not the ${region} gateway endpoint ${GATEWAY_ENDPOINTS[region]}; set ${ENV.CUSTOM_ENDPOINT}=true to use a custom endpoint`,
      );
    }
  } else if (!isAcceptableEndpointProtocol(url)) {
    // Defense in depth behind the synth check: the key must not travel in clear text.
    throw new RouterConfigError(`${ENV.ENDPOINT} must be an https URL (plain http only to a loopback address), got ${raw}`);
  }
  if (region === 'eu' && !custom && !url.hostname.endsWith(EU_HOST_SUFFIX)) {
    throw new RouterConfigError(`an EU router may only call *${EU_HOST_SUFFIX}, got ${url.hostname}`);
  }
  return url;
}

/**
 * The completions URL below the endpoint's path: a proxy mounted at
 * `https://proxy.example/llm` is called at `/llm/v1/chat/completions`
 * (resolving the absolute path against the URL would drop `/llm`).
 */
function completionsUrlOf(endpoint: URL): URL {
  return urlBelow(endpoint, CHAT_COMPLETIONS_PATH);
}

function urlBelow(endpoint: URL, path: string): URL {
  const url = new URL(endpoint.href);
  url.pathname = `${endpoint.pathname.replace(/\/+$/, '')}${path}`;
  return url;
}

/** The proxy only carries the connection: the target (and so residency) is still the endpoint's host. */
function parseEgressProxy(raw: string | undefined): URL | undefined {
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    // Never echo the value: it may carry proxy credentials.
    throw new RouterConfigError(`${ENV.EGRESS_PROXY} must be an http(s) URL such as http://proxy.corp:3128`);
  }
  return url;
}

function parseBoolean(raw: string, name: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new RouterConfigError(`${name} must be "true" or "false", got ${JSON.stringify(raw)}`);
}

function parsePositiveInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RouterConfigError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}
