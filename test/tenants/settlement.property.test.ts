import type { ServerResponse } from 'node:http';
import * as sdk from '@aws-sdk/client-dynamodb';
import * as fc from 'fast-check';
import type { TenantSpec } from '../../src/contract/tenants-schema';
import { TenantLedger } from '../../src/handler/tenants/ledger';
import { DynamoFaultProxy } from '../support/dynamo-fault-proxy';
import { RecordedRequest, sseEvent } from '../support/fake-gateway';
import { call, CallOptions } from '../support/in-process';
import { catalogWithUsPrices, LITERAL_PRICES, tenantRouter, tenantTestServices } from '../support/tenant-harness';

/*
 * The ledger reconciles. Random mixes of every way a request can
 * end, sent concurrently against one tenant; afterwards the settled USD is
 * exactly the sum of the charges this test computes from literal prices
 * (LITERAL_PRICES), and nothing is left in flight.
 *
 * Every body is the same length for a given shape: the content is a kind
 * (two letters) and an index (two digits), so
 *   {"model":"gpt-5-nano","messages":[{"role":"user","content":"an07"}],"max_tokens":100}   is 85 bytes:
 *     worst case 85 x 0.00000005 + 100 x 0.0000004 = $0.00004425      (44,250 nano-USD)
 *   the same with ,"stream":true                                         is 99 bytes:
 *     worst case 99 x 0.00000005 + 100 x 0.0000004 = $0.00004495      (44,950 nano-USD)
 */

const services = tenantTestServices();
const { stdout } = services;

interface Kind {
  /** What the log's `settlement` must say. */
  readonly settlement: string;
  /** Nano-USD the ledger must end up with for one request of the kind. */
  readonly nanos: number;
  readonly model: string;
  readonly fallbacks?: boolean;
  readonly stream?: boolean;
}

const KINDS: Record<string, Kind> = {
  // gpt-5-nano answers 1,000 in / 500 out: 1,000 x 0.00000005 + 500 x 0.0000004 = $0.00025.
  an: { settlement: 'answered', nanos: 250_000, model: 'gpt-5-nano' },
  // Its fallback gpt-5.5 answers 1,000 / 500: 1,000 x 0.0000055 + 500 x 0.000033 = $0.022.
  fb: { settlement: 'answered', nanos: 22_000_000, model: 'gpt-5-nano', fallbacks: true },
  // claude-sonnet-4-6, 1,000 input of which 800 cached, 100 out: 200 x 0.000003 + 800 x 0.0000003 + 100 x 0.000015 = $0.00234.
  ca: { settlement: 'answered', nanos: 2_340_000, model: 'claude-sonnet-4-6' },
  // Negative usage: the worst case.
  iv: { settlement: 'answered_without_usage', nanos: 44_250, model: 'gpt-5-nano' },
  // The gateway answers 500: nothing billed.
  er: { settlement: 'refused_upstream', nanos: 0, model: 'gpt-5-nano' },
  // No answer before the upstream timeout: the worst case.
  to: { settlement: 'maybe_billed', nanos: 44_250, model: 'gpt-5-nano' },
  // The caller hangs up while the request is admitted: never sent.
  aa: { settlement: 'never_sent', nanos: 0, model: 'gpt-5-nano' },
  // The caller hangs up once the gateway has the request, before it answers: the worst case.
  aw: { settlement: 'maybe_billed', nanos: 44_250, model: 'gpt-5-nano' },
  // The caller hangs up mid-stream, before the usage event: the worst case of the stream body.
  as: { settlement: 'maybe_billed', nanos: 44_950, model: 'gpt-5-nano', stream: true },
  // Answered 20 in / 50 out ($0.000021), but every settle fails: left in flight, then reclaimed at its worst case.
  sf: { settlement: 'answered', nanos: 44_250, model: 'gpt-5-nano' },
};
type KindName = keyof typeof KINDS;

const PRICES = catalogWithUsPrices(LITERAL_PRICES);
const TEAM: TenantSpec[] = [{ id: 'team', ids: [{ k: 'key', v: 'k' }], usd: 1_000 }];
const RUNS = 40;

/** Per request (by its content), what the fake gateway does. */
const gatewayHolds = new Map<string, () => void>();
function behaviour(req: RecordedRequest, res: ServerResponse): void {
  const content: string = req.json.messages[0].content;
  const kind = content.slice(0, 2) as KindName;
  const answer = (model: string, usage: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage }));
  };
  switch (kind) {
    case 'an': return answer('gpt-5-nano', { input_tokens: 1_000, output_tokens: 500 });
    case 'fb': return answer('gpt-5.5', { input_tokens: 1_000, output_tokens: 500 });
    case 'ca': return answer('claude-sonnet-4-6', { prompt_tokens: 1_000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 800 } });
    case 'iv': return answer('gpt-5-nano', { input_tokens: -5, output_tokens: 10 });
    case 'sf': return answer('gpt-5-nano', { input_tokens: 20, output_tokens: 50 });
    case 'er':
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"internal","message":"boom"}}');
      return;
    case 'as':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent('gpt-5-nano', 'Hel'));
      return; // never ends: the caller hangs up
    case 'aw':
      gatewayHolds.get(content)?.();
      return; // never answers: the caller hangs up
    default:
      return; // 'to': never answers
  }
}

function body(kind: KindName, index: number): Record<string, unknown> {
  const k = KINDS[kind];
  return {
    model: k.model,
    messages: [{ role: 'user', content: `${kind}${String(index).padStart(2, '0')}` }],
    max_tokens: 100,
    ...(k.fallbacks ? { fallbacks: [{ model: 'gpt-5.5' }] } : {}),
    ...(k.stream ? { stream: true } : {}),
  };
}

test(`${RUNS} concurrent mixes of every outcome against one tenant: the ledger holds exactly the sum of hand-priced charges, nothing in flight`, async () => {
  services.gateway.behaviour = behaviour;
  // Every settle of the "sf" requests (the only ones that settle 70 tokens) is answered with a store fault.
  const faults = await DynamoFaultProxy.start(services.dynamo.endpoint,
    (op, text) => op === 'UpdateItem' && text.includes('#ts :at REMOVE #r') && text.includes('":at":{"N":"70"}'));
  const reached: Record<string, number> = Object.fromEntries(Object.keys(KINDS).map((k) => [k, 0]));
  try {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.constantFrom(...(Object.keys(KINDS) as KindName[])), { minLength: 4, maxLength: 12 }),
      async (kinds) => {
        stdout.clear();
        gatewayHolds.clear();
        const { handler, table } = await tenantRouter(services.dynamo, TEAM,
          { endpoint: services.gateway.url, allowedModels: ['gpt-5-nano', 'gpt-5.5', 'claude-sonnet-4-6'], catalog: PRICES, upstreamTimeoutMs: 300 },
          { storeEndpoint: faults.endpoint });
        await Promise.all(kinds.map((kind, i) => {
          const options: CallOptions = { body: body(kind, i), identity: { apiKeyId: 'k' } };
          if (kind === 'aa') return call(handler, { ...options, abortDuringAdmission: true });
          if (kind === 'as') return call(handler, { ...options, abortOnFirstBytes: true });
          if (kind === 'aw') {
            const received = new Promise<void>((resolve) => gatewayHolds.set(`aw${String(i).padStart(2, '0')}`, resolve));
            return call(handler, { ...options, abortOn: received });
          }
          return call(handler, options);
        }));
        // Each request ended as its kind says (the log's settlement), counted where it did.
        const logged = stdout.records.filter((r: any) => r.message === 'request' && r.tenant === 'team');
        expect(logged).toHaveLength(kinds.length);
        expect(logged.map((r: any) => r.settlement).sort()).toEqual(kinds.map((k) => KINDS[k].settlement).sort());
        for (const k of kinds) reached[k]++;
        expect(logged.filter((r: any) => r.tenant_store_error === 'settle')).toHaveLength(kinds.filter((k) => k === 'sf').length);

        // What the crashed settles left is reclaimed once it has expired (a ledger whose clock is 20 minutes on).
        const later = new TenantLedger(services.dynamo.client, sdk, table, () => Date.now() + 20 * 60_000);
        const probe = await later.reserve('team', { usdNanos: 1e12 }, { usdNanos: 0, tokens: 1 }, 1_000);
        if (!probe.ok) throw new Error('probe refused');
        await later.reclaim(probe.reclaim);
        await later.settle(probe.reservation, { usdNanos: 0, tokens: 0 });

        const expected = kinds.reduce((sum, k) => sum + KINDS[k].nanos, 0);
        const usage = await new TenantLedger(services.dynamo.client, sdk, table).usage('team');
        expect({ settled: usage.usdNanos, committed: usage.usdCommittedNanos, inFlight: usage.inFlight })
          .toEqual({ settled: expected, committed: expected, inFlight: 0 });
      },
    ), { numRuns: RUNS });
  } finally {
    await faults.close();
  }
  // Every outcome was reached often enough for the sum to mean something: RUNS x 8 / 10 = 32 of each on average, the floor 4 sd below.
  console.info(`settlement property: requests per kind ${JSON.stringify(reached)}`);
  for (const [kind, count] of Object.entries(reached)) expect([kind, count >= 10]).toEqual([kind, true]);
}, 300_000);
