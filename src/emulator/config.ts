import { GATEWAY_ENDPOINTS, RegionCode } from '../catalog/catalog';
import { ENV } from '../catalog/env';
import { modelsServedIn } from '../catalog/lookup';

export interface LocalRouterSettings {
  readonly region: RegionCode;
  readonly globalRouting?: boolean;
  /** Let callers send `transcript_id` (reads transcripts of the key's account). @default false */
  readonly transcriptAccess?: boolean;
  /** @default every catalog model the region serves */
  readonly allowedModels?: readonly string[];
  /** A custom upstream (the explicit opt-in). @default the region's gateway endpoint */
  readonly endpoint?: string;
  readonly maxBodyBytes?: number;
  readonly upstreamTimeoutMs?: number;
  readonly routerName?: string;
}

/** The environment the construct would give the Lambda, for the same settings. */
export function routerEnvironment(s: LocalRouterSettings): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.REGION]: s.region,
    [ENV.ENDPOINT]: s.endpoint ?? GATEWAY_ENDPOINTS[s.region],
    [ENV.GLOBAL_ROUTING]: String(s.globalRouting ?? false),
    [ENV.TRANSCRIPT_ACCESS]: String(s.transcriptAccess ?? false),
    [ENV.ALLOWED_MODELS]: (s.allowedModels ?? modelsServedIn(s.region)).join(','),
    [ENV.SERVICE_NAME]: s.routerName ?? `local-${s.region}`,
  };
  if (s.endpoint !== undefined) env[ENV.CUSTOM_ENDPOINT] = 'true';
  if (s.maxBodyBytes !== undefined) env[ENV.MAX_BODY_BYTES] = String(s.maxBodyBytes);
  if (s.upstreamTimeoutMs !== undefined) env[ENV.UPSTREAM_TIMEOUT_MS] = String(s.upstreamTimeoutMs);
  return env;
}
