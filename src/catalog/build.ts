import { RegionCode } from './catalog';
import { CatalogData, ModelEntry, parseCatalog, PriceRegion, ProviderInfo, TokenPrice } from './model-catalog';

/*
 * Turns the gateway's `GET /v1/models` answers (one per endpoint) into a
 * catalog. The one code path for both `catalog fetch` and the bundled
 * models.json, which is this function applied to the seed listings in
 * src/catalog/seed/ (a test re-runs it, so the two cannot drift).
 *
 * Read from the documented shape: `data[]` of models with `id`, `owned_by`,
 * `context_length`, `supported_parameters`, `available_regions` (where
 * "global" marks a model that accepts global routing) and `pricing` per
 * region. Whatever is not there is taken conservatively: no global routing,
 * streaming emulated by the router, no price.
 */

export interface BuildInputs {
  /** The US endpoint's `GET /v1/models` body. */
  readonly us: unknown;
  /** The EU endpoint's `GET /v1/models` body. */
  readonly eu: unknown;
  /** The catalog this one replaces: keeps provider names and prefixes, and marks models no longer listed as retired. */
  readonly previous?: CatalogData;
  readonly source: string;
  readonly generatedAt: string;
  readonly pricesNote: string;
}

interface Listed {
  readonly id: string;
  readonly ownedBy?: string;
  readonly contextLength?: number;
  readonly params: readonly string[];
  readonly availableRegions: readonly string[];
  readonly pricing: Partial<Record<PriceRegion, TokenPrice>>;
}

export function buildCatalog(inputs: BuildInputs): CatalogData {
  const listings: Record<RegionCode, Map<string, Listed>> = { us: readListing(inputs.us, 'US'), eu: readListing(inputs.eu, 'EU') };
  const previous = inputs.previous;
  const providers: Record<string, ProviderInfo> = {};
  const models: ModelEntry[] = [];
  const ids = [...new Set([...listings.us.keys(), ...listings.eu.keys()])];

  for (const id of ids) {
    // The US listing describes a model served in both; the EU one fills in EU-only models.
    const listed = (listings.us.get(id) ?? listings.eu.get(id))!;
    const regions = (['us', 'eu'] as const).filter((r) => listings[r].has(id));
    const provider = listed.ownedBy ?? previous?.models.find((m) => m.id === id)?.provider ?? providerByPrefix(previous, id) ?? 'unknown';
    providers[provider] ??= previous?.providers[provider] ?? { name: provider, prefixes: [] };
    const global = listed.availableRegions.includes('global');
    const prices: Partial<Record<PriceRegion, TokenPrice>> = {};
    for (const r of [...regions, ...(global ? ['global' as const] : [])]) {
      // Each endpoint's own listing is the authority on its own prices.
      const p = listings[r as RegionCode]?.get(id)?.pricing[r] ?? listed.pricing[r];
      if (p) prices[r] = p;
    }
    models.push({
      id,
      provider,
      regions,
      global,
      stream: listed.params.includes('stream'),
      ...(listed.contextLength !== undefined ? { contextLength: listed.contextLength } : {}),
      prices,
    });
  }
  // A model the previous catalog knew and neither endpoint lists any more is retired, not forgotten:
  // synth then refuses it by name and suggests a live one, instead of calling it unknown.
  for (const old of previous?.models ?? []) {
    if (ids.includes(old.id)) continue;
    providers[old.provider] ??= previous!.providers[old.provider];
    models.push({ ...old, retired: true });
  }
  return parseCatalog({
    schema: 1,
    source: inputs.source,
    generatedAt: inputs.generatedAt,
    pricesNote: inputs.pricesNote,
    providers,
    models,
  }, 'the built catalog');
}

/** The catalog as its file is written: stable key order, two-space indent, final newline. */
export function serializeCatalog(catalog: CatalogData): string {
  return `${JSON.stringify(catalog, null, 2)}\n`;
}

function readListing(body: unknown, endpoint: string): Map<string, Listed> {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error(`the ${endpoint} endpoint's /v1/models answer has no "data" array`);
  const out = new Map<string, Listed>();
  for (const item of data) {
    if (typeof item?.id !== 'string' || item.id === '') continue;
    out.set(item.id, {
      id: item.id,
      ownedBy: typeof item.owned_by === 'string' && item.owned_by !== '' ? item.owned_by : undefined,
      contextLength: typeof item.context_length === 'number' ? item.context_length : undefined,
      params: stringArray(item.supported_parameters),
      availableRegions: stringArray(item.available_regions),
      pricing: readPricing(item.pricing),
    });
  }
  return out;
}

function readPricing(raw: unknown): Partial<Record<PriceRegion, TokenPrice>> {
  const out: Partial<Record<PriceRegion, TokenPrice>> = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const region of ['us', 'eu', 'global'] as const) {
    const p = (raw as Record<string, { input?: unknown; output?: unknown } | undefined>)[region];
    const input = toNumber(p?.input);
    const output = toNumber(p?.output);
    if (input !== undefined && output !== undefined) out[region] = { input, output };
  }
  return out;
}

/** Prices arrive as decimal strings (or numbers): USD per token. */
function toNumber(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function providerByPrefix(catalog: CatalogData | undefined, id: string): string | undefined {
  return Object.entries(catalog?.providers ?? {}).find(([, p]) => p.prefixes.some((prefix) => id.startsWith(prefix)))?.[0];
}
