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
  /** ARN of the Secrets Manager secret that holds the gateway key (never the key). */
  API_KEY_SECRET_ARN: 'LLM_GATEWAY_API_KEY_SECRET_ARN',
  /** `true` when the endpoint is an explicitly opted-in custom one (private proxy, tests). */
  CUSTOM_ENDPOINT: 'LLM_GATEWAY_CUSTOM_ENDPOINT',
  /** Largest accepted request body, in bytes. */
  MAX_BODY_BYTES: 'LLM_GATEWAY_MAX_BODY_BYTES',
  /** Upstream timeout in milliseconds (time to headers, and idle time between stream chunks). */
  UPSTREAM_TIMEOUT_MS: 'LLM_GATEWAY_UPSTREAM_TIMEOUT_MS',
  /** CloudWatch namespace (Powertools' own variable). */
  METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Router name: the `service` dimension of every metric (Powertools' own variable). */
  SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  // Tenants (issue 15): set only on routers that have tenants (catalog/tenants-schema.ts).
  /** The tenants document, compact JSON. */
  TENANTS: 'LLM_GATEWAY_TENANTS',
  /** The DynamoDB table of tenant budgets and rate limits. */
  TENANT_TABLE: 'LLM_GATEWAY_TENANT_TABLE',
  /** `closed` (default: 503 when the table cannot be reached) or `open` (admit unmetered). */
  TENANT_STORE_FAILURE: 'LLM_GATEWAY_TENANT_STORE_FAILURE',
});

/** Defaults shared by the construct and the handler. */
export const DEFAULTS = Object.freeze({
  /** 1 MiB: far above any chat request, far below API Gateway's 10 MB payload limit. */
  maxBodyBytes: 1024 * 1024,
  upstreamTimeoutMs: 120_000,
  metricsNamespace: 'LlmGatewayRouter',
});

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
  /** Absent in the emulator, which is handed the key directly. */
  readonly apiKeySecretArn?: string;
  readonly maxBodyBytes?: number;
  readonly upstreamTimeoutMs?: number;
  readonly metricsNamespace?: string;
  readonly serviceName: string;
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
  if (s.apiKeySecretArn !== undefined) env[ENV.API_KEY_SECRET_ARN] = s.apiKeySecretArn;
  if (s.maxBodyBytes !== undefined) env[ENV.MAX_BODY_BYTES] = String(s.maxBodyBytes);
  if (s.upstreamTimeoutMs !== undefined) env[ENV.UPSTREAM_TIMEOUT_MS] = String(s.upstreamTimeoutMs);
  if (s.metricsNamespace !== undefined) env[ENV.METRICS_NAMESPACE] = s.metricsNamespace;
  env[ENV.SERVICE_NAME] = s.serviceName;
  if (s.customEndpoint) env[ENV.CUSTOM_ENDPOINT] = 'true';
  return env;
}
