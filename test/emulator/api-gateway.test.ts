/**
 * The emulator's API Gateway layer on its own: which of API Gateway's
 * answers a request gets, in API Gateway's order (route, API key, request
 * validator). The bodies are API Gateway's messages in the OpenAI shape the
 * construct's gateway responses give them.
 */
import { apiRoutes } from '../../src/contract/api-contract';
import { frontDoor, integrationFailedAnswer, payloadTooLargeAnswer } from '../../src/emulator/api-gateway';

const routes = apiRoutes(false);
const keys = new Map([['team-key', 'kid-1']]);
const valid = Buffer.from(JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] }));
const invalid = Buffer.from('{"messages": 3}');
const post = (path: string, headers: Record<string, string> = {}) => ({ method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } });

function outcome(o: ReturnType<typeof frontDoor>) {
  if (!o.answer) return { run: true, apiKeyId: o.apiKeyId };
  return { status: o.answer.status, type: o.answer.headers['x-amzn-errortype'], message: JSON.parse(o.answer.body).error.message };
}

const MISSING_TOKEN = { status: 403, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
const FORBIDDEN = { status: 403, type: 'ForbiddenException', message: 'Forbidden' };
const BAD_BODY = { status: 400, type: 'BadRequestException', message: 'Invalid request body' };

test('an unknown route is answered before the API key is looked at, the key before the body is validated', () => {
  const door = { routes, checks: true, apiKeyIds: keys };
  expect(outcome(frontDoor(door, post('/v1/embeddings'), invalid))).toEqual(MISSING_TOKEN);
  expect(outcome(frontDoor(door, { ...post('/v1/chat/completions'), method: 'GET' }, valid))).toEqual(MISSING_TOKEN);
  expect(outcome(frontDoor(door, post('/v1/chat/completions'), invalid))).toEqual(FORBIDDEN);
  expect(outcome(frontDoor(door, post('/v1/chat/completions', { 'x-api-key': 'other' }), valid))).toEqual(FORBIDDEN);
  expect(outcome(frontDoor(door, post('/v1/chat/completions', { 'x-api-key': 'team-key' }), invalid))).toEqual(BAD_BODY);
  expect(outcome(frontDoor(door, post('/v1/chat/completions', { 'x-api-key': 'team-key' }), valid))).toEqual({ run: true, apiKeyId: 'kid-1' });
});

test('the request model applies to JSON bodies only (no Content-Type counts as JSON), and GET /v1/models has none', () => {
  const door = { routes, checks: true };
  expect(outcome(frontDoor(door, post('/v1/chat/completions'), Buffer.from('not json')))).toEqual(BAD_BODY);
  expect(outcome(frontDoor(door, { method: 'POST', path: '/v1/chat/completions', headers: {} }, invalid))).toEqual(BAD_BODY);
  expect(outcome(frontDoor(door, post('/v1/chat/completions', { 'content-type': 'Application/JSON; charset=utf-8' }), invalid))).toEqual(BAD_BODY);
  expect(outcome(frontDoor(door, post('/v1/chat/completions', { 'content-type': 'text/plain' }), invalid))).toEqual({ run: true, apiKeyId: undefined });
  expect(outcome(frontDoor(door, { method: 'GET', path: '/v1/models', headers: {} }, Buffer.alloc(0)))).toEqual({ run: true, apiKeyId: undefined });
});

test('with the checks off (to test the handler\'s own defences) routes and bodies pass, API keys are still required', () => {
  const door = { routes, checks: false, apiKeyIds: keys };
  expect(outcome(frontDoor(door, post('/v1/embeddings', { 'x-api-key': 'team-key' }), invalid))).toEqual({ run: true, apiKeyId: 'kid-1' });
  expect(outcome(frontDoor(door, post('/v1/embeddings'), valid))).toEqual(FORBIDDEN);
  expect(outcome(frontDoor({ routes, checks: false }, post('/v1/embeddings'), invalid))).toEqual({ run: true, apiKeyId: undefined });
});

test('/v1/understanding is a route only on a router with transcript access', () => {
  const path = '/v1/understanding';
  expect(outcome(frontDoor({ routes, checks: true }, post(path), valid))).toEqual(MISSING_TOKEN);
  expect(outcome(frontDoor({ routes: apiRoutes(true), checks: true }, post(path), valid)).status).not.toBe(403);
});

test('the payload limit\'s 413 and a failed integration\'s 502 are API Gateway\'s own bodies', () => {
  const tooLarge = payloadTooLargeAnswer();
  expect([tooLarge.status, tooLarge.headers['x-amzn-errortype'], JSON.parse(tooLarge.body).error.message]).toEqual([413, 'RequestTooLargeException', 'Request Too Long']);
  expect(integrationFailedAnswer()).toEqual({ status: 502, headers: { 'content-type': 'application/json' }, body: '{"message":"Internal server error"}' });
});
