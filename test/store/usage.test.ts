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
      budgetTokens: 0,
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
    expect(await store.getUsage(99, day)).toEqual({ installationId: 99, day, inputTokens: 0, outputTokens: 0, reviews: 0, budgetTokens: 0 });
  });

  it('budget tokens: two reservations that only fit one at a time, then the winner settles to its real use', async () => {
    const stores = [await db.fresh({ poolSize: 4 }), await db.another({ poolSize: 4 })];
    const day = '2025-01-02';
    const both = await Promise.all(stores.map((s) => s.reserveUsage(3, day, 'budgetTokens', 6_000, 10_000)));
    expect(both.filter(Boolean)).toHaveLength(1);
    // The request used 1 500 of the 6 000 held: one atomic add of the difference.
    const settled = await stores[0]!.addUsage(3, day, { budgetTokens: 1_500 - 6_000 });
    expect(settled).toMatchObject({ budgetTokens: 1_500, inputTokens: 0, outputTokens: 0, reviews: 0 });
    expect(await stores[1]!.reserveUsage(3, day, 'budgetTokens', 6_000, 10_000)).toBe(true);
    expect(await stores[0]!.reserveUsage(3, day, 'budgetTokens', 6_000, 10_000)).toBe(false);
  });

  it('budget tokens: concurrent reserve-then-settle never loses a settlement and never passes the limit', async () => {
    const stores = [await db.fresh({ poolSize: 8 }), await db.another({ poolSize: 8 }), await db.another({ poolSize: 8 })];
    const day = '2025-01-02';
    const limit = 20_000;
    let peak = 0;
    const granted = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const store = stores[i % 3]!;
        if (!(await store.reserveUsage(5, day, 'budgetTokens', 1_000, limit))) return false;
        peak = Math.max(peak, (await store.getUsage(5, day)).budgetTokens);
        await store.addUsage(5, day, { budgetTokens: 400 - 1_000 });
        return true;
      }),
    );
    const n = granted.filter(Boolean).length;
    expect(n).toBeGreaterThanOrEqual(20); // the first 20 always fit
    expect(peak).toBeLessThanOrEqual(limit);
    expect((await stores[0]!.getUsage(5, day)).budgetTokens).toBe(400 * n);
  });
});
