/**
 * What the router reads from the gateway's answers: the three error shapes,
 * usage in both spellings (completion and stream tail), Retry-After, and the
 * stream emulated from a completion.
 */
import { normalizeUpstreamError } from '../../src/handler/errors';
import { answerFromSseTail, completionToSse } from '../../src/handler/sse';
import { retryAfterMs } from '../../src/handler/upstream';
import { readUsage } from '../../src/handler/usage';

describe('upstream error shapes, usage and Retry-After', () => {
  test('the three error shapes, invalid JSON and an empty body all become OpenAI errors', () => {
    expect(normalizeUpstreamError(400, '{"error":{"code":"invalid","message":"bad input","metadata":{}}}')).toEqual({ error: { message: 'bad input', type: 'invalid_request_error', param: null, code: 'invalid' } });
    expect(normalizeUpstreamError(404, '{"code":"not_found","message":"no such model","request_id":"r","metadata":{}}')).toEqual({ error: { message: 'no such model', type: 'not_found_error', param: null, code: 'not_found' } });
    expect(normalizeUpstreamError(401, '{"error":"Invalid API key","status":"error","request_id":"r"}')).toEqual({ error: { message: 'Invalid API key', type: 'authentication_error', param: null, code: 'upstream_401' } });
    expect(normalizeUpstreamError(502, '<html>bad gateway</html>').error).toEqual({ message: 'The LLM Gateway answered with HTTP 502', type: 'api_error', param: null, code: 'upstream_502' });
    expect(normalizeUpstreamError(503, '').error.message).toBe('The LLM Gateway answered with HTTP 503 and an empty body');
    expect(normalizeUpstreamError(429, '{"error":{"code":429,"message":"slow down"}}').error).toMatchObject({ type: 'rate_limit_error', code: '429' });
  });

  test('usage in both spellings, from a completion and from the tail of a stream, with the model that answered', () => {
    const usage = (inputTokens: number, outputTokens: number) => ({ status: 'ok', usage: { inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0 } });
    expect(readUsage({ usage: { input_tokens: 3, output_tokens: 4 } })).toEqual(usage(3, 4));
    expect(readUsage({ usage: { prompt_tokens: 5, completion_tokens: 6 } })).toEqual(usage(5, 6));
    expect(readUsage({})).toEqual({ status: 'missing' });
    expect(answerFromSseTail('data: {"model":"gpt-5.5","choices":[]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}\n\ndata: [DONE]\n\n'))
      .toEqual({ usage: usage(9, 2), model: 'gpt-5.5' });
    expect(answerFromSseTail('age":{"prompt_tokens":1}}\n\ndata: [DONE]\n\n')).toEqual({ usage: { status: 'missing' } });
  });

  test('Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0.25')).toBe(250);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    const inFive = new Date(Date.now() + 5_000).toUTCString();
    expect(retryAfterMs(inFive)).toBeGreaterThan(3_000);
    expect(retryAfterMs(inFive)).toBeLessThanOrEqual(5_000);
  });

  test('an emulated stream is well-formed chat.completion.chunk SSE ending in [DONE]', () => {
    const sse = completionToSse({
      id: 'c1',
      created: 7,
      model: 'claude-sonnet-4-6',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }],
      usage: { input_tokens: 1, output_tokens: 2 },
    }, 'claude-sonnet-4-6');
    const events = sse.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === 'c1' && c.model === 'claude-sonnet-4-6')).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: 'Hi', tool_calls: [{ index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] });
    expect(chunks.at(-1)).toMatchObject({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }], usage: { input_tokens: 1, output_tokens: 2 } });
  });
});
