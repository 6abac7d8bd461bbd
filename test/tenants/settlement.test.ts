import type { ServerResponse } from 'node:http';
import * as sdk from '@aws-sdk/client-dynamodb';
import type { TenantSpec } from '../../src/contract/tenants-schema';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { DynamoFaultProxy, SILENCE } from '../support/dynamo-fault-proxy';
import { sseEvent } from '../support/fake-gateway';
import { call } from '../support/in-process';
import { SwitchableProxy } from '../support/switchable-proxy';
import { catalogWithUsPrices, LITERAL_PRICES, tenantRouter, tenantTestServices } from '../support/tenant-harness';

/*
 * Every way a forwarded request can end, and what it is charged.
 * Each expected amount is a literal computed by hand from the literal test
 * prices (LITERAL_PRICES in the harness), USD per token:
 *
 *   gpt-5-nano         input 0.00000005   output 0.0000004
 *   gpt-5.5            input 0.0000055    output 0.000033
 *   claude-sonnet-4-6  input 0.000003     output 0.000015   cached input 0.0000003   cache write 0.00000375
 *
 * The request bodies are sent upstream byte for byte as below (asserted), so
 * a worst case (one input token per byte, plus max_tokens) is a literal too.
 */

const services = tenantTestServices();
const { stdout } = services;

const PRICES = catalogWithUsPrices(LITERAL_PRICES);
const MODELS = ['gpt-5-nano', 'gpt-5.5', 'claude-sonnet-4-6'];
const TEAM: TenantSpec[] = [{ id: 'team', ids: [{ k: 'key', v: 'k' }], usd: 1 }];
const ID = { apiKeyId: 'k' };

const messages = [{ role: 'user', content: 'hi' }];
/** 83 bytes upstream: worst case 83 x 0.00000005 + 100 x 0.0000004 = 0.00000415 + 0.00004 = $0.00004415 (44,150 nano-USD), 183 tokens. */
const NANO = { model: 'gpt-5-nano', messages, max_tokens: 100 };
const NANO_SENT = '{"model":"gpt-5-nano","messages":[{"role":"user","content":"hi"}],"max_tokens":100}';
/** 117 bytes upstream, two attempts: a worst case is charged at the dearer of each price (gpt-5.5's). */
const NANO_OR_55 = { model: 'gpt-5-nano', messages, max_tokens: 100, fallbacks: [{ model: 'gpt-5.5' }] };
const NANO_OR_55_SENT = '{"model":"gpt-5-nano","messages":[{"role":"user","content":"hi"}],"max_tokens":100,"fallbacks":[{"model":"gpt-5.5"}]}';
/** 90 bytes upstream: worst case at the cache-write price for input, 90 x 0.00000375 + 100 x 0.000015 = $0.0018375. */
const SONNET = { model: 'claude-sonnet-4-6', messages, max_tokens: 100 };

const lastLog = () => stdout.records.filter((r: any) => r.message === 'request').at(-1);
const lastEmf = () => stdout.emf.at(-1);

function answerWith(model: string, usage: unknown) {
  return (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', model, request_id: 'r', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage }));
  };
}

async function router(opts: Parameters<typeof tenantRouter>[3] = {}) {
  const settings = { endpoint: services.gateway.url, allowedModels: MODELS, catalog: PRICES };
  const { handler, table } = await tenantRouter(services.dynamo, TEAM, settings, opts);
  return { handler, table, ledger: new TenantLedger(services.dynamo.client, sdk, table) };
}

/**
 * Makes the gateway begin its answer with `begin` and then stall; the promise
 * resolves 50 ms later, long enough for the router to be reading the answer:
 * the moment for the caller to hang up.
 */
function stallAfter(begin: (res: ServerResponse) => void): Promise<void> {
  return new Promise((resolve) => {
    services.gateway.behaviour = (_req, res) => {
      begin(res);
      setTimeout(resolve, 50);
    };
  });
}

/** The amount charged, as the log, the metric and the ledger each record it. */
async function charged(ledger: TenantLedger) {
  const usage = await ledger.usage('team');
  return {
    logUsd: lastLog().cost_usd, metricUsd: lastEmf().CostUsd, ledgerNanos: usage.usdNanos, inFlight: usage.inFlight, tokens: usage.tokensToday,
  };
}

describe('answered with usage: the reported usage at the price of the model that answered', () => {
  test('the primary answers: 1,000 x 0.00000005 + 500 x 0.0000004 = $0.00025', async () => {
    services.gateway.behaviour = answerWith('gpt-5-nano', { input_tokens: 1_000, output_tokens: 500 });
    const { handler, ledger } = await router();
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(200);
    expect(services.gateway.requests[0].rawBody).toBe(NANO_SENT);
    expect(await charged(ledger)).toEqual({ logUsd: 0.00025, metricUsd: 0.00025, ledgerNanos: 250_000, inFlight: 0, tokens: 1_500 });
    expect(lastLog()).toMatchObject({ settlement: 'answered', charge_basis: 'usage', answered_model: 'gpt-5-nano' });
  });

  test('a fallback answers (the response names gpt-5.5): 1,000 x 0.0000055 + 500 x 0.000033 = $0.022, not the primary\'s $0.00025', async () => {
    services.gateway.behaviour = answerWith('gpt-5.5', { input_tokens: 1_000, output_tokens: 500 });
    const { handler, ledger } = await router();
    expect((await call(handler, { body: NANO_OR_55, identity: ID })).status).toBe(200);
    expect(services.gateway.requests[0].rawBody).toBe(NANO_OR_55_SENT);
    expect(await charged(ledger)).toEqual({ logUsd: 0.022, metricUsd: 0.022, ledgerNanos: 22_000_000, inFlight: 0, tokens: 1_500 });
    expect(lastLog()).toMatchObject({ model: 'gpt-5-nano', answered_model: 'gpt-5.5' });
  });

  test('a streamed answer from the fallback is charged the same way, from the stream\'s model and usage', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5.5', 'Hel'));
      res.write(sseEvent('gpt-5.5', null, { usage: { prompt_tokens: 1_000, completion_tokens: 500 } }));
      res.end('data: [DONE]\n\n');
    };
    const { handler, ledger } = await router();
    expect((await call(handler, { body: { ...NANO_OR_55, stream: true }, identity: ID })).status).toBe(200);
    expect(await charged(ledger)).toEqual({ logUsd: 0.022, metricUsd: 0.022, ledgerNanos: 22_000_000, inFlight: 0, tokens: 1_500 });
  });

  test('an answer from a model no attempt names is charged the dearest attempt\'s price: $0.022', async () => {
    services.gateway.behaviour = answerWith('gpt-5.5-2026-11-01', { input_tokens: 1_000, output_tokens: 500 });
    const { handler, ledger } = await router();
    await call(handler, { body: NANO_OR_55, identity: ID });
    expect(await charged(ledger)).toEqual({ logUsd: 0.022, metricUsd: 0.022, ledgerNanos: 22_000_000, inFlight: 0, tokens: 1_500 });
  });
});

describe('cached input tokens: priced as billed', () => {
  test('OpenAI style (800 of 1,000 input cached): 200 x 0.000003 + 800 x 0.0000003 + 100 x 0.000015 = $0.00234, and CachedInputTokens 800', async () => {
    services.gateway.behaviour = answerWith('claude-sonnet-4-6', { prompt_tokens: 1_000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 800 } });
    const { handler, ledger } = await router();
    await call(handler, { body: SONNET, identity: ID });
    expect(await charged(ledger)).toEqual({ logUsd: 0.00234, metricUsd: 0.00234, ledgerNanos: 2_340_000, inFlight: 0, tokens: 1_100 });
    expect(lastEmf().CachedInputTokens).toBe(800);
    expect(lastLog()).toMatchObject({ input_tokens: 1_000, cached_input_tokens: 800 });
  });

  test('Anthropic style (200 input + 800 cache reads + 100 cache writes): 200 x 0.000003 + 800 x 0.0000003 + 100 x 0.00000375 + 100 x 0.000015 = $0.002715', async () => {
    services.gateway.behaviour = answerWith('claude-sonnet-4-6', {
      input_tokens: 200, output_tokens: 100, cache_read_input_tokens: 800, cache_creation_input_tokens: 100,
    });
    const { handler, ledger } = await router();
    await call(handler, { body: SONNET, identity: ID });
    expect(await charged(ledger)).toEqual({ logUsd: 0.002715, metricUsd: 0.002715, ledgerNanos: 2_715_000, inFlight: 0, tokens: 1_200 });
    expect(lastLog()).toMatchObject({ input_tokens: 1_100, cached_input_tokens: 800 });
  });

  test('a model without a cached-input price: cached tokens at the full input price, 1,000 x 0.00000005 + 500 x 0.0000004 = $0.00025', async () => {
    services.gateway.behaviour = answerWith('gpt-5-nano', { prompt_tokens: 1_000, completion_tokens: 500, prompt_tokens_details: { cached_tokens: 900 } });
    const { handler, ledger } = await router();
    await call(handler, { body: NANO, identity: ID });
    expect(await charged(ledger)).toEqual({ logUsd: 0.00025, metricUsd: 0.00025, ledgerNanos: 250_000, inFlight: 0, tokens: 1_500 });
  });
});

describe('usage that cannot be right is unknown usage: the worst case, logged and counted, never a credit', () => {
  test.each([
    ['negative counts', { input_tokens: -1_000_000, output_tokens: -5 }],
    ['fractional counts', { input_tokens: 10.5, output_tokens: 3 }],
    ['a count beyond any number (1e400 parses to Infinity)', '{"input_tokens":1e400,"output_tokens":3}'],
    ['input only', { input_tokens: 40 }],
    ['output only', { completion_tokens: 40 }],
    ['a count as a string', { input_tokens: '40', output_tokens: 3 }],
    ['spellings that disagree', { input_tokens: 40, prompt_tokens: 41, output_tokens: 3 }],
    ['more cached tokens than input', { prompt_tokens: 10, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 11 } }],
    ['a negative cache read', { input_tokens: 10, output_tokens: 3, cache_read_input_tokens: -10 }],
  ])('%s: charged $0.00004415 (83 x 0.00000005 + 100 x 0.0000004), usage_invalid, UsageInvalid 1', async (_name, usage) => {
    services.gateway.behaviour = typeof usage === 'string'
      ? (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"model":"gpt-5-nano","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":${usage}}`);
      }
      : answerWith('gpt-5-nano', usage);
    const { handler, ledger } = await router();
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(200);
    expect(await charged(ledger)).toEqual({ logUsd: 0.00004415, metricUsd: 0.00004415, ledgerNanos: 44_150, inFlight: 0, tokens: 183 });
    expect(lastLog()).toMatchObject({ settlement: 'answered_without_usage', charge_basis: 'worst_case', usage_invalid: true });
    expect(lastLog().input_tokens).toBeUndefined();
    expect(lastEmf().UsageInvalid).toBe(1);
  });

  test('an answer without any usage: the worst case, not flagged invalid', async () => {
    services.gateway.behaviour = answerWith('gpt-5-nano', undefined);
    const { handler, ledger } = await router();
    await call(handler, { body: NANO, identity: ID });
    expect(await charged(ledger)).toEqual({ logUsd: 0.00004415, metricUsd: 0.00004415, ledgerNanos: 44_150, inFlight: 0, tokens: 183 });
    expect(lastLog()).not.toHaveProperty('usage_invalid');
    expect(lastEmf().UsageInvalid).toBeUndefined();
  });
});

describe('streams: what the stream carried decides, also when the caller leaves early', () => {
  const NANO_STREAM = { ...NANO, stream: true };

  test('a stream answered in full without a usage event: the worst case, $0.00004485 (97 bytes with "stream":true x 0.00000005 + 100 x 0.0000004)', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5-nano', 'ok'));
      res.write(sseEvent('gpt-5-nano', null));
      res.end('data: [DONE]\n\n');
    };
    const { handler, ledger } = await router();
    expect((await call(handler, { body: NANO_STREAM, identity: ID })).status).toBe(200);
    expect(services.gateway.requests[0].rawBody).toBe(`${NANO_SENT.slice(0, -1)},"stream":true}`);
    expect(await charged(ledger)).toEqual({ logUsd: 0.00004485, metricUsd: 0.00004485, ledgerNanos: 44_850, inFlight: 0, tokens: 197 });
    expect(lastLog()).toMatchObject({ settlement: 'answered_without_usage', charge_basis: 'worst_case', answered_model: 'gpt-5-nano' });
    expect(lastLog()).not.toHaveProperty('client_aborted');
  });

  test('a caller that hangs up after the usage event, before [DONE]: charged the usage, $0.00025 (1,000 x 0.00000005 + 500 x 0.0000004)', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // The text and the usage in one event; the stream then stays open without [DONE].
      res.write(sseEvent('gpt-5-nano', 'ok', { usage: { input_tokens: 1_000, output_tokens: 500 } }));
    };
    const { handler, ledger } = await router();
    await call(handler, { body: NANO_STREAM, identity: ID, abortOnFirstBytes: true });
    expect(await charged(ledger)).toEqual({ logUsd: 0.00025, metricUsd: 0.00025, ledgerNanos: 250_000, inFlight: 0, tokens: 1_500 });
    expect(lastLog()).toMatchObject({ client_aborted: true, settlement: 'answered', charge_basis: 'usage' });
    expect(lastLog()).not.toHaveProperty('settlement_cause');
  });

  test('a caller that hangs up after the stream\'s headers, before its first event: the worst case, $0.00004485, and no time to first token', async () => {
    const hangUp = stallAfter((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
    });
    const { handler, ledger } = await router();
    await call(handler, { body: NANO_STREAM, identity: ID, abortOn: hangUp });
    expect(await charged(ledger)).toEqual({ logUsd: 0.00004485, metricUsd: 0.00004485, ledgerNanos: 44_850, inFlight: 0, tokens: 197 });
    expect(lastLog()).toMatchObject({ client_aborted: true, settlement: 'maybe_billed', settlement_cause: 'client_aborted' });
    expect(lastLog()).not.toHaveProperty('time_to_first_token_ms');
  });
});

describe('nothing billed: released in full', () => {
  test('the gateway refuses with an error status: $0, nothing held', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"bad","message":"no"}}');
    };
    const { handler, ledger } = await router();
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(400);
    expect(await ledger.usage('team')).toEqual({ usdNanos: 0, usdCommittedNanos: 0, tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
    expect(lastLog()).toMatchObject({ settlement: 'refused_upstream', charge_basis: 'none' });
    expect(lastLog()).not.toHaveProperty('cost_usd');
  });

  test('an error answer whose body is cut: still refused by the gateway, $0, nothing held', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"error":{');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const { handler, ledger } = await router();
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(502);
    expect(await ledger.usage('team')).toEqual({ usdNanos: 0, usdCommittedNanos: 0, tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
    expect(lastLog()).toMatchObject({ settlement: 'refused_upstream', charge_basis: 'none' });
    expect(lastLog()).not.toHaveProperty('settlement_cause');
  });

  test('the gateway cannot be reached (connection refused): never sent, $0', async () => {
    const { handler, table } = await tenantRouter(services.dynamo, TEAM, { endpoint: 'http://127.0.0.1:9', allowedModels: MODELS, catalog: PRICES });
    const ledger = new TenantLedger(services.dynamo.client, sdk, table);
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(502);
    expect(await ledger.usage('team')).toEqual({ usdNanos: 0, usdCommittedNanos: 0, tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
    expect(lastLog()).toMatchObject({ settlement: 'never_sent', charge_basis: 'none' });
  });

  test('a caller that hangs up during admission: nothing goes upstream, the reservation is released, client_aborted is logged', async () => {
    const { handler, ledger } = await router();
    await call(handler, { body: NANO, identity: ID, abortDuringAdmission: true });
    expect(services.gateway.requests).toHaveLength(0);
    expect(await ledger.usage('team')).toEqual({ usdNanos: 0, usdCommittedNanos: 0, tokensToday: 0, tokensCommittedToday: 0, inFlight: 0 });
    expect(lastLog()).toMatchObject({ tenant: 'team', client_aborted: true, settlement: 'never_sent' });
  });
});

describe('sent and maybe billed: the worst case', () => {
  test('a non-streamed 200 whose body is cut mid-way: $0.00004415, not zero', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"id":"c","choices":[');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const { handler, ledger } = await router();
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(502);
    expect(await charged(ledger)).toEqual({ logUsd: 0.00004415, metricUsd: 0.00004415, ledgerNanos: 44_150, inFlight: 0, tokens: 183 });
    expect(lastLog()).toMatchObject({ settlement: 'maybe_billed', settlement_cause: 'cut', charge_basis: 'worst_case' });
  });

  test('a caller that hangs up while a JSON answer is being read: $0.00004415, client_aborted', async () => {
    const hangUp = stallAfter((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"c",');
    });
    const { handler, ledger } = await router();
    await call(handler, { body: NANO, identity: ID, abortOn: hangUp });
    expect(await charged(ledger)).toEqual({ logUsd: 0.00004415, metricUsd: 0.00004415, ledgerNanos: 44_150, inFlight: 0, tokens: 183 });
    expect(lastLog()).toMatchObject({ client_aborted: true, settlement: 'maybe_billed', settlement_cause: 'client_aborted' });
  });

  test('no answer before the upstream timeout: $0.00004415', async () => {
    services.gateway.behaviour = () => undefined;
    const settings = { endpoint: services.gateway.url, allowedModels: MODELS, catalog: PRICES, upstreamTimeoutMs: 200 };
    const { handler, table } = await tenantRouter(services.dynamo, TEAM, settings);
    const ledger = new TenantLedger(services.dynamo.client, sdk, table);
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(504);
    expect(await charged(ledger)).toEqual({ logUsd: 0.00004415, metricUsd: 0.00004415, ledgerNanos: 44_150, inFlight: 0, tokens: 183 });
  });

  test('a caller that hangs up mid-stream, before the usage event: $0.0040205 (131 bytes with "stream":true, x 0.0000055 + 100 x 0.000033)', async () => {
    services.gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5.5', 'Hel'));
    };
    const { handler, ledger } = await router();
    await call(handler, { body: { ...NANO_OR_55, stream: true }, identity: ID, abortOnFirstBytes: true });
    expect(services.gateway.requests[0].rawBody).toBe(`${NANO_OR_55_SENT.slice(0, -1)},"stream":true}`);
    expect(await charged(ledger)).toEqual({ logUsd: 0.0040205, metricUsd: 0.0040205, ledgerNanos: 4_020_500, inFlight: 0, tokens: 231 });
    expect(lastLog()).toMatchObject({ client_aborted: true, settlement: 'maybe_billed', settlement_cause: 'client_aborted' });
  });
});

describe('no served request is free: a settle that cannot get through', () => {
  test('the store cut mid-answer: the settle is retried, then the reservation is left, logged, counted, and later reclaimed at its worst case', async () => {
    const proxy = await SwitchableProxy.start(services.dynamo.endpoint);
    try {
      services.gateway.behaviour = (req, res) => {
        proxy.cut(); // after admission, before the answer ends
        answerWith('gpt-5-nano', { input_tokens: 1_000, output_tokens: 500 })(req, res);
      };
      const { handler, ledger, table } = await router({ storeEndpoint: proxy.endpoint });
      expect((await call(handler, { body: NANO, identity: ID })).status).toBe(200);
      expect(lastLog()).toMatchObject({ status: 200, tenant_store_error: 'settle', cost_usd: 0.00025 });
      expect(lastLog().tenant_store_error_name).toMatch(/^[A-Za-z]+/);
      expect(lastEmf()).toMatchObject({ SettlementFailures: 1, TenantStoreErrors: 1 });
      // Left in flight at its worst case...
      expect(await ledger.usage('team')).toEqual({ usdNanos: 0, usdCommittedNanos: 44_150, tokensToday: 0, tokensCommittedToday: 183, inFlight: 1 });
      // ...until it expires: the next admission (here a ledger whose clock is 20 minutes on) reclaims it at 44,150, never at zero.
      const later = new TenantLedger(services.dynamo.client, sdk, table, () => Date.now() + 20 * 60_000);
      const next = await later.reserve('team', { usdNanos: 1_000_000_000 }, { usdNanos: 1, tokens: 1 }, 60_000);
      if (!next.ok) throw new Error('refused');
      expect(next.reclaim).toHaveLength(1);
      await later.reclaim(next.reclaim);
      await later.settle(next.reservation, { usdNanos: 0, tokens: 0 });
      expect(await ledger.usage('team')).toMatchObject({ usdNanos: 44_150, usdCommittedNanos: 44_150, inFlight: 0 });
    } finally {
      await proxy.close();
    }
  });

  test('a store that hangs at the settle is given up at the function\'s deadline less 250 ms: the function ends before its timeout', async () => {
    // Only the settle's update (the one that adds usd_c :du) hangs; the admission goes through.
    const store = await DynamoFaultProxy.start(services.dynamo.endpoint, (op, body) => op === 'UpdateItem' && body.includes('usd_c :du'), SILENCE);
    try {
      services.gateway.behaviour = answerWith('gpt-5-nano', { input_tokens: 1_000, output_tokens: 500 });
      const { handler, ledger } = await router({ storeEndpoint: store.endpoint });
      const started = Date.now();
      expect((await call(handler, { body: NANO, identity: ID, timeoutMs: 3_000 })).status).toBe(200);
      const took = Date.now() - started;
      // 3,000 ms to live, less the 250 ms margin: the one attempt is abandoned at 2,750 ms, and no backoff fits after it.
      expect(took).toBeGreaterThanOrEqual(2_700);
      expect(took).toBeLessThan(3_000);
      expect(store.failed).toBe(1);
      expect(lastLog()).toMatchObject({ status: 200, tenant_store_error: 'settle', cost_usd: 0.00025 });
      expect(lastEmf()).toMatchObject({ SettlementFailures: 1 });
      // Left in flight at its worst case (44,150 nano-USD, 183 tokens) for a reclaim, never released at zero.
      expect(await ledger.usage('team')).toEqual({ usdNanos: 0, usdCommittedNanos: 44_150, tokensToday: 0, tokensCommittedToday: 183, inFlight: 1 });
    } finally {
      await store.close();
    }
  });
});

describe('the admission reclaims what crashed requests left', () => {
  test('an expired reservation is charged its worst case by the next admission: 7,000 + 250,000 = 257,000 nano-USD', async () => {
    services.gateway.behaviour = answerWith('gpt-5-nano', { input_tokens: 1_000, output_tokens: 500 });
    const { handler, ledger } = await router();
    // A request that crashed holding 7,000 nano-USD and 5 tokens, its reservation already expired.
    const crashed = await ledger.reserve('team', { usdNanos: 1_000_000_000 }, { usdNanos: 7_000, tokens: 5 }, 1);
    expect(crashed.ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await call(handler, { body: NANO, identity: ID })).status).toBe(200);
    // This request's own charge is $0.00025 (1,000 x 0.00000005 + 500 x 0.0000004); the crashed one adds its 7,000 and 5 tokens.
    expect(await charged(ledger)).toEqual({ logUsd: 0.00025, metricUsd: 0.00025, ledgerNanos: 257_000, inFlight: 0, tokens: 1_505 });
  });

  test('a reclaim that fails after the admission: the request is served and settled, the error named, the expired reservation left for the next admission', async () => {
    // Only the reclaim's update (conditions on #r0, #r1, ...) fails.
    const store = await DynamoFaultProxy.start(services.dynamo.endpoint, (op, body) => op === 'UpdateItem' && body.includes('attribute_exists(#r0)'));
    try {
      services.gateway.behaviour = answerWith('gpt-5-nano', { input_tokens: 1_000, output_tokens: 500 });
      const { handler, ledger } = await router({ storeEndpoint: store.endpoint });
      const crashed = await ledger.reserve('team', { usdNanos: 1_000_000_000 }, { usdNanos: 7_000, tokens: 5 }, 1);
      expect(crashed.ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await call(handler, { body: NANO, identity: ID })).status).toBe(200);
      expect(store.failed).toBe(1);
      expect(lastLog()).toMatchObject({ status: 200, tenant_store_error_name: 'InternalServerError (HTTP 500)', cost_usd: 0.00025 });
      // This request's $0.00025 settled; the crashed 7,000 nano-USD and 5 tokens still held, for the next admission to reclaim.
      expect(await ledger.usage('team')).toEqual({ usdNanos: 250_000, usdCommittedNanos: 257_000, tokensToday: 1_500, tokensCommittedToday: 1_505, inFlight: 1 });
    } finally {
      await store.close();
    }
  });
});
