/**
 * The code that is sent for a set of candidates, kept lean because it is most of what a review pays for.
 *
 * Per candidate, the lines that carry the diagnosis are selected: the candidate's own lines and its
 * evidence lines with a small window around each, the header line of each enclosing function (so the
 * model knows where it is), and the lines of those functions that can change the verdict (transaction
 * boundaries, locks, commits: "guard lines"). When that selection would leave out only a few lines of
 * the enclosing function, the whole function is sent instead. Only lines the diff shows (or the whole
 * file, with --root) count; the rest is elided as one "⋮" row. The selections of all candidates in a
 * file are merged, so shared code is sent once. Lines are numbered (new side), the region's common
 * indentation is removed, and secrets are redacted. Only files the engine passes in are ever read.
 */
import type { Candidate } from '../types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import { redactLines } from './redact.js';

export interface Region {
  file: string;
  /** 1-based, inclusive, new side; both ends are lines the diff shows. */
  startLine: number;
  endLine: number;
  /** Indexes (into the caller's candidate array) of the candidates this region serves. */
  candidates: number[];
  /**
   * Numbered, redacted text: one row per source line, "12+ code" (added) or "12  code" (context), or "12 code"
   * when `addedOnly`; the common indentation of the file's sent lines is removed; "⋮" stands for a run of lines
   * the diff does not show.
   */
  text: string;
  /** Secrets replaced in this region. */
  redactions: number;
  /**
   * Every line sent from this file is an added line: its rows then carry no mark ("12 code"), and the file's
   * header says so once instead.
   */
  addedOnly: boolean;
}

export interface RegionOptions {
  /** Lines each side of the candidate's lines and of each evidence line. */
  window?: number;
  /** Send the whole enclosing function when the selection leaves out at most this many of its known lines. */
  slack?: number;
  /** Functions longer than this are never sent whole. */
  maxFunctionLines?: number;
  /** A candidate span longer than this is sent as windows around its two ends only. */
  maxSpanLines?: number;
  /** Also send the enclosing functions' guard lines (transactions, locks, commits). */
  guardLines?: boolean;
  /** Also send the lines that assign the objects the selected statements act on. */
  definitions?: boolean;
}

const DEFAULTS: Required<RegionOptions> = { window: 0, slack: 3, maxFunctionLines: 150, maxSpanLines: 40, guardLines: true, definitions: true };

/**
 * Lines inside a function that can make or break a concurrency hazard: transaction boundaries and isolation,
 * locks, commits/rollbacks, atomic operations. The model needs them to tell a hazard from guarded code.
 */
const GUARD =
  /transaction|\bcommit|rollback|\bbegin(?:tx)?\b|BeginTx|isolation|serializ|\block|lock\b|lock[!(]|mutex|semaphore|synchroniz|for\s+update|for\s+share|advisory|atomic|savepoint|select_for_update|with_lock/i;

/** The parser's stand-in for code outside any function it recognised: its first line is no header. */
const PSEUDO = /^<hunk>$/;

/**
 * Whether a function's first line is its header: not the parser's stand-in, and (for a named function) the line
 * names it. A function recovered from a hunk's section header starts at the hunk, not at its header.
 */
function isHeader(file: SourceFile, f: FunctionSpan): boolean {
  if (PSEUDO.test(f.name)) return false;
  if (f.name.startsWith('<') || f.name.endsWith(' callback')) return true;
  const last = /([A-Za-z_$][\w$]*)[^\w$]*$/.exec(f.name)?.[1];
  return last === undefined || (file.lines[f.startLine - 1] ?? '').includes(last);
}

/** Innermost function containing [from, to]. */
function innermost(file: SourceFile, from: number, to: number): FunctionSpan | undefined {
  let best: FunctionSpan | undefined;
  for (const f of file.functions) {
    if (f.startLine <= from && f.endLine >= to && (!best || f.endLine - f.startLine < best.endLine - best.startLine)) best = f;
  }
  return best;
}

/** Whether the text of line n is available (shown by the diff, or the whole file was read). */
const known = (file: SourceFile, n: number) => n >= 1 && n <= file.lines.length && (file.whole || file.shown.has(n));

/**
 * Lines the detector's facts point at beyond its evidence (the other lock path of a deadlock, the mutation a
 * loop races with): a fact named "…Line" holding a number, or a value starting "line N".
 */
export function factLines(c: Pick<Candidate, 'facts'>): number[] {
  const out: number[] = [];
  for (const [key, value] of Object.entries(c.facts)) {
    const m = /line$/i.test(key) ? /^\s*(\d+)\s*$/.exec(value) : /^\s*line (\d+)\b/i.exec(value);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** How far a statement is followed up or down from an anchor line. */
const STATEMENT_REACH = 8;

/** Net count of opened round and square brackets on a line (curly ones open blocks, which are not followed). */
function openBrackets(text: string): number {
  let d = 0;
  for (const ch of text) {
    if (ch === '(' || ch === '[') d++;
    else if (ch === ')' || ch === ']') d--;
  }
  return d;
}

const continues = (text: string | undefined) => text !== undefined && /^\s*[.)\]]/.test(text);

/** A line that opens a block (function, callback, if/else, Ruby do, Python colon) rather than continuing a statement. */
const opensBlock = (text: string) => /(?:=>\s*\{|\)\s*\{|\b(?:else|try|finally|do)\s*\{?|\bdo\s*\|[^|]*\||:)\s*(?:(?:\/\/|#).*)?$/.test(text);

/** First line of the statement that line `at` belongs to: back over an unclosed call or a method chain. */
export function statementStart(file: SourceFile, at: number): number {
  let start = at;
  let depth = 0;
  for (let x = at - 1; x >= Math.max(1, at - STATEMENT_REACH); x--) {
    if (!known(file, x)) break;
    const text = file.lines[x - 1] ?? '';
    if (opensBlock(text)) break;
    depth += openBrackets(text);
    if (depth > 0 || (x + 1 === start && continues(file.lines[x]))) {
      start = x;
      depth = 0;
    }
  }
  return start;
}

/** Last line of the statement that starts at or runs through line `at`: until its brackets close and its chain ends. */
export function statementEnd(file: SourceFile, at: number): number {
  const first = file.lines[at - 1] ?? '';
  let depth = opensBlock(first) ? 0 : openBrackets(first);
  let end = at;
  const n = file.lines.length;
  for (let x = at + 1; x <= Math.min(n, at + STATEMENT_REACH); x++) {
    if (!known(file, x)) break;
    const text = file.lines[x - 1];
    if (depth <= 0 && !continues(text)) break;
    end = x;
    if (opensBlock(text ?? '')) break;
    depth += openBrackets(text ?? '');
  }
  return end;
}

/** How many definition lines are added per candidate. */
const MAX_DEFINITIONS = 3;

const NOT_STATE = new Set(['this', 'self', 'super', 'await', 'return', 'new', 'if', 'for', 'while', 'then', 'and', 'or', 'not']);

/**
 * Where the objects the selected statements act on come from: for each receiver (`team` in `team.min_on_duty`,
 * `coupon` in `coupon.discount_for(…)`), the nearest earlier line of the same function that assigns it
 * (`const team = await trx('teams')…`). The model needs them to name the shared row and the fix's layer.
 */
export function definitionLines(file: SourceFile, selected: ReadonlySet<number>, functions: ReadonlySet<FunctionSpan>): number[] {
  const out: number[] = [];
  const seen = new Set<string>();
  for (const at of [...selected].sort((a, b) => a - b)) {
    const f = [...functions].find((g) => g.startLine <= at && at <= g.endLine);
    if (!f) continue;
    for (const m of (file.lines[at - 1] ?? '').matchAll(/(?<![\w$.])([A-Za-z_$][\w$]*)\s*(?:\.|\[)/g)) {
      const name = m[1]!;
      if (seen.has(name) || NOT_STATE.has(name)) continue;
      seen.add(name);
      const assigns = new RegExp(`(?:^|[^\\w$.])${name.replace(/\$/g, '\\$')}(?:\\s*,\\s*[\\w$]+)*\\s*(?::=|=(?![=>~]))`);
      for (let x = at - 1; x > f.startLine; x--) {
        if (!known(file, x)) continue;
        if (assigns.test(file.lines[x - 1] ?? '')) {
          if (!selected.has(x)) out.push(x);
          break;
        }
      }
      if (out.length >= MAX_DEFINITIONS) return out;
    }
  }
  return out;
}

/** The lines (new side, known ones only) selected for one candidate, before merging. */
export function candidateLines(c: Candidate, file: SourceFile, options: RegionOptions = {}): Set<number> {
  const o = { ...DEFAULTS, ...options };
  const n = file.lines.length;
  const picked = new Set<number>();
  const add = (from: number, to: number) => {
    for (let x = Math.max(1, from); x <= Math.min(n, to); x++) if (known(file, x)) picked.add(x);
  };
  // An anchor line is widened to its whole statement, then by the window on each side.
  const around = (from: number, to: number) => add(statementStart(file, from) - o.window, statementEnd(file, to) + o.window);
  const lo = Math.min(c.line, c.endLine);
  const hi = Math.max(c.line, c.endLine);
  if (hi - lo + 1 <= o.maxSpanLines) around(lo, hi);
  else {
    around(lo, lo);
    around(hi, hi);
  }
  const functions = new Set<FunctionSpan>();
  const main = innermost(file, lo, hi);
  if (main) functions.add(main);
  for (const line of [...c.evidence.map((e) => e.line), ...factLines(c)]) {
    if (line < 1 || line > n) continue;
    around(line, line);
    const f = innermost(file, line, line);
    if (f) functions.add(f);
  }
  if (o.definitions) {
    // The assigning line itself says where the object comes from; the rest of its statement is not needed.
    for (const x of definitionLines(file, picked, functions)) add(x, x);
  }
  // Header line of the function around the innermost one (a callback's named function, a closure's method).
  if (main) {
    const outer = file.functions
      .filter((f) => f !== main && !PSEUDO.test(f.name) && f.startLine <= main.startLine && f.endLine >= main.endLine && f.endLine - f.startLine > main.endLine - main.startLine)
      .sort((a, b) => a.endLine - a.startLine - (b.endLine - b.startLine))[0];
    if (outer && isHeader(file, outer)) add(outer.startLine, outer.startLine);
  }
  for (const f of functions) {
    const size = f.endLine - f.startLine + 1;
    let knownLines = 0;
    let left = 0;
    for (let x = f.startLine; x <= f.endLine; x++) {
      if (!known(file, x)) continue;
      knownLines++;
      if (!picked.has(x)) left++;
    }
    if (size <= o.maxFunctionLines && left <= o.slack && knownLines > 0) {
      add(f.startLine, f.endLine);
      continue;
    }
    if (isHeader(file, f)) add(f.startLine, f.startLine);
    if (o.guardLines) {
      for (let x = f.startLine + 1; x <= f.endLine; x++) if (known(file, x) && GUARD.test(file.lines[x - 1] ?? '')) picked.add(x);
    }
  }
  // Blank lines at the edges of a run carry nothing.
  const blank = (x: number) => (file.lines[x - 1] ?? '').trim() === '';
  for (const x of [...picked]) {
    if (!blank(x)) continue;
    let y = x;
    while (picked.has(y) && blank(y)) y--;
    const before = picked.has(y);
    y = x;
    while (picked.has(y) && blank(y)) y++;
    if (!before || !picked.has(y)) picked.delete(x);
  }
  return picked;
}

/** Merged line ranges of one file: runs of selected lines, bridging one-line gaps and gaps the diff does not show. */
export function linesToRanges(file: SourceFile, lines: ReadonlyMap<number, ReadonlySet<number>>): Array<{ start: number; end: number; cands: Set<number> }> {
  const sorted = [...lines.keys()].sort((a, b) => a - b);
  const out: Array<{ start: number; end: number; cands: Set<number> }> = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    let bridge = false;
    if (last) {
      bridge = x <= last.end + 2;
      if (!bridge) {
        bridge = true;
        for (let y = last.end + 1; y < x; y++) {
          if (known(file, y)) {
            bridge = false;
            break;
          }
        }
      }
    }
    if (last && bridge) {
      last.end = x;
      for (const c of lines.get(x)!) last.cands.add(c);
    } else {
      out.push({ start: x, end: x, cands: new Set(lines.get(x)!) });
    }
  }
  return out;
}

/**
 * Builds merged, numbered, redacted regions for the given candidates.
 * `indexes` are the candidates' indexes in the caller's array (kept on the regions).
 * Candidates whose file is not in `files` get no region (the caller diagnoses them offline).
 */
export function buildRegions(
  candidates: ReadonlyArray<{ index: number; candidate: Candidate }>,
  files: readonly SourceFile[],
  options: RegionOptions = {},
): Region[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const perFile = new Map<string, Map<number, Set<number>>>();
  for (const { index, candidate } of candidates) {
    const file = byPath.get(candidate.file);
    if (!file) continue;
    const lines = perFile.get(file.path) ?? new Map<number, Set<number>>();
    for (const x of candidateLines(candidate, file, options)) {
      const set = lines.get(x) ?? new Set<number>();
      set.add(index);
      lines.set(x, set);
    }
    perFile.set(file.path, lines);
  }
  const out: Region[] = [];
  for (const [path, lines] of perFile) {
    const file = byPath.get(path)!;
    const redacted = redactLines(file.lines);
    const ranges = linesToRanges(file, lines);
    // The common leading whitespace of the file's sent lines is not sent (relative indentation stays, across
    // regions too). Rows that stand alone (a function's header line, a guard line) do not hold it down: they
    // are printed without their own indentation when it is shorter.
    const rowsOf = (rs: typeof ranges) =>
      rs.flatMap((r) => Array.from({ length: r.end - r.start + 1 }, (_, i) => r.start + i)).filter((n) => known(file, n)).map((n) => redacted.lines[n - 1] ?? '');
    const bodies = ranges.filter((r) => r.end > r.start);
    const cut = commonIndent(rowsOf(bodies.length > 0 ? bodies : ranges)).length;
    const addedOnly = ranges.every((r) => {
      for (let x = r.start; x <= r.end; x++) if (known(file, x) && !file.added.has(x)) return false;
      return true;
    });
    for (const r of ranges) {
      const { text, redactions } = renderRange(file, redacted.lines, r.start, r.end, cut, !addedOnly);
      out.push({ file: path, startLine: r.start, endLine: r.end, candidates: [...r.cands].sort((a, b) => a - b), text, redactions, addedOnly });
    }
  }
  return out;
}

/** The leading whitespace shared by every non-blank line. */
function commonIndent(lines: readonly string[]): string {
  let indent: string | undefined;
  for (const text of lines) {
    if (text.trim() === '') continue;
    const lead = /^\s*/.exec(text)![0];
    if (indent === undefined) indent = lead;
    else {
      let k = 0;
      while (k < indent.length && k < lead.length && indent[k] === lead[k]) k++;
      indent = indent.slice(0, k);
    }
  }
  return indent ?? '';
}

function renderRange(
  file: SourceFile,
  lines: readonly string[],
  start: number,
  end: number,
  cut: number,
  marks: boolean,
): { text: string; redactions: number } {
  const out: string[] = [];
  let gap = false;
  let redactions = 0;
  for (let n = start; n <= end; n++) {
    if (!known(file, n)) {
      if (!gap) out.push('⋮');
      gap = true;
      continue;
    }
    gap = false;
    const text = lines[n - 1] ?? '';
    if (text !== (file.lines[n - 1] ?? '')) redactions++;
    const mark = marks ? (file.added.has(n) ? '+' : ' ') : '';
    const lead = /^\s*/.exec(text)![0].length;
    out.push(`${n}${mark} ${text.slice(Math.min(cut, lead))}`.trimEnd());
  }
  return { text: out.join('\n'), redactions };
}
