import * as http from 'node:http';
import { AddressInfo } from 'node:net';

export interface UpstreamOptions {
  /** Delay before answering, ms (a stand-in for model latency). */
  readonly delayMs?: number;
  /** For streams: number of chunks and the gap between them, ms. */
  readonly chunks?: number;
  readonly chunkGapMs?: number;
}

const COMPLETION_TAIL = ',"usage":{"input_tokens":12,"output_tokens":8}}';

/**
 * A minimal local gateway: echoes `messages[0].content` (so responses can be
 * matched to requests) as a JSON completion, or as SSE chunks when asked to stream.
 */
export function createUpstream(opts: UpstreamOptions = {}): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const nonce = String(body.messages?.[0]?.content ?? '').slice(0, 64);
      const respond = () => {
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const n = opts.chunks ?? 4;
          let i = 0;
          const send = () => {
            const piece = i === 0 ? nonce : `.${i}`;
            res.write(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"${body.model}","choices":[{"index":0,"delta":{"content":${JSON.stringify(piece)}},"finish_reason":null}]}\n\n`);
            i++;
            if (i < n) {
              if (opts.chunkGapMs) setTimeout(send, opts.chunkGapMs);
              else send();
            } else {
              res.end(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"${body.model}","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":${n}}}\n\ndata: [DONE]\n\n`);
            }
          };
          send();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(`{"id":"c","object":"chat.completion","created":1,"model":"${body.model}","request_id":"r","choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(nonce)}},"finish_reason":"stop"}]${COMPLETION_TAIL}`);
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
