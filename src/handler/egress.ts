import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { ClientGoneError, UpstreamTimeoutError } from './upstream-errors';

/*
 * How the handler reaches the gateway: keep-alive agents, directly or through
 * an HTTP forward proxy (a Lambda in a VPC often reaches the internet only
 * through one). Node's agents ignore HTTPS_PROXY, so the tunnel is built here
 * with node:http's CONNECT and node:tls, no proxy library: the agent's
 * createConnection opens the tunnel, so the agent pools and reuses tunnelled
 * connections like direct ones (one CONNECT per connection, not per request).
 *
 * No maxSockets cap: a Lambda environment serves one request at a time, and
 * where one process serves many (the emulator, benchmarks) a request queued
 * for a free socket was never sent, yet its wait would count against the
 * upstream timeout and be reported as the gateway timing out.
 */

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

/** How long the proxy may take to answer CONNECT before the attempt fails, at most. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * What opening a tunnel for one request may take, passed as the request's
 * `tunnel` option (Node.js hands request options to the agent's
 * createConnection): the request's deadline, and a way to hear that its
 * caller went away. The CONNECT handshake is part of the request's time.
 */
export interface TunnelLimits {
  /** Epoch ms by which the request must have its answer's headers. */
  readonly deadline: number;
  /** Registers `stop` to run if the request is cancelled; returns a function that unregisters it. */
  readonly onCancel?: (stop: () => void) => () => void;
}

/** Opens a CONNECT tunnel to host:port through the proxy; the callback gets the raw tunnelled socket. */
function openTunnel(proxy: URL, host: string, port: number, callback: ConnectCallback, limits?: TunnelLimits): void {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { host: target };
  if (proxy.username) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const secure = proxy.protocol === 'https:';
  const request = (secure ? https : http).request({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: proxy.port || (secure ? 443 : 80),
    method: 'CONNECT',
    path: target,
    headers,
    agent: false,
  });
  // Messages name the proxy by host only: its URL may carry credentials.
  let settled = false;
  const wait = Math.min(CONNECT_TIMEOUT_MS, limits ? limits.deadline - Date.now() : CONNECT_TIMEOUT_MS);
  const timer = setTimeout(() => request.destroy(new UpstreamTimeoutError(`the egress proxy ${proxy.host} did not answer CONNECT within ${Math.max(0, wait)} ms`)), Math.max(0, wait));
  const unregister = limits?.onCancel?.(() => request.destroy(new ClientGoneError()));
  const done = (err: Error | null, socket?: Duplex) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    unregister?.();
    callback(err, socket as Duplex);
  };
  request.once('connect', (res, socket) => {
    if (res.statusCode !== 200) {
      socket.destroy();
      done(new Error(`the egress proxy ${proxy.host} refused CONNECT ${target} with HTTP ${res.statusCode}`));
      return;
    }
    done(null, socket);
  });
  request.once('error', (err) => {
    // Our own timeout and a caller gone keep their class: a 504, or the client-aborted path.
    done(err instanceof UpstreamTimeoutError || err instanceof ClientGoneError ? err : new Error(`the egress proxy ${proxy.host} failed: ${err.message}`));
  });
  request.end();
}

/** Plain HTTP to the target (a custom http endpoint), through the proxy's tunnel. */
class TunnelHttpAgent extends http.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true });
  }

  createConnection(options: http.ClientRequestArgs & { tunnel?: TunnelLimits }, callback?: ConnectCallback): Duplex | null | undefined {
    openTunnel(this.proxy, options.hostname ?? options.host ?? 'localhost', Number(options.port ?? 80), callback!, options.tunnel);
    return undefined;
  }
}

/** TLS to the target through the proxy's tunnel: the certificate is checked for the gateway's host name. */
class TunnelHttpsAgent extends https.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true });
  }

  createConnection(options: https.RequestOptions & { tunnel?: TunnelLimits }, callback?: ConnectCallback): Duplex | null | undefined {
    const host = options.hostname ?? options.host ?? 'localhost';
    openTunnel(this.proxy, host, Number(options.port ?? 443), (err, socket) => {
      if (err) return callback!(err, socket);
      const secure = tls.connect({ ...(options as tls.ConnectionOptions), socket, servername: options.servername ?? host });
      // The request sees TLS failures (a wrong certificate) as its own error.
      callback!(null, secure);
    }, options.tunnel);
    return undefined;
  }
}

export interface UpstreamAgents {
  readonly 'http:': http.Agent;
  readonly 'https:': https.Agent;
}

const direct: UpstreamAgents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};
const proxied = new Map<string, UpstreamAgents>();

/**
 * The keep-alive agent for a target protocol, direct or through `proxy`. One
 * set per proxy for the life of the execution environment: warm invocations
 * reuse the connection (and its tunnel) to the gateway.
 */
export function agentFor(protocol: string, proxy: URL | undefined): http.Agent {
  let agents = direct;
  if (proxy) {
    agents = proxied.get(proxy.href) ?? { 'http:': new TunnelHttpAgent(proxy), 'https:': new TunnelHttpsAgent(proxy) };
    proxied.set(proxy.href, agents);
  }
  return agents[protocol as keyof UpstreamAgents];
}
