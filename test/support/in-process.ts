import { PassThrough } from 'node:stream';
import { lambdaContext, proxyEvent, splitPrelude } from '../../src/emulator/runtime-shim';
import { StreamingHandler } from '../../src/handler/app';

export interface InvokeResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Invokes the streaming handler in-process and splits its output into prelude and body. */
export async function invoke(
  handler: StreamingHandler,
  body: string | Buffer,
  opts: { method?: string; path?: string; requestId?: string } = {},
): Promise<InvokeResult> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const binary = Buffer.isBuffer(body);
  const event = proxyEvent({
    method: opts.method ?? 'POST',
    path: opts.path ?? '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: binary ? body.toString('base64') : body,
    isBase64Encoded: binary,
    requestId: opts.requestId,
  });
  await handler(event, stream, lambdaContext(60_000));
  const all = Buffer.concat(chunks);
  const split = splitPrelude(all);
  if (!split) throw new Error(`no prelude in handler output: ${all.toString('utf8').slice(0, 200)}`);
  return { status: split.prelude.statusCode!, headers: split.prelude.headers!, body: split.body.toString('utf8') };
}
