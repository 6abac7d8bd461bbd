import type { ModelRule } from '../../src/contract/model-rules';
import { answerPrice, chargeOf, percentOfBudget, usageNanos, worstCaseNanos, worstPrice } from '../../src/handler/billing';
import { estimateOf } from '../../src/handler/estimate';
import { readUsage } from '../../src/handler/usage';

/*
 * The money, unit by unit. Every expected amount is a literal
 * computed by hand from the literal prices below (USD per token).
 */

type Price = { input: number; output: number };
const rule = (price?: Price, globalPrice?: Price, global = globalPrice !== undefined): ModelRule =>
  ({ provider: 'p', regions: ['us'], global, stream: false, price, globalPrice });

const RULES = new Map<string, ModelRule>([
  // in-region 0.000003 / 0.000015, global 0.000002 / 0.00001
  ['both', rule({ input: 0.000003, output: 0.000015 }, { input: 0.000002, output: 0.00001 })],
  ['cheap', rule({ input: 0.0000001, output: 0.0000004 })],
  ['output-only', rule({ input: 0, output: 0.000001 })],
  ['unpriced', rule()],
]);

describe('worstPrice: what a reservation holds', () => {
  test('the dearest input and the dearest output of the attempts, each as routed', () => {
    expect(worstPrice(RULES, [{ model: 'both', global: true }, { model: 'cheap', global: false }], [])).toEqual({ input: 0.000002, output: 0.00001 });
    expect(worstPrice(RULES, [{ model: 'both', global: false }], [])).toEqual({ input: 0.000003, output: 0.000015 });
  });

  test('an unpriced attempt is held at the dearest price any known model has, in either routing', () => {
    expect(worstPrice(RULES, [{ model: 'cheap', global: false }, { model: 'unpriced', global: false }], ['cheap', 'both'])).toEqual({ input: 0.000003, output: 0.000015 });
    expect(worstPrice(RULES, [{ model: 'not-in-rules', global: false }], ['cheap'])).toEqual({ input: 0.0000001, output: 0.0000004 });
  });

  test('...including a global price dearer than the in-region one', () => {
    // in-region 0.000001 / 0.000002, global 0.000004 / 0.000008
    const rules = new Map<string, ModelRule>([['dear-global', rule({ input: 0.000001, output: 0.000002 }, { input: 0.000004, output: 0.000008 })], ['unpriced', rule()]]);
    expect(worstPrice(rules, [{ model: 'unpriced', global: false }], ['dear-global', 'gone'])).toEqual({ input: 0.000004, output: 0.000008 });
  });

  test('nothing priced at all: no price, never zero', () => {
    expect(worstPrice(RULES, [{ model: 'unpriced', global: false }], ['unpriced'])).toBeUndefined();
    expect(worstPrice(RULES, [{ model: 'unpriced', global: false }], [])).toBeUndefined();
  });

  test('a price with a free input and a paid output is still a price', () => {
    expect(worstPrice(RULES, [{ model: 'output-only', global: false }], [])).toEqual({ input: 0, output: 0.000001 });
  });

  test('a cache-write price dearer than the input price is what input is held at', () => {
    const rules = new Map([['c', rule({ input: 0.000003, output: 0.000015, cacheWrite: 0.00000375 } as never)]]);
    expect(worstPrice(rules, [{ model: 'c', global: false }], [])).toEqual({ input: 0.00000375, output: 0.000015 });
  });
});

describe('answerPrice: the answering model\'s price', () => {
  const worst = { input: 1, output: 1 };
  test('the model tried twice, in-region and global: the dearer of its two prices, whichever comes first', () => {
    const tried = [{ model: 'both', global: true }, { model: 'both', global: false }];
    expect(answerPrice(RULES, tried, 'both', worst)).toEqual({ price: { input: 0.000003, output: 0.000015 }, pricedAs: 'both' });
    expect(answerPrice(RULES, [...tried].reverse(), 'both', worst)).toEqual({ price: { input: 0.000003, output: 0.000015 }, pricedAs: 'both' });
  });

  test('a priced routing beside an unpriced one: the priced one, in either order', () => {
    // global routing accepted, no global price: only the in-region 0.000001 / 0.000002 is known.
    const rules = new Map<string, ModelRule>([['half', rule({ input: 0.000001, output: 0.000002 }, undefined, true)]]);
    const tried = [{ model: 'half', global: false }, { model: 'half', global: true }];
    expect(answerPrice(rules, tried, 'half', worst)).toEqual({ price: { input: 0.000001, output: 0.000002 }, pricedAs: 'half' });
    expect(answerPrice(rules, [...tried].reverse(), 'half', worst)).toEqual({ price: { input: 0.000001, output: 0.000002 }, pricedAs: 'half' });
  });

  test('two routings as dear as each other (the same sum per token): the first one tried', () => {
    // in-region 0.000001 / 0.000003, global 0.000003 / 0.000001: 0.000004 either way.
    const rules = new Map<string, ModelRule>([['even', rule({ input: 0.000001, output: 0.000003 }, { input: 0.000003, output: 0.000001 })]]);
    expect(answerPrice(rules, [{ model: 'even', global: false }, { model: 'even', global: true }], 'even', worst).price).toEqual({ input: 0.000001, output: 0.000003 });
    expect(answerPrice(rules, [{ model: 'even', global: true }, { model: 'even', global: false }], 'even', worst).price).toEqual({ input: 0.000003, output: 0.000001 });
  });

  test('an answering model without a price, or not among the attempts, is charged the worst-case price', () => {
    expect(answerPrice(RULES, [{ model: 'unpriced', global: false }], 'unpriced', worst)).toEqual({ price: worst });
    expect(answerPrice(RULES, [{ model: 'cheap', global: false }], 'other', worst)).toEqual({ price: worst });
    expect(answerPrice(RULES, [{ model: 'cheap', global: false }], undefined, worst)).toEqual({ price: worst });
  });
});

describe('exact nano-dollars', () => {
  test('worst case and usage, rounded up once: 3 x 0.0000001 + 1 x 0.0000004 = 0.0000007 USD = 700 nano-USD', () => {
    expect(worstCaseNanos({ input: 0.0000001, output: 0.0000004 }, 3, 1)).toBe(700);
    // 1 input token at 0.00000000011 USD: 0.11 nano-USD, rounded up to 1.
    expect(worstCaseNanos({ input: 0.00000000011, output: 0 }, 1, 0)).toBe(1);
    expect(worstCaseNanos({ input: 0.00000000011, output: 0 }, 0, 0)).toBe(0);
  });

  test('usage: uncached, cached and cache-write input each at its price, each falling back to the input price', () => {
    const usage = { inputTokens: 1_000, outputTokens: 100, cachedInputTokens: 600, cacheWriteTokens: 300 };
    // In nano-USD per token: input 3,000, cached 300, cache write 3,750, output 15,000.
    // 100 uncached x 3,000 + 600 x 300 + 300 x 3,750 + 100 x 15,000 = 300,000 + 180,000 + 1,125,000 + 1,500,000 = 3,105,000.
    expect(usageNanos({ input: 0.000003, output: 0.000015, cachedInput: 0.0000003, cacheWrite: 0.00000375 }, usage)).toBe(3_105_000);
    // Without cache prices: 1,000 x 3,000 + 100 x 15,000 = 4,500,000.
    expect(usageNanos({ input: 0.000003, output: 0.000015 }, usage)).toBe(4_500_000);
  });

  test('a charge for each way a request ends', () => {
    const worst = { inputTokens: 10, outputTokens: 5, price: { input: 0.000001, output: 0.000002 }, usdNanos: 20_000 };
    const tried = [{ model: 'cheap', global: false }];
    const usage = { inputTokens: 4, outputTokens: 2, cachedInputTokens: 0, cacheWriteTokens: 0 };
    // 4 x 100 + 2 x 400 = 1,200 nano-USD at cheap's price.
    expect(chargeOf({ kind: 'answered', usage, model: 'cheap' }, worst, RULES, tried)).toEqual({ usdNanos: 1_200, tokens: 6, basis: 'usage', pricedAs: 'cheap' });
    expect(chargeOf({ kind: 'answered_without_usage', usage: 'invalid' }, worst, RULES, tried)).toEqual({ usdNanos: 20_000, tokens: 15, basis: 'worst_case' });
    expect(chargeOf({ kind: 'maybe_billed', cause: 'timeout' }, worst, RULES, tried)).toEqual({ usdNanos: 20_000, tokens: 15, basis: 'worst_case' });
    expect(chargeOf({ kind: 'never_sent' }, worst, RULES, tried)).toEqual({ usdNanos: 0, tokens: 0, basis: 'none' });
    expect(chargeOf({ kind: 'refused_upstream', status: 400 }, worst, RULES, tried)).toEqual({ usdNanos: 0, tokens: 0, basis: 'none' });
    // Nothing priced: the amount is unknown, not zero.
    expect(chargeOf({ kind: 'never_sent' }, { inputTokens: 1, outputTokens: 1 }, RULES, tried)).toEqual({ usdNanos: undefined, tokens: 0, basis: 'none' });
  });

  test('percent of a budget, rounded half up exactly', () => {
    expect(percentOfBudget(50_250_000_000, 200, 2)).toBe(25.13);
    expect(percentOfBudget(3_350, 0.00001, 4)).toBe(33.5);
    expect(percentOfBudget(1, 3, 2)).toBe(0);
    expect(percentOfBudget(0, 10, 2)).toBe(0);
  });
});

describe('readUsage: usage that holds up, or not', () => {
  const ok = (inputTokens: number, outputTokens: number, cachedInputTokens = 0, cacheWriteTokens = 0) =>
    ({ status: 'ok', usage: { inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens } });
  const INVALID = { status: 'invalid' };

  test.each<[string, unknown, unknown]>([
    ['no usage', {}, { status: 'missing' }],
    ['usage null', { usage: null }, { status: 'missing' }],
    ['usage that is not an object', { usage: 5 }, INVALID],
    ['usage that is an array', { usage: [1, 2] }, INVALID],
    ['both spellings, agreeing', { usage: { input_tokens: 3, prompt_tokens: 3, output_tokens: 4, completion_tokens: 4 } }, ok(3, 4)],
    ['a null spelling beside a valid one', { usage: { input_tokens: null, prompt_tokens: 3, output_tokens: 4 } }, ok(3, 4)],
    ['both spellings, one invalid', { usage: { input_tokens: 3, prompt_tokens: -3, output_tokens: 4 } }, INVALID],
    ['both spellings null', { usage: { input_tokens: null, prompt_tokens: null, output_tokens: 4 } }, INVALID],
    ['zero counts', { usage: { input_tokens: 0, output_tokens: 0 } }, ok(0, 0)],
    ['OpenAI cached, all of the input', { usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 10 } } }, ok(10, 1, 10)],
    ['OpenAI cached, output missing', { usage: { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 5 } } }, INVALID],
    ['OpenAI cached as null', { usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: null } } }, INVALID],
    ['input_tokens_details (the Responses spelling)', { usage: { input_tokens: 10, output_tokens: 1, input_tokens_details: { cached_tokens: 4 } } }, ok(10, 1, 4)],
    ['details without cached_tokens: Anthropic counts are read', { usage: { input_tokens: 10, output_tokens: 1, prompt_tokens_details: {}, cache_read_input_tokens: 5 } }, ok(15, 1, 5)],
    ['a cache write count alone', { usage: { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 2 } }, ok(12, 1, 0, 2)],
    ['counts past a safe integer together', { usage: { input_tokens: 2 ** 53 - 10, output_tokens: 20 } }, INVALID],
    ['input and cache counts past a safe integer together', { usage: { input_tokens: 2 ** 53 - 10, output_tokens: 1, cache_read_input_tokens: 20 } }, INVALID],
    ['OpenAI cached, input missing', { usage: { completion_tokens: 1, prompt_tokens_details: { cached_tokens: 0 } } }, INVALID],
    ['a null alias beside a valid name', { usage: { input_tokens: 3, prompt_tokens: null, output_tokens: 4 } }, ok(3, 4)],
    ['both spellings, the name invalid', { usage: { input_tokens: -3, prompt_tokens: 3, output_tokens: 4 } }, INVALID],
    ['details that are null', { usage: { input_tokens: 1, output_tokens: 1, prompt_tokens_details: null } }, ok(1, 1)],
    ['a payload that is null (a JSON body "null")', null, { status: 'missing' }],
  ])('%s', (_name, payload, expected) => {
    expect(readUsage(payload)).toEqual(expected);
  });
});

describe('estimateOf: parts that are not what they should be', () => {
  const estimate = (body: Record<string, unknown>) => estimateOf(body, JSON.stringify(body));
  test('null messages and parts, and parts without a type, are counted, never a crash', () => {
    expect(estimate({ model: 'a', messages: [null, { content: [null, {}, { type: 7 }] }] }).mediaParts).toBe(3);
    expect(estimate({ model: 'a', messages: 'not a list' }).mediaParts).toBe(0);
    expect(estimate({ model: 'a', messages: [{ content: 'plain text' }] }).mediaParts).toBe(0);
  });
});
