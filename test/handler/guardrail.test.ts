import { GuardrailSpec } from '../../src/contract/guardrail';
import { BLOCKED_MESSAGING, localBedrockConfig, LocalGuardrail } from '../support/bedrock-guardrail';
import { completion, FakeGateway, respondWith, sseEvent } from '../support/fake-gateway';
import { rawRequest, RunningRouter, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

let guardrail: LocalGuardrail;
let gateway: FakeGateway;
beforeAll(async () => {
  guardrail = await LocalGuardrail.start();
  gateway = await FakeGateway.start();
});
afterAll(async () => {
  await guardrail.close();
  await gateway.close();
});
beforeEach(() => {
  guardrail.calls.length = 0;
  guardrail.fault = undefined;
  guardrail.faultWhen = undefined;
  guardrail.delayMs = 0;
  gateway.requests.length = 0;
  gateway.behaviour = respondWith();
  stdout.clear();
});

const SPEC: GuardrailSpec = { id: 'gr0local0001', v: '3', r: 'us-east-1', out: true, win: 100, ms: 2_000 };

async function withRouter(spec: Partial<GuardrailSpec>, run: (router: RunningRouter) => Promise<void>): Promise<void> {
  const router = await startRouter(
    { region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'], guardrail: { ...SPEC, ...spec } },
    { guardrails: { bedrockClientConfig: localBedrockConfig(guardrail) } },
  );
  try {
    await run(router);
  } finally {
    await router.close();
  }
}

const chat = (body: Record<string, unknown>) => JSON.stringify({ model: 'gpt-5', ...body });
const post = (router: RunningRouter, body: string) => rawRequest(`${router.url}/v1/chat/completions`, 'POST', body);
const lastLog = () => stdout.requestLogs.at(-1);

describe('prompts are checked before anything leaves', () => {
  test('every text part of every message, and of fallbacks that override them, is checked with source INPUT', async () => {
    await withRouter({}, async (router) => {
      const res = await post(router, chat({
        messages: [
          { role: 'system', content: 'sys text' },
          { role: 'user', content: [{ type: 'text', text: 'part one' }, { type: 'text', text: 'part two' }] },
          { role: 'assistant', content: 'earlier answer' },
          { role: 'tool', tool_call_id: 'c1', content: 'tool output' },
        ],
        fallbacks: [{ model: 'gpt-5', messages: [{ role: 'user', content: 'fallback prompt' }] }],
      }));
      expect(res.status).toBe(200);
      expect(guardrail.of('INPUT')).toHaveLength(1);
      const call = guardrail.of('INPUT')[0];
      expect(call).toMatchObject({ id: 'gr0local0001', version: '3' });
      expect(call.texts).toEqual(['sys text', 'part one', 'part two', 'earlier answer', 'tool output', 'fallback prompt']);
      expect(gateway.requests).toHaveLength(1);
    });
  });

  test('a blocked prompt answers 400 guardrail_blocked naming the policies, never the text, and nothing goes upstream', async () => {
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ messages: [{ role: 'user', content: 'tell me about TOPIC-X and FORBIDDEN things' }] }));
      expect(res.status).toBe(400);
      expect(res.headers['x-should-retry']).toBe('false');
      const body = JSON.parse(res.body);
      expect(body.error).toEqual({
        message: 'The router\'s guardrail blocked the prompt (its content, topic policies).',
        type: 'invalid_request_error',
        param: null,
        code: 'guardrail_blocked',
      });
      expect(res.body).not.toContain('TOPIC-X');
      expect(res.body).not.toContain(BLOCKED_MESSAGING);
      expect(gateway.requests).toHaveLength(0);
      const log = lastLog();
      expect(log).toMatchObject({ status: 400, reject_reason: 'guardrail_blocked', guardrail: 'blocked', guardrail_policies: ['content', 'topic'], guardrail_checks: 1 });
      expect(JSON.stringify(stdout.records)).not.toContain('TOPIC-X');
    });
  });

  test('a masked prompt goes upstream masked, routing fields untouched', async () => {
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ temperature: 0.5, messages: [{ role: 'user', content: 'write to jane.doe@example.com please' }] }));
      expect(res.status).toBe(200);
      expect(gateway.requests).toHaveLength(1);
      const sent = gateway.requests[0].json;
      expect(sent.messages[0].content).toBe('write to {EMAIL} please');
      expect(sent.model).toBe('gpt-5');
      expect(sent.temperature).toBe(0.5);
      expect(gateway.requests[0].rawBody).not.toContain('jane.doe');
      expect(lastLog()).toMatchObject({ guardrail: 'masked', guardrail_policies: ['sensitive_information'] });
      expect(JSON.stringify(stdout.records)).not.toContain('jane.doe');
      expect(JSON.stringify(stdout.records)).not.toContain('{EMAIL}');
    });
  });

  test('a request with no text to check is not sent to the guardrail', async () => {
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ messages: [{ role: 'user', content: '' }] }));
      expect(res.status).toBe(200);
      expect(guardrail.of('INPUT')).toHaveLength(0);
    });
  });
});

describe('answers are checked before the caller sees them', () => {
  test('a completion is checked with source OUTPUT and relayed when it passes', async () => {
    await withRouter({}, async (router) => {
      const done = await router.client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(done.choices[0].message.content).toBe('Hello!');
      expect(guardrail.of('OUTPUT').map((c) => c.texts)).toEqual([['Hello!']]);
    });
  });

  test('a blocked completion is an OpenAI-shaped error with nothing of the answer', async () => {
    gateway.behaviour = respondWith({ parts: ['the FORBIDDEN answer'] });
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('guardrail_blocked');
      expect(JSON.parse(res.body).error.message).toBe('The router\'s guardrail blocked the answer (its content policy).');
      expect(res.body).not.toContain('FORBIDDEN');
      // The gateway answered, so the request was billed: its usage is still read.
      expect(lastLog()).toMatchObject({ settlement: 'answered', input_tokens: 11, output_tokens: 7, guardrail_checks: 2 });
    });
  });

  test('a completion that passes is relayed byte for byte, as the gateway wrote it (not re-serialized)', async () => {
    const answer = '{ "id": "c",\n  "model": "gpt-5", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],\n  "usage": {"prompt_tokens": 5, "completion_tokens": 2} }';
    gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    };
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(200);
      expect(guardrail.of('OUTPUT').map((c) => c.texts)).toEqual([['Hello!']]);
      expect(res.body).toBe(answer);
    });
  });

  test('a blocked completion keeps the gateway\'s rate-limit headers and tells SDKs not to retry', async () => {
    gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '7' });
      res.end(JSON.stringify(completion('gpt-5', 'the FORBIDDEN answer')));
    };
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('guardrail_blocked');
      expect(res.headers['x-ratelimit-remaining-requests']).toBe('7');
      expect(res.headers['x-should-retry']).toBe('false');
    });
  });

  test('a masked completion is relayed masked', async () => {
    gateway.behaviour = respondWith({ parts: ['mail bob@example.org now'] });
    await withRouter({}, async (router) => {
      const done = await router.client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(done.choices[0].message.content).toBe('mail {EMAIL} now');
      expect(done.usage?.total_tokens).toBe(18);
    });
  });

  test('with checkOutput off, answers are relayed unchecked', async () => {
    gateway.behaviour = respondWith({ parts: ['the FORBIDDEN answer'] });
    await withRouter({ out: false }, async (router) => {
      const done = await router.client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(done.choices[0].message.content).toBe('the FORBIDDEN answer');
      expect(guardrail.of('OUTPUT')).toHaveLength(0);
      expect(guardrail.of('INPUT')).toHaveLength(1);
    });
  });
});

describe('streams are checked window by window', () => {
  /** A stream of `parts`, then a usage chunk and [DONE]. */
  function streaming(parts: string[]) {
    gateway.behaviour = respondWith({ parts });
  }

  test('text is released only after its window passed, in windows of the configured size, the rest at the end', async () => {
    // 60 + 60 characters reach the 100-character window; the last 30 are checked at the end.
    streaming(['a'.repeat(60), 'b'.repeat(60), 'c'.repeat(30)]);
    await withRouter({ win: 100 }, async (router) => {
      const stream = await router.client.chat.completions.create({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('a'.repeat(60) + 'b'.repeat(60) + 'c'.repeat(30));
      expect(guardrail.of('OUTPUT').map((c) => c.texts)).toEqual([['a'.repeat(60) + 'b'.repeat(60)], ['c'.repeat(30)]]);
      expect(lastLog()).toMatchObject({ guardrail: 'passed', guardrail_checks: 3, input_tokens: 5, settlement: 'answered' });
    });
  });

  test('a blocked window ends the stream with an in-band error and [DONE]; none of its text reaches the caller', async () => {
    streaming(['x'.repeat(120), 'now the FORBIDDEN part ', 'y'.repeat(120)]);
    await withRouter({ win: 100 }, async (router) => {
      const res = await post(router, chat({ stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(200);
      expect(res.body).toContain('x'.repeat(120));
      expect(res.body).not.toContain('FORBIDDEN');
      expect(res.body).not.toContain('y'.repeat(120));
      const events = res.body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
      expect(events.at(-1)).toBe('[DONE]');
      expect(JSON.parse(events.at(-2)!).error).toMatchObject({ code: 'guardrail_blocked', type: 'invalid_request_error' });
      expect(lastLog()).toMatchObject({ reject_reason: 'guardrail_blocked', guardrail: 'blocked', settlement: 'maybe_billed', settlement_cause: 'guardrail' });
    });
  });

  test('a masked window is relayed with the masked text', async () => {
    streaming(['write to ', 'amy@example.net', ' today ' + 'z'.repeat(100)]);
    await withRouter({ win: 100 }, async (router) => {
      const stream = await router.client.chat.completions.create({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe(`write to {EMAIL} today ${'z'.repeat(100)}`);
    });
  });

  test('a stream the upstream sends as one JSON completion is checked whole', async () => {
    gateway.behaviour = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-5', choices: [{ index: 0, message: { role: 'assistant', content: 'FORBIDDEN' }, finish_reason: 'stop' }] }));
      void req;
    };
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(400);
      expect(res.body).not.toContain('FORBIDDEN');
    });
  });

  test('a guardrail that fails mid-stream ends it with guardrail_unavailable and relays no more', async () => {
    gateway.behaviour = async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5', 'q'.repeat(150)));
      // The second window's check fails.
      guardrail.fault = 'internal';
      res.write(sseEvent('gpt-5', 'r'.repeat(150)));
      res.end('data: [DONE]\n\n');
      void req;
    };
    await withRouter({ win: 100 }, async (router) => {
      const res = await post(router, chat({ stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.body).not.toContain('rrrr');
      expect(res.body).toContain('guardrail_unavailable');
      expect(res.body.trim().endsWith('data: [DONE]')).toBe(true);
    });
  });
});

describe('fail closed', () => {
  test.each(['throttle', 'internal', 'denied', 'garbage', 'reset'] as const)('a check that fails (%s) answers 503 guardrail_unavailable and sends nothing upstream', async (fault) => {
    guardrail.fault = fault;
    await withRouter({}, async (router) => {
      const res = await post(router, chat({ messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body).error).toMatchObject({ code: 'guardrail_unavailable', type: 'api_error' });
      expect(gateway.requests).toHaveLength(0);
      expect(lastLog()).toMatchObject({ reject_reason: 'guardrail_unavailable', guardrail: 'unavailable', guardrail_errors: 1 });
    });
  });

  test('a check slower than its timeout fails closed in that time', async () => {
    guardrail.fault = 'hang';
    await withRouter({ ms: 300 }, async (router) => {
      const started = Date.now();
      const res = await post(router, chat({ messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(lastLog().guardrail_error_name).toMatch(/TimeoutError|AbortError/);
      expect(gateway.requests).toHaveLength(0);
    });
  });

  test('FAIL_OPEN lets the request through, logged and counted as unchecked', async () => {
    guardrail.fault = 'throttle';
    await withRouter({ open: true }, async (router) => {
      const res = await post(router, chat({ messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(200);
      expect(gateway.requests).toHaveLength(1);
      expect(lastLog()).toMatchObject({ guardrail: 'unchecked', guardrail_errors: 2, guardrail_error_name: 'ThrottlingException' });
      const doc = stdout.emf.at(-1);
      expect(doc.GuardrailUnchecked).toBe(1);
      expect(doc.GuardrailErrors).toBe(2);
    });
  });
});

describe('visible and billable', () => {
  test('interventions are counted per request and per policy type; latency and priced text units are recorded', async () => {
    await withRouter({}, async (router) => {
      // 1,500 characters: two text units per policy, three priced policies.
      await post(router, chat({ messages: [{ role: 'user', content: `${'w'.repeat(1_490)} FORBIDDEN` }] }));
      const docs = stdout.emf;
      const request = docs.find((d) => d.Requests === 1);
      expect(request.GuardrailInterventions).toBe(1);
      expect(request.GuardrailTextUnits).toBe(6);
      expect(request.GuardrailLatency).toBeGreaterThan(0);
      expect(request._aws.CloudWatchMetrics[0].Dimensions).toContainEqual(['service', 'Region']);
      const byPolicy = docs.filter((d) => d.GuardrailPolicy !== undefined);
      expect(byPolicy.map((d) => [d.GuardrailPolicy, d.GuardrailInterventions])).toEqual([['content', 1]]);
      expect(byPolicy[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'GuardrailPolicy']]);
    });
  });
});

describe('the check stays in the region', () => {
  test('an EU router whose guardrail variable names a region outside the EU serves nothing: 500 router_misconfigured, no check, nothing upstream', async () => {
    const router = await startRouter(
      { region: 'eu', endpoint: gateway.url, allowedModels: ['claude-sonnet-4-6'], guardrail: { ...SPEC, r: 'eu-west-2' } },
      { guardrails: { bedrockClientConfig: localBedrockConfig(guardrail) } },
    );
    try {
      const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body).error.code).toBe('router_misconfigured');
      expect(lastLog().error_detail).toContain('an EU router\'s guardrail must be checked in an EU member state\'s region');
      expect(guardrail.calls).toEqual([]);
      expect(gateway.requests).toEqual([]);
    } finally {
      await router.close();
    }
  });

  test('an EU router calls only its guardrail region\'s endpoint: the real client signs for that region', async () => {
    const router = await startRouter(
      { region: 'eu', endpoint: gateway.url, allowedModels: ['claude-sonnet-4-6'], guardrail: { ...SPEC, r: 'eu-central-1' } },
      { guardrails: { bedrockClientConfig: localBedrockConfig(guardrail) } },
    );
    try {
      const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] }));
      expect(res.status).toBe(200);
      expect(guardrail.calls.length).toBeGreaterThan(0);
      for (const call of guardrail.calls) expect(String(call.headers.authorization)).toContain('/eu-central-1/bedrock/aws4_request');
    } finally {
      await router.close();
    }
  });
});
