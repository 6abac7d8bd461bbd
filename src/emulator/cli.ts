#!/usr/bin/env node
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { CATALOG_USAGE, runCatalogCommand } from './catalog-command';
import { checkLocalSettings, LocalRouterSettings, routerEnvironment } from './config';
import { localGuardrail, missingGuardrailPackages } from './guardrail';
import { BUNDLE_PATH, installLambdaRuntimeShim } from './runtime-shim';
import { createEmulatorServer } from './server';
import { clearServeState, runSpendCommand, SPEND_USAGE, writeServeState } from './spend-command';
import { missingTenantPackages, prepareLocalTenants } from './tenants';
import { MIN_GATEWAY_KEY_LENGTH } from '../contract/env';
import { BUNDLED_CATALOG, CatalogData, parseCatalog } from '../contract/model-catalog';
import { checkBudgetPrices, checkTenantModels, RuleViolation, splitModelList } from '../contract/rules';

const USAGE = `Usage: llm-gateway-router serve [options]

Runs the router's bundled Lambda handler behind a local stand-in for API
Gateway's REST proxy with response streaming.

Options:
  --port N                 port to listen on (default 8787)
  --host H                 address to bind (default 127.0.0.1)
  --region us|eu           upstream region (default us)
  --global-routing         add model_region "global" for providers that accept it (US only)
  --transcript-access      let callers send transcript_id (reads transcripts of the key's account)
  --allowed-models a,b,c   model allow-list (default: every catalog model the region serves)
  --endpoint URL           custom upstream (explicit opt-in; default: the region's gateway)
  --max-body-bytes N       request body limit (default 1048576)
  --upstream-timeout-ms N  upstream timeout (default 120000)
  --timeout-ms N           simulated Lambda timeout (default 300000)
  --egress-proxy URL       reach the gateway through this HTTP forward proxy (CONNECT)
  --catalog FILE           model catalog (from \`catalog fetch\`; default: the bundled one)
  --tenants FILE           tenants file, JSON or YAML (the format of router.addTenantsFromFile;
                           schema: tenants.schema.json); callers send x-api-key: an issued
                           key's name, or an existing key's id
  --dynamodb-endpoint URL  the tenants' DynamoDB (default: an embedded in-memory dynalite)
  --tenant-table NAME      the tenants' table there, created if missing (default llm-gateway-router-tenants)
  --guardrail ID:VERSION   check prompts and answers with this Amazon Bedrock guardrail (ApplyGuardrail)
  --guardrail-region R     the guardrail's region (default: its ARN's, else AWS_REGION; an EU
                           member state's for --region eu)
  --bedrock-endpoint URL   send the checks there instead of the region's Bedrock endpoint
  --guardrail-window N     characters of a streamed answer checked together (default 1000)
  --guardrail-fail-open    let requests through unchecked when a check fails (default: 503)
  --guardrail-input-only   check prompts only, not answers

The gateway key is read from the ASSEMBLYAI_API_KEY environment variable.

${CATALOG_USAGE}

${SPEND_USAGE}`;

/** The flag that sets each prop the shared rules name. */
const FLAG_OF: Record<string, string> = {
  globalRouting: '--global-routing',
  allowedModels: '--allowed-models',
  maxRequestBodySize: '--max-body-bytes',
  timeout: '--timeout-ms',
  upstreamTimeout: '--upstream-timeout-ms',
  egressProxy: '--egress-proxy',
  customEndpoint: '--endpoint',
};

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'catalog') {
    runCatalogCommand(argv.slice(1)).then((code) => process.exit(code), (err: Error) => fail(err.message.split('\n')[0]));
    return;
  }
  if (argv[0] === 'spend') {
    const missing = missingTenantPackages('(any)');
    if (missing) fail(missing.replace('--tenants', 'spend'));
    runSpendCommand(argv.slice(1)).then((code) => process.exit(code), (err: Error) => fail(err.message.split('\n')[0]));
    return;
  }
  const { values, positionals } = parseFlags(argv);
  if (values.help || positionals[0] !== 'serve') {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const region = values.region;
  if (region !== 'us' && region !== 'eu') fail(`--region must be us or eu, got ${region}`);
  const apiKey = process.env.ASSEMBLYAI_API_KEY;
  if (!apiKey) fail('set ASSEMBLYAI_API_KEY to the gateway key');
  if (apiKey.trim().length < MIN_GATEWAY_KEY_LENGTH) {
    fail(`ASSEMBLYAI_API_KEY has ${apiKey.trim().length} character${apiKey.trim().length === 1 ? '' : 's'}: not a gateway key (they have at least ${MIN_GATEWAY_KEY_LENGTH}); set it to the key from your AssemblyAI dashboard`);
  }

  let catalog: CatalogData | undefined;
  try {
    catalog = values.catalog ? parseCatalog(JSON.parse(fs.readFileSync(values.catalog, 'utf8')), values.catalog) : undefined;
  } catch (err) {
    fail(`--catalog ${values.catalog}: ${(err as Error).message.split('\n')[0]}`);
  }
  const timeoutMs = optionalInt(values['timeout-ms'], '--timeout-ms') ?? 300_000;
  const settings = checked({
    region,
    catalog,
    globalRouting: values['global-routing'],
    transcriptAccess: values['transcript-access'],
    // Split and trimmed exactly as the handler splits its environment variable.
    allowedModels: values['allowed-models'] === undefined ? undefined : splitModelList(values['allowed-models']),
    endpoint: values.endpoint,
    maxBodyBytes: optionalInt(values['max-body-bytes'], '--max-body-bytes'),
    upstreamTimeoutMs: optionalInt(values['upstream-timeout-ms'], '--upstream-timeout-ms'),
    egressProxy: values['egress-proxy'],
  }, timeoutMs);
  const dynamoEndpoint = values['dynamodb-endpoint'];
  if (dynamoEndpoint !== undefined && !isHttpUrl(dynamoEndpoint)) {
    fail(`--dynamodb-endpoint must be an http(s) URL such as http://localhost:8000, got ${JSON.stringify(dynamoEndpoint)}`);
  }
  if (values.tenants !== undefined) {
    const missing = missingTenantPackages(dynamoEndpoint);
    if (missing) fail(missing);
  }
  const tenants = values.tenants !== undefined
    ? await prepareLocalTenants(values.tenants, dynamoEndpoint, values['tenant-table']!).catch((err: Error) => fail(`--tenants ${err.message.split('\n')[0]}`))
    : undefined;
  let guardrail: ReturnType<typeof localGuardrail> | undefined;
  if (values.guardrail !== undefined) {
    const missing = missingGuardrailPackages();
    if (missing) fail(missing);
    try {
      guardrail = localGuardrail({
        guardrail: values.guardrail,
        region: values['guardrail-region'],
        bedrockEndpoint: values['bedrock-endpoint'],
        windowChars: optionalInt(values['guardrail-window'], '--guardrail-window'),
        failOpen: values['guardrail-fail-open'],
        inputOnly: values['guardrail-input-only'],
      }, region);
    } catch (err) {
      fail((err as Error).message);
    }
  } else if (values['bedrock-endpoint'] !== undefined || values['guardrail-region'] !== undefined) {
    fail('--bedrock-endpoint and --guardrail-region need --guardrail ID:VERSION');
  }
  const env = routerEnvironment({
    ...settings,
    tenants: tenants && { shardVersions: tenants.shardVersions, table: tenants.table },
    guardrail: guardrail?.spec,
    bedrockEndpoint: guardrail?.bedrockEndpoint,
  });
  for (const t of tenants?.specs ?? []) {
    // As synth checks addTenant: a subset of the router's list, explained with the router's catalog.
    try {
      checkTenantModels(t.m, splitModelList(env.LLM_GATEWAY_ALLOWED_MODELS), region, catalog ?? BUNDLED_CATALOG);
    } catch (err) {
      fail(`--tenants ${values.tenants}: tenant ${t.id}: ${(err as Error).message}`);
    }
  }
  const illustrative = checkBudgetPrices((tenants?.specs ?? []).some((t) => t.usd !== undefined), catalog ?? BUNDLED_CATALOG);
  if (illustrative) console.error(`llm-gateway-router: warning: ${illustrative.message}`);

  installLambdaRuntimeShim();
  // The same bundle that is deployed to Lambda.
  if (!fs.existsSync(BUNDLE_PATH)) fail(`the handler bundle ${BUNDLE_PATH} is missing: run \`npx projen bundle\` (or \`npm run build\`) first`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bundle = require(BUNDLE_PATH);
  const handler = bundle.createRouterHandler(env, {
    apiKeyProvider: async () => apiKey,
    tenants: tenants && { dynamoDbClientConfig: tenants.dynamoDbClientConfig },
    guardrails: guardrail?.credentials && { bedrockClientConfig: { credentials: guardrail.credentials } },
  });
  const server = createEmulatorServer({ handler, timeoutMs, apiKeyIds: tenants?.apiKeyIds, transcriptAccess: settings.transcriptAccess });
  const port = portOf(values.port);
  server.once('error', (err: NodeJS.ErrnoException) => {
    fail(err.code === 'EADDRINUSE' ? `cannot listen on ${values.host}:${port}: the port is in use (choose another with --port)` : `cannot listen on ${values.host}:${port}: ${err.message}`);
  });
  server.listen(port, values.host, () => {
    // The bound port (which differs from --port 0).
    const bound = (server.address() as { port: number }).port;
    console.log(`llm-gateway-router (${region}${env.LLM_GATEWAY_GLOBAL_ROUTING === 'true' ? ', global routing' : ''}) on http://${values.host}:${bound}/v1 -> ${env.LLM_GATEWAY_ENDPOINT}`);
    if (tenants) {
      console.log(`tenants: ${tenants.specs.map((t) => t.id).join(', ')}; ${tenants.storeDescription}`);
      // `llm-gateway-router spend` without flags reads this emulator's ledger.
      writeServeState({ pid: process.pid, endpoint: String(tenants.dynamoDbClientConfig.endpoint), table: tenants.table });
    }
    if (guardrail) {
      const g = guardrail.spec;
      console.log(`guardrail: ${g.id} version ${g.v} in ${g.r}${guardrail.bedrockEndpoint ? ` via ${guardrail.bedrockEndpoint}` : ''}; `
        + `${g.out ? `prompts and answers (stream windows of ${g.win} characters)` : 'prompts only'}; fails ${g.open ? 'open' : 'closed'}`);
    }
    console.log(`allowed models: ${env.LLM_GATEWAY_ALLOWED_MODELS}`);
  });
  const stop = () => {
    clearServeState(process.pid);
    server.close(() => void (tenants?.close() ?? Promise.resolve()).then(() => process.exit(0)));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The flags, or a one-line error (not parseArgs' stack trace) for an unknown or malformed one. */
function parseFlags(argv: string[]) {
  try {
    return parseFlagsOrThrow(argv);
  } catch (err) {
    fail(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
}

/** The settings, checked with synth's rules: refused with synth's message, naming the flag. */
function checked(settings: LocalRouterSettings, timeoutMs: number): LocalRouterSettings {
  try {
    const result = checkLocalSettings(settings, timeoutMs);
    for (const warning of result.warnings) console.error(`llm-gateway-router: warning: ${warning.message}`);
    return result.settings;
  } catch (err) {
    if (err instanceof RuleViolation) fail(`${err.message} [${FLAG_OF[err.prop] ?? err.prop}]`);
    throw err;
  }
}

function parseFlagsOrThrow(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'port': { type: 'string', default: '8787' },
      'host': { type: 'string', default: '127.0.0.1' },
      'region': { type: 'string', default: 'us' },
      'global-routing': { type: 'boolean', default: false },
      'transcript-access': { type: 'boolean', default: false },
      'allowed-models': { type: 'string' },
      'endpoint': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'upstream-timeout-ms': { type: 'string' },
      'timeout-ms': { type: 'string', default: '300000' },
      'egress-proxy': { type: 'string' },
      'catalog': { type: 'string' },
      'tenants': { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      'tenant-table': { type: 'string', default: 'llm-gateway-router-tenants' },
      'guardrail': { type: 'string' },
      'guardrail-region': { type: 'string' },
      'bedrock-endpoint': { type: 'string' },
      'guardrail-window': { type: 'string' },
      'guardrail-fail-open': { type: 'boolean', default: false },
      'guardrail-input-only': { type: 'boolean', default: false },
      'help': { type: 'boolean', default: false },
    },
  });
}

/** `--port`: 0 (any free port) to 65535. */
function portOf(raw: string | undefined): number {
  if (raw === undefined) return 8787;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535) fail(`--port must be a whole number from 0 to 65535, got ${raw}`);
  return n;
}

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function optionalInt(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) fail(`${flag} must be a positive integer, got ${raw}`);
  return n;
}

function fail(message: string): never {
  console.error(`llm-gateway-router: ${message}`);
  process.exit(2);
}

// Anything not foreseen above still ends in one line, never a stack trace.
main(process.argv.slice(2)).catch((err: unknown) => fail(oneLine(err)));

function oneLine(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err);
  return typeof e?.name === 'string' && e.name !== 'Error' ? `${e.name}: ${message}` : message;
}
