import { Annotations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RuleViolation, RuleWarning } from '../contract/rules';

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
 * A single list token for `allowedModels` (a `CommaDelimitedList` parameter,
 * an SSM `StringList`) is joined at deploy time, so its ids are enforced at
 * request time only: synth says so. Without `allowedModels` the router
 * allows every live model the region's endpoint lists (the shared rule in
 * src/contract/rules.ts warns unless `allowAllModels` says that is intended).
 */
export function checkModelListToken(scope: Construct, allowAllModels: boolean | undefined): void {
  if (allowAllModels === true) {
    throw propError(scope, 'allowAllModels', 'true', 'contradicts allowedModels, which lists the models callers may use', 'remove allowAllModels, or remove allowedModels to allow every model the endpoint lists');
  }
  addRuleWarning(scope, {
    id: 'modelListToken',
    message: 'allowedModels is a deploy-time list (a token): its ids are not checked at synth time; the handler enforces the catalog and region rules on each request.',
  });
}
