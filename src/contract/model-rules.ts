import { RegionCode } from './catalog';
import { CatalogData, ModelEntry, TokenPrice } from './model-catalog';

/*
 * What the handler needs to know about each model a router allows, handed
 * from synth to the function in one environment variable: the rules the
 * construct validated, and nothing else, so the handler enforces exactly
 * those (a user's catalog is never re-read at request time). Compact because
 * Lambda allows 4 KB of environment in total:
 *
 *   {"anthropic":{"claude-opus-4-7":["ueg",5.5,27.5,5,25,{"c":[0.55,0.5]}]}}
 *
 * per provider, per model: flags (u/e: listed by the US/EU endpoint, g:
 * accepts global routing, s: the gateway streams it), then USD per million
 * tokens in the router's region (input, output) and, for global models,
 * global; last, only when the catalog has them, the prompt-cache prices per
 * group in the same order (`c`: cached input, `w`: cache writes; -1 where a
 * group has none).
 */

export interface ModelRule {
  readonly provider: string;
  readonly regions: readonly RegionCode[];
  readonly global: boolean;
  readonly stream: boolean;
  /** USD per token in the router's own region. */
  readonly price?: TokenPrice;
  /** USD per token with `model_region: "global"`. */
  readonly globalPrice?: TokenPrice;
}

/** Prompt-cache prices per price group (in-region, then global), USD per million tokens; -1 for none. */
interface CachePrices {
  c?: number[];
  w?: number[];
}
type Encoded = [string, ...Array<number | CachePrices>];

/**
 * The rule a catalog entry gives a router in `region`. An EU router never
 * routes globally, so its rules carry neither the global flag nor global prices.
 */
export function ruleOf(entry: ModelEntry, region: RegionCode): ModelRule {
  const global = entry.global && region !== 'eu';
  return {
    provider: entry.provider,
    regions: entry.regions,
    global,
    stream: entry.stream,
    price: entry.prices[region],
    globalPrice: global ? entry.prices.global : undefined,
  };
}

/**
 * USD per token for a request routed by `rule`, in-region or with
 * `model_region: "global"`: the one lookup behind the handler's
 * `decision.price` (the cost it logs) and a tenant's reservation.
 */
export function priceAsRouted(rule: ModelRule, global: boolean): TokenPrice | undefined {
  return global ? rule.globalPrice : rule.price;
}

/** The environment value for the catalog's entries of `ids` (ids the catalog does not list are left out). */
export function encodeModelRules(catalog: CatalogData, region: RegionCode, ids: readonly string[]): string {
  // No prototype: a provider or model id such as "__proto__" is a plain key here, never Object.prototype.
  const out: Record<string, Record<string, Encoded>> = Object.create(null);
  for (const id of ids) {
    const entry = catalog.models.find((m) => m.id === id && !m.retired);
    if (!entry) continue;
    const rule = ruleOf(entry, region);
    const flags = `${rule.regions.includes('us') ? 'u' : ''}${rule.regions.includes('eu') ? 'e' : ''}${rule.global ? 'g' : ''}${rule.stream ? 's' : ''}`;
    const encoded: Encoded = [flags];
    const groups: TokenPrice[] = [];
    if (rule.price) {
      groups.push(rule.price);
      if (rule.globalPrice) groups.push(rule.globalPrice);
    }
    for (const g of groups) encoded.push(perMillion(g.input), perMillion(g.output));
    const cache: CachePrices = {};
    if (groups.some((g) => g.cachedInput !== undefined)) cache.c = groups.map((g) => (g.cachedInput === undefined ? -1 : perMillion(g.cachedInput)));
    if (groups.some((g) => g.cacheWrite !== undefined)) cache.w = groups.map((g) => (g.cacheWrite === undefined ? -1 : perMillion(g.cacheWrite)));
    if (cache.c || cache.w) encoded.push(cache);
    ownEntry(out, entry.provider)[id] = encoded;
  }
  return JSON.stringify(out);
}

/** Reads the environment value back; throws on anything but its own shape. */
export function decodeModelRules(text: string): Map<string, ModelRule> {
  const raw: unknown = JSON.parse(text);
  const rules = new Map<string, ModelRule>();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('must be a JSON object of providers');
  for (const [provider, models] of Object.entries(raw as Record<string, unknown>)) {
    for (const [id, value] of Object.entries(models as Record<string, unknown>)) {
      const tail = Array.isArray(value) ? value[value.length - 1] : undefined;
      const cache = isCachePrices(tail) ? tail : undefined;
      const numbers = Array.isArray(value) ? value.slice(1, cache ? -1 : undefined) : [];
      if (!Array.isArray(value) || typeof value[0] !== 'string' || numbers.some((n) => typeof n !== 'number' || !(n >= 0)) || numbers.length % 2 !== 0) {
        throw new Error(`the rule for ${JSON.stringify(id)} is not ["flags", prices...]`);
      }
      const flags = value[0] as string;
      const prices = numbers as number[];
      const group = (i: number): TokenPrice | undefined => {
        if (prices.length < 2 * i + 2) return undefined;
        const cached = cache?.c?.[i];
        const write = cache?.w?.[i];
        return {
          input: prices[2 * i] / 1e6,
          output: prices[2 * i + 1] / 1e6,
          ...(cached !== undefined && cached >= 0 ? { cachedInput: cached / 1e6 } : {}),
          ...(write !== undefined && write >= 0 ? { cacheWrite: write / 1e6 } : {}),
        };
      };
      rules.set(id, {
        provider,
        regions: [...(flags.includes('u') ? ['us' as const] : []), ...(flags.includes('e') ? ['eu' as const] : [])],
        global: flags.includes('g'),
        stream: flags.includes('s'),
        price: group(0),
        globalPrice: group(1),
      });
    }
  }
  return rules;
}

function ownEntry(out: Record<string, Record<string, Encoded>>, provider: string): Record<string, Encoded> {
  return (out[provider] ??= Object.create(null) as Record<string, Encoded>);
}

function isCachePrices(value: unknown): value is CachePrices {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const list = (x: unknown) => x === undefined || (Array.isArray(x) && x.every((n) => typeof n === 'number' && (n >= 0 || n === -1)));
  return list(v.c) && list(v.w);
}

/** USD per million tokens: short in the environment, and exact for the catalog's decimal prices. */
function perMillion(perToken: number): number {
  return Number((perToken * 1e6).toPrecision(12));
}
