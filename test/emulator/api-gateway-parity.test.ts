import { Template } from 'aws-cdk-lib/assertions';
import { CHAT_COMPLETION_REQUEST_SCHEMA } from '../../src/catalog/api-contract';
import { newStack, routerIn } from '../construct/helpers';
import { FakeGateway } from '../support/fake-gateway';
import { rawRequest, RunningRouter, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

/*
 * The emulator answers what the deployed API answers before its handler
 * runs. The expected answers are rendered from the construct's own template:
 * its gateway response for the error (VTL with API Gateway's message and
 * response type filled in), and its methods and request model.
 */
const { stack, secret } = newStack();
routerIn(stack, secret, 'Router');
const template = Template.fromStack(stack);

/** The body the deployed API sends for API Gateway's own error `responseType` with `message`. */
function deployedErrorBody(responseType: string, message: string): unknown {
  const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')) as any[];
  const response = responses.find((r) => r.Properties.ResponseType === responseType)
    ?? responses.find((r) => r.Properties.ResponseType === 'DEFAULT_4XX');
  const vtl: string = response.Properties.ResponseTemplates['application/json'];
  // $context.error.messageString is the message as a quoted JSON string.
  return JSON.parse(vtl.replace('$context.error.messageString', JSON.stringify(message)).replace('$context.error.responseType', responseType));
}

const MISSING_TOKEN = deployedErrorBody('MISSING_AUTHENTICATION_TOKEN', 'Missing Authentication Token');
const INVALID_BODY = deployedErrorBody('BAD_REQUEST_BODY', 'Invalid request body');

describe('the emulator answers as the deployed API', () => {
  let gateway: FakeGateway;
  let router: RunningRouter;
  beforeAll(async () => {
    gateway = await FakeGateway.start();
    router = await startRouter({ region: 'us', endpoint: gateway.url }, { apiGatewayChecks: true });
  });
  afterAll(async () => {
    await router.close();
    await gateway.close();
  });
  beforeEach(() => gateway.requests.splice(0));

  test('the deployed bodies are the documented ones', () => {
    expect(MISSING_TOKEN).toEqual({ error: { message: 'Missing Authentication Token', type: 'authentication_error', param: null, code: 'MISSING_AUTHENTICATION_TOKEN' } });
    expect(INVALID_BODY).toEqual({ error: { message: 'Invalid request body', type: 'invalid_request_error', param: null, code: 'BAD_REQUEST_BODY' } });
  });

  test('the emulator routes exactly the methods the API has', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map((m: any) => m.Properties.HttpMethod).sort();
    expect(methods).toEqual(['GET', 'POST']);
  });

  test.each([
    ['POST', '/v1/embeddings'],
    ['GET', '/v1/chat/completions'],
    ['POST', '/v1/models'],
    ['DELETE', '/v1/models'],
    ['GET', '/'],
    ['GET', '/v1'],
  ])('%s %s is API Gateway\'s 403 Missing Authentication Token, and the handler never runs', async (method, path) => {
    const res = await rawRequest(`${router.url}${path}`, method, method === 'POST' ? '{"model":"gpt-5"}' : undefined);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual(MISSING_TOKEN);
    expect(gateway.requests).toHaveLength(0);
  });

  test('the request model is the shared schema', () => {
    const models = Object.values(template.findResources('AWS::ApiGateway::Model')) as any[];
    expect(models).toHaveLength(1);
    const { schema, ...rest } = CHAT_COMPLETION_REQUEST_SCHEMA;
    expect(models[0].Properties.Schema).toEqual({ $schema: schema, ...rest });
  });

  test.each([
    ['an empty body', ''],
    ['malformed JSON', '{"model":"gpt-5",'],
    ['no model', '{"messages":[]}'],
    ['an empty model', '{"model":""}'],
    ['a model that is not a string', '{"model":5}'],
    ['stream that is not a boolean', '{"model":"gpt-5","stream":"yes"}'],
    ['an array', '[{"model":"gpt-5"}]'],
  ])('%s is the request validator\'s 400 Invalid request body, and the handler never runs', async (_what, body) => {
    const res = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual(INVALID_BODY);
    expect(gateway.requests).toHaveLength(0);
  });

  test('a body that matches the model reaches the handler, whose policy applies next', async () => {
    const ok = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-5', stream: false, messages: [{ role: 'user', content: 'hi' }] }));
    expect(ok.status).toBe(200);
    const policy = await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'llama-4', messages: [] }));
    expect(policy.status).toBe(403);
    expect(JSON.parse(policy.body).error.code).not.toBe('MISSING_AUTHENTICATION_TOKEN');
    expect(gateway.requests).toHaveLength(1);
  });

  test('GET /v1/models reaches the handler', async () => {
    const res = await rawRequest(`${router.url}/v1/models`, 'GET');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).object).toBe('list');
  });
});
