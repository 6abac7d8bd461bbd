import { missingPackages } from './packages';
import { RegionCode } from '../contract/catalog';
import { isLoopbackHost } from '../contract/env';
import {
  DEFAULT_GUARDRAIL_TIMEOUT_MS, DEFAULT_GUARDRAIL_WINDOW_CHARS, GuardrailSpec, guardrailSpecProblem, parseGuardrailIdentifier,
} from '../contract/guardrail';

/**
 * `serve --guardrail ID:VERSION`: the router's guardrail, checked with the
 * rules the handler applies (an EU router's in an EU member state's
 * region), with the region the Bedrock client calls and where it calls it.
 */
export interface LocalGuardrailFlags {
  /** `ID:VERSION` (the id may be an ARN, whose colons come before the last one). */
  readonly guardrail: string;
  readonly region?: string;
  readonly bedrockEndpoint?: string;
  readonly windowChars?: number;
  readonly failOpen?: boolean;
  readonly inputOnly?: boolean;
}

export interface LocalGuardrail {
  readonly spec: GuardrailSpec;
  readonly bedrockEndpoint?: string;
  /**
   * Credentials for a local endpoint when the environment has none (a stand-in
   * does not check signatures); a real Bedrock endpoint uses the default chain.
   */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The packages `serve --guardrail` needs at run time (a deployed router gets them from Lambda). */
const NEEDED = ['@aws-sdk/client-bedrock-runtime', '@smithy/node-http-handler'];

export function missingGuardrailPackages(resolve?: (name: string) => unknown): string | undefined {
  return missingPackages('--guardrail', NEEDED, resolve);
}

/** The guardrail of `serve`; throws with a one-line message naming the flag. */
export function localGuardrail(
  flags: LocalGuardrailFlags, region: RegionCode, env: Readonly<Record<string, string | undefined>> = process.env,
): LocalGuardrail {
  const at = flags.guardrail.lastIndexOf(':');
  const id = at > 0 ? flags.guardrail.slice(0, at) : '';
  const version = at > 0 ? flags.guardrail.slice(at + 1) : '';
  if (!id || !version) throw new Error(`--guardrail must be ID:VERSION (for example abc123def456:1, or an ARN and :DRAFT), got ${JSON.stringify(flags.guardrail)}`);
  const arnRegion = parseGuardrailIdentifier(id)?.region;
  let endpoint: URL | undefined;
  if (flags.bedrockEndpoint !== undefined) {
    try {
      endpoint = new URL(flags.bedrockEndpoint);
    } catch {
      endpoint = undefined;
    }
    if (!endpoint || (endpoint.protocol !== 'https:' && !(endpoint.protocol === 'http:' && isLoopbackHost(endpoint.hostname)))) {
      throw new Error(`--bedrock-endpoint must be an https URL (plain http only to a loopback address), got ${JSON.stringify(flags.bedrockEndpoint)}`);
    }
  }
  // As deployed: the flag, else the ARN's region, else the environment's (the function's own).
  const spec: GuardrailSpec = {
    id,
    v: version,
    r: flags.region ?? arnRegion ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined),
    out: !flags.inputOnly,
    open: flags.failOpen || undefined,
    win: flags.windowChars ?? DEFAULT_GUARDRAIL_WINDOW_CHARS,
    ms: DEFAULT_GUARDRAIL_TIMEOUT_MS,
  };
  if (spec.r === undefined) throw new Error('--guardrail needs a region: pass --guardrail-region (or set AWS_REGION)');
  const problem = guardrailSpecProblem(spec, region);
  if (problem) throw new Error(`--guardrail: ${problem}`);
  const local = endpoint !== undefined && isLoopbackHost(endpoint.hostname) && !env.AWS_ACCESS_KEY_ID;
  return {
    spec,
    bedrockEndpoint: flags.bedrockEndpoint?.replace(/\/+$/, ''),
    credentials: local ? { accessKeyId: 'LOCALGUARDRAIL', secretAccessKey: 'local-guardrail-endpoint' } : undefined,
  };
}
