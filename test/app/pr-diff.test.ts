import { describe, expect, it } from 'vitest';
import { buildPrDiff, CommentableLines } from '../../src/app/pr-diff.js';
import { parseDiff } from '../../src/diff/parse.js';
import { addedFile, twoHunkFile } from './support/fixtures.js';

describe('line validation', () => {
  const lines = new CommentableLines([twoHunkFile('src/a.ts'), addedFile('src/new.ts', 10)]);

  it.each([
    { name: 'multi-line inside one hunk', at: ['src/a.ts', 1, 4], want: { line: 4, start_line: 1 } },
    { name: 'single line on an added line', at: ['src/a.ts', 2, 2], want: { line: 2 } },
    { name: 'range across two hunks: single line at the start', at: ['src/a.ts', 3, 42], want: { line: 3 } },
    { name: 'start off the diff, end on it', at: ['src/a.ts', 20, 41], want: { line: 41 } },
    { name: 'both ends off the diff', at: ['src/a.ts', 10, 30], want: undefined },
    { name: 'past the end of the file', at: ['src/new.ts', 11, 12], want: undefined },
    { name: 'a file not in the PR', at: ['src/other.ts', 1, 1], want: undefined },
    { name: 'new file, whole range', at: ['src/new.ts', 1, 10], want: { line: 10, start_line: 1 } },
  ] as const)('$name', ({ at, want }) => {
    const placed = lines.place(at[0], at[1], at[2]);
    if (!want) return expect(placed).toBeUndefined();
    expect(placed).toMatchObject({ path: at[0], side: 'RIGHT', ...want });
    if (!('start_line' in want)) expect(placed).not.toHaveProperty('start_line');
    else expect(placed).toHaveProperty('start_side', 'RIGHT');
  });

  it('never offers a deleted (left-side-only) line', () => {
    const f = { filename: 'x.ts', status: 'modified' as const, patch: '@@ -1,3 +1,2 @@\n a\n-b\n c', additions: 0, deletions: 1, changes: 1 };
    const l = new CommentableLines([f]);
    expect(l.hunkOf('x.ts', 1)).toBe(0);
    expect(l.hunkOf('x.ts', 2)).toBe(0); // "c" is new line 2
    expect(l.hunkOf('x.ts', 3)).toBeUndefined();
  });
});

describe('buildPrDiff', () => {
  it('rebuilds a unified diff the parser reads back with the same new-side lines', () => {
    const { diff, skipped, reviewable } = buildPrDiff([twoHunkFile('src/a.ts'), addedFile('src/new.ts', 3)]);
    expect(skipped).toEqual([]);
    expect(reviewable).toHaveLength(2);
    const parsed = parseDiff(diff);
    expect(parsed.files.map((f) => f.newPath)).toEqual(['src/a.ts', 'src/new.ts']);
    expect(parsed.files[0]!.hunks[1]!.newStart).toBe(40);
    expect(parsed.files[1]!.status).toBe('added');
  });

  it('lists files whose patch GitHub omitted instead of dropping them', () => {
    const big = { filename: 'src/huge.ts', status: 'modified' as const, additions: 5000, deletions: 10, changes: 5010 };
    const bin = { filename: 'logo.png', status: 'added' as const, additions: 0, deletions: 0, changes: 0 };
    const rename = { filename: 'b.ts', previousFilename: 'a.ts', status: 'renamed' as const, additions: 0, deletions: 0, changes: 0 };
    const { skipped, diff } = buildPrDiff([big, bin, rename, addedFile('ok.ts', 1)]);
    expect(skipped).toEqual([
      { path: 'src/huge.ts', reason: expect.stringContaining('patch omitted') },
      { path: 'logo.png', reason: 'no textual changes' },
    ]);
    expect(diff).toContain('b/ok.ts');
  });

  it('marks a PR truncated at the API limit', () => {
    const { skipped } = buildPrDiff([addedFile('a.ts', 1)], { truncatedAt: 3000 });
    expect(skipped.at(-1)?.reason).toContain('3000');
  });

  it('uses the old path for renames with content changes', () => {
    const f = { ...twoHunkFile('new/name.ts'), status: 'renamed' as const, previousFilename: 'old/name.ts' };
    const parsed = parseDiff(buildPrDiff([f]).diff);
    expect(parsed.files[0]).toMatchObject({ oldPath: 'old/name.ts', newPath: 'new/name.ts' });
  });
});
