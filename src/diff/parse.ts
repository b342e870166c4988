/**
 * Unified-diff parser for the output of `git diff` (and plain `diff -u`).
 *
 * It never throws: whatever it cannot make sense of is skipped, and hunks whose
 * line counts disagree with their header are parsed as far as they go, with one
 * warning each. The input is split into lines once and walked with an index; the
 * only regular expression run per line is the hunk-header one, and only on lines
 * that start with "@@".
 */
import type { DiffFile, DiffLine, DiffParseResult, Hunk } from './types.js';

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

const CH_SPACE = 32;
const CH_PLUS = 43;
const CH_MINUS = 45;
const CH_BACKSLASH = 92;
const CH_AT = 64;
const CH_CR = 13;
const CH_QUOTE = 34;

/** Decodes bytes as UTF-8; invalid sequences become U+FFFD. A leading BOM is dropped. */
function decode(input: string | Buffer): string {
  let text =
    typeof input === 'string'
      ? input
      : Buffer.isBuffer(input)
        ? input.toString('utf8')
        : Buffer.from(input as Uint8Array).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

/** The body text of a hunk line: without its first character and without a trailing carriage return. */
function bodyText(raw: string): string {
  return raw.charCodeAt(raw.length - 1) === CH_CR ? raw.slice(1, -1) : raw.slice(1);
}

/** The line without a trailing carriage return. */
function stripCr(line: string): string {
  return line.charCodeAt(line.length - 1) === CH_CR ? line.slice(0, -1) : line;
}

const ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  t: 9,
  n: 10,
  v: 11,
  f: 12,
  r: 13,
  '"': 34,
  '\\': 92,
};

/**
 * Reads a C-style quoted string (as git writes paths with unusual characters) starting at `start`,
 * which must be a double quote. Octal escapes are bytes, decoded together as UTF-8.
 * Returns the text and the index after the closing quote, or null when there is no closing quote.
 */
function readQuoted(s: string, start: number): { value: string; end: number } | null {
  const bytes: number[] = [];
  let i = start + 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === CH_QUOTE) {
      return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
    }
    if (c === CH_BACKSLASH && i + 1 < s.length) {
      const next = s[i + 1]!;
      if (next >= '0' && next <= '7') {
        let j = i + 1;
        let value = 0;
        while (j < s.length && j < i + 4 && s[j]! >= '0' && s[j]! <= '7') {
          value = value * 8 + (s.charCodeAt(j) - 48);
          j++;
        }
        bytes.push(value & 0xff);
        i = j;
        continue;
      }
      const esc = ESCAPES[next];
      bytes.push(esc ?? next.charCodeAt(0));
      i += 2;
      continue;
    }
    // Ordinary character: append its UTF-8 bytes.
    const cp = s.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    for (const b of Buffer.from(s.slice(i, i + width), 'utf8')) bytes.push(b);
    i += width;
  }
  return null;
}

/** A path as written after `---`/`+++`, `rename from` and the like: maybe quoted, maybe followed by a tab and a date. */
function readPathField(field: string): string {
  if (field.charCodeAt(0) === CH_QUOTE) {
    const q = readQuoted(field, 0);
    if (q) return q.value;
  }
  const tab = field.indexOf('\t');
  return tab >= 0 ? field.slice(0, tab) : field.trimEnd();
}

function stripPrefix(path: string, prefix: string): string {
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/** Splits the paths of a `diff --git A B` header. Either may be quoted; unquoted paths may contain spaces. */
function parseGitHeaderPaths(rest: string): { oldPath: string; newPath: string } {
  let a: string | null = null;
  let b: string | null = null;
  if (rest.charCodeAt(0) === CH_QUOTE) {
    const q = readQuoted(rest, 0);
    if (q) {
      a = q.value;
      const tail = rest.slice(q.end).replace(/^ /, '');
      const q2 = tail.charCodeAt(0) === CH_QUOTE ? readQuoted(tail, 0) : null;
      b = q2 ? q2.value : tail;
    }
  } else if (rest.endsWith('"')) {
    const open = rest.lastIndexOf(' "');
    if (open >= 0) {
      const q = readQuoted(rest, open + 1);
      if (q) {
        a = rest.slice(0, open);
        b = q.value;
      }
    }
  }
  if (a === null || b === null) {
    // Unquoted. When old and new are the same path (the usual case), the header is "a/P b/P":
    // split in the middle, which copes with spaces in P.
    const mid = (rest.length - 1) / 2;
    if (Number.isInteger(mid) && rest[mid] === ' ') {
      const left = rest.slice(0, mid);
      const right = rest.slice(mid + 1);
      if (left.slice(2) === right.slice(2)) {
        a = left;
        b = right;
      }
    }
    if (a === null || b === null) {
      const sep = rest.indexOf(' b/');
      const at = sep >= 0 ? sep : rest.indexOf(' ');
      a = at >= 0 ? rest.slice(0, at) : rest;
      b = at >= 0 ? rest.slice(at + 1) : rest;
    }
  }
  if (a.startsWith('a/') && b.startsWith('b/')) {
    a = a.slice(2);
    b = b.slice(2);
  }
  return { oldPath: a, newPath: b };
}

interface FileState {
  file: DiffFile;
  /** From a `diff --git` header (paths known, `---`/`+++` optional). */
  git: boolean;
  sawMinusPlus: boolean;
  newFile: boolean;
  deletedFile: boolean;
  renamed: boolean;
  copied: boolean;
  modeChange: boolean;
}

function newState(oldPath: string | null, newPath: string | null, git: boolean): FileState {
  return {
    file: { oldPath, newPath, status: 'modified', binary: false, hunks: [] },
    git,
    sawMinusPlus: false,
    newFile: false,
    deletedFile: false,
    renamed: false,
    copied: false,
    modeChange: false,
  };
}

function finish(st: FileState): DiffFile {
  const f = st.file;
  if (st.newFile) {
    f.status = 'added';
    f.oldPath = null;
  } else if (st.deletedFile) {
    f.status = 'deleted';
    f.newPath = null;
  } else if (st.renamed) {
    f.status = 'renamed';
  } else if (st.copied) {
    f.status = 'copied';
  } else if (st.modeChange && f.hunks.length === 0 && !f.binary) {
    f.status = 'mode-only';
  } else {
    f.status = 'modified';
  }
  if (f.binary) f.hunks = [];
  return f;
}

function filePathForMessages(st: FileState | null): string {
  if (!st) return '(no file)';
  return st.file.newPath ?? st.file.oldPath ?? '(unnamed file)';
}

function hunkHeaderText(h: Hunk): string {
  return `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
}

/** True for a line that is `--- X` followed by `+++ Y` (a file header of a plain unified diff). */
function isMinusPlusHeader(lines: string[], i: number): boolean {
  const l = lines[i];
  const n = lines[i + 1];
  return l !== undefined && n !== undefined && l.startsWith('--- ') && n.startsWith('+++ ');
}

/**
 * Parses unified-diff text. Never throws; problems are reported in `warnings`.
 */
export function parseDiff(input: string | Buffer): DiffParseResult {
  const files: DiffFile[] = [];
  const warnings: string[] = [];
  try {
    parseInto(decode(input), files, warnings);
  } catch (err) {
    // Input too large to decode into one string, or a bug: report it instead of throwing.
    warnings.push(`diff parser stopped early: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { files, warnings };
}

function parseInto(text: string, files: DiffFile[], warnings: string[]): void {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const n = lines.length;

  let cur: FileState | null = null;
  /** Combined diffs (`diff --cc`) are skipped up to the next `diff ` line. */
  let skipping = false;

  const closeFile = (): void => {
    if (cur) files.push(finish(cur));
    cur = null;
  };

  let i = 0;
  while (i < n) {
    const line = stripCr(lines[i]!);

    if (line.startsWith('diff ')) {
      closeFile();
      skipping = false;
      if (line.startsWith('diff --git ')) {
        const p = parseGitHeaderPaths(line.slice(11));
        cur = newState(p.oldPath, p.newPath, true);
      } else if (line.startsWith('diff --cc ') || line.startsWith('diff --combined ')) {
        skipping = true;
        warnings.push(`${line.slice(line.indexOf(' ', 5) + 1)}: combined (merge) diff skipped`);
      }
      // Other `diff ...` lines (e.g. `diff -u a b`) just precede a `---`/`+++` pair.
      i++;
      continue;
    }
    if (skipping) {
      i++;
      continue;
    }

    if (line.charCodeAt(0) === CH_AT && line.charCodeAt(1) === CH_AT) {
      const m = HUNK_HEADER.exec(line);
      if (!m) {
        i++;
        continue;
      }
      if (!cur) {
        warnings.push(`hunk ${line.slice(0, 60)} appears before any file header; skipped`);
      }
      i = readHunk(lines, i + 1, m, cur, warnings);
      continue;
    }

    if (line.startsWith('--- ') && i + 1 < n && lines[i + 1]!.startsWith('+++ ')) {
      const oldField = readPathField(line.slice(4));
      const newField = readPathField(stripCr(lines[i + 1]!).slice(4));
      // A git file whose `---`/`+++` we have not seen yet owns this pair; otherwise it starts a plain-diff file.
      if (!cur || !cur.git || cur.sawMinusPlus || cur.file.hunks.length > 0) {
        closeFile();
        cur = newState(null, null, false);
      }
      const st: FileState = cur;
      st.sawMinusPlus = true;
      const bothPrefixed = oldField.startsWith('a/') && newField.startsWith('b/');
      if (oldField === '/dev/null') {
        st.newFile = true;
      } else {
        st.file.oldPath = bothPrefixed || newField === '/dev/null' ? stripPrefix(oldField, 'a/') : oldField;
      }
      if (newField === '/dev/null') {
        st.deletedFile = true;
      } else {
        st.file.newPath = bothPrefixed || oldField === '/dev/null' ? stripPrefix(newField, 'b/') : newField;
      }
      i += 2;
      continue;
    }

    if (line.startsWith('Binary files ') && line.endsWith(' differ')) {
      if (!cur) {
        const body = line.slice(13, -7);
        const and = body.indexOf(' and ');
        const a = and >= 0 ? body.slice(0, and) : body;
        const b = and >= 0 ? body.slice(and + 5) : body;
        cur = newState(a === '/dev/null' ? null : stripPrefix(a, 'a/'), b === '/dev/null' ? null : stripPrefix(b, 'b/'), false);
        if (a === '/dev/null') cur.newFile = true;
        if (b === '/dev/null') cur.deletedFile = true;
      }
      cur.file.binary = true;
      i++;
      continue;
    }

    if (cur) {
      const st: FileState = cur;
      if (line === 'GIT binary patch') st.file.binary = true;
      else if (line.startsWith('new file mode')) st.newFile = true;
      else if (line.startsWith('deleted file mode')) st.deletedFile = true;
      else if (line.startsWith('old mode') || line.startsWith('new mode')) st.modeChange = true;
      else if (line.startsWith('rename from ')) {
        st.renamed = true;
        st.file.oldPath = readPathField(line.slice(12));
      } else if (line.startsWith('rename to ')) {
        st.renamed = true;
        st.file.newPath = readPathField(line.slice(10));
      } else if (line.startsWith('copy from ')) {
        st.copied = true;
        st.file.oldPath = readPathField(line.slice(10));
      } else if (line.startsWith('copy to ')) {
        st.copied = true;
        st.file.newPath = readPathField(line.slice(8));
      }
      // `index`, `similarity index`, binary-patch data and anything else outside a hunk are ignored.
    }
    i++;
  }
  closeFile();
}

/**
 * Reads the body of one hunk starting at `start` (the line after the header) and returns the index of
 * the first line after it. Lines are numbered from the header's starts. If the body ends before the
 * header's counts are reached, or runs past them with more hunk lines, one warning is added.
 */
function readHunk(
  lines: string[],
  start: number,
  m: RegExpExecArray,
  cur: FileState | null,
  warnings: string[],
): number {
  const hunk: Hunk = {
    oldStart: Number(m[1]),
    oldLines: m[2] === undefined ? 1 : Number(m[2]),
    newStart: Number(m[3]),
    newLines: m[4] === undefined ? 1 : Number(m[4]),
    section: m[5] ?? '',
    lines: [],
  };
  const body: DiffLine[] = hunk.lines;
  let oldNo = hunk.oldStart;
  let newNo = hunk.newStart;
  let oldLeft = hunk.oldLines;
  let newLeft = hunk.newLines;
  let extra = 0;
  const n = lines.length;
  let i = start;

  // Body within the header's counts.
  while (i < n && (oldLeft > 0 || newLeft > 0)) {
    const raw = lines[i]!;
    const c = raw.charCodeAt(0);
    if (c === CH_BACKSLASH) {
      i++;
      continue;
    }
    if (c === CH_SPACE || raw.length === 0 || (raw.length === 1 && c === CH_CR)) {
      if (oldLeft === 0 || newLeft === 0) break;
      body.push({ kind: 'ctx', text: bodyText(raw), oldLine: oldNo++, newLine: newNo++ });
      oldLeft--;
      newLeft--;
    } else if (c === CH_MINUS) {
      if (oldLeft === 0) break;
      // A `---`/`+++`/`@@` triple that the remaining counts cannot be is the next file of a plain diff.
      if (looksLikeNextFile(lines, i, oldLeft, newLeft)) break;
      body.push({ kind: 'del', text: bodyText(raw), oldLine: oldNo++ });
      oldLeft--;
    } else if (c === CH_PLUS) {
      if (newLeft === 0) break;
      body.push({ kind: 'add', text: bodyText(raw), newLine: newNo++ });
      newLeft--;
    } else {
      break;
    }
    i++;
  }

  const short = oldLeft > 0 || newLeft > 0;
  if (!short) {
    // Past the counts: hand-edited diffs often undercount. Keep taking plain hunk lines, but never a
    // file header, a mail signature ("-- ") or a blank line that is not followed by more hunk lines.
    while (i < n) {
      const raw = lines[i]!;
      const c = raw.charCodeAt(0);
      if (c === CH_BACKSLASH) {
        i++;
        continue;
      }
      const blank = raw.length === 0 || (raw.length === 1 && c === CH_CR);
      if (blank) {
        if (!isBodyLine(lines, i + 1)) break;
        body.push({ kind: 'ctx', text: '', oldLine: oldNo++, newLine: newNo++ });
      } else if (!isBodyLine(lines, i)) {
        break;
      } else if (c === CH_SPACE) {
        body.push({ kind: 'ctx', text: bodyText(raw), oldLine: oldNo++, newLine: newNo++ });
      } else if (c === CH_MINUS) {
        body.push({ kind: 'del', text: bodyText(raw), oldLine: oldNo++ });
      } else {
        body.push({ kind: 'add', text: bodyText(raw), newLine: newNo++ });
      }
      extra++;
      i++;
    }
    // Trailing "\ No newline" markers after the body.
    while (i < n && lines[i]!.charCodeAt(0) === CH_BACKSLASH) i++;
  }

  const where = filePathForMessages(cur);
  if (!cur) {
    // Already reported as a hunk outside any file.
  } else if (short) {
    const seenOld = hunk.oldLines - oldLeft;
    const seenNew = hunk.newLines - newLeft;
    const detail =
      newLeft > 0
        ? `${seenNew} of ${hunk.newLines} new lines`
        : `${seenOld} of ${hunk.oldLines} old lines`;
    warnings.push(`${where}: hunk ${hunkHeaderText(hunk)} ends after ${detail}`);
  } else if (extra > 0) {
    warnings.push(`${where}: hunk ${hunkHeaderText(hunk)} has ${extra} more line(s) than its header counts`);
  }

  if (cur && !cur.file.binary) cur.file.hunks.push(hunk);
  return i;
}

/** A line that can only be part of a hunk body: ' ', '+' or '-' first, and not a file header or "-- ". */
function isBodyLine(lines: string[], i: number): boolean {
  const raw = lines[i];
  if (raw === undefined || raw.length === 0) return false;
  const c = raw.charCodeAt(0);
  if (c === CH_SPACE) return true;
  if (c === CH_PLUS) return !raw.startsWith('+++ ');
  if (c === CH_MINUS) {
    if (raw === '-- ' || raw === '-- \r') return false;
    return !isMinusPlusHeader(lines, i);
  }
  return false;
}

/**
 * Within the counts, a `--- X` / `+++ Y` pair is taken as a deleted and an added line, as git does,
 * unless a hunk header follows and the pair would not complete the hunk exactly: then the counts are
 * wrong and the pair is the next file's header.
 */
function looksLikeNextFile(lines: string[], i: number, oldLeft: number, newLeft: number): boolean {
  if (!isMinusPlusHeader(lines, i)) return false;
  const after = lines[i + 2];
  if (after === undefined || !after.startsWith('@@ ')) return false;
  return !(oldLeft === 1 && newLeft === 1);
}

/** True when the text has the structure of a unified diff: a `diff --git` line, or `---`, `+++` and `@@` lines in a row. */
export function isProbablyDiff(text: string): boolean {
  if (text.startsWith('diff --git ') || text.includes('\ndiff --git ')) return true;
  return /^--- [^\n]*\n\+\+\+ [^\n]*\n@@ -\d/m.test(text);
}

/** True when the bytes look binary: a NUL byte within the first 8000 bytes (git's own test). */
export function looksBinary(buf: Buffer | Uint8Array): boolean {
  const end = Math.min(buf.length, 8000);
  for (let k = 0; k < end; k++) if (buf[k] === 0) return true;
  return false;
}
