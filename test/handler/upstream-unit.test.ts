/**
 * The upstream client's edges, against a real local HTTP server.
 * What goes on the wire, when the router gives up instead of waiting, the
 * retry schedule, and how each failure is named for the log and the metric.
 * The clock is pinned where an edge is "exactly at the deadline".
 */
import type * as http from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import {
  ClientGoneError, InvocationDeadlineError, readBody, retryAfterMs, sendOnce, sendWithRetries, UpstreamCutError, UpstreamExchange,
  UpstreamInvalidResponseError, UpstreamRequest, UpstreamTimeoutError, UpstreamTooLargeError, UpstreamUnreachableError,
} from '../../src/handler/upstream';
import { GatewayBehaviour, useFakeGateway } from '../support/fake-gateway';

const fake = useFakeGateway();
afterEach(() => jest.restoreAllMocks());

const T0 = 1_800_000_000_000;
const MIB = 1_048_576;
/** Pins Date.now(): the deadline arithmetic is then exact. Timers still run on real time. */
const pinClock = () => jest.spyOn(Date, 'now').mockReturnValue(T0);

function request(overrides: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    url: new URL(`${fake.gateway.url}/v1/chat/completions`),
    apiKey: 'test-key',
    body: '{"model":"gpt-5"}',
    stream: false,
    deadline: Date.now() + 5_000,
    exchange: new UpstreamExchange(),
    ...overrides,
  };
}

/** A port with nothing listening: connections are refused at once. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1/chat/completions`;
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => {
    throw new Error('expected a failure');
  }, (err: Error) => err);
}

/** A response whose body never completes: headers and a first chunk, then nothing. */
const stalls: GatewayBehaviour = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
  res.write('{"id":');
};

describe('the error classes carry their names (the bundle is minified; logs and metrics read the name)', () => {
  // The title is the literal name, never the error itself: a test's title must not depend on the code under test.
  test.each<[string, () => Error]>([
    ['UpstreamUnreachableError', () => new UpstreamUnreachableError('m')],
    ['UpstreamTimeoutError', () => new UpstreamTimeoutError('m')],
    ['UpstreamInvalidResponseError', () => new UpstreamInvalidResponseError('m')],
    ['InvocationDeadlineError', () => new InvocationDeadlineError('m')],
    ['UpstreamCutError', () => new UpstreamCutError('m')],
    ['UpstreamTooLargeError', () => new UpstreamTooLargeError('m')],
  ])('%s', (name, create) => {
    const err = create();
    expect([err.name, err.message]).toEqual([name, 'm']);
  });
});

describe('cancellation', () => {
  test('destroys the request in flight once, with "the caller went away"; cancelling twice is a no-op', () => {
    const destroyed: Error[] = [];
    const exchange = new UpstreamExchange();
    exchange.track({ destroy: (err: Error) => destroyed.push(err), once: () => undefined } as unknown as http.ClientRequest);
    exchange.cancel();
    exchange.cancel();
    expect(destroyed.map((e) => [e.constructor, e.name, e.message])).toEqual([[ClientGoneError, 'ClientGoneError', 'the caller went away']]);
    expect(exchange.isCancelled).toBe(true);
  });

  test('cancelling before any request is tracked is safe, and no request starts afterwards', async () => {
    const exchange = new UpstreamExchange();
    expect(() => exchange.cancel()).not.toThrow();
    const err = await failureOf(sendOnce(request({ exchange })));
    expect([err.constructor, err.message]).toEqual([ClientGoneError, 'the caller went away']);
    expect(fake.gateway.requests).toHaveLength(0);
    expect(exchange.maybeReceived).toBe(false);
  });
});

describe('whether the gateway may have received a request it never answered (what billing needs)', () => {
  test('a refused connection: nothing was received', async () => {
    const exchange = new UpstreamExchange();
    await failureOf(sendOnce(request({ url: new URL(await closedPort()), exchange })));
    expect(exchange.maybeReceived).toBe(false);
  });

  test('a request read and never answered: maybe received', async () => {
    fake.gateway.behaviour = () => undefined;
    const exchange = new UpstreamExchange();
    await failureOf(sendOnce(request({ deadline: Date.now() + 100, exchange })));
    expect(fake.gateway.requests).toHaveLength(1);
    expect(exchange.maybeReceived).toBe(true);
  });

  test('a request answered (any status): received and answered, so not "maybe"', async () => {
    fake.gateway.behaviour = (_req, res) => {
      res.writeHead(503).end();
    };
    const exchange = new UpstreamExchange();
    (await sendOnce(request({ exchange }))).resume();
    expect(exchange.maybeReceived).toBe(false);
  });

  test('one unanswered attempt stays "maybe received" after a later attempt is refused before sending', async () => {
    fake.gateway.behaviour = (_req, res) => {
      res.socket?.destroy();
    };
    const exchange = new UpstreamExchange();
    await failureOf(sendOnce(request({ exchange })));
    expect(exchange.maybeReceived).toBe(true);
    await failureOf(sendOnce(request({ url: new URL(await closedPort()), exchange })));
    expect(exchange.maybeReceived).toBe(true);
  });
});

describe('sendOnce', () => {
  test('a fresh header set: JSON, the key, the router\'s user agent, the exact length; accept follows stream', async () => {
    const body = '{"model":"gpt-5","messages":[{"role":"user","content":"héllo ✓"}]}';
    for (const stream of [false, true]) {
      const res = await sendOnce(request({ body, stream }));
      res.resume();
    }
    const [plain, streamed] = fake.gateway.requests;
    expect(plain.method).toBe('POST');
    expect(plain.path).toBe('/v1/chat/completions');
    expect(plain.rawBody).toBe(body);
    expect(plain.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body, 'utf8')),
      'accept': 'application/json',
      'authorization': 'test-key',
      'user-agent': 'cdk-llm-gateway-router',
    });
    expect(streamed.headers.accept).toBe('text/event-stream');
  });

  test('exactly at the deadline nothing is sent: a timeout, "no time left"', async () => {
    pinClock();
    const err = await failureOf(sendOnce(request({ deadline: T0 })));
    expect([err.constructor, err.message]).toEqual([UpstreamTimeoutError, 'no time left for the upstream request']);
    expect(fake.gateway.requests).toHaveLength(0);
  });

  test('no answer before the deadline: a timeout that says how long it waited', async () => {
    fake.gateway.behaviour = () => undefined; // never answers
    pinClock();
    const err = await failureOf(sendOnce(request({ deadline: T0 + 50 })));
    expect([err.constructor, err.message]).toEqual([UpstreamTimeoutError, 'the LLM Gateway did not answer within 50 ms']);
  });
});

describe('readBody', () => {
  test('a body of exactly the limit is read whole; one byte more is cut', async () => {
    fake.gateway.behaviour = (_req, res) => {
      res.end('x'.repeat(64));
    };
    const whole = await readBody(await sendOnce(request()), Date.now() + 5_000, 64);
    expect(whole.toString()).toBe('x'.repeat(64));
    const err = await failureOf(readBody(await sendOnce(request()), Date.now() + 5_000, 63));
    expect([err.constructor, err.message]).toEqual([UpstreamTooLargeError, 'the LLM Gateway answer exceeded 63 bytes']);
  });

  test('a body that stalls past the deadline is a timeout', async () => {
    fake.gateway.behaviour = stalls;
    const res = await sendOnce(request());
    const err = await failureOf(readBody(res, Date.now() + 100, MIB));
    expect([err.constructor, err.message]).toEqual([UpstreamTimeoutError, 'the LLM Gateway did not finish its answer in time']);
  });

  test('a connection closed mid-answer is named as such', async () => {
    fake.gateway.behaviour = (req, res) => {
      void stalls(req, res, 1);
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const err = await failureOf(readBody(await sendOnce(request()), Date.now() + 5_000, MIB));
    expect([err.constructor, err.message]).toEqual([UpstreamCutError, 'the LLM Gateway closed the connection mid-answer']);
  });

  test('an error on the response stream fails the read as cut (and is never left unhandled)', async () => {
    fake.gateway.behaviour = stalls;
    const res = await sendOnce(request());
    const reading = readBody(res, Date.now() + 5_000, MIB);
    res.emit('error', new Error('socket hang up'));
    const err = await failureOf(reading);
    expect([err.constructor, err.message]).toEqual([UpstreamCutError, 'socket hang up']);
    res.destroy();
  });
});

describe('sendWithRetries', () => {
  test('connection failures back off 100 ms, then 200 ms, and give up after 3 attempts', async () => {
    const sleeps: number[] = [];
    const err = await failureOf(sendWithRetries(request({ url: new URL(await closedPort()) }), async (ms) => {
      sleeps.push(ms);
    }));
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect((err as UpstreamUnreachableError).attempts).toBe(3);
    expect(sleeps).toEqual([100, 200]);
  });

  test('a back-off that would end exactly at the deadline is not waited for', async () => {
    const url = new URL(await closedPort());
    pinClock();
    const sleeps: number[] = [];
    const err = await failureOf(sendWithRetries(request({ url, deadline: T0 + 100 }), async (ms) => {
      sleeps.push(ms);
    }));
    expect([err.constructor, (err as UpstreamUnreachableError).attempts, sleeps]).toEqual([UpstreamUnreachableError, 1, []]);
  });

  test('a Retry-After that would end exactly at the deadline returns the 429 instead of waiting', async () => {
    fake.gateway.behaviour = (_req, res) => {
      res.writeHead(429, { 'retry-after': '2', 'content-type': 'application/json' });
      res.end('{"error":{"message":"slow down"}}');
    };
    pinClock();
    const sleeps: number[] = [];
    const { response, attempts } = await sendWithRetries(request({ deadline: T0 + 2_000 }), async (ms) => {
      sleeps.push(ms);
    });
    response.resume();
    expect([response.statusCode, attempts, sleeps, fake.gateway.requests.length]).toEqual([429, 1, [], 1]);
  });
});

describe('Retry-After', () => {
  test.each<[string | string[] | undefined, number | undefined]>([
    ['', undefined],
    ['0.0', 0],
    ['-1', 0],
    ['-5', 0],
    [['3', '9'], 3_000],
  ])('%p is %p ms', (header, ms) => {
    expect(retryAfterMs(header)).toBe(ms);
  });
});
