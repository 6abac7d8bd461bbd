/** Supplies the gateway key. */
export type ApiKeyProvider = () => Promise<string>;

/**
 * Reads the key from Secrets Manager through the SDK that ships with the
 * Lambda runtime. Imported lazily so that module load (cold start) does not
 * pay for the SDK until the first request needs a key.
 */
export function secretsManagerKeyProvider(secretArn: string): ApiKeyProvider {
  let client: { send(command: unknown): Promise<{ SecretString?: string }> } | undefined;
  let command: unknown;
  return async () => {
    if (!client) {
      // Provided by the Lambda runtime (kept out of the bundle); a devDependency here for types and tests.
      const sdk = await import('@aws-sdk/client-secrets-manager');
      client = new sdk.SecretsManagerClient({}) as unknown as typeof client;
      command = new sdk.GetSecretValueCommand({ SecretId: secretArn });
    }
    const out = await client!.send(command);
    const key = out.SecretString?.trim();
    if (!key) throw new Error('the gateway key secret has no string value');
    return key;
  };
}

/**
 * Caches the key across invocations; `refresh()` is called once when the
 * gateway answers 401, which is how a rotated key is picked up.
 */
export class ApiKeyCache {
  private pending: Promise<string> | undefined;

  constructor(private readonly provider: ApiKeyProvider) {}

  get(): Promise<string> {
    if (!this.pending) {
      this.pending = this.provider();
      // A failed read must not be cached: the next request tries again.
      this.pending.catch(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  refresh(): Promise<string> {
    this.pending = undefined;
    return this.get();
  }
}
