import * as path from 'node:path';
import { routerEnvironment } from '../../src/emulator/config';
import { installLambdaRuntimeShim } from '../../src/emulator/runtime-shim';

export const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'handler', 'router.lambda', 'index.js');
export const MODELS = ['gpt-5', 'claude-sonnet-4-6'];

/**
 * The deployed bundle's handler for a local upstream. Powertools writes an
 * EMF document and a log line per request to stdout: they are still
 * produced (that cost is the router's), but not printed.
 */
export function bundledHandler(endpoint: string) {
  installLambdaRuntimeShim();
  silenceJsonLines();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bundle = require(BUNDLE);
  return bundle.createRouterHandler(routerEnvironment({ region: 'us', endpoint, allowedModels: MODELS }), { apiKeyProvider: async () => 'bench-key' });
}

let silenced = false;
function silenceJsonLines(): void {
  if (silenced) return;
  silenced = true;
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: any, ...rest: any[]) => {
      // Powertools' EMF documents and the request log lines (`{"...`), not the bench's own output.
      if (typeof chunk === 'string' && chunk.startsWith('{"')) {
        const cb = rest.find((r) => typeof r === 'function');
        if (cb) cb();
        return true;
      }
      return original(chunk, ...rest);
    }) as typeof stream.write;
  }
}
