import type { Writable } from 'node:stream';
import type { RequestLogFields } from './log';

/**
 * The HTTP side of Lambda response streaming: the status and headers go out
 * as the prelude (`awslambda.HttpResponseStream.from`), the body follows.
 * Named apart from the global `Response` (fetch's), which it is not.
 */
export class ResponseWriter {
  status = 500;
  stream: Writable | undefined;

  constructor(readonly raw: Writable, public region: RequestLogFields['region']) {}

  get started(): boolean {
    return this.stream !== undefined;
  }

  start(status: number, headers: Record<string, string>): void {
    this.status = status;
    this.stream = awslambda.HttpResponseStream.from(this.raw, {
      statusCode: status,
      headers: { ...headers, 'x-llm-gateway-region': this.region },
    });
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.start(status, { ...headers, 'content-type': 'application/json' });
    this.stream!.write(JSON.stringify(body));
    this.end();
  }

  end(): void {
    if (!this.stream) this.start(this.status, {});
    if (!this.stream!.writableEnded) this.stream!.end();
  }
}
