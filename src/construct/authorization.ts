import { Annotations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { BoundAuthorization } from './bound-authorization';


/**
 * How callers authenticate to the router.
 */
export enum RouterAuthorizationType {
  /** AWS Signature V4 with IAM permissions (`grantInvoke`). */
  IAM = 'IAM',
  /** API keys issued under a usage plan (`addApiKey`). */
  API_KEY = 'API_KEY',
  /** Amazon Cognito user pool tokens. */
  COGNITO = 'COGNITO',
  /** A Lambda (custom) authorizer of your own. */
  CUSTOM = 'CUSTOM',
  /** No authorization: anyone who knows the URL can spend your gateway credit. */
  NONE = 'NONE',
}

/**
 * Options for API-key authorization.
 */
export interface RouterApiKeyOptions {
  /**
   * Throttling for each API key of the usage plan.
   * @default - the stage's throttling applies
   */
  readonly throttle?: apigw.ThrottleSettings;
  /**
   * A request quota for each API key of the usage plan.
   * @default - no quota
   */
  readonly quota?: apigw.QuotaSettings;
}

/**
 * Options for Cognito authorization.
 */
export interface RouterCognitoOptions {
  /**
   * OAuth scopes a token must carry.
   * @default - any valid token from the user pools
   */
  readonly scopes?: string[];
}

/**
 * Who may call the router. Choose with one of the static factories.
 *
 * @example
 * RouterAuthorization.apiKey({ quota: { limit: 10000, period: apigw.Period.DAY } });
 */
export abstract class RouterAuthorization {
  /** IAM (SigV4) callers; grant them with `router.grantInvoke(grantee)`. The default. */
  public static iam(): RouterAuthorization {
    return new Simple(RouterAuthorizationType.IAM, { authorizationType: apigw.AuthorizationType.IAM });
  }

  /** API keys with a usage plan; issue keys with `router.addApiKey(id)`. */
  public static apiKey(options: RouterApiKeyOptions = {}): RouterAuthorization {
    return new Simple(RouterAuthorizationType.API_KEY, { authorizationType: apigw.AuthorizationType.NONE, apiKeyRequired: true }, options);
  }

  /** Tokens from Cognito user pools. */
  public static cognito(userPools: cognito.IUserPool[], options: RouterCognitoOptions = {}): RouterAuthorization {
    return new CognitoAuthorization(userPools, options);
  }

  /** Your own authorizer (token or request Lambda authorizer). */
  public static custom(authorizer: apigw.IAuthorizer): RouterAuthorization {
    return new Simple(RouterAuthorizationType.CUSTOM, {
      authorizer,
      authorizationType: authorizer.authorizationType ?? apigw.AuthorizationType.CUSTOM,
    });
  }

  /** No authorization. Allowed, with a synth warning. */
  public static none(): RouterAuthorization {
    return new Simple(RouterAuthorizationType.NONE, { authorizationType: apigw.AuthorizationType.NONE });
  }

  /** The kind of authorization. */
  public abstract readonly type: RouterAuthorizationType;

  /** API-key options, when `type` is API_KEY. */
  public abstract readonly apiKeyOptions?: RouterApiKeyOptions;

  /**
   * Binds this authorization to one router's API: the method options that
   * apply it, the cdk-nag findings it explains, and anything it owns (the
   * usage plan of API-key callers, a Cognito authorizer).
   * @internal
   */
  public _bind(scope: Construct, api: apigw.RestApi, routerName: string): BoundAuthorization {
    const methodNagRules: Record<string, string> = {};
    if (this.type !== RouterAuthorizationType.COGNITO) {
      methodNagRules['AwsSolutions-COG4'] = `Callers are authorized with ${this.type} by the platform team's explicit choice (authorization prop), not a Cognito user pool.`;
    }
    if (this.type === RouterAuthorizationType.API_KEY) {
      methodNagRules['AwsSolutions-APIG4'] = 'Callers must present an API key of the router\'s usage plan (apiKeyRequired), by the platform team\'s explicit choice.';
    }
    if (this.type === RouterAuthorizationType.NONE) {
      Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:noAuthorization',
        'authorization: RouterAuthorization.none() lets anyone who finds the URL spend your LLM Gateway credit. Prefer iam(), apiKey() or cognito().');
    }
    const usagePlan = this.type === RouterAuthorizationType.API_KEY
      ? api.addUsagePlan('UsagePlan', {
        name: `${routerName}-callers`,
        throttle: this.apiKeyOptions?.throttle,
        quota: this.apiKeyOptions?.quota,
        apiStages: [{ api, stage: api.deploymentStage }],
      })
      : undefined;
    return { methodOptions: this._methodOptions(scope), methodNagRules, usagePlan };
  }

  /**
   * The method options that apply this authorization to one router.
   * @internal
   */
  public abstract _methodOptions(scope: Construct): apigw.MethodOptions;
}

class Simple extends RouterAuthorization {
  constructor(
    public readonly type: RouterAuthorizationType,
    private readonly options: apigw.MethodOptions,
    public readonly apiKeyOptions?: RouterApiKeyOptions,
  ) {
    super();
  }

  public _methodOptions(): apigw.MethodOptions {
    return this.options;
  }
}

class CognitoAuthorization extends RouterAuthorization {
  public readonly type = RouterAuthorizationType.COGNITO;
  public readonly apiKeyOptions = undefined;

  constructor(private readonly userPools: cognito.IUserPool[], private readonly options: RouterCognitoOptions) {
    super();
    if (userPools.length === 0) {
      throw new Error('RouterAuthorization.cognito(userPools): userPools is empty. Fix: pass at least one cognito.IUserPool.');
    }
  }

  public _methodOptions(scope: Construct): apigw.MethodOptions {
    // Called once per router by _bind: an authorizer belongs to exactly one REST API, so each router gets its own.
    return {
      authorizer: new apigw.CognitoUserPoolsAuthorizer(scope, 'CognitoAuthorizer', { cognitoUserPools: this.userPools }),
      authorizationType: apigw.AuthorizationType.COGNITO,
      authorizationScopes: this.options.scopes,
    };
  }
}
