/**
 * The gateway key's cache: one read at a time, failures not cached, and a
 * refused key re-read only after the cooldown (10 s by default).
 */
import { ApiKeyCache } from '../../src/handler/secret';

describe('the key cache', () => {
  test('concurrent gets share one read; the key is then served from the cache', async () => {
    let reads = 0;
    const cache = new ApiKeyCache(async () => `key-${++reads}`);
    expect(await Promise.all([cache.get(), cache.get(), cache.get()])).toEqual(['key-1', 'key-1', 'key-1']);
    expect(await cache.get()).toBe('key-1');
    expect(reads).toBe(1);
  });

  test('a failed read is not cached: the next get reads again', async () => {
    let reads = 0;
    const cache = new ApiKeyCache(async () => {
      if (++reads === 1) throw new Error('throttled');
      return 'k';
    });
    await expect(cache.get()).rejects.toThrow('throttled');
    expect(await cache.get()).toBe('k');
    expect(reads).toBe(2);
  });

  test('a refresh during a read joins it', async () => {
    let release!: (key: string) => void;
    let reads = 0;
    const cache = new ApiKeyCache(() => {
      reads++;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    });
    const first = cache.get();
    const joined = cache.refresh('old');
    release('fresh');
    expect(await first).toBe('fresh');
    expect(await joined).toBe('fresh');
    expect(reads).toBe(1);
  });

  test('the default cooldown is 10 seconds', async () => {
    let now = 0;
    let reads = 0;
    const cache = new ApiKeyCache(async () => {
      reads++;
      return 'revoked';
    }, { now: () => now });
    await cache.get();
    await cache.refresh('revoked');
    expect(reads).toBe(2);
    now = 9_999;
    await cache.refresh('revoked');
    expect(reads).toBe(2);
    now = 10_000;
    await cache.refresh('revoked');
    expect(reads).toBe(3);
  });
});
