import * as http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { readAwsJsonCall } from './aws-json-wire';

/** One call as Secrets Manager received it. */
export interface SecretsManagerCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
  /** The SigV4 Authorization header's credential scope, e.g. `local/20261203/eu-central-1/secretsmanager/aws4_request`. */
  readonly scope: string | undefined;
}

/** What GetSecretValue answers: the secret's value, a service error, or nothing at all. */
export type SecretAnswer =
  | { readonly SecretString: string }
  | { readonly SecretBinary: string }
  | { readonly error: string; readonly status: number }
  | 'silence';

/**
 * A local Secrets Manager for GetSecretValue, in the service's wire format
 * (AWS JSON 1.1: `POST /`, the operation in `x-amz-target`, errors as
 * `__type` and `message`), so tests drive the real SDK v3 client. `answer`
 * decides what the next reads get; `'silence'` takes the request and never
 * answers (a Secrets Manager behind a broken route).
 */
export class LocalSecretsManager {
  static async start(): Promise<LocalSecretsManager> {
    const server = new LocalSecretsManager();
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  readonly calls: SecretsManagerCall[] = [];
  /** TCP connections accepted so far. */
  connections = 0;
  answer: SecretAnswer = { SecretString: 'local-key' };
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;

  private constructor() {
    this.server = http.createServer((req, res) => {
      readAwsJsonCall(req, (operation, body) => {
        const scope = /Credential=[^/]+\/([^,]+)/.exec(String(req.headers.authorization ?? ''))?.[1];
        this.calls.push({ operation, input: JSON.parse(body.toString('utf8') || '{}'), scope });
        const answer = this.answer;
        if (answer === 'silence') return;
        const type = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'local' };
        if (operation !== 'GetSecretValue') {
          res.writeHead(400, type).end(JSON.stringify({ __type: 'UnknownOperationException', message: operation }));
        } else if ('error' in answer) {
          res.writeHead(answer.status, type).end(JSON.stringify({ __type: answer.error, message: `local ${answer.error}` }));
        } else {
          res.writeHead(200, type).end(JSON.stringify({ ARN: 'arn:local', Name: 'gateway-key', VersionId: 'v1', ...answer }));
        }
      });
    });
    this.server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
