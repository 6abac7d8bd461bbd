import { PassThrough } from 'node:stream';
import { lambdaContext, proxyEvent } from './router-harness';
import { PRELUDE_DELIMITER } from '../../src/emulator/runtime-shim';
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
  opts: { method?: string; path?: string } = {},
): Promise<InvokeResult> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const event = proxyEvent(opts.method ?? 'POST', opts.path ?? '/v1/chat/completions', Buffer.isBuffer(body) ? body.toString('base64') : body);
  if (Buffer.isBuffer(body)) event.isBase64Encoded = true;
  await handler(event, stream, lambdaContext());
  const all = Buffer.concat(chunks);
  const at = all.indexOf(PRELUDE_DELIMITER);
  if (at < 0) throw new Error(`no prelude in handler output: ${all.toString('utf8').slice(0, 200)}`);
  const prelude = JSON.parse(all.subarray(0, at).toString('utf8'));
  return { status: prelude.statusCode, headers: prelude.headers, body: all.subarray(at + PRELUDE_DELIMITER.length).toString('utf8') };
}
