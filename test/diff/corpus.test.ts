/**
 * The shared labelled corpus (../shared/corpus beside the repository): every diff parses without
 * warnings, and the file that holds each labelled hazard survives the relevance filter.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filterDiff, parseDiff } from '../../src/diff/index.js';

const corpusDir = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

interface Expect {
  kind: 'bug' | 'clean';
  file: string | null;
  lines: [number, number] | null;
}

describe('shared corpus', () => {
  it('is present beside the repository', () => {
    expect(existsSync(corpusDir)).toBe(true);
  });

  const cases = existsSync(corpusDir) ? readdirSync(corpusDir).filter((d) => /^\d{3}-/.test(d)) : [];

  it.each(cases)('%s', (name) => {
    const diff = readFileSync(`${corpusDir}${name}/pr.diff`);
    const label = JSON.parse(readFileSync(`${corpusDir}${name}/expect.json`, 'utf8')) as Expect;
    const { files, warnings } = parseDiff(diff);
    expect(warnings).toEqual([]);
    expect(files.length).toBeGreaterThan(0);
    const { kept } = filterDiff(files);
    if (label.kind === 'bug' && label.file && label.lines) {
      const hit = kept.find((k) => k.file.newPath === label.file);
      expect(hit, `${label.file} must be kept`).toBeDefined();
      // The labelled lines are lines the diff shows on the new side.
      const shown = new Set(hit!.file.hunks.flatMap((h) => h.lines.map((l) => l.newLine).filter((n) => n !== undefined)));
      expect(shown.has(label.lines[0])).toBe(true);
      expect(shown.has(label.lines[1])).toBe(true);
    }
  });
});
