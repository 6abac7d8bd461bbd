/**
 * The OpenAI error shape the router answers with, and how the gateway's
 * error bodies are read. Expected values are OpenAI's error types and the
 * gateway's documented shapes, as literals.
 */
import { errorBody, normalizeUpstreamError, reject, typeForStatus } from '../../src/handler/errors';

describe('errors', () => {
  test('the OpenAI error type for each status', () => {
    const expected: Array<[number, string]> = [
      [400, 'invalid_request_error'], [401, 'authentication_error'], [402, 'invalid_request_error'], [403, 'permission_error'],
      [404, 'not_found_error'], [405, 'invalid_request_error'], [413, 'invalid_request_error'], [428, 'invalid_request_error'],
      [429, 'rate_limit_error'], [430, 'invalid_request_error'], [499, 'invalid_request_error'], [500, 'api_error'], [504, 'api_error'],
    ];
    for (const [status, type] of expected) expect([status, typeForStatus(status)]).toEqual([status, type]);
  });

  test('reject and errorBody build the exact OpenAI shape; param defaults to null', () => {
    expect(reject(403, 'residency', 'no', 'model_not_allowed')).toEqual({
      status: 403, reason: 'residency', body: { error: { message: 'no', type: 'permission_error', param: null, code: 'model_not_allowed' } },
    });
    expect(reject(400, 'bad_request', 'bad', 'invalid_type', 'stream').body.error.param).toBe('stream');
    expect(errorBody('m', 't', null)).toEqual({ error: { message: 'm', type: 't', param: null, code: null } });
  });

  test('upstream errors: what is read from which shape, and the fallbacks', () => {
    // Nested shape without a message: the status fallback, the nested code.
    expect(normalizeUpstreamError(400, '{"error":{"code":"x"}}').error).toEqual({ message: 'The LLM Gateway answered with HTTP 400', type: 'invalid_request_error', param: null, code: 'x' });
    // A numeric code at the top level (flat shape).
    expect(normalizeUpstreamError(409, '{"code":7,"message":"conflict"}').error).toEqual({ message: 'conflict', type: 'invalid_request_error', param: null, code: '7' });
    // A code that is neither string nor number is ignored.
    expect(normalizeUpstreamError(409, '{"code":true,"message":"m"}').error.code).toBe('upstream_409');
    // JSON that is not an object: fallback message and code.
    for (const raw of ['[1,2]', 'null', '"text"', '42']) {
      expect(normalizeUpstreamError(500, raw).error).toEqual({ message: 'The LLM Gateway answered with HTTP 500', type: 'api_error', param: null, code: 'upstream_500' });
    }
    // The auth shape's error string is the message only when no message field exists.
    expect(normalizeUpstreamError(401, '{"error":"bad key","message":"real message"}').error.message).toBe('real message');
    expect(normalizeUpstreamError(401, '{"error":{"message":"inner"},"message":"outer"}').error.message).toBe('inner');
  });
});
