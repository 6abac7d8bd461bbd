import { Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { checkEnvironmentSize } from './environment-size';
import { addRuleWarning, propError } from './validation';
import { ENV } from '../catalog/env';
import type { CatalogData } from '../catalog/model-catalog';
import { checkBudgetPrices } from '../catalog/rules';
import { buildTenantEnvironment, encodeTenants, TenantSpec } from '../catalog/tenants-schema';

/**
 * What the handler does when the tenant table cannot be reached.
 */
export enum TenantStoreFailureMode {
  /** Refuse with HTTP 503 `budget_unavailable`: no request goes unmetered. The default. */
  FAIL_CLOSED = 'FAIL_CLOSED',
  /** Serve the request without checking or recording its budget (logged as `tenant_store_error`). */
  FAIL_OPEN = 'FAIL_OPEN',
}

/** The table's partition key and TTL attribute: the handler's ledger (src/handler/tenants/ledger.ts) uses these names. */
const PARTITION_KEY = 'pk';
const TTL_ATTRIBUTE = 'expires_at';
/** The only item actions the handler performs on the table. */
export const TENANT_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
/** Stand-in length of a deploy-time value in the tenants document (a key id, a role ARN) when sizing the environment at synth time. */
const TOKEN_SIZE_ESTIMATE = 100;

// Internal to the construct (TenantStore, TenantStoreProps): not exported from the package's index.
export interface TenantStoreProps {
  readonly handler: lambda.Function;
  readonly logGroup: logs.ILogGroup;
  readonly routerName: string;
  readonly removalPolicy: RemovalPolicy;
  readonly failureMode: TenantStoreFailureMode;
  /** The function's environment without tenants (from `buildRouterEnvironment`), to size the whole environment at synth. */
  readonly routerEnvironment: Record<string, string>;
}

/**
 * Everything a router with tenants adds, created with its first tenant: the
 * budget table (on demand, point-in-time recovery, encrypted, TTL on window
 * items), the function's access to it (the two item actions it uses), the
 * tenants document in its environment, and Contributor Insights rules over
 * its log group. A router without tenants has none of it.
 */
export class TenantStore extends Construct {
  public readonly table: dynamodb.Table;
  public readonly insightRules: cloudwatch.CfnInsightRule[];
  private readonly specs: TenantSpec[] = [];
  private readonly identities = new Map<string, string>();
  /** The function's environment with the table's variables: the tenants document is sized into it with each tenant. */
  private readonly environment: Record<string, string>;
  private warnedPrices = false;

  constructor(scope: Construct, id: string, props: TenantStoreProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // The month items are the chargeback record: kept unless the router's logs are not.
      removalPolicy: props.removalPolicy,
    });
    props.handler.role!.addToPrincipalPolicy(new iam.PolicyStatement({ actions: TENANT_TABLE_ACTIONS, resources: [this.table.tableArn] }));

    const stack = Stack.of(this);
    // Lazy: tenants may be added after the router is built. toJsonString resolves deploy-time values (key ids, role ARNs) inside the JSON.
    const tenants = Lazy.string({ produce: () => stack.toJsonString({ v: 1, t: this.specs }) });
    const env = buildTenantEnvironment({
      tenants,
      table: this.table.tableName,
      storeFailure: props.failureMode === TenantStoreFailureMode.FAIL_OPEN ? 'open' : 'closed',
    });
    for (const [name, value] of Object.entries(env)) props.handler.addEnvironment(name, value);
    this.environment = { ...props.routerEnvironment, ...env };

    this.insightRules = [
      insightRule(this, 'TopTenantsByCost', `${props.routerName}-tenants-by-cost`, props.logGroup, ['$.tenant'], 'Sum', '$.cost_usd'),
      insightRule(this, 'TopTenantModelsByCost', `${props.routerName}-tenant-models-by-cost`, props.logGroup, ['$.tenant', '$.model'], 'Sum', '$.cost_usd'),
      insightRule(this, 'TenantRejections', `${props.routerName}-tenant-rejections`, props.logGroup, ['$.tenant', '$.reject_reason'], 'Count'),
    ];
  }

  /** Registers one tenant, refusing a second owner of an identity, a second default, or a document too large for the environment. */
  public add(scope: Construct, spec: TenantSpec, dedupe: string | undefined, description: string, catalog: CatalogData): void {
    if (this.specs.some((t) => t.id === spec.id)) {
      throw propError(scope, 'tenant id', JSON.stringify(spec.id), 'is used by another tenant of this router', 'give each tenant its own id');
    }
    if (dedupe !== undefined) {
      const owner = this.identities.get(dedupe);
      if (owner) throw propError(scope, 'identity', description, `already identifies tenant ${owner}; one caller cannot belong to two tenants`, 'give each tenant its own identity');
    }
    const defaultTenant = this.specs.find((t) => t.def);
    if (spec.def && defaultTenant) {
      throw propError(scope, 'defaultTenant', 'true', `but tenant ${defaultTenant.id} is already the default tenant`, 'name one default tenant per router');
    }
    // The same check as the function's own, over every variable: the router's (allow-list, model rules, egress proxy...), the table's and the document.
    const document = encodeTenants([...this.specs, spec].map(sizedForSynth));
    checkEnvironmentSize(scope, { ...this.environment, [ENV.TENANTS]: document }, { prop: 'tenants', tenants: this.specs.length + 1 });
    this.specs.push(spec);
    if (dedupe !== undefined) this.identities.set(dedupe, spec.id);
    // Once per router: the first tenant with a USD budget on the bundled (illustrative) prices.
    const illustrative = !this.warnedPrices ? checkBudgetPrices(spec.usd !== undefined, catalog) : undefined;
    if (illustrative) {
      addRuleWarning(this.node.scope as Construct, illustrative);
      this.warnedPrices = true;
    }
  }
}

/** The spec with each deploy-time value replaced by a stand-in of a realistic maximum size. */
function sizedForSynth(spec: TenantSpec): TenantSpec {
  if (!spec.who || !Token.isUnresolved(spec.who.v)) return spec;
  return { ...spec, who: { ...spec.who, v: 'x'.repeat(TOKEN_SIZE_ESTIMATE) } } as TenantSpec;
}

function insightRule(
  scope: Construct, id: string, ruleName: string, logGroup: logs.ILogGroup, keys: string[], aggregateOn: 'Sum' | 'Count', valueOf?: string,
): cloudwatch.CfnInsightRule {
  const filters = [...keys, ...(valueOf ? [valueOf] : [])].map((match) => ({ Match: match, IsPresent: true }));
  return new cloudwatch.CfnInsightRule(scope, id, {
    ruleName,
    ruleState: 'ENABLED',
    ruleBody: Stack.of(scope).toJsonString({
      Schema: { Name: 'CloudWatchLogRule', Version: 1 },
      LogGroupNames: [logGroup.logGroupName],
      LogFormat: 'JSON',
      Contribution: { Keys: keys, Filters: filters, ...(valueOf ? { ValueOf: valueOf } : {}) },
      AggregateOn: aggregateOn,
    }),
  });
}
