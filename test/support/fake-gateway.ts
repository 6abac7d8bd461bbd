import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** A request as the fake gateway received it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawBody: string;
  readonly json: any;
}

export type GatewayBehaviour = (req: RecordedRequest, res: http.ServerResponse, attempt: number) => void | Promise<void>;

/**
 * A local server that speaks the LLM Gateway's wire format: JSON
 * completions, SSE streams, its three error shapes, delays and faults.
 */
export class FakeGateway {
  static async start(behaviour: GatewayBehaviour = defaultBehaviour): Promise<FakeGateway> {
    const gateway = new FakeGateway(behaviour);
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    return gateway;
  }

  readonly requests: RecordedRequest[] = [];
  readonly server: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(public behaviour: GatewayBehaviour) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(rawBody);
        } catch {
          json = undefined;
        }
        const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody, json };
        this.requests.push(recorded);
        void Promise.resolve(this.behaviour(recorded, res, this.requests.length)).catch(() => res.destroy());
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Registers a fake gateway for the enclosing file (or describe): started once,
 * closed after, its record and behaviour reset before each test. Read
 * `.gateway` inside tests: it is set in beforeAll.
 */
export function useFakeGateway(): { readonly gateway: FakeGateway } {
  const holder = {} as { gateway: FakeGateway };
  beforeAll(async () => {
    holder.gateway = await FakeGateway.start();
  });
  afterAll(() => holder.gateway?.close());
  beforeEach(() => {
    holder.gateway.requests.length = 0;
    holder.gateway.behaviour = respondWith();
  });
  return holder;
}

export function completion(model: string, content = 'Hello from the gateway', usageStyle: 'openai' | 'gateway' = 'gateway') {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_764_000_000,
    model,
    request_id: 'req_123',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: usageStyle === 'gateway'
      ? { input_tokens: 11, output_tokens: 7, total_tokens: 18 }
      : { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
  };
}

export function sseEvent(model: string, content: string | null, extra: Record<string, unknown> = {}): string {
  const delta = content === null ? {} : { content };
  return `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: content === null ? 'stop' : null }], ...extra })}\n\n`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `condition` holds or `timeoutMs` has passed (the caller asserts which). */
export async function waitUntil(condition: () => boolean, timeoutMs: number, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(stepMs);
}

/** Streams `parts` with `gapMs` between them when asked to stream; otherwise one JSON completion. */
export function respondWith(opts: { parts?: string[]; gapMs?: number; usageStyle?: 'openai' | 'gateway' } = {}): GatewayBehaviour {
  const parts = opts.parts ?? ['Hel', 'lo', '!'];
  return async (req, res) => {
    const model = req.json?.model ?? 'unknown';
    if (req.json?.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const part of parts) {
        res.write(sseEvent(model, part));
        if (opts.gapMs) await sleep(opts.gapMs);
      }
      res.write(sseEvent(model, null, { usage: { prompt_tokens: 5, completion_tokens: parts.length } }));
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(completion(model, parts.join(''), opts.usageStyle)));
  };
}

export const defaultBehaviour: GatewayBehaviour = respondWith();

/** Answers with a status and a body in one of the gateway's error shapes. */
export function errorWith(status: number, shape: 'nested' | 'flat' | 'auth', headers: Record<string, string> = {}): GatewayBehaviour {
  const bodies = {
    nested: { error: { code: 'bad_thing', message: `nested error ${status}`, metadata: {} } },
    flat: { code: 'bad_thing', message: `flat error ${status}`, request_id: 'req_flat', metadata: {} },
    auth: { error: `auth error ${status}`, status: 'error', request_id: 'req_auth' },
  };
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(bodies[shape]));
  };
}
