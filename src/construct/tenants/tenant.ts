import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';
import { RouterAuthorizationType } from '../authorization';
import type { RouterGuardrail } from '../guardrail';
import type { IRouterMetrics, RouterMetricFactory, RouterMetricOptions } from '../router-metrics';
import { TenantIdentity } from './tenant-identity';
import { TenantShard, TenantStore } from './tenant-store';
import { RegionCode } from '../../contract/catalog';
import type { TenantGuardrailSpec } from '../../contract/guardrail';
import { METRIC } from '../../contract/metrics-schema';
import { CatalogData } from '../../contract/model-catalog';
import { checkTenantModels, withArticle } from '../../contract/rules';
import { TENANT_ID_PATTERN, tenantSpec } from '../../contract/tenants-schema';
import { applyRule, propError } from '../validation';

/**
 * A tenant's policy: who its callers are and what they may spend. Limits
 * left out are not enforced.
 */
export interface TenantOptions {
  /**
   * How the tenant's callers are recognised. Must fit the router's
   * authorization, and no two tenants may share one.
   * @default - none: allowed only for the default tenant
   */
  readonly identity?: TenantIdentity;

  /**
   * More identities for the same tenant, matched like `identity`: a tenant
   * may hold several at once, so a new API key goes live before the old one
   * is removed (key rotation without a cut-over).
   * @default - only `identity`
   */
  readonly identities?: TenantIdentity[];

  /**
   * Model ids the tenant may use: a subset of the router's `allowedModels`.
   * @default - the router's allowed models
   */
  readonly allowedModels?: string[];

  /**
   * Budget per calendar month (UTC), in USD, at the price of the region each
   * request is routed to. Strict: a request is admitted only if its worst
   * case fits beside settled spend and requests in flight.
   * @default - no budget
   */
  readonly monthlyBudgetUsd?: number;

  /**
   * Input plus output tokens (as the gateway reports them) per UTC day, strict like the budget.
   * @default - no limit
   */
  readonly dailyTokenLimit?: number;

  /**
   * Requests per minute per model (a fixed UTC minute): the tenant's share of
   * the gateway's account-wide limit (30 per model on paid plans). A request
   * counts against every model it may reach (its fallbacks too).
   * @default - no limit
   */
  readonly requestsPerMinutePerModel?: number;

  /**
   * Input plus output tokens per minute (a fixed UTC minute), reserved up
   * front at each request's worst case like the budget, so it holds exactly
   * under concurrency; refused with 429 `tenant_rate_limited` and `Retry-After`.
   * @default - no limit
   */
  readonly tokensPerMinute?: number;

  /**
   * Global routing for this tenant, overriding the router's on a US router:
   * `true` routes globally wherever the model accepts it (priced at the
   * global rate); `false` keeps the tenant's requests in-region. A synth
   * error on an EU router, which never routes globally.
   * @default - the router's globalRouting
   */
  readonly globalRouting?: boolean;

  /**
   * Whether the tenant may send `transcript_id`. Never wider than the router's `transcriptAccess`.
   * @default - the router's transcriptAccess
   */
  readonly transcriptAccess?: boolean;

  /**
   * Apply this tenant's policy to callers that match no tenant (instead of
   * refusing them with 403 `unknown_tenant`). At most one per router.
   * @default false
   */
  readonly defaultTenant?: boolean;

  /**
   * The tenant's own guardrail instead of the router's, or
   * `RouterGuardrail.none()` to check none of its requests (only where the
   * router's guardrail has `allowTenantOptOut`).
   * @default - the router's guardrail, if it has one
   */
  readonly guardrail?: RouterGuardrail;
}

/**
 * Options of a tenant's budget alarm.
 */
export interface TenantBudgetAlarmOptions {
  /** The share of the monthly budget spent at which the alarm fires, in percent (for example 80). */
  readonly percent: number;
  /**
   * Where the alarm is sent.
   * @default - no notification
   */
  readonly topic?: sns.ITopic;
  /**
   * The period of each evaluation.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/**
 * Properties of a `RouterTenant`.
 */
export interface RouterTenantProps extends TenantOptions {
  /** The router the tenant belongs to. */
  readonly router: ITenantRouter;
  /** The tenant's id: 1-64 letters, digits, ".", "_" or "-". It appears in metrics and logs. */
  readonly tenantId: string;
}

/**
 * A router that holds tenants: `LlmGatewayRouter`. `RouterTenant` registers
 * itself through it; callers use `router.addTenant()`.
 */
export interface ITenantRouter extends IRouterMetrics, IConstruct {
  /** The router's metrics (a tenant's are the same, in its `Tenant` set). */
  readonly metrics: RouterMetricFactory;

  /**
   * Checks a tenant's options against the router (its allow-list,
   * authorization, transcript access, region), stores the tenant's policy
   * in the router's tenant table and issues its API keys. Called once by
   * each `RouterTenant`'s constructor.
   */
  registerTenant(tenant: RouterTenant, options: TenantOptions): TenantRegistration;
}

/**
 * What registering a tenant gave it.
 */
export interface TenantRegistration {
  /** The model ids the tenant may use. */
  readonly allowedModels: string[];
  /** The tenant's API keys, issued or given, in the order of its identities. */
  readonly apiKeys: apigw.IApiKey[];
}

// Internal to the construct: not exported from the package's index.
/** What registering a tenant needs to know about its router. */
export interface TenantHost {
  readonly allowedModels: string[];
  /** The router's region and the catalog its allow-list was validated with. */
  readonly region: RegionCode;
  readonly catalog: CatalogData;
  readonly transcriptAccess: boolean;
  readonly globalRouting: boolean;
  readonly authorizationType: RouterAuthorizationType;
  readonly metrics: RouterMetricFactory;
  readonly store: TenantStore;
  /** Issues an API key for a tenant in `shard`, in the router's usage plan. */
  issueApiKey(shard: TenantShard, id: string, name?: string): apigw.IApiKey;
  /** Binds a tenant's guardrail to the router's function (its grant, its region check). */
  bindGuardrail(scope: Construct, guardrail: RouterGuardrail, prop: string): TenantGuardrailSpec;
}

/**
 * One team on a shared router: its callers, allow-list, budget, rate limit
 * and metrics. Usually created with `router.addTenant()`.
 *
 * @example
 * declare const router: LlmGatewayRouter;
 * const search = router.addTenant('search', {
 *   identity: TenantIdentity.apiKey(),
 *   allowedModels: ['claude-haiku-4-5-20251001'],
 *   monthlyBudgetUsd: 200,
 *   requestsPerMinutePerModel: 10,
 * });
 */
export class RouterTenant extends Construct {
  /** The tenant's id: the `Tenant` metric dimension and the `tenant` log field. */
  public readonly tenantId: string;
  /** The API key the router issued for the tenant, or the one it was given (the first, when there are several). */
  public readonly apiKey?: apigw.IApiKey;
  /** Every API key of the tenant, issued or given, in the order of its identities. */
  public readonly apiKeys: apigw.IApiKey[];
  /** The monthly budget in USD, if any. */
  public readonly monthlyBudgetUsd?: number;
  /** The daily token limit, if any. */
  public readonly dailyTokenLimit?: number;
  /** The model ids the tenant may use. */
  public readonly allowedModels: string[];

  private readonly metrics: RouterMetricFactory;

  constructor(scope: Construct, id: string, props: RouterTenantProps) {
    super(scope, id);
    const { tenantId, router, ...options } = props;
    if (!TENANT_ID_PATTERN.test(tenantId)) {
      throw propError(this, 'tenant id', JSON.stringify(tenantId), 'is not 1-64 letters, digits, ".", "_" or "-" starting with a letter or digit', 'use a short id such as "search-team"');
    }
    this.tenantId = tenantId;
    this.metrics = router.metrics;
    const registration = router.registerTenant(this, options);
    this.allowedModels = registration.allowedModels;
    this.apiKeys = registration.apiKeys;
    this.apiKey = this.apiKeys[0];
    this.monthlyBudgetUsd = options.monthlyBudgetUsd;
    this.dailyTokenLimit = options.dailyTokenLimit;
  }

  /** Any of the router's metrics, for this tenant's requests. @default sum over 5 minutes */
  public metric(metricName: string, props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metrics.metric(metricName, { ...props, tenant: this.tenantId });
  }

  /** The tenant's requests (every outcome). @default sum over 5 minutes */
  public metricRequests(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.REQUESTS, props);
  }

  /** The tenant's refused requests (by reason: the log's `reject_reason`, or the TenantRejections Contributor Insights rule). @default sum over 5 minutes */
  public metricRejected(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.REJECTED, props);
  }

  /** Input tokens the gateway reported for the tenant. @default sum over 5 minutes */
  public metricInputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.INPUT_TOKENS, props);
  }

  /** Output tokens the gateway reported for the tenant. @default sum over 5 minutes */
  public metricOutputTokens(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.OUTPUT_TOKENS, props);
  }

  /** What the tenant's requests cost, USD, as charged to its budget. @default sum over 5 minutes */
  public metricCostUsd(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.COST_USD, props);
  }

  /**
   * The tenant's settled spend this calendar month (UTC), USD, as published
   * after each settle from the ledger's own update (no extra read).
   * @default maximum over 5 minutes
   */
  public metricMonthToDateUsd(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TENANT_MONTH_TO_DATE_USD, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * The same as a percentage of the tenant's monthly budget (tenants with one).
   * @default maximum over 5 minutes
   */
  public metricBudgetUsedPercent(props?: RouterMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TENANT_BUDGET_USED_PERCENT, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * An alarm when the tenant has spent `percent` of its monthly budget (for
   * example 80, to warn the team before requests are refused), optionally
   * notifying an SNS topic. Requires `monthlyBudgetUsd`.
   */
  public addBudgetAlarm(id: string, options: TenantBudgetAlarmOptions): cloudwatch.Alarm {
    if (this.monthlyBudgetUsd === undefined) {
      throw propError(this, 'monthlyBudgetUsd', '(none)', 'is needed for a budget alarm: the tenant has no monthly budget to spend a share of', 'set monthlyBudgetUsd on the tenant');
    }
    const percent = options.percent;
    if (!Token.isUnresolved(percent) && !(percent > 0 && percent <= 100)) {
      throw propError(this, 'percent', String(percent), 'is not a percentage in (0, 100]', 'pass a value such as 80');
    }
    const alarm = this.metricBudgetUsedPercent({ period: options.period ?? Duration.minutes(5) }).createAlarm(this, id, {
      alarmDescription: `Tenant ${this.tenantId} has spent ${percent}% of its monthly budget of ${this.monthlyBudgetUsd} USD`,
      threshold: percent,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No settle, no change: the month-to-date figure stands until the next request.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    if (options.topic) alarm.addAlarmAction(new actions.SnsAction(options.topic));
    return alarm;
  }
}

/**
 * A tenant's registration with its router: its options checked against the
 * router, its policy added to the router's tenant store, its API keys issued.
 * @internal
 */
export function registerTenant(tenant: RouterTenant, options: TenantOptions, host: TenantHost): TenantRegistration {
  const tenantId = tenant.tenantId;
  const scope: Construct = tenant;
  // The router's own catalog (GatewayCatalog) explains an id outside the router's list.
  const allowedModels = applyRule(scope, () => checkTenantModels(options.allowedModels, host.allowedModels, host.region, host.catalog));
  for (const [prop, value] of [['monthlyBudgetUsd', options.monthlyBudgetUsd], ['dailyTokenLimit', options.dailyTokenLimit],
    ['requestsPerMinutePerModel', options.requestsPerMinutePerModel], ['tokensPerMinute', options.tokensPerMinute]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw propError(scope, prop, String(value), 'is not a positive number', `pass a positive ${prop}, or omit it for no limit`);
  }
  for (const prop of ['dailyTokenLimit', 'requestsPerMinutePerModel', 'tokensPerMinute'] as const) {
    const value = options[prop];
    if (value !== undefined && !Number.isInteger(value)) throw propError(scope, prop, String(value), 'is not a whole number', 'round it');
  }
  if (options.transcriptAccess === true && !host.transcriptAccess) {
    throw propError(scope, 'transcriptAccess', 'true', 'is wider than the router\'s (transcriptAccess is off on the router)', 'enable transcriptAccess on the router first, or drop it from the tenant');
  }
  if (options.globalRouting !== undefined && host.region === 'eu') {
    throw propError(scope, 'globalRouting', String(options.globalRouting), 'is set on a tenant of an EU router, which never routes globally (it would send data outside the EU)',
      'remove globalRouting from the tenant; an EU router keeps every request in the EU');
  }
  const identities = [...(options.identity ? [options.identity] : []), ...(options.identities ?? [])];
  if (identities.length === 0 && !options.defaultTenant) {
    throw propError(scope, 'identity', '(none)', 'is required unless the tenant is the default tenant', 'pass identity: TenantIdentity.apiKey() (or the factory that fits the router\'s authorization)');
  }
  const shard = host.store.nextShard();
  const resolved = identities.map((identity) => {
    if (identity.authorizationType !== host.authorizationType) {
      throw propError(scope, 'identity', `${withArticle(identity.authorizationType)} identity`, `does not fit the router's ${host.authorizationType} authorization, so no caller could ever match it`,
        `use the TenantIdentity factory for ${host.authorizationType} (apiKey for API_KEY, iamPrincipal for IAM, cognitoGroup or cognitoClaim for COGNITO, authorizerPrincipal for CUSTOM)`);
    }
    return identity._resolve((name) => host.issueApiKey(shard, name === undefined ? `TenantKey-${tenantId}` : `TenantKey-${tenantId}-${name}`, name));
  });
  for (const r of resolved) {
    if (r.spec.k === 'claim' && !Token.isUnresolved(r.spec.n) && r.spec.n.startsWith('custom:')) {
      Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:cognitoClaimWritable',
        `tenant ${tenantId}: ${r.description} is a custom attribute, which Cognito lets users write themselves unless the app client's write attributes exclude it, `
        + 'so a user could join any tenant. Prefer TenantIdentity.cognitoGroup(group) (cognito:groups, which only administrators change), or exclude the attribute from every app client\'s write attributes.');
    }
  }
  const apiKeys = resolved.map((r) => r.apiKey).filter((k): k is apigw.IApiKey => k !== undefined);
  host.store.add(scope, shard, {
    ...tenantSpec(tenantId, resolved.map((r) => r.spec), {
      ...options,
      // The router's list is the default: omitted, it costs nothing to store or read.
      allowedModels: options.allowedModels !== undefined ? allowedModels : undefined,
      isDefault: options.defaultTenant,
    }),
    g: options.guardrail && host.bindGuardrail(scope, options.guardrail, 'guardrail'),
  }, resolved, host.catalog);
  host.store.checkRateShares(scope, allowedModels, options.requestsPerMinutePerModel);
  return { allowedModels, apiKeys };
}

