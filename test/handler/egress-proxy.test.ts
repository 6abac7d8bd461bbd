import * as http from 'node:http';
import { FakeGateway, waitUntil } from '../support/fake-gateway';
import { ForwardProxy } from '../support/forward-proxy';
import { rawRequest, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

const BODY = JSON.stringify({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] });

describe('egressProxy: the gateway reached through an HTTP forward proxy', () => {
  let gateway: FakeGateway;
  beforeEach(async () => {
    gateway = await FakeGateway.start();
  });
  afterEach(async () => {
    await gateway.close();
  });

  test('requests go through a CONNECT tunnel, and keep-alive reuses it: two requests, one CONNECT', async () => {
    const proxy = await ForwardProxy.start();
    const router = await startRouter({ region: 'us', endpoint: gateway.url, egressProxy: proxy.url });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', BODY);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body).choices[0].message.content).toBe('Hello!');
      }
      expect(gateway.requests).toHaveLength(2);
      expect(proxy.connects.map((c) => c.target)).toEqual([new URL(gateway.url).host]);
      expect(proxy.plainRequests).toEqual([]);
      // The gateway key travels inside the tunnel, never in the proxy's view.
      expect(JSON.stringify(proxy.connects)).not.toContain('gw-test-key');
    } finally {
      await router.close();
      await proxy.close();
    }
  });

  test('credentials in the proxy URL are sent as Proxy-Authorization on CONNECT only', async () => {
    const proxy = await ForwardProxy.start();
    const withAuth = proxy.url.replace('http://', 'http://svc%40corp:p%3Ass@');
    const router = await startRouter({ region: 'us', endpoint: gateway.url, egressProxy: withAuth });
    try {
      expect((await rawRequest(`${router.url}/v1/chat/completions`, 'POST', BODY)).status).toBe(200);
      expect(proxy.connects[0].headers['proxy-authorization']).toBe(`Basic ${Buffer.from('svc@corp:p:ss').toString('base64')}`);
      expect(gateway.requests[0].headers['proxy-authorization']).toBeUndefined();
    } finally {
      await router.close();
      await proxy.close();
    }
  });

  test('a proxy that refuses the tunnel is a 502; the log names the proxy by host only; nothing reaches the gateway', async () => {
    const proxy = await ForwardProxy.start({ refuseWith: 407 });
    const router = await startRouter({ region: 'us', endpoint: gateway.url, egressProxy: proxy.url.replace('http://', 'http://user:hunter2@') });
    try {
      const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', BODY);
      expect(res.status).toBe(502);
      expect(JSON.parse(res.body).error.code).toBe('upstream_unreachable');
      // The caller learns what failed; where (the proxy) is in the request's log line.
      expect(res.body).not.toContain(new URL(proxy.url).host);
      expect(res.body).not.toContain('hunter2');
      const log = stdout.requestLogs.at(-1);
      expect(log.error_detail).toContain(`the egress proxy ${new URL(proxy.url).host} refused CONNECT`);
      expect(JSON.stringify(stdout.lines)).not.toContain('hunter2');
      expect(gateway.requests).toHaveLength(0);
    } finally {
      await router.close();
      await proxy.close();
    }
  });

  describe('a proxy that accepts the connection and never answers CONNECT', () => {
    test('the handshake counts against upstreamTimeout: 504 upstream_timeout, logged and counted, nothing sent', async () => {
      const proxy = await ForwardProxy.start({ silent: true });
      const router = await startRouter({ region: 'us', endpoint: gateway.url, egressProxy: proxy.url, upstreamTimeoutMs: 300 });
      try {
        const started = Date.now();
        const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', BODY);
        const took = Date.now() - started;
        expect(res.status).toBe(504);
        expect(JSON.parse(res.body).error.code).toBe('upstream_timeout');
        expect(took).toBeLessThan(5_000);
        expect(stdout.requestLogs.at(-1)).toMatchObject({ status: 504, upstream_error: 'timeout', settlement: 'never_sent' });
        expect(stdout.requestLogs.at(-1).error_detail).toMatch(/did not answer CONNECT within \d+ ms|did not answer within 300 ms/);
        expect(stdout.emf.at(-1)).toMatchObject({ ErrorClass: 'timeout', UpstreamErrors: 1 });
        expect(gateway.requests).toHaveLength(0);
      } finally {
        await router.close();
        await proxy.close();
      }
    });

    test('and against the function\'s own deadline: 504 before the invocation would be killed, with a log line', async () => {
      const proxy = await ForwardProxy.start({ silent: true });
      // A 2.5 s function with the default 120 s upstream timeout: the router keeps 1 s to answer.
      const router = await startRouter({ region: 'us', endpoint: gateway.url, egressProxy: proxy.url }, { timeoutMs: 2_500 });
      try {
        const started = Date.now();
        const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', BODY);
        expect(res.status).toBe(504);
        expect(Date.now() - started).toBeLessThan(2_500);
        expect(stdout.requestLogs.at(-1)).toMatchObject({ status: 504, upstream_error: 'timeout' });
      } finally {
        await router.close();
        await proxy.close();
      }
    });

    test('a caller hanging up cancels the handshake: the CONNECT connection is closed at once, logged client_aborted', async () => {
      const proxy = await ForwardProxy.start({ silent: true });
      const router = await startRouter({ region: 'us', endpoint: gateway.url, egressProxy: proxy.url });
      try {
        const req = http.request(`${router.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } });
        req.on('error', () => undefined);
        req.end(BODY);
        await waitUntil(() => proxy.connects.length === 1, 5_000);
        expect(proxy.connects).toHaveLength(1);
        req.destroy();
        await waitUntil(() => proxy.closedConnects.length === 1, 2_000);
        expect(proxy.closedConnects).toHaveLength(1);
        await waitUntil(() => stdout.requestLogs.length > 0 && stdout.requestLogs.at(-1).client_aborted === true, 2_000);
        expect(stdout.requestLogs.at(-1)).toMatchObject({ client_aborted: true, settlement: 'never_sent' });
      } finally {
        await router.close();
        await proxy.close();
      }
    });
  });
});
