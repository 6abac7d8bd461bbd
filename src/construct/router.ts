import { Annotations, ArnFormat, Names, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { RouterAuthorization, RouterAuthorizationType } from './authorization';
import { RouterGuardrail } from './guardrail';
import { createHandlerFunction } from './handler-function';
import { acknowledgeRules } from './nag';
import { RouterAlarmOptions, RouterAlarms } from './observability';
import { GatewayRegion, MetricRegion } from './region';
import { acknowledgeStageRules, addRoutes, createRestApi } from './rest-api';
import { RouterMetricFactory, RouterMetricOptions } from './router-metrics';
import { LlmGatewayRouterProps } from './router-props';
import { resolveSettings } from './settings';
import { ITenantRouter, registerTenant, RouterTenant, TenantHost, TenantOptions, TenantRegistration } from './tenants/tenant';
import { TenantStore, TenantStoreFailureMode, TenantStoreProps } from './tenants/tenant-store';
import { readTenantsFile, tenantOptionsOf } from './tenants/tenants-file';
import { propError } from './validation';
import { RegionCode } from '../contract/catalog';
import { ENV } from '../contract/env';
import { TenantGuardrailSpec } from '../contract/guardrail';
import { CatalogData } from '../contract/model-catalog';

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
export class LlmGatewayRouter extends Construct implements ITenantRouter {
  /** The API's execute-api invoke URL (the stage root), ending in '/'. */
  public readonly url: string;
  /**
   * The OpenAI-compatible base URL for clients: `url` + 'v1', or with
   * `domainName`, `https://<domainName>/[<basePath>/]v1`.
   */
  public readonly openAiBaseUrl: string;
  /** The REST API. */
  public readonly restApi: apigw.RestApi;
  /** The router's Lambda function. */
  public readonly handler: lambda.Function;
  /** The gateway region the router sends requests to. */
  public readonly region: GatewayRegion;
  /** Whether global routing is on. */
  public readonly globalRouting: boolean;
  /** Whether callers may read transcripts with `transcript_id`. */
  public readonly transcriptAccess: boolean;
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
  /** Builds this router's metrics; the `metricXxx()` methods delegate to it. */
  public readonly metrics: RouterMetricFactory;
  /** The REST API's stage. */
  public readonly stageName: string;
  /**
   * The router function's name (always set here; optional only because
   * `IRouterMetrics` also describes routers whose function is unknown).
   */
  public readonly functionName?: string;

  private readonly authorization: RouterAuthorization;
  private readonly methods: apigw.Method[];
  /** Tenants (src/construct/tenants/tenant.ts): what the store needs, and the store once a tenant exists. */
  private readonly tenantStoreProps: Pick<TenantStoreProps, 'removalPolicy' | 'failureMode' | 'deletionProtection' | 'encryptionKey' | 'insightRules'>;
  /** The region's code and the catalog the allow-list was validated with: tenants' lists are checked against the same. */
  private readonly catalogScope: { code: RegionCode; catalog: CatalogData };
  private tenantStore?: TenantStore;
  /** Whether tenants may opt out of the router's guardrail; undefined when it has none. */
  private readonly guardrailOptOut?: boolean;

  constructor(scope: Construct, id: string, props: LlmGatewayRouterProps) {
    super(scope, id);
    const settings = resolveSettings(this, props);
    this.region = settings.region;
    this.globalRouting = settings.globalRouting;
    this.transcriptAccess = settings.transcriptAccess;
    this.authorization = settings.authorization;
    this.routerName = settings.routerName;
    this.metricsNamespace = settings.metricsNamespace;
    this.allowedModels = settings.allowedModels;

    const logEncryptionKey = settings.deployment.logEncryptionKey;
    if (logEncryptionKey) allowLogsToUseKey(this, logEncryptionKey);
    const logGroupProps = { retention: settings.logRetention, removalPolicy: settings.removalPolicy, encryptionKey: logEncryptionKey };
    this.logGroup = new logs.LogGroup(this, 'HandlerLogs', logGroupProps);
    this.handler = createHandlerFunction(this, settings, props.apiKeySecret, this.logGroup, props.architecture ?? lambda.Architecture.ARM_64);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', logGroupProps);
    this.restApi = createRestApi(this, settings, this.accessLogGroup, props.domainName);
    const integration = new apigw.LambdaIntegration(this.handler, {
      proxy: true,
      responseTransferMode: apigw.ResponseTransferMode.STREAM,
      // In STREAM mode the integration may run up to 15 minutes: as long as the function.
      timeout: settings.timeout,
      allowTestInvoke: settings.deployment.allowTestInvoke,
    });
    const auth = this.authorization._bind(this, this.restApi, this.routerName);
    this.usagePlan = auth.usagePlan;
    this.methods = addRoutes(this.restApi, integration, auth.methodOptions, settings.transcriptAccess);
    for (const method of this.methods) acknowledgeRules(method, auth.methodNagRules);

    if (props.webAclArn !== undefined) {
      new wafv2.CfnWebACLAssociation(this, 'WebAcl', {
        resourceArn: this.restApi.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    }
    acknowledgeStageRules(this.restApi, props.webAclArn !== undefined);

    this.stageName = settings.stageName;
    this.functionName = this.handler.functionName;
    this.metrics = new RouterMetricFactory(this, {
      namespace: this.metricsNamespace,
      routerName: this.routerName,
      region: this.region,
      globalRouting: this.globalRouting,
      catalog: props.catalog,
      stageName: this.stageName,
      functionName: this.functionName,
    });
    this.url = this.restApi.url;
    this.openAiBaseUrl = props.domainName ? `${customDomainUrl(props.domainName)}v1` : `${this.restApi.url}v1`;
    this.catalogScope = { code: settings.code, catalog: settings.catalog };
    if (props.guardrail) {
      const spec = props.guardrail._bind(this, { code: settings.code, grantee: this.handler, prop: 'guardrail' });
      // RouterGuardrail.none() throws when bound without a router guardrail: the spec is a guardrail here.
      if (spec !== 'none') {
        this.handler.addEnvironment(ENV.GUARDRAIL, Stack.of(this).toJsonString(spec));
        this.guardrailOptOut = spec.optOut ?? false;
      }
    }
    this.tenantStoreProps = {
      removalPolicy: settings.removalPolicy,
      failureMode: props.tenantStoreFailureMode ?? TenantStoreFailureMode.FAIL_CLOSED,
      deletionProtection: props.tenantTable?.deletionProtection ?? true,
      encryptionKey: props.tenantTable?.encryptionKey,
      insightRules: props.tenantTable?.contributorInsights ?? true,
    };
  }

  /**
   * Adds a team to the router, with its own callers, allow-list, budget and
   * rate limit. Once a router has tenants, callers that match none are
   * refused (403 `unknown_tenant`) unless a tenant is the `defaultTenant`.
   * The first tenant creates the router's budget table.
   */
  public addTenant(id: string, options: TenantOptions = {}): RouterTenant {
    return new RouterTenant(this, `Tenant-${id}`, { ...options, tenantId: id, router: this });
  }

  /**
   * Adds every tenant of a tenants file (JSON or YAML; its JSON Schema is
   * `tenants.schema.json` in this package), read at synth time: onboarding a
   * team is a pull request that adds an entry. The emulator reads the same
   * file (`serve --tenants FILE`). Errors name the file, the tenant and the field.
   * @param path the file's path (relative paths resolve against the working directory)
   * @example
   * declare const router: LlmGatewayRouter;
   * router.addTenantsFromFile('tenants.yaml');
   */
  public addTenantsFromFile(path: string): RouterTenant[] {
    return readTenantsFile(path).map(({ entry, at }) => {
      try {
        return this.addTenant(entry.id, tenantOptionsOf(this, entry));
      } catch (err) {
        throw new Error(`${path}: ${at}: ${(err as Error).message}`);
      }
    });
  }

  /** The budget table, once the router has tenants. */
  public get tenantTable(): dynamodb.ITable | undefined {
    return this.tenantStore?.table;
  }

  /**
   * Registers a tenant: checks its options against this router, stores its
   * policy in the tenant table (created with the first tenant) and issues its
   * API keys. `RouterTenant`'s constructor calls it; add tenants with
   * `addTenant()` or `addTenantsFromFile()`.
   */
  public registerTenant(tenant: RouterTenant, options: TenantOptions): TenantRegistration {
    return registerTenant(tenant, options, this.tenantHost());
  }

  /** What registering a tenant needs of this router: its policy, its store (created with the first tenant), its key issuer. */
  private tenantHost(): TenantHost {
    this.tenantStore ??= new TenantStore(this, 'Tenants', {
      handler: this.handler,
      logGroup: this.logGroup,
      routerName: this.routerName,
      ...this.tenantStoreProps,
    });
    return {
      allowedModels: this.allowedModels,
      region: this.catalogScope.code,
      catalog: this.catalogScope.catalog,
      transcriptAccess: this.transcriptAccess,
      globalRouting: this.globalRouting,
      authorizationType: this.authorization.type,
      metrics: this.metrics,
      bindGuardrail: (scope: Construct, guardrail: RouterGuardrail, prop: string): TenantGuardrailSpec =>
        guardrail._bind(scope, { code: this.catalogScope.code, grantee: this.handler, prop, routerAllowsOptOut: this.guardrailOptOut }),
      store: this.tenantStore,
      issueApiKey: (shard, keyId, name) => {
        const apiKeyName = name === undefined ? undefined : `${this.routerName}-${keyId.replace(/^TenantKey-/, '')}`;
        // Not bound to the stage (addApiKey's keys are): the tenants' shards name the key, and a key that depended
        // on the stage would make them depend on the API. A nested shard holds its keys and their usage-plan keys.
        const key = new apigw.ApiKey(shard.nested ? shard.scope : this, keyId, { description: `Tenant key of router ${this.routerName}`, apiKeyName });
        if (shard.nested) new apigw.CfnUsagePlanKey(shard.scope, `${keyId}Plan`, { keyId: key.keyId, keyType: 'API_KEY', usagePlanId: this.usagePlan!.usagePlanId });
        else this.usagePlan!.addApiKey(key);
        return key;
      },
    };
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
    const statement = { actions: ['execute-api:Invoke'], resourceArns: this.methods.map((m) => m.methodArn) };
    const principal = grantee.grantPrincipal;
    if (principal instanceof iam.Role && Stack.of(principal) !== Stack.of(this)) {
      // A role of another stack: its own policy would reference this stack's API from there, a cycle
      // whenever this stack already depends on that one (shared roles first, then routers). The role
      // imported here gets a policy in this stack, so the reference runs this stack's way.
      const id = `Invoker${Names.uniqueId(principal)}`;
      const local = (this.node.tryFindChild(id) as iam.IRole | undefined) ?? iam.Role.fromRoleArn(this, id, principal.roleArn);
      return iam.Grant.addToPrincipal({ grantee: local, ...statement });
    }
    return iam.Grant.addToPrincipal({ grantee, ...statement });
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
   * Opt-in alarms: the router's own errors, the function's errors and
   * throttles, the stage's 5xx rate, the upstream error rate, p99 latency
   * and a spike of rejections, optionally notifying an SNS topic. Call it again with
   * another id for a second set (for example a stricter one paging
   * another team).
   */
  public addAlarms(id: string, options: RouterAlarmOptions = {}): RouterAlarms {
    if (typeof id !== 'string') {
      // The signature was addAlarms(options): say what to call now rather than fail inside CDK.
      throw propError(this, 'addAlarms', 'addAlarms(options)', 'is the old signature: alarms now take a construct id first, so a router can have several sets',
        'call router.addAlarms(\'Alarms\', options)');
    }
    return new RouterAlarms(this, id, { ...options, router: this });
  }

  /** The `Region` dimension values this router can emit. */
  public get metricRegions(): MetricRegion[] {
    return this.metrics.metricRegions;
  }

  /**
   * A metric the router's handler emits, in its namespace. Without options
   * it counts all of the router's traffic, in every region.
   */
  public metric(metricName: string, props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metric(metricName, props);
  }

  /** Requests received (every outcome). @default sum over 5 minutes */
  public metricRequests(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricRequests(props);
  }

  /** Requests refused before anything went upstream. @default sum over 5 minutes */
  public metricRejected(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricRejected(props);
  }

  /** Upstream failures (4xx/5xx answers, timeouts, unreachable). @default sum over 5 minutes */
  public metricUpstreamErrors(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricUpstreamErrors(props);
  }

  /** End-to-end latency in the handler, ms. @default p99 over 5 minutes */
  public metricLatency(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricLatency(props);
  }

  /** Time from sending upstream until the answer was relayed or failed, ms. @default p99 over 5 minutes */
  public metricUpstreamLatency(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricUpstreamLatency(props);
  }

  /** Time to the first streamed byte, ms. @default p99 over 5 minutes */
  public metricTimeToFirstToken(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricTimeToFirstToken(props);
  }

  /** Prompt tokens reported by the gateway. @default sum over 5 minutes */
  public metricInputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricInputTokens(props);
  }

  /** Completion tokens reported by the gateway. @default sum over 5 minutes */
  public metricOutputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricOutputTokens(props);
  }

  /** Requests served by a new execution environment. @default sum over 5 minutes */
  public metricColdStarts(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricColdStarts(props);
  }

  /** Requests whose caller hung up before the answer ended. @default sum over 5 minutes */
  public metricClientAborted(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricClientAborted(props);
  }

  /** Estimated cost in USD (reported tokens times the catalog's price for the region used). @default sum over 5 minutes */
  public metricCostUsd(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricCostUsd(props);
  }

  /** Requests the router itself failed (unreadable key, misconfiguration, internal error). @default sum over 5 minutes */
  public metricRouterErrors(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricRouterErrors(props);
  }

  /** Requests a guardrail blocked or masked (by policy type with `guardrailPolicy`). @default sum over 5 minutes */
  public metricGuardrailInterventions(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricGuardrailInterventions(props);
  }

  /** Time a request waited for its guardrail checks, ms. @default p99 over 5 minutes */
  public metricGuardrailLatency(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricGuardrailLatency(props);
  }

  /** Priced text units the guardrail checks used (what Bedrock bills; by tenant with `tenant`). @default sum over 5 minutes */
  public metricGuardrailTextUnits(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricGuardrailTextUnits(props);
  }

  /** Guardrail checks that failed (errors, throttles, timeouts). @default sum over 5 minutes */
  public metricGuardrailErrors(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metricGuardrailErrors(props);
  }

  /** API Gateway's `5XXError` for the router's stage. @default sum over 5 minutes */
  public metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricServerErrors(props);
  }

  /** Lambda's `Errors` for the router function. @default sum over 5 minutes */
  public metricFunctionErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricFunctionErrors(props);
  }

  /** Lambda's `Throttles` for the router function. @default sum over 5 minutes */
  public metricFunctionThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricFunctionThrottles(props);
  }
}

/** The custom domain's root for the stage, ending in '/' (the stage is mapped at `basePath`, or at the root). */
function customDomainUrl(options: apigw.DomainNameOptions): string {
  const basePath = options.basePath ? `${options.basePath.replace(/^\/+|\/+$/g, '')}/` : '';
  return `https://${options.domainName}/${basePath}`;
}

/**
 * Lets CloudWatch Logs use a log encryption key for this account's log
 * groups in this region (the condition CloudWatch Logs documents). A no-op
 * for an imported key, whose policy is not the app's to change.
 */
function allowLogsToUseKey(scope: Construct, key: kms.IKey): void {
  const stack = Stack.of(scope);
  key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: {
      ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    },
  }));
}
