import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { serveModels } from './fixtures/serve-fixture';
import { fetchCatalog } from '../../src/contract/fetch';
import { parseCatalog } from '../../src/contract/model-catalog';
import { runCatalogCommand } from '../../src/emulator/catalog-command';

const fixture = (name: string) => path.join(__dirname, 'fixtures', name);
const read = (name: string) => JSON.parse(fs.readFileSync(fixture(name), 'utf8'));
/** Written by hand from the fixtures: the catalog they describe. */
const EXPECTED = read('catalog.expected.json');

describe('llm-gateway-router catalog fetch', () => {
  let us: Awaited<ReturnType<typeof serveModels>>;
  let eu: Awaited<ReturnType<typeof serveModels>>;
  beforeAll(async () => {
    us = await serveModels('models.documented-shape.us.json');
    eu = await serveModels('models.documented-shape.eu.json');
  });
  afterAll(async () => {
    await us.close();
    await eu.close();
  });

  test('reads GET /v1/models from both endpoints, without a key, and builds the catalog the fixtures describe', async () => {
    const previous = parseCatalog(read('catalog.previous.json'), 'previous');
    const catalog = await fetchCatalog({ usEndpoint: us.url, euEndpoint: eu.url, previous, now: new Date('2026-10-20T12:00:00Z') });
    expect(catalog.models).toEqual(EXPECTED.models);
    expect(catalog.providers).toEqual(EXPECTED.providers);
    expect(catalog.generatedAt).toBe('2026-10-20T12:00:00.000Z');
    expect(catalog.source).toContain(`${us.url}/v1/models`);
    expect(catalog.source).toContain(`${eu.url}/v1/models`);
    for (const server of [us, eu]) {
      expect(server.requests.at(-1)!.url).toBe('/v1/models');
      expect(server.requests.at(-1)!.headers.authorization).toBeUndefined();
    }
  });

  test('the command writes the same catalog to --out, and a router can load the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'catalog-'));
    const out = path.join(dir, 'gateway-catalog.json');
    const code = await runCatalogCommand(['fetch', '--us-endpoint', us.url, '--eu-endpoint', eu.url, '--previous', fixture('catalog.previous.json'), '--out', out]);
    expect(code).toBe(0);
    const written = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(written.models).toEqual(EXPECTED.models);
    expect(written.providers).toEqual(EXPECTED.providers);
    expect(() => parseCatalog(written, out)).not.toThrow();
  });

  test('without --out it prints the catalog', async () => {
    let printed = '';
    await runCatalogCommand(['fetch', '--us-endpoint', us.url, '--eu-endpoint', eu.url, '--previous', fixture('catalog.previous.json')], (t) => (printed += t));
    expect(JSON.parse(printed).models).toEqual(EXPECTED.models);
  });

  test('an endpoint that fails makes the command fail, naming the URL and the status', async () => {
    const down = await serveModels('models.documented-shape.eu.json', 503);
    try {
      await expect(fetchCatalog({ usEndpoint: us.url, euEndpoint: down.url })).rejects.toThrow(`GET ${down.url}/v1/models answered HTTP 503`);
    } finally {
      await down.close();
    }
  });
});
