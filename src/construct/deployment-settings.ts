import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LlmGatewayRouterProps } from './router-props';
import { propError } from './validation';

/** The default concurrency limit of an AWS account in a region, shared by all its functions. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1_000;

/** `RouterDeploymentProps` after defaults and validation. */
export interface DeploymentSettings {
  readonly cloudWatchRole: boolean;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly reservedConcurrentExecutions?: number;
  readonly tracing: boolean;
  /** Set: the API is private, reachable only through these endpoints. */
  readonly vpcEndpoints?: ec2.IInterfaceVpcEndpoint[];
  readonly disableExecuteApiEndpoint: boolean;
  readonly logEncryptionKey?: kms.IKey;
  readonly allowTestInvoke: boolean;
  readonly apiKeySecretEncryptionKey?: kms.IKey;
}

/** Applies the defaults of `RouterDeploymentProps` and checks its rules. */
export function resolveDeployment(scope: Construct, props: LlmGatewayRouterProps): DeploymentSettings {
  validateCloudWatchRole(scope, props.cloudWatchRole);
  validateVpc(scope, props);
  validateReservedConcurrency(scope, props.reservedConcurrentExecutions);
  validateVpcEndpoints(scope, props);
  validateExecuteApiEndpoint(scope, props);
  return {
    cloudWatchRole: props.cloudWatchRole ?? false,
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: props.securityGroups,
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    tracing: props.tracing ?? false,
    vpcEndpoints: props.vpcEndpoints,
    disableExecuteApiEndpoint: props.disableExecuteApiEndpoint ?? false,
    logEncryptionKey: props.logEncryptionKey,
    allowTestInvoke: props.allowTestInvoke ?? false,
    apiKeySecretEncryptionKey: props.apiKeySecretEncryptionKey,
  };
}

/** Only an unset prop warns: `true` or `false` is a decision someone made. */
function validateCloudWatchRole(scope: Construct, cloudWatchRole: boolean | undefined): void {
  if (cloudWatchRole !== undefined) return;
  Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:cloudWatchRole',
    'The API stage writes access logs, which need the API Gateway CloudWatch Logs role in the account settings (once per account and region). '
    + 'Where it was never set, the deployment fails with "CloudWatch Logs role ARN must be set in account settings to enable logging". '
    + 'Set cloudWatchRole: true to let this router create it (one owner per account and region), or cloudWatchRole: false if it is already set; either silences this warning.');
}

function validateVpc(scope: Construct, props: LlmGatewayRouterProps): void {
  if (props.vpc !== undefined) return;
  if (props.vpcSubnets !== undefined) {
    throw propError(scope, 'vpcSubnets', '(a subnet selection)', 'is set without vpc', 'pass the VPC as vpc, or remove vpcSubnets');
  }
  if (props.securityGroups !== undefined) {
    throw propError(scope, 'securityGroups', `(${props.securityGroups.length} security groups)`, 'is set without vpc', 'pass the VPC as vpc, or remove securityGroups');
  }
}

function validateReservedConcurrency(scope: Construct, value: number | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < 1 || value > 100_000) {
    throw propError(scope, 'reservedConcurrentExecutions', String(value), 'is not a whole number from 1 to 100000',
      `choose a ceiling at or below your account's concurrency limit minus 100 (the default limit is ${DEFAULT_ACCOUNT_CONCURRENCY})`);
  }
}

function validateVpcEndpoints(scope: Construct, props: LlmGatewayRouterProps): void {
  const endpoints = props.vpcEndpoints;
  if (endpoints === undefined) return;
  if (!Token.isUnresolved(endpoints) && endpoints.length === 0) {
    throw propError(scope, 'vpcEndpoints', '[]', 'is empty, so the private API could be reached from nowhere',
      'pass the execute-api interface VPC endpoints callers use, or omit vpcEndpoints for a regional API');
  }
  if (props.domainName !== undefined) {
    throw propError(scope, 'domainName', JSON.stringify(props.domainName.domainName), 'cannot be combined with vpcEndpoints: a private API needs a private custom domain name, which this construct does not create',
      'remove domainName and call the API through the VPC endpoints, or map a private custom domain name to router.restApi yourself');
  }
}

function validateExecuteApiEndpoint(scope: Construct, props: LlmGatewayRouterProps): void {
  if (props.disableExecuteApiEndpoint && props.domainName === undefined && props.vpcEndpoints === undefined) {
    throw propError(scope, 'disableExecuteApiEndpoint', 'true', 'leaves the API without any endpoint: there is no domainName',
      'set domainName (callers then use https://<domainName>/v1), or remove disableExecuteApiEndpoint');
  }
}

/**
 * Worst-case concurrency is about `throttlingRateLimit` × `timeout` (seconds):
 * each admitted request may hold an execution that long. Warns when that
 * exceeds the reservation, or with no reservation the default account limit.
 */
export function checkConcurrency(scope: Construct, rateLimit: number, timeout: Duration, reserved: number | undefined): void {
  if (Token.isUnresolved(rateLimit) || (reserved !== undefined && Token.isUnresolved(reserved))) return;
  const worstCase = Math.ceil(rateLimit * timeout.toSeconds());
  const product = `throttlingRateLimit (${rateLimit}/s) × timeout (${timeout.toSeconds()} s) = ${worstCase} concurrent executions in the worst case (a hung or slow gateway)`;
  if (reserved === undefined) {
    if (worstCase <= DEFAULT_ACCOUNT_CONCURRENCY) return;
    Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:unboundedConcurrency',
      `${product}, more than ${DEFAULT_ACCOUNT_CONCURRENCY}, the default account concurrency limit: the router could starve every other function in this account and region. `
      + 'Set reservedConcurrentExecutions to bound it, or lower throttlingRateLimit or timeout.');
  } else if (worstCase > reserved) {
    Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:concurrencyBelowWorstCase',
      `${product}, more than reservedConcurrentExecutions (${reserved}): when requests run long, Lambda throttles the excess and callers get an error from API Gateway instead of the stage's 429. `
      + 'Lower throttlingRateLimit or timeout to match, or acknowledge this warning if the ceiling is deliberate.');
  }
}
