import { guardrailSpecProblem, GuardrailSpec, parseGuardrailIdentifier, parseGuardrailSpec } from '../../src/contract/guardrail';
import { StreamWindow, WindowOutcome } from '../../src/handler/guardrail/stream-window';
import { answerSlots, promptSlots } from '../../src/handler/guardrail/texts';
import { GuardrailAnswerError, readVerdict } from '../../src/handler/guardrail/verdict';

describe('readVerdict', () => {
  const usage = {
    topicPolicyUnits: 2,
    contentPolicyUnits: 2,
    wordPolicyUnits: 2,
    sensitiveInformationPolicyUnits: 2,
    sensitiveInformationPolicyFreeUnits: 5,
    contextualGroundingPolicyUnits: 1,
    contentPolicyImageUnits: 3,
    automatedReasoningPolicyUnits: 4,
    automatedReasoningPolicies: 1,
  };

  test('NONE passes, with the priced units: all but word filters, free units and counts that are not units', () => {
    // 2 topic + 2 content + 2 sensitive + 1 grounding + 3 image + 4 automated reasoning.
    expect(readVerdict({ action: 'NONE', usage }, 1)).toEqual({ action: 'pass', units: 14 });
  });

  test('units that are not positive finite numbers are not counted', () => {
    expect(readVerdict({ action: 'NONE', usage: { topicPolicyUnits: -3, contentPolicyUnits: Number.NaN, wordPolicyUnits: 9, sensitiveInformationPolicyUnits: '4' as unknown as number } }, 1))
      .toEqual({ action: 'pass', units: 0 });
    expect(readVerdict({ action: 'NONE' }, 1)).toEqual({ action: 'pass', units: 0 });
  });

  test('a policy that BLOCKED blocks, naming its type', () => {
    const verdict = readVerdict({ action: 'GUARDRAIL_INTERVENED', assessments: [{ contentPolicy: { filters: [{ type: 'VIOLENCE', action: 'BLOCKED' }] } }], outputs: [{ text: 'Sorry.' }] }, 2);
    expect(verdict).toEqual({ action: 'block', policies: ['content'], units: 0 });
  });

  test('only ANONYMIZED findings mask, with one output per text checked', () => {
    const verdict = readVerdict({
      action: 'GUARDRAIL_INTERVENED',
      assessments: [{ sensitiveInformationPolicy: { piiEntities: [{ type: 'EMAIL', action: 'ANONYMIZED' }], regexes: [{ name: 'id', action: 'NONE' }] } }],
      outputs: [{ text: 'a {EMAIL}' }, { text: 'b' }],
    }, 2);
    expect(verdict).toEqual({ action: 'mask', policies: ['sensitive_information'], texts: ['a {EMAIL}', 'b'], units: 0 });
  });

  test('ANONYMIZED beside BLOCKED blocks, naming every policy that acted, sorted; NONE findings name none', () => {
    const verdict = readVerdict({
      action: 'GUARDRAIL_INTERVENED',
      assessments: [
        { sensitiveInformationPolicy: { piiEntities: [{ action: 'ANONYMIZED' }] }, wordPolicy: { customWords: [{ match: 'x', action: 'NONE' }] } },
        { topicPolicy: { topics: [{ name: 't', action: 'BLOCKED' }] }, invocationMetrics: { guardrailProcessingLatency: 5 } },
      ],
    }, 1);
    expect(verdict).toEqual({ action: 'block', policies: ['sensitive_information', 'topic'], units: 0 });
  });

  test('an intervention that names no acting policy is a block (fail closed)', () => {
    expect(readVerdict({ action: 'GUARDRAIL_INTERVENED' }, 1)).toEqual({ action: 'block', policies: [], units: 0 });
    expect(readVerdict({ action: 'GUARDRAIL_INTERVENED', assessments: [{ automatedReasoningPolicy: { findings: [{ valid: {} }] } }] }, 1))
      .toEqual({ action: 'block', policies: [], units: 0 });
  });

  test('a policy whose findings are not lists, or an action the router does not know, blocks', () => {
    expect(readVerdict({ action: 'GUARDRAIL_INTERVENED', assessments: [{ automatedReasoningPolicy: { verdict: 'INVALID' } }] }, 1))
      .toEqual({ action: 'block', policies: ['automated_reasoning'], units: 0 });
    expect(readVerdict({ action: 'GUARDRAIL_INTERVENED', assessments: [{ sensitiveInformationPolicy: { piiEntities: [{ action: 'REDACTED' }] } }], outputs: [{ text: 'x' }] }, 1))
      .toEqual({ action: 'block', policies: ['sensitive_information'], units: 0 });
  });

  test('masked outputs that do not line up with the texts checked cannot be applied', () => {
    const intervened = { action: 'GUARDRAIL_INTERVENED', assessments: [{ sensitiveInformationPolicy: { piiEntities: [{ action: 'ANONYMIZED' }] } }] };
    expect(() => readVerdict({ ...intervened, outputs: [{ text: 'one' }] }, 2)).toThrow(new GuardrailAnswerError('the guardrail masked 2 text(s) but returned 1 output(s)'));
    expect(() => readVerdict({ ...intervened, outputs: [{ text: 'one' }, {}] }, 2)).toThrow(GuardrailAnswerError);
    expect(() => readVerdict(intervened, 1)).toThrow('the guardrail masked 1 text(s) but returned 0 output(s)');
  });

  test('null where the answer should have objects is read, not thrown on as a TypeError: it fails closed', () => {
    // A null assessment, a null policy, a null finding: the one BLOCKED finding blocks.
    expect(readVerdict({ action: 'GUARDRAIL_INTERVENED', assessments: [null as unknown as object, { topicPolicy: null, contentPolicy: { filters: [null, { action: 'BLOCKED' }] } }] }, 1))
      .toEqual({ action: 'block', policies: ['content'], units: 0 });
    // A null output where a masked text should be: the masking cannot be applied.
    const masked = { action: 'GUARDRAIL_INTERVENED', assessments: [{ sensitiveInformationPolicy: { piiEntities: [{ action: 'ANONYMIZED' }] } }] };
    const thrown = (() => {
      try {
        readVerdict({ ...masked, outputs: [null as unknown as { text: string }] }, 1);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(GuardrailAnswerError);
    expect(thrown).toMatchObject({ name: 'GuardrailAnswerError', message: 'the guardrail masked 1 text(s) but returned 1 output(s)' });
  });

  test('an action that is neither NONE nor GUARDRAIL_INTERVENED is not a verdict', () => {
    expect(() => readVerdict({ action: 'MAYBE' }, 1)).toThrow('the guardrail answered with action "MAYBE"');
    expect(() => readVerdict({}, 1)).toThrow('the guardrail answered with action undefined');
  });
});

describe('StreamWindow', () => {
  const chunk = (content: string, index = 0) => `data: ${JSON.stringify({ id: 'c', choices: [{ index, delta: { content } }] })}\n`;

  function windowOf(size: number, outcome: (texts: readonly string[]) => WindowOutcome) {
    const checked: string[][] = [];
    const window = new StreamWindow(size, async (texts) => {
      checked.push([...texts]);
      return outcome(texts);
    });
    return { window, checked };
  }

  test('lines without text go out at once while nothing is held; after text, everything is held, in order', async () => {
    const { window, checked } = windowOf(10, () => ({ kind: 'pass' }));
    const role = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' } }] })}\n`;
    expect(window.push(`${role}\n: keep-alive\n`)).toBe(`${role}\n: keep-alive\n`);
    expect(window.push(`${chunk('hello')}\n`)).toBe('');
    expect(window.push(': comment\n')).toBe('');
    expect(window.due).toBe(false);
    expect(window.push(chunk('world')).length).toBe(0);
    expect(window.due).toBe(true);
    expect(await window.check()).toEqual({ text: `${chunk('hello')}\n: comment\n${chunk('world')}`, stop: false });
    expect(checked).toEqual([['helloworld']]);
    expect(window.due).toBe(false);
  });

  test('a mask puts each masked text in its first piece and empties the rest', async () => {
    const { window, checked } = windowOf(5, () => ({ kind: 'mask', texts: ['mail {EMAIL}', 'OTHER'] }));
    window.push(chunk('mail a@') + chunk('x', 1) + chunk('b.c'));
    const released = await window.check();
    expect(checked).toEqual([['mail a@b.c', 'x']]);
    const deltas = released.text.trim().split('\n').map((l) => JSON.parse(l.slice(6)).choices[0].delta.content);
    expect(deltas).toEqual(['mail {EMAIL}', 'OTHER', '']);
  });

  test('a stop releases only its event', async () => {
    const { window } = windowOf(1, () => ({ kind: 'stop', event: 'data: {"error":{}}\n\ndata: [DONE]\n\n' }));
    window.push(chunk('bad'));
    expect(await window.check()).toEqual({ text: 'data: {"error":{}}\n\ndata: [DONE]\n\n', stop: true });
  });

  test('tool-call arguments, refusals, reasoning and content parts are checked; a data payload that is not JSON is checked whole', async () => {
    const { window, checked } = windowOf(1_000, (texts) => ({ kind: 'mask', texts: texts.map((t) => t.toUpperCase()) }));
    const tool = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [{ index: 2, function: { name: 'f', arguments: '{"q":' } }] } }] })}\n`;
    const more = `data: ${JSON.stringify({ choices: [{ delta: { refusal: 'no', reasoning_content: 'hmm', content: [{ type: 'text', text: 'part' }] } }] })}\n`;
    window.push(`${tool}${more}data: not json here\ndata: [DONE]\n`);
    const released = await window.check();
    expect(checked).toEqual([['{"q":', 'part', 'no', 'hmm', 'not json here']]);
    expect(released.text).toContain('"arguments":"{\\"Q\\":"');
    expect(released.text).toContain('"refusal":"NO"');
    expect(released.text).toContain('"text":"PART"');
    expect(released.text).toContain('data: NOT JSON HERE\n');
    expect(released.text.endsWith('data: [DONE]\n')).toBe(true);
  });

  test('malformed deltas: only the texts that are there are checked, and the lines go out untouched', async () => {
    const { window, checked } = windowOf(1_000, () => ({ kind: 'pass' }));
    const events: unknown[] = [
      { choices: ['junk', null, { index: 0 }, { index: 0, delta: 'text' }] },
      { choices: [{ index: 0, delta: { content: ['raw', null, { type: 'text' }, { text: '' }, { text: 7 }, { type: 'text', text: 'p1' }] } }] },
      { choices: [{ index: 3, delta: { content: '', refusal: '', reasoning_content: '' } }] },
      { choices: [{ index: 0, delta: { tool_calls: ['junk', null, {}, { function: 'f' }, { function: { name: 'f' } }, { function: { arguments: '' } }, { function: { arguments: 5 } }, { function: { arguments: 'a1' } }] } }] },
      { choices: 'not a list' },
      { choices: [{ index: 5, delta: { content: [{ text: '' }] } }] },
      [1, 2],
      'text',
      null,
    ];
    const lines = `${events.map((e) => `data: ${JSON.stringify(e)}\n`).join('')}data:\n`;
    // The first line has no text, so it goes out at once; the rest is held from the first text on.
    const first = window.push(lines);
    const rest = await window.check();
    expect(rest.stop).toBe(false);
    expect(first + rest.text).toBe(lines);
    expect(first).toBe(lines.split('\n')[0] + '\n');
    expect(checked).toEqual([['p1', 'a1']]);
  });

  test('deltas of one choice, or one tool call, are checked as one text by their index; without an index, by position', async () => {
    const { window, checked } = windowOf(1_000, () => ({ kind: 'pass' }));
    const event = (choices: unknown[]) => `data: ${JSON.stringify({ choices })}\n`;
    window.push([
      event([{ index: 0, delta: { content: 'a', tool_calls: [{ index: 0, function: { arguments: 'x' } }, { index: 1, function: { arguments: 'y' } }] } }]),
      // Choice 0 again by position; its call 1 by index, at position 0.
      event([{ delta: { content: 'b', tool_calls: [{ index: 1, function: { arguments: 'z' } }] } }]),
      event([{ index: 1, delta: { content: 'other choice' } }]),
      // Two calls without an index: two texts.
      event([{ index: 2, delta: { tool_calls: [{ function: { arguments: 'p' } }, { function: { arguments: 'q' } }] } }]),
    ].join(''));
    await window.check();
    expect(checked).toEqual([['ab', 'x', 'yz', 'other choice', 'p', 'q']]);
  });

  test('a push that starts with a blank line still has its events read and checked', async () => {
    const { window, checked } = windowOf(1, () => ({ kind: 'pass' }));
    expect(window.push(`\n${chunk('bad')}`)).toBe('\n');
    await window.check();
    expect(checked).toEqual([['bad']]);
  });

  test('a mask rewrites only the events it changed: held events without text keep their bytes', async () => {
    const { window } = windowOf(1_000, () => ({ kind: 'mask', texts: ['MASKED'] }));
    const spaced = 'data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}\n';
    window.push(chunk('secret'));
    window.push(spaced);
    const released = await window.check();
    expect(released.text).toBe(`data: ${JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'MASKED' } }] })}\n${spaced}`);
  });

  test('held lines without text are released without a check', async () => {
    const { window, checked } = windowOf(10, () => ({ kind: 'pass' }));
    window.push('data: [DONE]\n');
    expect(await window.check()).toEqual({ text: '', stop: false });
    expect(checked).toEqual([]);
  });
});

describe('texts', () => {
  test('a prompt\'s texts: messages and fallbacks\' messages, string content and text parts; other parts and empty texts skipped', () => {
    const body = {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'a' }, { type: 'text', text: '' }] }, { role: 'assistant', content: null }, 'junk'],
      fallbacks: [{ model: 'm', messages: [{ role: 'user', content: 'b' }] }, { model: 'n' }, 7],
    };
    const slots = promptSlots(body);
    expect(slots.map((s) => s.text)).toEqual(['a', 'b']);
    slots[0].replace('A');
    slots[1].replace('B');
    expect(body.messages[0]).toEqual({ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'A' }, { type: 'text', text: '' }] });
    expect((body.fallbacks[0] as { messages: Array<{ content: string }> }).messages[0].content).toBe('B');
  });

  test('malformed prompt shapes are skipped, not thrown on: null messages and parts, texts of other part types, calls without a function', () => {
    const body = {
      messages: [null, { role: 'user', content: [null, 'raw', { type: 'image_url', text: 'not a text part' }, { type: 'text', text: 5 }, { type: 'text', text: 'kept' }] },
        { role: 'assistant', content: null, tool_calls: [null, {}, { function: null }, { function: { arguments: 7 } }, { function: { arguments: 'args' } }] }],
      fallbacks: [null, 'x', { messages: 'not a list' }],
    };
    expect(promptSlots(body).map((s) => s.text)).toEqual(['kept', 'args']);
  });

  test('a prompt\'s replayed tool calls are checked too', () => {
    const body = { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'lookup', arguments: '{"email":"a@b.c"}' } }] }] };
    const slots = promptSlots(body);
    expect(slots.map((s) => s.text)).toEqual(['{"email":"a@b.c"}']);
    slots[0].replace('{"email":"{EMAIL}"}');
    expect(body.messages[0].tool_calls[0].function.arguments).toBe('{"email":"{EMAIL}"}');
  });

  test('an answer\'s texts: content, refusal, reasoning and tool-call arguments of every choice', () => {
    const completion = { choices: [{ message: { content: 'c', refusal: 'r', reasoning_content: 'z', tool_calls: [{ function: { arguments: '{}' } }] } }, { message: null }, {}] };
    const slots = answerSlots(completion);
    expect(slots.map((s) => s.text)).toEqual(['c', 'r', 'z', '{}']);
    slots.forEach((slot, i) => slot.replace(`masked ${i}`));
    expect(completion.choices[0].message).toEqual({ content: 'masked 0', refusal: 'masked 1', reasoning_content: 'masked 2', tool_calls: [{ function: { arguments: 'masked 3' } }] });
    expect(answerSlots(null)).toEqual([]);
  });
});

describe('the guardrail spec', () => {
  const spec: GuardrailSpec = { id: 'abc123', v: '1', r: 'eu-west-1', out: true, win: 1000, ms: 3000 };

  test('identifiers: ids and ARNs (whose region is read), nothing else', () => {
    expect(parseGuardrailIdentifier('abc123')).toEqual({ id: 'abc123' });
    expect(parseGuardrailIdentifier('arn:aws-eusc:bedrock:eusc-de-east-1:123456789012:guardrail/x1'))
      .toEqual({ id: 'x1', region: 'eusc-de-east-1', account: '123456789012', partition: 'aws-eusc' });
    expect(parseGuardrailIdentifier('ABC')).toBeUndefined();
    expect(parseGuardrailIdentifier('arn:aws:bedrock:eu-west-1:123:guardrail/x')).toBeUndefined();
  });

  test('what the handler refuses to serve with', () => {
    expect(guardrailSpecProblem(spec, 'eu')).toBeUndefined();
    expect(guardrailSpecProblem({ ...spec, r: 'eu-west-2' }, 'eu')).toContain('an EU router\'s guardrail must be checked in an EU member state\'s region');
    expect(guardrailSpecProblem({ ...spec, r: undefined }, 'eu')).toContain('got no region');
    expect(guardrailSpecProblem({ ...spec, r: undefined }, 'us')).toBeUndefined();
    expect(guardrailSpecProblem({ ...spec, id: 'arn:aws:bedrock:us-east-1:123456789012:guardrail/x', r: 'eu-west-1' }, 'us')).toBe('guardrail arn:aws:bedrock:us-east-1:123456789012:guardrail/x is in us-east-1, not eu-west-1');
    expect(guardrailSpecProblem({ ...spec, v: 'v1' }, 'us')).toContain('guardrail version "v1"');
    expect(guardrailSpecProblem({ ...spec, win: 99 }, 'us')).toContain('stream window must be 100-25000 characters, got 99');
    expect(guardrailSpecProblem({ ...spec, win: 25_001 }, 'us')).toContain('got 25001');
    expect(guardrailSpecProblem({ ...spec, ms: 0 }, 'us')).toContain('timeout must be 1-30000 ms, got 0');
    expect(guardrailSpecProblem({ ...spec, ms: 30_001 }, 'us')).toContain('got 30001');
    expect(guardrailSpecProblem({ ...spec, r: 'mars' }, 'us')).toContain('"mars" is not an AWS region');
    expect(guardrailSpecProblem({ ...spec, id: 'X!' }, 'us')).toContain('is neither a guardrail id nor a guardrail ARN');
  });

  test('the environment variable is parsed strictly', () => {
    expect(parseGuardrailSpec(JSON.stringify(spec))).toEqual(spec);
    expect(() => parseGuardrailSpec('{')).toThrow('is not JSON');
    expect(() => parseGuardrailSpec('{"id":"a","v":"1","out":"yes","win":1000,"ms":3000}')).toThrow('is not a guardrail');
    expect(() => parseGuardrailSpec('null')).toThrow('is not a guardrail');
  });
});
