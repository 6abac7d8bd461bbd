import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { TenantSpec } from '../../contract/tenants-schema';

/**
 * Matches a caller to a tenant from what API Gateway has already
 * authenticated (the request context), never from anything the caller can
 * simply assert in a header or the body.
 */
export class TenantDirectory {
  private readonly byKey = new Map<string, TenantSpec>();
  private readonly byUser = new Map<string, TenantSpec>();
  private readonly byPrincipal = new Map<string, TenantSpec>();
  /** Roles by partition, account and name (what an assumed-role session ARN carries). */
  private readonly byRole = new Map<string, TenantSpec>();
  /** Claim name, then claim value: a lookup per claim name the tenants use, whatever their number. */
  private readonly byClaim = new Map<string, Map<string, TenantSpec>>();
  readonly byId = new Map<string, TenantSpec>();
  readonly fallback: TenantSpec | undefined;

  constructor(tenants: readonly TenantSpec[]) {
    for (const t of tenants) {
      this.byId.set(t.id, t);
      for (const who of t.ids ?? []) {
        switch (who.k) {
          case 'key': this.byKey.set(who.v, t); break;
          case 'user': this.byUser.set(who.v, t); break;
          case 'principal': this.byPrincipal.set(who.v, t); break;
          case 'claim': {
            let values = this.byClaim.get(who.n);
            if (!values) this.byClaim.set(who.n, values = new Map());
            values.set(who.v, t);
            break;
          }
          case 'role': {
            const role = parseRoleArn(who.v);
            if (!role) throw new Error(`tenant ${t.id}: ${JSON.stringify(who.v)} is not an IAM role ARN`);
            this.byRole.set(roleKey(role), t);
          }
        }
      }
    }
    this.fallback = tenants.find((t) => t.def);
  }

  /** The caller's tenant, else the default tenant, else `undefined`. Constant time in the number of tenants. */
  match(event: APIGatewayProxyEvent): TenantSpec | undefined {
    const rc = event.requestContext;
    const identity = rc?.identity;
    const authorizer = rc?.authorizer as { principalId?: unknown; claims?: Record<string, unknown> } | null | undefined;
    const found = (identity?.apiKeyId ? this.byKey.get(identity.apiKeyId) : undefined)
      ?? (identity?.userArn ? this.byUser.get(identity.userArn) ?? this.roleOf(identity.userArn) : undefined)
      ?? (typeof authorizer?.principalId === 'string' ? this.byPrincipal.get(authorizer.principalId) : undefined)
      ?? this.claimOf(authorizer?.claims);
    return found ?? this.fallback;
  }

  private roleOf(userArn: string): TenantSpec | undefined {
    if (this.byRole.size === 0) return undefined;
    // A role's sessions carry its name but not its path: partition, account and name identify it.
    const session = parseAssumedRoleArn(userArn);
    return session ? this.byRole.get(roleKey(session)) : undefined;
  }

  private claimOf(claims: Record<string, unknown> | undefined): TenantSpec | undefined {
    if (!claims || this.byClaim.size === 0) return undefined;
    for (const [name, values] of this.byClaim) {
      const value = Object.prototype.hasOwnProperty.call(claims, name) ? claims[name] : undefined;
      if (typeof value !== 'string') continue;
      // A group list matches on membership: API Gateway passes cognito:groups as one string of groups.
      for (const candidate of name === GROUPS_CLAIM ? groupsOf(value) : [value]) {
        const tenant = values.get(candidate);
        if (tenant) return tenant;
      }
    }
    return undefined;
  }
}

/** Cognito's group claim: a list, which users cannot write (custom attributes they can, unless the app client forbids it). */
export const GROUPS_CLAIM = 'cognito:groups';

/** The groups of a `cognito:groups` claim as API Gateway passes it: "a,b", or "[a b]". */
function groupsOf(value: string): string[] {
  return value.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter((g) => g.length > 0);
}

function roleKey(role: ParsedArn): string {
  return `${role.partition}:${role.account}:${role.name}`;
}

interface ParsedArn {
  readonly partition: string;
  readonly account: string;
  readonly name: string;
}

/** arn:PARTITION:iam::ACCOUNT:role/PATH/NAME */
export function parseRoleArn(arn: string): ParsedArn | undefined {
  const m = /^arn:([^:]+):iam::(\d{12}):role\/(?:[^:]*\/)?([^/:]+)$/.exec(arn);
  return m ? { partition: m[1], account: m[2], name: m[3] } : undefined;
}

/** arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION */
export function parseAssumedRoleArn(arn: string): ParsedArn | undefined {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
  return m ? { partition: m[1], account: m[2], name: m[3] } : undefined;
}
