import * as http from 'node:http';
import type { Writable } from 'node:stream';
import { routerEnvironment } from '../../src/emulator/config';
import { BUNDLE_PATH, installLambdaRuntimeShim } from '../../src/emulator/runtime-shim';

/** The deployed artefact (built by `npx projen bundle`, which `npm run bench` runs first). */
export const BUNDLE = process.env.BENCH_BUNDLE ?? BUNDLE_PATH;
export const MODELS = ['gpt-5', 'claude-sonnet-4-6'];

type Handler = (event: unknown, stream: Writable, context: unknown) => Promise<void>;

/**
 * The deployed bundle's handler for a local upstream (`endpoint` is the
 * explicit custom-upstream opt-in). Powertools writes an EMF document and the
 * router a log line per request to stdout: they are still produced (that
 * cost is the router's), but not printed; `silencedLines()` counts them.
 */
export function bundledHandler(endpoint: string): Handler {
  installLambdaRuntimeShim();
  silenceJsonLines();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bundle = require(BUNDLE);
  return bundle.createRouterHandler(routerEnvironment({ region: 'us', endpoint, allowedModels: MODELS }), { apiKeyProvider: async () => 'bench-key-0123456789abcdef' });
}

/**
 * The least a streaming Lambda proxy can do, as a reference: forward the
 * body to the upstream over a keep-alive agent and relay the answer, with
 * no checks, no metrics, no log. Same runtime shim, same emulator.
 */
export function passthroughHandler(endpoint: string): Handler {
  installLambdaRuntimeShim();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL('/v1/chat/completions', endpoint);
  const awslambda = (globalThis as unknown as { awslambda: { HttpResponseStream: { from(s: Writable, p: object): Writable } } }).awslambda;
  return (event, stream) => new Promise<void>((resolve) => {
    const body = (event as { body: string }).body ?? '';
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const out = awslambda.HttpResponseStream.from(stream, { statusCode: res.statusCode, headers: { 'content-type': String(res.headers['content-type']) } });
      res.on('data', (c: Buffer) => out.write(c));
      res.on('end', () => {
        out.end();
        resolve();
      });
      res.on('error', () => {
        out.end();
        resolve();
      });
    });
    req.on('error', () => {
      awslambda.HttpResponseStream.from(stream, { statusCode: 502, headers: {} }).end();
      resolve();
    });
    req.end(body);
  });
}

let silenced = 0;
let installed = false;
/** JSON lines (EMF documents and request log lines) swallowed so far. */
export const silencedLines = () => silenced;

function silenceJsonLines(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      // Powertools' EMF documents and the request log lines (`{"...`), never the bench's own output.
      if (typeof chunk === 'string' && chunk.startsWith('{"')) {
        silenced++;
        const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        if (cb) process.nextTick(cb);
        return true;
      }
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
}
