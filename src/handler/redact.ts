import { MIN_GATEWAY_KEY_LENGTH } from '../contract/env';

/** What replaces the gateway key wherever the upstream echoes it back. */
export const REDACTED = '[REDACTED]';

/**
 * Removes the gateway key from what the upstream sends back before it is
 * relayed: some upstream errors echo the request's credentials. Matches the
 * key as sent and as it would appear inside a JSON string (the escaped form),
 * since the bodies are JSON. A key shorter than `MIN_GATEWAY_KEY_LENGTH` is
 * never searched for: it would match ordinary text, and the router refuses
 * to use one anyway.
 */
export class KeyRedactor {
  private readonly needles: readonly string[];
  private readonly needleBuffers: readonly Buffer[];
  /** Longest needle, in characters: how much of a partial line to hold back. */
  readonly longest: number;

  constructor(keys: readonly string[]) {
    const needles = new Set<string>();
    for (const key of keys) {
      if (key.length < MIN_GATEWAY_KEY_LENGTH) continue;
      needles.add(key);
      needles.add(JSON.stringify(key).slice(1, -1));
    }
    this.needles = [...needles].sort((a, b) => b.length - a.length);
    this.needleBuffers = this.needles.map((n) => Buffer.from(n, 'utf8'));
    this.longest = this.needles.reduce((max, n) => Math.max(max, n.length), 0);
  }

  text(value: string): string {
    let out = value;
    for (const needle of this.needles) {
      if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    }
    return out;
  }

  /** The same bytes when there is nothing to redact (the usual case): a relayed body stays byte for byte. */
  buffer(value: Buffer): Buffer {
    return this.needleBuffers.some((n) => value.includes(n)) ? Buffer.from(this.text(value.toString('utf8')), 'utf8') : value;
  }

  /** Headers with the key redacted from their values; a header whose name carries the key is dropped. */
  headers(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      // Node.js lower-cases header names: compare them without case.
      const lower = name.toLowerCase();
      if (!this.needles.some((n) => lower.includes(n.toLowerCase()))) out[name] = this.text(value);
    }
    return out;
  }
}
