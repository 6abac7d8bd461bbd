/*
 * Rebuilds src/contract/models.json from the seed listings in
 * src/contract/seed/ with the same code `llm-gateway-router catalog fetch`
 * uses (buildCatalog), keeping the file's own header and its retired models.
 * test/contract/bundled-catalog.test.ts fails when the two differ.
 *
 *   npx projen catalog:bundled
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildCatalog, serializeCatalog } from '../../src/contract/build';
import { parseCatalog } from '../../src/contract/model-catalog';

const dir = path.join(__dirname, '..', '..', 'src', 'contract');
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
const previous = parseCatalog(read('models.json'), 'src/contract/models.json');
const catalog = buildCatalog({
  us: read('seed/models.documented-shape.us.json'),
  eu: read('seed/models.documented-shape.eu.json'),
  previous,
  source: process.env.CATALOG_SOURCE ?? previous.source,
  generatedAt: process.env.CATALOG_GENERATED_AT ?? previous.generatedAt,
  pricesNote: previous.pricesNote,
});
fs.writeFileSync(path.join(dir, 'models.json'), serializeCatalog(catalog));
console.log(`src/contract/models.json: ${catalog.models.length} models (${catalog.models.filter((m) => m.retired).length} retired)`);
