import { PROVIDERS, RegionCode } from './catalog';
import { caseVariantOf, closestKnownModel, modelsServedIn, providerNamesServedIn, providerOf, servesProvider } from './lookup';

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

/**
 * Checks an allow-list against the catalog for the region: the same catalog
 * the handler enforces at request time. `isToken` tells deploy-time values
 * apart (the emulator has none): an entry holding one is split as the handler
 * will split it, and its token-free parts are still checked.
 */
export function checkAllowedModels(
  region: RegionCode,
  entries: readonly string[] | undefined,
  isToken: (s: string) => boolean = () => false,
): CheckedModels {
  if (entries === undefined) return { models: modelsServedIn(region), hasTokens: false, warnings: [] };
  if (entries.length === 0) {
    throw new RuleViolation('allowedModels', '[]', 'is empty, so the router would refuse every request', `omit allowedModels to allow every model the ${region.toUpperCase()} endpoint serves, or list at least one id`);
  }
  const warnings: RuleWarning[] = [];
  const seen = new Set<string>();
  let hasTokens = false;
  for (const entry of entries) {
    if (isToken(entry)) {
      if (!hasTokens) {
        warnings.push({ id: 'modelToken', message: 'allowedModels contains a token: it is not checked at synth time; the handler still enforces region rules at request time.' });
      }
      hasTokens = true;
      for (const part of splitModelList(entry)) {
        if (!isToken(part)) checkModelId(region, part, seen, warnings);
      }
      continue;
    }
    checkLiteralEntry(entry);
    checkModelId(region, entry, seen, warnings);
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

function checkModelId(region: RegionCode, id: string, seen: Set<string>, warnings: RuleWarning[]): void {
  const quoted = JSON.stringify(id);
  if (seen.has(id)) throw new RuleViolation('allowedModels', quoted, 'is listed twice', 'list each model id once');
  seen.add(id);
  const variant = caseVariantOf(id);
  if (variant) {
    throw new RuleViolation('allowedModels', quoted, 'differs from a known model id only in letter case; ids are case-sensitive', `use ${JSON.stringify(variant)}`);
  }
  const provider = providerOf(id);
  if (!provider) {
    throw new RuleViolation('allowedModels', quoted, 'matches no known provider',
      `use an id from one of the known providers: ${PROVIDERS.map((p) => `${p.name} (${p.prefixes.join(', ')}...)`).join('; ')}`);
  }
  if (!servesProvider(region, provider)) {
    throw new RuleViolation('allowedModels', quoted,
      `is a ${provider.name} model, and the ${region.toUpperCase()} endpoint does not serve ${provider.name}`,
      `remove it; the ${region.toUpperCase()} endpoint serves ${providerNamesServedIn(region).join(', ')}: ${modelsServedIn(region).join(', ')}`);
  }
  if (!provider.models.includes(id)) {
    const near = closestKnownModel(id);
    warnings.push({
      id: 'unknownModel',
      message: `allowedModels: ${quoted} is a ${provider.name} id the catalog does not list yet; it is allowed, and the gateway will reject it if it does not exist.${near ? ` Did you mean ${JSON.stringify(near)}?` : ''}`,
    });
  }
}

/** Global routing on, but no allowed model's provider accepts it: every request stays in-region. */
export function checkGlobalRoutingUseful(globalRouting: boolean, checked: CheckedModels): RuleWarning | undefined {
  if (!globalRouting || checked.hasTokens) return undefined;
  if (checked.models.some((id) => providerOf(id)?.globalRouting)) return undefined;
  const accepting = PROVIDERS.filter((p) => p.globalRouting).map((p) => p.name).join(', ');
  return {
    id: 'globalRoutingUnused',
    message: `globalRouting is true but no model in allowedModels belongs to a provider that accepts global routing (${accepting}); every request will be processed in-region.`,
  };
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
