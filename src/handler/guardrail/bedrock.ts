import type * as Bedrock from '@aws-sdk/client-bedrock-runtime';
import type * as SmithyHttp from '@smithy/node-http-handler';
import { readVerdict, Verdict } from './verdict';
import type { GuardrailSpec } from '../../contract/guardrail';

export interface GuardrailClientOptions {
  /** Merged into the Bedrock runtime client's configuration (the tests' local endpoint and credentials). @default the Lambda's */
  readonly bedrockClientConfig?: Bedrock.BedrockRuntimeClientConfig;
}

/** Which side of the exchange a text is from. */
export type GuardrailSource = 'INPUT' | 'OUTPUT';

/** A check that did not give a usable answer: an error, a throttle, a timeout, an unreadable answer. */
export class GuardrailUnavailableError extends Error {
  constructor(
    /** The error's name (`ThrottlingException`, `TimeoutError`...): the log's `guardrail_error`. */
    readonly errorName: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'GuardrailUnavailableError';
  }
}

/** Connecting to Bedrock: in-region, so anything slower has failed. */
const CONNECT_TIMEOUT_MS = 1_000;

/**
 * ApplyGuardrail through the real `@aws-sdk/client-bedrock-runtime`, one
 * client per region, created on the first check. Both the client and its
 * HTTP/1.1 handler are loaded then, from the Lambda runtime: routers
 * without a guardrail never load them. HTTP/1.1 rather than the client's
 * default HTTP/2 (which its bidirectional streaming operations need and
 * ApplyGuardrail does not): keep-alive connections serve one check at a
 * time per request anyway, and any HTTP server can stand in for Bedrock in
 * tests and the emulator.
 */
export class BedrockGuardrails {
  private sdk?: typeof Bedrock;
  private readonly clients = new Map<string, Bedrock.BedrockRuntimeClient>();

  constructor(
    /** The region of guardrails that do not name one: the function's. */
    private readonly defaultRegion: string | undefined,
    /** A Bedrock runtime endpoint instead of the region's (the emulator's `--bedrock-endpoint`). */
    private readonly endpoint: string | undefined,
    private readonly options: GuardrailClientOptions = {},
  ) {}

  /** Checks `texts` (at least one, none empty) against `spec`; rejects with `GuardrailUnavailableError` when there is no usable verdict. */
  async check(spec: GuardrailSpec, source: GuardrailSource, texts: readonly string[], timeoutMs: number): Promise<Verdict> {
    let output: Bedrock.ApplyGuardrailResponse;
    try {
      const client = this.clientFor(spec.r ?? this.defaultRegion);
      output = await client.send(new this.sdk!.ApplyGuardrailCommand({
        guardrailIdentifier: spec.id,
        guardrailVersion: spec.v,
        source,
        content: texts.map((text) => ({ text: { text } })),
      }), { abortSignal: AbortSignal.timeout(Math.max(1, timeoutMs)) });
    } catch (err) {
      throw new GuardrailUnavailableError(errorNameOf(err), statusOf(err));
    }
    try {
      return readVerdict(output, texts.length);
    } catch (err) {
      throw new GuardrailUnavailableError('GuardrailAnswerError', (err as Error).message);
    }
  }

  private clientFor(region: string | undefined): Bedrock.BedrockRuntimeClient {
    if (!region) throw new GuardrailUnavailableError('NoRegion', 'the guardrail names no region and AWS_REGION is not set');
    let client = this.clients.get(region);
    if (!client) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      this.sdk ??= require('@aws-sdk/client-bedrock-runtime') as typeof Bedrock;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const http = require('@smithy/node-http-handler') as typeof SmithyHttp;
      client = new this.sdk.BedrockRuntimeClient({
        region,
        // One retry: the check's own deadline bounds the whole wait.
        maxAttempts: 2,
        requestHandler: new http.NodeHttpHandler({ connectionTimeout: CONNECT_TIMEOUT_MS }),
        ...(this.endpoint ? { endpoint: this.endpoint } : {}),
        ...this.options.bedrockClientConfig,
      });
      this.clients.set(region, client);
    }
    return client;
  }
}

/** The SDK's error name (`ThrottlingException`), an abort's (`TimeoutError`), or the error's class. */
function errorNameOf(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(name) ? name : 'Error';
}

/**
 * What the log says of a failed call: its HTTP status when there was one.
 * Never the service's message, which may quote what was checked.
 */
function statusOf(err: unknown): string {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? `ApplyGuardrail answered HTTP ${status}` : 'ApplyGuardrail did not answer';
}
