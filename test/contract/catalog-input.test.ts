import { serveEndlessListing, serveListing } from './fixtures/serve-fixture';
import { GatewayCatalog } from '../../src/construct/gateway-catalog';
import { UnpricedModelsError } from '../../src/contract/build';
import { fetchCatalog, ListingTooLargeError } from '../../src/contract/fetch';
import { BUNDLED_CATALOG, parseCatalog } from '../../src/contract/model-catalog';

/*
 * What `catalog fetch` (and every other reader of a catalog) does with a
 * listing it cannot trust: prices it cannot read, answers too large to be a
 * listing, and names that would reach Object.prototype. Each refusal names
 * what it saw.
 */

const model = (id: string, pricing: unknown, extra: Record<string, unknown> = {}) => ({
  id, object: 'model', owned_by: 'anthropic', supported_parameters: ['max_tokens'], available_regions: ['us'], pricing, ...extra,
});
const EU_EMPTY = { object: 'list', data: [] };

async function fetchFrom(us: unknown, options: { allowUnpriced?: boolean; maxBytes?: number } = {}) {
  const usServer = await serveListing(us);
  const euServer = await serveListing(EU_EMPTY);
  try {
    return await fetchCatalog({ usEndpoint: usServer.url, euEndpoint: euServer.url, ...options });
  } finally {
    await usServer.close();
    await euServer.close();
  }
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => {
    throw new Error('expected a failure');
  }, (err: Error) => err);
}

describe('prices: read in either spelling, never dropped silently', () => {
  test('prompt/completion is read like input/output, and cached-input and cache-write prices are kept', async () => {
    const catalog = await fetchFrom({
      data: [
        model('claude-a', { us: { prompt: '0.000003', completion: '0.000015', input_cache_read: '0.0000003', input_cache_write: '0.00000375' } }),
        model('claude-b', { us: { input: 0.000001, output: 0.000005, cached_input: 0.0000001 } }),
      ],
    });
    expect(catalog.models.map((m) => [m.id, m.prices])).toEqual([
      ['claude-a', { us: { input: 0.000003, output: 0.000015, cachedInput: 0.0000003, cacheWrite: 0.00000375 } }],
      ['claude-b', { us: { input: 0.000001, output: 0.000005, cachedInput: 0.0000001 } }],
    ]);
  });

  test('a model whose price cannot be read fails the fetch, naming it, its region and the fields seen', async () => {
    const err = await failureOf(fetchFrom({
      data: [
        model('claude-a', { us: { input: '0.000003', output: '0.000015' } }),
        model('claude-b', { us: { per_input_token: '0.000003', per_output_token: '0.000015' } }),
        model('claude-c', undefined),
      ],
    }));
    expect(err).toBeInstanceOf(UnpricedModelsError);
    expect(err.message).toBe('2 models have no readable price: claude-b (us; price fields seen: pricing.us.per_input_token, pricing.us.per_output_token); '
      + 'claude-c (us; price fields seen: none). Prices are read from pricing.<region>.input/output or prompt/completion (USD per token). '
      + 'Pass --allow-unpriced to write the catalog anyway (their cost is then unknown, and tenants with a USD budget are refused them).');
  });

  test('a global model without a global price is unpriced there', async () => {
    const err = await failureOf(fetchFrom({ data: [model('claude-g', { us: { input: '1', output: '1' } }, { available_regions: ['us', 'global'] })] }));
    expect(err.message).toContain('claude-g (global; price fields seen: none)');
  });

  test('--allow-unpriced writes the catalog, the unpriced model without a price', async () => {
    const catalog = await fetchFrom({ data: [model('claude-b', { us: { per_input_token: '1' } })] }, { allowUnpriced: true });
    expect(catalog.models).toEqual([{ id: 'claude-b', provider: 'anthropic', regions: ['us'], global: false, stream: false, prices: {} }]);
  });
});

describe('size: a listing is read only up to a cap', () => {
  test('an answer that never ends is refused once it passes the cap, and the rest is never read', async () => {
    const endless = await serveEndlessListing();
    const eu = await serveListing(EU_EMPTY);
    try {
      const err = await failureOf(fetchCatalog({ usEndpoint: endless.url, euEndpoint: eu.url, maxBytes: 1_000_000 }));
      expect(err).toBeInstanceOf(ListingTooLargeError);
      expect(err.message).toBe(`GET ${endless.url}/v1/models answered with more than 1000000 bytes; a model listing is far smaller, so the answer is refused`);
      // What the server got out before the client hung up: the cap plus what sockets buffer, far below a 250 MB listing.
      expect(endless.sentBytes()).toBeLessThan(20_000_000);
    } finally {
      await endless.close();
      await eu.close();
    }
  });

  test('an answer that declares a length over the cap is refused before its body is read', async () => {
    const big = await serveListing(`{"data":[${' '.repeat(2_000)}]}`);
    const eu = await serveListing(EU_EMPTY);
    try {
      const err = await failureOf(fetchCatalog({ usEndpoint: big.url, euEndpoint: eu.url, maxBytes: 1_000 }));
      expect(err).toBeInstanceOf(ListingTooLargeError);
    } finally {
      await big.close();
      await eu.close();
    }
  });
});

describe('names reserved by JavaScript objects never reach Object.prototype', () => {
  afterEach(() => {
    // Whatever a test did, the prototype must be untouched.
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  test.each(['__proto__', 'constructor', 'prototype'])('owned_by %p is refused at fetch', async (name) => {
    const err = await failureOf(fetchFrom({ data: [model('claude-a', { us: { input: '1', output: '1' } }, { owned_by: name })] }));
    expect(err.message).toContain(`has owned_by ${JSON.stringify(name)}, a name reserved by JavaScript objects: refused`);
  });

  test.each(['__proto__', 'constructor'])('a model id %p is refused at fetch', async (name) => {
    const err = await failureOf(fetchFrom({ data: [model(name, { us: { input: '1', output: '1' } })] }));
    expect(err.message).toContain(`has model id ${JSON.stringify(name)}, a name reserved by JavaScript objects: refused`);
  });

  test.each(['gpt 5', 'gpt-5,gpt-4.1', 'gpt-5\t'])('a model id with a comma or whitespace (%p) is refused at fetch', async (id) => {
    const err = await failureOf(fetchFrom({ data: [model(id, { us: { input: '1', output: '1' } })] }));
    expect(err.message).toContain(`lists the model id ${JSON.stringify(id)}, which has a comma or whitespace: refused`);
  });

  const catalogWith = (edit: (c: any) => void): string => {
    const c = JSON.parse(JSON.stringify(BUNDLED_CATALOG));
    edit(c);
    return JSON.stringify(c);
  };

  test.each<[string, (c: any) => void, RegExp]>([
    ['a provider named "__proto__"', (c) => {
      c.models[0].provider = '__proto__';
    }, /models\[0\]\.provider "__proto__" is a name reserved by JavaScript objects/],
    ['a providers key "__proto__" (as JSON spells it)', (c) => {
      c.providers = JSON.parse(`{"__proto__":{"name":"x","prefixes":["x"]},${JSON.stringify(c.providers).slice(1)}`);
    }, /providers\.__proto__ is a name reserved by JavaScript objects/],
    ['a model id "constructor"', (c) => {
      c.models[0].id = 'constructor';
    }, /models\[0\]\.id "constructor" is a name reserved by JavaScript objects/],
    ['a model id with a comma', (c) => {
      c.models[0].id = 'a,b';
    }, /models\[0\]\.id must be a model id without spaces or commas/],
  ])('GatewayCatalog.fromJson refuses %s', (_name, edit, message) => {
    const json = catalogWith(edit);
    expect(() => GatewayCatalog.fromJson(json)).toThrow(message);
    expect(() => parseCatalog(JSON.parse(json), 'x')).toThrow(message);
  });
});
