import { GUARDRAIL_POLICY_TYPES, GuardrailPolicyType } from '../../contract/guardrail';

/**
 * What ApplyGuardrail answered, reduced to what the router acts on:
 * - `pass`: nothing intervened; the texts go on as they are.
 * - `mask`: only anonymizing policies acted; `texts` are the masked texts,
 *   one per text checked, in order.
 * - `block`: at least one policy blocked (or the guardrail intervened
 *   without saying how, which is treated as a block).
 */
export type Verdict =
  | { readonly action: 'pass'; readonly units: number }
  | { readonly action: 'mask'; readonly policies: readonly GuardrailPolicyType[]; readonly texts: readonly string[]; readonly units: number }
  | { readonly action: 'block'; readonly policies: readonly GuardrailPolicyType[]; readonly units: number };

/** The parts of ApplyGuardrail's answer the router reads (the SDK's `ApplyGuardrailResponse`). */
export interface GuardrailOutput {
  readonly action?: string;
  readonly outputs?: ReadonlyArray<{ readonly text?: string }>;
  readonly assessments?: ReadonlyArray<object>;
  readonly usage?: object;
}

/** A check's answer that cannot be acted on safely: handled like a failed check. */
export class GuardrailAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardrailAnswerError';
  }
}

/**
 * Usage fields that are not billed: word filters are free, and
 * `sensitiveInformationPolicyFreeUnits` counts the free part of the
 * sensitive-information units.
 */
const UNPRICED_UNITS = /^wordPolicyUnits$|FreeUnits$/;

/**
 * Reads ApplyGuardrail's answer to a check of `checked` texts. Fails closed
 * on anything it cannot read: an intervention that names no acting policy
 * is a block, and masked texts that do not line up one-to-one with the
 * texts checked are a `GuardrailAnswerError` (the masking cannot be applied).
 */
export function readVerdict(output: GuardrailOutput, checked: number): Verdict {
  const units = pricedUnits(output.usage);
  if (output.action === 'NONE') return { action: 'pass', units };
  if (output.action !== 'GUARDRAIL_INTERVENED') {
    throw new GuardrailAnswerError(`the guardrail answered with action ${JSON.stringify(output.action)}`);
  }
  const acted = new Set<GuardrailPolicyType>();
  let blocked = false;
  for (const assessment of output.assessments ?? []) {
    for (const [field, type] of Object.entries(GUARDRAIL_POLICY_TYPES)) {
      const actions = actionsOf((assessment as Record<string, unknown> | null)?.[field]);
      if (actions.length === 0) continue;
      acted.add(type);
      // Anything but ANONYMIZED (BLOCKED, or an action this router does not know) stops the text.
      if (actions.some((a) => a !== 'ANONYMIZED')) blocked = true;
    }
  }
  const policies = [...acted].sort();
  if (blocked || policies.length === 0) return { action: 'block', policies, units };
  const texts = (output.outputs ?? []).map((o) => o?.text);
  if (texts.length !== checked || texts.some((t) => typeof t !== 'string')) {
    throw new GuardrailAnswerError(`the guardrail masked ${checked} text(s) but returned ${texts.length} output(s)`);
  }
  return { action: 'mask', policies, texts: texts as string[], units };
}

/**
 * The actions a policy's assessment took: every `action` other than `NONE`
 * in its lists of findings (topics, filters, custom words, managed word
 * lists, PII entities, regexes...), whatever the list is called. A policy
 * whose findings cannot be read as lists (automated reasoning's) but that is
 * present acts as `UNKNOWN`, which blocks.
 */
function actionsOf(policy: unknown): string[] {
  if (typeof policy !== 'object' || policy === null) return [];
  const actions: string[] = [];
  let readable = false;
  for (const findings of Object.values(policy as Record<string, unknown>)) {
    if (!Array.isArray(findings)) continue;
    readable = true;
    for (const finding of findings) {
      const action = (finding as { action?: unknown } | null)?.action;
      if (typeof action === 'string' && action !== 'NONE') actions.push(action);
    }
  }
  return readable ? actions : ['UNKNOWN'];
}

/** Priced text units: the sum of the usage's `...Units` counts, but for word filters and free units. */
function pricedUnits(usage: object | undefined): number {
  let units = 0;
  for (const [field, value] of Object.entries(usage ?? {})) {
    if (field.endsWith('Units') && !UNPRICED_UNITS.test(field) && typeof value === 'number' && Number.isFinite(value) && value > 0) units += value;
  }
  return units;
}
