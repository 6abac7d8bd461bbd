import * as fs from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GatewayRegion, LlmGatewayRouter } from '../../src';
import * as catalog from '../../src/contract/catalog';
import { DIMENSION, METRIC } from '../../src/contract/metrics-schema';
import * as modelCatalog from '../../src/contract/model-catalog';
import { BUNDLE_PATH } from '../../src/emulator/runtime-shim';
import { loadConfig } from '../../src/handler/config';
import { decide } from '../../src/handler/policy';

/**
 * The construct validates with the catalog at synth time and the handler
 * enforces it at request time. These tests prove both read the same data:
 * changing an entry changes both sides, and the deployed bundle carries it.
 */
/** The bundled file's raw data, read without the catalog code under test. */
const RAW: { models: Array<{ id: string; regions: string[]; retired?: boolean }> } = JSON.parse(fs.readFileSync(`${__dirname}/../../src/contract/models.json`, 'utf8'));

describe('one catalog for synth time and request time', () => {
  function synthEnv(region: GatewayRegion, allowedModels?: string[]) {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    new LlmGatewayRouter(stack, 'R', { apiKeySecret: new secretsmanager.Secret(stack, 'K'), region, allowedModels });
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0] as any;
    return fn.Properties.Environment.Variables as Record<string, string>;
  }

  test('the environment the construct synthesizes is accepted by the handler, and the handler allows exactly that list', () => {
    for (const region of [GatewayRegion.US, GatewayRegion.EU]) {
      const env = synthEnv(region);
      const config = loadConfig({ ...env, LLM_GATEWAY_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:k' });
      const served = RAW.models.filter((m) => !m.retired && m.regions.includes(region)).map((m) => m.id);
      expect(config.allowedModels).toEqual(served);
      for (const id of served) expect(decide(JSON.stringify({ model: id }), config).kind).toBe('forward');
    }
  });

  test('a model the catalog says EU does not serve is refused at synth time and at request time', () => {
    const notInEu = RAW.models.filter((m) => !m.retired && !m.regions.includes('eu')).map((m) => m.id);
    expect(notInEu.length).toBeGreaterThan(0);
    for (const id of notInEu) {
      expect(() => synthEnv(GatewayRegion.EU, [id])).toThrow(/does not serve/);
      // Even if an operator hand-edited the allow-list, the handler refuses it in the EU.
      const config = loadConfig({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: id });
      expect(decide(JSON.stringify({ model: id }), config)).toMatchObject({ kind: 'reject', status: 403, reason: 'residency' });
    }
  });

  test('changing the catalog changes both sides: neither keeps a copy of its own', () => {
    // Load the construct and the handler against a bundled catalog in which the
    // EU endpoint no longer lists gemini-2.5-flash: both must follow it.
    jest.isolateModules(() => {
      jest.doMock('../../src/contract/model-catalog', () => {
        const real = jest.requireActual('../../src/contract/model-catalog');
        const data: modelCatalog.CatalogData = real.BUNDLED_CATALOG;
        return {
          ...real,
          BUNDLED_CATALOG: { ...data, models: data.models.map((m) => (m.id === 'gemini-2.5-flash' ? { ...m, regions: ['us'] } : m)) },
        };
      });
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { LlmGatewayRouter: MockedRouter, GatewayRegion: MockedRegion } = require('../../src');
      const { loadConfig: mockedLoad } = require('../../src/handler/config');
      const { decide: mockedDecide } = require('../../src/handler/policy');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
      expect(() => new MockedRouter(stack, 'R', { apiKeySecret: new secretsmanager.Secret(stack, 'K'), region: MockedRegion.EU, allowedModels: ['gemini-2.5-flash'] }))
        .toThrow(/"gemini-2.5-flash" is a Google Gemini model, and the EU endpoint does not serve it/);
      const config = mockedLoad({ LLM_GATEWAY_REGION: 'eu', LLM_GATEWAY_ALLOWED_MODELS: 'gemini-2.5-flash' });
      expect(mockedDecide(JSON.stringify({ model: 'gemini-2.5-flash' }), config)).toMatchObject({ kind: 'reject', reason: 'residency' });
    });
    jest.dontMock('../../src/contract/model-catalog');
  });

  test('the catalog is frozen, so it cannot drift at run time', () => {
    const bundled = modelCatalog.BUNDLED_CATALOG;
    for (const model of bundled.models) {
      expect(Object.isFrozen(model)).toBe(true);
      expect(Object.isFrozen(model.regions)).toBe(true);
      expect(Object.isFrozen(model.prices)).toBe(true);
    }
    for (const provider of Object.values(bundled.providers)) expect(Object.isFrozen(provider.prefixes)).toBe(true);
    expect(Object.isFrozen(bundled.models)).toBe(true);
    expect(Object.isFrozen(bundled)).toBe(true);
  });

  test('the deployed bundle inlines the same catalog (every model id, endpoint and metric name)', () => {
    const bundle = fs.readFileSync(BUNDLE_PATH, 'utf8');
    for (const { id } of RAW.models) expect(bundle).toContain(`"${id}"`);
    for (const url of Object.values(catalog.GATEWAY_ENDPOINTS)) expect(bundle).toContain(url);
    for (const name of [...Object.values(METRIC), ...Object.values(DIMENSION)]) expect(bundle).toContain(`"${name}"`);
  });
});
