import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { parse as parseYaml } from 'yaml';
import { errorOf, newStack, routerIn, shardsOf } from './helpers';
import { RouterAuthorization, TenantIdentity } from '../../src';
import { parseTenantsFile } from '../../src/contract/tenants-file';
import { readTenantsFile as readForEmulator } from '../../src/emulator/tenants';

/*
 * One tenants file for the construct (addTenantsFromFile) and the
 * emulator (serve --tenants), JSON or YAML, every option and identity kind,
 * its JSON Schema shipped in the package and in agreement with the reader.
 */

const ROOT = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'tenants.yaml');
const MODELS = ['claude-sonnet-4-6', 'claude-haiku-4-5-20251001', 'gpt-5-mini'];
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'tenants.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true }).compile(schema);

function write(name: string, text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tenants-file-')), name);
  fs.writeFileSync(file, text);
  return file;
}

describe('router.addTenantsFromFile', () => {
  test('the example YAML file gives the same tenants as the same addTenant calls', () => {
    const fromFile = newStack();
    const a = routerIn(fromFile.stack, fromFile.secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    const tenants = a.addTenantsFromFile(EXAMPLE);
    expect(tenants.map((t) => t.tenantId)).toEqual(['search', 'ml-platform', 'everyone-else']);

    const byHand = newStack();
    const b = routerIn(byHand.stack, byHand.secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    b.addTenant('search', {
      identities: [TenantIdentity.newApiKey('search-2026-11'), TenantIdentity.newApiKey('search-2026-12')],
      allowedModels: ['claude-haiku-4-5-20251001'],
      monthlyBudgetUsd: 200,
      dailyTokenLimit: 5_000_000,
      tokensPerMinute: 200_000,
      requestsPerMinutePerModel: 10,
    });
    b.addTenant('ml-platform', { identities: [TenantIdentity.newApiKey('ml-platform')], monthlyBudgetUsd: 500, globalRouting: true });
    b.addTenant('everyone-else', { defaultTenant: true, allowedModels: ['gpt-5-mini'], monthlyBudgetUsd: 20, requestsPerMinutePerModel: 2 });

    expect(shardsOf(Template.fromStack(fromFile.stack))).toEqual(shardsOf(Template.fromStack(byHand.stack)));
  });

  test('JSON reads like YAML, and every identity kind maps to its TenantIdentity factory', () => {
    const iamFile = write('iam.json', JSON.stringify({
      version: 1,
      tenants: [
        { id: 'role-team', identities: [{ iamPrincipal: 'arn:aws:iam::123456789012:role/path/search-app' }] },
        { id: 'user-team', identities: [{ iamPrincipal: 'arn:aws:iam::123456789012:user/fin-bot' }] },
      ],
    }));
    const { stack, secret } = newStack();
    routerIn(stack, secret, 'Iam', { allowedModels: MODELS, authorization: RouterAuthorization.iam() }).addTenantsFromFile(iamFile);
    const pool = new cognito.UserPool(stack, 'Pool');
    const cognitoFile = write('cognito.yml', 'version: 1\ntenants:\n  - id: g\n    identities: [{ cognitoGroup: search }]\n  - id: c\n    identities: [{ cognitoClaim: { claim: "custom:team", value: support } }]\n');
    routerIn(stack, secret, 'Cognito', { allowedModels: MODELS, authorization: RouterAuthorization.cognito([pool]) }).addTenantsFromFile(cognitoFile);
    const customFile = write('custom.yaml', 'version: 1\ntenants: [{ id: p, identities: [{ authorizerPrincipal: partner-7 }] }]\n');
    const authorizer = { authorizerId: 'auth', authorizationType: apigw.AuthorizationType.CUSTOM } as unknown as apigw.IAuthorizer;
    routerIn(stack, secret, 'Custom', { allowedModels: MODELS, authorization: RouterAuthorization.custom(authorizer) }).addTenantsFromFile(customFile);
    const keyFile = write('keys.yaml', 'version: 1\ntenants: [{ id: k, identities: [{ apiKeyId: abc123def4 }] }]\n');
    routerIn(stack, secret, 'Keys', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() }).addTenantsFromFile(keyFile);

    const docs = shardsOf(Template.fromStack(stack)).map((s) => s.doc.t);
    expect(docs).toEqual(expect.arrayContaining([
      [{ id: 'role-team', ids: [{ k: 'role', v: 'arn:aws:iam::123456789012:role/path/search-app' }] }, { id: 'user-team', ids: [{ k: 'user', v: 'arn:aws:iam::123456789012:user/fin-bot' }] }],
      [{ id: 'g', ids: [{ k: 'claim', n: 'cognito:groups', v: 'search' }] }, { id: 'c', ids: [{ k: 'claim', n: 'custom:team', v: 'support' }] }],
      [{ id: 'p', ids: [{ k: 'principal', v: 'partner-7' }] }],
      [{ id: 'k', ids: [{ k: 'key', v: 'abc123def4' }] }],
    ]));
  });

  test.each<[string, string, string]>([
    ['a number as text', 'version: 1\ntenants:\n  - id: a\n    identities: [{ apiKey: k }]\n    monthlyBudgetUsd: "200"\n',
      'tenants[0] (a): monthlyBudgetUsd: "200" is not a positive number'],
    ['a field that does not exist', 'version: 1\ntenants:\n  - id: a\n    identities: [{ apiKey: k }]\n    monthlyBudget: 200\n',
      'tenants[0] (a): monthlyBudget: is not a tenant field (id, identities, allowedModels, monthlyBudgetUsd, dailyTokenLimit, tokensPerMinute, requestsPerMinutePerModel, transcriptAccess, globalRouting, default)'],
    ['an identity of two kinds', 'version: 1\ntenants:\n  - id: a\n    identities: [{ apiKey: k, apiKeyId: x }]\n',
      'tenants[0] (a): identities[0]: must have exactly one of apiKey, apiKeyId, iamPrincipal, cognitoGroup, cognitoClaim, authorizerPrincipal, got ["apiKey","apiKeyId"]'],
    ['no identity', 'version: 1\ntenants:\n  - id: a\n', 'tenants[0] (a): identities: is empty: a tenant needs at least one identity unless it is the default tenant'],
    ['a repeated id', 'version: 1\ntenants:\n  - { id: a, identities: [{ apiKey: k }] }\n  - { id: a, identities: [{ apiKey: j }] }\n', 'tenants[1] (a): id: is also the id of tenants[0]'],
    ['a fractional limit', 'version: 1\ntenants:\n  - { id: a, identities: [{ apiKey: k }], dailyTokenLimit: 10.5 }\n', 'tenants[0] (a): dailyTokenLimit: 10.5 is not a whole number'],
    ['no version', 'tenants: []\n', 'is not a version 1 tenants file: expected {"version": 1, "tenants": [ ... ]} (see tenants.schema.json)'],
  ])('%s: an error naming the file, the tenant and the field', (_name, text, problem) => {
    const file = write('tenants.yaml', text);
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    expect(errorOf(() => router.addTenantsFromFile(file))).toBe(`${file}: ${problem}`);
  });

  test('what the router refuses (a model off its list) names the file and the tenant too', () => {
    const file = write('tenants.yaml', 'version: 1\ntenants:\n  - { id: ok, identities: [{ apiKey: a }] }\n  - { id: bad, identities: [{ apiKey: b }], allowedModels: [gpt-5.5] }\n');
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    expect(errorOf(() => router.addTenantsFromFile(file))).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tenants\\[1\\] \\(bad\\): Platform/Router/Tenant-bad: allowedModels: "gpt-5.5" is not in the router's allowedModels`));
  });

  test('an unreadable file says which and how', () => {
    const { stack, secret } = newStack();
    const router = routerIn(stack, secret, 'Router', { allowedModels: MODELS, authorization: RouterAuthorization.apiKey() });
    expect(errorOf(() => router.addTenantsFromFile('/nonexistent/tenants.yaml'))).toMatch(/^addTenantsFromFile: cannot read \/nonexistent\/tenants\.yaml: ENOENT/);
  });
});

describe('the emulator reads the same file to the same tenants', () => {
  test('every option and non-key identity as the construct writes it; keys by the ids API Gateway would give them locally', () => {
    const { specs, apiKeyIds } = readForEmulator(EXAMPLE);
    expect(specs).toEqual([
      {
        id: 'search',
        ids: [{ k: 'key', v: 'local-key-search-search-2026-11' }, { k: 'key', v: 'local-key-search-search-2026-12' }],
        m: ['claude-haiku-4-5-20251001'],
        usd: 200,
        tok: 5_000_000,
        tpm: 200_000,
        rpm: 10,
        tx: undefined,
        gr: undefined,
        def: undefined,
      },
      { id: 'ml-platform', ids: [{ k: 'key', v: 'local-key-ml-platform-ml-platform' }], m: undefined, usd: 500, tok: undefined, tpm: undefined, rpm: undefined, tx: undefined, gr: true, def: undefined },
      { id: 'everyone-else', ids: undefined, m: ['gpt-5-mini'], usd: 20, tok: undefined, tpm: undefined, rpm: 2, tx: undefined, gr: undefined, def: true },
    ]);
    expect([...apiKeyIds]).toEqual([
      ['search-2026-11', 'local-key-search-search-2026-11'], ['search-2026-12', 'local-key-search-search-2026-12'], ['ml-platform', 'local-key-ml-platform-ml-platform'],
    ]);
  });
});

describe('tenants.schema.json (shipped in the package) agrees with the reader', () => {
  const yaml = (text: string): unknown => parseYaml(text);

  test('the example file is valid', () => {
    const doc = yaml(fs.readFileSync(EXAMPLE, 'utf8'));
    expect([validate(doc), validate.errors]).toEqual([true, null]);
  });

  test.each<[string, unknown]>([
    ['a tenant without identities that is not the default', { version: 1, tenants: [{ id: 'a' }] }],
    ['an empty identity list', { version: 1, tenants: [{ id: 'a', identities: [] }] }],
    ['a negative budget', { version: 1, tenants: [{ id: 'a', identities: [{ apiKey: 'k' }], monthlyBudgetUsd: -1 }] }],
    ['a budget as text', { version: 1, tenants: [{ id: 'a', identities: [{ apiKey: 'k' }], monthlyBudgetUsd: '5' }] }],
    ['an unknown field', { version: 1, tenants: [{ id: 'a', identities: [{ apiKey: 'k' }], extra: true }] }],
    ['an identity of two kinds', { version: 1, tenants: [{ id: 'a', identities: [{ apiKey: 'k', cognitoGroup: 'g' }] }] }],
    ['an id with a space', { version: 1, tenants: [{ id: 'a b', identities: [{ apiKey: 'k' }] }] }],
    ['an IAM principal that is not a role or user ARN', { version: 1, tenants: [{ id: 'a', identities: [{ iamPrincipal: 'arn:aws:iam::123456789012:group/x' }] }] }],
    ['a fractional token limit', { version: 1, tenants: [{ id: 'a', identities: [{ apiKey: 'k' }], tokensPerMinute: 1.5 }] }],
    ['version 2', { version: 2, tenants: [] }],
  ])('%s: refused by both', (_name, doc) => {
    expect(validate(doc)).toBe(false);
    expect(() => parseTenantsFile(JSON.stringify(doc), 't.json')).toThrow();
  });

  test.each<[string, unknown]>([
    ['the default tenant without identities', { version: 1, tenants: [{ id: 'd', default: true, monthlyBudgetUsd: 1 }] }],
    ['every identity kind', {
      version: 1,
      tenants: [{
        id: 'a',
        identities: [
          { apiKey: 'k' }, { apiKeyId: 'id1' }, { iamPrincipal: 'arn:aws:iam::123456789012:role/r' }, { cognitoGroup: 'g' },
          { cognitoClaim: { claim: 'cognito:username', value: 'u' } }, { authorizerPrincipal: 'p' },
        ],
      }],
    }],
  ])('%s: accepted by both', (_name, doc) => {
    expect([validate(doc), validate.errors]).toEqual([true, null]);
    expect(() => parseTenantsFile(JSON.stringify(doc), 't.json')).not.toThrow();
  });

  test('the schema ships in the package', () => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    expect(packed.files.map((f: { path: string }) => f.path)).toContain('tenants.schema.json');
  });
});
