import * as http from 'node:http';
import { AddressInfo } from 'node:net';

export interface UpstreamOptions {
  /** Delay before answering, ms (a stand-in for model latency). */
  readonly delayMs?: number;
  /** For streams: number of content chunks and the gap between consecutive events, ms. */
  readonly chunks?: number;
  readonly chunkGapMs?: number;
  /** Called with the time (process.hrtime.bigint) each SSE event is written, keyed by the request's nonce. */
  readonly onEventWritten?: (nonce: string, index: number, at: bigint) => void;
}

const COMPLETION_TAIL = ',"usage":{"input_tokens":12,"output_tokens":8}}';

/**
 * A minimal local gateway: echoes `messages[0].content` (the nonce, so
 * responses can be matched to requests) as a JSON completion, or, for
 * `stream: true`, as SSE: `chunks` content events then a finish/usage event
 * and `[DONE]`, each `chunkGapMs` after the previous one.
 */
export function createUpstream(opts: UpstreamOptions = {}): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { model?: string; stream?: boolean; messages?: Array<{ content?: unknown }> };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"not JSON"}}');
        return;
      }
      const nonce = String(body.messages?.[0]?.content ?? '').slice(0, 64);
      const model = JSON.stringify(String(body.model));
      const respond = () => {
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const n = opts.chunks ?? 4;
          let i = 0;
          const send = () => {
            if (res.destroyed) return;
            opts.onEventWritten?.(nonce, i, process.hrtime.bigint());
            if (i < n) {
              const piece = i === 0 ? nonce : `.${i}`;
              res.write(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":${model},"choices":[{"index":0,"delta":{"content":${JSON.stringify(piece)}},"finish_reason":null}]}\n\n`);
              i++;
              if (opts.chunkGapMs) setTimeout(send, opts.chunkGapMs);
              else send();
            } else {
              res.end(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":${model},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":${n}}}\n\ndata: [DONE]\n\n`);
            }
          };
          send();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(`{"id":"c","object":"chat.completion","created":1,"model":${model},"request_id":"r","choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(nonce)}},"finish_reason":"stop"}]${COMPLETION_TAIL}`);
        }
      };
      if (opts.delayMs) setTimeout(respond, opts.delayMs);
      else respond();
    });
  });
}

export async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
