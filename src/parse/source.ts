/**
 * Builds the new side of a changed file as the detectors see it: from the hunks (unseen lines are blank,
 * so numbering stays true), or, with a root folder, from the whole file on disk.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DiffFile } from '../diff/types.js';
import type { Language } from '../types.js';
import { findFunctions } from './functions.js';
import { TextLines } from './text-lines.js';
import type { FunctionSpan, LineSet, SourceFile } from './types.js';

/** Reads a file of the new revision (whole), or undefined when it cannot. */
export type SourceReader = (path: string) => Promise<string | undefined>;

export interface BuildOptions {
  /** Where whole files of the new revision come from (a folder with --root, the GitHub API in the App). */
  readSource?: SourceReader;
}

/** Reads files below `root`, never outside it. */
export function folderReader(root: string): SourceReader {
  const base = path.resolve(root);
  return async (filePath) => {
    const resolved = path.resolve(base, filePath);
    if (!resolved.startsWith(base + path.sep)) return undefined;
    return readFile(resolved, 'utf8').catch(() => undefined);
  };
}

export async function buildSourceFile(file: DiffFile, language: Language, opts: BuildOptions = {}): Promise<SourceFile> {
  const filePath = file.newPath ?? file.oldPath ?? '';
  let last = 0;
  for (const hunk of file.hunks) {
    for (const l of hunk.lines) if (l.newLine !== undefined && l.newLine > last) last = l.newLine;
  }
  const shown = new LineBits(last);
  const added = new LineBits(last);
  for (const hunk of file.hunks) {
    for (const l of hunk.lines) {
      if (l.newLine === undefined) continue;
      shown.add(l.newLine);
      if (l.kind === 'add') added.add(l.newLine);
    }
  }

  let lines: string[] | undefined;
  let text: string | undefined;
  let whole = false;
  if (opts.readSource) {
    text = (await opts.readSource(filePath))?.replace(/\r\n/g, '\n');
    lines = text?.split('\n');
    // The file on disk must be the revision the diff describes; otherwise line numbers would lie.
    if (lines && !agreesWithDiff(lines, file)) lines = undefined;
    whole = lines !== undefined;
  }
  if (!lines) {
    lines = new Array<string>(last).fill('');
    for (const hunk of file.hunks) {
      for (const l of hunk.lines) if (l.newLine !== undefined) lines[l.newLine - 1] = l.text;
    }
  }
  const source = whole && text !== undefined ? new TextLines(text) : TextLines.of(lines);
  const functions = await findFunctions(language, lines, source);
  if (!whole) {
    functions.push(...(await reparsedHunks(file, language, lines, functions)));
    functions.push(...hunkRegions(file, functions, source));
  }
  functions.sort((a, b) => a.startLine - b.startLine || b.endLine - a.endLine);
  return { path: filePath, language, lines, text: source.text, shown, added, whole, functions };
}

/** Line numbers 1..size as one bit (byte) each: a `Set<number>` costs tens of bytes per line on large diffs. */
class LineBits implements LineSet {
  private readonly bits: Uint8Array;
  size = 0;

  constructor(maxLine: number) {
    this.bits = new Uint8Array(maxLine + 1);
  }

  add(line: number): void {
    if (this.bits[line] === 0) {
      this.bits[line] = 1;
      this.size++;
    }
  }

  has(line: number): boolean {
    return this.bits[line] === 1;
  }
}

function agreesWithDiff(lines: readonly string[], file: DiffFile): boolean {
  for (const hunk of file.hunks) {
    for (const l of hunk.lines) {
      if (l.newLine !== undefined && (lines[l.newLine - 1] ?? '').trimEnd() !== l.text.trimEnd()) return false;
    }
  }
  return true;
}

/** covered[n] = 1 when some function spans line n. */
function coverage(functions: readonly FunctionSpan[], lineCount: number): Uint8Array {
  const covered = new Uint8Array(lineCount + 2);
  for (const f of functions) covered.fill(1, f.startLine, Math.min(f.endLine, lineCount) + 1);
  return covered;
}

/** The hunk's new-side line range, and whether it adds code (not blank lines, comments, imports) outside `covered`. */
function outline(hunk: DiffFile['hunks'][number], covered: Uint8Array): { first: number; last: number; uncovered: boolean } | undefined {
  let first: number | undefined;
  let last: number | undefined;
  let uncovered = false;
  for (const l of hunk.lines) {
    if (l.newLine === undefined) continue;
    first ??= l.newLine;
    last = l.newLine;
    if (!uncovered && l.kind === 'add' && !covered[l.newLine] && !TRIVIAL.test(l.text)) uncovered = true;
  }
  return first === undefined || last === undefined ? undefined : { first, last, uncovered };
}

/**
 * Functions of hunks whose added code no parsed function covers, from parsing each such hunk on its own: a
 * bracket the diff leaves open before it (a Go `var (` block cut at a hunk's end, a struct whose header is not
 * shown) makes the parser swallow the functions that follow.
 */
async function reparsedHunks(file: DiffFile, language: Language, lines: readonly string[], functions: readonly FunctionSpan[]): Promise<FunctionSpan[]> {
  const covered = coverage(functions, lines.length);
  const found: FunctionSpan[] = [];
  for (const hunk of file.hunks) {
    const o = outline(hunk, covered);
    if (!o?.uncovered) continue;
    const only = new Array<string>(o.last).fill('');
    for (let n = insideUntil(lines, o.first, o.last) + 1; n <= o.last; n++) only[n - 1] = lines[n - 1] ?? '';
    for (const f of await findFunctions(language, only)) if (f.startLine >= o.first && !covered[f.startLine]) found.push(f);
  }
  return found;
}

/**
 * When a hunk starts inside a block whose header it does not show (indented lines, then a closing bracket at
 * the margin), the line that closes it; first - 1 otherwise. The parser reads such a tail as broken code.
 */
function insideUntil(lines: readonly string[], first: number, last: number): number {
  for (let n = first; n <= last; n++) {
    const t = lines[n - 1] ?? '';
    if (/^[}\])]\s*[;,]?\s*$/.test(t)) return n;
    if (t.trim() !== '' && !/^\s/.test(t)) break;
  }
  return first - 1;
}

/**
 * Added lines that no function covers (a hunk that starts inside a function whose header the diff does not
 * show) get the hunk itself as their region, named after the hunk's section header.
 */
function hunkRegions(file: DiffFile, functions: readonly FunctionSpan[], source: TextLines): FunctionSpan[] {
  const covered = coverage(functions, source.count);
  const regions: FunctionSpan[] = [];
  for (const hunk of file.hunks) {
    const o = outline(hunk, covered);
    // Only code outside every function needs a region: imports, blank lines and comments between
    // functions (a new file has them) would otherwise make every detector read the whole hunk a second time.
    if (!o?.uncovered) continue;
    const text = source.slice(o.first, o.last);
    regions.push({ name: sectionName(hunk.section), startLine: o.first, endLine: o.last, async: /\basync\b/.test(hunk.section) || /\bawait\b/.test(text), text });
  }
  return regions;
}

/** Lines that hold no behaviour: blank, comments, imports, package clauses, decorators' closing brackets. */
const TRIVIAL = /^\s*(?:$|\/\/|#|\/\*|\*|--|import\b|from\s+[\w.]+\s+import\b|package\s+\w+|require\b|(?:const|let|var)\s+[\w${}\s,]+=\s*require\(|['"]use strict['"]|[)\]}]+;?\s*$)/;

function sectionName(section: string): string {
  const m = /(?:def|func|function|fn)\s+(?:\([^)]*\)\s*)?([\w$.]+)|(?:const|let|var)\s+([\w$]+)\s*=|([\w$]+)\s*\(/.exec(section);
  return m?.[1] ?? m?.[2] ?? m?.[3] ?? '<hunk>';
}
