import { buildCatalog, UnpricedModelsError } from '../../src/contract/build';
import { CatalogData, parseCatalog } from '../../src/contract/model-catalog';

/*
 * buildCatalog (the merge behind `catalog fetch` and the bundled models.json)
 * called directly with literal `GET /v1/models` answers: which provider a
 * model is filed under, which items are models at all, which prices are read
 * and which make the build fail, and what each refusal says.
 */

const PRICED = { us: { input: '0.000001', output: '0.000002' } };
const US_PRICE = { input: 0.000001, output: 0.000002 };
const EMPTY = { object: 'list', data: [] };

const model = (id: string, extra: Record<string, unknown> = {}) => ({
  id, object: 'model', owned_by: 'anthropic', supported_parameters: ['max_tokens'], available_regions: ['us'], pricing: PRICED, ...extra,
});
/** A model listed without owned_by. */
const anonymous = (id: string, extra: Record<string, unknown> = {}) => {
  const { owned_by: _ownedBy, ...rest } = model(id, extra);
  return rest;
};

function build(us: unknown, eu: unknown = EMPTY, more: { previous?: CatalogData; allowUnpriced?: boolean } = {}): CatalogData {
  return buildCatalog({ us, eu, source: 'literal listings', generatedAt: '2026-11-01T00:00:00.000Z', pricesNote: 'test prices', ...more });
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

const UNPRICED_ADVICE = 'Prices are read from pricing.<region>.input/output or prompt/completion (USD per token). '
  + 'Pass --allow-unpriced to write the catalog anyway (their cost is then unknown, and tenants with a USD budget are refused them).';

/** The catalog being replaced: two providers (one with two prefixes) and two models. */
const PREVIOUS = parseCatalog({
  schema: 1,
  source: 'an older fetch',
  generatedAt: '2026-01-01T00:00:00.000Z',
  pricesNote: 'old prices',
  providers: {
    anthropic: { name: 'Anthropic', prefixes: ['claude-'] },
    openai: { name: 'OpenAI', prefixes: ['o1', 'gpt-'] },
    meta: { name: 'Meta', prefixes: ['llama'] },
  },
  models: [
    { id: 'claude-old', provider: 'anthropic', regions: ['us'], global: false, stream: true, prices: { us: { input: 0.5, output: 1 } } },
    { id: 'mystery-1', provider: 'meta', regions: ['us'], global: false, stream: false, prices: {} },
  ],
}, 'previous');

describe('buildCatalog: the provider a model is filed under', () => {
  test('without owned_by, a model keeps the provider the previous catalog gave it, else the one whose prefix it has, else "unknown"', () => {
    const catalog = build({ data: [anonymous('mystery-1'), anonymous('gpt-9'), anonymous('mystery-2')] }, EMPTY, { previous: PREVIOUS });
    expect(catalog.models.map((m) => [m.id, m.provider, m.retired ?? false])).toEqual([
      ['mystery-1', 'meta', false],
      ['gpt-9', 'openai', false],
      ['mystery-2', 'unknown', false],
      ['claude-old', 'anthropic', true],
    ]);
    expect(catalog.providers).toEqual({
      meta: { name: 'Meta', prefixes: ['llama'] },
      openai: { name: 'OpenAI', prefixes: ['o1', 'gpt-'] },
      unknown: { name: 'unknown', prefixes: [] },
      anthropic: { name: 'Anthropic', prefixes: ['claude-'] },
    });
  });

  test('without owned_by and without a previous catalog, a model is filed under "unknown"', () => {
    const catalog = build({ data: [anonymous('gpt-9')] });
    expect(catalog.models).toEqual([{ id: 'gpt-9', provider: 'unknown', regions: ['us'], global: false, stream: false, prices: { us: US_PRICE } }]);
    expect(catalog.providers).toEqual({ unknown: { name: 'unknown', prefixes: [] } });
  });

  test('an owned_by that is empty or not a string counts as absent', () => {
    const catalog = build({ data: [model('claude-x', { owned_by: '' }), model('claude-y', { owned_by: 42 }), model('claude-z', { owned_by: null })] });
    expect(catalog.models.map((m) => [m.id, m.provider])).toEqual([['claude-x', 'unknown'], ['claude-y', 'unknown'], ['claude-z', 'unknown']]);
    expect(Object.keys(catalog.providers)).toEqual(['unknown']);
  });
});

describe('buildCatalog: what counts as a listed model', () => {
  test('items without a non-empty string id are skipped, the rest are kept', () => {
    const catalog = build({ data: [null, 'gpt-x', {}, { id: 7, owned_by: 'openai' }, { id: '', owned_by: 'openai' }, model('claude-a')] });
    expect(catalog.models).toEqual([{ id: 'claude-a', provider: 'anthropic', regions: ['us'], global: false, stream: false, prices: { us: US_PRICE } }]);
  });

  test('an answer without a "data" array fails, naming the endpoint', () => {
    expect(errorOf(() => build(null)).message).toBe('the US endpoint\'s /v1/models answer has no "data" array');
    expect(errorOf(() => build({ models: [] })).message).toBe('the US endpoint\'s /v1/models answer has no "data" array');
    expect(errorOf(() => build({ data: [model('claude-a')] }, { data: {} })).message).toBe('the EU endpoint\'s /v1/models answer has no "data" array');
    expect(errorOf(() => build({ data: [model('claude-a')] }, 'not a listing')).message).toBe('the EU endpoint\'s /v1/models answer has no "data" array');
  });

  test('listings with no model at all, and no previous catalog, fail as an empty catalog', () => {
    expect(errorOf(() => build(EMPTY, EMPTY)).message).toBe('the built catalog: "models" must be a non-empty array');
  });

  test('each endpoint is the authority on its own region\'s price, even for a model the US endpoint describes', () => {
    const us = { data: [model('claude-a', { pricing: { us: { input: '0.000001', output: '0.000002' }, eu: { input: '0.000009', output: '0.000009' } } })] };
    const eu = { data: [model('claude-a', { pricing: { eu: { input: '0.000003', output: '0.000004' } } })] };
    expect(build(us, eu).models).toEqual([{
      id: 'claude-a',
      provider: 'anthropic',
      regions: ['us', 'eu'],
      global: false,
      stream: false,
      prices: { us: { input: 0.000001, output: 0.000002 }, eu: { input: 0.000003, output: 0.000004 } },
    }]);
  });
});

describe('buildCatalog: prices', () => {
  test('cache_read, cache_write and cache_creation are read as cached-input and cache-write prices', () => {
    const catalog = build({
      data: [
        model('claude-a', { pricing: { us: { input: '0.000003', output: '0.000015', cache_read: '0.0000003', cache_write: '0.00000375' } } }),
        model('claude-b', { pricing: { us: { prompt: '0.000001', completion: '0.000005', cache_creation: '0.00000125' } } }),
      ],
    });
    expect(catalog.models.map((m) => [m.id, m.prices])).toEqual([
      ['claude-a', { us: { input: 0.000003, output: 0.000015, cachedInput: 0.0000003, cacheWrite: 0.00000375 } }],
      ['claude-b', { us: { input: 0.000001, output: 0.000005, cacheWrite: 0.00000125 } }],
    ]);
  });

  test('a spelling whose value cannot be read gives way to the next spelling', () => {
    const catalog = build({ data: [model('claude-a', { pricing: { us: { input: 'n/a', prompt: '0.000002', output: '0.00001' } } })] });
    expect(catalog.models[0].prices).toEqual({ us: { input: 0.000002, output: 0.00001 } });
  });

  test('a free model (price zero, as a string or a number) is priced at zero', () => {
    const catalog = build({ data: [model('claude-free', { pricing: { us: { input: '0', output: 0 } } })] });
    expect(catalog.models[0].prices).toEqual({ us: { input: 0, output: 0 } });
  });

  test.each<[string, unknown]>([
    ['an empty string', ''],
    ['a blank string', '   '],
    ['a word', 'abc'],
    ['a negative number', '-0.1'],
    ['a negative JSON number', -1],
    ['"Infinity"', 'Infinity'],
    ['an overflowing decimal', '1e999'],
    ['true', true],
    ['null', null],
    ['an empty array', []],
    ['an object', {}],
  ])('an input price that is %s is not a price: the model is written unpriced with --allow-unpriced', (_what, value) => {
    const catalog = build({ data: [model('claude-a', { pricing: { us: { input: value, output: '0.00001' } } })] }, EMPTY, { allowUnpriced: true });
    expect(catalog.models).toEqual([{ id: 'claude-a', provider: 'anthropic', regions: ['us'], global: false, stream: false, prices: {} }]);
  });

  test('an input without an output, or an output without an input, is no price', () => {
    const err = errorOf(() => build({ data: [model('claude-a', { pricing: { us: { input: '1' } } }), model('claude-b', { pricing: { us: { completion: '1' } } })] }));
    expect(err.message).toBe('2 models have no readable price: claude-a (us; price fields seen: pricing.us.input); '
      + `claude-b (us; price fields seen: pricing.us.completion). ${UNPRICED_ADVICE}`);
  });

  test('pricing that is not an object, or a region whose entry is not one, is no price', () => {
    const catalog = build({
      data: [
        model('claude-a', { pricing: null }),
        model('claude-b', { pricing: 'cheap' }),
        model('claude-c', { pricing: { us: null } }),
        model('claude-d', { pricing: { us: '0.000001' } }),
      ],
    }, EMPTY, { allowUnpriced: true });
    expect(catalog.models.map((m) => [m.id, m.prices])).toEqual([['claude-a', {}], ['claude-b', {}], ['claude-c', {}], ['claude-d', {}]]);
  });

  test('only the price entry\'s own fields are read, not ones it inherits', () => {
    const inherited = Object.create({ input: '0.000001', output: '0.000002' });
    const err = errorOf(() => build({ data: [model('claude-a', { pricing: { us: inherited } })] }));
    expect(err.message).toBe(`1 model has no readable price: claude-a (us; price fields seen: none). ${UNPRICED_ADVICE}`);
  });
});

describe('buildCatalog: the unpriced-models error', () => {
  test('one model unpriced in both regions: named once, with both regions and the fields seen in each', () => {
    const us = { data: [model('claude-a', { pricing: { us: { rate: '1' } } })] };
    const eu = { data: [model('claude-a', { pricing: { eu: { rate: '1', unit: 'token' } } })] };
    const err = errorOf(() => build(us, eu));
    expect(err).toBeInstanceOf(UnpricedModelsError);
    expect(err.name).toBe('UnpricedModelsError');
    expect(err.message).toBe(`1 model has no readable price: claude-a (us, eu; price fields seen: pricing.us.rate, pricing.eu.rate, pricing.eu.unit). ${UNPRICED_ADVICE}`);
    expect((err as UnpricedModelsError).models).toEqual([{ id: 'claude-a', regions: ['us', 'eu'], fieldsSeen: ['pricing.us.rate', 'pricing.eu.rate', 'pricing.eu.unit'] }]);
  });
});
