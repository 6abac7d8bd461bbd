import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';

/** Supplies the gateway key. */
export type ApiKeyProvider = () => Promise<string>;

const SECRET_CONNECT_TIMEOUT_MS = 2_000;
const SECRET_REQUEST_TIMEOUT_MS = 5_000;

/**
 * Reads the key from Secrets Manager through the SDK that ships with the
 * Lambda runtime. Imported lazily so that module load (cold start) does not
 * pay for the SDK until the first request needs a key.
 *
 * @param clientConfig merged over the router's own client settings (local endpoints in tests)
 */
export function secretsManagerKeyProvider(secretArn: string, clientConfig: SecretsManagerClientConfig = {}): ApiKeyProvider {
  let client: { send(command: unknown): Promise<{ SecretString?: string }> } | undefined;
  let command: unknown;
  return async () => {
    if (!client) {
      // Provided by the Lambda runtime (kept out of the bundle); a devDependency here for types and tests.
      // A lazy require rather than import(): the bundle is CommonJS either way.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const sdk: typeof import('@aws-sdk/client-secrets-manager') = require('@aws-sdk/client-secrets-manager');
      // Bounded: a Secrets Manager that cannot be reached (a VPC without its endpoint) or never answers fails this
      // request fast, and the next request reads again, instead of holding it to the function's timeout. Recent
      // @smithy/node-http-handler versions only warn at requestTimeout unless told to throw.
      const requestHandler = { connectionTimeout: SECRET_CONNECT_TIMEOUT_MS, requestTimeout: SECRET_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true };
      client = new sdk.SecretsManagerClient({ maxAttempts: 2, requestHandler, ...clientConfig }) as unknown as typeof client;
      command = new sdk.GetSecretValueCommand({ SecretId: secretArn });
    }
    const out = await client!.send(command);
    const key = out.SecretString?.trim();
    if (!key) throw new Error('the gateway key secret has no string value');
    return key;
  };
}

/** After a re-read, a key the gateway refuses is not re-read again for this long. */
export const KEY_REFRESH_COOLDOWN_MS = 10_000;

export interface ApiKeyCacheOptions {
  /** @default KEY_REFRESH_COOLDOWN_MS */
  readonly refreshCooldownMs?: number;
  /** The clock (tests). @default Date.now */
  readonly now?: () => number;
}

/**
 * Caches the key across invocations. When the gateway answers 401,
 * `refresh(rejectedKey)` is how a rotated key is picked up. A revoked key must
 * not turn every request into a Secrets Manager read, so: one read at a time
 * is shared by every request waiting for it (single flight); a request whose
 * rejected key is already superseded gets the newer key without a read; and
 * within `refreshCooldownMs` of the last re-read, a still-refused key is not
 * read again (the caller gets the rejected key back and stops retrying).
 */
export class ApiKeyCache {
  private key: string | undefined;
  private reading: Promise<string> | undefined;
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  private readonly refreshCooldownMs: number;
  private readonly now: () => number;

  constructor(private readonly provider: ApiKeyProvider, options: ApiKeyCacheOptions = {}) {
    this.refreshCooldownMs = options.refreshCooldownMs ?? KEY_REFRESH_COOLDOWN_MS;
    this.now = options.now ?? Date.now;
  }

  get(): Promise<string> {
    if (this.key !== undefined) return Promise.resolve(this.key);
    return this.reading ?? this.read();
  }

  /**
   * A key to retry with after the gateway refused `rejected`: a newer one if
   * there is one (read now, or by another request), otherwise `rejected`
   * itself, meaning a retry cannot help.
   */
  refresh(rejected: string): Promise<string> {
    if (this.reading) return this.reading;
    if (this.key !== undefined && this.key !== rejected) return Promise.resolve(this.key);
    if (this.now() - this.lastRefreshAt < this.refreshCooldownMs) return Promise.resolve(rejected);
    this.lastRefreshAt = this.now();
    return this.read();
  }

  private read(): Promise<string> {
    // A failed read is not cached: the next request tries again (a refused
    // key stays in place meanwhile).
    const reading = this.provider()
      .then((key) => {
        this.key = key;
        return key;
      })
      .finally(() => {
        if (this.reading === reading) this.reading = undefined;
      });
    this.reading = reading;
    return reading;
  }
}
