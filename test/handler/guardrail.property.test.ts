import fc from 'fast-check';
import { GuardrailSpec } from '../../src/contract/guardrail';
import { GUARDRAIL_RULES, localBedrockConfig, LocalGuardrail } from '../support/bedrock-guardrail';
import { FakeGateway, sseEvent } from '../support/fake-gateway';
import { rawRequest, RunningRouter, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

/*
 * The guardrail's promises as properties, each counting the runs that
 * reached the case it is about and failing when too few did.
 */

const stdout = StdoutCapture.install();
const RUNS = 60;
const reached: Record<string, string> = {};
afterAll(() => {
  stdout.restore();
  // eslint-disable-next-line no-console
  console.info(Object.entries(reached).map(([name, c]) => `${name}: ${c}`).join('\n'));
});

let guardrail: LocalGuardrail;
let gateway: FakeGateway;
let router: RunningRouter;
/** The stream the gateway sends next: its content parts. */
let streamParts: string[] = [];
beforeAll(async () => {
  guardrail = await LocalGuardrail.start();
  gateway = await FakeGateway.start(async (req, res) => {
    if (req.json?.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const part of streamParts) res.write(sseEvent('gpt-5', part));
      res.write(sseEvent('gpt-5', null, { usage: { prompt_tokens: 3, completion_tokens: streamParts.length } }));
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-5', choices: [{ index: 0, message: { role: 'assistant', content: streamParts.join('') }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } }));
  });
});
afterAll(async () => {
  await router?.close();
  await guardrail.close();
  await gateway.close();
});

async function routerWith(spec: Partial<GuardrailSpec>): Promise<RunningRouter> {
  await router?.close();
  router = await startRouter(
    { region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'], guardrail: { id: 'propguard1', v: '1', r: 'us-east-1', out: true, win: 100, ms: 2_000, ...spec } },
    { guardrails: { bedrockClientConfig: localBedrockConfig(guardrail) } },
  );
  return router;
}

function reset(): void {
  guardrail.calls.length = 0;
  guardrail.fault = undefined;
  guardrail.faultWhen = undefined;
  gateway.requests.length = 0;
  stdout.clear();
}

/** Text with, now and then, something the stand-in guardrail blocks or masks. */
const TRIGGERS = ['FORBIDDEN', 'TOPIC-X', 'SSN-123456789', 'someone@example.com'];
/** Mostly none; a masking trigger as often as the three blocking ones together. */
const triggerArb = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 10 },
  { arbitrary: fc.constantFrom(...TRIGGERS.slice(0, 3)), weight: 1 },
  { arbitrary: fc.constant(TRIGGERS[3]), weight: 1 },
);
const textArb = fc.tuple(
  fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '字', '.', '\n'), maxLength: 40 }),
  triggerArb,
  fc.string({ unit: fc.constantFrom('x', 'y', ' '), maxLength: 20 }),
).map(([before, trigger, after]) => `${before}${trigger ? ` ${trigger} ` : ''}${after}`);

const contentArb = fc.oneof(textArb, fc.array(textArb, { minLength: 1, maxLength: 3 }).map((texts) => texts.map((text) => ({ type: 'text', text }))));
const messageArb = fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'developer'), content: contentArb });
const requestArb = fc.record({
  messages: fc.array(messageArb, { minLength: 1, maxLength: 4 }),
  fallbacks: fc.option(fc.array(fc.record({ model: fc.constant('gpt-5'), messages: fc.array(messageArb, { minLength: 1, maxLength: 2 }) }), { maxLength: 2 }), { nil: undefined }),
});

function textsOf(request: { messages: Array<{ content: unknown }>; fallbacks?: Array<{ messages: Array<{ content: unknown }> }> }): string[] {
  const all = [...request.messages, ...(request.fallbacks ?? []).flatMap((f) => f.messages)];
  return all.flatMap((m) => (typeof m.content === 'string' ? [m.content] : (m.content as Array<{ text: string }>).map((p) => p.text)));
}

const blocks = (text: string) => GUARDRAIL_RULES.violence.test(text) || GUARDRAIL_RULES.topic.test(text) || GUARDRAIL_RULES.ssn.test(text);

test('no prompt the guardrail blocks reaches the upstream; a masked one goes up masked', async () => {
  await routerWith({ out: false });
  let blocked = 0;
  let masked = 0;
  await fc.assert(fc.asyncProperty(requestArb, async (request) => {
    reset();
    const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', ...request }));
    const texts = textsOf(request);
    if (texts.some(blocks)) {
      blocked++;
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('guardrail_blocked');
      expect(gateway.requests).toHaveLength(0);
      for (const trigger of TRIGGERS) expect(res.body).not.toContain(trigger);
    } else {
      expect(res.status).toBe(200);
      expect(gateway.requests).toHaveLength(1);
      const sent = gateway.requests[0].rawBody;
      if (texts.some((t) => t.includes('someone@example.com'))) {
        masked++;
        expect(sent).not.toContain('someone@example.com');
        expect(sent).toContain('{EMAIL}');
      }
    }
  }), { numRuns: RUNS });
  reached['blocked prompts'] = `${blocked}/${RUNS} runs blocked, ${masked} masked`;
  expect(blocked).toBeGreaterThanOrEqual(RUNS / 5);
  expect(blocked).toBeLessThanOrEqual(RUNS - RUNS / 5);
  expect(masked).toBeGreaterThanOrEqual(RUNS / 20);
});

test('a stream releases exactly the text its passed windows checked: none of a blocked window reaches the caller', async () => {
  let blockedRuns = 0;
  const partArb = fc.tuple(
    fc.string({ unit: fc.constantFrom('a', 'b', 'c', ' ', 'ü'), minLength: 1, maxLength: 90 }),
    fc.oneof({ arbitrary: fc.constant(''), weight: 9 }, { arbitrary: fc.constant(' FORBIDDEN '), weight: 1 }),
  ).map(([text, trigger]) => `${text}${trigger}`);
  await fc.assert(fc.asyncProperty(fc.array(partArb, { minLength: 1, maxLength: 12 }), fc.integer({ min: 100, max: 300 }), async (parts, win) => {
    await routerWith({ win });
    reset();
    streamParts = parts;
    const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'go' }] }));
    const events = res.body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    const received = events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e)).map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
    const checks = guardrail.of('OUTPUT');
    // What the caller got is exactly what passed a check, in order.
    const passed = checks.filter((c) => !blocks(c.texts.join(''))).map((c) => c.texts.join('')).join('');
    expect(received).toBe(passed);
    expect(received).not.toContain('FORBIDDEN');
    if (parts.some((p) => p.includes('FORBIDDEN'))) {
      blockedRuns++;
      expect(events.at(-1)).toBe('[DONE]');
      expect(JSON.parse(events.at(-2)!).error.code).toBe('guardrail_blocked');
      // The caller got a prefix of the answer, cut before the blocked window.
      expect(parts.join('').startsWith(received)).toBe(true);
    } else {
      expect(received).toBe(parts.join(''));
    }
  }), { numRuns: RUNS });
  reached['blocked streams'] = `${blockedRuns}/${RUNS} runs had a blocked window`;
  expect(blockedRuns).toBeGreaterThanOrEqual(RUNS / 5);
  expect(blockedRuns).toBeLessThanOrEqual(RUNS - RUNS / 5);
});

test('FAIL_CLOSED: a failing check never lets a prompt out or an unchecked answer through', async () => {
  await routerWith({});
  const counts = { prompt: 0, answer: 0 };
  const faultArb = fc.constantFrom('throttle', 'internal', 'denied', 'garbage', 'reset' as const);
  await fc.assert(fc.asyncProperty(
    fc.record({ fault: faultArb, failingCall: fc.integer({ min: 1, max: 4 }), stream: fc.boolean(), parts: fc.array(fc.string({ unit: fc.constantFrom('p', 'q', ' '), minLength: 8, maxLength: 80 }), { minLength: 1, maxLength: 8 }) }),
    async ({ fault, failingCall, stream, parts }) => {
      reset();
      streamParts = parts;
      // From that call on the guardrail is down: the client's own retry meets the same fault.
      guardrail.faultWhen = (_call, n) => (n >= failingCall ? fault : undefined);
      const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', stream, messages: [{ role: 'user', content: 'go' }] }));
      // A call that never happened (the answer needed fewer checks) fails nothing.
      const failed = guardrail.calls.length >= failingCall;
      if (failed && failingCall === 1) {
        counts.prompt++;
        expect(res.status).toBe(503);
        expect(JSON.parse(res.body).error.code).toBe('guardrail_unavailable');
        expect(gateway.requests).toHaveLength(0);
      } else if (failed) {
        counts.answer++;
        const answerText = parts.join('');
        const passed = guardrail.calls.slice(1, failingCall - 1).map((c) => c.texts.join('')).join('');
        if (stream) {
          const events = res.body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          const received = events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e)).map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
          expect(received).toBe(passed);
          expect(JSON.parse(events.at(-2)!).error.code).toBe('guardrail_unavailable');
        } else {
          expect(res.status).toBe(503);
          expect(Object.keys(JSON.parse(res.body))).toEqual(['error']);
          expect(res.body).not.toContain(answerText);
        }
      } else {
        expect(res.status).toBe(200);
      }
    },
  ), { numRuns: RUNS });
  reached['failing checks'] = `${counts.prompt} failed on the prompt, ${counts.answer} on the answer, of ${RUNS}`;
  expect(counts.prompt).toBeGreaterThanOrEqual(RUNS / 8);
  expect(counts.answer).toBeGreaterThanOrEqual(RUNS / 8);
});
