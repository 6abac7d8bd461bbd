import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { lambdaContext, proxyEvent, splitPrelude } from './runtime-shim';

type StreamingHandler = (event: APIGatewayProxyEvent, stream: PassThrough, context: Context) => Promise<void>;

export interface EmulatorOptions {
  /** The router's streaming handler (from the bundle or the sources). */
  readonly handler: StreamingHandler;
  /** Simulated Lambda timeout. @default 300000 */
  readonly timeoutMs?: number;
  /** The resource paths the REST API defines; others go to the handler as a proxy path. */
  readonly resources?: readonly string[];
  /** Stage name shown in the event. @default 'prod' */
  readonly stageName?: string;
  /**
   * API key authorization (tenants): x-api-key value -> key id. Requests without a known key
   * get API Gateway's 403; others carry the key's id in `requestContext.identity.apiKeyId`.
   * @default no API keys
   */
  readonly apiKeyIds?: ReadonlyMap<string, string>;
}

/**
 * A local stand-in for API Gateway's REST Lambda proxy integration in
 * response-streaming mode: one HTTP request in, one proxy event to the
 * handler, and the handler's prelude-framed stream back out as HTTP,
 * forwarded chunk by chunk as the handler writes it.
 */
export function createEmulatorServer(options: EmulatorOptions): http.Server {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const resources = new Set(options.resources ?? ['/v1/chat/completions', '/v1/models']);
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const event = toProxyEvent(req, url, Buffer.concat(chunks), resources, options.stageName ?? 'prod');
      if (options.apiKeyIds) {
        // API Gateway checks the key against the usage plan before the function runs.
        const keyId = options.apiKeyIds.get(String(req.headers['x-api-key'] ?? ''));
        if (!keyId) {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'Forbidden', type: 'invalid_request_error', param: null, code: 'INVALID_API_KEY' } }));
          return;
        }
        (event.requestContext as { identity?: object }).identity = { apiKeyId: keyId };
      }
      const context = lambdaContext(timeoutMs);
      const stream = new PassThrough();
      relay(stream, res);
      // The client hanging up is what the Lambda runtime sees as the stream closing.
      res.on('close', () => {
        if (!res.writableFinished) stream.destroy();
      });
      const timer = setTimeout(() => stream.destroy(new Error('Task timed out')), timeoutMs);
      options.handler(event, stream, context)
        .catch((err: Error) => {
          if (!res.headersSent) {
            res.writeHead(502, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ message: `Internal server error: ${err.message}` }));
          }
        })
        .finally(() => {
          clearTimeout(timer);
          if (!stream.writableEnded) stream.end();
        });
    });
  });
}

/** Reads the prelude (JSON + 8 NULs), then forwards the body as it arrives. */
function relay(stream: PassThrough, res: http.ServerResponse): void {
  let pending = Buffer.alloc(0);
  let headed = false;
  stream.on('data', (chunk: Buffer) => {
    if (headed) {
      if (!res.write(chunk)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    const split = splitPrelude(pending);
    if (!split) return;
    res.writeHead(split.prelude.statusCode ?? 200, split.prelude.headers ?? {});
    res.flushHeaders();
    headed = true;
    if (split.body.length > 0) res.write(split.body);
  });
  stream.on('end', () => {
    if (!headed) res.writeHead(502, { 'content-type': 'application/json' }).end('{"message":"Internal server error"}');
    else res.end();
  });
  stream.on('error', () => res.destroy());
}

/** The event for `req`: header pairs as they came, text bodies as text, others in base64. */
function toProxyEvent(req: http.IncomingMessage, url: URL, body: Buffer, resources: Set<string>, stage: string): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const contentType = String(req.headers['content-type'] ?? 'application/json');
  const isText = /json|text/.test(contentType);
  return proxyEvent({
    method: req.method ?? 'GET',
    path: url.pathname,
    resource: resources.has(url.pathname) ? url.pathname : '/{proxy+}',
    headers,
    multiValueHeaders,
    query: Object.fromEntries(url.searchParams),
    // Like a REST API without binary media types: text bodies arrive as text.
    body: body.length ? (isText ? body.toString('utf8') : body.toString('base64')) : null,
    isBase64Encoded: body.length > 0 && !isText,
    stage,
  });
}
