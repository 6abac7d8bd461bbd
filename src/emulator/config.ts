import { GATEWAY_ENDPOINTS, RegionCode } from '../contract/catalog';
import { buildRouterEnvironment } from '../contract/env';
import type { TenantStoreFailure } from '../contract/env';
import type { GuardrailSpec } from '../contract/guardrail';
import { modelsServedIn } from '../contract/lookup';
import { BUNDLED_CATALOG, CatalogData } from '../contract/model-catalog';
import { encodeModelRules } from '../contract/model-rules';
import { checkRouterRules, RuleWarning } from '../contract/rules';

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
  /** HTTP forward proxy for the gateway connections. @default direct */
  readonly egressProxy?: string;
  /**
   * Tenants: the table that holds their shards (written there first, see
   * emulator/tenants.ts `writeLocalTenants`) and budgets, and the shards' versions.
   * @default none
   */
  readonly tenants?: { readonly shardVersions: string; readonly table: string; readonly storeFailure?: TenantStoreFailure };
  /** The router's guardrail (`--guardrail`). @default none */
  readonly guardrail?: GuardrailSpec;
  /** Where guardrail checks go instead of the guardrail region's Bedrock endpoint (`--bedrock-endpoint`). */
  readonly bedrockEndpoint?: string;
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
    egressProxy: s.egressProxy,
    tenants: s.tenants && { shardVersions: s.tenants.shardVersions, table: s.tenants.table, storeFailure: s.tenants.storeFailure },
    guardrail: s.guardrail && JSON.stringify(s.guardrail),
    bedrockEndpoint: s.bedrockEndpoint,
  });
}

/**
 * Checks local settings with the rules synth applies to the construct's props
 * (src/contract/rules.ts), so the emulator refuses what a deployment would
 * refuse, with the same words; throws a `RuleViolation`. Returns the settings
 * with the upstream timeout defaulted as the construct defaults it, and the
 * warnings synth would print.
 */
export function checkLocalSettings(s: LocalRouterSettings, timeoutMs: number): { settings: LocalRouterSettings; warnings: RuleWarning[] } {
  const checked = checkRouterRules({
    region: s.region,
    globalRouting: s.globalRouting ?? false,
    allowedModels: s.allowedModels,
    catalog: s.catalog ?? BUNDLED_CATALOG,
    isToken: () => false,
    customEndpoint: s.endpoint,
    egressProxy: s.egressProxy,
    maxBodyBytes: s.maxBodyBytes,
    timeoutMs,
    upstreamTimeoutMs: s.upstreamTimeoutMs,
    showMillis: (ms) => `${ms} ms`,
  });
  // The unpinned-list warning is about a deployment widening on a library or
  // catalog upgrade; a local emulator serving every listed model is the point.
  const warnings = checked.warnings.filter((w) => w.id !== 'allowedModelsUnpinned');
  return { settings: { ...s, upstreamTimeoutMs: checked.upstreamTimeoutMs }, warnings };
}
