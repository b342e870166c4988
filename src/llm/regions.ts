/**
 * The code that is sent for a set of candidates: per candidate, the enclosing function of its lines
 * and of its evidence lines, plus the hunk context around it; overlapping ranges in one file are
 * merged so shared code is sent once. Lines are numbered (new side) and secrets are redacted.
 * Only files the engine passes in (the relevant ones) are ever read.
 */
import type { Candidate } from '../types.js';
import type { SourceFile } from '../parse/types.js';
import { redactLines } from './redact.js';

export interface Region {
  file: string;
  /** 1-based, inclusive, new side. */
  startLine: number;
  endLine: number;
  /** Indexes (into the caller's candidate array) of the candidates this region serves. */
  candidates: number[];
  /** Numbered, redacted text: one line per source line, "  12 + code" (added) or "  12   code" (context); "     ⋮" for lines the diff does not show. */
  text: string;
  /** Secrets replaced in this region. */
  redactions: number;
}

export interface RegionOptions {
  /** Functions longer than this are not sent whole: windows around the candidate and evidence lines are. */
  maxFunctionLines?: number;
  /** Lines of hunk context on each side of the candidate's lines (limited to lines the diff shows). */
  hunkContext?: number;
  /** Window (each side) around a line when its function is too long or there is none. */
  window?: number;
}

const DEFAULTS: Required<RegionOptions> = { maxFunctionLines: 150, hunkContext: 3, window: 12 };

type Range = { start: number; end: number; cands: Set<number> };

/** Line ranges (before merging) for one candidate. */
export function candidateRanges(c: Candidate, file: SourceFile, options: RegionOptions = {}): Array<{ start: number; end: number }> {
  const o = { ...DEFAULTS, ...options };
  const n = file.lines.length;
  const clamp = (x: number) => Math.max(1, Math.min(n, x));
  const anchors = [c.line, c.endLine, ...c.evidence.map((e) => e.line)].filter((l) => l >= 1 && l <= n);
  const ranges: Array<{ start: number; end: number }> = [];

  // Enclosing function of the candidate's span, else of each anchor: innermost function that contains it.
  const innermost = (from: number, to: number) =>
    file.functions
      .filter((f) => f.startLine <= from && f.endLine >= to)
      .sort((a, b) => a.endLine - a.startLine - (b.endLine - b.startLine))[0];
  const whole = innermost(Math.min(c.line, c.endLine), Math.max(c.line, c.endLine));
  if (whole && whole.endLine - whole.startLine + 1 <= o.maxFunctionLines) {
    ranges.push({ start: whole.startLine, end: whole.endLine });
  } else {
    ranges.push({ start: clamp(c.line - o.window), end: clamp(c.endLine + o.window) });
  }
  for (const a of anchors) {
    if (ranges.some((r) => r.start <= a && a <= r.end)) continue;
    const f = innermost(a, a);
    if (f && f.endLine - f.startLine + 1 <= o.maxFunctionLines) ranges.push({ start: f.startLine, end: f.endLine });
    else ranges.push({ start: clamp(a - o.window), end: clamp(a + o.window) });
  }
  // Hunk context: the shown lines just around the candidate (the diff's own context lines).
  let lo = c.line;
  while (lo > 1 && c.line - lo < o.hunkContext && file.shown.has(lo - 1)) lo--;
  let hi = c.endLine;
  while (hi < n && hi - c.endLine < o.hunkContext && file.shown.has(hi + 1)) hi++;
  ranges.push({ start: clamp(lo), end: clamp(hi) });
  return ranges;
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
  const perFile = new Map<string, Range[]>();
  for (const { index, candidate } of candidates) {
    const file = byPath.get(candidate.file);
    if (!file) continue;
    const list = perFile.get(file.path) ?? [];
    for (const r of candidateRanges(candidate, file, options)) list.push({ ...r, cands: new Set([index]) });
    perFile.set(file.path, list);
  }
  const out: Region[] = [];
  for (const [path, ranges] of perFile) {
    const file = byPath.get(path)!;
    const redacted = redactLines(file.lines);
    for (const r of mergeRanges(ranges)) {
      const { text, redactions } = renderRange(file, redacted.lines, r.start, r.end);
      out.push({ file: path, startLine: r.start, endLine: r.end, candidates: [...r.cands].sort((a, b) => a - b), text, redactions });
    }
  }
  return out;
}

/** Merges overlapping or adjacent ranges (gap ≤ 1 line), unioning the candidates they serve. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Range[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end + 2) {
      last.end = Math.max(last.end, r.end);
      for (const c of r.cands) last.cands.add(c);
    } else {
      merged.push({ start: r.start, end: r.end, cands: new Set(r.cands) });
    }
  }
  return merged;
}

function renderRange(file: SourceFile, lines: readonly string[], start: number, end: number): { text: string; redactions: number } {
  const width = String(end).length;
  const out: string[] = [];
  let gap = false;
  let redactions = 0;
  // Count redactions inside the range only (per line, against the original).
  for (let n = start; n <= end; n++) {
    const known = file.whole || file.shown.has(n);
    if (!known) {
      if (!gap) out.push(`${' '.repeat(width)}   ⋮`);
      gap = true;
      continue;
    }
    gap = false;
    const text = lines[n - 1] ?? '';
    if (text !== (file.lines[n - 1] ?? '')) redactions++;
    out.push(`${String(n).padStart(width)} ${file.added.has(n) ? '+' : ' '} ${text}`.trimEnd());
  }
  return { text: out.join('\n'), redactions };
}
