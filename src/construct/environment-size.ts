import { Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { propError } from './validation';
import { ENV, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../catalog/env';

/** What a deploy-time value (the secret's ARN, the table's name, a joined token list) is counted as until it resolves. */
export const TOKEN_RESERVE_BYTES = 256;

/** What grows the environment, for the refusal's value and fix. */
export type EnvironmentGrowth =
  | { readonly prop: 'allowedModels'; readonly models: string[] }
  | { readonly prop: 'tenants'; readonly tenants: number };

/** Bytes one variable takes at synth: deploy-time values counted at a generous estimate. */
function variableBytes(key: string, value: string): number {
  const literal = Token.isUnresolved(value) ? value.replace(/\$\{Token\[[^\]]*\]\}/g, '') : value;
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(literal, 'utf8') + (Token.isUnresolved(value) ? TOKEN_RESERVE_BYTES : 0);
}

/**
 * The one check of Lambda's 4 KB environment (every key and value):
 * run when the function is created (the allow-list and its rules, an
 * egress proxy URL, ...) and again with each tenant (the same variables plus
 * the tenant store's, the tenants document included), so whatever is added
 * last is refused at synth with the whole account, never at deployment.
 */
export function checkEnvironmentSize(scope: Construct, environment: Record<string, string>, growth: EnvironmentGrowth): void {
  let models = 0;
  let tenants = 0;
  let others = 0;
  for (const [key, value] of Object.entries(environment)) {
    const bytes = variableBytes(key, value);
    if (key === ENV.ALLOWED_MODELS || key === ENV.MODEL_RULES) models += bytes;
    else if (key === ENV.TENANTS) tenants += bytes;
    else others += bytes;
  }
  const total = models + tenants + others;
  if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const parts = `every variable: the allow-list and its rules ${models}, ${tenants > 0 ? `the tenants document ${tenants}, ` : ''}the rest ${others}`;
  if (growth.prop === 'allowedModels') {
    const value = Token.isUnresolved(growth.models) ? '(a deploy-time list)' : `(${growth.models.length} models)`;
    throw propError(scope, 'allowedModels', value, `need ${total} bytes of the function's 4 KB environment (${parts})`, 'list fewer models in allowedModels');
  }
  throw propError(scope, 'tenants', `${growth.tenants} tenants`, `need ${total} bytes of the function's 4 KB environment (${parts})`,
    'split tenants across routers, give tenants the router\'s allow-list (omit allowedModels) to save space, or list fewer models in the router\'s allowedModels');
}
