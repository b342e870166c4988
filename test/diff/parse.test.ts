import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isProbablyDiff, looksBinary, parseDiff } from '../../src/diff/parse.js';
import type { DiffFile } from '../../src/diff/types.js';

const fixture = (name: string): Buffer =>
  readFileSync(fileURLToPath(new URL(`../fixtures/diffs/${name}`, import.meta.url)));

function byPath(files: DiffFile[], path: string): DiffFile {
  const f = files.find((x) => (x.newPath ?? x.oldPath) === path);
  if (!f) throw new Error(`no file ${path} in ${files.map((x) => x.newPath ?? x.oldPath).join(', ')}`);
  return f;
}

describe('parseDiff on real git output (git-mixed.diff)', () => {
  const { files, warnings } = parseDiff(fixture('git-mixed.diff'));

  it('finds every file, without warnings', () => {
    expect(warnings).toEqual([]);
    expect(files).toHaveLength(13);
  });

  it('deleted file', () => {
    const f = byPath(files, 'gone.ts');
    expect(f).toMatchObject({ oldPath: 'gone.ts', newPath: null, status: 'deleted', binary: false });
    expect(f.hunks[0]!.lines).toEqual([{ kind: 'del', text: 'keep', oldLine: 1 }]);
  });

  it('new file', () => {
    const f = byPath(files, 'src/new.ts');
    expect(f).toMatchObject({ oldPath: null, newPath: 'src/new.ts', status: 'added' });
    expect(f.hunks[0]).toMatchObject({ oldStart: 0, oldLines: 0, newStart: 1, newLines: 1 });
    expect(f.hunks[0]!.lines).toEqual([{ kind: 'add', text: 'brand new', newLine: 1 }]);
  });

  it('copy with changes', () => {
    const f = byPath(files, 'lib/copy.ts');
    expect(f).toMatchObject({ oldPath: 'lib/source.ts', status: 'copied' });
    expect(f.hunks[0]!.lines.at(-1)).toEqual({ kind: 'add', text: 'export const c20 = 21;', newLine: 20 });
  });

  it('rename with hunks, and a pure rename', () => {
    const moved = byPath(files, 'lib/moved2.ts');
    expect(moved).toMatchObject({ oldPath: 'lib/moved.ts', status: 'renamed' });
    expect(moved.hunks[0]!.section).toBe('const v11 = 11;');
    expect(moved.hunks[0]!.lines.find((l) => l.kind === 'add')).toEqual({
      kind: 'add',
      text: 'const v15 = 150;',
      newLine: 15,
    });
    const pure = byPath(files, 'lib/new-name.ts');
    expect(pure).toMatchObject({ oldPath: 'lib/old-name.ts', status: 'renamed', hunks: [] });
  });

  it('binary file', () => {
    expect(byPath(files, 'logo.png')).toMatchObject({ binary: true, hunks: [], status: 'modified' });
  });

  it('mode-only change', () => {
    expect(byPath(files, 'run.sh')).toMatchObject({ status: 'mode-only', hunks: [], binary: false });
  });

  it('quoted path with octal escapes', () => {
    const f = byPath(files, 'src/café.ts');
    expect(f.oldPath).toBe('src/café.ts');
    expect(f.hunks[0]!.lines.map((l) => l.text)).toEqual(['é', 'è']);
  });

  it('CRLF content: the carriage return is stripped', () => {
    const f = byPath(files, 'src/crlf.ts');
    expect(f.hunks[0]!.lines).toEqual([
      { kind: 'ctx', text: 'x', oldLine: 1, newLine: 1 },
      { kind: 'del', text: 'y', oldLine: 2 },
      { kind: 'add', text: 'Y', newLine: 2 },
      { kind: 'ctx', text: 'z', oldLine: 3, newLine: 3 },
    ]);
  });

  it('several hunks with sections and exact line numbers', () => {
    const f = byPath(files, 'src/long.ts');
    expect(f.hunks).toHaveLength(2);
    const [h1, h2] = f.hunks;
    expect(h1!.section).toBe('');
    expect(h2!.section).toBe('line 26');
    expect(h2!.lines.find((l) => l.kind === 'add')).toEqual({ kind: 'add', text: 'line thirty', newLine: 30 });
    expect(h2!.lines[0]).toEqual({ kind: 'ctx', text: 'line 27', oldLine: 27, newLine: 27 });
    expect(h2!.lines.at(-1)).toEqual({ kind: 'ctx', text: 'line 33', oldLine: 33, newLine: 33 });
  });

  it('"\\ No newline at end of file" is not a line', () => {
    const f = byPath(files, 'src/nonl.ts');
    expect(f.hunks[0]!.lines).toEqual([
      { kind: 'del', text: 'no newline', oldLine: 1 },
      { kind: 'add', text: 'no newline, changed', newLine: 1 },
    ]);
  });

  it('path with spaces (git adds a tab after it on ---/+++)', () => {
    const f = byPath(files, 'src/with space.ts');
    expect(f).toMatchObject({ oldPath: 'src/with space.ts', status: 'modified' });
  });

  it('numbers added and context lines on the new side, deleted and context on the old side', () => {
    const f = byPath(files, 'src/sum.ts');
    expect(f.hunks[0]!.lines.map((l) => [l.kind, l.oldLine, l.newLine])).toEqual([
      ['del', 1, undefined],
      ['add', undefined, 1],
      ['ctx', 2, 2],
      ['ctx', 3, 3],
      ['add', undefined, 4],
      ['ctx', 4, 5],
      ['ctx', 5, 6],
    ]);
  });
});

describe('parseDiff, other shapes', () => {
  it('GIT binary patch', () => {
    const { files, warnings } = parseDiff(fixture('git-binary-patch.diff'));
    expect(warnings).toEqual([]);
    expect(files).toEqual([{ oldPath: 'logo.png', newPath: 'logo.png', status: 'modified', binary: true, hunks: [] }]);
  });

  it('rename across folders whose names have spaces', () => {
    const { files } = parseDiff(fixture('git-rename-spaces.diff'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({
      oldPath: 'src/old dir/my file.ts',
      newPath: 'src/new dir/my file.ts',
      status: 'renamed',
    });
    expect(files[0]!.hunks[0]!.lines.find((l) => l.kind === 'add')?.newLine).toBe(10);
  });

  it('plain diff -u with timestamps and no prefixes', () => {
    const { files, warnings } = parseDiff(fixture('plain-diff-u.diff'));
    expect(warnings).toEqual([]);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ oldPath: 'old/q.sql', newPath: 'new/q.sql', status: 'modified' });
    expect(files[0]!.hunks[0]!.lines.filter((l) => l.kind === 'add').map((l) => [l.text, l.newLine])).toEqual([
      ['SELECT 2;', 1],
      ['bar', 3],
    ]);
  });

  it('plain --- a/x +++ b/x pairs, several files, new and deleted via /dev/null', () => {
    const text = [
      '--- a/one.ts',
      '+++ b/one.ts',
      '@@ -3 +3,2 @@',
      '-old',
      '+new',
      '+more',
      '--- /dev/null',
      '+++ b/two.py',
      '@@ -0,0 +1 @@',
      '+print(1)',
      '--- a/three.rb',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-puts 1',
      '',
    ].join('\n');
    const { files, warnings } = parseDiff(text);
    expect(warnings).toEqual([]);
    expect(files.map((f) => [f.oldPath, f.newPath, f.status])).toEqual([
      ['one.ts', 'one.ts', 'modified'],
      [null, 'two.py', 'added'],
      ['three.rb', null, 'deleted'],
    ]);
    expect(files[0]!.hunks[0]).toMatchObject({ oldStart: 3, oldLines: 1, newStart: 3, newLines: 2 });
    expect(files[0]!.hunks[0]!.lines.map((l) => l.newLine ?? l.oldLine)).toEqual([3, 3, 4]);
  });

  it('a deleted "-- comment" and added "++ x" line inside the counts stay body lines', () => {
    const text = [
      'diff --git a/q.sql b/q.sql',
      '--- a/q.sql',
      '+++ b/q.sql',
      '@@ -1,2 +1,2 @@',
      '--- old comment',
      '+++ new',
      ' SELECT 1;',
      '',
    ].join('\n');
    const { files, warnings } = parseDiff(text);
    expect(warnings).toEqual([]);
    expect(files[0]!.hunks[0]!.lines).toEqual([
      { kind: 'del', text: '-- old comment', oldLine: 1 },
      { kind: 'add', text: '++ new', newLine: 1 },
      { kind: 'ctx', text: 'SELECT 1;', oldLine: 2, newLine: 2 },
    ]);
  });

  it('mode change together with content is "modified"', () => {
    const text = [
      'diff --git a/run.sh b/run.sh',
      'old mode 100644',
      'new mode 100755',
      'index 1111111..2222222',
      '--- a/run.sh',
      '+++ b/run.sh',
      '@@ -1 +1 @@',
      '-echo a',
      '+echo b',
    ].join('\n');
    expect(parseDiff(text).files[0]!.status).toBe('modified');
  });

  it('new empty file and binary new file', () => {
    const text = [
      'diff --git a/empty.ts b/empty.ts',
      'new file mode 100644',
      'index 0000000..e69de29',
      'diff --git a/img.png b/img.png',
      'new file mode 100644',
      'index 0000000..1234567',
      'Binary files /dev/null and b/img.png differ',
    ].join('\n');
    const { files } = parseDiff(text);
    expect(files).toEqual([
      { oldPath: null, newPath: 'empty.ts', status: 'added', binary: false, hunks: [] },
      { oldPath: null, newPath: 'img.png', status: 'added', binary: true, hunks: [] },
    ]);
  });

  it('quoted rename paths with escapes', () => {
    const text = [
      'diff --git "a/say \\"hi\\".ts" "b/tab\\there.ts"',
      'similarity index 100%',
      'rename from "say \\"hi\\".ts"',
      'rename to "tab\\there.ts"',
    ].join('\n');
    const { files } = parseDiff(text);
    expect(files[0]).toMatchObject({ oldPath: 'say "hi".ts', newPath: 'tab\there.ts', status: 'renamed' });
  });

  it('hunk counts default to 1 when omitted', () => {
    const text = ['--- a/x.ts', '+++ b/x.ts', '@@ -7 +7 @@ fn', '-a', '+b', ''].join('\n');
    const h = parseDiff(text).files[0]!.hunks[0]!;
    expect(h).toMatchObject({ oldStart: 7, oldLines: 1, newStart: 7, newLines: 1, section: 'fn' });
    expect(h.lines).toEqual([
      { kind: 'del', text: 'a', oldLine: 7 },
      { kind: 'add', text: 'b', newLine: 7 },
    ]);
  });

  it('non-UTF-8 bytes are replaced, not fatal', () => {
    const head = Buffer.from('--- a/l.py\n+++ b/l.py\n@@ -1 +1 @@\n-x\n+caf');
    const buf = Buffer.concat([head, Buffer.from([0xe9, 0x0a])]);
    const { files, warnings } = parseDiff(buf);
    expect(warnings).toEqual([]);
    expect(files[0]!.hunks[0]!.lines[1]).toEqual({ kind: 'add', text: 'caf\uFFFD', newLine: 1 });
  });

  it('a very long line is read whole and fast', () => {
    const long = 'x'.repeat(2_000_000);
    const text = `--- a/m.js\n+++ b/m.js\n@@ -1 +1 @@\n-${long}\n+${long}y\n`;
    const { files } = parseDiff(text);
    expect(files[0]!.hunks[0]!.lines[1]!.text.length).toBe(2_000_001);
  });

  it('a pending hunk ends at the next file header of a plain diff', () => {
    const text = ['--- a/a.ts', '+++ b/a.ts', '@@ -1,3 +1,3 @@', ' k', '--- a/b.ts', '+++ b/b.ts', '@@ -1 +1 @@', '-p', '+q'].join('\n');
    const { files, warnings } = parseDiff(text);
    expect(files.map((f) => f.newPath)).toEqual(['a.ts', 'b.ts']);
    expect(files[1]!.hunks[0]!.lines).toHaveLength(2);
    expect(warnings).toEqual(['a.ts: hunk @@ -1,3 +1,3 @@ ends after 1 of 3 new lines']);
  });
});

describe('parseDiff on truncated or malformed input', () => {
  it('a truncated hunk is parsed as far as it goes, with one warning', () => {
    const text = ['diff --git a/src/a.ts b/src/a.ts', '--- a/src/a.ts', '+++ b/src/a.ts', '@@ -1,5 +1,7 @@', ' a', '+b', ' c'].join(
      '\n',
    );
    const { files, warnings } = parseDiff(text);
    expect(files[0]!.hunks[0]!.lines.map((l) => l.newLine)).toEqual([1, 2, 3]);
    expect(warnings).toEqual(['src/a.ts: hunk @@ -1,5 +1,7 @@ ends after 3 of 7 new lines']);
  });

  it('a hunk that runs past its counts (hand-edited) keeps its lines and warns', () => {
    const text = ['--- a/x.ts', '+++ b/x.ts', '@@ -1,2 +1,2 @@', ' a', ' b', '+c', ' d', '', ' e', '', 'trailing words'].join('\n');
    const { files, warnings } = parseDiff(text);
    expect(files[0]!.hunks[0]!.lines.map((l) => [l.kind, l.text, l.newLine])).toEqual([
      ['ctx', 'a', 1],
      ['ctx', 'b', 2],
      ['add', 'c', 3],
      ['ctx', 'd', 4],
      ['ctx', '', 5],
      ['ctx', 'e', 6],
    ]);
    expect(warnings).toEqual(['x.ts: hunk @@ -1,2 +1,2 @@ has 4 more line(s) than its header counts']);
  });

  it('a mail signature after the last hunk is not a deleted line', () => {
    const text = ['--- a/x.ts', '+++ b/x.ts', '@@ -1 +1 @@', '-a', '+b', '-- ', '2.43.0', ''].join('\n');
    const { files, warnings } = parseDiff(text);
    expect(files[0]!.hunks[0]!.lines).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  it('empty and junk input give no files and do not throw', () => {
    for (const input of ['', '\n\n', 'hello world', '@@ -1 +1 @@\n+x', '@@ nonsense @@', 'diff --git', '--- \n+++ \n']) {
      expect(() => parseDiff(input)).not.toThrow();
    }
    expect(parseDiff('hello').files).toEqual([]);
    expect(parseDiff('@@ -1 +1 @@\n+x').warnings).toHaveLength(1);
  });

  it('combined merge diffs are skipped with a warning', () => {
    const text = ['diff --cc f.ts', 'index 1,2..3', '@@@ -1,1 -1,1 +1,1 @@@', '- a', ' -b', '++c'].join('\n');
    const { files, warnings } = parseDiff(text);
    expect(files).toEqual([]);
    expect(warnings).toEqual(['f.ts: combined (merge) diff skipped']);
  });
});

describe('isProbablyDiff and looksBinary', () => {
  it('recognizes diff text', () => {
    expect(isProbablyDiff(fixture('git-mixed.diff').toString())).toBe(true);
    expect(isProbablyDiff(fixture('plain-diff-u.diff').toString())).toBe(true);
    expect(isProbablyDiff('--- a/x\r\n+++ b/x\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n')).toBe(true);
    expect(isProbablyDiff('some text\ndiff --git a/x b/x\n')).toBe(true);
  });

  it('rejects other text', () => {
    expect(isProbablyDiff('')).toBe(false);
    expect(isProbablyDiff('# README\n\n--- \nsome list\n')).toBe(false);
    expect(isProbablyDiff('--- a/x\n+++ b/x\nno hunk\n')).toBe(false);
    expect(isProbablyDiff('const x = 1;\n')).toBe(false);
  });

  it('detects NUL bytes in the first 8000 bytes only', () => {
    expect(looksBinary(Buffer.from([0x89, 0x50, 0x00, 0x47]))).toBe(true);
    expect(looksBinary(Buffer.from('plain text\n'))).toBe(false);
    expect(looksBinary(Buffer.concat([Buffer.alloc(8000, 0x61), Buffer.from([0])]))).toBe(false);
    expect(looksBinary(fixture('git-binary-patch.diff'))).toBe(false);
  });
});
