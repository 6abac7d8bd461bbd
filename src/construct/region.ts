import { RegionCode } from '../contract/catalog';

/**
 * The LLM Gateway endpoint a router sends requests to.
 */
export enum GatewayRegion {
  /** https://llm-gateway.assemblyai.com, the gateway's default endpoint. */
  US = 'us',
  /** https://llm-gateway.eu.assemblyai.com: request and response data stay in the EU. */
  EU = 'eu',
}

/**
 * The `Region` dimension of the router's metrics.
 */
export enum MetricRegion {
  /** Requests processed through the US endpoint, in-region. */
  US = 'us',
  /** Requests processed through the EU endpoint. */
  EU = 'eu',
  /** Requests sent upstream with `model_region: "global"`. */
  GLOBAL = 'global',
}

/** @internal */
export function regionCode(region: GatewayRegion): RegionCode {
  return region === GatewayRegion.EU ? 'eu' : 'us';
}
