import { ANSWER_TEXT_FIELDS, isObject } from './texts';

/** What a window's check decided: release it as it is, release it masked, or end the stream with `event`. */
export type WindowOutcome =
  | { readonly kind: 'pass' }
  /** One masked text per text checked, in the order given. */
  | { readonly kind: 'mask'; readonly texts: readonly string[] }
  /** `event`: the SSE text that ends the caller's stream (an error event and `[DONE]`). */
  | { readonly kind: 'stop'; readonly event: string };

/** Checks a window's texts (one per stream of text: a choice's content, a tool call's arguments...). */
export type WindowCheck = (texts: readonly string[]) => Promise<WindowOutcome>;

/** What a check releases: the text the caller may now have, and whether the stream ends there. */
export interface Release {
  readonly text: string;
  readonly stop: boolean;
}

/** A held SSE line, and the texts it adds to the window. */
interface HeldLine {
  line: string;
  /** The parsed event, rewritten and re-serialised when a mask changes it. */
  readonly event?: Record<string, unknown>;
  readonly pieces: Piece[];
}

/** One piece of text in a held line: which text of the window it belongs to, and how to replace it. */
interface Piece {
  readonly key: string;
  readonly text: string;
  readonly replace: (text: string) => void;
}

/**
 * Holds a streamed answer back until a guardrail has checked it. SSE lines
 * go in as they arrive; a line that carries answer text, and every line
 * after it, is held until the text held reaches the window (or the stream
 * ends) and the check has passed it, so no unchecked text reaches the
 * caller and the events keep their order. A line with no text while
 * nothing is held (the role chunk, a comment) goes straight out.
 *
 * A window is checked as one text per stream of text (each choice's
 * content, refusal, reasoning, each tool call's arguments), so masked
 * texts can be put back: the first piece of each text carries the whole
 * masked text and its other pieces become empty.
 */
export class StreamWindow {
  private held: HeldLine[] = [];
  private heldChars = 0;

  constructor(private readonly windowChars: number, private readonly checkTexts: WindowCheck) {}

  /** Whether the text held has reached the window: time to `check()`. */
  get due(): boolean {
    return this.heldChars >= this.windowChars;
  }

  /** Takes complete SSE lines and returns what may go out now (lines with no text, while nothing is held). */
  push(text: string): string {
    let now = '';
    for (const line of splitLines(text)) {
      const held = readLine(line);
      if (held.pieces.length === 0 && this.held.length === 0) {
        now += line;
        continue;
      }
      this.held.push(held);
      for (const piece of held.pieces) this.heldChars += piece.text.length;
    }
    return now;
  }

  /**
   * Checks what is held (when there is text to check) and releases it:
   * as it was, masked, or not at all when the stream must end.
   */
  async check(): Promise<Release> {
    const held = this.held;
    this.held = [];
    this.heldChars = 0;
    const texts = new Map<string, Piece[]>();
    for (const line of held) {
      for (const piece of line.pieces) {
        const pieces = texts.get(piece.key);
        if (pieces) pieces.push(piece);
        else texts.set(piece.key, [piece]);
      }
    }
    if (texts.size === 0) return { text: held.map((h) => h.line).join(''), stop: false };
    const groups = [...texts.values()];
    const outcome = await this.checkTexts(groups.map((pieces) => pieces.map((p) => p.text).join('')));
    if (outcome.kind === 'stop') return { text: outcome.event, stop: true };
    if (outcome.kind === 'mask') {
      groups.forEach((pieces, i) => pieces.forEach((piece, n) => piece.replace(n === 0 ? outcome.texts[i] : '')));
      for (const line of held) {
        if (line.event && line.pieces.length > 0) line.line = `data: ${JSON.stringify(line.event)}\n`;
      }
    }
    return { text: held.map((h) => h.line).join(''), stop: false };
  }
}

/** Lines with their line ends (`text` is complete lines, as the SSE relay hands them over). */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const stop = end < 0 ? text.length : end + 1;
    lines.push(text.slice(start, stop));
    start = stop;
  }
  return lines;
}

/**
 * The texts of one SSE line: for a `data:` event, each choice's delta
 * texts; for a `data:` payload that is not JSON (and not `[DONE]`), the
 * whole payload, since a lenient client might show it.
 */
function readLine(line: string): HeldLine {
  if (!line.startsWith('data:')) return { line, pieces: [] };
  const payload = line.slice(5).trim();
  if (payload === '' || payload === '[DONE]') return { line, pieces: [] };
  let event: unknown;
  try {
    event = JSON.parse(payload);
  } catch {
    const held: HeldLine = { line, pieces: [] };
    held.pieces.push({ key: 'raw', text: payload, replace: (text) => { held.line = `data: ${text}\n`; } });
    return held;
  }
  if (!isObject(event)) return { line, pieces: [] };
  const pieces: Piece[] = [];
  const choices = Array.isArray(event.choices) ? event.choices : [];
  choices.forEach((choice, position) => {
    if (!isObject(choice) || !isObject(choice.delta)) return;
    const delta = choice.delta;
    const index = typeof choice.index === 'number' ? choice.index : position;
    for (const field of ['content', ...ANSWER_TEXT_FIELDS]) {
      const text = delta[field];
      const key = `${index}/${field}`;
      if (typeof text === 'string' && text.length > 0) pieces.push({ key, text, replace: (t) => { delta[field] = t; } });
      // Content as parts, as some providers stream it.
      if (Array.isArray(text)) {
        for (const part of text) {
          if (isObject(part) && typeof part.text === 'string' && part.text.length > 0) pieces.push({ key, text: part.text, replace: (t) => { part.text = t; } });
        }
      }
    }
    const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    calls.forEach((call, n) => {
      const fn = isObject(call) ? call.function : undefined;
      const callIndex = isObject(call) && typeof call.index === 'number' ? call.index : n;
      if (isObject(fn) && typeof fn.arguments === 'string' && fn.arguments.length > 0) {
        pieces.push({ key: `${index}/tool/${callIndex}`, text: fn.arguments, replace: (t) => { fn.arguments = t; } });
      }
    });
  });
  return { line, event, pieces };
}
