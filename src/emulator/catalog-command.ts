import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { serializeCatalog } from '../contract/build';
import { fetchCatalog } from '../contract/fetch';
import { BUNDLED_CATALOG, CatalogData, parseCatalog } from '../contract/model-catalog';

export const CATALOG_USAGE = `Usage: llm-gateway-router catalog fetch [options]

Reads GET /v1/models from the gateway's US and EU endpoints (no key needed),
merges them into a model catalog and prints it, or writes it with --out.
Pass the file to a router with catalog: GatewayCatalog.fromFile(FILE), or to
the emulator with --catalog FILE.

Options:
  --out FILE               write the catalog to FILE instead of stdout
  --previous FILE          the catalog being replaced: models it lists that
                           neither endpoint lists any more are kept as retired
                           (default: --out FILE if it exists, else the bundled catalog)
  --us-endpoint URL        US base URL (default https://llm-gateway.assemblyai.com)
  --eu-endpoint URL        EU base URL (default https://llm-gateway.eu.assemblyai.com)
  --allow-unpriced         write models whose price cannot be read (default: the
                           fetch fails and names them, with the price fields seen)`;

/** Runs `catalog ...`; resolves to the process exit code. */
export async function runCatalogCommand(argv: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'out': { type: 'string' },
      'previous': { type: 'string' },
      'us-endpoint': { type: 'string' },
      'eu-endpoint': { type: 'string' },
      'allow-unpriced': { type: 'boolean', default: false },
      'help': { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals[0] !== 'fetch') {
    console.log(CATALOG_USAGE);
    return values.help ? 0 : 2;
  }
  const previousFile = values.previous ?? (values.out && fs.existsSync(values.out) ? values.out : undefined);
  const previous: CatalogData = previousFile ? parseCatalog(JSON.parse(fs.readFileSync(previousFile, 'utf8')), previousFile) : BUNDLED_CATALOG;
  const catalog = await fetchCatalog({ usEndpoint: values['us-endpoint'], euEndpoint: values['eu-endpoint'], previous, allowUnpriced: values['allow-unpriced'] });
  const text = serializeCatalog(catalog);
  if (values.out) {
    fs.writeFileSync(values.out, text);
    const live = catalog.models.filter((m) => !m.retired);
    console.error(`wrote ${values.out}: ${live.length} live models (US ${live.filter((m) => m.regions.includes('us')).length}, EU ${live.filter((m) => m.regions.includes('eu')).length}), ${catalog.models.length - live.length} retired`);
  } else {
    out(text);
  }
  return 0;
}
