import { Annotations, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { PROVIDERS, RegionCode } from '../catalog/catalog';
import { caseVariantOf, closestKnownModel, modelsServedIn, providerNamesServedIn, providerOf, servesProvider } from '../catalog/lookup';

/** The allow-list after validation, and what it implies. */
export interface ValidatedModels {
  readonly models: string[];
  /** Some entries are tokens, resolved only at deploy time. */
  readonly hasTokens: boolean;
}

/** Throws with a message that names the prop, the bad value and the fix. */
export function propError(scope: Construct, prop: string, value: string, problem: string, fix: string): Error {
  return new Error(`${scope.node.path}: ${prop}: ${value} ${problem}. Fix: ${fix}`);
}

/**
 * Validates `allowedModels` against the catalog for the region: the same
 * catalog the handler enforces at request time.
 */
export function validateAllowedModels(scope: Construct, region: RegionCode, allowed: string[] | undefined): ValidatedModels {
  if (allowed === undefined) return { models: modelsServedIn(region), hasTokens: false };
  if (Token.isUnresolved(allowed)) {
    throw propError(scope, 'allowedModels', '(a token)', 'cannot be a single token: the router checks each id at synth time', 'pass a literal string[] (entries may be tokens)');
  }
  if (allowed.length === 0) {
    throw propError(scope, 'allowedModels', '[]', 'is empty, so the router would refuse every request', `omit allowedModels to allow every model the ${region.toUpperCase()} endpoint serves, or list at least one id`);
  }
  const served = modelsServedIn(region);
  let hasTokens = false;
  const seen = new Set<string>();
  for (const id of allowed) {
    if (Token.isUnresolved(id)) {
      hasTokens = true;
      Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:modelToken',
        'allowedModels contains a token: it is not checked at synth time; the handler still enforces region rules at request time.');
      continue;
    }
    const quoted = JSON.stringify(id);
    if (seen.has(id)) {
      throw propError(scope, 'allowedModels', quoted, 'is listed twice', 'list each model id once');
    }
    seen.add(id);
    if (id.length === 0 || /\s/.test(id)) {
      throw propError(scope, 'allowedModels', quoted, 'contains whitespace or is empty; model ids are exact strings', `write the id without spaces${id.trim() ? ` (${JSON.stringify(id.trim())})` : ''}`);
    }
    const variant = caseVariantOf(id);
    if (variant) {
      throw propError(scope, 'allowedModels', quoted, 'differs from a known model id only in letter case; ids are case-sensitive', `use ${JSON.stringify(variant)}`);
    }
    const provider = providerOf(id);
    if (!provider) {
      throw propError(scope, 'allowedModels', quoted, 'matches no known provider',
        `use an id from one of the known providers: ${PROVIDERS.map((p) => `${p.name} (${p.prefixes.join(', ')}...)`).join('; ')}`);
    }
    if (!servesProvider(region, provider)) {
      throw propError(scope, 'allowedModels', quoted,
        `is a ${provider.name} model, and the ${region.toUpperCase()} endpoint does not serve ${provider.name}`,
        `remove it; the ${region.toUpperCase()} endpoint serves ${providerNamesServedIn(region).join(', ')}: ${served.join(', ')}`);
    }
    if (!provider.models.includes(id)) {
      const near = closestKnownModel(id);
      Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:unknownModel',
        `allowedModels: ${quoted} is a ${provider.name} id the catalog does not list yet; it is allowed, and the gateway will reject it if it does not exist.${near ? ` Did you mean ${JSON.stringify(near)}?` : ''}`);
    }
  }
  return { models: allowed, hasTokens };
}

/** Warns when global routing is on but no allowed model's provider accepts it. */
export function checkGlobalRoutingUseful(scope: Construct, validated: ValidatedModels): void {
  if (validated.hasTokens) return;
  const anyGlobal = validated.models.some((id) => providerOf(id)?.globalRouting);
  if (!anyGlobal) {
    const accepting = PROVIDERS.filter((p) => p.globalRouting).map((p) => p.name).join(', ');
    Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:globalRoutingUnused',
      `globalRouting is true but no model in allowedModels belongs to a provider that accepts global routing (${accepting}); every request will be processed in-region.`);
  }
}
