import { App, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EU_ENV, functionEnv, newStack, routerIn, US_ENV, warnings } from './helpers';
import { GatewayRegion, RouterAuthorization } from '../../src';

describe('LlmGatewayRouter defaults', () => {
  const { stack, secret } = newStack();
  const router = routerIn(stack, secret, 'Router');
  const template = Template.fromStack(stack);

  test('a REST API with POST /v1/chat/completions and GET /v1/models on a streaming Lambda proxy', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    const methods = template.findResources('AWS::ApiGateway::Method');
    const pairs = Object.values(methods).map((m: any) => m.Properties.HttpMethod);
    expect(pairs.sort()).toEqual(['GET', 'POST']);
    for (const m of Object.values(methods) as any[]) {
      expect(m.Properties.Integration.Type).toBe('AWS_PROXY');
      expect(m.Properties.Integration.ResponseTransferMode).toBe('STREAM');
      expect(JSON.stringify(m.Properties.Integration.Uri)).toContain('response-streaming-invocations');
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
    }
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'completions' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'models' });
  });

  test('the POST method validates the body against a model requiring a string "model"', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      ContentType: 'application/json',
      Schema: Match.objectLike({ required: ['model'], properties: { model: { type: 'string', minLength: 1 }, stream: { type: 'boolean' } } }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', RequestValidatorId: Match.anyValue(), RequestModels: { 'application/json': Match.anyValue() } });
  });

  test('a stage with JSON access logs and throttling', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, HttpMethod: '*', ResourcePath: '/*' })]),
    });
    const format = JSON.parse(Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties.AccessLogSetting.Format);
    expect(Object.keys(format)).toEqual(expect.arrayContaining(['requestId', 'status', 'resourcePath', 'responseLatency', 'integrationLatency', 'apiKeyId']));
  });

  test('API Gateway\'s own errors use the OpenAI error shape', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_4XX',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error":\\{"message":\\$context.error.messageString,"type":"invalid_request_error"') },
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'THROTTLED', ResponseTemplates: { 'application/json': Match.stringLikeRegexp('rate_limit_error') } });
  });

  test('an arm64 Node.js 22+ function with 256 MB, 5 minutes, JSON logs in a retained log group', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 300,
      Handler: 'index.handler',
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    });
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as any;
    expect(Number(/nodejs(\d+)\.x/.exec(fn.Properties.Runtime)![1])).toBeGreaterThanOrEqual(22);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.allResources('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain' });
  });

  test('the integration may run as long as the function (streaming allows up to 15 minutes)', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', Integration: Match.objectLike({ TimeoutInMillis: 300_000 }) });
  });

  test('the environment carries the region choice and the global flag, never the key', () => {
    const env = functionEnv(template);
    expect(env.LLM_GATEWAY_REGION).toBe('us');
    expect(env.LLM_GATEWAY_ENDPOINT).toBe('https://llm-gateway.assemblyai.com');
    expect(env.LLM_GATEWAY_GLOBAL_ROUTING).toBe('false');
    expect(env.LLM_GATEWAY_TRANSCRIPT_ACCESS).toBe('false');
    // Literal facts from the gateway docs, not the catalog under test: the US endpoint serves Claude, Gemini, GPT, Qwen and Kimi.
    const defaults = env.LLM_GATEWAY_ALLOWED_MODELS.split(',');
    expect(defaults).toEqual(expect.arrayContaining(['claude-sonnet-4-6', 'claude-opus-4-7', 'gemini-2.5-flash', 'gemini-2.5-pro', 'gpt-5', 'gpt-4.1', 'qwen3-32B']));
    for (const id of defaults) expect(id).toMatch(/^(claude-|gemini-|gpt-|qwen|kimi-)/);
    expect(Object.keys(env.LLM_GATEWAY_API_KEY_SECRET_ARN)).toEqual(['Ref']);
    expect(env.LLM_GATEWAY_API_KEY_SECRET_ARN.Ref).toMatch(/^GatewayKey/);
    expect(env.LLM_GATEWAY_CUSTOM_ENDPOINT).toBeUndefined();
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('LlmGatewayRouter');
    expect(env.POWERTOOLS_SERVICE_NAME).toBe(router.routerName);
  });

  test('the function role can write its own logs and read this one secret, nothing else', () => {
    const roles = template.findResources('AWS::IAM::Role');
    expect(Object.keys(roles)).toHaveLength(1);
    const role = Object.values(roles)[0] as any;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    template.resourceCountIs('AWS::IAM::Policy', 1);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.exact([
          { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^RouterHandlerLogs'), 'Arn'] }, ':*']] } },
          { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: Match.stringLikeRegexp('^GatewayKey') } },
        ]),
      },
    });
  });

  test('url and openAiBaseUrl point at the stage', () => {
    expect(Stack.of(router).resolve(router.openAiBaseUrl)).toEqual(expect.objectContaining({ 'Fn::Join': expect.any(Array) }));
    const parts = Stack.of(router).resolve(router.openAiBaseUrl)['Fn::Join'][1];
    expect(parts.at(-2)).toEqual({ Ref: expect.stringMatching(/^RouterApiDeploymentStageprod/) });
    expect(parts.at(-1)).toBe('/v1');
    expect(router.region).toBe(GatewayRegion.US);
  });
});

describe('LlmGatewayRouter props', () => {
  test('EU, custom sizes, timeouts, names and retention reach the template', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    routerIn(stack, secret, 'Eu', {
      region: GatewayRegion.EU,
      allowedModels: ['claude-sonnet-4-6', 'gemini-2.5-flash'],
      throttlingRateLimit: 5,
      throttlingBurstLimit: 10,
      timeout: Duration.minutes(10),
      upstreamTimeout: Duration.seconds(90),
      memorySize: 1024,
      architecture: lambda.Architecture.X86_64,
      maxRequestBodySize: Size.kibibytes(256),
      logRetention: logs.RetentionDays.ONE_YEAR,
      metricsNamespace: 'Platform/Llm',
      routerName: 'platform-eu',
      stageName: 'live',
    });
    const template = Template.fromStack(stack);
    const env = functionEnv(template);
    expect(env).toMatchObject({
      LLM_GATEWAY_REGION: 'eu',
      LLM_GATEWAY_ENDPOINT: 'https://llm-gateway.eu.assemblyai.com',
      LLM_GATEWAY_GLOBAL_ROUTING: 'false',
      LLM_GATEWAY_ALLOWED_MODELS: 'claude-sonnet-4-6,gemini-2.5-flash',
      LLM_GATEWAY_MAX_BODY_BYTES: String(256 * 1024),
      LLM_GATEWAY_UPSTREAM_TIMEOUT_MS: '90000',
      POWERTOOLS_METRICS_NAMESPACE: 'Platform/Llm',
      POWERTOOLS_SERVICE_NAME: 'platform-eu',
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['x86_64'], MemorySize: 1024, Timeout: 600 });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { Name: 'platform-eu' });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 })]),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('transcriptAccess is an explicit opt-in handed to the handler', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { transcriptAccess: true });
    expect(router.transcriptAccess).toBe(true);
    expect(functionEnv(Template.fromStack(stack)).LLM_GATEWAY_TRANSCRIPT_ACCESS).toBe('true');
  });

  test('global routing sets the flag for a US router', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Global', { globalRouting: true });
    expect(functionEnv(Template.fromStack(stack)).LLM_GATEWAY_GLOBAL_ROUTING).toBe('true');
  });

  test('upstreamTimeout defaults below a short function timeout', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Short', { timeout: Duration.seconds(30) });
    expect(functionEnv(Template.fromStack(stack)).LLM_GATEWAY_UPSTREAM_TIMEOUT_MS).toBe('20000');
  });

  test('a custom endpoint is an explicit opt-in, flagged to the handler and warned about on EU', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const router = routerIn(stack, secret, 'Proxy', { region: GatewayRegion.EU, customEndpoint: 'https://llm-egress.internal.example.com' });
    const env = functionEnv(Template.fromStack(stack));
    expect(env.LLM_GATEWAY_ENDPOINT).toBe('https://llm-egress.internal.example.com');
    expect(env.LLM_GATEWAY_CUSTOM_ENDPOINT).toBe('true');
    expect(warnings(stack).join('\n')).toMatch(/EU residency now depends on where that endpoint sends data/);
    expect(router.region).toBe(GatewayRegion.EU);
  });

  test('removalPolicy applies to both log groups; logs are retained by default', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Kept');
    routerIn(stack, secret, 'Dropped', { removalPolicy: RemovalPolicy.DESTROY });
    const groups = Template.fromStack(stack).findResources('AWS::Logs::LogGroup');
    const policyOf = (prefix: string) => Object.entries(groups)
      .filter(([id]) => id.startsWith(prefix))
      .map(([, g]: [string, any]) => g.DeletionPolicy);
    expect(policyOf('Kept')).toEqual(['Retain', 'Retain']);
    expect(policyOf('Dropped')).toEqual(['Delete', 'Delete']);
  });

  test('a web ACL is associated with the stage when given', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Waf', { webAclArn: 'arn:aws:wafv2:us-east-1:111111111111:regional/webacl/platform/abc' });
    Template.fromStack(stack).hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: 'arn:aws:wafv2:us-east-1:111111111111:regional/webacl/platform/abc',
    });
  });

  test('a custom domain is passed to the REST API', () => {
    const { stack, secret } = newStack();
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc');
    routerIn(stack, secret, 'Domain', { domainName: { domainName: 'llm.example.com', certificate } });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::DomainName', { DomainName: 'llm.example.com' });
  });
});

describe('a secret encrypted with a customer-managed key', () => {
  test('the function may decrypt with that key, through Secrets Manager only', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'SecretKey', { enableKeyRotation: true });
    const secret = new secretsmanager.Secret(stack, 'Encrypted', { encryptionKey: key });
    routerIn(stack, secret, 'Router');
    const template = Template.fromStack(stack);
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))[0] as any;
    const statements = policy.Properties.PolicyDocument.Statement;
    const actions: string[] = statements.flatMap((s: any) => ([] as string[]).concat(s.Action));
    expect(actions.sort()).toEqual(['kms:Decrypt', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'].sort());
    // On the role: decrypt with this key only, and only through Secrets Manager.
    const roleDecrypt = statements.find((st: any) => st.Action === 'kms:Decrypt');
    expect(roleDecrypt.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^SecretKey/), 'Arn'] });
    expect(roleDecrypt.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } });
    // A key in the same stack also names the role in its key policy, conditioned on the Secrets Manager service.
    const keyPolicy = (Object.values(template.findResources('AWS::KMS::Key'))[0] as any).Properties.KeyPolicy.Statement;
    const decrypt = keyPolicy.find((st: any) => ([] as string[]).concat(st.Action).includes('kms:Decrypt') && JSON.stringify(st.Principal).includes('HandlerRole'));
    expect(decrypt).toBeDefined();
    expect(JSON.stringify(decrypt.Condition)).toContain('secretsmanager');
  });
});

describe('authorization', () => {
  test('grantInvoke lets an IAM principal call both routes on the stage', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router');
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    const grant = router.grantInvoke(caller);
    expect(grant.success).toBe(true);
    const template = Template.fromStack(stack);
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p: any) => JSON.stringify(p.Properties.Roles).includes('Caller')) as any;
    const statement = policy.Properties.PolicyDocument.Statement[0];
    expect(statement.Action).toBe('execute-api:Invoke');
    const arns = JSON.stringify(statement.Resource);
    expect(arns).toContain('DeploymentStageprod');
    expect(arns).toContain('"/POST/v1/chat/completions"');
    expect(arns).toContain('"/GET/v1/models"');
    expect(statement.Resource).toHaveLength(2);
  });

  test('grantInvoke to a role in a stack the router depends on makes no dependency cycle: the grant lives with the router', () => {
    const app = new App();
    const shared = new Stack(app, 'Shared', { env: US_ENV });
    const secret = new secretsmanager.Secret(shared, 'GatewayKey');
    const caller = new iam.Role(shared, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    const stack = new Stack(app, 'Router', { env: US_ENV });
    const router = routerIn(stack, secret, 'Router');
    expect(router.grantInvoke(caller).success).toBe(true);
    // Synth fails with "would create a cyclic reference" if the grant went into Shared.
    const assembly = app.synth();
    expect(assembly.getStackByName('Router').dependencies.map((d) => d.id)).toContain('Shared');
    expect(assembly.getStackByName('Shared').dependencies.map((d) => d.id)).not.toContain('Router');
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')) as any[];
    const invoke = policies.find((p) => p.Properties.PolicyDocument.Statement.some((st: any) => st.Action === 'execute-api:Invoke'));
    expect(JSON.stringify(invoke.Properties.Roles)).toContain('Fn::ImportValue');
    expect(JSON.stringify(invoke.Properties.PolicyDocument.Statement[0].Resource)).toContain('"/POST/v1/chat/completions"');
    expect(Object.values(Template.fromStack(shared).findResources('AWS::IAM::Policy'))).toHaveLength(0);
  });

  test('apiKey() requires keys on both methods and creates a usage plan for addApiKey', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Keys', { authorization: RouterAuthorization.apiKey({ quota: { limit: 1000, period: apigw.Period.DAY } }) });
    router.addApiKey('TeamA');
    const template = Template.fromStack(stack);
    template.allResourcesProperties('AWS::ApiGateway::Method', { ApiKeyRequired: true, AuthorizationType: 'NONE' });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Quota: { Limit: 1000, Period: 'DAY' } });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
  });

  test('addApiKey without apiKey() authorization is an error that names the fix', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Iam');
    expect(() => router.addApiKey('X')).toThrow(/authorization: IAM .*Fix: set authorization: RouterAuthorization.apiKey\(\)/);
  });

  test('cognito() puts a user pool authorizer on both methods', () => {
    const { stack, secret } = newStack();
    const pool = new cognito.UserPool(stack, 'Pool');
    routerIn(stack, secret, 'Cognito', { authorization: RouterAuthorization.cognito([pool], { scopes: ['llm/invoke'] }) });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    template.allResourcesProperties('AWS::ApiGateway::Method', { AuthorizationType: 'COGNITO_USER_POOLS', AuthorizationScopes: ['llm/invoke'] });
  });

  test('one cognito() value serves two routers, each with its own authorizer', () => {
    const { stack, secret } = newStack();
    const pool = new cognito.UserPool(stack, 'Pool');
    const auth = RouterAuthorization.cognito([pool]);
    routerIn(stack, secret, 'A', { authorization: auth });
    routerIn(stack, secret, 'B', { authorization: auth });
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Authorizer', 2);
  });

  test('custom() uses the given authorizer', () => {
    const { stack, secret } = newStack();
    const fn = new lambda.Function(stack, 'AuthFn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
    const authorizer = new apigw.TokenAuthorizer(stack, 'Tokens', { handler: fn });
    routerIn(stack, secret, 'Custom', { authorization: RouterAuthorization.custom(authorizer) });
    Template.fromStack(stack).allResourcesProperties('AWS::ApiGateway::Method', { AuthorizationType: 'CUSTOM' });
  });

  test('none() is allowed with a synth warning', () => {
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Open', { authorization: RouterAuthorization.none() });
    Template.fromStack(stack).allResourcesProperties('AWS::ApiGateway::Method', { AuthorizationType: 'NONE' });
    expect(warnings(stack).join('\n')).toMatch(/lets anyone who finds the URL spend your LLM Gateway credit/);
  });
});

describe('composition', () => {
  test('a US and an EU router in one stack: no clashes, separate names, secrets read by both', () => {
    const { stack, secret } = newStack({ env: EU_ENV });
    const us = routerIn(stack, secret, 'Us');
    const eu = routerIn(stack, secret, 'Eu', { region: GatewayRegion.EU });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 2);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    expect(us.routerName).not.toEqual(eu.routerName);
    expect(functionEnv(template, `router ${us.routerName} `).LLM_GATEWAY_REGION).toBe('us');
    expect(functionEnv(template, `router ${eu.routerName} `).LLM_GATEWAY_REGION).toBe('eu');
    const usMetric = stack.resolve(us.metricRequests().toMetricConfig().metricStat!.dimensions);
    const euMetric = stack.resolve(eu.metricRequests().toMetricConfig().metricStat!.dimensions);
    expect(usMetric).toEqual([{ name: 'service', value: us.routerName }]);
    expect(euMetric).toEqual([{ name: 'service', value: eu.routerName }]);
    expect(usMetric).not.toEqual(euMetric);
  });

  test('routers in two stacks of one app synthesize independently', () => {
    const { app, stack, secret } = newStack();
    const euStack = new Stack(app, 'EuPlatform', { env: EU_ENV });
    const euSecret = new secretsmanager.Secret(euStack, 'Key');
    routerIn(stack, secret, 'Router');
    routerIn(euStack, euSecret, 'Router', { region: GatewayRegion.EU });
    const assembly = app.synth();
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['EuPlatform', 'Platform']);
    expect(functionEnv(Template.fromStack(euStack)).LLM_GATEWAY_REGION).toBe('eu');
  });
});
