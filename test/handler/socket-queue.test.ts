import { FakeGateway, respondWith, sleep } from '../support/fake-gateway';
import { rawRequest, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

/*
 * One Lambda environment serves one request at a time, but the emulator (and
 * the benchmarks) serve many from one process: a request waiting for a free
 * connection was never sent, so it must not be reported as the gateway
 * timing out.
 */
test('beyond 64 concurrent requests, none waits for a socket and none is reported as a gateway timeout', async () => {
  const answer = respondWith();
  // Every answer takes 1.2 s: a request that had to queue behind one would
  // need 2.4 s, past the 2 s upstream timeout.
  const gateway = await FakeGateway.start(async (req, res, attempt) => {
    await sleep(1_200);
    await answer(req, res, attempt);
  });
  const router = await startRouter({ region: 'us', endpoint: gateway.url, upstreamTimeoutMs: 2_000 });
  try {
    const body = JSON.stringify({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] });
    const results = await Promise.all(Array.from({ length: 80 }, () => rawRequest(`${router.url}/v1/chat/completions`, 'POST', body)));
    const failures = results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`);
    expect(failures).toEqual([]);
    expect(gateway.requests).toHaveLength(80);
  } finally {
    await router.close();
    await gateway.close();
  }
});
