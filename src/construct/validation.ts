import { Annotations, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RegionCode } from '../catalog/catalog';
import { caseVariantOf, closestKnownModel, findModel, liveReplacementFor, modelsServedIn, providerNamesServedIn, providerOf } from '../catalog/lookup';
import { BUNDLED_CATALOG, CatalogData } from '../catalog/model-catalog';

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

/** How to bring a newer catalog, for messages about models the catalog does not (yet) list. */
const REFRESH_HINT = 'if the gateway lists it now, write a fresh catalog with `npx llm-gateway-router catalog fetch --out gateway-catalog.json` and pass catalog: GatewayCatalog.fromFile(\'gateway-catalog.json\')';

/**
 * Validates `allowedModels` against the catalog for the region: the same
 * catalog entries the handler enforces at request time. Without
 * `allowedModels` the router allows every live model the region's endpoint
 * lists, which a newer catalog can widen: unless `allowAllModels` says that
 * is intended, synth warns with the count and how to pin the list.
 */
export function validateAllowedModels(
  scope: Construct,
  region: RegionCode,
  allowed: string[] | undefined,
  catalog: CatalogData = BUNDLED_CATALOG,
  allowAllModels?: boolean,
): ValidatedModels {
  const R = region.toUpperCase();
  const served = modelsServedIn(region, catalog);
  if (allowed === undefined) {
    if (allowAllModels !== true) {
      Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:allowedModelsUnpinned',
        `allowedModels is not set, so callers may use all ${served.length} models the ${R} endpoint lists in the catalog (${catalog.generatedAt}); a newer catalog or library version widens that without a code change. `
        + 'Pin the list with allowedModels: [...], or set allowAllModels: true to accept it. The effective list is the function\'s LLM_GATEWAY_ALLOWED_MODELS, so cdk diff shows every change.');
    }
    return { models: served, hasTokens: false };
  }
  if (allowAllModels === true) {
    throw propError(scope, 'allowAllModels', 'true', 'contradicts allowedModels, which lists the models callers may use', 'remove allowAllModels, or remove allowedModels to allow every model the endpoint lists');
  }
  if (Token.isUnresolved(allowed)) {
    throw propError(scope, 'allowedModels', '(a token)', 'cannot be a single token: the router checks each id at synth time', 'pass a literal string[] (entries may be tokens)');
  }
  if (allowed.length === 0) {
    throw propError(scope, 'allowedModels', '[]', 'is empty, so the router would refuse every request', `omit allowedModels to allow every model the ${R} endpoint serves, or list at least one id`);
  }
  let hasTokens = false;
  const seen = new Set<string>();
  for (const id of allowed) {
    if (Token.isUnresolved(id)) {
      hasTokens = true;
      Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:modelToken',
        'allowedModels contains a token: it is not checked at synth time; the handler checks it against the bundled catalog at request time.');
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
    const entry = findModel(id, catalog);
    if (!entry) {
      checkUnlisted(scope, region, id, catalog, served);
      continue;
    }
    const provider = catalog.providers[entry.provider].name;
    if (!entry.regions.includes(region)) {
      throw propError(scope, 'allowedModels', quoted,
        `is a ${provider} model, and the ${R} endpoint does not serve it (the catalog has it in ${entry.regions.map((r) => r.toUpperCase()).join(', ')} only)`,
        `remove it; the ${R} endpoint serves ${providerNamesServedIn(region, catalog).join(', ')}: ${served.join(', ')}`);
    }
    if (entry.retired) {
      const live = liveReplacementFor(entry, region, catalog);
      throw propError(scope, 'allowedModels', quoted, `is retired: no gateway endpoint lists it any more (catalog of ${catalog.generatedAt})`,
        live ? `use a live model such as ${JSON.stringify(live)}` : `choose one of: ${served.join(', ')}`);
    }
  }
  return { models: allowed, hasTokens };
}

/**
 * An id the catalog does not list: a case slip or an unknown provider is an
 * error; an EU router refuses it (only what the EU endpoint lists keeps
 * residency); a US router accepts a known provider's new id with a warning.
 */
function checkUnlisted(scope: Construct, region: RegionCode, id: string, catalog: CatalogData, served: string[]): void {
  const quoted = JSON.stringify(id);
  const variant = caseVariantOf(id, catalog);
  if (variant) {
    throw propError(scope, 'allowedModels', quoted, 'differs from a known model id only in letter case; ids are case-sensitive', `use ${JSON.stringify(variant)}`);
  }
  const near = closestKnownModel(id, catalog);
  const didYouMean = near ? `did you mean ${JSON.stringify(near)}? Otherwise ` : '';
  const provider = providerOf(id, catalog);
  if (!provider) {
    throw propError(scope, 'allowedModels', quoted, 'is not in the catalog and matches no known provider',
      `${didYouMean}use an id from one of the known providers: ${Object.values(catalog.providers).filter((p) => p.prefixes.length > 0).map((p) => `${p.name} (${p.prefixes.join(', ')}...)`).join('; ')}; ${REFRESH_HINT}`);
  }
  if (region === 'eu') {
    throw propError(scope, 'allowedModels', quoted, `is a ${provider.name} id the EU endpoint does not list in the catalog (${catalog.generatedAt}), and an EU router allows only what the EU endpoint lists`,
      `${didYouMean}choose one of ${served.join(', ')}; ${REFRESH_HINT}`);
  }
  Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:unknownModel',
    `allowedModels: ${quoted} is a ${provider.name} id the catalog does not list yet; it is allowed (in-region, without global routing, streaming emulated, no cost estimate), and the gateway will reject it if it does not exist.${near ? ` Did you mean ${JSON.stringify(near)}?` : ''}`);
}

/** Warns when global routing is on but no allowed model accepts it. */
export function checkGlobalRoutingUseful(scope: Construct, validated: ValidatedModels, catalog: CatalogData = BUNDLED_CATALOG): void {
  if (validated.hasTokens) return;
  const anyGlobal = validated.models.some((id) => findModel(id, catalog)?.global);
  if (!anyGlobal) {
    const accepting = catalog.models.filter((m) => m.global && !m.retired && m.regions.includes('us')).map((m) => m.id);
    Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:globalRoutingUnused',
      `globalRouting is true but no model in allowedModels accepts global routing (the catalog's models that do: ${accepting.join(', ')}); every request will be processed in-region.`);
  }
}
