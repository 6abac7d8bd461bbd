import { RouterConfig } from './config';
import { Rejection, reject } from './errors';
import { checkRoutingKeys, Decision, parseRequestObject } from './policy';

/**
 * Admits a `POST /v1/understanding` request: the gateway's transcript-based
 * API (translation, speaker identification, custom formatting of an existing
 * transcript). Its body names a transcript and no model, so it reads a
 * transcript by design: only routers with transcript access serve it. It
 * goes to the router's own regional endpoint like every request, and fields
 * that would choose a model or global processing are refused rather than
 * passed to a route that has no allow-list to check them against.
 */
export function decideUnderstanding(rawBody: string, config: RouterConfig): Decision {
  if (!config.transcriptAccess) {
    return refused(reject(403, 'transcript_access', 'POST /v1/understanding reads a transcript: transcript access is not enabled on this router.', 'transcript_access_disabled'));
  }
  const parsed = parseRequestObject(rawBody);
  if ('status' in parsed) return refused(parsed);
  const body = parsed.body;
  const ambiguous = checkRoutingKeys(body);
  if (ambiguous) return refused(ambiguous);
  for (const field of ['model', 'model_region', 'fallbacks', 'stream']) {
    if (field in body) {
      return field === 'model_region' && config.region === 'eu'
        ? refused(reject(403, 'residency', 'Field "model_region" is refused: this router keeps data in the EU.', 'residency_violation', field))
        : refused(reject(400, 'bad_request', `Field "${field}" is not part of POST /v1/understanding.`, 'invalid_field', field));
    }
  }
  if (typeof body.transcript_id !== 'string' || body.transcript_id.length === 0) {
    return refused(reject(400, 'bad_request', 'Field "transcript_id" is required and must be a non-empty string.', 'invalid_type', 'transcript_id'));
  }
  if (typeof body.speech_understanding !== 'object' || body.speech_understanding === null || Array.isArray(body.speech_understanding)) {
    return refused(reject(400, 'bad_request', 'Field "speech_understanding" is required and must be an object.', 'invalid_type', 'speech_understanding'));
  }
  return {
    kind: 'forward',
    model: '',
    provider: '',
    stream: false,
    upstreamStream: false,
    global: false,
    // No model, so nothing the catalog prices: the route is rate-limited, never charged.
    attempts: [],
    worstCase: { inputTokens: 0, outputTokens: 0 },
    transcript: true,
    upstreamBody: JSON.stringify(body),
    url: config.understandingUrl,
  };
}

function refused(rejection: Rejection): Decision {
  return { ...rejection, kind: 'reject' };
}
