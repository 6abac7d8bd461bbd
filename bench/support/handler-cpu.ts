import { EventEmitter } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { bundledHandler } from './router';

/**
 * Run as its own process (it replaces the network): the bundled handler's
 * own cost per request, with the upstream answered in-memory instead of
 * over HTTP. Prints `{"usPerRequest":...}` on stderr... as a `RESULT` line.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const http = require('node:http');
const n = Number(process.argv[2] ?? 20000);
const body = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'x'.repeat(900) }] });
const answer = Buffer.from('{"id":"c","object":"chat.completion","created":1,"model":"gpt-5","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"input_tokens":1,"output_tokens":1}}');
http.request = () => {
  const req: any = new EventEmitter();
  req.destroy = () => undefined;
  req.end = () => {
    const res: any = Readable.from([answer]);
    res.statusCode = 200;
    res.headers = {};
    process.nextTick(() => req.emit('response', res));
  };
  return req;
};
const handler = bundledHandler('http://127.0.0.1:9');
const context = { awsRequestId: 'x', getRemainingTimeInMillis: () => 300_000 };
const event = { resource: '/v1/chat/completions', path: '/v1/chat/completions', httpMethod: 'POST', headers: {}, body, isBase64Encoded: false, requestContext: { requestId: 'r' } };

async function once(): Promise<void> {
  const stream = new PassThrough();
  stream.resume();
  await handler(event, stream, context);
}

async function main(): Promise<void> {
  for (let i = 0; i < Math.min(2000, n); i++) await once();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  const wallUs = Number(process.hrtime.bigint() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  process.stdout.write(`RESULT ${JSON.stringify({ requests: n, wallUsPerRequest: wallUs / n, cpuUsPerRequest: (used.user + used.system) / n })}\n`);
}

void main();
