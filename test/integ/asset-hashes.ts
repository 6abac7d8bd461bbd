/**
 * An asset's hash is the sha256 of its content: 64 lowercase hex digits. It
 * turns up in the Lambda code's `S3Key` (`<hash>.zip`), in the legacy
 * `AssetParameters<hash>…` parameter names, in `aws:asset:path` metadata
 * (`asset.<hash>`), and in any string that embeds one of these.
 */
const ASSET_HASH = /[0-9a-f]{64}/g;

/** What an asset hash becomes in a committed snapshot. */
export const BLANK_ASSET_HASH = '<asset-hash>';

/**
 * A deep copy of a synthesized template (or any JSON value) with every asset
 * hash blanked, in object keys as well as string values. A change to the
 * handler alone changes nothing but those hashes, so it leaves the snapshot
 * of the blanked template untouched; any other change still shows.
 */
export function blankAssetHashes<T>(value: T): T {
  return blank(value) as T;
}

function blank(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(ASSET_HASH, BLANK_ASSET_HASH);
  if (Array.isArray(value)) return value.map(blank);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [blank(k) as string, blank(v)]));
  }
  return value;
}
