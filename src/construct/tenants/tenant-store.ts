import { createHash } from 'node:crypto';
import { Annotations, Lazy, NestedStack, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { GATEWAY_REQUESTS_PER_MINUTE_PER_MODEL } from '../../contract/catalog';
import { buildTenantEnvironment } from '../../contract/env';
import type { CatalogData } from '../../contract/model-catalog';
import { checkBudgetPrices } from '../../contract/rules';
import { TENANT_TABLE_KEY, TENANT_TABLE_TTL_ATTRIBUTE, tenantShardItem, tenantShardKey, tenantTableKey, TenantSpec } from '../../contract/tenants-schema';
import { acknowledgeRules } from '../nag';
import { addRuleWarning, propError } from '../validation';

/**
 * What the handler does when the tenant table cannot be reached.
 */
export enum TenantStoreFailureMode {
  /** Refuse with HTTP 503 `budget_unavailable`: no request goes unmetered. The default. */
  FAIL_CLOSED = 'FAIL_CLOSED',
  /** Serve the request without checking or recording its budget (logged as `tenant_store_error`). */
  FAIL_OPEN = 'FAIL_OPEN',
}

/** The only item actions the handler performs on the table. */
export const TENANT_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'];
/**
 * Tenants per shard. The first shard is in the router's own stack, with
 * room for a small router's tenants (an API key and its usage-plan key are
 * two resources each); the others are nested stacks of their own, each far
 * below CloudFormation's 500 resources and 1 MB per template, and their
 * documents far below DynamoDB's 400 KB per item.
 */
const FIRST_SHARD_TENANTS = 50;
const SHARD_TENANTS = 200;
/** The custom-resource provider aws-cdk-lib creates once per stack for AwsCustomResource. */
const AWS_CUSTOM_RESOURCE_PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

// Internal to the construct (TenantStore, TenantStoreProps): not exported from the package's index.
export interface TenantStoreProps {
  readonly handler: lambda.Function;
  readonly logGroup: logs.ILogGroup;
  readonly routerName: string;
  readonly removalPolicy: RemovalPolicy;
  readonly failureMode: TenantStoreFailureMode;
  /** Deletion protection on the table. */
  readonly deletionProtection: boolean;
  /** A customer-managed key for the table. @default AWS managed */
  readonly encryptionKey?: kms.IKey;
  /** Create the Contributor Insights rules over the function's log group. */
  readonly insightRules: boolean;
}

/** Where one shard's tenants and their resources (API keys) live, and the item it writes. */
class TenantShard {
  readonly specs: TenantSpec[] = [];
  constructor(readonly index: number, readonly scope: Construct, readonly capacity: number) {}

  /** Shards past the first are nested stacks: the tenants' keys live there too. */
  get nested(): boolean {
    return this.index > 0;
  }

  /** The shard's document as CloudFormation will resolve it (deploy-time values as intrinsics), for the version digest. */
  version(): string {
    const resolved = Stack.of(this.scope).resolve({ v: 1, t: this.specs });
    return createHash('sha256').update(JSON.stringify(resolved)).digest('hex').slice(0, 12);
  }
}

/**
 * Everything a router with tenants adds, created with its first tenant: the
 * budget table (on demand, point-in-time recovery, encrypted, deletion
 * protection, TTL on window items), the function's access to it (the three
 * item actions it uses), the tenants written into it as shards at deploy
 * time (a custom resource per shard; shards past the first in nested
 * stacks), and Contributor Insights rules over its log group. The
 * function's environment gets only the shards' count and versions: the
 * number of tenants never touches it. A router without tenants has none of it.
 */
export class TenantStore extends Construct {
  public readonly table: dynamodb.Table;
  public readonly insightRules: cloudwatch.CfnInsightRule[];
  private readonly shards: TenantShard[] = [];
  private readonly identities = new Map<string, string>();
  private readonly ids = new Set<string>();
  private defaultTenant: string | undefined;
  private warnedPrices = false;
  /** Requests per minute the tenants may send, per model; warned about once past the gateway's limit. */
  private readonly rateShares = new Map<string, number>();
  private warnedRates = false;

  constructor(scope: Construct, id: string, private readonly props: TenantStoreProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TENANT_TABLE_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      timeToLiveAttribute: TENANT_TABLE_TTL_ATTRIBUTE,
      deletionProtection: props.deletionProtection,
      // The month items are the chargeback record: kept unless the router's logs are not.
      removalPolicy: props.removalPolicy,
    });
    props.handler.role!.addToPrincipalPolicy(new iam.PolicyStatement({ actions: TENANT_TABLE_ACTIONS, resources: [this.table.tableArn] }));
    props.encryptionKey?.grantEncryptDecrypt(props.handler);

    // Lazy: tenants may be added after the router is built. Only the shards' versions: a change of tenants changes the
    // function's configuration (new environments read the new shards), and the handler checks each shard it reads.
    const env = buildTenantEnvironment({
      shardVersions: Lazy.string({ produce: () => this.shards.map((s) => s.version()).join(',') }),
      table: this.table.tableName,
      storeFailure: props.failureMode === TenantStoreFailureMode.FAIL_OPEN ? 'open' : 'closed',
    });
    for (const [name, value] of Object.entries(env)) props.handler.addEnvironment(name, value);

    this.insightRules = props.insightRules ? [
      insightRule(this, 'TopTenantsByCost', `${props.routerName}-tenants-by-cost`, props.logGroup, ['$.tenant'], 'Sum', '$.cost_usd'),
      insightRule(this, 'TopTenantModelsByCost', `${props.routerName}-tenant-models-by-cost`, props.logGroup, ['$.tenant', '$.model'], 'Sum', '$.cost_usd'),
      insightRule(this, 'TenantRejections', `${props.routerName}-tenant-rejections`, props.logGroup, ['$.tenant', '$.reject_reason'], 'Count'),
    ] : [];
  }

  /** How many tenants the store holds. */
  public get tenantCount(): number {
    return this.shards.reduce((n, s) => n + s.specs.length, 0);
  }

  /**
   * The scope the next tenant's resources (its API keys) belong in: the
   * shard it will be written to. Call `add` next, with the same shard.
   */
  public nextShard(): TenantShard {
    const last = this.shards.at(-1);
    if (last && last.specs.length < last.capacity) return last;
    const index = this.shards.length;
    const scope = index === 0 ? new Construct(this, 'Shard0') : new NestedStack(this, `Shard${index}`, {
      description: `Tenants ${FIRST_SHARD_TENANTS + (index - 1) * SHARD_TENANTS + 1} to ${FIRST_SHARD_TENANTS + index * SHARD_TENANTS} of router ${this.props.routerName}`,
    });
    const shard = new TenantShard(index, scope, index === 0 ? FIRST_SHARD_TENANTS : SHARD_TENANTS);
    this.writeShard(shard);
    this.shards.push(shard);
    return shard;
  }

  /** Registers one tenant in `shard`, refusing a second owner of an identity or a second default. */
  public add(
    scope: Construct, shard: TenantShard, spec: TenantSpec, identities: ReadonlyArray<{ dedupe: string; description: string }>, catalog: CatalogData,
  ): void {
    if (this.ids.has(spec.id)) {
      throw propError(scope, 'tenant id', JSON.stringify(spec.id), 'is used by another tenant of this router', 'give each tenant its own id');
    }
    for (const { dedupe, description } of identities) {
      const owner = this.identities.get(dedupe);
      if (owner) throw propError(scope, 'identity', description, `already identifies tenant ${owner}; one caller cannot belong to two tenants`, 'give each tenant its own identity');
    }
    if (spec.def && this.defaultTenant) {
      throw propError(scope, 'defaultTenant', 'true', `but tenant ${this.defaultTenant} is already the default tenant`, 'name one default tenant per router');
    }
    shard.specs.push(spec);
    this.ids.add(spec.id);
    for (const { dedupe } of identities) this.identities.set(dedupe, spec.id);
    if (spec.def) this.defaultTenant = spec.id;
    // Once per router: the first tenant with a USD budget on the bundled (illustrative) prices.
    const illustrative = !this.warnedPrices ? checkBudgetPrices(spec.usd !== undefined, catalog) : undefined;
    if (illustrative) {
      addRuleWarning(this.node.scope as Construct, illustrative);
      this.warnedPrices = true;
    }
  }

  /**
   * Adds a tenant's requests per minute to each of its models' shares, and
   * warns once when the tenants of this router may together send a model
   * more than the gateway allows the whole account (30 per minute).
   */
  public checkRateShares(scope: Construct, models: readonly string[], rpm: number | undefined): void {
    if (rpm === undefined || Token.isUnresolved(models)) return;
    for (const model of models) this.rateShares.set(model, (this.rateShares.get(model) ?? 0) + rpm);
    if (this.warnedRates) return;
    const over = [...this.rateShares].filter(([, n]) => n > GATEWAY_REQUESTS_PER_MINUTE_PER_MODEL);
    if (over.length === 0) return;
    this.warnedRates = true;
    Annotations.of(this.node.scope as Construct).addWarningV2('cdk-llm-gateway-router:tenantRatesOverGatewayLimit',
      `The tenants' requestsPerMinutePerModel add up to more than the gateway's ${GATEWAY_REQUESTS_PER_MINUTE_PER_MODEL} requests per minute per model `
      + `(for the whole account) for ${over.map(([m, n]) => `${m} (${n})`).join(', ')}, as of tenant ${scope.node.id}: past the gateway's limit, tenants get its 429s instead of their share. `
      + 'Give tenants shares that add up to at most the limit.');
  }

  /** The shard's item, written (and rewritten, and deleted) by CloudFormation through a custom resource in the shard's stack. */
  private writeShard(shard: TenantShard): void {
    const key = tenantShardKey(shard.index);
    const stack = Stack.of(shard.scope);
    const item = tenantShardItem(
      shard.index,
      Lazy.string({ produce: () => stack.toJsonString({ v: 1, t: shard.specs }) }),
      Lazy.string({ produce: () => shard.version() }),
    );
    new cr.AwsCustomResource(shard.scope, 'Write', {
      resourceType: 'Custom::LlmGatewayRouterTenants',
      onCreate: { service: 'DynamoDB', action: 'PutItem', parameters: { TableName: this.table.tableName, Item: item }, physicalResourceId: cr.PhysicalResourceId.of(key) },
      onUpdate: { service: 'DynamoDB', action: 'PutItem', parameters: { TableName: this.table.tableName, Item: item }, physicalResourceId: cr.PhysicalResourceId.of(key) },
      onDelete: { service: 'DynamoDB', action: 'DeleteItem', parameters: { TableName: this.table.tableName, Key: tenantTableKey(key) } },
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [this.table.tableArn] })]),
      installLatestAwsSdk: false,
    });
    const provider = stack.node.tryFindChild(AWS_CUSTOM_RESOURCE_PROVIDER_ID);
    if (provider) {
      acknowledgeRules(provider, {
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
          'aws-cdk-lib\'s AwsCustomResource provider (it writes the tenant shards at deploy time) logs through the AWS managed basic execution policy; it runs only during deployments.',
        'AwsSolutions-L1': 'The runtime of aws-cdk-lib\'s AwsCustomResource provider is chosen by aws-cdk-lib; it runs only during deployments.',
      });
    }
  }
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

export type { TenantShard };
