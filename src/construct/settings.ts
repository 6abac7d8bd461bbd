import { Annotations, Aws, CfnRule, Duration, Fn, Names, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RouterAuthorization } from './authorization';
import { checkConcurrency, DeploymentSettings, resolveDeployment } from './deployment-settings';
import { GatewayCatalog } from './gateway-catalog';
import { GatewayRegion, regionCode } from './region';
import { LlmGatewayRouterProps } from './router-props';
import { addRuleWarning, applyRule, checkModelListToken, propError } from './validation';
import { EU_MEMBER_STATE_AWS_REGIONS, GATEWAY_ENDPOINTS, RegionCode } from '../contract/catalog';
import { DEFAULTS } from '../contract/env';
import { CatalogData } from '../contract/model-catalog';
import { checkRouterRules } from '../contract/rules';

/** A router's props after defaults and validation: what the constructor builds from. */
export interface RouterSettings {
  readonly region: GatewayRegion;
  readonly code: RegionCode;
  readonly globalRouting: boolean;
  readonly transcriptAccess: boolean;
  readonly authorization: RouterAuthorization;
  readonly routerName: string;
  readonly metricsNamespace: string;
  readonly stageName: string;
  readonly allowedModels: string[];
  /** The catalog the allow-list was validated with: its rules go to the handler. */
  readonly catalog: CatalogData;
  readonly endpoint: string;
  readonly customEndpoint: boolean;
  readonly timeout: Duration;
  readonly upstreamTimeout: Duration;
  readonly maxBodyBytes: number;
  readonly memorySize: number;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Networking, private access, concurrency, tracing and encryption. */
  readonly deployment: DeploymentSettings;
  readonly egressProxy?: string;
}

/**
 * Applies the defaults and checks every rule a router's props must satisfy,
 * throwing an error that names the prop, the value and the fix. Rules that
 * depend on the deployment region (EU residency) add a CloudFormation Rule
 * when the stack's region is only known at deploy time.
 */
export function resolveSettings(scope: Construct, props: LlmGatewayRouterProps): RouterSettings {
  const region = props.region ?? GatewayRegion.US;
  const code = regionCode(region);
  const globalRouting = props.globalRouting ?? false;
  const catalog = (props.catalog ?? GatewayCatalog.bundled())._data;
  const modelsAtDeploy = props.allowedModels !== undefined && Token.isUnresolved(props.allowedModels);
  if (modelsAtDeploy) checkModelListToken(scope, props.allowAllModels);
  const timeout = checkTimeoutTokens(scope, props.timeout, props.upstreamTimeout);
  const maxBodyBytes = (props.maxRequestBodySize ?? Size.bytes(DEFAULTS.maxBodyBytes)).toBytes();
  // The rules the emulator applies too, in the same order (src/contract/rules.ts).
  const rules = applyRule(scope, () => checkRouterRules({
    region: code,
    globalRouting,
    allowedModels: modelsAtDeploy ? 'deploy-time' : props.allowedModels,
    allowAllModels: props.allowAllModels,
    catalog,
    isToken: (value) => Token.isUnresolved(value),
    customEndpoint: props.customEndpoint,
    egressProxy: props.egressProxy,
    maxBodyBytes,
    timeoutMs: timeout.toMilliseconds(),
    upstreamTimeoutMs: props.upstreamTimeout?.toMilliseconds(),
    showMillis: (ms) => Duration.millis(ms).toHumanString(),
  }));
  for (const warning of rules.warnings) addRuleWarning(scope, warning);
  if (code === 'eu') validateEuDeployment(scope, props.additionalDeploymentRegions ?? []);
  const authorization = props.authorization ?? RouterAuthorization.iam();
  validateRange(scope, 'throttlingRateLimit', props.throttlingRateLimit, 1, 10_000, 'choose requests per second between 1 and 10000');
  validateRange(scope, 'throttlingBurstLimit', props.throttlingBurstLimit, 1, 5_000, 'choose a burst between 1 and 5000');
  validateRange(scope, 'memorySize', props.memorySize, 128, 10_240, 'choose 128 to 10240 MB (256 is the default)');
  validateRouterName(scope, props.routerName);
  refuseToken(scope, 'stageName', props.stageName !== undefined && Token.isUnresolved(props.stageName), 'is part of the API\'s URL and of the deployment\'s construct id, which must be known at synth time', 'pass a literal stage name such as "prod"');
  const settings: RouterSettings = {
    region,
    code,
    globalRouting,
    transcriptAccess: props.transcriptAccess ?? false,
    authorization,
    routerName: props.routerName ?? Names.uniqueResourceName(scope, { maxLength: 64, separator: '-' }),
    metricsNamespace: props.metricsNamespace ?? DEFAULTS.metricsNamespace,
    stageName: props.stageName ?? 'prod',
    allowedModels: modelsAtDeploy ? props.allowedModels! : rules.models.models,
    catalog,
    endpoint: endpointOf(scope, code, props.customEndpoint),
    customEndpoint: props.customEndpoint !== undefined,
    timeout,
    upstreamTimeout: props.upstreamTimeout ?? Duration.millis(rules.upstreamTimeoutMs),
    maxBodyBytes,
    memorySize: props.memorySize ?? 256,
    throttlingRateLimit: props.throttlingRateLimit ?? 50,
    throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    deployment: resolveDeployment(scope, props),
    egressProxy: props.egressProxy,
  };
  checkConcurrency(scope, settings.throttlingRateLimit, settings.timeout, settings.deployment.reservedConcurrentExecutions);
  return settings;
}

/** An EU router runs in an EU member state: checked now, or by CloudFormation at deploy time. */
function validateEuDeployment(scope: Construct, additional: string[]): void {
  const allowed = [...EU_MEMBER_STATE_AWS_REGIONS, ...additional];
  const stackRegion = Stack.of(scope).region;
  if (!Token.isUnresolved(stackRegion)) {
    if (!allowed.includes(stackRegion)) {
      throw propError(scope, 'region', 'GatewayRegion.EU',
        `is deployed in a stack in ${stackRegion}, which is not an EU member-state AWS region (allowed: ${allowed.join(', ')})`,
        'deploy the stack to one of those regions, or list the region in additionalDeploymentRegions if your residency policy allows it');
    }
    return;
  }
  new CfnRule(scope, 'EuResidencyRule', {
    assertions: [{
      assert: Fn.conditionContains(allowed, Aws.REGION),
      assertDescription: `This EU LLM Gateway router may only be deployed in: ${allowed.join(', ')}.`,
    }],
  });
}

function endpointOf(scope: Construct, code: RegionCode, custom: string | undefined): string {
  if (custom === undefined) return GATEWAY_ENDPOINTS[code];
  Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:customEndpoint',
    `customEndpoint: requests go to ${custom} instead of ${GATEWAY_ENDPOINTS[code]}${code === 'eu' ? '; EU residency now depends on where that endpoint sends data' : ''}.`);
  return custom;
}

/** The timeouts must be known at synth time; returns the function timeout. */
function checkTimeoutTokens(scope: Construct, timeoutProp?: Duration, upstreamProp?: Duration): Duration {
  // Deploy-time durations cannot work: the function's and the integration's
  // timeouts need it in different units (a token converts to neither), and
  // the upstream timeout is checked against the function timeout here.
  const fix = 'pass a literal Duration such as Duration.minutes(5); choose it per stage in code rather than with a parameter';
  refuseToken(scope, 'timeout', timeoutProp?.isUnresolved() ?? false, 'sets the function and integration timeouts and the default upstreamTimeout, which must be known at synth time', fix);
  refuseToken(scope, 'upstreamTimeout', upstreamProp?.isUnresolved() ?? false, 'must be checked against timeout at synth time', fix);
  return timeoutProp ?? Duration.minutes(5);
}

function validateRange(scope: Construct, prop: string, value: number | undefined, min: number, max: number, fix: string): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw propError(scope, prop, String(value), `is outside ${min} to ${max}`, fix);
  }
}

function validateRouterName(scope: Construct, name: string | undefined): void {
  if (name === undefined || Token.isUnresolved(name)) return;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw propError(scope, 'routerName', JSON.stringify(name), 'is not 1-64 letters, digits, ".", "_" or "-"', 'use a short name such as "platform-eu"');
  }
}

/** A prop that must be known at synth time: a clear error instead of a CDK internal one later. */
function refuseToken(scope: Construct, prop: string, isToken: boolean, why: string, fix: string): void {
  if (!isToken) return;
  throw propError(scope, prop, '(a deploy-time token)', `cannot be a token: it ${why}`, fix);
}
