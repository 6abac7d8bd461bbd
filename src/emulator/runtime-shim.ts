import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

/*
 * The Lambda and API Gateway side of running the router off AWS, in one
 * place for the emulator, the tests and the benchmarks: the runtime's
 * `awslambda` global, the streaming prelude's framing (written and read),
 * the proxy event, the context, and where the deployed bundle lies.
 */

/** The deployed artefact, built by `npx projen bundle` (the same from src/ and lib/). */
export const BUNDLE_PATH = path.join(__dirname, '..', '..', 'assets', 'handler', 'router.lambda', 'index.js');

/** The bytes the Lambda runtime puts between the HTTP prelude and the body. */
export const PRELUDE_DELIMITER = Buffer.alloc(8);

/**
 * Installs the `awslambda` global the Lambda Node.js runtime provides, with
 * the runtime's wire behaviour: `HttpResponseStream.from` writes the JSON
 * prelude (status, headers) and eight NUL bytes before the body, which is
 * what API Gateway reads in response-streaming mode. Idempotent.
 */
export function installLambdaRuntimeShim(): void {
  // Other libraries (the Lambda invoke store) may already have created the
  // namespace: fill in what is missing rather than replace it.
  const g = globalThis as { awslambda?: Record<string, unknown> };
  const ns = (g.awslambda ??= {});
  ns.streamifyResponse ??= <T>(handler: T): T => handler;
  ns.HttpResponseStream ??= class {
    static from(underlying: Writable, prelude: Record<string, unknown>): Writable {
      underlying.write(JSON.stringify(prelude));
      underlying.write(PRELUDE_DELIMITER);
      return underlying;
    }
  };
}

/** The status and headers a streaming handler sends ahead of its body. */
export interface StreamingPrelude {
  readonly statusCode?: number;
  readonly headers?: Record<string, string>;
}

/**
 * Splits a streaming handler's output into its prelude and what follows it
 * (the body so far). `undefined` while the delimiter has not arrived yet, so
 * a reader can call it again on a longer buffer.
 */
export function splitPrelude(output: Buffer): { prelude: StreamingPrelude; body: Buffer } | undefined {
  const at = output.indexOf(PRELUDE_DELIMITER);
  if (at < 0) return undefined;
  return {
    prelude: JSON.parse(output.subarray(0, at).toString('utf8')) as StreamingPrelude,
    body: output.subarray(at + PRELUDE_DELIMITER.length),
  };
}

/** One HTTP request, as far as API Gateway's REST proxy integration passes it on. */
export interface ProxyRequest {
  readonly method: string;
  /** The request path, without the stage. */
  readonly path: string;
  /** The API resource that matched. @default `path` */
  readonly resource?: string;
  /** @default {} */
  readonly headers?: Record<string, string>;
  /** @default each of `headers` as a one-value list */
  readonly multiValueHeaders?: Record<string, string[]>;
  /** @default none */
  readonly query?: Record<string, string>;
  /** @default none */
  readonly body?: string | null;
  /** Whether `body` is base64 (a binary body). @default false */
  readonly isBase64Encoded?: boolean;
  /** @default 'prod' */
  readonly stage?: string;
  /** @default a random UUID */
  readonly requestId?: string;
  /**
   * `requestContext.identity` beyond the source address: what API Gateway
   * fills in after authorization (`apiKeyId`, `userArn`, ...).
   * @default only `sourceIp`
   */
  readonly identity?: Record<string, string>;
  /** `requestContext.authorizer`: a Cognito or Lambda authorizer's context. @default null */
  readonly authorizer?: Record<string, unknown> | null;
}

/** The REST API Lambda proxy event API Gateway would send for `req`. */
export function proxyEvent(req: ProxyRequest): APIGatewayProxyEvent {
  const resource = req.resource ?? req.path;
  const stage = req.stage ?? 'prod';
  const headers = req.headers ?? {};
  const query = req.query && Object.keys(req.query).length ? req.query : null;
  return {
    resource,
    path: req.path,
    httpMethod: req.method,
    headers,
    multiValueHeaders: req.multiValueHeaders ?? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    pathParameters: resource === '/{proxy+}' ? { proxy: req.path.slice(1) } : null,
    stageVariables: null,
    body: req.body ?? null,
    isBase64Encoded: req.isBase64Encoded ?? false,
    requestContext: {
      requestId: req.requestId ?? randomUUID(),
      stage,
      httpMethod: req.method,
      path: `/${stage}${req.path}`,
      resourcePath: resource,
      identity: { sourceIp: '127.0.0.1', ...req.identity },
      authorizer: req.authorizer ?? null,
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

/** The invocation context, as much of it as the router reads, for a function with `timeoutMs` left. */
export function lambdaContext(timeoutMs = 300_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: randomUUID(),
    functionName: 'llm-gateway-router-local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as unknown as Context;
}
