import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { LocalRouterSettings, routerEnvironment } from '../../src/emulator/config';
import { BUNDLE_PATH, installLambdaRuntimeShim } from '../../src/emulator/runtime-shim';
import { createEmulatorServer } from '../../src/emulator/server';
import { createRouterHandler, RouterHandlerOptions, StreamingHandler } from '../../src/handler/app';

installLambdaRuntimeShim();

export const TEST_KEY = 'gw-test-key-0123456789';

export interface RunningRouter {
  readonly url: string;
  readonly client: OpenAI;
  readonly handler: StreamingHandler;
  close(): Promise<void>;
}

/**
 * Runs a router (from the sources, or from the deployed bundle) behind the
 * local API Gateway emulator, with an OpenAI client pointed at it.
 */
export async function startRouter(
  settings: LocalRouterSettings,
  options: RouterHandlerOptions & { bundle?: boolean; timeoutMs?: number; clientTimeoutMs?: number; apiGatewayChecks?: boolean } = {},
): Promise<RunningRouter> {
  const env = routerEnvironment(settings);
  const apiKeyProvider = options.apiKeyProvider ?? (async () => TEST_KEY);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const create: typeof createRouterHandler = options.bundle ? require(BUNDLE_PATH).createRouterHandler : createRouterHandler;
  const handler = create(env, { apiKeyProvider, tenants: options.tenants, guardrails: options.guardrails });
  // Handler tests reach the handler's own checks (which stand even for requests
  // API Gateway's checks do not cover); the emulator's parity tests turn API
  // Gateway's routing and validator on.
  const server = createEmulatorServer({
    handler,
    timeoutMs: options.timeoutMs,
    apiGatewayChecks: options.apiGatewayChecks ?? false,
    transcriptAccess: settings.transcriptAccess,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'caller-credential', maxRetries: 0, timeout: options.clientTimeoutMs ?? 20_000 });
  return {
    url,
    client,
    handler,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A raw HTTP call (for bodies no SDK would send). */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function rawRequest(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
