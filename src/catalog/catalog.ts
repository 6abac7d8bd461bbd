/**
 * The single source of truth about the upstream LLM Gateway: where it lives,
 * which providers each regional endpoint serves, which accept global routing
 * and which stream upstream. The construct validates props with it at synth
 * time and the Lambda handler enforces it at request time (the bundle inlines
 * this very module), so a change here changes both.
 *
 * Facts as published by the gateway in 2026; model ids change monthly, which
 * is why unknown ids with a known provider prefix are accepted with a warning
 * rather than rejected.
 */

/** Region codes as they appear in environment variables and metrics. */
export type RegionCode = 'us' | 'eu';

/** Base URLs of the regional gateway endpoints. */
export const GATEWAY_ENDPOINTS: Readonly<Record<RegionCode, string>> = Object.freeze({
  us: 'https://llm-gateway.assemblyai.com',
  eu: 'https://llm-gateway.eu.assemblyai.com',
});

/** Hosts an EU router may ever talk to (without an explicit custom-endpoint opt-in). */
export const EU_HOST_SUFFIX = '.eu.assemblyai.com';

/** Path of the OpenAI-compatible chat completions API, upstream and on the router. */
export const CHAT_COMPLETIONS_PATH = '/v1/chat/completions';
/** Path of the model list, upstream and on the router. */
export const MODELS_PATH = '/v1/models';

/** The only value the gateway accepts for `model_region`. */
export const GLOBAL_MODEL_REGION = 'global';

/**
 * Most `fallbacks` entries a request may carry. The gateway documents
 * `fallback_config.depth` as "up to 2" (reference/llm-gateway-facts.md, late-2026
 * notes): it never walks more than two fallbacks, so a longer list only hides
 * entries from review. Raise it when the gateway documents a larger depth.
 */
export const MAX_FALLBACKS = 2;

export interface ProviderEntry {
  /** Stable id used in metrics and messages. */
  readonly id: string;
  /** Human name for error messages. */
  readonly name: string;
  /** Model id prefixes (case-sensitive) that identify the provider. */
  readonly prefixes: readonly string[];
  /** Gateway endpoints that serve this provider. */
  readonly regions: readonly RegionCode[];
  /** Whether the gateway accepts `model_region: "global"` for this provider. */
  readonly globalRouting: boolean;
  /** Whether the gateway streams (`stream: true`) this provider's answers itself. */
  readonly upstreamStreaming: boolean;
  /** Model ids known to be live (exact, case-sensitive). */
  readonly models: readonly string[];
}

export const PROVIDERS: readonly ProviderEntry[] = Object.freeze([
  {
    id: 'anthropic',
    name: 'Anthropic Claude',
    prefixes: ['claude-'],
    regions: ['us', 'eu'],
    globalRouting: true,
    upstreamStreaming: false,
    models: [
      'claude-opus-4-7',
      'claude-sonnet-5',
      'claude-opus-4-6',
      'claude-sonnet-4-6',
      'claude-opus-4-5-20251101',
      'claude-sonnet-4-5-20250929',
      'claude-haiku-4-5-20251001',
    ],
  },
  {
    id: 'google',
    name: 'Google Gemini',
    prefixes: ['gemini-'],
    regions: ['us', 'eu'],
    globalRouting: true,
    upstreamStreaming: false,
    models: [
      'gemini-3.5-flash',
      'gemini-3.5-flash-lite',
      'gemini-2.5-pro',
      'gemini-2.5-flash',
      'gemini-2.5-flash-lite',
    ],
  },
  {
    id: 'openai',
    name: 'OpenAI GPT',
    prefixes: ['gpt-'],
    regions: ['us'],
    globalRouting: true,
    upstreamStreaming: true,
    models: [
      'gpt-5.5',
      'gpt-5.2',
      'gpt-5.1',
      'gpt-5',
      'gpt-5-mini',
      'gpt-5-nano',
      'gpt-4.1',
      'gpt-oss-120b',
      'gpt-oss-20b',
    ],
  },
  {
    id: 'alibaba',
    name: 'Alibaba Cloud Qwen',
    prefixes: ['qwen'],
    regions: ['us'],
    globalRouting: false,
    upstreamStreaming: false,
    models: ['qwen3-next-80b-a3b', 'qwen3-32B'],
  },
  {
    id: 'moonshot',
    name: 'Moonshot AI Kimi',
    prefixes: ['kimi-'],
    regions: ['us'],
    globalRouting: false,
    upstreamStreaming: false,
    // kimi-k2.5 was retired in August 2026; the provider stays so that its
    // ids are still recognised (and refused in the EU).
    models: [],
  },
].map((p) => Object.freeze({
  ...p,
  prefixes: Object.freeze(p.prefixes),
  regions: Object.freeze(p.regions as RegionCode[]),
  models: Object.freeze(p.models),
})));

/**
 * AWS regions inside EU member states, where an EU router may be deployed.
 * London (eu-west-2) and Zurich (eu-central-2) are in Europe but not in the EU.
 */
export const EU_MEMBER_STATE_AWS_REGIONS: readonly string[] = Object.freeze([
  'eu-west-1',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eusc-de-east-1',
]);
