/**
 * Facts about the upstream LLM Gateway that are not per model: where it
 * lives, its paths and its limits. What each model is, where it is served,
 * whether it accepts global routing, streams and costs is data: the per-model
 * catalog (model-catalog.ts, models.json), refreshable from the gateway's own
 * `GET /v1/models` without a release. The construct validates props with both
 * at synth time and the handler enforces them at request time.
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
/**
 * Path of the gateway's speech-understanding API (translation, speaker
 * identification, custom formatting of an existing transcript), upstream and
 * on the router: served only by routers with transcript access.
 */
export const UNDERSTANDING_PATH = '/v1/understanding';

/** The only value the gateway accepts for `model_region`. */
export const GLOBAL_MODEL_REGION = 'global';

/**
 * Most `fallbacks` entries a request may carry. The gateway documents
 * `fallback_config.depth` as "up to 2" (reference/llm-gateway-facts.md, late-2026
 * notes): it never walks more than two fallbacks, so a longer list only hides
 * entries from review. Raise it when the gateway documents a larger depth.
 */
export const MAX_FALLBACKS = 2;

/**
 * The gateway's rate limit on paid plans: requests per minute per model, for
 * the whole account (every router using one key shares it).
 */
export const GATEWAY_REQUESTS_PER_MINUTE_PER_MODEL = 30;

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
