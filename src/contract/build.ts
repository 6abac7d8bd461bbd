import { RegionCode } from './catalog';
import { CatalogData, ModelEntry, parseCatalog, PriceRegion, ProviderInfo, RESERVED_KEYS, TokenPrice } from './model-catalog';

/*
 * Turns the gateway's `GET /v1/models` answers (one per endpoint) into a
 * catalog. The one code path for both `catalog fetch` and the bundled
 * models.json, which is this function applied to the seed listings in
 * src/contract/seed/ (a test re-runs it, so the two cannot drift).
 *
 * Read from the documented shape: `data[]` of models with `id`, `owned_by`,
 * `context_length`, `supported_parameters`, `available_regions` (where
 * "global" marks a model that accepts global routing) and `pricing` per
 * region. Whatever is not there is taken conservatively: no global routing,
 * streaming emulated by the router. A price the listing does not spell in a
 * known way is not guessed: the build fails naming the model and the fields
 * it saw (`UnpricedModelsError`), unless the caller allows unpriced models.
 *
 * Price spellings read, per region: `input`/`output` (the documented shape)
 * or `prompt`/`completion`; cached input as `cached_input`,
 * `input_cache_read` or `cache_read`; cache writes as `cache_write`,
 * `input_cache_write` or `cache_creation`. Decimal strings or numbers, USD per token.
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
  /**
   * Write models whose price cannot be read without one (their cost is then
   * unknown: tenants' USD budgets refuse them).
   * @default false: such models fail the build with `UnpricedModelsError`
   */
  readonly allowUnpriced?: boolean;
}

/** Where a model's price could not be read: the region, and the price fields the listing had there. */
export interface UnpricedModel {
  readonly id: string;
  readonly regions: readonly PriceRegion[];
  readonly fieldsSeen: readonly string[];
}

/** Models listed without a price the build can read. */
export class UnpricedModelsError extends Error {
  constructor(readonly models: readonly UnpricedModel[]) {
    super(`${models.length} model${models.length === 1 ? ' has' : 's have'} no readable price: ${models.map(describeUnpriced).join('; ')}. `
      + 'Prices are read from pricing.<region>.input/output or prompt/completion (USD per token). '
      + 'Pass --allow-unpriced to write the catalog anyway (their cost is then unknown, and tenants with a USD budget are refused them).');
    this.name = 'UnpricedModelsError';
  }
}

function describeUnpriced(m: UnpricedModel): string {
  return `${m.id} (${m.regions.join(', ')}; price fields seen: ${m.fieldsSeen.length ? m.fieldsSeen.join(', ') : 'none'})`;
}

interface Listed {
  readonly id: string;
  readonly ownedBy?: string;
  readonly contextLength?: number;
  readonly params: readonly string[];
  readonly availableRegions: readonly string[];
  readonly pricing: Partial<Record<PriceRegion, TokenPrice>>;
  /** Per region, the price fields the listing had (for the unpriced report). */
  readonly priceFields: Partial<Record<PriceRegion, string[]>>;
}

export function buildCatalog(inputs: BuildInputs): CatalogData {
  const listings: Record<RegionCode, Map<string, Listed>> = { us: readListing(inputs.us, 'US'), eu: readListing(inputs.eu, 'EU') };
  const previous = inputs.previous;
  const providers: Record<string, ProviderInfo> = Object.create(null);
  const models: ModelEntry[] = [];
  const unpriced: UnpricedModel[] = [];
  const ids = [...new Set([...listings.us.keys(), ...listings.eu.keys()])];

  for (const id of ids) {
    // The US listing describes a model served in both; the EU one fills in EU-only models.
    const listed = (listings.us.get(id) ?? listings.eu.get(id))!;
    const regions = (['us', 'eu'] as const).filter((r) => listings[r].has(id));
    const provider = listed.ownedBy ?? previous?.models.find((m) => m.id === id)?.provider ?? providerByPrefix(previous, id) ?? 'unknown';
    providers[provider] ??= ownValue(previous?.providers, provider) ?? { name: provider, prefixes: [] };
    const global = listed.availableRegions.includes('global');
    const prices: Partial<Record<PriceRegion, TokenPrice>> = {};
    const missing: PriceRegion[] = [];
    const fieldsSeen = new Set<string>();
    for (const r of [...regions, ...(global ? ['global' as const] : [])]) {
      // Each endpoint's own listing is the authority on its own prices.
      const own = r === 'global' ? undefined : listings[r].get(id);
      const p = own?.pricing[r] ?? listed.pricing[r];
      if (p) {
        prices[r] = p;
      } else {
        missing.push(r);
        for (const f of [...(own?.priceFields[r] ?? []), ...(listed.priceFields[r] ?? [])]) fieldsSeen.add(`pricing.${r}.${f}`);
      }
    }
    if (missing.length > 0) unpriced.push({ id, regions: missing, fieldsSeen: [...fieldsSeen] });
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
  if (unpriced.length > 0 && !inputs.allowUnpriced) throw new UnpricedModelsError(unpriced);
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
    // An id becomes an environment list entry and an object key: no separators, no blanks, no JavaScript internals.
    if (/[\s,]/.test(item.id)) throw new Error(`the ${endpoint} endpoint's /v1/models lists the model id ${JSON.stringify(item.id)}, which has a comma or whitespace: refused`);
    const ownedBy = typeof item.owned_by === 'string' && item.owned_by !== '' ? item.owned_by : undefined;
    for (const [what, value] of [['model id', item.id], ['owned_by', ownedBy]] as const) {
      if (value !== undefined && RESERVED_KEYS.has(value)) {
        throw new Error(`the ${endpoint} endpoint's /v1/models has ${what} ${JSON.stringify(value)}, a name reserved by JavaScript objects: refused`);
      }
    }
    const pricing = readPricing(item.pricing);
    out.set(item.id, {
      id: item.id,
      ownedBy,
      contextLength: typeof item.context_length === 'number' ? item.context_length : undefined,
      params: stringArray(item.supported_parameters),
      availableRegions: stringArray(item.available_regions),
      pricing: pricing.prices,
      priceFields: pricing.fields,
    });
  }
  return out;
}

const INPUT_SPELLINGS = ['input', 'prompt'];
const OUTPUT_SPELLINGS = ['output', 'completion'];
const CACHED_INPUT_SPELLINGS = ['cached_input', 'input_cache_read', 'cache_read'];
const CACHE_WRITE_SPELLINGS = ['cache_write', 'input_cache_write', 'cache_creation'];

function readPricing(raw: unknown): { prices: Partial<Record<PriceRegion, TokenPrice>>; fields: Partial<Record<PriceRegion, string[]>> } {
  const prices: Partial<Record<PriceRegion, TokenPrice>> = {};
  const fields: Partial<Record<PriceRegion, string[]>> = {};
  if (typeof raw !== 'object' || raw === null) return { prices, fields };
  for (const region of ['us', 'eu', 'global'] as const) {
    const p = Object.prototype.hasOwnProperty.call(raw, region) ? (raw as Record<string, unknown>)[region] : undefined;
    if (typeof p !== 'object' || p === null) continue;
    const entry = p as Record<string, unknown>;
    fields[region] = Object.keys(entry);
    const input = firstPrice(entry, INPUT_SPELLINGS);
    const output = firstPrice(entry, OUTPUT_SPELLINGS);
    if (input === undefined || output === undefined) continue;
    const cachedInput = firstPrice(entry, CACHED_INPUT_SPELLINGS);
    const cacheWrite = firstPrice(entry, CACHE_WRITE_SPELLINGS);
    prices[region] = {
      input,
      output,
      ...(cachedInput !== undefined ? { cachedInput } : {}),
      ...(cacheWrite !== undefined ? { cacheWrite } : {}),
    };
  }
  return { prices, fields };
}

function firstPrice(entry: Record<string, unknown>, spellings: readonly string[]): number | undefined {
  for (const name of spellings) {
    if (!Object.prototype.hasOwnProperty.call(entry, name)) continue;
    const value = toNumber(entry[name]);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Prices arrive as decimal strings (or numbers): USD per token. */
function toNumber(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function providerByPrefix(catalog: CatalogData | undefined, id: string): string | undefined {
  return Object.entries(catalog?.providers ?? {}).find(([, p]) => p.prefixes.some((prefix) => id.startsWith(prefix)))?.[0];
}
