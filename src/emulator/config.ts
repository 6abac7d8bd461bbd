import { GATEWAY_ENDPOINTS, RegionCode } from '../catalog/catalog';
import { buildRouterEnvironment } from '../catalog/env';
import { modelsServedIn } from '../catalog/lookup';
import { BUNDLED_CATALOG, CatalogData } from '../catalog/model-catalog';
import { encodeModelRules } from '../catalog/rules';

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
  /** The model catalog whose rules the handler enforces (`--catalog`). @default the bundled catalog */
  readonly catalog?: CatalogData;
}

/** The environment the construct would give the Lambda, for the same settings. */
export function routerEnvironment(s: LocalRouterSettings): Record<string, string> {
  const allowed = s.allowedModels ?? modelsServedIn(s.region, s.catalog);
  return buildRouterEnvironment({
    region: s.region,
    endpoint: s.endpoint ?? GATEWAY_ENDPOINTS[s.region],
    customEndpoint: s.endpoint !== undefined,
    globalRouting: s.globalRouting ?? false,
    transcriptAccess: s.transcriptAccess ?? false,
    allowedModels: allowed.join(','),
    // As the construct does: the rules of exactly the allowed models, from the router's catalog.
    modelRules: encodeModelRules(s.catalog ?? BUNDLED_CATALOG, s.region, allowed),
    maxBodyBytes: s.maxBodyBytes,
    upstreamTimeoutMs: s.upstreamTimeoutMs,
    serviceName: s.routerName ?? `local-${s.region}`,
  });
}
