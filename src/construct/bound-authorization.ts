import * as apigw from 'aws-cdk-lib/aws-apigateway';

// Internal to the construct: not exported from the package's index.
/** What an authorization contributes to one router once bound to its API. */
export interface BoundAuthorization {
  /** Applied to every method of the router. */
  readonly methodOptions: apigw.MethodOptions;
  /** cdk-nag rules each method knowingly does not satisfy, with the reason. */
  readonly methodNagRules: Record<string, string>;
  /** The callers' usage plan, for API-key authorization. */
  readonly usagePlan?: apigw.UsagePlan;
}
