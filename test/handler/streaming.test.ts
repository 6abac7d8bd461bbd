import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import { routerEnvironment } from '../../src/emulator/config';
import { lambdaContext, proxyEvent } from '../../src/emulator/runtime-shim';
import { createRouterHandler } from '../../src/handler/app';
import { FakeGateway, respondWith, sleep, sseEvent } from '../support/fake-gateway';
import { startRouter, TEST_KEY } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

describe('true streaming', () => {
  test('the first chunk reaches the client while the upstream is still sending', async () => {
    // The upstream sends one chunk, then holds the stream open until the
    // client has seen that chunk. A router that buffered would deadlock here.
    let releaseRest!: () => void;
    const rest = new Promise<void>((resolve) => (releaseRest = resolve));
    let upstreamFinished = false;
    const gateway = await FakeGateway.start(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent(req.json.model, 'first'));
      await rest;
      res.write(sseEvent(req.json.model, 'second'));
      res.end('data: [DONE]\n\n');
      upstreamFinished = true;
    });
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request(`${router.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toMatch(/text\/event-stream/);
          let text = '';
          res.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            if (text.includes('"first"') && !text.includes('"second"')) {
              // Seen before the upstream was allowed to finish.
              expect(upstreamFinished).toBe(false);
              releaseRest();
            }
          });
          res.on('end', () => resolve(text));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ model: 'gpt-5', stream: true, messages: [] }));
      });
      expect(body.indexOf('"first"')).toBeLessThan(body.indexOf('"second"'));
      expect(body.trim().endsWith('data: [DONE]')).toBe(true);
    } finally {
      releaseRest();
      await router.close();
      await gateway.close();
    }
  });

  test('a client that reads slowly is not mistaken for a silent upstream', async () => {
    // The upstream sends everything at once; the client does not read for
    // longer than the idle timeout. The router waits for the client (it
    // stops reading upstream meanwhile) and must not call that upstream
    // silence: the stream ends normally.
    const IDLE_TIMEOUT_MS = 200;
    const parts = Array.from({ length: 200 }, (_, i) => `part-${i}-${'x'.repeat(200)}`);
    const gateway = await FakeGateway.start(respondWith({ parts }));
    const handler = createRouterHandler(
      routerEnvironment({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'], upstreamTimeoutMs: IDLE_TIMEOUT_MS }),
      { apiKeyProvider: async () => TEST_KEY },
    );
    try {
      const out = new PassThrough({ highWaterMark: 1024 });
      const done = handler(
        proxyEvent({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-5', stream: true, messages: [] }) }),
        out,
        lambdaContext(60_000),
      );
      await sleep(IDLE_TIMEOUT_MS * 4); // the client is busy: nothing read yet
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      await Promise.all([done, new Promise((resolve) => out.once('end', resolve))]);
      const text = Buffer.concat(chunks).toString('utf8');
      expect(text).not.toContain('upstream_timeout');
      expect(text).toContain('part-199-');
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    } finally {
      await gateway.close();
    }
  });
});
