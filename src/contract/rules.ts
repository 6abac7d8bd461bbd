import { RegionCode } from './catalog';
import { DEFAULTS, isAcceptableEndpointProtocol } from './env';
import { caseVariantOf, closestKnownModel, editDistance, findModel, liveReplacementFor, modelsServedIn, providerNamesServedIn, providerOf } from './lookup';
import { BUNDLED_CATALOG, CatalogData } from './model-catalog';

/*
 * The rules a router's settings must satisfy, free of the CDK: the construct
 * checks props with them at synth time and the local emulator checks its
 * flags with them before it starts, so both refuse the same settings with the
 * same words. Each caller adds its own framing (the construct path and prop
 * name, or the emulator's flag).
 */

/** A setting that breaks a rule: the prop, its value, what is wrong and the fix. */
export class RuleViolation extends Error {
  constructor(
    readonly prop: string,
    readonly value: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${prop}: ${value} ${problem}. Fix: ${fix}`);
    this.name = 'RuleViolation';
  }
}

/** Something allowed but probably unintended. */
export interface RuleWarning {
  /** Stable id (the construct's warning annotation id). */
  readonly id: string;
  readonly message: string;
}

/**
 * A comma-separated model list as the handler reads it from its environment:
 * split on commas, each id trimmed, empty entries dropped. The one function
 * for every place a list is joined or split (handler, emulator, synth), so an
 * SSM value "a, b" means ["a", "b"] everywhere.
 */
/**
 * `a` or `an` before a name, by how it is said: `an OpenAI`, `an IAM`, `an
 * xAI`, `an API_KEY`, but `a Google`, `a COGNITO`. Initialisms read letter by
 * letter take `an` when their first letter's name starts with a vowel sound.
 */
export function withArticle(name: string): string {
  const vowel = /^[aeiou]/i.test(name);
  const spelledVowelSound = /^[A-Za-z][A-Z]/.test(name) && /^[fhlmnrsx]/i.test(name);
  return `${vowel || spelledVowelSound ? 'an' : 'a'} ${name}`;
}

export function splitModelList(raw: string): string[] {
  return raw.split(',').map((id) => id.trim()).filter((id) => id.length > 0);
}

/** Global routing sends requests to non-regional provider endpoints: never from the EU router. */
export function checkGlobalRouting(globalRouting: boolean, region: RegionCode): void {
  if (globalRouting && region === 'eu') {
    throw new RuleViolation('globalRouting', 'true', 'is not allowed with region: GatewayRegion.EU, because global routing sends requests to providers\' non-regional endpoints and would abandon EU data residency',
      'remove globalRouting from the EU router, or use GatewayRegion.US for traffic without residency needs');
  }
}

/** The allow-list after the checks. */
export interface CheckedModels {
  /** The ids the handler will see (token entries as given). */
  readonly models: string[];
  /** Some entries resolve only at deploy time; they are checked at request time. */
  readonly hasTokens: boolean;
  readonly warnings: RuleWarning[];
}

/** How to bring a newer catalog, for messages about models the catalog does not (yet) list. */
const REFRESH_HINT = 'if the gateway lists it now, write a fresh catalog with `npx llm-gateway-router catalog fetch --out gateway-catalog.json` and pass catalog: GatewayCatalog.fromFile(\'gateway-catalog.json\')';

/**
 * Checks an allow-list against the catalog for the region: the same catalog
 * entries the handler enforces at request time. `isToken` tells deploy-time
 * values apart (the emulator has none): an entry holding one is split as the
 * handler will split it, and its token-free parts are still checked.
 *
 * Without an allow-list the router allows every live model the region's
 * endpoint lists, which a newer catalog can widen: unless `allowAllModels`
 * says that is intended, a warning gives the count and how to pin the list.
 */
export function checkAllowedModels(
  region: RegionCode,
  entries: readonly string[] | undefined,
  isToken: (s: string) => boolean = () => false,
  catalog: CatalogData = BUNDLED_CATALOG,
  allowAllModels?: boolean,
): CheckedModels {
  const R = region.toUpperCase();
  const served = modelsServedIn(region, catalog);
  if (entries === undefined) {
    const warnings: RuleWarning[] = [];
    if (allowAllModels !== true) {
      warnings.push({
        id: 'allowedModelsUnpinned',
        message: `allowedModels is not set, so callers may use all ${served.length} models the ${R} endpoint lists in the catalog (${catalog.generatedAt}); a newer catalog or library version widens that without a code change. `
          + 'Pin the list with allowedModels: [...], or set allowAllModels: true to accept it. The effective list is the function\'s LLM_GATEWAY_ALLOWED_MODELS, so cdk diff shows every change.',
      });
    }
    return { models: served, hasTokens: false, warnings };
  }
  if (allowAllModels === true) {
    throw new RuleViolation('allowAllModels', 'true', 'contradicts allowedModels, which lists the models callers may use', 'remove allowAllModels, or remove allowedModels to allow every model the endpoint lists');
  }
  if (entries.length === 0) {
    throw new RuleViolation('allowedModels', '[]', 'is empty, so the router would refuse every request', `omit allowedModels to allow every model the ${R} endpoint serves, or list at least one id`);
  }
  const warnings: RuleWarning[] = [];
  const seen = new Set<string>();
  let hasTokens = false;
  for (const entry of entries) {
    if (isToken(entry)) {
      if (!hasTokens) {
        warnings.push({ id: 'modelToken', message: 'allowedModels contains a token: it is not checked at synth time; the handler checks it against the bundled catalog at request time.' });
      }
      hasTokens = true;
      for (const part of splitModelList(entry)) {
        if (!isToken(part)) checkModelId(region, part, seen, warnings, catalog, served);
      }
      continue;
    }
    checkLiteralEntry(entry);
    checkModelId(region, entry, seen, warnings, catalog, served);
  }
  return { models: [...entries], hasTokens, warnings };
}

/** A literal entry must be exactly one id, or the handler would read something else. */
function checkLiteralEntry(entry: string): void {
  const parts = splitModelList(entry);
  if (parts.length > 1) {
    throw new RuleViolation('allowedModels', JSON.stringify(entry), 'contains a comma; the router reads the list as comma-separated ids',
      `list each id as its own entry: ${JSON.stringify(parts)}`);
  }
  if (entry.length === 0 || /\s/.test(entry)) {
    throw new RuleViolation('allowedModels', JSON.stringify(entry), 'contains whitespace or is empty; model ids are exact strings',
      `write the id without spaces${parts.length ? ` (${JSON.stringify(parts[0])})` : ''}`);
  }
}

function checkModelId(region: RegionCode, id: string, seen: Set<string>, warnings: RuleWarning[], catalog: CatalogData, served: string[]): void {
  const R = region.toUpperCase();
  const quoted = JSON.stringify(id);
  if (seen.has(id)) throw new RuleViolation('allowedModels', quoted, 'is listed twice', 'list each model id once');
  seen.add(id);
  const entry = findModel(id, catalog);
  if (!entry) {
    checkUnlisted(region, id, warnings, catalog, served);
    return;
  }
  const provider = catalog.providers[entry.provider].name;
  if (!entry.regions.includes(region)) {
    throw new RuleViolation('allowedModels', quoted,
      `is ${withArticle(provider)} model, and the ${R} endpoint does not serve it (the catalog has it in ${entry.regions.map((r) => r.toUpperCase()).join(', ')} only)`,
      `remove it; the ${R} endpoint serves ${providerNamesServedIn(region, catalog).join(', ')}: ${served.join(', ')}`);
  }
  if (entry.retired) {
    const live = liveReplacementFor(entry, region, catalog);
    throw new RuleViolation('allowedModels', quoted, `is retired: no gateway endpoint lists it any more (catalog of ${catalog.generatedAt})`,
      live ? `use a live model such as ${JSON.stringify(live)}` : `choose one of: ${served.join(', ')}`);
  }
}

/**
 * An id the catalog does not list: a case slip or an unknown provider is an
 * error; an EU router refuses it (only what the EU endpoint lists keeps
 * residency); a US router accepts a known provider's new id with a warning.
 */
function checkUnlisted(region: RegionCode, id: string, warnings: RuleWarning[], catalog: CatalogData, served: string[]): void {
  const quoted = JSON.stringify(id);
  const variant = caseVariantOf(id, catalog);
  if (variant) {
    throw new RuleViolation('allowedModels', quoted, 'differs from a known model id only in letter case; ids are case-sensitive', `use ${JSON.stringify(variant)}`);
  }
  const near = closestKnownModel(id, catalog);
  const didYouMean = near ? `did you mean ${JSON.stringify(near)}? Otherwise ` : '';
  const provider = providerOf(id, catalog);
  if (!provider) {
    throw new RuleViolation('allowedModels', quoted, 'is not in the catalog and matches no known provider',
      `${didYouMean}use an id from one of the known providers: ${Object.values(catalog.providers).filter((p) => p.prefixes.length > 0).map((p) => `${p.name} (${p.prefixes.join(', ')}...)`).join('; ')}; ${REFRESH_HINT}`);
  }
  if (region === 'eu') {
    throw new RuleViolation('allowedModels', quoted, `is ${withArticle(provider.name)} id the EU endpoint does not list in the catalog (${catalog.generatedAt}), and an EU router allows only what the EU endpoint lists`,
      `${didYouMean}choose one of ${served.join(', ')}; ${REFRESH_HINT}`);
  }
  warnings.push({
    id: 'unknownModel',
    message: `allowedModels: ${quoted} is ${withArticle(provider.name)} id the catalog does not list yet; it is allowed (in-region, without global routing, streaming emulated, no cost estimate), and the gateway will reject it if it does not exist.${near ? ` Did you mean ${JSON.stringify(near)}?` : ''}`,
  });
}

/** Global routing on, but no allowed model accepts it (per the catalog): every request stays in-region. */
export function checkGlobalRoutingUseful(
  globalRouting: boolean,
  checked: CheckedModels,
  catalog: CatalogData = BUNDLED_CATALOG,
): RuleWarning | undefined {
  if (!globalRouting || checked.hasTokens) return undefined;
  if (checked.models.some((id) => findModel(id, catalog)?.global)) return undefined;
  const accepting = catalog.models.filter((m) => m.global && !m.retired && m.regions.includes('us')).map((m) => m.id);
  return {
    id: 'globalRoutingUnused',
    message: `globalRouting is true but no model in allowedModels accepts global routing (the catalog's models that do: ${accepting.join(', ')}); every request will be processed in-region.`,
  };
}

/**
 * USD budgets charged at the bundled catalog's prices: those are
 * illustrative (its `pricesNote` says so), so the budgets would hold at
 * amounts the gateway's bill does not match. A warning, not an error: a
 * token budget or a trial is fine on them.
 */
export function checkBudgetPrices(hasUsdBudget: boolean, catalog: CatalogData = BUNDLED_CATALOG): RuleWarning | undefined {
  if (!hasUsdBudget || catalog !== BUNDLED_CATALOG) return undefined;
  return {
    id: 'budgetOnIllustrativePrices',
    message: 'Tenants have monthly USD budgets priced from the bundled catalog, whose prices are illustrative, not the gateway\'s. '
      + 'Budgets and costs will not match the gateway\'s bill. Fix: write the gateway\'s own prices with `npx llm-gateway-router catalog fetch --out gateway-catalog.json` '
      + 'and pass catalog: GatewayCatalog.fromFile(\'gateway-catalog.json\') (the emulator: --catalog gateway-catalog.json).',
  };
}

/**
 * A custom upstream: an https URL, or plain http to a loopback address only
 * (the local emulator and tests), since the gateway key travels in its
 * Authorization header.
 */
export function checkCustomEndpoint(custom: string): void {
  let url: URL | undefined;
  try {
    url = /^https?:\/\/[^/\s]+/.test(custom) ? new URL(custom) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) {
    throw new RuleViolation('customEndpoint', JSON.stringify(custom), 'is not an http(s) URL', 'pass a base URL such as https://llm-proxy.internal.example.com');
  }
  if (!isAcceptableEndpointProtocol(url)) {
    throw new RuleViolation('customEndpoint', JSON.stringify(custom), 'uses plain http, so the gateway key would travel in clear text',
      `use https (${JSON.stringify(`https://${url.host}${url.pathname === '/' ? '' : url.pathname}`)}); plain http is accepted only for loopback addresses (localhost, 127.0.0.0/8, [::1])`);
  }
}

/**
 * An egress proxy with a plain-http custom endpoint: the request, the gateway
 * key in its Authorization header included, would cross the proxy in clear
 * (loopback http is for local tests, which need no proxy).
 */
export function checkEgressEndpoint(egressProxy: string | undefined, endpoint: string | undefined): void {
  if (egressProxy === undefined || endpoint === undefined || !/^http:/i.test(endpoint)) return;
  throw new RuleViolation('egressProxy', '(set)', `with the plain-http customEndpoint ${JSON.stringify(endpoint)} would carry the gateway key in clear through the proxy`,
    'use an https customEndpoint, or remove egressProxy (a loopback http endpoint needs no proxy)');
}

/**
 * The egress proxy: an http(s) URL of the proxy itself (no path). Returns a
 * warning when it carries credentials, which end up in the environment.
 */
export function checkEgressProxy(raw: string): RuleWarning | undefined {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  // The value itself is never repeated: it may carry credentials.
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw new RuleViolation('egressProxy', '(the given value)', 'is not an http(s) URL of a proxy', 'pass the proxy\'s URL, such as http://proxy.corp.example:3128');
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new RuleViolation('egressProxy', url.host, 'has a path, query or fragment; a forward proxy is addressed by scheme, host and port only', `use ${url.protocol}//${url.host}`);
  }
  if (url.username || url.password) {
    return {
      id: 'egressProxyCredentials',
      message: `egressProxy: the proxy URL for ${url.host} carries credentials; they are stored in clear in the function's environment variable, visible to anyone who can read the function's configuration. Prefer a proxy that admits the function's VPC or security group without a password.`,
    };
  }
  return undefined;
}

/** How a caller shows a number of milliseconds in a message ("5 minutes", or "300000 ms"). */
export type ShowMillis = (ms: number) => string;

/** The largest accepted request body: 1 KiB to API Gateway's 10 MB payload limit. */
export function checkMaxBodyBytes(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 1024 || bytes > 10 * 1024 * 1024) {
    throw new RuleViolation('maxRequestBodySize', `${bytes} bytes`, 'is outside 1 KiB to 10 MiB', 'choose a size in that range (10 MB is API Gateway\'s payload limit)');
  }
}

/**
 * The function timeout (10 s to 15 min) and the upstream timeout, which must
 * leave the router time to answer 504. Returns the upstream timeout, defaulted
 * below the function timeout.
 */
export function checkTimeouts(timeoutMs: number, upstreamMs: number | undefined, defaultUpstreamMs: number, show: ShowMillis): number {
  if (timeoutMs < 10_000 || timeoutMs > 900_000) {
    throw new RuleViolation('timeout', show(timeoutMs), 'is outside 10 seconds to 15 minutes', 'choose a timeout in that range (15 minutes is API Gateway\'s limit for a streamed response)');
  }
  const upstream = upstreamMs ?? Math.min(defaultUpstreamMs, timeoutMs - 10_000);
  if (upstream >= timeoutMs || upstream < 1_000) {
    throw new RuleViolation('upstreamTimeout', show(upstream), `must be at least 1 second and shorter than timeout (${show(timeoutMs)}) so the router can still answer 504`,
      'lower upstreamTimeout or raise timeout');
  }
  return upstream;
}

/** A router's settings as far as the shared rules check them. */
export interface RouterRuleInput {
  readonly region: RegionCode;
  readonly globalRouting: boolean;
  /**
   * The allow-list: `undefined` for every live model of the region,
   * `'deploy-time'` for a list token (its ids are checked per request only).
   */
  readonly allowedModels: readonly string[] | undefined | 'deploy-time';
  readonly allowAllModels?: boolean;
  readonly catalog: CatalogData;
  /** Whether a value resolves only at deploy time (its rule is then skipped). */
  readonly isToken: (value: string) => boolean;
  readonly customEndpoint?: string;
  readonly egressProxy?: string;
  /** @default not checked (the handler's default) */
  readonly maxBodyBytes?: number;
  readonly timeoutMs: number;
  /** @default below the function timeout */
  readonly upstreamTimeoutMs?: number;
  readonly showMillis: ShowMillis;
}

/** What the shared rules found: the allow-list, the upstream timeout (defaulted) and the warnings. */
export interface CheckedRouterRules {
  readonly models: CheckedModels;
  readonly upstreamTimeoutMs: number;
  readonly warnings: RuleWarning[];
}

/**
 * Every rule a router's settings must satisfy, in one order, for synth and
 * the emulator alike (each adds only what is its own: tokens refused, CDK
 * annotations, the local catalog). Throws the first `RuleViolation`.
 */
export function checkRouterRules(s: RouterRuleInput): CheckedRouterRules {
  checkGlobalRouting(s.globalRouting, s.region);
  const models: CheckedModels = s.allowedModels === 'deploy-time'
    ? { models: [], hasTokens: true, warnings: [] }
    : checkAllowedModels(s.region, s.allowedModels && [...s.allowedModels], s.isToken, s.catalog, s.allowAllModels);
  const warnings = [...models.warnings];
  const unused = checkGlobalRoutingUseful(s.globalRouting, models, s.catalog);
  if (unused) warnings.push(unused);
  const endpoint = s.customEndpoint !== undefined && !s.isToken(s.customEndpoint) ? s.customEndpoint : undefined;
  if (endpoint !== undefined) checkCustomEndpoint(endpoint);
  if (s.egressProxy !== undefined) {
    // The combination is checked even for a deploy-time proxy URL: it is set, and the endpoint's scheme is known.
    checkEgressEndpoint(s.egressProxy, endpoint);
    const proxyWarning = s.isToken(s.egressProxy) ? undefined : checkEgressProxy(s.egressProxy);
    if (proxyWarning) warnings.push(proxyWarning);
  }
  if (s.maxBodyBytes !== undefined) checkMaxBodyBytes(s.maxBodyBytes);
  const upstreamTimeoutMs = checkTimeouts(s.timeoutMs, s.upstreamTimeoutMs, DEFAULTS.upstreamTimeoutMs, s.showMillis);
  return { models, upstreamTimeoutMs, warnings };
}

/**
 * A tenant's allow-list: a non-empty subset of its router's, each id
 * literal. An id outside the router's list is refused with the router's
 * catalog's help: the router's id it is a slip of (letter case, a typo the
 * catalog recognises), the live model that replaces a retired one, or else
 * the router's list to choose from.
 */
export function checkTenantModels(
  models: readonly string[] | undefined, routerModels: readonly string[], region: RegionCode, catalog: CatalogData = BUNDLED_CATALOG,
): string[] {
  if (models === undefined) return [...routerModels];
  if (models.length === 0) {
    throw new RuleViolation('allowedModels', '[]', 'is empty, so the tenant could use no model', 'omit allowedModels to give the tenant the router\'s list, or list at least one id');
  }
  const problem = 'is not in the router\'s allowedModels; a tenant\'s list is a subset of its router\'s';
  const choose = `choose from ${routerModels.join(', ')}, or add it to the router's allowedModels`;
  for (const id of models) {
    if (routerModels.includes(id)) continue;
    const quoted = JSON.stringify(id);
    const entry = findModel(id, catalog);
    // What the catalog says was meant, kept only when the router allows it; otherwise the nearest of the router's own ids.
    const meant = entry ? undefined : caseVariantOf(id, catalog) ?? closestKnownModel(id, catalog);
    const near = routerModels.find((m) => m.toLowerCase() === id.toLowerCase())
      ?? (meant !== undefined && routerModels.includes(meant) ? meant : undefined)
      ?? routerModels.map((m) => [m, editDistance(id, m)] as const).filter(([, d]) => d <= 2).sort((a, b) => a[1] - b[1])[0]?.[0];
    if (entry?.retired) {
      const live = liveReplacementFor(entry, region, catalog);
      throw new RuleViolation('allowedModels', quoted, `${problem}, and it is retired (catalog of ${catalog.generatedAt})`,
        live && routerModels.includes(live) ? `use ${JSON.stringify(live)}` : choose);
    }
    if (near) throw new RuleViolation('allowedModels', quoted, problem, `did you mean ${JSON.stringify(near)}?`);
    throw new RuleViolation('allowedModels', quoted, problem, choose);
  }
  return [...models];
}
