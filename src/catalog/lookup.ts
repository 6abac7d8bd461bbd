import { GATEWAY_ENDPOINTS, PROVIDERS, ProviderEntry, RegionCode } from './catalog';

/** The provider whose prefix the id starts with (case-sensitive), if any. */
export function providerOf(modelId: string): ProviderEntry | undefined {
  for (const provider of PROVIDERS) {
    for (const prefix of provider.prefixes) {
      if (modelId.startsWith(prefix)) return provider;
    }
  }
  return undefined;
}

/** Whether the region's endpoint serves the provider. */
export function servesProvider(region: RegionCode, provider: ProviderEntry): boolean {
  return provider.regions.includes(region);
}

/** Every catalog model id served by the region, in catalog order. */
export function modelsServedIn(region: RegionCode): string[] {
  return PROVIDERS.filter((p) => servesProvider(region, p)).flatMap((p) => p.models);
}

/** Every catalog model id, in catalog order. */
export function allKnownModels(): string[] {
  return PROVIDERS.flatMap((p) => p.models);
}

/** Names of the providers the region serves, for messages. */
export function providerNamesServedIn(region: RegionCode): string[] {
  return PROVIDERS.filter((p) => servesProvider(region, p)).map((p) => p.name);
}

/** The region's gateway base URL. */
export function endpointFor(region: RegionCode): string {
  return GATEWAY_ENDPOINTS[region];
}

/** The known id that equals `modelId` ignoring letter case, when `modelId` itself is not known. */
export function caseVariantOf(modelId: string): string | undefined {
  const lower = modelId.toLowerCase();
  return allKnownModels().find((known) => known !== modelId && known.toLowerCase() === lower);
}

/**
 * The known id closest to `modelId` when it is a likely typo (edit distance
 * of at most 2, or 1 for short ids), otherwise undefined. Ids that differ
 * only in digits are versions, not typos: a new model is not a misspelt old one.
 */
export function closestKnownModel(modelId: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const known of allKnownModels()) {
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
