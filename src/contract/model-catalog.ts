import { RegionCode } from './catalog';
import bundledJson from './models.json';

/*
 * The per-model catalog: what the gateway's own `GET /v1/models` says about
 * each model, merged over its US and EU endpoints (see build.ts). One data
 * file ships in the package (models.json); users may bring their own, written
 * by `llm-gateway-router catalog fetch`. The construct validates props with
 * it and the handler enforces the very same entries (rules.ts).
 */

/** USD per token, as the gateway prices a region. */
export interface TokenPrice {
  readonly input: number;
  readonly output: number;
  /** Input tokens read from the provider's prompt cache. @default the input price */
  readonly cachedInput?: number;
  /** Input tokens written to the provider's prompt cache. @default the input price */
  readonly cacheWrite?: number;
}

/** Where a price applies: an endpoint's own region, or `model_region: "global"`. */
export type PriceRegion = RegionCode | 'global';

export interface ModelEntry {
  readonly id: string;
  /** Provider id (the listing's `owned_by`): the metrics' `Provider` dimension. */
  readonly provider: string;
  /** Endpoints that list the model. An EU router may use only models listed by the EU endpoint. */
  readonly regions: readonly RegionCode[];
  /** Whether the model accepts `model_region: "global"`. Per model: siblings differ. */
  readonly global: boolean;
  /** Whether the gateway streams the model's answers itself (`stream` in its supported parameters). */
  readonly stream: boolean;
  readonly contextLength?: number;
  /** Per region the model is served in, and `global` when it accepts global routing. */
  readonly prices: Readonly<Partial<Record<PriceRegion, TokenPrice>>>;
  /** Listed once, no longer listed by any endpoint: refused, with a live model suggested. */
  readonly retired?: boolean;
}

export interface ProviderInfo {
  /** Human name for messages. */
  readonly name: string;
  /** Id prefixes that identify the provider's models not (yet) in the catalog. */
  readonly prefixes: readonly string[];
}

export interface CatalogData {
  readonly schema: 1;
  /** Where the data came from, in words (and when). */
  readonly source: string;
  readonly generatedAt: string;
  /** How far the prices can be trusted. */
  readonly pricesNote: string;
  readonly providers: Readonly<Record<string, ProviderInfo>>;
  readonly models: readonly ModelEntry[];
}

/**
 * Names every JavaScript object has: a catalog that used one as a model or
 * provider id would reach Object.prototype wherever the id became a key.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A catalog file that does not have the catalog's shape. */
export class CatalogFormatError extends Error {
  constructor(origin: string, problem: string) {
    super(`${origin}: ${problem}`);
    this.name = 'CatalogFormatError';
  }
}

/**
 * Checks that `raw` is a catalog (as `catalog fetch` writes it) and returns
 * it frozen, so neither synth nor the handler can change it after loading.
 */
export function parseCatalog(raw: unknown, origin: string): CatalogData {
  const fail = (problem: string): never => {
    throw new CatalogFormatError(origin, problem);
  };
  if (!isObject(raw) || raw.schema !== 1) fail('is not a model catalog (expected "schema": 1; write one with `llm-gateway-router catalog fetch`)');
  const c = raw as Record<string, unknown>;
  if (!isObject(c.providers)) fail('"providers" must be an object');
  if (!Array.isArray(c.models) || c.models.length === 0) fail('"models" must be a non-empty array');
  const seen = new Set<string>();
  const models = (c.models as unknown[]).map((m, i) => {
    const at = `models[${i}]`;
    if (!isObject(m) || typeof m.id !== 'string' || !/^[^\s,]+$/.test(m.id)) return fail(`${at}.id must be a model id without spaces or commas`);
    if (RESERVED_KEYS.has(m.id)) fail(`${at}.id ${JSON.stringify(m.id)} is a name reserved by JavaScript objects`);
    if (seen.has(m.id)) fail(`${at}: "${m.id}" is listed twice`);
    seen.add(m.id);
    if (typeof m.provider !== 'string' || m.provider === '') fail(`${at}.provider must be a string`);
    if (RESERVED_KEYS.has(m.provider as string)) fail(`${at}.provider ${JSON.stringify(m.provider)} is a name reserved by JavaScript objects`);
    const regions = Array.isArray(m.regions) ? m.regions : [];
    if (regions.some((r) => r !== 'us' && r !== 'eu')) fail(`${at}.regions may only hold "us" and "eu"`);
    if (typeof m.global !== 'boolean' || typeof m.stream !== 'boolean') fail(`${at}: "global" and "stream" must be booleans`);
    const prices: Partial<Record<PriceRegion, TokenPrice>> = {};
    for (const [region, p] of Object.entries(isObject(m.prices) ? m.prices : {})) {
      if (region !== 'us' && region !== 'eu' && region !== 'global') fail(`${at}.prices.${region} is not us, eu or global`);
      if (!isObject(p) || !isPrice(p.input) || !isPrice(p.output)) fail(`${at}.prices.${region} needs numeric "input" and "output" (USD per token)`);
      const price = p as Record<string, unknown>;
      for (const optional of ['cachedInput', 'cacheWrite']) {
        if (price[optional] !== undefined && !isPrice(price[optional])) fail(`${at}.prices.${region}.${optional} must be a number (USD per token)`);
      }
      prices[region as PriceRegion] = Object.freeze({
        input: price.input as number,
        output: price.output as number,
        ...(price.cachedInput !== undefined ? { cachedInput: price.cachedInput as number } : {}),
        ...(price.cacheWrite !== undefined ? { cacheWrite: price.cacheWrite as number } : {}),
      });
    }
    return Object.freeze({
      id: m.id,
      provider: m.provider as string,
      regions: Object.freeze([...regions] as RegionCode[]),
      global: m.global as boolean,
      stream: m.stream as boolean,
      ...(typeof m.contextLength === 'number' ? { contextLength: m.contextLength } : {}),
      prices: Object.freeze(prices),
      ...(m.retired === true ? { retired: true } : {}),
    });
  });
  const providers: Record<string, ProviderInfo> = Object.create(null);
  for (const [id, p] of Object.entries(c.providers as Record<string, unknown>)) {
    if (RESERVED_KEYS.has(id)) fail(`providers.${id} is a name reserved by JavaScript objects`);
    if (!isObject(p) || typeof p.name !== 'string' || !Array.isArray(p.prefixes) || p.prefixes.some((x) => typeof x !== 'string' || x === '')) {
      fail(`providers.${id} needs a "name" and "prefixes" (non-empty strings)`);
    }
    providers[id] = Object.freeze({ name: (p as any).name, prefixes: Object.freeze([...(p as any).prefixes]) });
  }
  for (const m of models) if (!Object.prototype.hasOwnProperty.call(providers, m.provider)) fail(`model "${m.id}" names provider "${m.provider}", which "providers" does not describe`);
  return Object.freeze({
    schema: 1 as const,
    source: typeof c.source === 'string' ? c.source : origin,
    generatedAt: typeof c.generatedAt === 'string' ? c.generatedAt : '',
    pricesNote: typeof c.pricesNote === 'string' ? c.pricesNote : '',
    providers: Object.freeze(providers),
    models: Object.freeze(models),
  });
}

/** The catalog that ships in the package (and is inlined into the handler's bundle). */
export const BUNDLED_CATALOG: CatalogData = parseCatalog(bundledJson, 'the bundled catalog (src/contract/models.json)');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPrice(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}
