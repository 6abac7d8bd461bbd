import type { TenantGuardrailSpec } from './guardrail';
/**
 * The tenants of a router as the handler reads them: compact JSON documents
 * ("shards") that the construct writes into the tenant table at deploy time
 * (and the emulator at start), never the function's environment, so the
 * number of tenants is bounded by neither Lambda's 4 KB of environment nor
 * one item. Shared by the construct, the emulator and the handler so they
 * cannot disagree on the shape. Keys are short on purpose: they are stored
 * and read at every cold start.
 */

/** How a caller is matched to a tenant (from the API Gateway request context). */
export type TenantIdentitySpec =
  /** `requestContext.identity.apiKeyId` equals `v`. */
  | { readonly k: 'key'; readonly v: string }
  /** An IAM role: `identity.userArn` is an assumed-role session of the role ARN `v`. */
  | { readonly k: 'role'; readonly v: string }
  /** An IAM user: `identity.userArn` equals the user ARN `v`. */
  | { readonly k: 'user'; readonly v: string }
  /** A Cognito claim: `authorizer.claims[n]` equals `v`. */
  | { readonly k: 'claim'; readonly n: string; readonly v: string }
  /** A custom authorizer: `authorizer.principalId` equals `v`. */
  | { readonly k: 'principal'; readonly v: string };

/** One tenant's policy. Absent limits are not enforced. */
export interface TenantSpec {
  /** The tenant id: the `Tenant` dimension and the `tenant` log field. */
  readonly id: string;
  /** Who its callers are: several at once (a new API key beside the old one while callers move). Absent only for the default tenant. */
  readonly ids?: readonly TenantIdentitySpec[];
  /** Allowed model ids. @default the router's */
  readonly m?: readonly string[];
  /** Monthly budget (calendar month, UTC) in USD. */
  readonly usd?: number;
  /** Input + output tokens per UTC day. */
  readonly tok?: number;
  /** Input + output tokens per UTC minute, reserved up front. */
  readonly tpm?: number;
  /** Requests per minute per model. */
  readonly rpm?: number;
  /** Transcript access (never wider than the router's). @default the router's */
  readonly tx?: boolean;
  /** Global routing for this tenant on a US router: on where the model accepts it, or off. @default the router's */
  readonly gr?: boolean;
  /** Callers that match no tenant get this tenant's policy. */
  readonly def?: boolean;
  /** The tenant's own guardrail, or `none` (only where the router's allows it). @default the router's */
  readonly g?: TenantGuardrailSpec;
}

/** A tenant's policy as the construct's `TenantOptions` and the tenants file name it. */
export interface TenantPolicyOptions {
  readonly allowedModels?: readonly string[];
  readonly monthlyBudgetUsd?: number;
  readonly dailyTokenLimit?: number;
  readonly tokensPerMinute?: number;
  readonly requestsPerMinutePerModel?: number;
  readonly transcriptAccess?: boolean;
  readonly globalRouting?: boolean;
  readonly isDefault?: boolean;
}

/**
 * The tenant as the handler reads it (without its guardrail, which the
 * construct binds): the one mapping from the options' names to the shard's
 * short ones, for the construct and the emulator alike.
 */
export function tenantSpec(id: string, ids: readonly TenantIdentitySpec[], o: TenantPolicyOptions): TenantSpec {
  return {
    id,
    ids: ids.length > 0 ? ids : undefined,
    m: o.allowedModels,
    usd: o.monthlyBudgetUsd,
    tok: o.dailyTokenLimit,
    tpm: o.tokensPerMinute,
    rpm: o.requestsPerMinutePerModel,
    tx: o.transcriptAccess,
    gr: o.globalRouting,
    def: o.isDefault || undefined,
  };
}

/** One shard of a router's tenants. */
export interface TenantsDocument {
  /** Format version. */
  readonly v: 1;
  readonly t: readonly TenantSpec[];
}

/** Tenant ids: safe as a CloudWatch dimension value, a log field and part of a DynamoDB key. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The partition key of shard `index` in the tenant table. Tenant ids start
 * with a letter or digit, so no tenant's own items (`<id>#...`) can collide.
 */
export function tenantShardKey(index: number): string {
  return `~tenants#${index}`;
}

/** The attribute that holds a shard's document (a JSON string). */
export const TENANT_SHARD_ATTRIBUTE = 'doc';

/** The attribute that holds a shard's version (its hash, set at synth). */
export const TENANT_SHARD_VERSION_ATTRIBUTE = 'v';

/**
 * The tenant table's only key: a string partition key. Its items are the
 * tenant shards and each tenant's month, day and minute items.
 */
export const TENANT_TABLE_KEY = 'pk';

/** The tenant table's TTL attribute (epoch seconds): DynamoDB deletes the item some time after. */
export const TENANT_TABLE_TTL_ATTRIBUTE = 'expires_at';

/** An item or key in DynamoDB's wire format, string attributes only. */
export type StringItem = Record<string, { S: string }>;

/** The key of the tenant table's item `key`. */
export function tenantTableKey(key: string): StringItem {
  return { [TENANT_TABLE_KEY]: { S: key } };
}

/** Shard `index` as an item: written by CloudFormation when deployed, by the emulator and the tests locally. */
export function tenantShardItem(index: number, doc: string, version: string): StringItem {
  return { ...tenantTableKey(tenantShardKey(index)), [TENANT_SHARD_ATTRIBUTE]: { S: doc }, [TENANT_SHARD_VERSION_ATTRIBUTE]: { S: version } };
}

export function encodeTenants(tenants: readonly TenantSpec[]): string {
  const doc: TenantsDocument = { v: 1, t: tenants };
  return JSON.stringify(doc);
}

/** Tenants per shard written by the emulator and the tests (the construct sizes its own shards by its stacks' limits). */
export const LOCAL_SHARD_TENANTS = 200;

/**
 * Tenants as shards with their versions (a digest of each document), and the
 * versions as the function's environment carries them. `digest` is passed in
 * so this module stays free of Node.js imports for the handler's bundle.
 */
export function shardTenants(
  tenants: readonly TenantSpec[], digest: (text: string) => string, perShard = LOCAL_SHARD_TENANTS,
): { shards: Array<{ doc: string; version: string }>; shardVersions: string } {
  const shards: Array<{ doc: string; version: string }> = [];
  for (let i = 0; i < Math.max(1, tenants.length); i += perShard) {
    const doc = encodeTenants(tenants.slice(i, i + perShard));
    shards.push({ doc, version: digest(doc) });
  }
  return { shards, shardVersions: shards.map((s) => s.version).join(',') };
}

/** Parses and checks a shard; throws with a message naming the problem. */
export function parseTenants(raw: string): TenantSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new Error('is not JSON');
  }
  const d = doc as Partial<TenantsDocument> | null;
  if (!d || d.v !== 1 || !Array.isArray(d.t)) throw new Error('is not a version 1 tenants document {"v":1,"t":[...]}');
  checkTenants(d.t);
  return d.t as TenantSpec[];
}

/** Checks tenants read from one or several shards together: ids unique, at most one default, limits positive. */
export function checkTenants(tenants: readonly TenantSpec[]): void {
  const seen = new Set<string>();
  let defaults = 0;
  for (const t of tenants) {
    if (typeof t?.id !== 'string' || !TENANT_ID_PATTERN.test(t.id)) throw new Error(`has a tenant with an invalid id ${JSON.stringify(t?.id)}`);
    if (seen.has(t.id)) throw new Error(`names tenant ${t.id} twice`);
    seen.add(t.id);
    if (t.def) defaults++;
    if ((!Array.isArray(t.ids) || t.ids.length === 0) && !t.def) throw new Error(`tenant ${t.id} has no identity and is not the default tenant`);
    for (const [name, value] of [['usd', t.usd], ['tok', t.tok], ['tpm', t.tpm], ['rpm', t.rpm]] as const) {
      if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
        throw new Error(`tenant ${t.id}: ${name} must be a positive number, got ${JSON.stringify(value)}`);
      }
    }
  }
  for (const t of tenants) {
    if (t.g !== undefined && t.g !== 'none' && (typeof t.g !== 'object' || t.g === null || typeof t.g.id !== 'string' || typeof t.g.v !== 'string')) {
      throw new Error(`tenant ${t.id}: g must be a guardrail {"id","v",...} or "none"`);
    }
  }
  if (defaults > 1) throw new Error('names more than one default tenant');
}
