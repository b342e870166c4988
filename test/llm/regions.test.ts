import { describe, expect, it } from 'vitest';
import { buildRegions } from '../../src/llm/regions.js';
import { candidate, chargeCandidate, chargeFile, sourceFile } from './helpers.js';

describe('buildRegions', () => {
  it('sends the enclosing function with numbered lines and the hunk context, not the rest of the file', () => {
    const regions = buildRegions([{ index: 0, candidate: chargeCandidate() }], [chargeFile()]);
    expect(regions).toHaveLength(1);
    const r = regions[0]!;
    expect(r).toMatchObject({ file: 'src/api/charge.ts', startLine: 4, endLine: 25, candidates: [0] });
    expect(r.text).toContain(' 5 + export async function chargeCustomer(');
    expect(r.text).toContain('24 + }');
    // Lines 1-3 (imports, a module secret) and the unrelated function at 26-28 are outside.
    expect(r.text).not.toContain('UNRELATED_FOOTER_MARKER');
    expect(r.text).not.toContain("import { db }");
  });

  it('redacts secrets inside the region and counts them', () => {
    const r = buildRegions([{ index: 0, candidate: chargeCandidate() }], [chargeFile()])[0]!;
    expect(r.text).toContain('postgres://billing:***@db.internal:5432/pay');
    expect(r.text).not.toContain('hunter2secret');
    expect(r.redactions).toBe(1);
  });

  it('merges overlapping regions of two candidates into one, listing both', () => {
    const a = chargeCandidate();
    const b = chargeCandidate({ line: 15, endLine: 18, failureMode: 'async_ordering', variant: 'async' });
    const regions = buildRegions(
      [
        { index: 0, candidate: a },
        { index: 3, candidate: b },
      ],
      [chargeFile()],
    );
    expect(regions).toHaveLength(1);
    expect(regions[0]!.candidates).toEqual([0, 3]);
  });

  it('elides lines the diff does not show, keeping true line numbers', () => {
    const text = Array.from({ length: 40 }, (_, i) => `line${i + 1}();`).join('\n');
    const file = sourceFile({
      path: 'src/w.ts',
      text,
      shown: [
        [5, 9],
        [30, 34],
      ],
      added: [[7, 7]],
      functions: [{ name: 'run', startLine: 5, endLine: 34 }],
    });
    const r = buildRegions([{ index: 0, candidate: candidate({ file: 'src/w.ts', line: 7, endLine: 7 }) }], [file])[0]!;
    expect(r.text).toContain(' 7 + line7();');
    expect(r.text).toContain('30   line30();');
    expect(r.text).toContain('⋮');
    expect(r.text).not.toContain('line20');
  });

  it('windows a function too long to send whole', () => {
    const text = Array.from({ length: 400 }, (_, i) => `step${i + 1}();`).join('\n');
    const file = sourceFile({ path: 'src/big.ts', text, whole: true, functions: [{ name: 'huge', startLine: 1, endLine: 400 }] });
    const c = candidate({ file: 'src/big.ts', line: 200, endLine: 201, evidence: [{ line: 350, text: 'step350();', role: 'act' }] });
    const regions = buildRegions([{ index: 0, candidate: c }], [file], { window: 5 });
    expect(regions.map((r) => [r.startLine, r.endLine])).toEqual([
      [195, 206],
      [345, 355],
    ]);
  });

  it('gives no region for a candidate whose file was not passed (dropped files never leave)', () => {
    const c = candidate({ file: 'package-lock.json', line: 1, endLine: 2 });
    expect(buildRegions([{ index: 0, candidate: c }], [chargeFile()])).toEqual([]);
  });
});
