import { RESERVED_KEYS } from './model-catalog';
import { TENANT_ID_PATTERN } from './tenants-schema';

/*
 * The tenants file: one file, JSON or YAML, that both the construct
 * (`router.addTenantsFromFile(path)`) and the emulator (`serve --tenants
 * FILE`) read, covering every tenant option and identity kind, the default
 * tenant included. Onboarding a team is a pull request that adds an entry.
 * Its JSON Schema ships in the package (tenants.schema.json), and a test
 * keeps the schema and this reader in agreement.
 */

/** How a tenant's callers are recognised, as a file spells it. */
export type TenantFileIdentity =
  /** A key the router issues, by name (rotate by adding a key with a new name). */
  | { readonly kind: 'apiKey'; readonly name: string }
  /** An existing key of the router's usage plan, by id. */
  | { readonly kind: 'apiKeyId'; readonly id: string }
  /** An IAM role or user, by ARN. */
  | { readonly kind: 'iamPrincipal'; readonly arn: string }
  /** Members of a Cognito user pool group. */
  | { readonly kind: 'cognitoGroup'; readonly group: string }
  /** A Cognito claim with exactly this value. */
  | { readonly kind: 'cognitoClaim'; readonly claim: string; readonly value: string }
  /** A custom authorizer's principalId. */
  | { readonly kind: 'authorizerPrincipal'; readonly principalId: string };

/** One tenant as the file describes it: `TenantOptions`, with identities spelled as data. */
export interface TenantFileEntry {
  readonly id: string;
  readonly identities: readonly TenantFileIdentity[];
  readonly allowedModels?: string[];
  readonly monthlyBudgetUsd?: number;
  readonly dailyTokenLimit?: number;
  readonly tokensPerMinute?: number;
  readonly requestsPerMinutePerModel?: number;
  readonly transcriptAccess?: boolean;
  readonly globalRouting?: boolean;
  readonly default?: boolean;
}

/** A tenants file that cannot be read as one: names the file, the tenant and the field. */
export class TenantsFileError extends Error {
  constructor(file: string, where: string, problem: string) {
    super(`${file}: ${where}${where ? ': ' : ''}${problem}`);
    this.name = 'TenantsFileError';
  }
}

const NUMBER_FIELDS = ['monthlyBudgetUsd', 'dailyTokenLimit', 'tokensPerMinute', 'requestsPerMinutePerModel'] as const;
const WHOLE_FIELDS = new Set(['dailyTokenLimit', 'tokensPerMinute', 'requestsPerMinutePerModel']);
const BOOLEAN_FIELDS = ['transcriptAccess', 'globalRouting', 'default'] as const;
const ENTRY_FIELDS = new Set(['id', 'identities', 'allowedModels', ...NUMBER_FIELDS, ...BOOLEAN_FIELDS]);
const IDENTITY_KINDS = ['apiKey', 'apiKeyId', 'iamPrincipal', 'cognitoGroup', 'cognitoClaim', 'authorizerPrincipal'] as const;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Reads a tenants file's text (`yaml` parses YAML; JSON is read without it).
 * Throws `TenantsFileError` naming the file, the tenant and the field.
 */
export function parseTenantsFile(text: string, file: string, parseYaml?: (text: string) => unknown): TenantFileEntry[] {
  let raw: unknown;
  const yaml = /\.ya?ml$/i.test(file);
  try {
    raw = yaml ? parseYaml!(text) : JSON.parse(text);
  } catch (err) {
    throw new TenantsFileError(file, '', `is not valid ${yaml ? 'YAML' : 'JSON'} (${firstLine(err)})`);
  }
  if (!isObject(raw) || raw.version !== 1 || !Array.isArray(raw.tenants)) {
    throw new TenantsFileError(file, '', 'is not a version 1 tenants file: expected {"version": 1, "tenants": [ ... ]} (see tenants.schema.json)');
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'version' && key !== 'tenants' && key !== '$schema') throw new TenantsFileError(file, key, 'is not a field of a tenants file (version, tenants)');
  }
  const seen = new Map<string, number>();
  return raw.tenants.map((t: unknown, i: number) => {
    const label = isObject(t) && typeof t.id === 'string' ? `tenants[${i}] (${t.id})` : `tenants[${i}]`;
    const fail = (field: string, problem: string): never => {
      throw new TenantsFileError(file, field ? `${label}: ${field}` : label, problem);
    };
    if (!isObject(t)) return fail('', 'is not an object');
    for (const key of Object.keys(t)) if (!ENTRY_FIELDS.has(key)) fail(key, `is not a tenant field (${[...ENTRY_FIELDS].join(', ')})`);
    if (typeof t.id !== 'string' || !TENANT_ID_PATTERN.test(t.id)) fail('id', `${JSON.stringify(t.id)} is not 1-64 letters, digits, ".", "_" or "-" starting with a letter or digit`);
    const id = t.id as string;
    if (seen.has(id)) fail('id', `is also the id of tenants[${seen.get(id)}]`);
    seen.set(id, i);
    for (const field of NUMBER_FIELDS) {
      const v = t[field];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(field, `${JSON.stringify(v)} is not a positive number`);
      if (WHOLE_FIELDS.has(field) && !Number.isInteger(v)) fail(field, `${JSON.stringify(v)} is not a whole number`);
    }
    for (const field of BOOLEAN_FIELDS) if (t[field] !== undefined && typeof t[field] !== 'boolean') fail(field, `${JSON.stringify(t[field])} is not true or false`);
    if (t.allowedModels !== undefined && (!Array.isArray(t.allowedModels) || t.allowedModels.some((m) => typeof m !== 'string' || m === '' || RESERVED_KEYS.has(m)))) {
      fail('allowedModels', 'is not a list of model ids');
    }
    const identities = t.identities === undefined ? [] : Array.isArray(t.identities)
      ? t.identities.map((item: unknown, j: number) => identityOf(item, (problem) => fail(`identities[${j}]`, problem)))
      : fail('identities', 'is not a list');
    if (identities.length === 0 && t.default !== true) fail('identities', 'is empty: a tenant needs at least one identity unless it is the default tenant');
    return {
      id,
      identities,
      allowedModels: t.allowedModels as string[] | undefined,
      ...Object.fromEntries([...NUMBER_FIELDS, ...BOOLEAN_FIELDS].filter((f) => t[f] !== undefined).map((f) => [f, t[f]])),
    } as TenantFileEntry;
  });
}

function identityOf(raw: unknown, fail: (problem: string) => never): TenantFileIdentity {
  if (!isObject(raw)) return fail(`is not an object with one of ${IDENTITY_KINDS.join(', ')}`);
  const kinds = Object.keys(raw);
  if (kinds.length !== 1 || !(IDENTITY_KINDS as readonly string[]).includes(kinds[0])) return fail(`must have exactly one of ${IDENTITY_KINDS.join(', ')}, got ${JSON.stringify(kinds)}`);
  const kind = kinds[0] as (typeof IDENTITY_KINDS)[number];
  const value = raw[kind];
  const text = (what: string, pattern?: RegExp): string => {
    if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) fail(`${kind}: ${JSON.stringify(value)} is not ${what}`);
    return value as string;
  };
  switch (kind) {
    case 'apiKey': return { kind, name: text('a key name (1-64 letters, digits, ".", "_" or "-")', NAME_PATTERN) };
    case 'apiKeyId': return { kind, id: text('an API key id') };
    case 'iamPrincipal': return { kind, arn: text('an IAM role or user ARN', /^arn:[^:]+:iam::\d{12}:(role|user)\/.+$/) };
    case 'cognitoGroup': return { kind, group: text('a group name') };
    case 'authorizerPrincipal': return { kind, principalId: text('a principal id') };
    case 'cognitoClaim': {
      if (!isObject(value) || typeof value.claim !== 'string' || value.claim === '' || typeof value.value !== 'string' || value.value === '') {
        return fail('cognitoClaim: must be {"claim": "...", "value": "..."} with non-empty strings');
      }
      return { kind, claim: value.claim, value: value.value };
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
