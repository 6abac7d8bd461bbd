import type { Writable } from 'node:stream';

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
