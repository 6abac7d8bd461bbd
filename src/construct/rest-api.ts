import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bindApiGatewayAccount } from './api-gateway-account';
import { RouterAuthorizationType } from './authorization';
import { acknowledgeRules } from './nag';
import { RouterSettings } from './settings';
import { apiRoutes, gatewayErrorBody, GATEWAY_ERROR_TYPES } from '../contract/api-contract';

/**
 * The router's REST API: a regional (or private) API whose stage is
 * throttled and writes JSON access logs, and whose own errors (auth,
 * throttling, validation) are OpenAI-shaped, so SDK callers see one error
 * format whoever answers.
 */
export function createRestApi(
  scope: Construct,
  settings: RouterSettings,
  accessLogGroup: logs.ILogGroup,
  domainName: apigw.DomainNameOptions | undefined,
): apigw.RestApi {
  const deployment = settings.deployment;
  const vpcEndpoints = deployment.vpcEndpoints;
  const api = new apigw.RestApi(scope, 'Api', {
    restApiName: settings.routerName,
    description: `OpenAI-compatible entry point to the AssemblyAI LLM Gateway (${settings.code})`,
    ...(vpcEndpoints ? {
      endpointConfiguration: { types: [apigw.EndpointType.PRIVATE], vpcEndpoints },
      policy: privateApiPolicy(vpcEndpoints, settings.authorization.type),
    } : { endpointTypes: [apigw.EndpointType.REGIONAL] }),
    disableExecuteApiEndpoint: deployment.disableExecuteApiEndpoint || undefined,
    // The account setting is the app's, one per stack (api-gateway-account.ts), not one per API.
    cloudWatchRole: false,
    domainName,
    deployOptions: {
      stageName: settings.stageName,
      throttlingRateLimit: settings.throttlingRateLimit,
      throttlingBurstLimit: settings.throttlingBurstLimit,
      accessLogDestination: new apigw.LogGroupLogDestination(accessLogGroup),
      accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
      tracingEnabled: deployment.tracing,
    },
  });
  addOpenAiGatewayResponses(api);
  // The stage writes access logs: it needs the account's logging role, created by this router or another.
  bindApiGatewayAccount(scope, api.deploymentStage, deployment.cloudWatchRole);
  return api;
}

/**
 * A private API's resource policy: no invocation except through the given
 * VPC endpoints. With IAM authorization the callers' IAM policies decide
 * (an Allow to every principal here would let any signed caller of the
 * account in, whatever its IAM policy says); otherwise every caller that
 * comes through the endpoints is allowed, and authorization still applies.
 */
function privateApiPolicy(vpcEndpoints: ec2.IInterfaceVpcEndpoint[], authorization: RouterAuthorizationType): iam.PolicyDocument {
  const sourceVpce = vpcEndpoints.map((e) => e.vpcEndpointId);
  const statements = [new iam.PolicyStatement({
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['execute-api:Invoke'],
    resources: ['execute-api:/*'],
    conditions: { StringNotEquals: { 'aws:SourceVpce': sourceVpce } },
  })];
  if (authorization !== RouterAuthorizationType.IAM) {
    statements.push(new iam.PolicyStatement({
      principals: [new iam.AnyPrincipal()],
      actions: ['execute-api:Invoke'],
      resources: ['execute-api:/*'],
      conditions: { StringEquals: { 'aws:SourceVpce': sourceVpce } },
    }));
  }
  return new iam.PolicyDocument({ statements });
}

/**
 * The routes, all proxied to the handler: POST /v1/chat/completions (its
 * body checked by API Gateway's validator first) and GET /v1/models; with
 * transcript access also POST /v1/understanding (validated too).
 */
export function addRoutes(
  api: apigw.RestApi,
  integration: apigw.Integration,
  methodOptions: apigw.MethodOptions,
  transcriptAccess: boolean,
): apigw.Method[] {
  const validator = api.addRequestValidator('RequestValidator', { validateRequestBody: true, validateRequestParameters: true });
  // The routes and the request schema are shared with the local emulator,
  // which answers as this API does (src/contract/api-contract.ts).
  return apiRoutes(transcriptAccess).map((route) => {
    if (!route.schema) return resourceAt(api.root, route.path).addMethod(route.method, integration, methodOptions);
    const requestModel = api.addModel(route.modelName ?? 'RequestModel', {
      contentType: 'application/json',
      // The enums' values are the JSON schema's own strings.
      schema: route.schema as apigw.JsonSchema,
    });
    return resourceAt(api.root, route.path).addMethod(route.method, integration, {
      ...methodOptions,
      requestValidator: validator,
      requestModels: { 'application/json': requestModel },
    });
  });
}

/** The stage's cdk-nag findings the router's design explains. */
export function acknowledgeStageRules(api: apigw.RestApi, hasWebAcl: boolean): void {
  const rules: Record<string, string> = {
    'AwsSolutions-APIG6': 'Execution logging (which can record request and response bodies, that is prompts and answers) is off by design; the stage writes JSON access logs (which, like execution logs, need the account\'s API Gateway CloudWatch Logs role: see cloudWatchRole) and the handler logs one line per request without prompt text.',
  };
  if (!hasWebAcl) {
    rules['AwsSolutions-APIG3'] = 'A WAF web ACL is an account-level decision: pass webAclArn to associate one. Callers are authenticated and throttled at the stage.';
  }
  acknowledgeRules(api.deploymentStage, rules);
}

/** The resource for a path such as /v1/models, creating what is missing. */
function resourceAt(root: apigw.IResource, path: string): apigw.IResource {
  let resource = root;
  for (const part of path.split('/').filter(Boolean)) {
    resource = resource.getResource(part) ?? resource.addResource(part);
  }
  return resource;
}

/** The JSON access log line: ids, caller identity, status and timings; never bodies. */
const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTimeEpoch',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integration.latency',
  integrationStatus: '$context.integration.status',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  caller: '$context.identity.caller',
  user: '$context.identity.user',
  userArn: '$context.identity.userArn',
  apiKeyId: '$context.identity.apiKeyId',
  principalId: '$context.authorizer.principalId',
  errorMessage: '$context.error.message',
  errorType: '$context.error.responseType',
};

/** API Gateway's own errors (auth, throttling, validation) in the OpenAI error shape. */
function addOpenAiGatewayResponses(api: apigw.RestApi): void {
  // messageString is already a quoted JSON string: it replaces the quotes too.
  const body = (type: string) => JSON.stringify(gatewayErrorBody('$context.error.messageString', type, '$context.error.responseType'))
    .replace('"$context.error.messageString"', '$context.error.messageString');
  for (const { id, responseType, errorType } of GATEWAY_ERROR_TYPES) {
    api.addGatewayResponse(id, {
      type: apigw.ResponseType.of(responseType),
      templates: { 'application/json': body(errorType) },
    });
  }
}
