import { CfnElement, Fn, Resource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { checkEnvironmentSize, guardEnvironmentSize } from './environment-size';
import { acknowledgeRules } from './nag';
import { RouterSettings } from './settings';
import { buildRouterEnvironment } from '../contract/env';
import { encodeModelRules } from '../contract/model-rules';
import { RouterFunction } from '../handler/router-function';

/**
 * The router's function and its role. The role is explicit rather than the
 * managed basic-execution policy: the function can write to its own log
 * group and read its one secret (decrypting it through Secrets Manager
 * only), and, when asked for, manage its network interfaces in a VPC and
 * send traces; nothing else.
 */
export function createHandlerFunction(
  scope: Construct,
  settings: RouterSettings,
  secret: secretsmanager.ISecret,
  logGroup: logs.ILogGroup,
  architecture: lambda.Architecture,
): lambda.Function {
  const role = new iam.Role(scope, 'HandlerRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Runs the ${settings.routerName} LLM Gateway router`,
  });
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [`${logGroup.logGroupArn}:*`],
  }));
  const deployment = settings.deployment;
  if (deployment.vpc) {
    // What AWSLambdaVPCAccessExecutionRole grants, minus the logs it also grants.
    role.addToPolicy(new iam.PolicyStatement({ actions: VPC_ACCESS_ACTIONS, resources: ['*'] }));
  }
  const logGroupId = Stack.of(scope).getLogicalId(logGroup.node.defaultChild as CfnElement);
  const wildcards = [
    ...deployment.vpc ? ['the EC2 network-interface actions Lambda needs in a VPC (those of AWSLambdaVPCAccessExecutionRole) accept no resource scoping for Describe* and name interfaces Lambda creates at run time'] : [],
    ...deployment.tracing ? ['X-Ray PutTraceSegments and PutTelemetryRecords accept no resource scoping'] : [],
  ];
  acknowledgeRules(role, {
    [`AwsSolutions-IAM5[Resource::<${logGroupId}.Arn>:*]`]: 'Log stream names are chosen by the Lambda service at run time; the wildcard is scoped to this function\'s own log group.',
    ...wildcards.length > 0 ? { 'AwsSolutions-IAM5[Resource::*]': `Resource "*" only where AWS allows nothing narrower: ${wildcards.join('; ')}.` } : {},
  });

  const environment = routerFunctionEnvironment(settings, secret);
  checkEnvironmentSize(scope, environment, settings.allowedModels);
  const fn = new RouterFunction(scope, 'Handler', {
    role,
    architecture,
    memorySize: settings.memorySize,
    timeout: settings.timeout,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    vpc: deployment.vpc,
    vpcSubnets: deployment.vpcSubnets,
    securityGroups: deployment.securityGroups,
    reservedConcurrentExecutions: deployment.reservedConcurrentExecutions,
    tracing: deployment.tracing ? lambda.Tracing.ACTIVE : undefined,
    description: `LLM Gateway router ${settings.routerName} (${settings.code}${settings.globalRouting ? ', global routing' : ''})`,
    environment,
  });
  guardEnvironmentSize(fn);
  grantSecretRead(scope, role, secret, deployment.apiKeySecretEncryptionKey);
  return fn;
}

/**
 * The function's environment (without tenants: the tenant store adds its
 * variables, from the same `buildTenantEnvironment`, with the first tenant).
 */
export function routerFunctionEnvironment(settings: RouterSettings, secret: secretsmanager.ISecret): Record<string, string> {
  const models = settings.allowedModels;
  // The catalog's rules for exactly the validated models: what the handler enforces.
  // A whole-list token has no ids yet: the handler falls back to the bundled catalog's rules.
  const literalIds = Token.isUnresolved(models) ? [] : models.filter((id) => !Token.isUnresolved(id));
  return buildRouterEnvironment({
    region: settings.code,
    endpoint: settings.endpoint,
    customEndpoint: settings.customEndpoint,
    globalRouting: settings.globalRouting,
    transcriptAccess: settings.transcriptAccess,
    allowedModels: joinModels(models),
    modelRules: encodeModelRules(settings.catalog, settings.code, literalIds),
    apiKeySecretArn: secret.secretArn,
    maxBodyBytes: settings.maxBodyBytes,
    upstreamTimeoutMs: settings.upstreamTimeout.toMilliseconds(),
    metricsNamespace: settings.metricsNamespace,
    serviceName: settings.routerName,
    egressProxy: settings.egressProxy,
  });
}

const VPC_ACCESS_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/**
 * GetSecretValue on the secret, and kms:Decrypt (through Secrets Manager
 * only) on its customer-managed key, as an identity policy on the role.
 *
 * `secret.grantRead` alone falls short for keys: it grants the key through
 * the key policy, which does nothing for an imported key (so GetSecretValue
 * fails at run time) and, for a key defined in another stack, writes this
 * role into that stack, which already exports the secret to this one: a
 * dependency cycle. The identity statement works for both, provided the
 * key policy lets the account's IAM policies grant it (the default).
 */
function grantSecretRead(scope: Construct, role: iam.IRole, secret: secretsmanager.ISecret, extraKey?: kms.IKey): void {
  const key = secret.encryptionKey;
  if (key && Resource.isOwnedResource(key) && Stack.of(key) !== Stack.of(scope)) {
    // The same secret without its key, so grantRead leaves the other stack's key policy alone.
    const keyless = secret.secretFullArn
      ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'ApiKeySecretRef', secret.secretFullArn)
      : secretsmanager.Secret.fromSecretPartialArn(scope, 'ApiKeySecretRef', secret.secretArn);
    keyless.grantRead(role);
  } else {
    secret.grantRead(role);
  }
  const keys = [key, extraKey].filter((k, i, all): k is kms.IKey => k !== undefined && all.indexOf(k) === i);
  for (const k of keys) {
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [k.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${secret.env.region}.amazonaws.com` } },
    }));
  }
}

/**
 * The allow-list as the handler's comma-separated variable. Entries that are
 * tokens resolve at deploy time, so CloudFormation joins them; a whole-list
 * token (a CommaDelimitedList parameter, an SSM StringList) is joined as a
 * list: `Fn.join` would hand its single encoded element back as a string.
 */
function joinModels(models: string[]): string {
  if (Token.isUnresolved(models)) return Token.asString({ 'Fn::Join': [',', models] });
  return Token.isUnresolved(models.join(',')) ? Fn.join(',', models) : models.join(',');
}
