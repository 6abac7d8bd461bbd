import { errorWith, FakeGateway, respondWith } from '../support/fake-gateway';
import { rawRequest, startRouter } from '../support/router-harness';
import { StdoutCapture } from '../support/stdout-capture';

const stdout = StdoutCapture.install();
afterAll(() => stdout.restore());

/** The EMF document written for the last request. */
function lastEmf() {
  const docs = stdout.emf;
  expect(docs.length).toBeGreaterThan(0);
  return docs.at(-1);
}

function metricNames(doc: any): string[] {
  return doc._aws.CloudWatchMetrics[0].Metrics.map((m: any) => m.Name);
}

describe('CloudWatch EMF metrics from the handler', () => {
  let gateway: FakeGateway;
  beforeAll(async () => {
    gateway = await FakeGateway.start();
  });
  afterAll(() => gateway.close());
  beforeEach(() => {
    stdout.clear();
    gateway.requests.length = 0;
    gateway.behaviour = respondWith();
  });

  test('a US request: namespace, the router-wide, per-region and per-model dimension sets, Region "us", tokens, latency, cold start once', async () => {
    const router = await startRouter({ region: 'us', endpoint: gateway.url, routerName: 'platform-us' });
    try {
      await router.client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }] });
      const doc = lastEmf();
      expect(doc._aws.CloudWatchMetrics[0].Namespace).toBe('LlmGatewayRouter');
      expect(doc._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'Region'], ['service'], ['service', 'Provider', 'Model']]);
      expect(doc).toMatchObject({ service: 'platform-us', Region: 'us', Provider: 'anthropic', Model: 'claude-sonnet-4-6', Requests: 1, ColdStart: 1, InputTokens: 11, OutputTokens: 7 });
      expect(metricNames(doc)).toEqual(expect.arrayContaining(['Requests', 'Latency', 'UpstreamLatency', 'InputTokens', 'OutputTokens', 'ColdStart']));
      expect(doc.Latency).toBeGreaterThan(0);
      await router.client.chat.completions.create({ model: 'claude-sonnet-4-6', messages: [] });
      expect(lastEmf().ColdStart).toBeUndefined();
    } finally {
      await router.close();
    }
  });

  test('an EU request is tagged "eu" and a global-routed one "global"', async () => {
    const eu = await startRouter({ region: 'eu', endpoint: gateway.url });
    const global = await startRouter({ region: 'us', globalRouting: true, endpoint: gateway.url, allowedModels: ['claude-opus-4-7', 'qwen3-32B'] });
    try {
      await eu.client.chat.completions.create({ model: 'gemini-2.5-pro', messages: [] });
      expect(lastEmf()).toMatchObject({ Region: 'eu', Model: 'gemini-2.5-pro' });
      await global.client.chat.completions.create({ model: 'claude-opus-4-7', messages: [] });
      const globalDoc = lastEmf();
      expect(globalDoc).toMatchObject({ Region: 'global', Model: 'claude-opus-4-7', Requests: 1 });
      // The router-wide set (what metricRequests() reads by default) counts the global share too.
      expect(globalDoc._aws.CloudWatchMetrics[0].Dimensions).toContainEqual(['service']);
      expect(gateway.requests.at(-1)!.json.model_region).toBe('global');
      // Same router, a provider without global routing: in-region, so "us".
      await global.client.chat.completions.create({ model: 'qwen3-32B', messages: [] });
      expect(lastEmf()).toMatchObject({ Region: 'us', Model: 'qwen3-32B' });
    } finally {
      await eu.close();
      await global.close();
    }
  });

  test('rejections carry their reason and no Model dimension for ids outside the allow-list', async () => {
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'], maxBodyBytes: 1024 });
    try {
      const cases: Array<[string, string]> = [
        [JSON.stringify({ model: 'totally-made-up-model-for-cardinality' }), 'model_not_allowed'],
        ['{oops', 'bad_request'],
        [JSON.stringify({ model: 'gpt-5', model_region: 'global' }), 'global_routing'],
        [JSON.stringify({ model: 'gpt-5', pad: 'x'.repeat(2000) }), 'too_large'],
      ];
      for (const [body, reason] of cases) {
        await rawRequest(`${router.url}/v1/chat/completions`, 'POST', body);
        const doc = lastEmf();
        expect(doc).toMatchObject({ Region: 'us', Reason: reason, Rejected: 1, Requests: 1 });
        expect(doc.Model).toBeUndefined();
        expect(doc._aws.CloudWatchMetrics[0].Dimensions).toContainEqual(['service', 'Reason']);
        expect(doc._aws.CloudWatchMetrics[0].Dimensions).toContainEqual(['service']);
      }
      expect(gateway.requests).toHaveLength(0);
    } finally {
      await router.close();
    }
  });

  test('upstream errors are counted by class, and time to first token is recorded for streams', async () => {
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
    try {
      gateway.behaviour = errorWith(500, 'nested');
      await router.client.chat.completions.create({ model: 'gpt-5', messages: [] }).catch(() => undefined);
      expect(lastEmf()).toMatchObject({ ErrorClass: '5xx', UpstreamErrors: 1 });
      gateway.behaviour = respondWith({ gapMs: 5 });
      const stream = await router.client.chat.completions.create({ model: 'gpt-5', messages: [], stream: true });
      for await (const chunk of stream) void chunk;
      const doc = lastEmf();
      expect(doc.TimeToFirstToken).toBeGreaterThan(0);
      expect(doc).toMatchObject({ InputTokens: 5, OutputTokens: 3 });
    } finally {
      await router.close();
    }
  });

  test('a stream the client abandons is still flushed, as ClientAborted', async () => {
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5'] });
    try {
      gateway.behaviour = respondWith({ parts: Array.from({ length: 50 }, (_, i) => `p${i}`), gapMs: 20 });
      const stream = await router.client.chat.completions.create({ model: 'gpt-5', messages: [], stream: true });
      for await (const chunk of stream) {
        void chunk;
        stream.controller.abort();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(lastEmf()).toMatchObject({ ClientAborted: 1, Requests: 1 });
    } finally {
      await router.close();
    }
  });
});

describe('logs keep prompts, completions, keys and credentials private', () => {
  test('no log or metric line contains canary strings from the messages, the headers, the answer or the key', async () => {
    const canaries = {
      prompt: 'CANARY-PROMPT-7f3a9',
      completion: 'CANARY-COMPLETION-1b2c3',
      header: 'CANARY-HEADER-d4e5f',
      auth: 'CANARY-CALLER-AUTH-a1b2',
      key: 'CANARY-GATEWAY-KEY-99zz',
    };
    const gateway = await FakeGateway.start(respondWith({ parts: [canaries.completion] }));
    const router = await startRouter({ region: 'us', endpoint: gateway.url, allowedModels: ['gpt-5', 'claude-sonnet-4-6'] }, { apiKeyProvider: async () => canaries.key });
    stdout.clear();
    try {
      const headers = { 'x-team-note': canaries.header, 'authorization': `Bearer ${canaries.auth}`, 'cookie': `sid=${canaries.header}` };
      for (const model of ['gpt-5', 'claude-sonnet-4-6']) {
        await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model, messages: [{ role: 'user', content: canaries.prompt }] }), headers);
        await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: canaries.prompt }] }), headers);
      }
      // A refused one and a broken one too.
      await rawRequest(`${router.url}/v1/chat/completions`, 'POST', JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: canaries.prompt }] }), headers);
      await rawRequest(`${router.url}/v1/chat/completions`, 'POST', `{"model":"gpt-5","messages":"${canaries.prompt}`, headers);
      expect(gateway.requests).toHaveLength(4);
      expect(gateway.requests[0].headers.authorization).toBe(canaries.key);
      const logs = stdout.requestLogs;
      expect(logs).toHaveLength(6);
      for (const log of logs) expect(Object.keys(log)).toEqual(expect.arrayContaining(['request_id', 'route', 'region', 'status', 'latency_ms']));
      const everything = stdout.lines.join('\n');
      for (const canary of Object.values(canaries)) expect(everything).not.toContain(canary);
    } finally {
      await router.close();
      await gateway.close();
    }
  });
});
