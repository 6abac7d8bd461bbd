import * as http from 'node:http';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { FakeGateway, GatewayBehaviour, sseEvent } from '../support/fake-gateway';
import { RunningRouter, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Echoes the caller's nonce back, as a completion or as a stream of pieces. */
const echo: GatewayBehaviour = (req, res) => {
  const nonce: string = req.json.messages[0].content;
  if (req.json.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of nonce.match(/.{1,6}/g)!) res.write(sseEvent(req.json.model, piece));
    res.write(sseEvent(req.json.model, null, { usage: { prompt_tokens: 1, completion_tokens: 1 } }));
    res.end('data: [DONE]\n\n');
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', model: req.json.model, choices: [{ index: 0, message: { role: 'assistant', content: nonce }, finish_reason: 'stop' }] }));
  }
};

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request; resolves with the text the caller got back (streamed pieces joined). */
function call(url: string, model: string, stream: boolean, nonce: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return resolve({ status: res.statusCode ?? 0, text: raw });
        if (!stream) return resolve({ status: 200, text: JSON.parse(raw).choices[0].message.content });
        const text = raw.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '').join('');
        resolve({ status: 200, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model, stream, messages: [{ role: 'user', content: nonce }] }));
  });
}

/** `total` requests at `concurrency`, a mix of buffered, upstream-streamed and emulated streams. */
async function run(router: RunningRouter, total: number, concurrency: number, prefix: string): Promise<{ errors: number; mismatches: number }> {
  let next = 0;
  let errors = 0;
  let mismatches = 0;
  const kinds: Array<[string, boolean]> = [['gpt-5', false], ['gpt-5', true], ['claude-sonnet-4-6', true], ['claude-sonnet-4-6', false]];
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const [model, stream] = kinds[i % kinds.length];
      const nonce = `${prefix}-${i}-${Math.random().toString(36).slice(2)}`;
      try {
        const res = await call(router.url, model, stream, nonce);
        if (res.status !== 200) errors++;
        else if (res.text !== nonce) mismatches++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { errors, mismatches };
}

describe('bounded load through the emulator (the full 10,000-request run is in the benchmark suite)', () => {
  test('1,500 mixed requests at concurrency 64: zero errors, every response matched to its request, heap flat after GC', async () => {
    const gateway = await FakeGateway.start(echo);
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5', 'claude-sonnet-4-6'] });
    try {
      const warm = await run(router, 500, 64, 'warm');
      expect(warm).toEqual({ errors: 0, mismatches: 0 });
      stdout.clear();
      gc();
      const before = process.memoryUsage().heapUsed;
      const main = await run(router, 1_000, 64, 'main');
      stdout.clear();
      gc();
      const after = process.memoryUsage().heapUsed;
      expect(main).toEqual({ errors: 0, mismatches: 0 });
      expect(gateway.requests).toHaveLength(1_500);
      // 1,000 requests that each retained even 5 KB would add 5 MB.
      expect(after - before).toBeLessThan(5 * 1024 * 1024);
    } finally {
      agent.destroy();
      await router.close();
      await gateway.close();
    }
  }, 60_000);
});
