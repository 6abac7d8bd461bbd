import { Annotations, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RegionCode } from '../contract/catalog';
import { BUNDLED_CATALOG, CatalogData } from '../contract/model-catalog';
import { checkAllowedModels, checkGlobalRoutingUseful as globalRoutingWarning, RuleViolation, RuleWarning } from '../contract/rules';

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
 * Runs one of the shared rules (src/contract/rules.ts, which the emulator runs
 * too) and reports a violation as this construct's prop error.
 */
export function applyRule<T>(scope: Construct, rule: () => T): T {
  try {
    return rule();
  } catch (err) {
    if (err instanceof RuleViolation) throw propError(scope, err.prop, err.value, err.problem, err.fix);
    throw err;
  }
}

export function addRuleWarning(scope: Construct, warning: RuleWarning): void {
  Annotations.of(scope).addWarningV2(`cdk-llm-gateway-router:${warning.id}`, warning.message);
}

/**
 * Validates `allowedModels` against the catalog for the region: the same
 * catalog entries the handler enforces at request time (the shared rule in
 * src/contract/rules.ts, which the emulator runs with its --catalog too).
 * Without `allowedModels` the router allows every live model the region's
 * endpoint lists, which a newer catalog can widen: unless `allowAllModels`
 * says that is intended, synth warns with the count and how to pin the list.
 * A single list token (a `CommaDelimitedList` parameter, an SSM `StringList`)
 * is passed through, joined at deploy time, and enforced at request time only.
 */
export function validateAllowedModels(
  scope: Construct,
  region: RegionCode,
  allowed: string[] | undefined,
  catalog: CatalogData = BUNDLED_CATALOG,
  allowAllModels?: boolean,
): ValidatedModels {
  if (allowed !== undefined && Token.isUnresolved(allowed)) {
    if (allowAllModels === true) {
      throw propError(scope, 'allowAllModels', 'true', 'contradicts allowedModels, which lists the models callers may use', 'remove allowAllModels, or remove allowedModels to allow every model the endpoint lists');
    }
    addRuleWarning(scope, {
      id: 'modelListToken',
      message: 'allowedModels is a deploy-time list (a token): its ids are not checked at synth time; the handler enforces the catalog and region rules on each request.',
    });
    return { models: allowed, hasTokens: true };
  }
  const checked = applyRule(scope, () => checkAllowedModels(region, allowed, (s) => Token.isUnresolved(s), catalog, allowAllModels));
  for (const warning of checked.warnings) addRuleWarning(scope, warning);
  return { models: checked.models, hasTokens: checked.hasTokens };
}

/** Warns when global routing is on but no allowed model accepts it. */
export function checkGlobalRoutingUseful(scope: Construct, validated: ValidatedModels, catalog: CatalogData = BUNDLED_CATALOG): void {
  const warning = globalRoutingWarning(true, { ...validated, warnings: [] }, catalog);
  if (warning) addRuleWarning(scope, warning);
}
