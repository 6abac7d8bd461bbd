import { PassThrough } from 'node:stream';
import { lambdaContext, proxyEvent, splitPrelude } from '../../src/emulator/runtime-shim';
import { StreamingHandler } from '../../src/handler/app';

/** One request to the handler, as API Gateway would pass it after authorization. */
export interface CallOptions {
  /** A string is sent as it is, a Buffer base64-encoded (a binary body), anything else as JSON. @default no body */
  readonly body?: unknown;
  /** @default 'POST' */
  readonly method?: string;
  /** @default '/v1/chat/completions' */
  readonly path?: string;
  /** @default a random UUID */
  readonly requestId?: string;
  /** requestContext.identity fields (apiKeyId, userArn). */
  readonly identity?: Record<string, string>;
  /** requestContext.authorizer. */
  readonly authorizer?: Record<string, unknown>;
  /** Hang up as soon as the first body bytes arrive. */
  readonly abortOnFirstBytes?: boolean;
  /** Hang up at once, while the request is being admitted (before anything can be answered). */
  readonly abortDuringAdmission?: boolean;
  /** Hang up when this settles (for example once the gateway has the request). */
  readonly abortOn?: Promise<unknown>;
  /** The function's remaining time when the request arrives. @default 60 s */
  readonly timeoutMs?: number;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The body parsed as JSON, or undefined when it is not JSON (a stream). */
  readonly json: any;
}

/**
 * The one in-process invoker of every handler test: builds the proxy event
 * (identity and authorizer included, nothing patched afterwards), runs the
 * streaming handler and splits its output into prelude and body.
 */
export async function call(handler: StreamingHandler, o: CallOptions = {}): Promise<CallResult> {
  const binary = Buffer.isBuffer(o.body);
  const event = proxyEvent({
    method: o.method ?? 'POST',
    path: o.path ?? '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: o.body === undefined ? null
      : binary ? (o.body as Buffer).toString('base64')
        : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
    isBase64Encoded: binary,
    requestId: o.requestId,
    identity: { sourceIp: '10.0.0.1', ...o.identity },
    authorizer: o.authorizer ?? null,
  });
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => {
    chunks.push(c);
    if (o.abortOnFirstBytes) {
      const split = splitPrelude(Buffer.concat(chunks));
      if (split && split.body.length > 0) stream.destroy();
    }
  });
  const running = handler(event, stream, lambdaContext(o.timeoutMs ?? 60_000));
  // The handler runs synchronously up to its first store call: destroying now is a hang-up during admission.
  if (o.abortDuringAdmission) stream.destroy();
  void o.abortOn?.then(() => stream.destroy());
  await running;
  const all = Buffer.concat(chunks);
  const split = splitPrelude(all);
  if (!split) {
    if (o.abortDuringAdmission || o.abortOn) return { status: 0, headers: {}, body: '', json: undefined };
    throw new Error(`no prelude in handler output: ${all.toString('utf8').slice(0, 200)}`);
  }
  const body = split.body.toString('utf8');
  let json: any;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: split.prelude.statusCode!, headers: split.prelude.headers!, body, json };
}

/** `call` with the body first, for the many tests that only send a body. */
export function invoke(
  handler: StreamingHandler,
  body: string | Buffer,
  opts: Pick<CallOptions, 'method' | 'path' | 'requestId'> = {},
): Promise<CallResult> {
  return call(handler, { ...opts, body });
}
