import { Annotations, Aws, CfnRule, Duration, Fn, Names, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RouterAuthorization } from './authorization';
import { checkConcurrency, DeploymentSettings, resolveDeployment } from './deployment-settings';
import { GatewayRegion, regionCode } from './region';
import { LlmGatewayRouterProps } from './router-props';
import { checkGlobalRoutingUseful, propError, validateAllowedModels } from './validation';
import { EU_MEMBER_STATE_AWS_REGIONS, GATEWAY_ENDPOINTS, RegionCode } from '../catalog/catalog';
import { DEFAULTS, isAcceptableEndpointProtocol } from '../catalog/env';

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
  validateGlobalRouting(scope, globalRouting, code);
  const allowed = validateAllowedModels(scope, code, props.allowedModels);
  if (globalRouting) checkGlobalRoutingUseful(scope, allowed);
  if (code === 'eu') validateEuDeployment(scope, props.additionalDeploymentRegions ?? []);
  const authorization = props.authorization ?? RouterAuthorization.iam();
  validateRange(scope, 'throttlingRateLimit', props.throttlingRateLimit, 1, 10_000, 'choose requests per second between 1 and 10000');
  validateRange(scope, 'throttlingBurstLimit', props.throttlingBurstLimit, 1, 5_000, 'choose a burst between 1 and 5000');
  validateRange(scope, 'memorySize', props.memorySize, 128, 10_240, 'choose 128 to 10240 MB (256 is the default)');
  validateRouterName(scope, props.routerName);
  const settings: RouterSettings = {
    region,
    code,
    globalRouting,
    transcriptAccess: props.transcriptAccess ?? false,
    authorization,
    routerName: props.routerName ?? Names.uniqueResourceName(scope, { maxLength: 64, separator: '-' }),
    metricsNamespace: props.metricsNamespace ?? DEFAULTS.metricsNamespace,
    stageName: props.stageName ?? 'prod',
    allowedModels: allowed.models,
    endpoint: resolveEndpoint(scope, code, props.customEndpoint),
    customEndpoint: props.customEndpoint !== undefined,
    ...resolveTimeouts(scope, props.timeout, props.upstreamTimeout),
    maxBodyBytes: resolveMaxBody(scope, props.maxRequestBodySize),
    memorySize: props.memorySize ?? 256,
    throttlingRateLimit: props.throttlingRateLimit ?? 50,
    throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    deployment: resolveDeployment(scope, props),
  };
  checkConcurrency(scope, settings.throttlingRateLimit, settings.timeout, settings.deployment.reservedConcurrentExecutions);
  return settings;
}

function validateGlobalRouting(scope: Construct, globalRouting: boolean, code: RegionCode): void {
  if (globalRouting && code === 'eu') {
    throw propError(scope, 'globalRouting', 'true', 'is not allowed with region: GatewayRegion.EU, because global routing sends requests to providers\' non-regional endpoints and would abandon EU data residency',
      'remove globalRouting from the EU router, or use GatewayRegion.US for traffic without residency needs');
  }
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

function resolveEndpoint(scope: Construct, code: RegionCode, custom: string | undefined): string {
  if (custom === undefined) return GATEWAY_ENDPOINTS[code];
  if (!Token.isUnresolved(custom)) validateCustomEndpoint(scope, custom);
  Annotations.of(scope).addWarningV2('cdk-llm-gateway-router:customEndpoint',
    `customEndpoint: requests go to ${custom} instead of ${GATEWAY_ENDPOINTS[code]}${code === 'eu' ? '; EU residency now depends on where that endpoint sends data' : ''}.`);
  return custom;
}

/** An https URL, or plain http to loopback only: the gateway key travels in its Authorization header. */
function validateCustomEndpoint(scope: Construct, custom: string): void {
  let url: URL | undefined;
  try {
    url = /^https?:\/\/[^/\s]+/.test(custom) ? new URL(custom) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) {
    throw propError(scope, 'customEndpoint', JSON.stringify(custom), 'is not an http(s) URL', 'pass a base URL such as https://llm-proxy.internal.example.com');
  }
  if (!isAcceptableEndpointProtocol(url)) {
    throw propError(scope, 'customEndpoint', JSON.stringify(custom), 'uses plain http, so the gateway key would travel in clear text',
      `use https (${JSON.stringify(`https://${url.host}${url.pathname === '/' ? '' : url.pathname}`)}); plain http is accepted only for loopback addresses (localhost, 127.0.0.0/8, [::1])`);
  }
}

function resolveTimeouts(scope: Construct, timeoutProp?: Duration, upstreamProp?: Duration): { timeout: Duration; upstreamTimeout: Duration } {
  const timeout = timeoutProp ?? Duration.minutes(5);
  const timeoutMs = timeout.toMilliseconds();
  if (timeoutMs < 10_000 || timeoutMs > 900_000) {
    throw propError(scope, 'timeout', timeout.toHumanString(), 'is outside 10 seconds to 15 minutes', 'choose a timeout in that range (15 minutes is API Gateway\'s limit for a streamed response)');
  }
  const upstreamTimeout = upstreamProp ?? Duration.millis(Math.min(DEFAULTS.upstreamTimeoutMs, timeoutMs - 10_000));
  if (upstreamTimeout.toMilliseconds() >= timeoutMs || upstreamTimeout.toMilliseconds() < 1_000) {
    throw propError(scope, 'upstreamTimeout', upstreamTimeout.toHumanString(), `must be at least 1 second and shorter than timeout (${timeout.toHumanString()}) so the router can still answer 504`,
      'lower upstreamTimeout or raise timeout');
  }
  return { timeout, upstreamTimeout };
}

function resolveMaxBody(scope: Construct, size?: Size): number {
  const bytes = (size ?? Size.bytes(DEFAULTS.maxBodyBytes)).toBytes();
  if (!Number.isInteger(bytes) || bytes < 1024 || bytes > 10 * 1024 * 1024) {
    throw propError(scope, 'maxRequestBodySize', `${bytes} bytes`, 'is outside 1 KiB to 10 MiB', 'choose a size in that range (10 MB is API Gateway\'s payload limit)');
  }
  return bytes;
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
