import { Stack, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { propError } from './validation';
import { ENV, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../contract/env';

/** What a deploy-time value (the secret's ARN, the table's name, a joined token list) is counted as until it resolves. */
export const TOKEN_RESERVE_BYTES = 256;

/** Bytes one variable takes at synth: deploy-time values counted at a generous estimate. */
function variableBytes(key: string, value: string): number {
  const literal = Token.isUnresolved(value) ? value.replace(/\$\{Token\[[^\]]*\]\}/g, '') : value;
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(literal, 'utf8') + (Token.isUnresolved(value) ? TOKEN_RESERVE_BYTES : 0);
}

/**
 * The allow-list's share of Lambda's 4 KB environment (every key and
 * value), checked when the function is created, so a long allow-list is
 * refused with the fix that applies to it. `guardEnvironmentSize` checks the
 * final environment at synth, whatever added to it.
 */
export function checkEnvironmentSize(scope: Construct, environment: Record<string, string>, models: string[]): void {
  let modelBytes = 0;
  let others = 0;
  for (const [key, value] of Object.entries(environment)) {
    const bytes = variableBytes(key, value);
    if (key === ENV.ALLOWED_MODELS || key === ENV.MODEL_RULES) modelBytes += bytes;
    else others += bytes;
  }
  const total = modelBytes + others;
  if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const value = Token.isUnresolved(models) ? '(a deploy-time list)' : `(${models.length} models)`;
  throw propError(scope, 'allowedModels', value, `need ${total} bytes of the function's 4 KB environment (every variable: the allow-list and its rules ${modelBytes}, the rest ${others})`,
    'list fewer models in allowedModels');
}

/**
 * Checks the function's whole environment when the app is synthesized, so
 * that a variable added after the router was built (`handler.addEnvironment`)
 * cannot take it past Lambda's 4 KB unnoticed until deployment. The error
 * names the largest variables.
 */
export function guardEnvironmentSize(fn: lambda.Function): void {
  fn.node.addValidation({
    validate: () => {
      const cfn = fn.node.defaultChild as lambda.CfnFunction;
      const resolved = Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
      const sizes = Object.entries(resolved?.variables ?? {})
        .map(([key, value]) => ({ key, bytes: Buffer.byteLength(key, 'utf8') + resolvedBytes(value) }))
        .sort((a, b) => b.bytes - a.bytes);
      const total = sizes.reduce((n, s) => n + s.bytes, 0);
      if (total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return [];
      const largest = sizes.slice(0, 3).map((s) => `${s.key} ${s.bytes}`).join(', ');
      return [`environment: ${sizes.length} variables need ${total} bytes of the function's 4 KB (deploy-time values counted as ${TOKEN_RESERVE_BYTES}); `
        + `the largest: ${largest}. Fix: remove or shorten variables added with addEnvironment, or list fewer models in allowedModels`];
    },
  });
}

/** A resolved value's bytes: literal text as it is, each deploy-time part (Ref, GetAtt, ...) at the reserve. */
function resolvedBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
  // A join of a list that is itself deploy-time (a CommaDelimitedList parameter) counts as one deploy-time value.
  if (join && Array.isArray(join[1])) {
    return join[1].reduce<number>((n, part) => n + resolvedBytes(part), 0) + Buffer.byteLength(join[0], 'utf8') * Math.max(0, join[1].length - 1);
  }
  return TOKEN_RESERVE_BYTES;
}
