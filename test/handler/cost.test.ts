import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCatalog } from '../../src/contract/model-catalog';
import { FakeGateway, GatewayBehaviour, respondWith } from '../support/fake-gateway';
import { startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

/** The fixtures' catalog (test/contract/fixtures): prices written by hand, so the expected costs below are literal. */
const CATALOG = parseCatalog({
  schema: 1,
  source: 'test fixture',
  generatedAt: '2026-10-20T12:00:00.000Z',
  pricesNote: 'test',
  ...JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'contract', 'fixtures', 'catalog.expected.json'), 'utf8')),
}, 'fixture');

/** A completion reporting 1200 input and 300 output tokens, in the gateway's documented spelling. */
const USAGE_1200_300: GatewayBehaviour = (req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({
    request_id: 'req-1',
    model: req.json.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { input_tokens: 1200, output_tokens: 300 },
  }));
};

function last() {
  const log = stdout.requestLogs.at(-1);
  const emf = stdout.emf.at(-1);
  return { log, emf };
}

describe('per-request cost: tokens times the catalog price for the region used', () => {
  let gateway: FakeGateway;
  beforeAll(async () => {
    gateway = await FakeGateway.start(USAGE_1200_300);
  });
  afterAll(() => gateway.close());
  beforeEach(() => {
    stdout.clear();
    gateway.behaviour = USAGE_1200_300;
  });

  test('global-routed: 1200 × $0.000005 + 300 × $0.000025 = $0.0135; an in-region sibling: 1200 × $0.0000011 + 300 × $0.0000055 = $0.00297', async () => {
    const router = await startRouter({ region: 'us', globalRouting: true, endpoint: gateway.url, catalog: CATALOG, allowedModels: ['claude-opus-4-7', 'claude-haiku-4-5-20251001'], routerName: 'cost-us' });
    try {
      await router.client.chat.completions.create({ model: 'claude-opus-4-7', messages: [] });
      let { log, emf } = last();
      expect(gateway.requests.at(-1)!.json.model_region).toBe('global');
      expect(log).toMatchObject({ region: 'global', input_tokens: 1200, output_tokens: 300 });
      expect(log.cost_usd).toBeCloseTo(0.0135, 12);
      expect(emf).toMatchObject({ Region: 'global', Model: 'claude-opus-4-7' });
      expect(emf.CostUsd).toBeCloseTo(0.0135, 12);
      // Same dimension sets as every other metric of the request.
      expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'Region'], ['service'], ['service', 'Provider', 'Model']]);
      expect(emf._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: 'CostUsd', Unit: 'None' });

      await router.client.chat.completions.create({ model: 'claude-haiku-4-5-20251001', messages: [] });
      ({ log, emf } = last());
      expect(gateway.requests.at(-1)!.json.model_region).toBeUndefined();
      expect(log.region).toBe('us');
      expect(log.cost_usd).toBeCloseTo(0.00297, 12);
      expect(emf.CostUsd).toBeCloseTo(0.00297, 12);
    } finally {
      await router.close();
    }
  });

  test('EU: the EU price, 1200 × $0.0000055 + 300 × $0.0000275 = $0.01485', async () => {
    const router = await startRouter({ region: 'eu', endpoint: gateway.url, catalog: CATALOG, allowedModels: ['claude-opus-4-7'] });
    try {
      await router.client.chat.completions.create({ model: 'claude-opus-4-7', messages: [] });
      const { log, emf } = last();
      expect(log.region).toBe('eu');
      expect(log.cost_usd).toBeCloseTo(0.01485, 12);
      expect(emf).toMatchObject({ Region: 'eu' });
      expect(emf.CostUsd).toBeCloseTo(0.01485, 12);
    } finally {
      await router.close();
    }
  });

  test('a stream the gateway streams: usage from its last event (5 in, 3 out) × the US price = $0.0001265', async () => {
    gateway.behaviour = respondWith();
    const router = await startRouter({ region: 'us', endpoint: gateway.url, catalog: CATALOG, allowedModels: ['gpt-5.5'] });
    try {
      const stream = await router.client.chat.completions.create({ model: 'gpt-5.5', messages: [], stream: true });
      for await (const _ of stream) { /* drain */ }
      const { log, emf } = last();
      expect(log).toMatchObject({ input_tokens: 5, output_tokens: 3 });
      expect(log.cost_usd).toBeCloseTo(0.0001265, 12);
      expect(emf.CostUsd).toBeCloseTo(0.0001265, 12);
    } finally {
      await router.close();
    }
  });

  test('no usage reported: billed, amount unknown, so charged the worst case in the log and the metric alike', async () => {
    gateway.behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: 'qwen3-32B', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }));
    };
    const router = await startRouter({ region: 'us', endpoint: gateway.url, catalog: CATALOG, allowedModels: ['qwen3-32B'] });
    try {
      await router.client.chat.completions.create({ model: 'qwen3-32B', messages: [] });
      expect(gateway.requests.at(-1)!.rawBody).toBe('{"model":"qwen3-32B","messages":[]}');
      const { log, emf } = last();
      // 35 input tokens (one per byte sent) x $0.00000011 + 1,000 output tokens (the gateway's default max_tokens) x $0.00000033
      // = $0.00000385 + $0.00033 = $0.00033385.
      expect(log).toMatchObject({ status: 200, settlement: 'answered_without_usage', charge_basis: 'worst_case', cost_usd: 0.00033385 });
      expect(log.input_tokens).toBeUndefined();
      expect(emf.CostUsd).toBe(0.00033385);
    } finally {
      await router.close();
    }
  });
});
