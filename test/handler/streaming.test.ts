import * as http from 'node:http';
import { FakeGateway, sseEvent } from '../support/fake-gateway';
import { startRouter } from '../support/router-harness';
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
});
