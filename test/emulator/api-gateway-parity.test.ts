import * as http from 'node:http';
import { Template } from 'aws-cdk-lib/assertions';
import { CHAT_COMPLETION_REQUEST_SCHEMA } from '../../src/contract/api-contract';
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
const TOO_LARGE = deployedErrorBody('REQUEST_TOO_LARGE', 'Request Too Long');

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

  describe('a body over API Gateway\'s 10 MB payload limit', () => {
    test('streamed (no length): 413 as soon as the limit is crossed, the rest never read', async () => {
      const url = new URL(`${router.url}/v1/chat/completions`);
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const TOTAL_MB = 200;
      let written = 0;
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        });
        req.on('error', (err) => (written > 0 ? undefined : reject(err)));
        const pump = () => {
          while (written < TOTAL_MB) {
            written++;
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body)).toEqual(TOO_LARGE);
      // Half a second on, the client has still handed over only the limit and some socket buffers, not 200 MB: nothing more is read.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(written).toBeLessThan(64);
      expect(gateway.requests).toHaveLength(0);
    });

    test('declared by Content-Length: 413 before a byte of the body is read', async () => {
      const res = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${router.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) } },
          (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          });
        req.on('error', reject);
        req.write('{"model":');
      });
      expect(res).toBe(413);
    });
  });
});

describe('a crashed handler', () => {
  test('answers exactly API Gateway\'s {"message":"Internal server error"} with 502; the detail goes to the log only', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createEmulatorServer } = require('../../src/emulator/server') as typeof import('../../src/emulator/server');
    const server = createEmulatorServer({ handler: async () => { throw new Error('secret detail: arn:aws:iam::111111111111:role/x'); }, apiGatewayChecks: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      const { port } = server.address() as import('node:net').AddressInfo;
      const res = await rawRequest(`http://127.0.0.1:${port}/v1/chat/completions`, 'POST', '{}');
      expect(res.status).toBe(502);
      expect(res.body).toBe('{"message":"Internal server error"}');
      expect(errors.join('\n')).toContain('secret detail');
    } finally {
      console.error = original;
      server.close();
    }
  });
});
