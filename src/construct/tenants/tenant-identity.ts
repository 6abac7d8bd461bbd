import { Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { TenantIdentitySpec } from '../../contract/tenants-schema';
import { RouterAuthorizationType } from '../authorization';

/**
 * How the router recognises a tenant's callers. Each kind reads what API
 * Gateway has already authenticated, so it must match the router's
 * authorization: `apiKey` needs `RouterAuthorization.apiKey()`,
 * `iamPrincipal` needs `iam()`, `cognitoClaim` needs `cognito()`, and
 * `authorizerPrincipal` needs `custom()`.
 *
 * @example
 * declare const router: LlmGatewayRouter;
 * declare const mlRole: iam.IRole;
 * router.addTenant('ml-platform', { identity: TenantIdentity.iamPrincipal(mlRole), monthlyBudgetUsd: 500 });
 */
export abstract class TenantIdentity {
  /**
   * Callers presenting an API key of the router's usage plan. Without a key,
   * the router issues one for the tenant (`tenant.apiKey`). A key you pass
   * must be in the router's usage plan and not bound to a stage: create it
   * with `new apigw.ApiKey()` and add it with `router.usagePlan.addApiKey()`
   * (keys from `router.addApiKey()` are bound to the stage and are refused).
   * Matched by the key's id (`requestContext.identity.apiKeyId`), never its value.
   */
  public static apiKey(key?: apigw.IApiKey): TenantIdentity {
    return new ApiKeyIdentity(key);
  }

  /**
   * A new API key the router issues for the tenant, named `name` (its name
   * in API Gateway is `<router>-<tenant>-<name>`). To rotate a key without a
   * cut-over, add an identity with a new name beside the old one, move the
   * callers, then remove the old one.
   * @param name 1-64 letters, digits, ".", "_" or "-", unique within the tenant (for example "2026-12")
   */
  public static newApiKey(name: string): TenantIdentity {
    return new ApiKeyIdentity(undefined, name);
  }

  /**
   * An IAM role (any of its assumed-role sessions) or an IAM user, signing
   * requests with SigV4. Matched on the caller ARN API Gateway verified.
   */
  public static iamPrincipal(principal: iam.IPrincipal): TenantIdentity {
    return new IamIdentity(principal);
  }

  /** Cognito users whose token carries `claim` with exactly `value` (for example `custom:team`). */
  public static cognitoClaim(claim: string, value: string): TenantIdentity {
    return new Fixed(RouterAuthorizationType.COGNITO, { k: 'claim', n: claim, v: value }, `cognito claim ${claim}=${value}`);
  }

  /**
   * Cognito users in the user pool group `group` (the `cognito:groups`
   * claim, which only the pool's administrators can change). Prefer it to a
   * `custom:` attribute, which users can write themselves unless the app
   * client's write attributes exclude it.
   */
  public static cognitoGroup(group: string): TenantIdentity {
    return new Fixed(RouterAuthorizationType.COGNITO, { k: 'claim', n: 'cognito:groups', v: group }, `cognito group ${group}`);
  }

  /** Callers your custom (Lambda) authorizer answers for with this `principalId`. */
  public static authorizerPrincipal(principalId: string): TenantIdentity {
    return new Fixed(RouterAuthorizationType.CUSTOM, { k: 'principal', v: principalId }, `authorizer principal ${principalId}`);
  }

  /** The router authorization this identity needs. */
  public abstract readonly authorizationType: RouterAuthorizationType;

  /**
   * What the handler matches, issuing an API key through `issueKey` if
   * needed (`name`: the key's own name, when the identity has one).
   * @internal
   */
  public abstract _resolve(issueKey: (name?: string) => apigw.IApiKey): ResolvedIdentity;
}

// Internal to the construct: not exported from the package's index.
/** A tenant identity as the handler matches it. */
export interface ResolvedIdentity {
  readonly spec: TenantIdentitySpec;
  /** Two tenants with the same `dedupe` would share callers. */
  readonly dedupe: string;
  readonly description: string;
  readonly apiKey?: apigw.IApiKey;
}

/** Names of issued keys: they become construct ids and part of the key's name in API Gateway. */
const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

class ApiKeyIdentity extends TenantIdentity {
  public readonly authorizationType = RouterAuthorizationType.API_KEY;
  constructor(private readonly key?: apigw.IApiKey, private readonly name?: string) {
    super();
    if (name !== undefined && !Token.isUnresolved(name) && !KEY_NAME_PATTERN.test(name)) {
      throw new Error(`TenantIdentity.newApiKey(name): ${JSON.stringify(name)} is not 1-64 letters, digits, ".", "_" or "-". Fix: use a name such as "2026-12".`);
    }
  }

  public _resolve(issueKey: (name?: string) => apigw.IApiKey): ResolvedIdentity {
    const cfn = this.key?.node.defaultChild;
    if (cfn instanceof apigw.CfnApiKey && cfn.stageKeys !== undefined) {
      throw new Error(`TenantIdentity.apiKey(key): ${this.key!.node.path} is bound to an API stage (router.addApiKey() keys are), so the router's function, `
        + 'which must name the key, would depend on its own API (a dependency cycle). Fix: omit the key and use tenant.apiKey, '
        + 'or create it with new apigw.ApiKey(scope, id) and add it with router.usagePlan.addApiKey(key).');
    }
    const key = this.key ?? issueKey(this.name);
    return { spec: { k: 'key', v: key.keyId }, dedupe: `key:${key.keyId}`, description: this.name ? `API key ${this.name}` : 'API key', apiKey: key };
  }
}

class IamIdentity extends TenantIdentity {
  public readonly authorizationType = RouterAuthorizationType.IAM;
  constructor(private readonly principal: iam.IPrincipal) {
    super();
  }

  public _resolve(): ResolvedIdentity {
    const role = (this.principal as Partial<iam.IRole>).roleArn;
    const user = (this.principal as Partial<iam.IUser>).userArn;
    // The ARN is usually a token at synth: it goes to the handler as is and is compared at run time.
    if (role !== undefined) return { spec: { k: 'role', v: role }, dedupe: `role:${role}`, description: `IAM role ${show(role)}` };
    if (user !== undefined) return { spec: { k: 'user', v: user }, dedupe: `user:${user}`, description: `IAM user ${show(user)}` };
    throw new Error('TenantIdentity.iamPrincipal(principal): principal is neither an IAM role nor an IAM user. Fix: pass an iam.IRole or an iam.IUser.');
  }
}

class Fixed extends TenantIdentity {
  constructor(
    public readonly authorizationType: RouterAuthorizationType,
    private readonly spec: TenantIdentitySpec,
    private readonly description: string,
  ) {
    super();
    if (!Token.isUnresolved(spec.v) && spec.v.length === 0) {
      throw new Error(`TenantIdentity: ${description}: the value is empty. Fix: pass the exact value to match.`);
    }
  }

  public _resolve(): ResolvedIdentity {
    return { spec: this.spec, dedupe: JSON.stringify(this.spec), description: this.description };
  }
}

function show(value: string): string {
  return Token.isUnresolved(value) ? '(a deploy-time value)' : value;
}
