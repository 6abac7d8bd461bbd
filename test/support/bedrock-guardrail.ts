import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** One ApplyGuardrail call as the server received it. */
export interface GuardrailCall {
  readonly id: string;
  readonly version: string;
  readonly source: 'INPUT' | 'OUTPUT';
  readonly texts: string[];
  readonly headers: http.IncomingHttpHeaders;
}

/** How the server fails, instead of answering. */
export type GuardrailFault =
  /** 429 `ThrottlingException`, as Bedrock throttles. */
  | 'throttle'
  /** 500 `InternalServerException`. */
  | 'internal'
  /** 403 `AccessDeniedException` (a role without bedrock:ApplyGuardrail). */
  | 'denied'
  /** Never answers. */
  | 'hang'
  /** 200 with a body that is not JSON. */
  | 'garbage'
  /** Closes the connection without an answer. */
  | 'reset';

/**
 * What the stand-in guardrail finds in a text:
 * - `FORBIDDEN` (a word) is violence: the content policy BLOCKS it;
 * - `TOPIC-X` is a denied topic: the topic policy BLOCKS it;
 * - an e-mail address is PII the sensitive-information policy ANONYMIZES to `{EMAIL}`;
 * - `SSN-` followed by digits is PII it BLOCKS.
 * Its usage, per policy: one text unit per started 1,000 characters of each
 * text, for the topic, content, sensitive-information and word policies
 * (the first three priced: three units per 1,000 characters).
 */
export const GUARDRAIL_RULES = Object.freeze({
  violence: /\bFORBIDDEN\b/,
  topic: /\bTOPIC-X\b/,
  email: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
  ssn: /\bSSN-\d+/,
});

/** The message a guardrail's blocked messaging would carry (never relayed by the router). */
export const BLOCKED_MESSAGING = 'Sorry, the model cannot answer this question.';

/**
 * A local server that speaks Amazon Bedrock's ApplyGuardrail wire format
 * (restJson1): `POST /guardrail/{id}/version/{version}/apply` with
 * `{"source","content":[{"text":{"text"}}]}`, answering `action`, `outputs`,
 * `assessments` and `usage` as AWS documents them, and its errors with the
 * `x-amzn-errortype` header. The router's real Bedrock runtime client talks
 * to it over HTTP/1.1.
 */
export class LocalGuardrail {
  static async start(): Promise<LocalGuardrail> {
    const server = new LocalGuardrail();
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  readonly calls: GuardrailCall[] = [];
  /** Set to make every call fail that way. */
  fault: GuardrailFault | undefined;
  /** Chooses a fault per call (after `fault`): the call, and its 1-based number. */
  faultWhen: ((call: GuardrailCall, n: number) => GuardrailFault | undefined) | undefined;
  /** Makes every answer wait this long. */
  delayMs = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.answer(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Calls of one source. */
  of(source: 'INPUT' | 'OUTPUT'): GuardrailCall[] {
    return this.calls.filter((c) => c.source === source);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: http.IncomingMessage, raw: string, res: http.ServerResponse): Promise<void> {
    const path = /^\/guardrail\/([^/]+)\/version\/([^/]+)\/apply$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !path) return error(res, 404, 'UnknownOperationException', `no operation at ${req.method} ${req.url}`);
    let body: { source?: unknown; content?: unknown };
    try {
      body = JSON.parse(raw);
    } catch {
      return error(res, 400, 'SerializationException', 'the body is not JSON');
    }
    const texts = Array.isArray(body.content) ? body.content.map((b: { text?: { text?: unknown } }) => b?.text?.text) : [];
    if ((body.source !== 'INPUT' && body.source !== 'OUTPUT') || texts.length === 0 || texts.some((t) => typeof t !== 'string' || t.length === 0)) {
      return error(res, 400, 'ValidationException', 'source must be INPUT or OUTPUT and content non-empty texts');
    }
    const [id, version] = [decodeURIComponent(path[1]), decodeURIComponent(path[2])];
    this.calls.push({ id, version, source: body.source, texts: texts as string[], headers: req.headers });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    switch (this.fault ?? this.faultWhen?.(this.calls[this.calls.length - 1], this.calls.length)) {
      case 'throttle': return error(res, 429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
      case 'internal': return error(res, 500, 'InternalServerException', 'An internal server error occurred.');
      case 'denied': return error(res, 403, 'AccessDeniedException', 'You do not have access to this guardrail.');
      case 'hang': return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html>not json</html>');
        return;
      case 'reset':
        req.socket.destroy();
        return;
      default:
        break;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': `local-${this.calls.length}` });
    res.end(JSON.stringify(assess(texts as string[])));
  }
}

/** ApplyGuardrail's answer for the texts, under GUARDRAIL_RULES. */
export function assess(texts: readonly string[]) {
  const units = texts.reduce((n, t) => n + Math.ceil(t.length / 1000), 0);
  const filters: object[] = [];
  const topics: object[] = [];
  const piiEntities: object[] = [];
  for (const text of texts) {
    if (GUARDRAIL_RULES.violence.test(text)) filters.push({ type: 'VIOLENCE', confidence: 'HIGH', filterStrength: 'HIGH', action: 'BLOCKED', detected: true });
    if (GUARDRAIL_RULES.topic.test(text)) topics.push({ name: 'Topic X', type: 'DENY', action: 'BLOCKED', detected: true });
    const ssn = GUARDRAIL_RULES.ssn.exec(text);
    if (ssn) piiEntities.push({ match: ssn[0], type: 'US_SOCIAL_SECURITY_NUMBER', action: 'BLOCKED', detected: true });
    for (const email of text.match(GUARDRAIL_RULES.email) ?? []) piiEntities.push({ match: email, type: 'EMAIL', action: 'ANONYMIZED', detected: true });
  }
  const blocked = filters.length + topics.length + piiEntities.filter((p) => (p as { action: string }).action === 'BLOCKED').length > 0;
  const intervened = blocked || piiEntities.length > 0;
  const assessment: Record<string, unknown> = {};
  if (filters.length > 0) assessment.contentPolicy = { filters };
  if (topics.length > 0) assessment.topicPolicy = { topics };
  if (piiEntities.length > 0) assessment.sensitiveInformationPolicy = { piiEntities, regexes: [] };
  return {
    usage: {
      topicPolicyUnits: units,
      contentPolicyUnits: units,
      wordPolicyUnits: units,
      sensitiveInformationPolicyUnits: units,
      sensitiveInformationPolicyFreeUnits: 0,
      contextualGroundingPolicyUnits: 0,
    },
    action: intervened ? 'GUARDRAIL_INTERVENED' : 'NONE',
    actionReason: intervened ? 'Guardrail blocked.' : 'No action.',
    // Blocked: the guardrail's blocked messaging; masked: each text with its PII masked, in order.
    outputs: !intervened ? [] : blocked ? [{ text: BLOCKED_MESSAGING }] : texts.map((t) => ({ text: t.replace(GUARDRAIL_RULES.email, '{EMAIL}') })),
    assessments: intervened ? [assessment] : [],
  };
}

function error(res: http.ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
  res.end(JSON.stringify({ message }));
}

/** The Bedrock runtime client's configuration for the local server: its endpoint and throwaway credentials. */
export function localBedrockConfig(server: LocalGuardrail) {
  return { endpoint: server.url, credentials: { accessKeyId: 'AKIDLOCALGUARDRAIL', secretAccessKey: 'local-guardrail-secret' } };
}
