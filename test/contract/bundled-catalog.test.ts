import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildCatalog, serializeCatalog } from '../../src/contract/build';
import { parseCatalog } from '../../src/contract/model-catalog';

const dir = path.join(__dirname, '..', '..', 'src', 'contract');
const text = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');

/**
 * The bundled models.json is buildCatalog (the code behind `catalog fetch`)
 * applied to its seed listings, byte for byte: an edit to either alone fails here.
 */
describe('the bundled catalog', () => {
  const bundledText = text('models.json');
  const bundled = parseCatalog(JSON.parse(bundledText), 'models.json');
  const rebuild = (us: unknown) => serializeCatalog(buildCatalog({
    us,
    eu: JSON.parse(text('seed/models.documented-shape.eu.json')),
    previous: bundled,
    source: bundled.source,
    generatedAt: bundled.generatedAt,
    pricesNote: bundled.pricesNote,
  }));

  test('is exactly what catalog fetch\'s merge makes of its seed listings (run `npx projen catalog:bundled` after editing them)', () => {
    expect(rebuild(JSON.parse(text('seed/models.documented-shape.us.json')))).toBe(bundledText);
  });

  test('a seed edit changes the result, so the comparison above has teeth', () => {
    const us = JSON.parse(text('seed/models.documented-shape.us.json'));
    us.data[0].pricing.us.input = '0.0000099';
    expect(rebuild(us)).not.toBe(bundledText);
  });

  test('says where it came from, and that its prices are illustrative', () => {
    const raw = JSON.parse(bundledText);
    expect(raw.source).toMatch(/documented shape of GET \/v1\/models/);
    expect(raw.source).toMatch(/not read from the live gateway/);
    expect(raw.pricesNote).toMatch(/Illustrative until refreshed with `llm-gateway-router catalog fetch`/);
  });

  test('seeds what the facts say: kimi-k2.5 retired; claude-opus-4-7 global, gemini-2.5-flash not; gpt-5 streamed upstream', () => {
    const byId = new Map(JSON.parse(bundledText).models.map((m: any) => [m.id, m]));
    expect(byId.get('kimi-k2.5')).toMatchObject({ retired: true });
    expect(byId.get('claude-opus-4-7')).toMatchObject({ global: true, regions: ['us', 'eu'] });
    expect(byId.get('gemini-2.5-flash')).toMatchObject({ global: false, regions: ['us', 'eu'] });
    expect(byId.get('gpt-5')).toMatchObject({ stream: true, regions: ['us'] });
  });
});
