import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { fetchCatalog, ListingTooLargeError } from '../../src/contract/fetch';

/*
 * fetchCatalog called in-process against local stand-ins for the two
 * endpoints: the URL it asks, what it asks for, the catalog's provenance, and
 * how each kind of bad answer is reported (always naming the URL).
 */

interface Stub {
  readonly url: string;
  readonly requests: { url?: string; accept?: string }[];
  close(): Promise<void>;
}

async function stub(answer: (res: http.ServerResponse) => void): Promise<Stub> {
  const requests: { url?: string; accept?: string }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url, accept: req.headers.accept });
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const US_LISTING = JSON.stringify({
  object: 'list',
  data: [{ id: 'claude-a', object: 'model', owned_by: 'anthropic', available_regions: ['us'], pricing: { us: { input: '0.000001', output: '0.000002' } } }],
});
const EU_LISTING = '{"object":"list","data":[]}';
const CLAUDE_A = { id: 'claude-a', provider: 'anthropic', regions: ['us'], global: false, stream: false, prices: { us: { input: 0.000001, output: 0.000002 } } };

const json = (body: string) => (res: http.ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
};

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => {
    throw new Error('expected a failure');
  }, (err: Error) => err);
}

/** Runs `fn` with a US endpoint answering `usAnswer` and an EU endpoint answering an empty listing. */
async function withUs<T>(usAnswer: (res: http.ServerResponse) => void, fn: (us: Stub, eu: Stub) => Promise<T>): Promise<T> {
  const us = await stub(usAnswer);
  const eu = await stub(json(EU_LISTING));
  try {
    return await fn(us, eu);
  } finally {
    await us.close();
    await eu.close();
  }
}

describe('fetchCatalog: what it asks and what it records', () => {
  test('trailing slashes on an endpoint are dropped: it GETs <endpoint>/v1/models asking for JSON, and the catalog says so', async () => {
    await withUs(json(US_LISTING), async (us, eu) => {
      const catalog = await fetchCatalog({ usEndpoint: `${us.url}//`, euEndpoint: `${eu.url}/`, now: new Date('2026-10-20T12:00:00Z') });
      expect(catalog.models).toEqual([CLAUDE_A]);
      expect(catalog.source).toBe(`GET ${us.url}/v1/models and GET ${eu.url}/v1/models, read by llm-gateway-router catalog fetch`);
      expect(catalog.generatedAt).toBe('2026-10-20T12:00:00.000Z');
      expect(catalog.pricesNote).toBe('As the gateway listed them at 2026-10-20T12:00:00.000Z: USD per token, per region.');
      for (const server of [us, eu]) expect(server.requests).toEqual([{ url: '/v1/models', accept: 'application/json' }]);
    });
  });
});

describe('fetchCatalog: answers it refuses, naming the URL', () => {
  test('an endpoint nobody answers at fails as a failed GET of its URL', async () => {
    const gone = await stub(json(EU_LISTING));
    await gone.close();
    const eu = await stub(json(EU_LISTING));
    try {
      const err = await failureOf(fetchCatalog({ usEndpoint: gone.url, euEndpoint: eu.url }));
      expect(err.message).toBe(`GET ${gone.url}/v1/models failed: fetch failed`);
    } finally {
      await eu.close();
    }
  });

  test('an error status is reported with the first 200 characters of the answer', async () => {
    const body = `${'a'.repeat(200)}${'b'.repeat(100)}`;
    await withUs((res) => res.writeHead(500).end(body), async (us, eu) => {
      const err = await failureOf(fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url }));
      expect(err.message).toBe(`GET ${us.url}/v1/models answered HTTP 500: ${'a'.repeat(200)}`);
    });
  });

  test('a 304 answer, which has no body, is an error status with nothing quoted', async () => {
    await withUs((res) => res.writeHead(304).end(), async (us, eu) => {
      const err = await failureOf(fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url }));
      expect(err.message).toBe(`GET ${us.url}/v1/models answered HTTP 304: `);
    });
  });

  test('an answer that is not JSON is refused as such', async () => {
    await withUs((res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>'), async (us, eu) => {
      const err = await failureOf(fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url }));
      expect(err.message).toBe(`GET ${us.url}/v1/models answered with a body that is not JSON`);
    });
  });

  test('a 204 answer (no body at all) is refused as not JSON', async () => {
    await withUs((res) => res.writeHead(204).end(), async (us, eu) => {
      const err = await failureOf(fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url }));
      expect(err.message).toBe(`GET ${us.url}/v1/models answered with a body that is not JSON`);
    });
  });
});

describe('fetchCatalog: the size cap', () => {
  // Both listings padded (JSON allows trailing blanks) to exactly 400 bytes.
  const US_400 = US_LISTING.padEnd(400);
  const EU_400 = EU_LISTING.padEnd(400);

  test('an answer of exactly the cap is read, whether it declares its length or not', async () => {
    const chunked = (body: string) => (res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(body.slice(0, 100));
      res.end(body.slice(100));
    };
    const declared = (body: string) => (res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' }).end(body);
    };
    for (const answer of [chunked, declared]) {
      const us = await stub(answer(US_400));
      const eu = await stub(answer(EU_400));
      try {
        const catalog = await fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url, maxBytes: 400 });
        expect(catalog.models).toEqual([CLAUDE_A]);
      } finally {
        await us.close();
        await eu.close();
      }
    }
  });

  test('one byte over the cap is refused, with an error that says so', async () => {
    await withUs(json(US_LISTING.padEnd(401)), async (us, eu) => {
      const err = await failureOf(fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url, maxBytes: 400 }));
      expect(err).toBeInstanceOf(ListingTooLargeError);
      expect(err.name).toBe('ListingTooLargeError');
      expect(err.message).toBe(`GET ${us.url}/v1/models answered with more than 400 bytes; a model listing is far smaller, so the answer is refused`);
    });
  });

  test('a declared length over the cap is refused on the headers alone, without waiting for a body that never comes', async () => {
    const stalled = (res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
      res.write('{"data":[');
    };
    await withUs(stalled, async (us, eu) => {
      const err = await failureOf(fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url, maxBytes: 1000, timeoutMs: 3000 }));
      expect(err).toBeInstanceOf(ListingTooLargeError);
      expect(err.message).toBe(`GET ${us.url}/v1/models answered with more than 1000 bytes; a model listing is far smaller, so the answer is refused`);
    });
  });

  test('a bodiless answer that declares a length over the cap is refused as too large', async () => {
    await withUs((res) => res.writeHead(304, { 'content-length': '5000' }).end(), async (us, eu) => {
      const err = await failureOf(fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url, maxBytes: 1000 }));
      expect(err).toBeInstanceOf(ListingTooLargeError);
    });
  });
});
