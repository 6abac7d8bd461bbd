import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { PRELUDE_DELIMITER } from './runtime-shim';

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
      const deadline = Date.now() + timeoutMs;
      const context = {
        awsRequestId: randomUUID(),
        functionName: 'llm-gateway-router-local',
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      } as unknown as Context;
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
    const at = pending.indexOf(PRELUDE_DELIMITER);
    if (at < 0) return;
    const prelude = JSON.parse(pending.subarray(0, at).toString('utf8')) as { statusCode?: number; headers?: Record<string, string> };
    res.writeHead(prelude.statusCode ?? 200, prelude.headers ?? {});
    res.flushHeaders();
    headed = true;
    const rest = pending.subarray(at + PRELUDE_DELIMITER.length);
    if (rest.length > 0) res.write(rest);
  });
  stream.on('end', () => {
    if (!headed) res.writeHead(502, { 'content-type': 'application/json' }).end('{"message":"Internal server error"}');
    else res.end();
  });
  stream.on('error', () => res.destroy());
}

function toProxyEvent(req: http.IncomingMessage, url: URL, body: Buffer, resources: Set<string>, stage: string): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  const contentType = String(req.headers['content-type'] ?? 'application/json');
  const isText = /json|text/.test(contentType);
  const resource = resources.has(url.pathname) ? url.pathname : '/{proxy+}';
  return {
    resource,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: resource === '/{proxy+}' ? { proxy: url.pathname.slice(1) } : null,
    stageVariables: null,
    // Like a REST API without binary media types: text bodies arrive as text.
    body: body.length ? (isText ? body.toString('utf8') : body.toString('base64')) : null,
    isBase64Encoded: body.length > 0 && !isText,
    requestContext: {
      requestId: randomUUID(),
      stage,
      httpMethod: req.method ?? 'GET',
      path: `/${stage}${url.pathname}`,
      resourcePath: resource,
    } as APIGatewayProxyEvent['requestContext'],
  };
}
