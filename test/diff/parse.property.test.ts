/**
 * Property tests: random files and hunks are rendered to diff text the way git prints them, parsed back,
 * and every line must come back with its exact kind, text and line numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDiff } from '../../src/diff/parse.js';
import type { DiffLine, DiffLineKind } from '../../src/diff/types.js';

interface ModelLine {
  kind: DiffLineKind;
  text: string;
  /** Render an empty context line as an empty line (as editors that strip trailing blanks do). */
  bare: boolean;
  /** Follow this line with "\ No newline at end of file". */
  noNewline: boolean;
}

interface ModelHunk {
  gap: number;
  section: string;
  lines: ModelLine[];
  omitOneCounts: boolean;
}

interface ModelFile {
  path: string;
  hunks: ModelHunk[];
}

/** Text of one line: any code points except line breaks. */
const lineText = fc
  .string({ unit: fc.oneof(fc.constantFrom('-', '+', ' ', '@', '\\', '\t', 'é', '中', '🙂', '"'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 30 })
  .map((s) => s.replace(/[\r\n]/g, '_'));

const modelLine: fc.Arbitrary<ModelLine> = fc.record({
  kind: fc.constantFrom<DiffLineKind>('add', 'del', 'ctx'),
  text: lineText,
  bare: fc.boolean(),
  noNewline: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});

const modelHunk: fc.Arbitrary<ModelHunk> = fc.record({
  gap: fc.nat({ max: 50 }),
  section: fc.oneof(fc.constant(''), lineText.map((s) => s.trim())),
  lines: fc.array(modelLine, { minLength: 1, maxLength: 12 }),
  omitOneCounts: fc.boolean(),
});

const segment = fc.string({
  unit: fc.constantFrom('a', 'b', 'z', '0', '_', '.', '-', ' ', 'é', '"', '\\', '中'),
  minLength: 1,
  maxLength: 8,
});
const path = fc
  .array(segment, { minLength: 1, maxLength: 3 })
  .map((segs) => segs.map((s) => (s === '.' || s === '..' ? 'd' : s)).join('/'))
  .filter((p) => p.trim() === p && !p.includes('/ ') && !p.includes(' /'));

const modelFile: fc.Arbitrary<ModelFile> = fc.record({
  path,
  hunks: fc.array(modelHunk, { minLength: 1, maxLength: 4 }),
});

function needsQuote(p: string): boolean {
  return /[^\x20-\x7e]|["\\]/.test(p);
}

function quote(p: string): string {
  let out = '"';
  for (const byte of Buffer.from(p, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte === 0x09) out += '\\t';
    else if (byte < 0x20 || byte >= 0x7f) out += '\\' + byte.toString(8).padStart(3, '0');
    else out += String.fromCharCode(byte);
  }
  return out + '"';
}

function renderPath(prefix: string, p: string): string {
  if (needsQuote(p)) return quote(prefix + p);
  return prefix + p + (p.includes(' ') ? '\t' : '');
}

function headerPath(prefix: string, p: string): string {
  return needsQuote(p) ? quote(prefix + p) : prefix + p;
}

/** Renders the model as git would and returns the text with the lines the parser should produce. */
function render(files: ModelFile[], eol: string): { text: string; expected: DiffLine[][][] } {
  const out: string[] = [];
  const expected: DiffLine[][][] = [];
  for (const f of files) {
    out.push(`diff --git ${headerPath('a/', f.path)} ${headerPath('b/', f.path)}`);
    out.push('index 0123456..789abcd 100644');
    out.push(`--- ${renderPath('a/', f.path)}`);
    out.push(`+++ ${renderPath('b/', f.path)}`);
    let oldPos = 1;
    let newPos = 1;
    const fileExpected: DiffLine[][] = [];
    for (const h of f.hunks) {
      oldPos += h.gap;
      newPos += h.gap;
      const oldCount = h.lines.filter((l) => l.kind !== 'add').length;
      const newCount = h.lines.filter((l) => l.kind !== 'del').length;
      const oldStart = oldCount === 0 ? oldPos - 1 : oldPos;
      const newStart = newCount === 0 ? newPos - 1 : newPos;
      const range = (start: number, count: number): string =>
        count === 1 && h.omitOneCounts ? `${start}` : `${start},${count}`;
      out.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@${h.section ? ' ' + h.section : ''}`);
      const hunkExpected: DiffLine[] = [];
      for (const l of h.lines) {
        if (l.kind === 'ctx') {
          out.push(l.text === '' && l.bare ? '' : ' ' + l.text);
          hunkExpected.push({ kind: 'ctx', text: l.text, oldLine: oldPos++, newLine: newPos++ });
        } else if (l.kind === 'del') {
          out.push('-' + l.text);
          hunkExpected.push({ kind: 'del', text: l.text, oldLine: oldPos++ });
        } else {
          out.push('+' + l.text);
          hunkExpected.push({ kind: 'add', text: l.text, newLine: newPos++ });
        }
        if (l.noNewline) out.push('\\ No newline at end of file');
      }
      fileExpected.push(hunkExpected);
    }
    expected.push(fileExpected);
  }
  return { text: out.join(eol) + eol, expected };
}

describe('parseDiff round trip', () => {
  it('gives back every line with its text and numbers, LF and CRLF, string and bytes', () => {
    fc.assert(
      fc.property(
        fc.array(modelFile, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        (files, eol, asBuffer) => {
          const { text, expected } = render(files, eol);
          const result = parseDiff(asBuffer ? Buffer.from(text, 'utf8') : text);
          expect(result.warnings).toEqual([]);
          expect(result.files.map((f) => f.newPath)).toEqual(files.map((f) => f.path));
          expect(result.files.map((f) => f.oldPath)).toEqual(files.map((f) => f.path));
          expect(result.files.map((f) => f.hunks.map((h) => h.lines))).toEqual(expected);
          result.files.forEach((f, i) => {
            expect(f.status).toBe('modified');
            f.hunks.forEach((h, j) => {
              expect(h.section).toBe(files[i]!.hunks[j]!.section);
            });
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Diff-like lines, to reach the parser's odd corners more often than random text does. */
const diffish = fc.constantFrom(
  'diff --git a/x.ts b/x.ts',
  'diff --git "a/q\\303.ts" "b/q',
  'diff --cc m.ts',
  '--- a/x.ts',
  '+++ b/x.ts',
  '--- /dev/null',
  '+++ /dev/null',
  '@@ -1,3 +1,4 @@ fn',
  '@@ -0,0 +1 @@',
  '@@ -5 +5,0 @@',
  '@@ -99999999999999999999,1 +1 @@',
  '@@@ -1 -1 +1 @@@',
  ' ctx',
  '-del',
  '+add',
  '',
  '\r',
  '-- ',
  '\\ No newline at end of file',
  'new file mode 100644',
  'deleted file mode 100644',
  'old mode 100644',
  'new mode 100755',
  'rename from "a\\',
  'rename to b',
  'copy from c',
  'copy to d',
  'Binary files a/x and b/x differ',
  'Binary files differ',
  'GIT binary patch',
  'literal 0',
);

describe('parseDiff never throws', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => {
        const r = parseDiff(s);
        expect(Array.isArray(r.files)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const r = parseDiff(Buffer.from(bytes));
        expect(Array.isArray(r.warnings)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('on shuffled diff fragments, and every numbered line is consistent', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(diffish, fc.string({ maxLength: 12 })), { maxLength: 60 }), fc.constantFrom('\n', '\r\n'), (parts, eol) => {
        const r = parseDiff(parts.join(eol));
        for (const f of r.files) {
          if (f.binary) expect(f.hunks).toEqual([]);
          for (const h of f.hunks) {
            for (const l of h.lines) {
              expect(l.text.endsWith('\r')).toBe(false);
              if (l.kind !== 'del') expect(Number.isFinite(l.newLine)).toBe(true);
              if (l.kind !== 'add') expect(Number.isFinite(l.oldLine)).toBe(true);
            }
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
