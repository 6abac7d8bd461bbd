import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RouterAuthorization } from './authorization';
import { RouterDeploymentProps } from './deployment-props';
import { GatewayCatalog } from './gateway-catalog';
import { RouterGuardrail } from './guardrail';
import { GatewayRegion } from './region';
import { TenantStoreFailureMode } from './tenants/tenant-store';

/**
 * Properties of an `LlmGatewayRouter`. Networking, private access,
 * concurrency, tracing and encryption are in `RouterDeploymentProps`.
 */
export interface LlmGatewayRouterProps extends RouterDeploymentProps {
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
   * Let callers send `transcript_id` (top level or in `fallbacks`). The
   * gateway then replaces `{{ transcript }}` in the prompt with the text of
   * that transcript, and it refuses only ids of other AssemblyAI accounts:
   * with this on, every caller of the router can read every transcript of
   * the account that owns the gateway key. Without it such requests get 403
   * `transcript_access_disabled` and nothing is sent upstream.
   * @default false
   */
  readonly transcriptAccess?: boolean;

  /**
   * Exact, case-sensitive model ids callers may use (including in `fallbacks`).
   * Pin it: without it the router allows whatever the catalog lists for the
   * region, so a newer catalog widens it (synth warns unless `allowAllModels`).
   * @default - every live catalog model the region's endpoint lists
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
   * The function's memory (which also sets its CPU share). The router's own
   * work is small; a stream is billed for its whole duration, so memory is
   * mostly what a long stream costs. 256 MB halves the bill of 512 MB and
   * keeps the router's added time under a millisecond (BENCHMARKS.md,
   * "Which default memory?"); raise it for latency-sensitive short calls.
   * @default 256
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
   * What happens to the function's log group and the API's access log group
   * when they leave the stack. Logs are evidence (who called which model
   * when), so they outlive the router unless you say otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

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
   * where that endpoint sends data. Its path is kept (`https://proxy.example/llm`
   * is called at `/llm/v1/chat/completions`). It must be https: plain http is
   * refused (the gateway key would travel in clear text), except to loopback
   * addresses (localhost, 127.0.0.0/8, [::1]).
   * @default - the region's gateway endpoint
   */
  readonly customEndpoint?: string;

  /**
   * A WAF web ACL to associate with the API stage.
   * @default - no web ACL
   */
  readonly webAclArn?: string;

  /**
   * What the router does when its tenants' budget table cannot be reached
   * (only routers with tenants have one). Failing closed refuses requests
   * with 503 `budget_unavailable`; failing open serves them unmetered.
   * @default TenantStoreFailureMode.FAIL_CLOSED
   */
  readonly tenantStoreFailureMode?: TenantStoreFailureMode;

  /**
   * The tenant budget table's protection and encryption, and the
   * Contributor Insights rules over the router's log (routers with tenants).
   * @default - deletion protection on, AWS managed encryption, the rules created
   */
  readonly tenantTable?: TenantTableOptions;

  /**
   * The model catalog to validate `allowedModels` with and whose per-model
   * rules (region, global routing, streaming, prices) the function enforces.
   * Pass `GatewayCatalog.fromFile(...)` with a file written by
   * `llm-gateway-router catalog fetch` to use models the gateway lists
   * after this library's release.
   * @default GatewayCatalog.bundled()
   */
  readonly catalog?: GatewayCatalog;

  /**
   * Allow every live model the catalog lists for the region, knowingly:
   * a newer catalog or library version then widens what callers can reach
   * (visible in `cdk diff` as the function's `LLM_GATEWAY_ALLOWED_MODELS`).
   * Silences the synth warning about an unpinned allow-list. Cannot be
   * combined with `allowedModels`.
   * @default false - without allowedModels, synth warns
   */
  readonly allowAllModels?: boolean;

  /**
   * An HTTP forward proxy the function reaches the gateway through, such as
   * `http://proxy.corp.example:3128`, for a function in a VPC whose only way
   * out is a corporate proxy. The handler opens an HTTP CONNECT tunnel to the
   * gateway's host through it and speaks TLS end to end with the gateway
   * (checking its certificate), so the proxy sees only the host name; the
   * router still calls only its region's endpoint. Credentials in the URL
   * (`http://user:pass@proxy:3128`) work but are stored in the function's
   * environment in clear (synth warning).
   * @default - direct connections
   */
  readonly egressProxy?: string;

  /**
   * A guardrail every prompt passes before anything leaves (and, unless
   * `checkOutput: false`, every answer before the caller sees it): Amazon
   * Bedrock ApplyGuardrail, in the guardrail's region (an EU member state's
   * for an EU router). Tenants may have their own (`TenantOptions.guardrail`).
   * @default - no guardrail
   */
  readonly guardrail?: RouterGuardrail;
}

/**
 * The tenant budget table: the month-by-month record of every tenant's
 * spend, which a platform team keeps.
 */
export interface TenantTableOptions {
  /**
   * Deletion protection: the table cannot be deleted (by a stack update or
   * by hand) until it is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * A customer-managed KMS key for the table; the router function is
   * granted its use.
   * @default - encrypted with an AWS managed key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Create the three Contributor Insights rules over the function's log
   * group (tenants by cost, tenant and model by cost, rejections by tenant
   * and reason). Each rule is billed per month and per matched log event.
   * @default true
   */
  readonly contributorInsights?: boolean;
}
