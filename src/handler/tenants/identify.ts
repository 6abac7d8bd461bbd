import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { TenantSpec } from '../../catalog/tenants-schema';

/**
 * Matches a caller to a tenant from what API Gateway has already
 * authenticated (the request context), never from anything the caller can
 * simply assert in a header or the body.
 */
export class TenantDirectory {
  private readonly byKey = new Map<string, TenantSpec>();
  private readonly byUser = new Map<string, TenantSpec>();
  private readonly byPrincipal = new Map<string, TenantSpec>();
  private readonly roles: Array<{ role: ParsedArn; tenant: TenantSpec }> = [];
  private readonly claims: Array<{ name: string; value: string; tenant: TenantSpec }> = [];
  readonly byId = new Map<string, TenantSpec>();
  readonly fallback: TenantSpec | undefined;

  constructor(tenants: readonly TenantSpec[]) {
    for (const t of tenants) {
      this.byId.set(t.id, t);
      const who = t.who;
      if (!who) continue;
      switch (who.k) {
        case 'key': this.byKey.set(who.v, t); break;
        case 'user': this.byUser.set(who.v, t); break;
        case 'principal': this.byPrincipal.set(who.v, t); break;
        case 'claim': this.claims.push({ name: who.n, value: who.v, tenant: t }); break;
        case 'role': {
          const role = parseRoleArn(who.v);
          if (!role) throw new Error(`tenant ${t.id}: ${JSON.stringify(who.v)} is not an IAM role ARN`);
          this.roles.push({ role, tenant: t });
        }
      }
    }
    this.fallback = tenants.find((t) => t.def);
  }

  /** The caller's tenant, else the default tenant, else `undefined`. */
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
    if (this.roles.length === 0) return undefined;
    const session = parseAssumedRoleArn(userArn);
    if (!session) return undefined;
    // A role's sessions carry its name but not its path: partition, account and name identify it.
    const same = ({ role }: { role: ParsedArn }) =>
      role.partition === session.partition && role.account === session.account && role.name === session.name;
    return this.roles.find(same)?.tenant;
  }

  private claimOf(claims: Record<string, unknown> | undefined): TenantSpec | undefined {
    if (!claims || this.claims.length === 0) return undefined;
    return this.claims.find((c) => claims[c.name] === c.value)?.tenant;
  }
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
