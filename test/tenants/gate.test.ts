import { AddressInfo, createServer, Socket } from 'node:net';
import * as sdk from '@aws-sdk/client-dynamodb';
import { ENV } from '../../src/contract/env';
import { routerEnvironment } from '../../src/emulator/config';
import { localClientConfig } from '../../src/emulator/tenant-store';
import { writeLocalTenants } from '../../src/emulator/tenants';
import { loadConfig } from '../../src/handler/config';
import { storeErrorName, TenantGate } from '../../src/handler/tenants/gate';
import { LocalDynamo } from '../support/dynamo';
import { DynamoThrottleProxy } from '../support/dynamo-throttle-proxy';

/*
 * The tenant gate's own parts: its configuration from the environment, when
 * it reads the tenants, and what it logs of a store failure.
 */

const env = routerEnvironment({ region: 'us', endpoint: 'http://127.0.0.1:9', allowedModels: ['gpt-5-nano'] });
const config = loadConfig(env);

describe('storeErrorName: the error\'s name, code and status, never its message', () => {
  test.each([
    [new Error('a message naming arn:aws:iam::111111111111:role/x'), 'Error'],
    [{ name: '', message: '' }, 'Error'],
    [{ name: 42 }, 'Error'],
    [null, 'Error'],
    ['a string', 'Error'],
    [{ name: 'AccessDeniedException', message: 'User arn:aws:sts::1:assumed-role/r/s is not authorized', $metadata: { httpStatusCode: 400 } }, 'AccessDeniedException (HTTP 400)'],
    [{ name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'Error [ECONNREFUSED]'],
    [{ name: 'TimeoutError', code: 'TimeoutError', message: 'ETIMEDOUT' }, 'TimeoutError'],
    [{ name: 'NetworkingError', code: 'ETIMEDOUT', message: 'EHOSTUNREACH' }, 'NetworkingError [ETIMEDOUT]'],
    [{ name: 'X', message: 7, $metadata: { httpStatusCode: '500' } }, 'X'],
    [{ name: 'Y', $metadata: {} }, 'Y'],
    [{ name: 'N'.repeat(200) }, 'N'.repeat(128)],
  ])('%j', (err, expected) => {
    expect(storeErrorName(err)).toBe(expected);
  });
});

describe('TenantGate.fromEnv', () => {
  test('no tenants, no gate (and no DynamoDB client)', () => {
    expect(TenantGate.fromEnv(env, config)).toBeUndefined();
  });

  test.each(['abc', 'zzzz', 'abcd!', '!abcd', 'abcd,zz'])('shard versions %j are refused', (versions) => {
    expect(() => TenantGate.fromEnv({ ...env, [ENV.TENANT_SHARDS]: versions, [ENV.TENANT_TABLE]: 't' }, config))
      .toThrow(`${ENV.TENANT_SHARDS} must be the shards' versions, comma-separated, got ${JSON.stringify(versions)}`);
  });

  test('shard versions need the table', () => {
    expect(() => TenantGate.fromEnv({ ...env, [ENV.TENANT_SHARDS]: 'abcd' }, config))
      .toThrow(`${ENV.TENANT_TABLE} must name the tenant table when ${ENV.TENANT_SHARDS} is set`);
  });
});

describe('reading the tenants', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
  });
  afterAll(() => dynamo.close());

  test('at once when the gate is made (the execution environment\'s init), and only once while current', async () => {
    const table = await dynamo.table();
    const versions = await writeLocalTenants(dynamo.client, sdk, table, [{ id: 'a', ids: [{ k: 'key', v: 'ka' }] }]);
    const proxy = await DynamoThrottleProxy.start(dynamo.endpoint, () => Infinity);
    try {
      const tenantEnv = { ...env, [ENV.TENANT_SHARDS]: versions, [ENV.TENANT_TABLE]: table };
      const gate = TenantGate.fromEnv(tenantEnv, config, { dynamoDbClientConfig: localClientConfig(proxy.endpoint) })!;
      expect(() => gate.directory).toThrow('the tenants are not loaded yet: await ready() first');
      // Nobody asked yet: the read is under way all the same.
      for (let i = 0; i < 50 && proxy.batchGets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(proxy.batchGets).toHaveLength(1);
      const first = await gate.ready();
      expect(first.byId.get('a')?.id).toBe('a');
      expect(await gate.ready()).toBe(first);
      expect(await gate.ready()).toBe(first);
      expect(proxy.batchGets).toHaveLength(1);
      expect(gate.directory).toBe(first);
    } finally {
      await proxy.close();
    }
  });

  test('a store that takes the connection and never answers fails the read at the request timeout, not at the function\'s', async () => {
    // Accepts, reads, never writes: a DynamoDB endpoint behind a broken route or proxy.
    const sockets = new Set<Socket>();
    const blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
      const tenantEnv = { ...env, [ENV.TENANT_SHARDS]: 'abcd', [ENV.TENANT_TABLE]: 'tenants' };
      // One attempt: the gate's request timeout (5 s) alone bounds the read.
      const gate = TenantGate.fromEnv(tenantEnv, config, { dynamoDbClientConfig: { ...localClientConfig(endpoint), maxAttempts: 1 } })!;
      const failure = await gate.ready().then(() => undefined, (err: unknown) => err);
      expect(storeErrorName(failure)).toBe('TimeoutError [ETIMEDOUT]');
      expect(sockets.size).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  }, 15_000);
});
