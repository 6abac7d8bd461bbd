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
  /** Write models whose price cannot be read. @default false: they fail the fetch (`UnpricedModelsError`) */
  readonly allowUnpriced?: boolean;
  /** The most a `/v1/models` answer may be, in bytes. @default MAX_LISTING_BYTES */
  readonly maxBytes?: number;
}

/**
 * The largest `/v1/models` answer read: far above a listing of a few hundred
 * models (tens of kilobytes), far below what would strain the CLI's memory.
 */
export const MAX_LISTING_BYTES = 8 * 1024 * 1024;

export async function fetchCatalog(options: FetchCatalogOptions = {}): Promise<CatalogData> {
  const endpoints: Record<RegionCode, string> = {
    us: options.usEndpoint ?? GATEWAY_ENDPOINTS.us,
    eu: options.euEndpoint ?? GATEWAY_ENDPOINTS.eu,
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxBytes ?? MAX_LISTING_BYTES;
  const [us, eu] = await Promise.all([getModels(endpoints.us, timeoutMs, maxBytes), getModels(endpoints.eu, timeoutMs, maxBytes)]);
  const generatedAt = (options.now ?? new Date()).toISOString();
  return buildCatalog({
    us,
    eu,
    previous: options.previous,
    source: `GET ${modelsUrl(endpoints.us)} and GET ${modelsUrl(endpoints.eu)}, read by llm-gateway-router catalog fetch`,
    generatedAt,
    pricesNote: `As the gateway listed them at ${generatedAt}: USD per token, per region.`,
    allowUnpriced: options.allowUnpriced,
  });
}

function modelsUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}${MODELS_PATH}`;
}

async function getModels(base: string, timeoutMs: number, maxBytes: number): Promise<unknown> {
  const url = modelsUrl(base);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    text = await readCapped(response, maxBytes, url);
  } catch (err) {
    if (err instanceof ListingTooLargeError) throw err;
    throw new Error(`GET ${url} failed: ${(err as Error).message}`);
  }
  if (!response.ok) throw new Error(`GET ${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`GET ${url} answered with a body that is not JSON`);
  }
}

/** A `/v1/models` answer over the cap: refused, not buffered. */
export class ListingTooLargeError extends Error {
  constructor(url: string, maxBytes: number) {
    super(`GET ${url} answered with more than ${maxBytes} bytes; a model listing is far smaller, so the answer is refused`);
    this.name = 'ListingTooLargeError';
  }
}

/** The body as text, read chunk by chunk and abandoned as soon as it passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new ListingTooLargeError(url, maxBytes);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ListingTooLargeError(url, maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
