import { EventEmitter } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { CostRow, costModel } from './cost-model';
import { bundledHandler, silencedLines } from './support/router';
import { count, round } from './support/stats';
import { lambdaContext, proxyEvent } from '../src/emulator/runtime-shim';

export interface HandlerCpuResult {
  requests: number;
  bodyBytes: number;
  wallUsPerRequest: number;
  cpuUsPerRequest: number;
  requestsPerCoreSecond: number;
  jsonLinesPerRequest: number;
  /** What that CPU time means at 128, 256 and 512 MB (bench/cost-model.ts). */
  costModel: CostRow[];
}

/**
 * What one request costs the function itself: the bundled handler invoked
 * in-process with 1 KB bodies, the upstream answered in memory (node:http's
 * `request` replaced in this worker process, so no socket is involved). On
 * Lambda each execution environment serves one request at a time and
 * concurrency scales out, so this, not one process's HTTP throughput, is
 * the router's own compute per request, and what the cost model is built on.
 */
export async function handlerCpu(): Promise<HandlerCpuResult> {
  const n = count(20_000, 200);
  const body = JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'x'.repeat(980) }] });
  const answer = Buffer.from('{"id":"c","object":"chat.completion","created":1,"model":"gpt-5","request_id":"r","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"input_tokens":1,"output_tokens":1}}');
  // The bundle calls request() on node:http's module object, so replacing it there stands in for the network.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const http = require('node:http') as { request: unknown };
  http.request = () => {
    const req = new EventEmitter() as EventEmitter & { destroy(): void; end(): void };
    req.destroy = () => undefined;
    req.end = () => {
      const res = Readable.from([answer]) as Readable & { statusCode: number; headers: Record<string, string> };
      res.statusCode = 200;
      res.headers = { 'content-type': 'application/json' };
      process.nextTick(() => req.emit('response', res));
    };
    return req;
  };
  const handler = bundledHandler('http://127.0.0.1:9');
  const context = lambdaContext();
  const event = proxyEvent({ method: 'POST', path: '/v1/chat/completions', body });
  const once = async (): Promise<string> => {
    const stream = new PassThrough();
    let first = '';
    stream.on('data', (c: Buffer) => {
      if (!first) first = c.toString('utf8');
    });
    await handler(event, stream, context);
    return first;
  };
  const prelude = await once();
  if (!prelude.startsWith('{"statusCode":200')) throw new Error(`handler-cpu: not a 200: ${prelude}`);
  for (let i = 0; i < Math.min(2000, n); i++) await once();
  const lines0 = silencedLines();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  const wallUs = Number(process.hrtime.bigint() - start) / 1e3;
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / n;
  return {
    requests: n,
    bodyBytes: Buffer.byteLength(body),
    wallUsPerRequest: round(wallUs / n, 1),
    cpuUsPerRequest: round(cpuUs, 1),
    requestsPerCoreSecond: round(1e6 / cpuUs, 0),
    jsonLinesPerRequest: round((silencedLines() - lines0) / n, 2),
    costModel: costModel(cpuUs),
  };
}
