/**
 * The engine: unified diff in, findings out. It knows nothing of GitHub or of the store;
 * the CLI and the App wrap it.
 */
import { filterDiff } from '../diff/relevance.js';
import { parseDiff } from '../diff/parse.js';
import { allDetectors } from '../detectors/index.js';
import type { Detector } from '../detectors/types.js';
import { diagnoseOffline } from '../diagnose/offline.js';
import { buildSourceFile, folderReader, type SourceReader } from '../parse/source.js';
import { collectSchema } from '../parse/schema.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import {
  severityRank,
  type Candidate,
  type FailureMode,
  type Finding,
  type ReviewResult,
  type Severity,
  type Stats,
} from '../types.js';
import { fingerprint } from './fingerprint.js';

/** A diagnosed candidate (or a finding the LLM added inside a candidate's region). */
export type Diagnosis = Omit<Finding, 'id'> & { candidateIndex?: number };

export interface DiagnoseResult {
  findings: Diagnosis[];
  usage?: { inputTokens: number; outputTokens: number; cachedTokens?: number };
  /** Human-readable notes: which findings came from where, and why (shown in the check run). */
  notes?: string[];
}

/** Turns candidates into findings. The default is the offline diagnosis; the LLM layer plugs in here. */
export type Diagnoser = (input: { candidates: Candidate[]; files: SourceFile[] }) => Promise<DiagnoseResult>;

export interface ReviewOptions {
  /** Folder with the new revision, to read whole files for context. */
  root?: string;
  /** Reads whole files of the new revision for context (instead of `root`); called for relevant files only. */
  readSource?: SourceReader;
  diagnose?: Diagnoser;
  /** Keep only files whose path this accepts (repository settings). */
  includePath?: (path: string) => boolean;
  /** Report only these modes. */
  modes?: readonly FailureMode[];
  /** Drop findings below this confidence. */
  minConfidence?: number;
  detectors?: readonly Detector[];
}

export interface EngineOutput extends ReviewResult {
  candidates: Candidate[];
  files: SourceFile[];
  /** Non-fatal input problems (e.g. a truncated hunk). */
  warnings: string[];
  notes: string[];
}

export const offlineDiagnoser: Diagnoser = async ({ candidates, files }) => {
  const byPath = new Map(files.map((f) => [f.path, f]));
  return {
    findings: candidates.map((c, candidateIndex) => ({ ...diagnoseOffline(c, { fileText: byPath.get(c.file)?.lines }), candidateIndex })),
  };
};

export async function review(input: string | Buffer, opts: ReviewOptions = {}): Promise<EngineOutput> {
  const started = performance.now();
  const bytes = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  // The parsed diff is only needed to build the files: scoped here, it can be collected before detection starts.
  const { files, filter, counts, warnings } = await parseAndBuild(input, opts);

  const candidates = selectCandidates(detect(files, opts.detectors ?? allDetectors), opts);
  const diagnosis = await (opts.diagnose ?? offlineDiagnoser)({ candidates, files });
  const findings = toFindings(diagnosis.findings, candidates, files, opts);

  const stats: Stats = {
    ...counts,
    relevantFiles: files.length,
    candidates: candidates.length,
    bytes,
    ms: Math.round(performance.now() - started),
    llmInputTokens: diagnosis.usage?.inputTokens ?? 0,
    llmOutputTokens: diagnosis.usage?.outputTokens ?? 0,
    llmCachedTokens: diagnosis.usage?.cachedTokens ?? 0,
    filter,
  };
  return { version: 1, findings, stats, candidates, files, warnings, notes: diagnosis.notes ?? [] };
}

async function parseAndBuild(input: string | Buffer, opts: ReviewOptions) {
  const parsed = parseDiff(input);
  const { kept, stats: filter } = filterDiff(parsed.files);
  const selected = opts.includePath ? kept.filter((k) => opts.includePath!(k.file.newPath ?? '')) : kept;
  if (selected.length < kept.length) {
    filter.dropped += kept.length - selected.length;
    filter.kept -= kept.length - selected.length;
    filter.droppedBy['excluded by settings'] = (filter.droppedBy['excluded by settings'] ?? 0) + kept.length - selected.length;
  }
  const counts = { files: parsed.files.length, hunks: parsed.files.reduce((n, f) => n + f.hunks.length, 0) };
  return { files: await buildFiles(selected, opts), filter, counts, warnings: parsed.warnings };
}

async function buildFiles(selected: ReturnType<typeof filterDiff>['kept'], opts: ReviewOptions): Promise<SourceFile[]> {
  const readSource = opts.readSource ?? (opts.root ? folderReader(opts.root) : undefined);
  const files: SourceFile[] = [];
  for (const k of selected) files.push(await buildSourceFile(k.file, k.language, { readSource }));
  return files;
}

function detect(files: readonly SourceFile[], detectors: readonly Detector[]): Candidate[] {
  const schema = collectSchema(files);
  const out: Candidate[] = [];
  for (const file of files) {
    const changedFunctions = functionsWithAddedLines(file);
    if (changedFunctions.length === 0 && file.language !== 'sql') continue;
    for (const d of detectors) {
      if (!d.meta.languages.includes(file.language)) continue;
      for (const r of d.detect({ file, files, changedFunctions, schema })) {
        out.push({
          ...r,
          detector: d.meta.id,
          file: file.path,
          language: file.language,
          failureMode: r.failureMode ?? d.meta.failureMode,
          severity: r.severity ?? d.meta.defaultSeverity,
        });
      }
    }
  }
  return out;
}

function functionsWithAddedLines(file: SourceFile): FunctionSpan[] {
  if (file.added.size === 0) return [];
  // addedUpTo[n] = how many added lines are at or before line n, so each span is checked in O(1).
  const addedUpTo = new Uint32Array(file.lines.length + 2);
  for (let n = 1; n < addedUpTo.length; n++) addedUpTo[n] = addedUpTo[n - 1]! + (file.added.has(n) ? 1 : 0);
  const last = addedUpTo.length - 1;
  return file.functions.filter((f) => addedUpTo[Math.min(f.endLine, last)]! > addedUpTo[Math.max(f.startLine - 1, 0)]!);
}

/**
 * Keeps candidates on lines the diff shows and, where several overlap in one file, the strongest:
 * one hazard, one finding.
 */
function selectCandidates(all: Candidate[], opts: ReviewOptions): Candidate[] {
  // Strongest first; between equals, the one named after a parsed function (not a `<hunk>` region) and then the narrower.
  const unnamed = (c: Candidate) => (!c.functionName || c.functionName.startsWith('<') ? 1 : 0);
  const ranked = all
    .filter((c) => !opts.modes || opts.modes.includes(c.failureMode))
    .sort((a, b) => score(b) - score(a) || unnamed(a) - unnamed(b) || a.endLine - a.line - (b.endLine - b.line));
  const kept: Candidate[] = [];
  const keptByFile = new Map<string, Candidate[]>();
  for (const c of ranked) {
    const inFile = keptByFile.get(c.file) ?? [];
    if (inFile.some((k) => k.line <= c.endLine && c.line <= k.endLine)) continue;
    inFile.push(c);
    keptByFile.set(c.file, inFile);
    kept.push(c);
  }
  return kept.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}

export function score(c: { severity: Severity; confidence: number }): number {
  return (severityRank(c.severity) + 1) * c.confidence;
}

function toFindings(diagnoses: Diagnosis[], candidates: Candidate[], files: SourceFile[], opts: ReviewOptions): Finding[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const d of diagnoses) {
    const file = byPath.get(d.file);
    if (!file) continue;
    const anchored = anchor(file, d.line, d.endLine);
    if (!anchored) continue;
    if (opts.minConfidence !== undefined && d.confidence < opts.minConfidence) continue;
    if (opts.modes && !opts.modes.includes(d.failureMode)) continue;
    const candidate = d.candidateIndex !== undefined ? candidates[d.candidateIndex] : undefined;
    const keyLines = candidate
      ? candidate.evidence.map((e) => e.text)
      : file.lines.slice(anchored.line - 1, anchored.endLine);
    const id = fingerprint(d.file, candidate?.failureMode ?? d.failureMode, keyLines);
    if (seen.has(id)) continue;
    seen.add(id);
    const { candidateIndex: _ignored, ...rest } = d;
    findings.push({ id, ...rest, line: anchored.line, endLine: anchored.endLine });
  }
  return findings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}

/** Narrows [line, endLine] to lines the diff shows; undefined when none of them is shown. */
export function anchor(file: Pick<SourceFile, 'shown'>, line: number, endLine: number): { line: number; endLine: number } | undefined {
  let start = line;
  let end = Math.max(line, endLine);
  while (start <= end && !file.shown.has(start)) start++;
  while (end >= start && !file.shown.has(end)) end--;
  if (start > end) return undefined;
  return { line: start, endLine: end };
}
