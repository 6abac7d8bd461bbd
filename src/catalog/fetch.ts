import { buildCatalog } from './build';
import { GATEWAY_ENDPOINTS, MODELS_PATH, RegionCode } from './catalog';
import { CatalogData } from './model-catalog';

/*
 * `llm-gateway-router catalog fetch`: reads `GET /v1/models` from the US and
 * EU endpoints (no key needed) and merges them with buildCatalog, the code
 * that also builds the bundled catalog from its seed listings.
 */

export interface FetchCatalogOptions {
  /** @default the US gateway endpoint */
  readonly usEndpoint?: string;
  /** @default the EU gateway endpoint */
  readonly euEndpoint?: string;
  /** The catalog being replaced (provider names, retired models). */
  readonly previous?: CatalogData;
  /** @default 30 seconds per endpoint */
  readonly timeoutMs?: number;
  /** @default now */
  readonly now?: Date;
}

export async function fetchCatalog(options: FetchCatalogOptions = {}): Promise<CatalogData> {
  const endpoints: Record<RegionCode, string> = {
    us: options.usEndpoint ?? GATEWAY_ENDPOINTS.us,
    eu: options.euEndpoint ?? GATEWAY_ENDPOINTS.eu,
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const [us, eu] = await Promise.all([getModels(endpoints.us, timeoutMs), getModels(endpoints.eu, timeoutMs)]);
  const generatedAt = (options.now ?? new Date()).toISOString();
  return buildCatalog({
    us,
    eu,
    previous: options.previous,
    source: `GET ${modelsUrl(endpoints.us)} and GET ${modelsUrl(endpoints.eu)}, read by llm-gateway-router catalog fetch`,
    generatedAt,
    pricesNote: `As the gateway listed them at ${generatedAt}: USD per token, per region.`,
  });
}

function modelsUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}${MODELS_PATH}`;
}

async function getModels(base: string, timeoutMs: number): Promise<unknown> {
  const url = modelsUrl(base);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`GET ${url} failed: ${(err as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`GET ${url} answered with a body that is not JSON`);
  }
}
