import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { readAwsJsonCall } from './aws-json-wire';

/**
 * An HTTP relay in front of dynalite that answers BatchGetItem as DynamoDB
 * does under throttling: of the items dynalite returns, only the first
 * `served(call)` stay in `Responses`, the keys of the others go back in
 * `UnprocessedKeys` (the service's wire format). Every BatchGetItem request
 * body is recorded; other operations pass through untouched.
 */
export class DynamoThrottleProxy {
  static async start(target: string, served: (call: number) => number): Promise<DynamoThrottleProxy> {
    const proxy = new DynamoThrottleProxy(new URL(target), served);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The BatchGetItem request bodies, parsed. */
  readonly batchGets: any[] = [];
  /** Every call's operation (`UpdateItem`, `GetItem`...), in order. */
  readonly operations: string[] = [];
  private readonly server: http.Server;

  private constructor(target: URL, served: (call: number) => number) {
    this.server = http.createServer((req, res) => {
      readAwsJsonCall(req, (operation, body) => {
        this.operations.push(operation);
        const batchGet = operation === 'BatchGetItem';
        if (batchGet) this.batchGets.push(JSON.parse(body.toString('utf8')));
        const call = this.batchGets.length;
        const headers = { ...req.headers };
        delete headers['accept-encoding'];
        const forward = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (upstream) => {
          const answer: Buffer[] = [];
          upstream.on('data', (c: Buffer) => answer.push(c));
          upstream.on('end', () => {
            let text = Buffer.concat(answer).toString('utf8');
            if (batchGet && upstream.statusCode === 200) text = JSON.stringify(throttle(JSON.parse(text), served(call)));
            const out: http.OutgoingHttpHeaders = { ...upstream.headers, 'content-length': String(Buffer.byteLength(text)) };
            delete out['x-amz-crc32'];
            res.writeHead(upstream.statusCode ?? 500, out).end(text);
          });
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
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Keeps `keep` items per table; the rest become UnprocessedKeys. Empty maps
 * are left out, as the API allows: a client must not assume either field.
 */
function throttle(answer: { Responses?: Record<string, any[]>; UnprocessedKeys?: Record<string, { Keys: any[] }> }, keep: number) {
  const responses: Record<string, any[]> = {};
  const unprocessed: Record<string, { Keys: any[]; ConsistentRead: boolean }> = {};
  for (const [table, items] of Object.entries(answer.Responses ?? {})) {
    if (items.slice(0, keep).length > 0) responses[table] = items.slice(0, keep);
    const rest = items.slice(keep).map((item) => ({ pk: item.pk }));
    if (rest.length > 0) unprocessed[table] = { Keys: rest, ConsistentRead: true };
  }
  return {
    Responses: Object.keys(responses).length > 0 ? responses : undefined,
    UnprocessedKeys: Object.keys(unprocessed).length > 0 ? unprocessed : undefined,
  };
}
