import { BedrockGuardrails, GuardrailClientOptions, GuardrailSource, GuardrailUnavailableError } from './bedrock';
import { StreamWindow, WindowOutcome } from './stream-window';
import { answerSlots, promptSlots, TextSlot } from './texts';
import type { Verdict } from './verdict';
import { ENV } from '../../contract/env';
import { GuardrailPolicyType, GuardrailSpec, guardrailSpecProblem, parseGuardrailSpec, TenantGuardrailSpec } from '../../contract/guardrail';
import type { RouterConfig } from '../config';
import { errorBody, OpenAiErrorBody, reject, Rejection, RouterFault } from '../errors';
import type { RequestLogFields } from '../log';
import type { Forward } from '../policy';
import type { ServedRequest } from '../served-request';

export type { GuardrailClientOptions };

/** The guardrail that checks a request's answer (one whose guardrail checks answers). */
export interface AnswerGuard {
  readonly guardrails: Guardrails;
  readonly spec: GuardrailSpec;
}

/** A request or answer the guardrail stops, with the headers of its answer. */
export type GuardrailRefusal = Rejection & { readonly kind: 'reject'; readonly headers: Record<string, string> };

/** Time kept back from the function's deadline: a check must fail early enough to say so. */
const DEADLINE_MARGIN_MS = 1_000;
/** A block would be repeated: tell the OpenAI SDKs not to retry it. */
const NO_RETRY = Object.freeze({ 'x-should-retry': 'false' });

/** How a request's checks went, strongest first: what the log's `guardrail` says. */
const ACTION_RANK = ['blocked', 'unavailable', 'unchecked', 'masked', 'passed'] as const;
export type GuardrailAction = (typeof ACTION_RANK)[number];

/**
 * The router's guardrails: which one applies to a request (the tenant's,
 * none where the tenant opted out and the router allows it, or the
 * router's), and the checks themselves: the prompt before anything goes
 * upstream, the answer before the caller sees it (a completion whole, a
 * stream window by window). A check that fails answers 503
 * `guardrail_unavailable` unless the guardrail fails open, which lets the
 * request through, logged and counted.
 */
export class Guardrails {
  /**
   * The guardrails of a router with a guardrail or with tenants (which may
   * have their own); `undefined` for a router with neither. Nothing is
   * loaded until the first check.
   */
  static fromEnv(
    env: Readonly<Record<string, string | undefined>>, config: RouterConfig, options: GuardrailClientOptions = {},
  ): Guardrails | undefined {
    const raw = env[ENV.GUARDRAIL];
    if (!raw && !env[ENV.TENANT_SHARDS]) return undefined;
    let spec: GuardrailSpec | undefined;
    if (raw) {
      try {
        spec = parseGuardrailSpec(raw);
      } catch (err) {
        throw new Error(`${ENV.GUARDRAIL} ${(err as Error).message}`);
      }
      const problem = guardrailSpecProblem(spec, config.region);
      if (problem) throw new Error(`${ENV.GUARDRAIL}: ${problem}`);
    }
    return new Guardrails(spec, config, new BedrockGuardrails(env.AWS_REGION || undefined, env[ENV.BEDROCK_ENDPOINT] || undefined, options));
  }

  /** Tenants' guardrails already checked against the router's region. */
  private readonly checked = new WeakSet<GuardrailSpec>();

  constructor(readonly routerSpec: GuardrailSpec | undefined, private readonly config: RouterConfig, private readonly bedrock: BedrockGuardrails) {}

  /**
   * The guardrail a request is checked with: its tenant's own, none where
   * the tenant opted out (only when the router's allows it: otherwise the
   * router's still applies), or the router's.
   */
  specFor(tenant: TenantGuardrailSpec | undefined): GuardrailSpec | undefined {
    if (tenant === 'none') return this.routerSpec?.optOut ? undefined : this.routerSpec;
    if (tenant === undefined) return this.routerSpec;
    if (!this.checked.has(tenant)) {
      // The construct refuses such a tenant at synth; a table written by hand is refused here.
      const problem = guardrailSpecProblem(tenant, this.config.region);
      if (problem) throw new RouterFault('misconfigured', `a tenant's guardrail: ${problem}`);
      this.checked.add(tenant);
    }
    return tenant;
  }

  /**
   * Checks every text of the prompt (`source: INPUT`): the decision as it
   * was, the decision with the masked texts in its body, or a refusal
   * (nothing has gone upstream).
   */
  async checkPrompt(ctx: ServedRequest, spec: GuardrailSpec, decision: Forward): Promise<Forward | GuardrailRefusal> {
    const body = JSON.parse(decision.upstreamBody) as Record<string, unknown>;
    const slots = promptSlots(body);
    if (slots.length === 0) return decision;
    const verdict = await this.run(ctx, spec, 'INPUT', slots.map((s) => s.text));
    if (verdict === 'unchecked') return decision;
    if (verdict instanceof GuardrailUnavailableError) return unavailable('prompt', 'nothing was sent to the model');
    if (verdict.action === 'block') return blocked('prompt', verdict.policies);
    if (verdict.action === 'pass') return decision;
    putBack(slots, verdict.texts);
    // Only texts changed: the routing fields the policy checked are as they were.
    return { ...decision, upstreamBody: JSON.stringify(body) };
  }

  /**
   * Checks a completion's texts (`source: OUTPUT`), masking them in place:
   * `relay` it as it came, relay it `masked` (re-serialised), or a refusal
   * (nothing of the answer is relayed).
   */
  async checkAnswer(ctx: ServedRequest, spec: GuardrailSpec, completion: unknown): Promise<GuardrailRefusal | 'relay' | 'masked'> {
    const slots = answerSlots(completion);
    if (slots.length === 0) return 'relay';
    const verdict = await this.run(ctx, spec, 'OUTPUT', slots.map((s) => s.text));
    if (verdict === 'unchecked') return 'relay';
    if (verdict instanceof GuardrailUnavailableError) return unavailable('answer', 'nothing of it was relayed');
    if (verdict.action === 'block') return blocked('answer', verdict.policies);
    if (verdict.action === 'pass') return 'relay';
    putBack(slots, verdict.texts);
    return 'masked';
  }

  /** Holds a streamed answer back window by window until each has passed its check. */
  streamWindow(ctx: ServedRequest, spec: GuardrailSpec): StreamWindow {
    return new StreamWindow(spec.win, async (texts): Promise<WindowOutcome> => {
      const verdict = await this.run(ctx, spec, 'OUTPUT', texts);
      if (verdict === 'unchecked') return { kind: 'pass' };
      if (verdict instanceof GuardrailUnavailableError) return stop(ctx, unavailable('answer', 'the rest of it was not relayed'));
      if (verdict.action === 'block') return stop(ctx, blocked('answer', verdict.policies));
      return verdict.action === 'mask' ? { kind: 'mask', texts: verdict.texts } : { kind: 'pass' };
    });
  }

  /**
   * One check, accounted in the request's fields: its latency, text units
   * and verdict; a failure is the error (failing closed) or `unchecked`
   * (failing open).
   */
  private async run(ctx: ServedRequest, spec: GuardrailSpec, source: GuardrailSource, texts: readonly string[]): Promise<Verdict | GuardrailUnavailableError | 'unchecked'> {
    const { fields, context } = ctx;
    const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS : Number.POSITIVE_INFINITY;
    const started = performance.now();
    fields.guardrailChecks = (fields.guardrailChecks ?? 0) + 1;
    try {
      const verdict = await this.bedrock.check(spec, source, texts, Math.min(spec.ms, remaining));
      fields.guardrailTextUnits = (fields.guardrailTextUnits ?? 0) + verdict.units;
      if (verdict.action === 'pass') {note(fields, 'passed');} else {
        note(fields, verdict.action === 'block' ? 'blocked' : 'masked');
        fields.guardrailPolicies = [...new Set([...(fields.guardrailPolicies ?? []), ...verdict.policies])].sort();
      }
      return verdict;
    } catch (err) {
      if (!(err instanceof GuardrailUnavailableError)) throw err;
      fields.guardrailErrors = (fields.guardrailErrors ?? 0) + 1;
      fields.guardrailErrorName = err.errorName;
      fields.errorDetail ??= `guardrail ${source}: ${err.message}`;
      note(fields, spec.open ? 'unchecked' : 'unavailable');
      return spec.open ? 'unchecked' : err;
    } finally {
      fields.guardrailLatencyMs = (fields.guardrailLatencyMs ?? 0) + (performance.now() - started);
    }
  }
}

/** Keeps the strongest outcome of a request's checks. */
function note(fields: RequestLogFields, action: GuardrailAction): void {
  const current = fields.guardrailAction;
  if (current === undefined || ACTION_RANK.indexOf(action) < ACTION_RANK.indexOf(current)) fields.guardrailAction = action;
}

/** Ends a stream in-band: the refusal as an error event, then `[DONE]`. */
function stop(ctx: ServedRequest, refusal: GuardrailRefusal): WindowOutcome {
  ctx.fields.rejectReason = refusal.reason;
  return { kind: 'stop', event: `data: ${JSON.stringify(refusal.body)}\n\ndata: [DONE]\n\n` };
}

function putBack(slots: readonly TextSlot[], texts: readonly string[]): void {
  slots.forEach((slot, i) => slot.replace(texts[i]));
}

/** 400 `guardrail_blocked`, naming the policy types that intervened and never the text. */
function blocked(what: 'prompt' | 'answer', policies: readonly GuardrailPolicyType[]): GuardrailRefusal {
  const by = policies.length > 0 ? `its ${policies.join(', ')} ${policies.length > 1 ? 'policies' : 'policy'}` : 'a policy it did not name';
  const rejection = reject(400, 'guardrail_blocked', `The router's guardrail blocked the ${what} (${by}).`, 'guardrail_blocked');
  return { ...rejection, kind: 'reject', headers: { ...NO_RETRY } };
}

/** 503 `guardrail_unavailable`: the check failed and the guardrail fails closed. */
function unavailable(what: 'prompt' | 'answer', consequence: string): GuardrailRefusal {
  const body: OpenAiErrorBody = errorBody(`The router's guardrail could not check the ${what}, so ${consequence}. Try again.`, 'api_error', 'guardrail_unavailable');
  return { status: 503, reason: 'guardrail_unavailable', body, kind: 'reject', headers: { 'retry-after': '1' } };
}
