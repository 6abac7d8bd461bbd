import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { agentFor, TunnelLimits } from '../../src/handler/egress';
import { ClientGoneError, UpstreamTimeoutError } from '../../src/handler/upstream-errors';
import { ForwardProxy } from '../support/forward-proxy';

/*
 * The agents the handler reaches the gateway with, called directly: what a
 * forward proxy sees of the CONNECT, how a tunnel fails, and TLS inside it.
 * (test/handler/egress-proxy.test.ts drives the same code through the router.)
 */

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request through `agent`; `tunnel` is the per-request option the relay passes. */
function request(options: https.RequestOptions & { tunnel?: TunnelLimits }, secure = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({ method: 'GET', path: '/v1/models', ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain HTTP server answering "ok" with the Host header it saw. */
async function target(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => res.end(`ok ${req.headers.host}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers one HTTP request on a raw tunnelled socket. */
function answerOn(socket: net.Socket | tls.TLSSocket, body: string): void {
  socket.once('data', () => socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`));
}

describe('agentFor', () => {
  test('direct agents keep connections alive and are one set for the execution environment', () => {
    const http1 = agentFor('http:', undefined);
    const https1 = agentFor('https:', undefined);
    expect(http1).toBeInstanceOf(http.Agent);
    expect(https1).toBeInstanceOf(https.Agent);
    expect(http1).not.toBe(https1);
    expect((http1 as unknown as { keepAlive: boolean }).keepAlive).toBe(true);
    expect((https1 as unknown as { keepAlive: boolean }).keepAlive).toBe(true);
    expect(agentFor('http:', undefined)).toBe(http1);
    expect(agentFor('https:', undefined)).toBe(https1);
  });

  test('tunnelling agents keep tunnels alive, one set per proxy URL', () => {
    const a = new URL('http://127.0.0.1:3128');
    const viaA = agentFor('https:', a);
    expect(viaA).toBeInstanceOf(https.Agent);
    expect(agentFor('http:', a)).toBeInstanceOf(http.Agent);
    expect(agentFor('http:', a)).not.toBe(agentFor('http:', undefined));
    expect((viaA as unknown as { keepAlive: boolean }).keepAlive).toBe(true);
    expect((agentFor('http:', a) as unknown as { keepAlive: boolean }).keepAlive).toBe(true);
    expect(agentFor('https:', new URL('http://127.0.0.1:3128'))).toBe(viaA);
    expect(agentFor('https:', new URL('http://127.0.0.1:3129'))).not.toBe(viaA);
  });
});

describe('the CONNECT a forward proxy sees', () => {
  test('host:port of the target as path and Host header, and no Proxy-Authorization without credentials', async () => {
    const proxy = await ForwardProxy.start();
    const server = await target();
    try {
      const agent = agentFor('http:', new URL(`${proxy.url}/`));
      const answer = await request({ host: '127.0.0.1', port: server.port, agent });
      expect(answer).toEqual({ status: 200, body: `ok 127.0.0.1:${server.port}` });
      expect(proxy.connects).toHaveLength(1);
      expect(proxy.connects[0].target).toBe(`127.0.0.1:${server.port}`);
      expect(proxy.connects[0].headers.host).toBe(`127.0.0.1:${server.port}`);
      expect(proxy.connects[0].headers['proxy-authorization']).toBeUndefined();
    } finally {
      await server.close();
      await proxy.close();
    }
  });

  test('an IPv6 target is bracketed, as CONNECT requires', async () => {
    const proxy = await ForwardProxy.start({
      intercept: (_target, socket) => {
        answerOn(socket, 'v6');
        return true;
      },
    });
    try {
      const agent = agentFor('http:', new URL(proxy.url));
      const answer = await request({ host: '::1', port: 8080, agent });
      expect(answer).toEqual({ status: 200, body: 'v6' });
      expect(proxy.connects.map((c) => c.target)).toEqual(['[::1]:8080']);
      expect(proxy.connects[0].headers.host).toBe('[::1]:8080');
    } finally {
      await proxy.close();
    }
  });

  test('limits without a way to cancel still open the tunnel', async () => {
    const proxy = await ForwardProxy.start();
    const server = await target();
    try {
      const agent = agentFor('http:', new URL(proxy.url));
      const answer = await request({ host: '127.0.0.1', port: server.port, agent, tunnel: { deadline: Date.now() + 10_000 } });
      expect(answer.status).toBe(200);
    } finally {
      await server.close();
      await proxy.close();
    }
  });
});

describe('a tunnel that cannot be opened', () => {
  test('a proxy that refuses the connection: the error names the proxy by host and keeps the cause', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const agent = agentFor('http:', new URL(`http://user:hunter2@127.0.0.1:${port}`));
    const failure = await request({ host: '127.0.0.1', port: 80, agent }).then(() => undefined, (err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(UpstreamTimeoutError);
    expect(failure!.message).toBe(`the egress proxy 127.0.0.1:${port} failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  test('a proxy named by an IPv6 literal is connected to at that address, without its brackets', async () => {
    // Port 1 on the loopback: nothing listens there. Whether the machine has IPv6 or not, the
    // connection is attempted at ::1 itself (a name with brackets would be looked up in DNS instead).
    const agent = agentFor('http:', new URL('http://[::1]:1'));
    const failure = await request({ host: '127.0.0.1', port: 80, agent }).then(() => undefined, (err: Error) => err);
    expect(failure!.message).toMatch(/^the egress proxy \[::1\]:1 failed: connect E[A-Z]+ ::1:1\b/);
  });

  test('a silent proxy fails at the request\'s deadline, saying how long it was given', async () => {
    const proxy = await ForwardProxy.start({ silent: true });
    try {
      const agent = agentFor('http:', new URL(proxy.url));
      const failure = await request({ host: '127.0.0.1', port: 80, agent, tunnel: { deadline: Date.now() + 200 } }).then(() => undefined, (err: Error) => err);
      expect(failure).toBeInstanceOf(UpstreamTimeoutError);
      // Between 1 and 200 ms, whatever the machine's speed; never the "0 ms" of a deadline already past.
      expect(failure!.message).toMatch(new RegExp(`^the egress proxy ${new URL(proxy.url).host} did not answer CONNECT within ([1-9]\\d?|1\\d\\d|200) ms$`));
    } finally {
      await proxy.close();
    }
  });

  test('a deadline already past fails at once, as a timeout of 0 ms', async () => {
    const proxy = await ForwardProxy.start({ silent: true });
    try {
      const agent = agentFor('http:', new URL(proxy.url));
      const failure = await request({ host: '127.0.0.1', port: 80, agent, tunnel: { deadline: Date.now() - 1_000 } }).then(() => undefined, (err: Error) => err);
      expect(failure).toBeInstanceOf(UpstreamTimeoutError);
      expect(failure!.message).toBe(`the egress proxy ${new URL(proxy.url).host} did not answer CONNECT within 0 ms`);
    } finally {
      await proxy.close();
    }
  });

  test('a caller going away during the handshake fails it as ClientGoneError', async () => {
    const proxy = await ForwardProxy.start({ silent: true });
    try {
      const agent = agentFor('http:', new URL(proxy.url));
      let stop: (() => void) | undefined;
      const tunnel: TunnelLimits = { deadline: Date.now() + 10_000, onCancel: (s) => ((stop = s), () => (stop = undefined)) };
      const pending = request({ host: '127.0.0.1', port: 80, agent, tunnel }).then(() => undefined, (err: Error) => err);
      while (!stop) await new Promise((r) => setTimeout(r, 5));
      stop();
      expect(await pending).toBeInstanceOf(ClientGoneError);
      // The cancel hook is unregistered once the attempt has ended.
      expect(stop).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });
});

describe('TLS inside the tunnel', () => {
  const HOST = 'gateway.test';
  let dir: string;
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-unit-cert-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', `/CN=${HOST}`,
      '-addext', `subjectAltName=DNS:${HOST}`], { stdio: 'ignore' });
    key = fs.readFileSync(path.join(dir, 'key.pem'));
    cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function tlsProxy(seen: string[]): Promise<ForwardProxy> {
    return ForwardProxy.start({
      intercept: (_target, socket) => {
        const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
        secure.on('secure', () => seen.push(String((secure as unknown as { servername?: string }).servername)));
        secure.on('error', () => socket.destroy());
        answerOn(secure, 'over tls');
        return true;
      },
    });
  }

  test('the target\'s certificate is checked for its host name, sent as SNI, port 443 by default', async () => {
    const seen: string[] = [];
    const proxy = await tlsProxy(seen);
    try {
      const agent = agentFor('https:', new URL(proxy.url));
      const answer = await request({ host: HOST, agent, ca: cert }, true);
      expect(answer).toEqual({ status: 200, body: 'over tls' });
      expect(proxy.connects.map((c) => c.target)).toEqual([`${HOST}:443`]);
      expect(seen).toEqual([HOST]);
    } finally {
      await proxy.close();
    }
  });

  test('a proxy that refuses the tunnel fails an https request there: nothing is connected around the proxy', async () => {
    const proxy = await ForwardProxy.start({ refuseWith: 403 });
    try {
      const agent = agentFor('https:', new URL(proxy.url));
      const failure = await request({ host: HOST, agent, ca: cert }, true).then(() => undefined, (err: Error) => err);
      expect(failure!.message).toBe(`the egress proxy ${new URL(proxy.url).host} refused CONNECT ${HOST}:443 with HTTP 403`);
    } finally {
      await proxy.close();
    }
  });

  test('an https:// proxy is spoken to over TLS, its certificate checked like any other', async () => {
    const server = tls.createServer({ key, cert }, (socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const agent = agentFor('https:', new URL(`https://127.0.0.1:${port}`));
      const failure = await request({ host: HOST, agent, ca: cert }, true).then(() => undefined, (err: Error) => err);
      // The proxy's own certificate is not trusted by the process (only the request to the target carries `ca`).
      expect(failure!.message).toBe(`the egress proxy 127.0.0.1:${port} failed: self-signed certificate`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a certificate the client does not trust fails the request, nothing is answered', async () => {
    const seen: string[] = [];
    const proxy = await tlsProxy(seen);
    try {
      const agent = agentFor('https:', new URL(proxy.url));
      const failure = await request({ host: HOST, port: 8443, agent }, true).then(() => undefined, (err: NodeJS.ErrnoException) => err);
      expect(failure?.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(proxy.connects.map((c) => c.target)).toEqual([`${HOST}:8443`]);
    } finally {
      await proxy.close();
    }
  });
});
