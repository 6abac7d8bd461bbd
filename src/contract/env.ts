/**
 * The contract between the construct (which sets these variables on the
 * Lambda function) and the handler (which reads them). Names are public:
 * operators see them in the console and the emulator sets them too.
 */
export const ENV = Object.freeze({
  /** `us` or `eu`. */
  REGION: 'LLM_GATEWAY_REGION',
  /** Base URL of the upstream gateway. */
  ENDPOINT: 'LLM_GATEWAY_ENDPOINT',
  /** `true` or `false`. */
  GLOBAL_ROUTING: 'LLM_GATEWAY_GLOBAL_ROUTING',
  /**
   * `true` or `false` (default): whether callers may send `transcript_id`, which makes the
   * gateway read a transcript of the account that owns the gateway key into the prompt.
   */
  TRANSCRIPT_ACCESS: 'LLM_GATEWAY_TRANSCRIPT_ACCESS',
  /** Comma-separated model ids. */
  ALLOWED_MODELS: 'LLM_GATEWAY_ALLOWED_MODELS',
  /**
   * The catalog's rules for the allowed models (region, global routing, upstream
   * streaming, prices), compact JSON (see catalog/model-rules.ts): what synth validated.
   */
  MODEL_RULES: 'LLM_GATEWAY_MODEL_RULES',
  /** ARN of the Secrets Manager secret that holds the gateway key (never the key). */
  API_KEY_SECRET_ARN: 'LLM_GATEWAY_API_KEY_SECRET_ARN',
  /** `true` when the endpoint is an explicitly opted-in custom one (private proxy, tests). */
  CUSTOM_ENDPOINT: 'LLM_GATEWAY_CUSTOM_ENDPOINT',
  /** Largest accepted request body, in bytes. */
  MAX_BODY_BYTES: 'LLM_GATEWAY_MAX_BODY_BYTES',
  /** Upstream timeout in milliseconds (time to headers, and idle time between stream chunks). */
  UPSTREAM_TIMEOUT_MS: 'LLM_GATEWAY_UPSTREAM_TIMEOUT_MS',
  /**
   * URL of an HTTP forward proxy (`http://proxy.corp:3128`) the handler
   * tunnels its gateway connections through with CONNECT. Unset: direct.
   */
  EGRESS_PROXY: 'LLM_GATEWAY_EGRESS_PROXY',
  /** CloudWatch namespace (Powertools' own variable). */
  METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Router name: the `service` dimension of every metric (Powertools' own variable). */
  SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  // Tenants: set only on routers that have tenants (catalog/tenants-schema.ts).
  /**
   * The versions (content digests) of the tenant shards the table holds,
   * comma-separated: shard i is item `~tenants#i`. A change of tenants
   * changes the function's configuration, so new execution environments read
   * the new shards, and the handler checks each shard it reads against its
   * version. The tenants themselves are never here.
   */
  TENANT_SHARDS: 'LLM_GATEWAY_TENANT_SHARDS',
  /** The DynamoDB table of tenant budgets and rate limits. */
  TENANT_TABLE: 'LLM_GATEWAY_TENANT_TABLE',
  /** `closed` (default: 503 when the table cannot be reached) or `open` (admit unmetered). */
  TENANT_STORE_FAILURE: 'LLM_GATEWAY_TENANT_STORE_FAILURE',
  /** The router's guardrail, compact JSON (catalog/guardrail.ts `GuardrailSpec`). Unset: no guardrail. */
  GUARDRAIL: 'LLM_GATEWAY_GUARDRAIL',
  /**
   * The Bedrock runtime endpoint for guardrail checks, instead of the
   * guardrail region's: the emulator's `--bedrock-endpoint` (a local server).
   */
  BEDROCK_ENDPOINT: 'LLM_GATEWAY_BEDROCK_ENDPOINT',
});

/** Defaults shared by the construct and the handler. */
export const DEFAULTS = Object.freeze({
  /** 1 MiB: far above any chat request, far below API Gateway's 10 MB payload limit. */
  maxBodyBytes: 1024 * 1024,
  upstreamTimeoutMs: 120_000,
  metricsNamespace: 'LlmGatewayRouter',
});

/**
 * Whether an upstream URL may be used: https anywhere, plain http only to a
 * loopback address (the local emulator and tests), since the gateway key
 * travels in the Authorization header. Checked at synth and again by the
 * handler.
 */
export function isAcceptableEndpointProtocol(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/** `localhost`, 127.0.0.0/8 or [::1], as `URL.hostname` spells them. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** What a router's function is configured with: the construct's resolved props, or the emulator's flags. */
export interface RouterEnvironmentSettings {
  readonly region: 'us' | 'eu';
  /** The upstream base URL. */
  readonly endpoint: string;
  /** The endpoint is an explicit opt-in rather than the region's gateway. */
  readonly customEndpoint: boolean;
  readonly globalRouting: boolean;
  /** Callers may send `transcript_id`. */
  readonly transcriptAccess: boolean;
  /** Model ids, already joined with commas (the construct may join deploy-time tokens). */
  readonly allowedModels: string;
  /** The allowed models' catalog rules (catalog/model-rules.ts). Without it the handler uses the bundled catalog. */
  readonly modelRules?: string;
  /** Absent in the emulator, which is handed the key directly. */
  readonly apiKeySecretArn?: string;
  readonly maxBodyBytes?: number;
  readonly upstreamTimeoutMs?: number;
  readonly metricsNamespace?: string;
  readonly serviceName: string;
  /** HTTP forward proxy URL for the gateway connections. @default direct */
  readonly egressProxy?: string;
  /** A router with tenants: their document, budget table and failure mode. @default no tenants (no tenant variables) */
  readonly tenants?: TenantEnvironmentSettings;
  /** The router's guardrail (catalog/guardrail.ts), encoded. @default no guardrail */
  readonly guardrail?: string;
  /** A Bedrock runtime endpoint other than the guardrail region's (the emulator's local one). */
  readonly bedrockEndpoint?: string;
}

/** What the tenant store adds to the function's environment (src/contract/tenants-schema.ts describes the shards). */
export interface TenantEnvironmentSettings {
  /** The shards' versions, comma-separated (one per shard, in order). */
  readonly shardVersions: string;
  /** The budget table's name. */
  readonly table: string;
  /** `closed` (default) or `open`. */
  readonly storeFailure?: TenantStoreFailure;
}

/** What the handler does when the tenant store cannot be reached. */
export type TenantStoreFailure = 'closed' | 'open';

/**
 * The shortest gateway key the router uses. AssemblyAI keys are 32
 * characters; a shorter one is a mistake (a placeholder, a truncated paste),
 * and a very short one cannot be redacted from answers without rewriting
 * ordinary text (a one-character key would be every such character).
 */
export const MIN_GATEWAY_KEY_LENGTH = 16;

/** Lambda's limit on a function's environment: all keys and values together. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/**
 * The variables a router with tenants adds to its own: part of
 * `buildRouterEnvironment`, and added by the construct on its own when the
 * first tenant creates the store (after the function exists).
 */
export function buildTenantEnvironment(s: TenantEnvironmentSettings): Record<string, string> {
  const env: Record<string, string> = { [ENV.TENANT_SHARDS]: s.shardVersions, [ENV.TENANT_TABLE]: s.table };
  if (s.storeFailure === 'open') env[ENV.TENANT_STORE_FAILURE] = 'open';
  return env;
}

/**
 * The Lambda environment for a router: the one function both the construct
 * and the local emulator call, so the two cannot configure the handler
 * differently.
 */
export function buildRouterEnvironment(s: RouterEnvironmentSettings): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.REGION]: s.region,
    [ENV.ENDPOINT]: s.endpoint,
    [ENV.GLOBAL_ROUTING]: String(s.globalRouting),
    [ENV.TRANSCRIPT_ACCESS]: String(s.transcriptAccess),
    [ENV.ALLOWED_MODELS]: s.allowedModels,
  };
  if (s.modelRules !== undefined) env[ENV.MODEL_RULES] = s.modelRules;
  if (s.apiKeySecretArn !== undefined) env[ENV.API_KEY_SECRET_ARN] = s.apiKeySecretArn;
  if (s.maxBodyBytes !== undefined) env[ENV.MAX_BODY_BYTES] = String(s.maxBodyBytes);
  if (s.upstreamTimeoutMs !== undefined) env[ENV.UPSTREAM_TIMEOUT_MS] = String(s.upstreamTimeoutMs);
  if (s.metricsNamespace !== undefined) env[ENV.METRICS_NAMESPACE] = s.metricsNamespace;
  env[ENV.SERVICE_NAME] = s.serviceName;
  if (s.customEndpoint) env[ENV.CUSTOM_ENDPOINT] = 'true';
  if (s.egressProxy !== undefined) env[ENV.EGRESS_PROXY] = s.egressProxy;
  if (s.tenants) Object.assign(env, buildTenantEnvironment(s.tenants));
  if (s.guardrail !== undefined) env[ENV.GUARDRAIL] = s.guardrail;
  if (s.bedrockEndpoint !== undefined) env[ENV.BEDROCK_ENDPOINT] = s.bedrockEndpoint;
  return env;
}
