import { RegionCode } from './catalog';
import { CatalogData, ModelEntry, TokenPrice } from './model-catalog';

/*
 * What the handler needs to know about each model a router allows, handed
 * from synth to the function in one environment variable: the rules the
 * construct validated, and nothing else, so the handler enforces exactly
 * those (a user's catalog is never re-read at request time). Compact because
 * Lambda allows 4 KB of environment in total:
 *
 *   {"anthropic":{"claude-opus-4-7":["ueg",5.5,27.5,5,25]}}
 *
 * per provider, per model: flags (u/e: listed by the US/EU endpoint, g:
 * accepts global routing, s: the gateway streams it), then USD per million
 * tokens in the router's region (input, output) and, for global models, global.
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

type Encoded = [string, ...number[]];

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
  const out: Record<string, Record<string, Encoded>> = {};
  for (const id of ids) {
    const entry = catalog.models.find((m) => m.id === id && !m.retired);
    if (!entry) continue;
    const rule = ruleOf(entry, region);
    const flags = `${rule.regions.includes('us') ? 'u' : ''}${rule.regions.includes('eu') ? 'e' : ''}${rule.global ? 'g' : ''}${rule.stream ? 's' : ''}`;
    const encoded: Encoded = [flags];
    if (rule.price) {
      encoded.push(perMillion(rule.price.input), perMillion(rule.price.output));
      if (rule.globalPrice) encoded.push(perMillion(rule.globalPrice.input), perMillion(rule.globalPrice.output));
    }
    (out[entry.provider] ??= {})[id] = encoded;
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
      if (!Array.isArray(value) || typeof value[0] !== 'string' || value.slice(1).some((n) => typeof n !== 'number' || !(n >= 0))) {
        throw new Error(`the rule for ${JSON.stringify(id)} is not ["flags", prices...]`);
      }
      const [flags, ...prices] = value as Encoded;
      rules.set(id, {
        provider,
        regions: [...(flags.includes('u') ? ['us' as const] : []), ...(flags.includes('e') ? ['eu' as const] : [])],
        global: flags.includes('g'),
        stream: flags.includes('s'),
        price: prices.length >= 2 ? { input: prices[0] / 1e6, output: prices[1] / 1e6 } : undefined,
        globalPrice: prices.length >= 4 ? { input: prices[2] / 1e6, output: prices[3] / 1e6 } : undefined,
      });
    }
  }
  return rules;
}

/** USD per million tokens: short in the environment, and exact for the catalog's decimal prices. */
function perMillion(perToken: number): number {
  return Number((perToken * 1e6).toPrecision(12));
}
