import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as bedrock from 'aws-cdk-lib/aws-bedrock';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { propError } from './validation';
import { EU_MEMBER_STATE_AWS_REGIONS, RegionCode } from '../contract/catalog';
import {
  DEFAULT_GUARDRAIL_TIMEOUT_MS, DEFAULT_GUARDRAIL_WINDOW_CHARS, GuardrailSpec, isAwsRegionName, isEuMemberStateRegion, isGuardrailVersion,
  MAX_GUARDRAIL_TIMEOUT_MS, MAX_GUARDRAIL_WINDOW_CHARS, MIN_GUARDRAIL_WINDOW_CHARS, parseGuardrailIdentifier, TenantGuardrailSpec,
} from '../contract/guardrail';

/**
 * What the router does when a guardrail check cannot be made (an error, a
 * throttle, a timeout).
 */
export enum GuardrailFailureMode {
  /**
   * Answer 503 `guardrail_unavailable`: a prompt is not sent upstream, an
   * answer is not relayed (a stream ends with an in-band error event).
   */
  FAIL_CLOSED = 'FAIL_CLOSED',
  /**
   * Let the request through unchecked, with a `guardrail: "unchecked"` log
   * line and the `GuardrailUnchecked` metric: an explicit choice of
   * availability over the check.
   */
  FAIL_OPEN = 'FAIL_OPEN',
}

/**
 * An Amazon Bedrock guardrail, applied with the ApplyGuardrail API to
 * prompts and answers.
 */
export interface BedrockGuardrailOptions {
  /**
   * The guardrail's id or ARN: `CfnGuardrail.attrGuardrailId` or
   * `attrGuardrailArn` of a guardrail in the same app, or an existing
   * guardrail's id or ARN. Another deploy-time value (a parameter) is taken
   * to be an id.
   */
  readonly guardrailIdentifier: string;

  /**
   * The version to apply: a version number (`CfnGuardrailVersion.attrVersion`)
   * or `DRAFT` (the working copy, which changes when edited: for trials only).
   */
  readonly guardrailVersion: string;

  /**
   * The AWS region of the guardrail, whose Bedrock endpoint checks the text.
   * An EU router's must be an EU member state's region.
   * @default - the region of `guardrailIdentifier` when it is an ARN, else the stack's region
   */
  readonly region?: string;

  /**
   * Check answers too (`source: OUTPUT`): a completion whole, a stream in
   * windows of `streamWindowCharacters`.
   * @default true
   */
  readonly checkOutput?: boolean;

  /**
   * What a failed check does.
   * @default GuardrailFailureMode.FAIL_CLOSED
   */
  readonly failureMode?: GuardrailFailureMode;

  /**
   * Characters of a streamed answer held back and checked together (100 to
   * 25,000). Smaller windows release text sooner and cost more checks; a
   * text unit is 1,000 characters.
   * @default 1000
   */
  readonly streamWindowCharacters?: number;

  /**
   * The longest wait for one check; a check that takes longer has failed.
   * @default Duration.seconds(3)
   */
  readonly timeout?: Duration;

  /**
   * The customer-managed key the guardrail is encrypted with: the function
   * is allowed to decrypt with it (ApplyGuardrail needs that).
   * @default - the guardrail uses an AWS owned key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Let tenants be configured without a guardrail (`RouterGuardrail.none()`
   * in their options). Only meaningful on the router's guardrail.
   * @default false
   */
  readonly allowTenantOptOut?: boolean;
}

/** @internal What a guardrail needs from the router it is bound to. */
export interface GuardrailHost {
  /** The router's gateway region. */
  readonly code: RegionCode;
  /** The router function's role: granted ApplyGuardrail on the guardrail. */
  readonly grantee: iam.IGrantable;
  /** The prop being bound, for error messages (`guardrail`, or a tenant's). */
  readonly prop: string;
  /** Whether the router has a guardrail that tenants may opt out of; undefined when it has none. */
  readonly routerAllowsOptOut?: boolean;
}

/**
 * A guardrail for a router or a tenant. Choose with a static factory.
 *
 * @example
 * declare const guardrail: bedrock.CfnGuardrail;
 * declare const version: bedrock.CfnGuardrailVersion;
 * RouterGuardrail.bedrock({
 *   guardrailIdentifier: guardrail.attrGuardrailId,
 *   guardrailVersion: version.attrVersion,
 * });
 */
export abstract class RouterGuardrail {
  /** An Amazon Bedrock guardrail, applied to every prompt before it leaves and (by default) to every answer. */
  public static bedrock(options: BedrockGuardrailOptions): RouterGuardrail {
    return new BedrockGuardrail(options);
  }

  /**
   * No guardrail, for a tenant of a router whose guardrail allows opting
   * out (`allowTenantOptOut`).
   */
  public static none(): RouterGuardrail {
    return new NoGuardrail();
  }

  /** @internal */
  public abstract _bind(scope: Construct, host: GuardrailHost): TenantGuardrailSpec;
}

class NoGuardrail extends RouterGuardrail {
  public _bind(scope: Construct, host: GuardrailHost): TenantGuardrailSpec {
    if (host.routerAllowsOptOut === undefined) {
      throw propError(scope, host.prop, 'RouterGuardrail.none()', 'opts out of a guardrail the router does not have', 'remove it: without a router guardrail, the tenant has none');
    }
    if (!host.routerAllowsOptOut) {
      throw propError(scope, host.prop, 'RouterGuardrail.none()', 'opts out of the router\'s guardrail, which does not allow tenants to opt out',
        'set allowTenantOptOut: true on the router\'s RouterGuardrail.bedrock(...) if this tenant may go unchecked, or give the tenant its own guardrail');
    }
    return 'none';
  }
}

/** What the same guardrail, bound twice to one role, already granted (tenants often share one). */
const granted = new WeakMap<iam.IGrantable, Set<string>>();

class BedrockGuardrail extends RouterGuardrail {
  constructor(private readonly options: BedrockGuardrailOptions) {
    super();
  }

  public _bind(scope: Construct, host: GuardrailHost): TenantGuardrailSpec {
    const o = this.options;
    const stack = Stack.of(scope);
    const prop = host.prop;
    const identifier = o.guardrailIdentifier;
    const literal = !Token.isUnresolved(identifier);
    const parts = literal ? parseGuardrailIdentifier(identifier) : undefined;
    if (literal && !parts) {
      throw propError(scope, `${prop}.guardrailIdentifier`, JSON.stringify(identifier), 'is neither a guardrail id (lower-case letters and digits) nor a guardrail ARN',
        'pass CfnGuardrail.attrGuardrailId, or the id or ARN the Bedrock console shows');
    }
    if (!Token.isUnresolved(o.guardrailVersion) && !isGuardrailVersion(o.guardrailVersion)) {
      throw propError(scope, `${prop}.guardrailVersion`, JSON.stringify(o.guardrailVersion), 'is neither a version number nor DRAFT',
        'pass CfnGuardrailVersion.attrVersion or a published version such as "1"');
    }
    const region = resolveRegion(scope, host, o.region, parts?.region);
    const window = o.streamWindowCharacters ?? DEFAULT_GUARDRAIL_WINDOW_CHARS;
    if (!Token.isUnresolved(window) && !(Number.isInteger(window) && window >= MIN_GUARDRAIL_WINDOW_CHARS && window <= MAX_GUARDRAIL_WINDOW_CHARS)) {
      throw propError(scope, `${prop}.streamWindowCharacters`, String(window), `is not a whole number from ${MIN_GUARDRAIL_WINDOW_CHARS} to ${MAX_GUARDRAIL_WINDOW_CHARS}`,
        `use ${DEFAULT_GUARDRAIL_WINDOW_CHARS} (one text unit per window) or another size in that range`);
    }
    const timeoutMs = o.timeout?.toMilliseconds() ?? DEFAULT_GUARDRAIL_TIMEOUT_MS;
    if (!Token.isUnresolved(timeoutMs) && !(timeoutMs > 0 && timeoutMs <= MAX_GUARDRAIL_TIMEOUT_MS)) {
      throw propError(scope, `${prop}.timeout`, `${timeoutMs} ms`, `is not between 1 ms and ${MAX_GUARDRAIL_TIMEOUT_MS / 1000} seconds`, 'use Duration.seconds(3), or a few seconds more for large prompts');
    }

    grantApply(host.grantee, guardrailArn(scope, identifier, parts, region), o.encryptionKey, stack);
    const spec: GuardrailSpec = {
      id: identifier,
      v: o.guardrailVersion,
      r: region,
      out: o.checkOutput ?? true,
      open: o.failureMode === GuardrailFailureMode.FAIL_OPEN || undefined,
      win: window,
      ms: timeoutMs,
      optOut: o.allowTenantOptOut || undefined,
    };
    return spec;
  }
}

/**
 * The region the guardrail is checked in: the prop, else the ARN's, else
 * (EU routers) the stack's, when known. An EU router's must be known at
 * synth and in an EU member state; a US router's may be left to the
 * function's own region.
 */
function resolveRegion(scope: Construct, host: GuardrailHost, given: string | undefined, arnRegion: string | undefined): string | undefined {
  const prop = `${host.prop}.region`;
  if (given !== undefined && !Token.isUnresolved(given) && !isAwsRegionName(given)) {
    throw propError(scope, prop, JSON.stringify(given), 'is not an AWS region name', 'use a region such as "eu-central-1" or "us-east-1"');
  }
  if (given !== undefined && arnRegion !== undefined && !Token.isUnresolved(given) && given !== arnRegion) {
    throw propError(scope, prop, JSON.stringify(given), `differs from the region of the guardrail's ARN (${arnRegion})`, 'omit region: the ARN says where the guardrail is');
  }
  const region = given ?? arnRegion;
  if (host.code !== 'eu') return region;
  const stackRegion = Stack.of(scope).region;
  const effective = region ?? (Token.isUnresolved(stackRegion) ? undefined : stackRegion);
  if (effective === undefined || Token.isUnresolved(effective)) {
    throw propError(scope, prop, effective === undefined ? '(none)' : 'a deploy-time value',
      'leaves the region of an EU router\'s guardrail unknown at synth, so it cannot be checked to be in the EU',
      `pass region: one of ${EU_MEMBER_STATE_AWS_REGIONS.join(', ')} (or deploy the stack to one of them)`);
  }
  if (!isEuMemberStateRegion(effective)) {
    throw propError(scope, prop, JSON.stringify(effective), 'is not in an EU member state, so an EU router\'s prompts and answers would be checked outside the EU',
      `use a guardrail in one of ${EU_MEMBER_STATE_AWS_REGIONS.join(', ')}`);
  }
  return effective;
}

/**
 * The guardrail's ARN for the grant: the identifier itself when it is an
 * ARN (a literal one, or `attrGuardrailArn` / `Ref` of a `CfnGuardrail`),
 * else the ARN of that id in the guardrail's region (the stack's when
 * unknown) and the stack's account.
 */
function guardrailArn(scope: Construct, identifier: string, parts: ReturnType<typeof parseGuardrailIdentifier>, region: string | undefined): string {
  if (parts?.region !== undefined || isArnToken(scope, identifier)) return identifier;
  return Stack.of(scope).formatArn({ service: 'bedrock', resource: 'guardrail', resourceName: identifier, region: region ?? Stack.of(scope).region });
}

/** Whether a deploy-time identifier is a `CfnGuardrail`'s ARN (`attrGuardrailArn`, or its `Ref`). */
function isArnToken(scope: Construct, identifier: string): boolean {
  if (!Token.isUnresolved(identifier)) return false;
  const resolved = Stack.of(scope).resolve(identifier) as { 'Fn::GetAtt'?: unknown[]; 'Ref'?: unknown };
  if (Array.isArray(resolved?.['Fn::GetAtt'])) return resolved['Fn::GetAtt'][1] === 'GuardrailArn';
  if (typeof resolved?.Ref === 'string') {
    // A Ref to a CfnGuardrail is its ARN; a Ref to a parameter is whatever the parameter holds (taken as an id).
    const target = Stack.of(scope).node.findAll().find((c) => c instanceof bedrock.CfnGuardrail && Stack.of(c).resolve(c.logicalId) === resolved.Ref);
    return target !== undefined;
  }
  return false;
}

function grantApply(grantee: iam.IGrantable, arn: string, key: kms.IKey | undefined, stack: Stack): void {
  const done = granted.get(grantee) ?? new Set<string>();
  granted.set(grantee, done);
  const arnKey = JSON.stringify(stack.resolve(arn));
  if (!done.has(arnKey)) {
    done.add(arnKey);
    iam.Grant.addToPrincipal({ grantee, actions: ['bedrock:ApplyGuardrail'], resourceArns: [arn] });
  }
  if (key) {
    const keyKey = JSON.stringify(stack.resolve(key.keyArn));
    if (!done.has(keyKey)) {
      done.add(keyKey);
      iam.Grant.addToPrincipal({ grantee, actions: ['kms:Decrypt'], resourceArns: [key.keyArn] });
    }
  }
}
