import * as fs from 'node:fs';
import { GatewayRegion, regionCode } from './region';
import { modelsServedIn } from '../contract/lookup';
import { BUNDLED_CATALOG, CatalogData, parseCatalog } from '../contract/model-catalog';

/**
 * The per-model catalog of the LLM Gateway a router validates its props
 * with: each model's provider, the endpoints that list it, whether it
 * accepts global routing, whether the gateway streams it, its prices per
 * region and whether it is retired.
 *
 * The library ships one (`GatewayCatalog.bundled()`). To use a model or
 * provider the day the gateway lists it, without waiting for a release,
 * write a fresh one with `npx llm-gateway-router catalog fetch --out
 * gateway-catalog.json` (it reads `GET /v1/models` from the US and EU
 * endpoints), commit it, and pass `GatewayCatalog.fromFile(...)`. The router's
 * function then enforces exactly the rules of that file for the models it allows.
 *
 * @example
 * declare const secret: secretsmanager.ISecret;
 * new LlmGatewayRouter(this, 'Router', {
 *   apiKeySecret: secret,
 *   catalog: GatewayCatalog.fromFile('gateway-catalog.json'),
 *   allowedModels: ['claude-sonnet-4-6'],
 * });
 */
export class GatewayCatalog {
  /** The catalog that ships with this version of the library. */
  public static bundled(): GatewayCatalog {
    return new GatewayCatalog(BUNDLED_CATALOG);
  }

  /**
   * A catalog file written by `llm-gateway-router catalog fetch`, read at synth time.
   * @param path the file's path (relative paths resolve against the working directory)
   */
  public static fromFile(path: string): GatewayCatalog {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`GatewayCatalog.fromFile: cannot read ${path}: ${(err as Error).message}. Fix: write it with \`npx llm-gateway-router catalog fetch --out ${path}\``);
    }
    return GatewayCatalog.parse(text, path);
  }

  /**
   * A catalog from its JSON text (the content of a `catalog fetch` file).
   * @param json the catalog's JSON text
   */
  public static fromJson(json: string): GatewayCatalog {
    return GatewayCatalog.parse(json, 'GatewayCatalog.fromJson');
  }

  private static parse(text: string, origin: string): GatewayCatalog {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new Error(`${origin}: not JSON (${(err as Error).message}). Fix: write the file with \`npx llm-gateway-router catalog fetch\``);
    }
    try {
      return new GatewayCatalog(parseCatalog(raw, origin));
    } catch (err) {
      throw new Error(`${(err as Error).message}. Fix: write the file with \`npx llm-gateway-router catalog fetch\``);
    }
  }

  /** Where the catalog's data came from. */
  public readonly source: string;
  /** When the catalog was written (ISO 8601). */
  public readonly generatedAt: string;
  /** How far its prices can be trusted. */
  public readonly pricesNote: string;

  /** @internal */
  public readonly _data: CatalogData;

  private constructor(data: CatalogData) {
    this._data = data;
    this.source = data.source;
    this.generatedAt = data.generatedAt;
    this.pricesNote = data.pricesNote;
  }

  /**
   * The live (not retired) model ids the region's endpoint lists, in catalog order.
   * @param region the gateway endpoint
   */
  public modelsServedIn(region: GatewayRegion): string[] {
    return modelsServedIn(regionCode(region), this._data);
  }
}
