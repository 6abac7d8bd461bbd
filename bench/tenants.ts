import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as sdk from '@aws-sdk/client-dynamodb';
import { BUNDLE } from './support/router';
import { count, median, msSince, p99, round } from './support/stats';
import type { TenantSpec } from '../src/contract/tenants-schema';
import { routerEnvironment } from '../src/emulator/config';
import { installLambdaRuntimeShim, lambdaContext, proxyEvent } from '../src/emulator/runtime-shim';
import { ensureTenantTable, localClientConfig, startEmbeddedDynamoDb } from '../src/emulator/tenant-store';
import { writeLocalTenants } from '../src/emulator/tenants';
import { createRouterHandler, StreamingHandler } from '../src/handler/app';

/*
 * What tenants cost: per request (DynamoDB calls before the upstream call
 * and after it, whether settling waits for the caller's last byte, the added
 * latency against the same router without tenants, in one run), at synth
 * (10, 100 and 1,000 tenants), and at cold start (1 and 1,000 tenants).
 * Everything local: a fake upstream, dynalite behind a recording proxy (so
 * each DynamoDB call's arrival time is known).
 */

const KEY = 'k-0123456789abcdef';
const COMPLETION = JSON.stringify({ id: 'x', model: 'gpt-5-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { input_tokens: 10, output_tokens: 5 } });

interface Mark { t: number; what: string }

interface Local {
  upstreamUrl: string;
  proxyUrl: string;
  dynamoUrl: string;
  client: DynamoDBClient;
  marks: Mark[];
  close(): Promise<void>;
}

/** A fake upstream and dynalite behind a proxy that records each call's arrival. */
async function local(): Promise<Local> {
  const marks: Mark[] = [];
  const upstream = http.createServer((req, res) => {
    marks.push({ t: performance.now(), what: 'upstream' });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const dynamo = await startEmbeddedDynamoDb();
  const target = new URL(dynamo.endpoint);
  const proxy = http.createServer((req, res) => {
    marks.push({ t: performance.now(), what: String(req.headers['x-amz-target']).split('.').pop()! });
    const fwd = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 500, r.headers);
      r.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const client = new DynamoDBClient(localClientConfig(dynamo.endpoint));
  return {
    upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    dynamoUrl: dynamo.endpoint,
    client,
    marks,
    close: async () => {
      client.destroy();
      await new Promise((resolve) => proxy.close(resolve));
      await new Promise((resolve) => upstream.close(resolve));
      await dynamo.close();
    },
  };
}

async function tableWith(l: Local, name: string, specs: TenantSpec[]): Promise<string> {
  await ensureTenantTable(l.client, sdk, name);
  return writeLocalTenants(l.client, sdk, name, specs);
}

/**
 * Per request, the router from src/ in-process: without tenants, and with a
 * tenant that has a budget, a rate limit and tokens per minute (three
 * DynamoDB calls before upstream, issued together). Variants interleave
 * request by request, so the added latency is paired.
 */
export async function tenantPath(): Promise<unknown> {
  installLambdaRuntimeShim();
  const N = count(300, 20);
  const l = await local();
  const base = { region: 'us' as const, endpoint: l.upstreamUrl, allowedModels: ['gpt-5-mini'] };
  const plain = createRouterHandler(routerEnvironment(base), { apiKeyProvider: async () => KEY });
  const spec: TenantSpec = { id: 'bench', ids: [{ k: 'key', v: 'kid' }], usd: 1e6, tok: 1e12, tpm: 1e12, rpm: 1e9 };
  const shardVersions = await tableWith(l, 'bench-tenants', [spec]);
  const tenanted = createRouterHandler(
    routerEnvironment({ ...base, tenants: { table: 'bench-tenants', shardVersions } }),
    { apiKeyProvider: async () => KEY, tenants: { dynamoDbClientConfig: localClientConfig(l.proxyUrl) } },
  );
  const body = JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
  const silence = process.stdout.write.bind(process.stdout);
  const samples = { plain: [] as number[], tenant: [] as number[] };
  const calls = { before: [] as number[], spread: [] as number[], after: [] as number[], settledAfterLastByte: 0 };
  (process.stdout as { write: unknown }).write = () => true; // the router's log and EMF lines
  try {
    for (let i = 0; i < N + 5; i++) {
      for (const [name, handler] of [['plain', plain], ['tenant', tenanted]] as const) {
        l.marks.length = 0;
        const start = performance.now();
        const stream = new PassThrough();
        stream.resume();
        let ended = 0;
        stream.on('finish', () => (ended = performance.now()));
        const event = proxyEvent({ method: 'POST', path: '/v1/chat/completions', body, identity: { apiKeyId: 'kid' } });
        await (handler as StreamingHandler)(event, stream, lambdaContext());
        if (!ended) await new Promise((resolve) => stream.once('finish', resolve));
        if (i < 5) continue; // warm-up: connections, JIT, the tenants' first read
        samples[name].push(ended - start);
        if (name === 'plain') continue;
        const up = l.marks.find((m) => m.what === 'upstream')!.t;
        const ddb = l.marks.filter((m) => m.what !== 'upstream');
        const early = ddb.filter((m) => m.t < up);
        calls.before.push(early.length);
        calls.spread.push(early.length > 1 ? early.at(-1)!.t - early[0].t : 0);
        const late = ddb.filter((m) => m.t > up);
        calls.after.push(late.length);
        if (late.length > 0 && late.every((m) => m.t >= ended)) calls.settledAfterLastByte++;
      }
    }
  } finally {
    (process.stdout as { write: unknown }).write = silence;
  }
  await l.close();
  const added = samples.tenant.map((t, i) => t - samples.plain[i]);
  return {
    requests: N,
    dynamoDbCallsBeforeUpstream: median(calls.before),
    // Issued together, they are one round trip of latency: the gap between the first and the last arrival.
    gapBetweenCallsBeforeUpstreamMs: { p50: round(median(calls.spread), 3), p99: round(p99(calls.spread), 3) },
    dynamoDbCallsAfterUpstream: median(calls.after),
    settleStartedAfterLastBytePercent: round((100 * calls.settledAfterLastByte) / N, 1),
    lastByteMs: {
      withoutTenants: { p50: round(median(samples.plain)), p99: round(p99(samples.plain)) },
      withTenant: { p50: round(median(samples.tenant)), p99: round(p99(samples.tenant)) },
    },
    addedByTenantMs: { p50: round(median(added)), p99: round(p99(added)) },
  };
}

/** A router with `n` API-key tenants (each its own key), constructed and synthesized into a fresh App. */
function synthTenants(n: number): { ms: number } {
  // Loaded here: the other benchmarks' workers never load aws-cdk-lib.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { App, Stack } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const secretsmanager = require('aws-cdk-lib/aws-secretsmanager') as typeof import('aws-cdk-lib/aws-secretsmanager');
  const { LlmGatewayRouter, RouterAuthorization, TenantIdentity } = require('../src') as typeof import('../src');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const start = process.hrtime.bigint();
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: { account: '111111111111', region: 'us-east-1' } });
  const router = new LlmGatewayRouter(stack, 'Router', {
    apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'llm-gateway-key'),
    allowedModels: ['claude-sonnet-4-6', 'gpt-5-mini'],
    authorization: RouterAuthorization.apiKey(),
    cloudWatchRole: false,
  });
  for (let i = 0; i < n; i++) router.addTenant(`team-${i}`, { identity: TenantIdentity.apiKey(), monthlyBudgetUsd: 100 });
  app.synth();
  return { ms: msSince(start) };
}

/** Time to construct and synthesize a router with 10, 100 and 1,000 API-key tenants (the heaviest identity: two resources each). */
export function tenantSynth(): unknown {
  synthTenants(2); // loads aws-cdk-lib and compiles the sources, outside the measurement
  return [10, 100, 1_000].map((tenants) => {
    const runs = count(tenants === 1_000 ? 3 : 5, 1);
    const ms = Array.from({ length: runs }, () => synthTenants(tenants).ms);
    return { tenants, runs, msP50: round(median(ms), 1), msPerTenant: round(median(ms) / tenants, 3) };
  });
}

/**
 * Cold start with 1 and 1,000 tenants: in a fresh Node process each time,
 * the deployed bundle's module load, its tenants read from the table (one
 * BatchGetItem per hundred shards, during init), and the first request of
 * the last tenant answered. Variants interleave run by run.
 */
export async function tenantColdStart(): Promise<unknown> {
  const l = await local();
  try {
    const tables: Record<string, { table: string; shardVersions: string; lastKey: string }> = {};
    for (const n of [1, 1_000]) {
      const specs: TenantSpec[] = Array.from({ length: n }, (_, i) => ({ id: `team-${i}`, ids: [{ k: 'key', v: `key-${i}` }], usd: 100, rpm: 1_000_000 }));
      tables[n] = { table: `cold-${n}`, shardVersions: await tableWith(l, `cold-${n}`, specs), lastKey: `key-${n - 1}` };
    }
    const probe = (n: number) => {
      const t = tables[n];
      const env = routerEnvironment({ region: 'us', endpoint: l.upstreamUrl, allowedModels: ['gpt-5-mini'], tenants: { table: t.table, shardVersions: t.shardVersions } });
      return `
        const t0 = performance.now();
        globalThis.awslambda = { streamifyResponse: (f) => f, HttpResponseStream: { from: (s, p) => { s.write(JSON.stringify(p)); s.write(Buffer.alloc(8)); return s; } } };
        const m = require(${JSON.stringify(BUNDLE)});
        const handler = m.createRouterHandler(${JSON.stringify(env)}, {
          apiKeyProvider: async () => ${JSON.stringify(KEY)},
          tenants: { dynamoDbClientConfig: ${JSON.stringify(localClientConfig(l.dynamoUrl))} },
        });
        const loaded = performance.now();
        const { PassThrough } = require('node:stream');
        const out = new PassThrough(); let text = ''; out.on('data', (c) => text += c);
        const event = { httpMethod: 'POST', path: '/v1/chat/completions', resource: '/v1/chat/completions', headers: {}, body: ${JSON.stringify(JSON.stringify({ model: 'gpt-5-mini', messages: [] }))},
          isBase64Encoded: false, requestContext: { requestId: 'r', identity: { apiKeyId: ${JSON.stringify(t.lastKey)} } } };
        const write = process.stdout.write.bind(process.stdout); process.stdout.write = () => true;
        handler(event, out, { awsRequestId: 'r', getRemainingTimeInMillis: () => 60000 }).then(() => {
          process.stdout.write = write;
          if (!text.includes('"statusCode":200')) throw new Error('not answered: ' + text.slice(0, 200));
          console.log(JSON.stringify({ loadMs: loaded - t0, firstAnswerMs: performance.now() - t0 }));
        });`;
    };
    const runs = count(15, 2);
    const times: Record<number, { loadMs: number[]; firstAnswerMs: number[] }> = {
      1: { loadMs: [], firstAnswerMs: [] },
      1000: { loadMs: [], firstAnswerMs: [] },
    };
    for (let i = 0; i < runs + 1; i++) {
      for (const n of i % 2 ? [1, 1_000] : [1_000, 1]) {
        // Asynchronously: the dynalite the child reads from runs in this process.
        const stdout = await new Promise<string>((resolve, reject) => {
          execFile(process.execPath, ['-e', probe(n)], { encoding: 'utf8', timeout: 30_000, cwd: process.cwd() }, (err, out, stderr) => {
            if (err) reject(new Error(`tenant cold start (${n}): ${stderr || err.message}`));
            else resolve(out);
          });
        });
        if (i === 0) continue;
        const parsed = JSON.parse(stdout.trim().split('\n').pop()!);
        times[n].loadMs.push(parsed.loadMs);
        times[n].firstAnswerMs.push(parsed.firstAnswerMs);
      }
    }
    const one = median(times[1].firstAnswerMs);
    const thousand = median(times[1000].firstAnswerMs);
    return {
      runs,
      oneTenant: { moduleLoadMs: round(median(times[1].loadMs)), firstAnswerMs: round(one) },
      thousandTenants: { moduleLoadMs: round(median(times[1000].loadMs)), firstAnswerMs: round(thousand) },
      firstAnswerRatio: round(thousand / one, 2),
    };
  } finally {
    await l.close();
  }
}
