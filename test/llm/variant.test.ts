import { describe, expect, it } from 'vitest';
import { chooseVariant, parseVariant } from '../../src/llm/variant.js';
import { candidate } from './helpers.js';

const at = (over: Parameters<typeof candidate>[0]) => candidate(over);

describe('chooseVariant', () => {
  const table: Array<{ name: string; candidates: ReturnType<typeof candidate>[]; override?: 'database' | 'async' | 'distributed' | 'queue'; expected: string }> = [
    { name: 'a single database candidate gets database', candidates: [at({ file: 'a.ts', line: 1, endLine: 2, variant: 'database' })], expected: 'database' },
    { name: 'a single queue candidate gets queue', candidates: [at({ file: 'w.ts', line: 1, endLine: 2, variant: 'queue', failureMode: 'message_ordering' })], expected: 'queue' },
    { name: 'a single async candidate gets async', candidates: [at({ file: 'h.ts', line: 1, endLine: 2, variant: 'async', failureMode: 'async_ordering' })], expected: 'async' },
    { name: 'a stale-read candidate marked distributed gets distributed', candidates: [at({ file: 'c.ts', line: 1, endLine: 2, variant: 'distributed', failureMode: 'eventual_consistency' })], expected: 'distributed' },
    {
      name: 'majority by score: two medium async outweigh one low database',
      candidates: [
        at({ file: 'a.ts', line: 1, endLine: 1, variant: 'async', severity: 'medium', confidence: 0.7 }),
        at({ file: 'a.ts', line: 5, endLine: 5, variant: 'async', severity: 'medium', confidence: 0.7 }),
        at({ file: 'b.ts', line: 1, endLine: 1, variant: 'database', severity: 'low', confidence: 0.9 }),
      ],
      expected: 'async',
    },
    {
      name: 'one high-confidence high-severity queue candidate outweighs two weak database ones',
      candidates: [
        at({ file: 'a.ts', line: 1, endLine: 1, variant: 'database', severity: 'low', confidence: 0.5 }),
        at({ file: 'a.ts', line: 5, endLine: 5, variant: 'database', severity: 'low', confidence: 0.5 }),
        at({ file: 'w.ts', line: 1, endLine: 1, variant: 'queue', severity: 'high', confidence: 0.9 }),
      ],
      expected: 'queue',
    },
    {
      name: 'a tie goes to the top-scoring candidate (first one on equal scores)',
      candidates: [
        at({ file: 'a.ts', line: 1, endLine: 1, variant: 'distributed', severity: 'high', confidence: 0.8 }),
        at({ file: 'b.ts', line: 1, endLine: 1, variant: 'async', severity: 'high', confidence: 0.8 }),
      ],
      expected: 'distributed',
    },
    {
      name: 'the override wins over every signal',
      candidates: [at({ file: 'a.ts', line: 1, endLine: 1, variant: 'database' })],
      override: 'queue',
      expected: 'queue',
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      expect(chooseVariant(t.candidates, t.override)).toBe(t.expected);
    });
  }
});

describe('parseVariant', () => {
  it.each([
    ['db', 'database'],
    ['Database', 'database'],
    ['async/await', 'async'],
    ['queue worker', 'queue'],
    ['distributed_systems', 'distributed'],
  ])('%s -> %s', (input, expected) => {
    expect(parseVariant(input)).toBe(expected);
  });
  it('returns undefined for unknown names', () => {
    expect(parseVariant('quantum')).toBeUndefined();
    expect(parseVariant('')).toBeUndefined();
  });
});
