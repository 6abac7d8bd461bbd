/**
 * Guardrails (Amazon Bedrock ApplyGuardrail) as the construct, the emulator
 * and the handler share them: the compact spec the handler reads (from the
 * function's environment for the router's guardrail, from the tenant shards
 * for a tenant's), and the checks both sides apply to it (an EU router's
 * guardrail lives in an EU member state's region).
 */
import { EU_MEMBER_STATE_AWS_REGIONS } from './catalog';

/** One guardrail as the handler applies it. Keys are short: they travel in the environment and in tenant shards. */
export interface GuardrailSpec {
  /** The guardrail's id or ARN. */
  readonly id: string;
  /** Its version: a number, or `DRAFT`. */
  readonly v: string;
  /** The AWS region whose Bedrock endpoint is called. @default the function's own region (`AWS_REGION`) */
  readonly r?: string;
  /** Answers are checked too (`source: OUTPUT`). */
  readonly out: boolean;
  /** A failing check lets the request through, logged and counted, instead of answering 503. */
  readonly open?: boolean;
  /** Characters of a streamed answer held back and checked together. */
  readonly win: number;
  /** Longest wait for one check, in milliseconds. */
  readonly ms: number;
  /** Tenants may be configured without a guardrail (the router's only). */
  readonly optOut?: boolean;
}

/** A tenant's guardrail: its own, or `none` (only where the router's allows opting out). */
export type TenantGuardrailSpec = GuardrailSpec | 'none';

export function isEuMemberStateRegion(region: string): boolean {
  return EU_MEMBER_STATE_AWS_REGIONS.includes(region);
}

/** Stream window: 1,000 characters is one ApplyGuardrail text unit, so a window costs one unit per policy. */
export const DEFAULT_GUARDRAIL_WINDOW_CHARS = 1_000;
/** Bounds of the stream window: below, a check per few tokens; above, a long wait before the first text. */
export const MIN_GUARDRAIL_WINDOW_CHARS = 100;
export const MAX_GUARDRAIL_WINDOW_CHARS = 25_000;
/** ApplyGuardrail answers in hundreds of milliseconds; a check that takes seconds has failed. */
export const DEFAULT_GUARDRAIL_TIMEOUT_MS = 3_000;
export const MAX_GUARDRAIL_TIMEOUT_MS = 30_000;

/** ApplyGuardrail's own patterns for `guardrailIdentifier` and `guardrailVersion`. */
const GUARDRAIL_ID = /^[a-z0-9]{1,64}$/;
const GUARDRAIL_ARN = /^arn:aws(-[a-z]+)*:bedrock:([a-z0-9-]{1,20}):(\d{12}):guardrail\/([a-z0-9]{1,64})$/;
const GUARDRAIL_VERSION = /^([1-9]\d{0,7}|DRAFT)$/;
const AWS_REGION = /^[a-z]{2,4}(-[a-z]+)+-\d$/;

/** An identifier's parts: its region when it is an ARN. */
export interface GuardrailIdentifierParts {
  readonly id: string;
  readonly region?: string;
  readonly account?: string;
  readonly partition?: string;
}

/** Reads a guardrail identifier (an id or an ARN); undefined when it is neither. */
export function parseGuardrailIdentifier(identifier: string): GuardrailIdentifierParts | undefined {
  if (GUARDRAIL_ID.test(identifier)) return { id: identifier };
  const arn = GUARDRAIL_ARN.exec(identifier);
  return arn ? { id: arn[4], region: arn[2], account: arn[3], partition: `aws${arn[1] ?? ''}` } : undefined;
}

export function isGuardrailVersion(version: string): boolean {
  return GUARDRAIL_VERSION.test(version);
}

export function isAwsRegionName(region: string): boolean {
  return AWS_REGION.test(region);
}

/**
 * What is wrong with a spec for a router in `routerRegion`, or undefined.
 * The handler refuses to serve with such a spec (defence in depth behind
 * the construct's synth errors, which say the same thing in prop terms).
 */
export function guardrailSpecProblem(spec: GuardrailSpec, routerRegion: 'us' | 'eu'): string | undefined {
  const parts = parseGuardrailIdentifier(spec.id);
  if (!parts) return `guardrail identifier ${JSON.stringify(spec.id)} is neither a guardrail id nor a guardrail ARN`;
  if (!isGuardrailVersion(spec.v)) return `guardrail version ${JSON.stringify(spec.v)} is neither a version number nor DRAFT`;
  if (spec.r !== undefined && !isAwsRegionName(spec.r)) return `guardrail region ${JSON.stringify(spec.r)} is not an AWS region`;
  if (parts.region !== undefined && spec.r !== undefined && parts.region !== spec.r) {
    return `guardrail ${spec.id} is in ${parts.region}, not ${spec.r}`;
  }
  const region = spec.r ?? parts.region;
  if (routerRegion === 'eu' && (region === undefined || !isEuMemberStateRegion(region))) {
    return `an EU router's guardrail must be checked in an EU member state's region (${EU_MEMBER_STATE_AWS_REGIONS.join(', ')}), got ${region ?? 'no region'}`;
  }
  if (!(Number.isInteger(spec.win) && spec.win >= MIN_GUARDRAIL_WINDOW_CHARS && spec.win <= MAX_GUARDRAIL_WINDOW_CHARS)) {
    return `guardrail stream window must be ${MIN_GUARDRAIL_WINDOW_CHARS}-${MAX_GUARDRAIL_WINDOW_CHARS} characters, got ${spec.win}`;
  }
  if (!(Number.isInteger(spec.ms) && spec.ms > 0 && spec.ms <= MAX_GUARDRAIL_TIMEOUT_MS)) {
    return `guardrail timeout must be 1-${MAX_GUARDRAIL_TIMEOUT_MS} ms, got ${spec.ms}`;
  }
  return undefined;
}

/** Parses the router's guardrail variable; throws with the problem. */
export function parseGuardrailSpec(raw: string): GuardrailSpec {
  let spec: unknown;
  try {
    spec = JSON.parse(raw);
  } catch {
    throw new Error('is not JSON');
  }
  const s = spec as Partial<GuardrailSpec> | null;
  if (!s || typeof s !== 'object' || typeof s.id !== 'string' || typeof s.v !== 'string' || typeof s.out !== 'boolean'
    || typeof s.win !== 'number' || typeof s.ms !== 'number') {
    throw new Error('is not a guardrail {"id","v","out","win","ms"}');
  }
  return s as GuardrailSpec;
}

/**
 * The policy types ApplyGuardrail assesses, as the router names them (in
 * the `guardrail_blocked` message, the log and the `GuardrailPolicy`
 * dimension), keyed by their field in an assessment.
 */
export const GUARDRAIL_POLICY_TYPES = Object.freeze({
  topicPolicy: 'topic',
  contentPolicy: 'content',
  wordPolicy: 'word',
  sensitiveInformationPolicy: 'sensitive_information',
  contextualGroundingPolicy: 'contextual_grounding',
  automatedReasoningPolicy: 'automated_reasoning',
} as const);

export type GuardrailPolicyType = (typeof GUARDRAIL_POLICY_TYPES)[keyof typeof GUARDRAIL_POLICY_TYPES];
