import { KeyRedactor } from '../../src/handler/redact';

describe('KeyRedactor', () => {
  test('an empty key redacts nothing (not every character boundary)', () => {
    const r = new KeyRedactor(['']);
    expect(r.text('abc')).toBe('abc');
    expect(r.longest).toBe(0);
  });

  test('a key shorter than 16 characters is never searched for: ordinary text is never rewritten', () => {
    // A one-character key once turned "index" into "inde[REDACTED]". The router refuses such keys; the redactor ignores them.
    const r = new KeyRedactor(['x', 'fifteen-chars-k']);
    expect(r.text('index fifteen-chars-k')).toBe('index fifteen-chars-k');
    expect(r.longest).toBe(0);
    expect(new KeyRedactor(['sixteen-chars-k1']).text('a sixteen-chars-k1 b')).toBe('a [REDACTED] b');
  });

  test('the key and its JSON-escaped form are both redacted; longest counts the escaped form', () => {
    const key = 'k"e\\y/1-0123456789';
    const r = new KeyRedactor([key]);
    expect(r.text(`a ${key} b`)).toBe('a [REDACTED] b');
    expect(r.text(JSON.stringify({ m: key }))).toBe('{"m":"[REDACTED]"}');
    expect(r.longest).toBe('k\\"e\\\\y/1-0123456789'.length);
  });

  test('longer keys are redacted first, so a key that contains another leaves no tail', () => {
    const r = new KeyRedactor(['abcdefghijklmnop', 'abcdefghijklmnopqrs']);
    expect(r.text('xx abcdefghijklmnopqrs yy abcdefghijklmnop')).toBe('xx [REDACTED] yy [REDACTED]');
  });

  test('a buffer without the key is returned as is (byte for byte, same object); one with it is redacted', () => {
    const r = new KeyRedactor(['sekret-key-0123456']);
    const clean = Buffer.from('{"ok":true}');
    expect(r.buffer(clean)).toBe(clean);
    expect(r.buffer(Buffer.from('{"k":"sekret-key-0123456"}')).toString()).toBe('{"k":"[REDACTED]"}');
    // A key with a quote has two forms; either one alone is redacted.
    const quoted = new KeyRedactor(['se"kret-0123456789']);
    expect(quoted.buffer(Buffer.from('raw se"kret-0123456789')).toString()).toBe('raw [REDACTED]');
    expect(quoted.buffer(Buffer.from('{"k":"se\\"kret-0123456789"}')).toString()).toBe('{"k":"[REDACTED]"}');
  });

  test('headers: values redacted, a header whose name carries the key (any case) dropped, others kept', () => {
    const r = new KeyRedactor(['AbC123Key-0123456']);
    expect(r.headers({ 'x-ratelimit-remaining': '5', 'x-ratelimit-abc123key-0123456': '1', 'retry-after': 'AbC123Key-0123456 then 2' }))
      .toEqual({ 'x-ratelimit-remaining': '5', 'retry-after': '[REDACTED] then 2' });
    // A key with a quote: a name carrying either form is dropped.
    expect(new KeyRedactor(['Ab"C1-0123456789ab']).headers({ 'x-ab"c1-0123456789ab': '1', 'x-ab\\"c1-0123456789ab': '2', 'x-ok': '3' })).toEqual({ 'x-ok': '3' });
  });
});
