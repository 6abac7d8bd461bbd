import { CfnElement, Fn, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeRules } from './nag';
import { RouterSettings } from './settings';
import { propError } from './validation';
import { buildRouterEnvironment } from '../catalog/env';
import { encodeModelRules } from '../catalog/rules';
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

  const models = settings.allowedModels;
  // The catalog's rules for exactly the validated models: what the handler enforces.
  const modelRules = encodeModelRules(settings.catalog, settings.code, models.filter((id) => !Token.isUnresolved(id)));
  checkEnvironmentSize(scope, models, modelRules);
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
      // Entries that are tokens resolve at deploy time, so CloudFormation joins them.
      allowedModels: Token.isUnresolved(models.join(',')) ? Fn.join(',', models) : models.join(','),
      modelRules,
      apiKeySecretArn: secret.secretArn,
      maxBodyBytes: settings.maxBodyBytes,
      upstreamTimeoutMs: settings.upstreamTimeout.toMilliseconds(),
      metricsNamespace: settings.metricsNamespace,
      serviceName: settings.routerName,
    }),
  });
  secret.grantRead(fn);
  return fn;
}

/** Lambda allows 4 KB of environment in all; the model list and its rules are the part that grows. */
function checkEnvironmentSize(scope: Construct, models: string[], modelRules: string): void {
  const bytes = Buffer.byteLength(models.join(','), 'utf8') + Buffer.byteLength(modelRules, 'utf8');
  if (bytes > 3_000) {
    throw propError(scope, 'allowedModels', `(${models.length} models)`, `need ${bytes} bytes of the function's 4 KB environment for the allow-list and its rules`,
      'list fewer models in allowedModels');
  }
}
