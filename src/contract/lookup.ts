import { GATEWAY_ENDPOINTS, RegionCode } from './catalog';
import { BUNDLED_CATALOG, CatalogData, ModelEntry, ProviderInfo } from './model-catalog';

/*
 * Questions asked of a catalog, by the construct at synth time and by the
 * handler for ids its environment carries no rule for. Every function takes
 * the catalog last, defaulting to the bundled one.
 */

/** A provider, with its id. */
export interface Provider extends ProviderInfo {
  readonly id: string;
}

/** The catalog's entry for the id (exact, case-sensitive), retired or live. */
export function findModel(modelId: string, catalog: CatalogData = BUNDLED_CATALOG): ModelEntry | undefined {
  return catalog.models.find((m) => m.id === modelId);
}

/** The provider of a listed id, or the provider whose prefix an unlisted id starts with. */
export function providerOf(modelId: string, catalog: CatalogData = BUNDLED_CATALOG): Provider | undefined {
  const id = findModel(modelId, catalog)?.provider
    ?? Object.keys(catalog.providers).find((p) => catalog.providers[p].prefixes.some((prefix) => modelId.startsWith(prefix)));
  return id === undefined ? undefined : { id, ...catalog.providers[id] };
}

/** Every live model the region's endpoint lists, in catalog order. */
export function modelsServedIn(region: RegionCode, catalog: CatalogData = BUNDLED_CATALOG): string[] {
  return catalog.models.filter((m) => !m.retired && m.regions.includes(region)).map((m) => m.id);
}

/** Every catalog model id (retired too: a retired id is still known, not a typo). */
export function allKnownModels(catalog: CatalogData = BUNDLED_CATALOG): string[] {
  return catalog.models.map((m) => m.id);
}

/** Names of the providers with a live model in the region, for messages. */
export function providerNamesServedIn(region: RegionCode, catalog: CatalogData = BUNDLED_CATALOG): string[] {
  const ids = new Set(catalog.models.filter((m) => !m.retired && m.regions.includes(region)).map((m) => m.provider));
  return [...ids].map((id) => catalog.providers[id].name);
}

/** The region's gateway base URL. */
export function endpointFor(region: RegionCode): string {
  return GATEWAY_ENDPOINTS[region];
}

/** The known id that equals `modelId` ignoring letter case, when `modelId` itself is not known. */
export function caseVariantOf(modelId: string, catalog: CatalogData = BUNDLED_CATALOG): string | undefined {
  const lower = modelId.toLowerCase();
  return allKnownModels(catalog).find((known) => known !== modelId && known.toLowerCase() === lower);
}

/**
 * The known id closest to `modelId` when it is a likely typo (edit distance
 * of at most 2, or 1 for short ids), otherwise undefined. Ids that differ
 * only in digits are versions, not typos: a new model is not a misspelt old one.
 */
export function closestKnownModel(modelId: string, catalog: CatalogData = BUNDLED_CATALOG): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const known of allKnownModels(catalog)) {
    if (differsOnlyInDigits(modelId, known)) continue;
    const d = editDistance(modelId, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  const limit = modelId.length <= 6 ? 1 : 2;
  return bestDistance > 0 && bestDistance <= limit ? best : undefined;
}

/**
 * A live model to use instead of a retired one: the nearest id of the same
 * provider in the region, otherwise the nearest id the region serves.
 */
export function liveReplacementFor(retired: ModelEntry, region: RegionCode, catalog: CatalogData = BUNDLED_CATALOG): string | undefined {
  const live = catalog.models.filter((m) => !m.retired && m.regions.includes(region));
  const sameProvider = live.filter((m) => m.provider === retired.provider);
  const pool = (sameProvider.length > 0 ? sameProvider : live).map((m) => m.id);
  let best: string | undefined;
  for (const id of pool) {
    if (best === undefined || editDistance(retired.id, id) < editDistance(retired.id, best)) best = id;
  }
  return best;
}

function differsOnlyInDigits(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(/\d/.test(a[i]) && /\d/.test(b[i]))) return false;
  }
  return true;
}

/** Levenshtein distance (also used for tenant allow-list suggestions). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prevDiagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prevDiagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      prevDiagonal = saved;
    }
  }
  return row[b.length];
}
