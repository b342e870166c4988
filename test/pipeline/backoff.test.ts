import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from '../../src/pipeline/index.js';

describe('exponentialBackoff', () => {
  it('doubles from the base up to the cap without jitter', () => {
    const backoff = exponentialBackoff({ baseMs: 1000, maxMs: 10_000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(backoff)).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('takes up to the jitter fraction off, from the random source', () => {
    expect(exponentialBackoff({ baseMs: 1000, jitter: 0.5, random: () => 0 })(3)).toBe(4000);
    expect(exponentialBackoff({ baseMs: 1000, jitter: 0.5, random: () => 0.999999 })(3)).toBe(2000);
    expect(exponentialBackoff({ baseMs: 1000, jitter: 0.25, random: () => 0.5 })(1)).toBe(875);
  });

  it('stays within [delay·(1−jitter), delay] for real randomness', () => {
    const backoff = exponentialBackoff({ baseMs: 500, jitter: 0.5 });
    for (let i = 0; i < 200; i++) {
      const d = backoff(2);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});
