import { Annotations, Aws, CfnElement, CfnRule, Duration, Fn, Names, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { RouterAuthorization, RouterAuthorizationType } from './authorization';
import { acknowledgeRules } from './nag';
import { RouterAlarmOptions, RouterAlarms } from './observability';
import { GatewayRegion, MetricRegion, regionCode } from './region';
import { checkGlobalRoutingUseful, propError, validateAllowedModels } from './validation';
import { CHAT_COMPLETIONS_PATH, EU_MEMBER_STATE_AWS_REGIONS, GATEWAY_ENDPOINTS, MODELS_PATH, RegionCode } from '../catalog/catalog';
import { DEFAULTS, ENV } from '../catalog/env';
import { providerOf } from '../catalog/lookup';
import { DIMENSION, METRIC } from '../catalog/metrics-schema';
import { RouterFunction } from '../handler/router-function';

/**
 * Properties of an `LlmGatewayRouter`.
 */
export interface LlmGatewayRouterProps {
  /**
   * The secret whose string value is the LLM Gateway API key. Only the
   * router's function can read it; the key never appears in the template,
   * an environment variable or a log line.
   */
  readonly apiKeySecret: secretsmanager.ISecret;

  /**
   * The gateway endpoint to use. `GatewayRegion.EU` keeps request and
   * response data inside the EU and requires the stack to be deployed in an
   * EU member-state AWS region.
   * @default GatewayRegion.US
   */
  readonly region?: GatewayRegion;

  /**
   * Send requests with `model_region: "global"` for providers that accept it
   * (lower cost, no residency). US routers only.
   * @default false
   */
  readonly globalRouting?: boolean;

  /**
   * Exact, case-sensitive model ids callers may use (including in `fallbacks`).
   * @default - every catalog model the region's endpoint serves
   */
  readonly allowedModels?: string[];

  /**
   * Who may call the router.
   * @default RouterAuthorization.iam()
   */
  readonly authorization?: RouterAuthorization;

  /**
   * Steady-state requests per second across all callers (stage throttling).
   * @default 50
   */
  readonly throttlingRateLimit?: number;

  /**
   * Burst of requests above the rate (stage throttling).
   * @default 100
   */
  readonly throttlingBurstLimit?: number;

  /**
   * The function's timeout: the longest a (streamed) answer may take.
   * At most 15 minutes, API Gateway's limit for a streamed response.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * How long the router waits for the gateway's response headers, and for
   * the next chunk of a stream. Must be shorter than `timeout`.
   * @default - 2 minutes, or 10 seconds less than `timeout` if that is shorter
   */
  readonly upstreamTimeout?: Duration;

  /**
   * The function's memory (which also sets its CPU share).
   * @default 512
   */
  readonly memorySize?: number;

  /**
   * The function's instruction set.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;

  /**
   * Largest request body the router accepts; larger ones get HTTP 413.
   * @default Size.mebibytes(1)
   */
  readonly maxRequestBodySize?: Size;

  /**
   * Retention of the function's logs and the API's access logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * CloudWatch namespace of the router's metrics.
   * @default 'LlmGatewayRouter'
   */
  readonly metricsNamespace?: string;

  /**
   * The router's name: the REST API's name and the `service` dimension of
   * its metrics, which keeps several routers' metrics apart.
   * @default - a name unique to this construct in the app
   */
  readonly routerName?: string;

  /**
   * The API Gateway stage name, the first segment of the URL path.
   * @default 'prod'
   */
  readonly stageName?: string;

  /**
   * A custom domain for the API (see also `restApi.addDomainName`).
   * @default - the execute-api endpoint only
   */
  readonly domainName?: apigw.DomainNameOptions;

  /**
   * AWS regions outside the EU where an EU router may nevertheless be
   * deployed, for teams with their own reasons (for example eu-west-2,
   * London, or eu-central-2, Zurich). The router still calls only the EU
   * endpoint; this widens where its API Gateway and Lambda may run.
   * @default - EU member-state regions only
   */
  readonly additionalDeploymentRegions?: string[];

  /**
   * An upstream base URL other than the region's gateway endpoint, such as a
   * private egress proxy. An explicit opt-in: with it, residency depends on
   * where that endpoint sends data.
   * @default - the region's gateway endpoint
   */
  readonly customEndpoint?: string;

  /**
   * A WAF web ACL to associate with the API stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;
}

/**
 * Options for the router's metrics.
 */
export interface RouterMetricOptions extends cloudwatch.MetricOptions {
  /**
   * The `Region` dimension to read.
   * @default - the router's own region (us or eu)
   */
  readonly metricRegion?: MetricRegion;

  /**
   * A model id, for the per-model dimension set.
   * @default - all models
   */
  readonly model?: string;
}

/**
 * An API Gateway REST API and a streaming Lambda proxy in front of the
 * AssemblyAI LLM Gateway, enforcing a model allow-list and data residency.
 *
 * @example
 * declare const secret: secretsmanager.ISecret;
 * const router = new LlmGatewayRouter(this, 'EuRouter', {
 *   apiKeySecret: secret,
 *   region: GatewayRegion.EU,
 *   allowedModels: ['claude-sonnet-4-6', 'gemini-2.5-flash'],
 * });
 */
export class LlmGatewayRouter extends Construct {
  /** The API's invoke URL (the stage root), ending in '/'. */
  public readonly url: string;
  /** The OpenAI-compatible base URL for clients (`url` + 'v1'). */
  public readonly openAiBaseUrl: string;
  /** The REST API. */
  public readonly restApi: apigw.RestApi;
  /** The router's Lambda function. */
  public readonly handler: lambda.Function;
  /** The gateway region the router sends requests to. */
  public readonly region: GatewayRegion;
  /** Whether global routing is on. */
  public readonly globalRouting: boolean;
  /** The router's name: the `service` dimension of its metrics. */
  public readonly routerName: string;
  /** The CloudWatch namespace of its metrics. */
  public readonly metricsNamespace: string;
  /** The model ids callers may use. */
  public readonly allowedModels: string[];
  /** The usage plan, when authorization is by API key. */
  public readonly usagePlan?: apigw.UsagePlan;
  /** The function's log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The API's access log group. */
  public readonly accessLogGroup: logs.ILogGroup;

  private readonly authorization: RouterAuthorization;
  private readonly methods: apigw.Method[];

  constructor(scope: Construct, id: string, props: LlmGatewayRouterProps) {
    super(scope, id);

    this.region = props.region ?? GatewayRegion.US;
    const code = regionCode(this.region);
    this.globalRouting = props.globalRouting ?? false;
    this.authorization = props.authorization ?? RouterAuthorization.iam();
    this.metricsNamespace = props.metricsNamespace ?? DEFAULTS.metricsNamespace;
    this.routerName = props.routerName ?? Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    const stageName = props.stageName ?? 'prod';

    // --- synth-time policy -------------------------------------------------
    if (this.globalRouting && this.region === GatewayRegion.EU) {
      throw propError(this, 'globalRouting', 'true', 'is not allowed with region: GatewayRegion.EU, because global routing sends requests to providers\' non-regional endpoints and would abandon EU data residency',
        'remove globalRouting from the EU router, or use GatewayRegion.US for traffic without residency needs');
    }
    const validated = validateAllowedModels(this, code, props.allowedModels);
    this.allowedModels = validated.models;
    if (this.globalRouting) checkGlobalRoutingUseful(this, validated);
    if (code === 'eu') this.enforceEuDeployment(props.additionalDeploymentRegions ?? []);
    const endpoint = this.resolveEndpoint(code, props.customEndpoint);
    const { timeout, upstreamTimeout } = this.resolveTimeouts(props.timeout, props.upstreamTimeout);
    const maxBodyBytes = this.resolveMaxBody(props.maxRequestBodySize);
    this.validateNumbers(props);
    if (this.authorization.type === RouterAuthorizationType.NONE) {
      Annotations.of(this).addWarningV2('cdk-llm-gateway-router:noAuthorization',
        'authorization: RouterAuthorization.none() lets anyone who finds the URL spend your LLM Gateway credit. Prefer iam(), apiKey() or cognito().');
    }

    // --- function ------------------------------------------------------------
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.logGroup = new logs.LogGroup(this, 'HandlerLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    // An explicit role instead of the managed basic-execution policy: the
    // function can write to its own log group and read its one secret.
    const role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${this.routerName} LLM Gateway router`,
    });
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [`${this.logGroup.logGroupArn}:*`],
    }));
    const logGroupId = Stack.of(this).getLogicalId(this.logGroup.node.defaultChild as CfnElement);
    acknowledgeRules(role, {
      [`AwsSolutions-IAM5[Resource::<${logGroupId}.Arn>:*]`]: 'Log stream names are chosen by the Lambda service at run time; the wildcard is scoped to this function\'s own log group.',
    });

    this.handler = new RouterFunction(this, 'Handler', {
      role,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      description: `LLM Gateway router ${this.routerName} (${code}${this.globalRouting ? ', global routing' : ''})`,
      environment: {
        [ENV.REGION]: code,
        [ENV.ENDPOINT]: endpoint,
        [ENV.GLOBAL_ROUTING]: String(this.globalRouting),
        [ENV.ALLOWED_MODELS]: Token.isUnresolved(this.allowedModels.join(',')) ? Fn.join(',', this.allowedModels) : this.allowedModels.join(','),
        [ENV.API_KEY_SECRET_ARN]: props.apiKeySecret.secretArn,
        [ENV.MAX_BODY_BYTES]: String(maxBodyBytes),
        [ENV.UPSTREAM_TIMEOUT_MS]: String(upstreamTimeout.toMilliseconds()),
        [ENV.METRICS_NAMESPACE]: this.metricsNamespace,
        [ENV.SERVICE_NAME]: this.routerName,
        ...(props.customEndpoint !== undefined ? { [ENV.CUSTOM_ENDPOINT]: 'true' } : {}),
      },
    });
    props.apiKeySecret.grantRead(this.handler);

    // --- API ---------------------------------------------------------------
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    this.restApi = new apigw.RestApi(this, 'Api', {
      restApiName: this.routerName,
      description: `OpenAI-compatible entry point to the AssemblyAI LLM Gateway (${code})`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: false,
      domainName: props.domainName,
      deployOptions: {
        stageName,
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
        tracingEnabled: false,
      },
    });
    addOpenAiGatewayResponses(this.restApi);

    const validator = this.restApi.addRequestValidator('RequestValidator', { validateRequestBody: true, validateRequestParameters: true });
    const requestModel = this.restApi.addModel('ChatCompletionRequest', {
      contentType: 'application/json',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        type: apigw.JsonSchemaType.OBJECT,
        required: ['model'],
        properties: {
          model: { type: apigw.JsonSchemaType.STRING, minLength: 1 },
          stream: { type: apigw.JsonSchemaType.BOOLEAN },
        },
      },
    });

    const integration = new apigw.LambdaIntegration(this.handler, {
      proxy: true,
      responseTransferMode: apigw.ResponseTransferMode.STREAM,
      // In STREAM mode the integration may run up to 15 minutes: as long as the function.
      timeout,
    });
    const methodOptions = this.authorization._methodOptions(this);
    this.methods = [
      resourceAt(this.restApi.root, CHAT_COMPLETIONS_PATH).addMethod('POST', integration, {
        ...methodOptions,
        requestValidator: validator,
        requestModels: { 'application/json': requestModel },
      }),
      resourceAt(this.restApi.root, MODELS_PATH).addMethod('GET', integration, methodOptions),
    ];

    if (this.authorization.type === RouterAuthorizationType.API_KEY) {
      const options = this.authorization.apiKeyOptions ?? {};
      this.usagePlan = this.restApi.addUsagePlan('UsagePlan', {
        name: `${this.routerName}-callers`,
        throttle: options.throttle,
        quota: options.quota,
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
    }
    if (props.webAclArn !== undefined) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.restApi.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    }
    this.acknowledgeDesignChoices(props.webAclArn !== undefined);

    this.url = this.restApi.url;
    this.openAiBaseUrl = `${this.restApi.url}v1`;
  }

  /**
   * Lets an IAM principal call the router (both routes, this stage).
   * Only meaningful with IAM authorization.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    if (this.authorization.type !== RouterAuthorizationType.IAM) {
      Annotations.of(this).addWarningV2('cdk-llm-gateway-router:grantWithoutIam',
        `grantInvoke() has no effect on callers unless authorization is RouterAuthorization.iam() (it is ${this.authorization.type}).`);
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: this.methods.map((m) => m.methodArn),
    });
  }

  /**
   * Issues an API key for a caller and adds it to the router's usage plan.
   * Requires `RouterAuthorization.apiKey()`.
   */
  public addApiKey(id: string, options: apigw.ApiKeyOptions = {}): apigw.IApiKey {
    if (!this.usagePlan) {
      throw propError(this, 'authorization', this.authorization.type, 'does not use API keys, so addApiKey() has nothing to attach the key to',
        'set authorization: RouterAuthorization.apiKey() on this router');
    }
    const key = this.restApi.addApiKey(id, options);
    this.usagePlan.addApiKey(key);
    return key;
  }

  /**
   * A metric the router's handler emits, in its namespace, for one `Region`
   * dimension value and optionally one model.
   */
  public metric(metricName: string, props: RouterMetricOptions = {}): cloudwatch.Metric {
    const { metricRegion, model, ...options } = props;
    const extra: Record<string, string> = {};
    if (model !== undefined) {
      const provider = providerOf(model);
      if (!provider) {
        throw propError(this, 'model', JSON.stringify(model), 'matches no known provider, so no metric has it as a dimension', 'use one of the router\'s allowedModels');
      }
      extra[DIMENSION.PROVIDER] = provider.id;
      extra[DIMENSION.MODEL] = model;
    }
    return this._metricWithDimensions(metricName, metricRegion, extra, options);
  }

  /**
   * A metric of one of the handler's dimension sets: (service, Region) plus `extra`.
   * @internal
   */
  public _metricWithDimensions(
    metricName: string,
    metricRegion: MetricRegion | undefined,
    extra: Record<string, string>,
    options: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    const dimensionsMap: Record<string, string> = {
      [DIMENSION.SERVICE]: this.routerName,
      [DIMENSION.REGION]: metricRegion ?? regionCode(this.region),
      ...extra,
    };
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...options,
      dimensionsMap,
    }).attachTo(this);
  }

  /** Requests received (every outcome). @default sum over 5 minutes */
  public metricRequests(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.REQUESTS, props);
  }

  /** Requests refused before anything went upstream. @default sum over 5 minutes */
  public metricRejected(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.REJECTED, props);
  }

  /** Upstream failures (4xx/5xx answers, timeouts, unreachable). @default sum over 5 minutes */
  public metricUpstreamErrors(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.UPSTREAM_ERRORS, props);
  }

  /** End-to-end latency in the handler, ms. @default p99 over 5 minutes */
  public metricLatency(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.LATENCY, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /** Time to the first streamed byte, ms. @default p99 over 5 minutes */
  public metricTimeToFirstToken(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TIME_TO_FIRST_TOKEN, { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /** Prompt tokens reported by the gateway. @default sum over 5 minutes */
  public metricInputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.INPUT_TOKENS, props);
  }

  /** Completion tokens reported by the gateway. @default sum over 5 minutes */
  public metricOutputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.OUTPUT_TOKENS, props);
  }

  /**
   * Opt-in alarms: upstream error rate, p99 latency and a spike of
   * rejections, optionally notifying an SNS topic.
   */
  public addAlarms(options: RouterAlarmOptions = {}): RouterAlarms {
    return new RouterAlarms(this, 'Alarms', { ...options, router: this });
  }

  /** The `Region` dimension values this router can emit. */
  public get metricRegions(): MetricRegion[] {
    if (this.region === GatewayRegion.EU) return [MetricRegion.EU];
    return this.globalRouting ? [MetricRegion.US, MetricRegion.GLOBAL] : [MetricRegion.US];
  }

  private enforceEuDeployment(additional: string[]): void {
    const allowed = [...EU_MEMBER_STATE_AWS_REGIONS, ...additional];
    const stackRegion = Stack.of(this).region;
    if (!Token.isUnresolved(stackRegion)) {
      if (!allowed.includes(stackRegion)) {
        throw propError(this, 'region', 'GatewayRegion.EU',
          `is deployed in a stack in ${stackRegion}, which is not an EU member-state AWS region (allowed: ${allowed.join(', ')})`,
          'deploy the stack to one of those regions, or list the region in additionalDeploymentRegions if your residency policy allows it');
      }
      return;
    }
    // Environment-agnostic stack: CloudFormation checks the region at deploy time.
    new CfnRule(this, 'EuResidencyRule', {
      assertions: [{
        assert: Fn.conditionContains(allowed, Aws.REGION),
        assertDescription: `This EU LLM Gateway router may only be deployed in: ${allowed.join(', ')}.`,
      }],
    });
  }

  private resolveEndpoint(code: RegionCode, custom: string | undefined): string {
    if (custom === undefined) return GATEWAY_ENDPOINTS[code];
    if (!Token.isUnresolved(custom) && !/^https?:\/\/[^/\s]+/.test(custom)) {
      throw propError(this, 'customEndpoint', JSON.stringify(custom), 'is not an http(s) URL', 'pass a base URL such as https://llm-proxy.internal.example.com');
    }
    Annotations.of(this).addWarningV2('cdk-llm-gateway-router:customEndpoint',
      `customEndpoint: requests go to ${custom} instead of ${GATEWAY_ENDPOINTS[code]}${code === 'eu' ? '; EU residency now depends on where that endpoint sends data' : ''}.`);
    return custom;
  }

  private resolveTimeouts(timeoutProp?: Duration, upstreamProp?: Duration): { timeout: Duration; upstreamTimeout: Duration } {
    const timeout = timeoutProp ?? Duration.minutes(5);
    const timeoutMs = timeout.toMilliseconds();
    if (timeoutMs < 10_000 || timeoutMs > 900_000) {
      throw propError(this, 'timeout', timeout.toHumanString(), 'is outside 10 seconds to 15 minutes', 'choose a timeout in that range (15 minutes is API Gateway\'s limit for a streamed response)');
    }
    const upstreamTimeout = upstreamProp ?? Duration.millis(Math.min(120_000, timeoutMs - 10_000));
    if (upstreamTimeout.toMilliseconds() >= timeoutMs || upstreamTimeout.toMilliseconds() < 1_000) {
      throw propError(this, 'upstreamTimeout', upstreamTimeout.toHumanString(), `must be at least 1 second and shorter than timeout (${timeout.toHumanString()}) so the router can still answer 504`,
        'lower upstreamTimeout or raise timeout');
    }
    return { timeout, upstreamTimeout };
  }

  private resolveMaxBody(size?: Size): number {
    const bytes = (size ?? Size.mebibytes(1)).toBytes();
    if (!Number.isInteger(bytes) || bytes < 1024 || bytes > 10 * 1024 * 1024) {
      throw propError(this, 'maxRequestBodySize', `${bytes} bytes`, 'is outside 1 KiB to 10 MiB', 'choose a size in that range (10 MB is API Gateway\'s payload limit)');
    }
    return bytes;
  }

  private validateNumbers(props: LlmGatewayRouterProps): void {
    const check = (name: string, value: number | undefined, min: number, max: number, fix: string) => {
      if (value === undefined || Token.isUnresolved(value)) return;
      if (!Number.isFinite(value) || value < min || value > max) {
        throw propError(this, name, String(value), `is outside ${min} to ${max}`, fix);
      }
    };
    check('throttlingRateLimit', props.throttlingRateLimit, 1, 10_000, 'choose requests per second between 1 and 10000');
    check('throttlingBurstLimit', props.throttlingBurstLimit, 1, 5_000, 'choose a burst between 1 and 5000');
    check('memorySize', props.memorySize, 128, 10_240, 'choose 128 to 10240 MB (512 is the default)');
    if (props.routerName !== undefined && !Token.isUnresolved(props.routerName) && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(props.routerName)) {
      throw propError(this, 'routerName', JSON.stringify(props.routerName), 'is not 1-64 letters, digits, ".", "_" or "-"', 'use a short name such as "platform-eu"');
    }
  }

  private acknowledgeDesignChoices(hasWebAcl: boolean): void {
    const stage = this.restApi.deploymentStage;
    const stageRules: Record<string, string> = {
      'AwsSolutions-APIG6': 'Execution logging needs the account-wide API Gateway CloudWatch role, which a reusable construct must not own; JSON access logs are on and the handler logs one line per request.',
    };
    if (!hasWebAcl) {
      stageRules['AwsSolutions-APIG3'] = 'A WAF web ACL is an account-level decision: pass webAclArn to associate one. Callers are authenticated and throttled at the stage.';
    }
    acknowledgeRules(stage, stageRules);
    const type = this.authorization.type;
    const methodRules: Record<string, string> = {};
    if (type !== RouterAuthorizationType.COGNITO) {
      methodRules['AwsSolutions-COG4'] = `Callers are authorized with ${type} by the platform team's explicit choice (authorization prop), not a Cognito user pool.`;
    }
    if (type === RouterAuthorizationType.API_KEY) {
      methodRules['AwsSolutions-APIG4'] = 'Callers must present an API key of the router\'s usage plan (apiKeyRequired), by the platform team\'s explicit choice.';
    }
    for (const method of this.methods) acknowledgeRules(method, methodRules);
  }
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
  const body = (type: string) => JSON.stringify({
    error: { message: '$context.error.messageString', type, param: null, code: '$context.error.responseType' },
  }).replace('"$context.error.messageString"', '$context.error.messageString');
  const responses: Array<[string, apigw.ResponseType, string]> = [
    ['Default4xx', apigw.ResponseType.DEFAULT_4XX, 'invalid_request_error'],
    ['Default5xx', apigw.ResponseType.DEFAULT_5XX, 'api_error'],
    ['Throttled', apigw.ResponseType.THROTTLED, 'rate_limit_error'],
    ['QuotaExceeded', apigw.ResponseType.QUOTA_EXCEEDED, 'rate_limit_error'],
    ['Unauthorized', apigw.ResponseType.UNAUTHORIZED, 'authentication_error'],
    ['AccessDenied', apigw.ResponseType.ACCESS_DENIED, 'permission_error'],
    // Also what API Gateway answers for unknown paths under IAM authorization.
    ['MissingToken', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, 'authentication_error'],
  ];
  for (const [id, type, errorType] of responses) {
    api.addGatewayResponse(id, {
      type,
      templates: { 'application/json': body(errorType) },
    });
  }
}
