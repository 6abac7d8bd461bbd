import * as http from 'node:http';
import * as net from 'node:net';

/** A CONNECT request as the proxy received it. */
export interface RecordedConnect {
  /** host:port the client asked to be connected to. */
  readonly target: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface ForwardProxyOptions {
  /** Answer CONNECT with this status instead of tunnelling. */
  readonly refuseWith?: number;
  /** Accept the connection and never answer CONNECT (a wedged proxy). */
  readonly silent?: boolean;
  /**
   * Takes over a tunnel instead of connecting to its target: the proxy has
   * already answered 200, and `socket` carries the client's bytes. Return
   * false to tunnel to the real target.
   */
  readonly intercept?: (target: string, socket: net.Socket) => boolean;
}

/**
 * A tiny HTTP forward proxy, as a corporate one behaves for HTTPS: it answers
 * CONNECT host:port by opening a TCP connection there and piping bytes both
 * ways; it never sees inside the tunnel. It records every CONNECT.
 */
export class ForwardProxy {
  static async start(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
    const proxy = new ForwardProxy(options);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  readonly connects: RecordedConnect[] = [];
  /** CONNECT connections the client closed while a silent proxy held them, by target. */
  readonly closedConnects: string[] = [];
  /** Plain (non-CONNECT) requests: a tunnelling client never sends any. */
  readonly plainRequests: string[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(options: ForwardProxyOptions) {
    this.server = http.createServer((req, res) => {
      this.plainRequests.push(`${req.method} ${req.url}`);
      res.writeHead(405).end();
    });
    this.server.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      const target = req.url ?? '';
      this.connects.push({ target, headers: req.headers });
      this.track(client);
      if (options.silent) {
        // The server's sockets are half-open: the client's end (or reset) is what the proxy sees.
        const closed = () => {
          if (!client.destroyed) client.destroy();
          this.closedConnects.push(target);
        };
        client.once('end', closed);
        client.once('error', closed);
        return;
      }
      if (options.refuseWith) {
        client.end(`HTTP/1.1 ${options.refuseWith} Refused\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      if (options.intercept) {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (options.intercept(target, client)) return;
      }
      const at = target.lastIndexOf(':');
      const upstream = net.connect(Number(target.slice(at + 1)), target.slice(0, at).replace(/^\[|\]$/g, ''), () => {
        if (!options.intercept) client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      this.track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
