import * as fc from 'fast-check';
import { routerEnvironment } from '../../src/emulator/config';
import { createRouterHandler } from '../../src/handler/app';
import { FakeGateway, sleep, sseEvent } from '../support/fake-gateway';
import { invoke } from '../support/in-process';
import '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

const MARKER = '[REDACTED]';
const STATUSES = [400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504];

let gateway: FakeGateway;
beforeAll(async () => {
  gateway = await FakeGateway.start();
});
afterAll(() => gateway.close());
afterEach(() => stdout.clear());

function handlerWithKey(key: string) {
  return createRouterHandler(routerEnvironment({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5', 'claude-sonnet-4-6'] }), { apiKeyProvider: async () => key });
}

/** Every form in which a key could be read back: as sent, and escaped inside a JSON string. */
function leaks(text: string, key: string): boolean {
  return text.includes(key) || text.includes(JSON.stringify(key).slice(1, -1));
}

/** Text around the key: any Unicode, including characters JSON must escape. */
const fragment = fc.string({ unit: 'grapheme', maxLength: 30 });

describe('the gateway key never reaches the caller', () => {
  test('in an upstream error body or header, of any status, wherever the upstream echoes it', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Credential-like keys, including characters JSON escapes.
        fc.stringMatching(/^[A-Za-z0-9_\-"\\/.+=]{16,48}$/),
        fc.constantFrom(...STATUSES),
        fc.constantFrom('nested', 'flat', 'auth', 'text'),
        fc.array(fragment, { minLength: 2, maxLength: 4 }),
        fc.string({ unit: fc.constantFrom(...'abc XYZ-_=;'.split('')), maxLength: 10 }),
        async (key, status, shape, parts, headerPrefix) => {
          const echoed = parts.join(key);
          const body = shape === 'nested' ? JSON.stringify({ error: { code: `bad_${parts[0]}`, message: echoed, metadata: { authorization: key } } })
            : shape === 'flat' ? JSON.stringify({ code: key, message: echoed, request_id: 'req_1', metadata: {} })
              : shape === 'auth' ? JSON.stringify({ error: echoed, status: 'error', request_id: key })
                : echoed;
          gateway.behaviour = (_req, res) => {
            res.writeHead(status, {
              'content-type': shape === 'text' ? 'text/plain' : 'application/json',
              // '0': the router's retries of 429/502/503 are immediate.
              'retry-after': '0',
              'x-ratelimit-remaining': `${headerPrefix}${key}`,
              'x-ratelimit-service': key,
            });
            res.end(body);
          };
          const out = await invoke(handlerWithKey(key), JSON.stringify({ model: 'gpt-5', messages: [] }));
          expect(out.status).toBe(status === 401 ? 502 : status);
          expect(leaks(out.body, key)).toBe(false);
          for (const [name, value] of Object.entries(out.headers)) {
            expect(leaks(name, key) || leaks(String(value), key)).toBe(false);
          }
          const relayed = JSON.parse(out.body).error;
          if (status !== 401 && shape !== 'text') expect(relayed.message).toContain(MARKER);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  test('in a completion body passed through', async () => {
    const key = 'gw-key-0123456789abcdef';
    gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', choices: [{ index: 0, message: { role: 'assistant', content: `my key is ${key}` }, finish_reason: 'stop' }] }));
    };
    const plain = await invoke(handlerWithKey(key), JSON.stringify({ model: 'gpt-5', messages: [] }));
    expect(JSON.parse(plain.body).choices[0].message.content).toBe(`my key is ${MARKER}`);
    // Emulated as a stream (a provider the gateway does not stream).
    const emulated = await invoke(handlerWithKey(key), JSON.stringify({ model: 'claude-sonnet-4-6', messages: [], stream: true }));
    expect(emulated.status).toBe(200);
    expect(emulated.body).toContain(`my key is ${MARKER}`);
    expect(emulated.body).not.toContain(key);
  });

  test('in a stream, exactly, even when the key is split across chunks or sits in a very long line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9_-]{16,48}$/),
        fc.array(fc.array(fragment, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat({ max: 140_000 }), { nil: undefined }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        async (key, contents, longLineKeyAt, cutFractions) => {
          let sse = contents.map((parts) => sseEvent('gpt-5', parts.join(key))).join('');
          if (longLineKeyAt !== undefined) {
            // One event longer than the router's line limit, with the key somewhere in it.
            const filler = 'x'.repeat(140_000);
            sse += sseEvent('gpt-5', filler.slice(0, longLineKeyAt) + key + filler.slice(longLineKeyAt));
          }
          sse += 'data: [DONE]\n\n';
          const bytes = Buffer.from(sse, 'utf8');
          // Cut anywhere, even inside a multi-byte character or inside the key.
          const cuts = [...new Set(cutFractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
          gateway.behaviour = async (_req, res) => {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            let from = 0;
            for (const cut of [...cuts, bytes.length]) {
              res.write(bytes.subarray(from, cut));
              from = cut;
              await sleep(1);
            }
            res.end();
          };
          const out = await invoke(handlerWithKey(key), JSON.stringify({ model: 'gpt-5', messages: [], stream: true }));
          expect(out.status).toBe(200);
          expect(out.body).toBe(sse.split(key).join(MARKER));
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);

  test('in a line longer than the router holds, with the key cut in two by the chunk that overflows it', async () => {
    const key = 'gw-key-0123456789abcdef';
    const sse = sseEvent('gpt-5', `${'x'.repeat(100_000)}${key}${'y'.repeat(100)}`) + 'data: [DONE]\n\n';
    const bytes = Buffer.from(sse, 'utf8');
    const keyAt = bytes.indexOf(key);
    for (const within of [1, 8, key.length - 1]) {
      gateway.behaviour = async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(bytes.subarray(0, keyAt + within));
        await sleep(20);
        res.end(bytes.subarray(keyAt + within));
      };
      const out = await invoke(handlerWithKey(key), JSON.stringify({ model: 'gpt-5', messages: [], stream: true }));
      expect(out.body).toBe(sse.replace(key, MARKER));
    }
  });
});
