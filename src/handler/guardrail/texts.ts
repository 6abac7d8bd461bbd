/**
 * The texts a guardrail checks, found in place so a masked text can be put
 * back where it came from: in a request, every text of every message
 * (`content` as a string or its `text` parts, and the arguments of tool
 * calls it replays), of the request and of each fallback that overrides the
 * messages; in an answer, each choice's content, refusal, reasoning and
 * tool-call arguments.
 */

/** One text in a JSON document, and how to replace it. */
export interface TextSlot {
  readonly text: string;
  replace(text: string): void;
}

/** The texts of a chat request: its messages' and its fallbacks' messages'. Empty texts are left out. */
export function promptSlots(body: Record<string, unknown>): TextSlot[] {
  const slots: TextSlot[] = [];
  messageSlots(body.messages, slots);
  if (Array.isArray(body.fallbacks)) {
    for (const fallback of body.fallbacks) {
      if (isObject(fallback)) messageSlots(fallback.messages, slots);
    }
  }
  return slots;
}

/** Fields of an answer's message (or a stream's delta) that carry text besides `content`. */
export const ANSWER_TEXT_FIELDS: readonly string[] = ['refusal', 'reasoning_content'];

/** The texts of a chat completion: each choice's message content, refusal, reasoning and tool-call arguments. */
export function answerSlots(completion: unknown): TextSlot[] {
  const slots: TextSlot[] = [];
  const choices = isObject(completion) && Array.isArray(completion.choices) ? completion.choices : [];
  for (const choice of choices) {
    const message = isObject(choice) ? choice.message : undefined;
    if (!isObject(message)) continue;
    contentSlots(message, slots);
    for (const field of ANSWER_TEXT_FIELDS) {
      const text = message[field];
      if (typeof text === 'string') add(slots, text, (masked) => { message[field] = masked; });
    }
    toolCallSlots(message.tool_calls, slots);
  }
  return slots;
}

function messageSlots(messages: unknown, slots: TextSlot[]): void {
  if (!Array.isArray(messages)) return;
  for (const message of messages) {
    if (!isObject(message)) continue;
    contentSlots(message, slots);
    // Earlier tool calls the caller replays are text it sends too.
    toolCallSlots(message.tool_calls, slots);
  }
}

/** `content` as a string, or the `text` of its text parts. */
function contentSlots(message: Record<string, unknown>, slots: TextSlot[]): void {
  const content = message.content;
  if (typeof content === 'string') {
    add(slots, content, (text) => { message.content = text; });
  } else if (Array.isArray(content)) {
    for (const part of content) {
      if (isObject(part) && part.type === 'text' && typeof part.text === 'string') add(slots, part.text, (text) => { part.text = text; });
    }
  }
}

function toolCallSlots(calls: unknown, slots: TextSlot[]): void {
  if (!Array.isArray(calls)) return;
  for (const call of calls) {
    const fn = isObject(call) ? call.function : undefined;
    if (isObject(fn) && typeof fn.arguments === 'string') add(slots, fn.arguments, (text) => { fn.arguments = text; });
  }
}

function add(slots: TextSlot[], text: string, replace: (text: string) => void): void {
  // ApplyGuardrail refuses an empty text, and there is nothing in one to check.
  if (text.length > 0) slots.push({ text, replace });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
