import { describe, expect, it } from 'vitest';
import { utcDay } from '../../src/store/index.js';
import { BACKENDS, useBackend } from './backends.js';

describe.each(BACKENDS)('usage counters on $name', ({ make }) => {
  const db = useBackend(make);

  it('adds concurrently without losing updates', async () => {
    const stores = [await db.fresh({ poolSize: 8 }), await db.another({ poolSize: 8 })];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % 2]!.addUsage(7, '2025-01-02', { inputTokens: 100, outputTokens: 10, reviews: 1 })),
    );
    expect(await stores[0]!.getUsage(7, '2025-01-02')).toEqual({
      installationId: 7,
      day: '2025-01-02',
      inputTokens: 5000,
      outputTokens: 500,
      reviews: 50,
    });
  });

  it('never overshoots a limit under 50 concurrent reservations', async () => {
    const stores = [await db.fresh({ poolSize: 8 }), await db.another({ poolSize: 8 }), await db.another({ poolSize: 8 })];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % 3]!.reserveUsage(7, '2025-01-02', 'inputTokens', 300, 10_000)),
    );
    // 33 × 300 = 9 900 ≤ 10 000 < 34 × 300.
    expect(results.filter(Boolean)).toHaveLength(33);
    expect((await stores[0]!.getUsage(7, '2025-01-02')).inputTokens).toBe(9_900);
  });

  it('keeps counters per installation and day, and gives back with a negative delta', async () => {
    const store = await db.fresh();
    const day = utcDay(Date.UTC(2025, 0, 2, 23, 59));
    expect(day).toBe('2025-01-02');
    expect(await store.reserveUsage(1, day, 'reviews', 1, 1)).toBe(true);
    expect(await store.reserveUsage(1, day, 'reviews', 1, 1)).toBe(false);
    expect(await store.reserveUsage(2, day, 'reviews', 1, 1)).toBe(true);
    expect(await store.reserveUsage(1, '2025-01-03', 'reviews', 1, 1)).toBe(true);
    const after = await store.addUsage(1, day, { reviews: -1 });
    expect(after.reviews).toBe(0);
    expect(await store.getUsage(99, day)).toEqual({ installationId: 99, day, inputTokens: 0, outputTokens: 0, reviews: 0 });
  });
});
