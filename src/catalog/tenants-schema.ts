import { buildTenantEnvironment, TenantStoreFailure } from './env';

export { buildTenantEnvironment };
export type { TenantStoreFailure };

/**
 * The tenants of a router, as the construct (and the emulator) hand them to
 * the handler: one compact JSON document in one environment variable. Shared
 * by both sides so they cannot disagree on its shape.
 *
 * Lambda allows 4 KB for all of a function's environment variables together;
 * the construct checks them all, this document included, at synth time (src/construct/environment-size.ts).
 * Keys are short on purpose: every byte here is a byte of that budget.
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
  /** Absent only for the default tenant. */
  readonly who?: TenantIdentitySpec;
  /** Allowed model ids. @default the router's */
  readonly m?: readonly string[];
  /** Monthly budget (calendar month, UTC) in USD. */
  readonly usd?: number;
  /** Input + output tokens per UTC day. */
  readonly tok?: number;
  /** Requests per minute per model. */
  readonly rpm?: number;
  /** Transcript access (never wider than the router's). @default the router's */
  readonly tx?: boolean;
  /** Callers that match no tenant get this tenant's policy. */
  readonly def?: boolean;
}

export interface TenantsDocument {
  /** Format version. */
  readonly v: 1;
  readonly t: readonly TenantSpec[];
}

/** Tenant ids: safe as a CloudWatch dimension value, a log field and part of a DynamoDB key. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function encodeTenants(tenants: readonly TenantSpec[]): string {
  const doc: TenantsDocument = { v: 1, t: tenants };
  return JSON.stringify(doc);
}

/** Parses and checks the document; throws with a message naming the problem. */
export function parseTenants(raw: string): TenantSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new Error('is not JSON');
  }
  const d = doc as Partial<TenantsDocument> | null;
  if (!d || d.v !== 1 || !Array.isArray(d.t)) throw new Error('is not a version 1 tenants document {"v":1,"t":[...]}');
  const seen = new Set<string>();
  let defaults = 0;
  for (const t of d.t) {
    if (typeof t?.id !== 'string' || !TENANT_ID_PATTERN.test(t.id)) throw new Error(`has a tenant with an invalid id ${JSON.stringify(t?.id)}`);
    if (seen.has(t.id)) throw new Error(`names tenant ${t.id} twice`);
    seen.add(t.id);
    if (t.def) defaults++;
    if (!t.who && !t.def) throw new Error(`tenant ${t.id} has no identity and is not the default tenant`);
    for (const [name, value] of [['usd', t.usd], ['tok', t.tok], ['rpm', t.rpm]] as const) {
      if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
        throw new Error(`tenant ${t.id}: ${name} must be a positive number, got ${JSON.stringify(value)}`);
      }
    }
  }
  if (defaults > 1) throw new Error('names more than one default tenant');
  return d.t as TenantSpec[];
}
