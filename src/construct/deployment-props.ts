import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';

/**
 * How a router fits into an account: the API Gateway account setting it
 * relies on, networking, private access, concurrency, tracing and
 * encryption. `LlmGatewayRouterProps` extends it; every prop is optional.
 */
export interface RouterDeploymentProps {
  /**
   * Create the account's API Gateway CloudWatch Logs role
   * (`AWS::ApiGateway::Account`), which the stage's access logs need. A
   * deployment in an account and region where it was never set fails with
   * "CloudWatch Logs role ARN must be set in account settings to enable
   * logging".
   *
   * The setting is one per account and region, so an app creates it once:
   * routers of one stack that set `true` share one setting, a router of
   * another stack that sets `true` for the same account and region is a
   * synth error naming the router that owns it, and every router stage of
   * the app that may deploy there depends on the setting (a first deploy
   * never creates a stage before it). The role and the setting are retained
   * when the stack is deleted, since other APIs of the account may log
   * through them. Across apps, let one stack (or your landing zone) own it
   * and set `false` everywhere else.
   *
   * Leaving it unset synthesizes the same template as `false`, with a synth
   * warning explaining the prerequisite; set `true` or `false` explicitly to
   * silence it.
   * @default - false (the account setting must already exist), with a synth warning
   */
  readonly cloudWatchRole?: boolean;

  /**
   * A VPC for the router's function. Its subnets need a route to the
   * gateway (a NAT gateway, or `customEndpoint` pointing at an egress proxy
   * they can reach) and to Secrets Manager (the NAT, or a
   * `com.amazonaws.<region>.secretsmanager` interface endpoint).
   * @default - the function runs outside any VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where in `vpc` the function's network interfaces go.
   * @default - the VPC's private subnets (with egress), as for any Lambda function
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the function's network interfaces. Only egress
   * matters: the function accepts no inbound connections.
   * @default - one new security group allowing all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * A ceiling on the function's concurrent executions. Worst-case
   * concurrency is about `throttlingRateLimit` × `timeout` in seconds: each
   * admitted request may hold an execution that long (a hung gateway holds it
   * for `upstreamTimeout`, a slow stream up to `timeout`). With the defaults,
   * 50 × 300 s = 15,000, far above the default account limit of 1,000 shared
   * by every function in the region. Requests beyond the ceiling are
   * throttled by Lambda and the caller gets an error from API Gateway.
   * Lambda keeps 100 executions of the account limit unreserved, so the
   * deployment fails if the value exceeds what the account can reserve.
   * @default - no reservation (a synth warning when the worst case exceeds 1,000)
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * AWS X-Ray active tracing for the function and tracing on the API stage.
   * @default false
   */
  readonly tracing?: boolean;

  /**
   * Make the API private: reachable only through these
   * `com.amazonaws.<region>.execute-api` interface VPC endpoints. Its
   * resource policy denies `execute-api:Invoke` from anywhere else; with
   * authorization other than IAM it also allows every caller through those
   * endpoints (authorization still applies). With IAM authorization the
   * callers' IAM policies decide (`grantInvoke`), as on a regional API.
   * @default - a regional API reachable from the internet
   */
  readonly vpcEndpoints?: ec2.IInterfaceVpcEndpoint[];

  /**
   * Turn off the default `execute-api` endpoint, so callers must use
   * `domainName` (or, for a private API, a private custom domain name).
   * Requires `domainName` unless `vpcEndpoints` is set.
   * @default false
   */
  readonly disableExecuteApiEndpoint?: boolean;

  /**
   * A KMS key for the function's log group and the API's access log group.
   * CloudWatch Logs must be allowed to use it: for a key defined in your app
   * the router adds that statement to the key policy; for an imported key,
   * add it yourself (see the README).
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Keep the Lambda permission that lets the console's "Test" button (the
   * `test-invoke-stage` pseudo-stage) invoke the function. Without it only
   * the deployed stage can.
   * @default false
   */
  readonly allowTestInvoke?: boolean;

  /**
   * The KMS key that encrypts `apiKeySecret`, when the `ISecret` does not
   * carry it (for example a secret imported by name or ARN). The function
   * gets `kms:Decrypt` on it, only through Secrets Manager
   * (`kms:ViaService`). A key carried by the secret
   * (`Secret.fromSecretAttributes({ encryptionKey })`) is granted anyway.
   * @default - the secret's own `encryptionKey`, if any
   */
  readonly apiKeySecretEncryptionKey?: kms.IKey;
}
