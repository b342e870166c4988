import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate, scoreCase, summarize } from '../../src/eval/score.js';
import type { Finding } from '../../src/types.js';

function finding(over: Partial<Finding>): Finding {
  return {
    id: 'x', file: 'a.ts', line: 10, endLine: 12, failureMode: 'toctou', severity: 'high', confidence: 0.9, title: 't',
    explanation: '', interleaving: [], missingTest: '', fix: '', whatNotToDo: [], source: 'heuristic', ...over,
  };
}
const bug = { kind: 'bug' as const, failure_mode: 'toctou' as const, file: 'a.ts', lines: [20, 25] as [number, number] };
const clean = { kind: 'clean' as const, failure_mode: 'none' as const, file: null, lines: null };

describe('scoreCase', () => {
  it('a finding within the labeled lines ± 3 on the labeled file is found', () => {
    expect(scoreCase('c', bug, [finding({ line: 26, endLine: 28 })]).found).toBe(true);
    expect(scoreCase('c', bug, [finding({ line: 14, endLine: 17 })]).found).toBe(true);
  });
  it('a finding 4 lines away, or on another file, is not found', () => {
    expect(scoreCase('c', bug, [finding({ line: 29, endLine: 30 })]).found).toBe(false);
    expect(scoreCase('c', bug, [finding({ file: 'b.ts', line: 20, endLine: 25 })]).found).toBe(false);
  });
  it('mode is right when a finding in range has the labeled mode', () => {
    expect(scoreCase('c', bug, [finding({ line: 20, endLine: 25, failureMode: 'phantom_read' })]).modeRight).toBe(false);
    expect(scoreCase('c', bug, [finding({ line: 20, endLine: 25 })]).modeRight).toBe(true);
  });
  it('every finding on a clean case is a false alarm', () => {
    expect(scoreCase('c', clean, [finding({}), finding({ line: 40, endLine: 41 })]).falseAlarms).toBe(2);
  });
  it('summarize computes recall and mode accuracy over found cases', () => {
    const s = summarize([
      scoreCase('a', bug, [finding({ line: 20, endLine: 25 })]),
      scoreCase('b', bug, [finding({ line: 20, endLine: 25, failureMode: 'lost_update' })]),
      scoreCase('c', bug, []),
      scoreCase('d', clean, [finding({})]),
    ]);
    expect(s).toMatchObject({ bugs: 3, found: 2, modeRight: 1, clean: 1, falseAlarms: 1 });
    expect(s.recall).toBeCloseTo(2 / 3);
    expect(s.modeAccuracy).toBe(0.5);
  });
});

describe('evaluate over a folder of cases', () => {
  it('runs the engine on each NNN-slug/pr.diff and scores it against expect.json', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'concdbg-eval-'));
    const example = readFileSync(path.resolve(import.meta.dirname, '../../examples/duplicate-charge.diff'));
    const fixed = readFileSync(path.resolve(import.meta.dirname, '../../examples/duplicate-charge-fixed.diff'));
    mkdirSync(path.join(dir, '001-charge'));
    writeFileSync(path.join(dir, '001-charge/pr.diff'), example);
    writeFileSync(path.join(dir, '001-charge/expect.json'), JSON.stringify({ ...bug, file: 'src/api/charge.ts', lines: [8, 23], title: 'dedup race' }));
    mkdirSync(path.join(dir, '002-charge-fixed'));
    writeFileSync(path.join(dir, '002-charge-fixed/pr.diff'), fixed);
    writeFileSync(path.join(dir, '002-charge-fixed/expect.json'), JSON.stringify(clean));
    mkdirSync(path.join(dir, 'not-a-case'));
    const seen: string[] = [];
    const results = await evaluate(dir, (r) => seen.push(r.name));
    expect(seen).toEqual(['001-charge', '002-charge-fixed']);
    const s = summarize(results);
    expect(s).toMatchObject({ bugs: 1, found: 1, modeRight: 1, clean: 1, falseAlarms: 0 });
  });

  it('a malformed expect.json is an error naming the case', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'concdbg-eval-'));
    mkdirSync(path.join(dir, '001-bad'));
    writeFileSync(path.join(dir, '001-bad/pr.diff'), '');
    writeFileSync(path.join(dir, '001-bad/expect.json'), JSON.stringify({ kind: 'bug', failure_mode: 'race' }));
    await expect(evaluate(dir)).rejects.toThrow(/001-bad: expect.json does not match/);
  });
});
