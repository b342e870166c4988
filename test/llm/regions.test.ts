import { describe, expect, it } from 'vitest';
import { buildRegions, candidateLines, definitionLines, factLines, statementEnd, statementStart } from '../../src/llm/regions.js';
import { candidate, chargeCandidate, chargeFile, sourceFile } from './helpers.js';

const rangesOf = (regions: ReturnType<typeof buildRegions>) => regions.map((r) => [r.startLine, r.endLine]);

describe('buildRegions', () => {
  it("sends the candidate's lines under its function's header, numbered, and nothing else of the file", () => {
    const regions = buildRegions([{ index: 0, candidate: chargeCandidate() }], [chargeFile()]);
    expect(regions).toHaveLength(1);
    const r = regions[0]!;
    expect(r).toMatchObject({ file: 'src/api/charge.ts', startLine: 5, endLine: 22, candidates: [0], addedOnly: true });
    // Every sent line is added: rows carry no mark (the file header says so once).
    expect(r.text.split('\n')[0]).toBe('5 export async function chargeCustomer(userId: string, amount: number, productId: string) {');
    expect(r.text).toContain('\n22   );');
    // After the candidate's last statement: the return and the closing brace are left out.
    expect(r.text).not.toContain("status: 'charged'");
    // Lines 1-3 (imports, a module secret) and the unrelated function at 26-28 are outside.
    expect(r.text).not.toContain('UNRELATED_FOOTER_MARKER');
    expect(r.text).not.toContain('import { db }');
    expect(r.text).not.toContain('STRIPE_KEY');
  });

  it('sends the whole function when only a few of its lines would be left out', () => {
    const r = buildRegions([{ index: 0, candidate: chargeCandidate({ line: 7, endLine: 22 }) }], [chargeFile()], { slack: 4 });
    expect(rangesOf(r)).toEqual([[5, 24]]);
    expect(r[0]!.text).toContain('\n24 }');
    expect(r[0]!.text).not.toContain('UNRELATED_FOOTER_MARKER');
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

  it('elides lines the diff does not show, keeping true line numbers and the added/context marks', () => {
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
    const r = buildRegions([{ index: 0, candidate: candidate({ file: 'src/w.ts', line: 7, endLine: 31 }) }], [file])[0]!;
    expect(r.addedOnly).toBe(false);
    expect(r.text).toContain('7+ line7();');
    expect(r.text).toContain('8  line8();');
    expect(r.text).toContain('30  line30();');
    expect(r.text).toContain('\n⋮\n');
    expect(r.text).not.toContain('line20');
  });

  it('windows a function too long to send whole', () => {
    const text = Array.from({ length: 400 }, (_, i) => `step${i + 1}();`).join('\n');
    const file = sourceFile({ path: 'src/big.ts', text, whole: true, functions: [{ name: 'huge', startLine: 1, endLine: 400 }] });
    const c = candidate({ file: 'src/big.ts', line: 200, endLine: 201, evidence: [{ line: 350, text: 'step350();', role: 'act' }] });
    const regions = buildRegions([{ index: 0, candidate: c }], [file], { window: 5 });
    expect(rangesOf(regions)).toEqual([
      [195, 206],
      [345, 355],
    ]);
  });

  it('in a long function sends the header, the guard lines, the definitions and whole statements, not the rest', () => {
    const lines = [
      'export async function settle(orderId: string) {', // 1
      '  return db.transaction(async (trx) => {', // 2
      '    const order = await trx("orders").where({ id: orderId }).first();', // 3
      '    audit("a1");', // 4
      '    audit("a2");', // 5
      '    audit("a3");', // 6
      '    audit("a4");', // 7
      '    audit("a5");', // 8
      '    const paid = await trx("payments")', // 9
      '      .where({ order_id: order.id })', // 10
      '      .sum("amount");', // 11
      '    audit("b1");', // 12
      '    audit("b2");', // 13
      '    audit("b3");', // 14
      '    audit("b4");', // 15
      '    await trx("orders").update({', // 16
      '      balance: order.total - paid,', // 17
      '    });', // 18
      '    audit("c1");', // 19
      '    audit("c2");', // 20
      '    audit("c3");', // 21
      '    audit("c4");', // 22
      '  });', // 23
      '}', // 24
    ];
    const file = sourceFile({
      path: 'src/settle.ts',
      text: lines.join('\n'),
      added: [[1, 24]],
      functions: [
        { name: 'settle', startLine: 1, endLine: 24 },
        { name: 'db.transaction() callback', startLine: 2, endLine: 23 },
      ],
    });
    const c = candidate({
      file: 'src/settle.ts',
      line: 9,
      endLine: 9,
      failureMode: 'lost_update',
      evidence: [
        { line: 9, text: lines[8]!, role: 'read' },
        { line: 16, text: lines[15]!, role: 'write' },
      ],
    });
    const picked = [...candidateLines(c, file)].sort((a, b) => a - b);
    // 1 header of the named function, 2 the transaction (header and guard), 3 where `order` comes from,
    // 9-11 the read with its chained calls, 16-18 the write up to its closing bracket.
    expect(picked).toEqual([1, 2, 3, 9, 10, 11, 16, 17, 18]);
    const r = buildRegions([{ index: 0, candidate: c }], [file]);
    expect(rangesOf(r)).toEqual([
      [1, 3],
      [9, 11],
      [16, 18],
    ]);
    const all = r.map((g) => g.text).join('\n');
    expect(all).not.toContain('audit(');
    // The common indentation is removed, relative indentation kept.
    expect(r[1]!.text).toBe('9     const paid = await trx("payments")\n10       .where({ order_id: order.id })\n11       .sum("amount");');
  });

  it('follows the lines a fact points at (the other lock path of a deadlock)', () => {
    const text = Array.from({ length: 120 }, (_, i) => `op${i + 1}();`).join('\n');
    const file = sourceFile({ path: 'src/locks.go', text, whole: true });
    const c = candidate({ file: 'src/locks.go', line: 10, endLine: 12, facts: { otherLine: '90', mutation: 'line 60: op60();', note: 'line' } });
    expect(factLines(c)).toEqual([90, 60]);
    expect(rangesOf(buildRegions([{ index: 0, candidate: c }], [file]))).toEqual([
      [10, 12],
      [60, 60],
      [90, 90],
    ]);
  });

  it('gives no region for a candidate whose file was not passed (dropped files never leave)', () => {
    const c = candidate({ file: 'package-lock.json', line: 1, endLine: 2 });
    expect(buildRegions([{ index: 0, candidate: c }], [chargeFile()])).toEqual([]);
  });
});

describe('statements and definitions', () => {
  const file = sourceFile({
    path: 'src/s.ts',
    text: [
      'async function f() {', // 1
      '  const team = await load(', // 2
      '    id,', // 3
      '  );', // 4
      '  if (team.size > 1) {', // 5
      '    await save(team.id);', // 6
      '  }', // 7
      '}', // 8
    ].join('\n'),
  });

  it('widens a line to its statement, but not into a block it opens', () => {
    expect(statementStart(file, 3)).toBe(2);
    expect(statementEnd(file, 2)).toBe(4);
    expect(statementEnd(file, 5)).toBe(5);
    expect(statementStart(file, 6)).toBe(6);
  });

  it('finds the line that assigns an object the selected statements use', () => {
    const fn = { name: 'f', startLine: 1, endLine: 8, async: true, text: '' };
    expect(definitionLines(file, new Set([5, 6]), new Set([fn]))).toEqual([2]);
    expect(definitionLines(file, new Set([2, 5, 6]), new Set([fn]))).toEqual([]);
  });
});
