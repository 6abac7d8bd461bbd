import { CfnElement, Fn, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeRules } from './nag';
import { RouterSettings } from './settings';
import { buildRouterEnvironment } from '../catalog/env';
import { RouterFunction } from '../handler/router-function';

/**
 * The router's function and its role. The role is explicit rather than the
 * managed basic-execution policy: the function can write to its own log
 * group and read its one secret, nothing else.
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
  const logGroupId = Stack.of(scope).getLogicalId(logGroup.node.defaultChild as CfnElement);
  acknowledgeRules(role, {
    [`AwsSolutions-IAM5[Resource::<${logGroupId}.Arn>:*]`]: 'Log stream names are chosen by the Lambda service at run time; the wildcard is scoped to this function\'s own log group.',
  });

  const fn = new RouterFunction(scope, 'Handler', {
    role,
    architecture,
    memorySize: settings.memorySize,
    timeout: settings.timeout,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    description: `LLM Gateway router ${settings.routerName} (${settings.code}${settings.globalRouting ? ', global routing' : ''})`,
    environment: buildRouterEnvironment({
      region: settings.code,
      endpoint: settings.endpoint,
      customEndpoint: settings.customEndpoint,
      globalRouting: settings.globalRouting,
      transcriptAccess: settings.transcriptAccess,
      allowedModels: joinModels(settings.allowedModels),
      apiKeySecretArn: secret.secretArn,
      maxBodyBytes: settings.maxBodyBytes,
      upstreamTimeoutMs: settings.upstreamTimeout.toMilliseconds(),
      metricsNamespace: settings.metricsNamespace,
      serviceName: settings.routerName,
      egressProxy: settings.egressProxy,
    }),
  });
  secret.grantRead(fn);
  return fn;
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
