import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type * as https from 'node:https';
import { Readable } from 'node:stream';
import { completion, sseEvent } from './fake-gateway';

/** What left the router: one upstream request, recorded instead of sent. */
export interface Sent {
  url: URL;
  headers: http.OutgoingHttpHeaders;
  body: any;
}

export interface InterceptedUpstream {
  readonly sent: Sent[];
  restore(): void;
}

/**
 * Replaces the network: `https.request` and `http.request` record the
 * request and answer 200 (an event stream for `stream: true`, otherwise one
 * completion), so a router can be configured with the real production
 * endpoint and every byte that would leave is inspected. Requests to
 * `passThroughHost` (a local AWS service) are sent for real.
 */
export function interceptUpstream(options: { passThroughHost?: string } = {}): InterceptedUpstream {
  const sent: Sent[] = [];
  const realHttp = jest.requireActual<typeof http>('node:http');
  const realRequest = realHttp.request.bind(realHttp);
  const fake = ((url: URL | http.RequestOptions, requestOptions: http.RequestOptions, ...rest: unknown[]) => {
    // The SDK's own calls to a local AWS service (an options object, no URL) go out for real.
    const host = url instanceof URL ? url.hostname : url.hostname ?? url.host;
    if (host === options.passThroughHost) return (realRequest as (...args: unknown[]) => http.ClientRequest)(url, requestOptions, ...rest);
    const req = new EventEmitter() as any;
    req.destroy = () => undefined;
    req.end = (payload: Buffer) => {
      const body = JSON.parse(payload.toString('utf8'));
      sent.push({ url: new URL(String(url)), headers: requestOptions.headers as http.OutgoingHttpHeaders, body });
      const streamed = body.stream === true;
      const text = streamed ? `${sseEvent(body.model, 'hi')}${sseEvent(body.model, null)}data: [DONE]\n\n` : JSON.stringify(completion(body.model));
      const res = Readable.from([Buffer.from(text)]) as any;
      res.statusCode = 200;
      res.headers = { 'content-type': streamed ? 'text/event-stream' : 'application/json' };
      process.nextTick(() => req.emit('response', res));
    };
    return req;
  }) as unknown as typeof https.request;
  // The module objects themselves (an `import * as` namespace is a read-only copy).
  const spies = [jest.spyOn(jest.requireActual<typeof https>('node:https'), 'request').mockImplementation(fake),
    jest.spyOn(jest.requireActual<typeof http>('node:http'), 'request').mockImplementation(fake)];
  return { sent, restore: () => spies.forEach((s) => s.mockRestore()) };
}
