import * as http from 'node:http';
import { PassThrough } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { API_GATEWAY_MAX_PAYLOAD_BYTES, frontDoor, GatewayAnswer, integrationFailedAnswer, payloadTooLargeAnswer } from './api-gateway';
import { lambdaContext, proxyEvent, splitPrelude } from './runtime-shim';
import { apiRoutes } from '../contract/api-contract';

/** How long a connection refused for its size stays open (unread) so the client can read the 413. */
const TOO_LARGE_LINGER_MS = 2_000;

type StreamingHandler = (event: APIGatewayProxyEvent, stream: PassThrough, context: Context) => Promise<void>;

export interface EmulatorOptions {
  /** The router's streaming handler (from the bundle or the sources). */
  readonly handler: StreamingHandler;
  /** Simulated Lambda timeout. @default 300000 */
  readonly timeoutMs?: number;
  /** Stage name shown in the event. @default 'prod' */
  readonly stageName?: string;
  /**
   * Answer as the deployed API does before its handler runs: 403 "Missing
   * Authentication Token" for any path or method other than the API's two,
   * and the request validator's 400 for a chat-completion body that does not
   * match the request model. Off only to test the handler's own defences.
   * @default true
   */
  readonly apiGatewayChecks?: boolean;
  /**
   * API key authorization (tenants): x-api-key value -> key id. Requests without a known key
   * get API Gateway's 403; others carry the key's id in `requestContext.identity.apiKeyId`.
   * @default no API keys
   */
  readonly apiKeyIds?: ReadonlyMap<string, string>;
  /**
   * The router has transcript access, so its API also has
   * `POST /v1/understanding` (as the construct adds it).
   * @default false
   */
  readonly transcriptAccess?: boolean;
}

/**
 * A local stand-in for API Gateway's REST Lambda proxy integration in
 * response-streaming mode: one HTTP request in, one proxy event to the
 * handler, and the handler's prelude-framed stream back out as HTTP,
 * forwarded chunk by chunk as the handler writes it.
 */
export function createEmulatorServer(options: EmulatorOptions): http.Server {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const routes = apiRoutes(options.transcriptAccess ?? false);
  const resources = new Set(routes.map((r) => r.path));
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => {
      // As API Gateway does: refused as soon as the limit is crossed, the rest never read.
      req.removeAllListeners('data');
      req.removeAllListeners('end');
      req.pause();
      answerWith(res, payloadTooLargeAnswer());
      // Not read any further, and closed once the client has had time to read the answer (closing
      // at once would reset a client still sending, before it reads the 413).
      setTimeout(() => req.socket.destroy(), TOO_LARGE_LINGER_MS).unref();
    };
    if (Number(req.headers['content-length']) > API_GATEWAY_MAX_PAYLOAD_BYTES) {
      tooLarge();
      return;
    }
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > API_GATEWAY_MAX_PAYLOAD_BYTES) tooLarge();
      else chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = Buffer.concat(chunks);
      const door = frontDoor({ routes, checks: options.apiGatewayChecks !== false, apiKeyIds: options.apiKeyIds },
        { method: req.method ?? 'GET', path: url.pathname, headers: req.headers }, body);
      if (door.answer) {
        answerWith(res, door.answer);
        return;
      }
      const event = toProxyEvent(req, url, body, resources, options.stageName ?? 'prod', door.apiKeyId);
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
          console.error(`llm-gateway-router: the handler failed: ${err?.name ?? 'Error'}: ${String(err?.message).split('\n')[0]}`);
          if (!res.headersSent) answerWith(res, integrationFailedAnswer());
        })
        .finally(() => {
          clearTimeout(timer);
          if (!stream.writableEnded) stream.end();
        });
    });
  });
}

function answerWith(res: http.ServerResponse, answer: GatewayAnswer): void {
  res.writeHead(answer.status, answer.headers).end(answer.body);
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
    if (headed || res.headersSent) res.end();
    else answerWith(res, integrationFailedAnswer());
  });
  stream.on('error', () => res.destroy());
}

/** The event for `req`: header pairs as they came, text bodies as text, others in base64, and the API key API Gateway matched. */
function toProxyEvent(
  req: http.IncomingMessage, url: URL, body: Buffer, resources: Set<string>, stage: string, apiKeyId: string | undefined,
): APIGatewayProxyEvent {
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
    identity: {
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      ...(apiKeyId ? { apiKeyId } : {}),
    },
  });
}
