import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { count, median, p99, paired, round } from './support/stats';
import type { GuardrailSpec } from '../src/contract/guardrail';
import { routerEnvironment } from '../src/emulator/config';
import { installLambdaRuntimeShim, lambdaContext, proxyEvent } from '../src/emulator/runtime-shim';
import { createRouterHandler, StreamingHandler } from '../src/handler/app';

/*
 * What a guardrail costs the router itself: the same request through a
 * router without a guardrail and one with a guardrail that answers at once
 * (a local ApplyGuardrail server, through the real Bedrock runtime client),
 * interleaved request by request so the difference is paired. A real check
 * adds Bedrock's own time on top (a few hundred milliseconds per check).
 */

const KEY = 'k-0123456789abcdef';
/** The streamed answer: 40 chunks of 100 characters, so 4 windows of 1,000. */
const STREAM_CHUNKS = 40;
const CHUNK = 'x'.repeat(99) + ' ';
const WINDOW = 1_000;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A fake upstream: a JSON completion, or an SSE answer of STREAM_CHUNKS chunks. */
function upstream(): http.Server {
  const completion = JSON.stringify({ id: 'x', model: 'gpt-5-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { input_tokens: 10, output_tokens: 5 } });
  return http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if (!body.includes('"stream":true')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(completion);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < STREAM_CHUNKS; i++) res.write(`data: {"id":"s","choices":[{"index":0,"delta":{"content":"${CHUNK}"}}]}\n\n`);
      res.end('data: {"id":"s","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":40}}\n\ndata: [DONE]\n\n');
    });
  });
}

/** ApplyGuardrail, answering NONE at once (its wire format: test/support/bedrock-guardrail.ts has the full stand-in). */
function guardrailServer(calls: { n: number }): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls.n++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"action":"NONE","outputs":[],"assessments":[],"usage":{"topicPolicyUnits":1,"contentPolicyUnits":1}}');
    });
  });
}

async function invoke(handler: StreamingHandler, body: string): Promise<{ lastByte: number; firstByte: number }> {
  const start = performance.now();
  const stream = new PassThrough();
  let firstByte = 0;
  let lastByte = 0;
  // The prelude (status and headers) is the stream's first write: the body's first byte is the second.
  let writes = 0;
  stream.on('data', () => {
    writes++;
    if (writes === 2) firstByte = performance.now() - start;
  });
  stream.on('end', () => (lastByte = performance.now() - start));
  await handler(proxyEvent({ method: 'POST', path: '/v1/chat/completions', body }), stream, lambdaContext());
  if (!lastByte) await new Promise((resolve) => stream.once('end', resolve));
  return { lastByte, firstByte };
}

/**
 * Added latency per checked request (a prompt and an answer checked) and
 * per stream window, against the same requests without a guardrail; and
 * whether a router without a guardrail ever loads the Bedrock client.
 */
export async function guardrailPath(): Promise<unknown> {
  installLambdaRuntimeShim();
  const N = count(300, 20);
  const calls = { n: 0 };
  const up = upstream();
  const guard = guardrailServer(calls);
  const upstreamUrl = await listen(up);
  const bedrockEndpoint = await listen(guard);
  const base = { region: 'us' as const, endpoint: upstreamUrl, allowedModels: ['gpt-5-mini'] };
  const spec: GuardrailSpec = { id: 'benchguard1', v: '1', r: 'us-east-1', out: true, win: WINDOW, ms: 3_000 };
  const plain = createRouterHandler(routerEnvironment(base), { apiKeyProvider: async () => KEY });
  const guarded = createRouterHandler(routerEnvironment({ ...base, guardrail: spec }), {
    apiKeyProvider: async () => KEY,
    guardrails: { bedrockClientConfig: { endpoint: bedrockEndpoint, credentials: { accessKeyId: 'BENCH', secretAccessKey: 'bench' } } },
  });
  const chat = JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
  const stream = JSON.stringify({ model: 'gpt-5-mini', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
  const samples = {
    plain: [] as number[],
    guarded: [] as number[],
    plainStream: [] as number[],
    guardedStream: [] as number[],
    plainFirst: [] as number[],
    guardedFirst: [] as number[],
  };
  const silence = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = () => true; // the router's log and EMF lines
  let loadedWithoutGuardrail = false;
  let checksPerStream = 0;
  try {
    for (let i = 0; i < 5; i++) await invoke(plain, chat);
    loadedWithoutGuardrail = Object.keys(require.cache).some((m) => m.includes('client-bedrock-runtime'));
    for (let i = 0; i < N + 5; i++) {
      const a = await invoke(plain, chat);
      const b = await invoke(guarded, chat);
      const before = calls.n;
      const c = await invoke(plain, stream);
      const d = await invoke(guarded, stream);
      checksPerStream = calls.n - before;
      if (i < 5) continue; // warm-up: connections, JIT, the Bedrock client's first load
      samples.plain.push(a.lastByte);
      samples.guarded.push(b.lastByte);
      samples.plainStream.push(c.lastByte);
      samples.guardedStream.push(d.lastByte);
      samples.plainFirst.push(c.firstByte);
      samples.guardedFirst.push(d.firstByte);
    }
  } finally {
    (process.stdout as { write: unknown }).write = silence;
  }
  await new Promise((resolve) => up.close(resolve));
  await new Promise((resolve) => guard.close(resolve));
  const added = paired(samples.guarded, samples.plain);
  const addedStream = paired(samples.guardedStream, samples.plainStream);
  // One input check, then the answer's windows (the last check, at the end, sees what is left: none here).
  const windows = checksPerStream - 1;
  return {
    requests: N,
    bedrockClientLoadedWithoutGuardrail: loadedWithoutGuardrail,
    checkedRequest: {
      checks: 2,
      lastByteMs: {
        withoutGuardrail: { p50: round(median(samples.plain)), p99: round(p99(samples.plain)) },
        withGuardrail: { p50: round(median(samples.guarded)), p99: round(p99(samples.guarded)) },
      },
      addedMs: { p50: round(median(added)), p99: round(p99(added)) },
    },
    stream: {
      characters: STREAM_CHUNKS * CHUNK.length,
      window: WINDOW,
      checks: checksPerStream,
      lastByteMs: { withoutGuardrail: round(median(samples.plainStream)), withGuardrail: round(median(samples.guardedStream)) },
      addedMs: { p50: round(median(addedStream)), p99: round(p99(addedStream)) },
      addedPerWindowMs: round(median(addedStream) / Math.max(1, windows)),
      firstByteMs: { withoutGuardrail: round(median(samples.plainFirst)), withGuardrail: round(median(samples.guardedFirst)) },
    },
  };
}
