import { GATEWAY_ENDPOINTS, RegionCode } from '../catalog/catalog';
import { buildRouterEnvironment } from '../catalog/env';
import { modelsServedIn } from '../catalog/lookup';
import { buildTenantEnvironment, encodeTenants, TenantSpec, TenantStoreFailure } from '../catalog/tenants-schema';

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
  /** Tenants, and the table that holds their budgets. @default none */
  readonly tenants?: { readonly specs: readonly TenantSpec[]; readonly table: string; readonly storeFailure?: TenantStoreFailure };
}

/** The environment the construct would give the Lambda, for the same settings. */
export function routerEnvironment(s: LocalRouterSettings): Record<string, string> {
  const tenants = s.tenants
    ? buildTenantEnvironment({ tenants: encodeTenants(s.tenants.specs), table: s.tenants.table, storeFailure: s.tenants.storeFailure })
    : {};
  return { ...baseEnvironment(s), ...tenants };
}

function baseEnvironment(s: LocalRouterSettings): Record<string, string> {
  return buildRouterEnvironment({
    region: s.region,
    endpoint: s.endpoint ?? GATEWAY_ENDPOINTS[s.region],
    customEndpoint: s.endpoint !== undefined,
    globalRouting: s.globalRouting ?? false,
    transcriptAccess: s.transcriptAccess ?? false,
    allowedModels: (s.allowedModels ?? modelsServedIn(s.region)).join(','),
    maxBodyBytes: s.maxBodyBytes,
    upstreamTimeoutMs: s.upstreamTimeoutMs,
    serviceName: s.routerName ?? `local-${s.region}`,
  });
}
