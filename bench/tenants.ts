/*
 * What tenants cost a request, measured (not asserted): DynamoDB calls before
 * the upstream call and after it, whether settling waits for the caller's
 * last byte, and the added latency against the same router without tenants.
 * Everything local: the handler from src/, a fake upstream, dynalite behind a
 * recording proxy (so each DynamoDB call's arrival time is known).
 *
 *   npx ts-node --transpile-only --project test/tsconfig.json bench/tenants.ts
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as sdk from '@aws-sdk/client-dynamodb';
import { median, p99 } from './support/stats';
import { routerEnvironment } from '../src/emulator/config';
import { installLambdaRuntimeShim, lambdaContext, proxyEvent } from '../src/emulator/runtime-shim';
import { ensureTenantTable, localClientConfig, startEmbeddedDynamoDb } from '../src/emulator/tenant-store';
import { writeLocalTenants } from '../src/emulator/tenants';
import { createRouterHandler, StreamingHandler } from '../src/handler/app';

installLambdaRuntimeShim();
const N = Number(process.env.BENCH_TENANT_REQUESTS ?? (process.env.BENCH_SMOKE ? 20 : 300));

interface Mark { t: number; what: string }

async function main(): Promise<void> {
  const marks: Mark[] = [];
  const upstream = http.createServer((req, res) => {
    marks.push({ t: performance.now(), what: 'upstream' });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x', model: 'gpt-5-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { input_tokens: 10, output_tokens: 5 } }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const dynamo = await startEmbeddedDynamoDb();
  const target = new URL(dynamo.endpoint);
  // Records each DynamoDB call (its X-Amz-Target) on arrival, then forwards it.
  const proxy = http.createServer((req, res) => {
    marks.push({ t: performance.now(), what: String(req.headers['x-amz-target']).split('.').pop()! });
    const fwd = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 500, r.headers);
      r.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const client = new DynamoDBClient(localClientConfig(dynamo.endpoint));
  await ensureTenantTable(client, sdk, 'bench-tenants');

  const endpoint = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const base = { region: 'us' as const, endpoint, allowedModels: ['gpt-5-mini'] };
  const plain = createRouterHandler(routerEnvironment(base), { apiKeyProvider: async () => 'k-0123456789abcdef' });
  const tenants = async (rpm: boolean) => {
    const table = `bench-tenants-${rpm ? 'rpm' : 'budget'}`;
    await ensureTenantTable(client, sdk, table);
    const shardVersions = await writeLocalTenants(client, sdk, table, [{ id: 'bench', ids: [{ k: 'key', v: 'kid' }], usd: 1e6, tok: 1e12, rpm: rpm ? 1e9 : undefined }]);
    return createRouterHandler(
      routerEnvironment({ ...base, tenants: { table, shardVersions } }),
      { apiKeyProvider: async () => 'k-0123456789abcdef', tenants: { dynamoDbClientConfig: localClientConfig(proxyUrl) } },
    );
  };
  const body = JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
  const silence = process.stdout.write.bind(process.stdout);
  const results: Record<string, unknown> = {};
  for (const [name, handler] of [['no tenants', plain], ['tenant with a budget', await tenants(false)], ['tenant with a budget and a rate limit', await tenants(true)]] as const) {
    const lastByte: number[] = [];
    const total: number[] = [];
    let before = 0;
    let after = 0;
    let settledAfterLastByte = 0;
    const spread: number[] = [];
    (process.stdout as { write: unknown }).write = () => true; // the router's log and EMF lines
    try {
      for (let i = 0; i < N; i++) {
        marks.length = 0;
        const start = performance.now();
        const stream = new PassThrough();
        stream.resume();
        let ended = 0;
        stream.on('finish', () => (ended = performance.now()));
        const event = proxyEvent({ method: 'POST', path: '/v1/chat/completions', body });
        (event.requestContext as { identity?: object }).identity = { apiKeyId: 'kid' };
        await (handler as StreamingHandler)(event, stream, lambdaContext());
        total.push(performance.now() - start);
        if (!ended) await new Promise((resolve) => stream.once('finish', resolve));
        lastByte.push(ended - start);
        const up = marks.find((m) => m.what === 'upstream')!.t;
        const ddb = marks.filter((m) => m.what !== 'upstream');
        const early = ddb.filter((m) => m.t < up);
        before += early.length;
        if (early.length > 1) spread.push(early.at(-1)!.t - early[0].t);
        const late = ddb.filter((m) => m.t > up);
        after += late.length;
        if (late.length > 0 && late.every((m) => m.t >= ended)) settledAfterLastByte++;
      }
    } finally {
      (process.stdout as { write: unknown }).write = silence;
    }
    results[name] = {
      dynamoDbCallsBeforeUpstreamPerRequest: before / N,
      dynamoDbCallsAfterUpstreamPerRequest: after / N,
      // Two calls before upstream are issued together (one round trip): the gap between their arrivals.
      gapBetweenCallsBeforeUpstreamMs: spread.length ? { p50: round(median(spread)), p99: round(p99(spread)) } : null,
      settleStartedAfterLastBytePercent: after ? (100 * settledAfterLastByte) / N : null,
      lastByteMs: { p50: round(median(lastByte)), p99: round(p99(lastByte)) },
      invocationMs: { p50: round(median(total)), p99: round(p99(total)) },
    };
  }
  console.log(JSON.stringify({ requests: N, results }, null, 2));
  client.destroy();
  await new Promise((resolve) => proxy.close(resolve));
  await new Promise((resolve) => upstream.close(resolve));
  await dynamo.close();
  process.exit(0);
}

const round = (x: number) => Math.round(x * 100) / 100;
void main();
