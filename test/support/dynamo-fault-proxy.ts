import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { readAwsJsonCall } from './aws-json-wire';

/** A DynamoDB error as the service sends it: status, `__type` and message. */
export interface DynamoFault {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

export const INTERNAL_ERROR: DynamoFault = { status: 500, type: 'InternalServerError', message: 'injected fault' };

/** Takes the chosen calls and never answers them: a store that hangs mid-request. */
export const SILENCE = 'silence';

/**
 * An HTTP relay in front of dynalite that answers chosen DynamoDB calls with
 * the service's own error (a 500 `InternalServerError` in its JSON wire
 * format) instead of forwarding them: a store fault aimed at one kind of
 * call, the rest served normally. With `SILENCE` the chosen calls are read
 * and never answered.
 */
export class DynamoFaultProxy {
  static async start(
    target: string, shouldFail: (operation: string, body: string) => boolean, fault: DynamoFault | typeof SILENCE = INTERNAL_ERROR,
  ): Promise<DynamoFaultProxy> {
    const proxy = new DynamoFaultProxy(new URL(target), shouldFail, fault);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Calls answered with the injected fault. */
  failed = 0;
  private readonly server: http.Server;

  private constructor(target: URL, shouldFail: (operation: string, body: string) => boolean, fault: DynamoFault | typeof SILENCE) {
    this.server = http.createServer((req, res) => {
      readAwsJsonCall(req, (operation, body) => {
        if (shouldFail(operation, body.toString('utf8'))) {
          this.failed++;
          if (fault === SILENCE) return;
          res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault' });
          res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${fault.type}`, message: fault.message }));
          return;
        }
        const to = { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers };
        const forward = http.request(to, (upstream) => {
          res.writeHead(upstream.statusCode ?? 500, upstream.headers);
          upstream.pipe(res);
        });
        forward.on('error', () => res.destroy());
        forward.end(body);
      });
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
