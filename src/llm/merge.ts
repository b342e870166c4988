/**
 * Validating the model's diagnoses and merging them with the detectors' candidates.
 *
 * - A refinement keeps its candidate's file and heuristic severity; its lines must be lines the diff
 *   shows inside the regions sent for that candidate, else it is re-anchored to the candidate's lines.
 * - The model cannot lower the gate: "not a hazard" on a candidate with detector confidence ≥ 0.8
 *   keeps the detector's finding, marked disputed with the model's view; below 0.8 the candidate is
 *   dismissed.
 * - A refinement below minConfidence is replaced by the offline diagnosis.
 * - A new finding must lie on shown lines inside one region of the request, reach minConfidence,
 *   not repeat another finding; its severity is capped at medium (LLM-only findings advise, the
 *   detectors gate).
 * - A candidate the model did not answer gets the offline diagnosis.
 */
import { severityRank, type Candidate, type Finding, type Severity } from '../types.js';
import type { SourceFile } from '../parse/types.js';
import type { Region } from './regions.js';
import type { Diagnosis } from './schema.js';

export const DISPUTE_GATE_CONFIDENCE = 0.8;
const NEW_FINDING_MAX_SEVERITY: Severity = 'medium';
const MAX_TEXT = 4_000;
const MAX_ITEMS = 20;

export type LlmFinding = Omit<Finding, 'id'> & {
  /** The candidate this finding refines, or (for an added finding) the first candidate of its region. */
  candidateIndex: number;
  /** refined: LLM diagnosis of a candidate; added: LLM-only finding in a candidate region; offline: detector diagnosis. */
  origin: 'refined' | 'added' | 'offline';
};

/** Per candidate: where its diagnosis came from, and why. */
export type CandidateNote =
  | 'llm'
  | 'disputed'
  | 'dismissed'
  | 'offline-budget'
  | 'offline-budget: daily'
  | `offline-error: ${string}`;

export interface MergeInput {
  diagnoses: readonly Diagnosis[];
  /** Indexes of the candidates this request carried. */
  candidateIndexes: readonly number[];
  regions: readonly Region[];
  candidates: readonly Candidate[];
  files: readonly SourceFile[];
  minConfidence: number;
  offline: (c: Candidate) => Omit<Finding, 'id'>;
}

export interface MergeOutput {
  findings: LlmFinding[];
  notes: Map<number, CandidateNote>;
  /** Diagnoses dropped, one short reason each (for logs and the check run). */
  dropped: string[];
}

export function mergeDiagnoses(input: MergeInput): MergeOutput {
  const { candidates, minConfidence, offline } = input;
  const files = new Map(input.files.map((f) => [f.path, f]));
  const inRequest = new Set(input.candidateIndexes);
  const findings: LlmFinding[] = [];
  const notes = new Map<number, CandidateNote>();
  const dropped: string[] = [];

  const offlineFinding = (index: number): LlmFinding => ({ ...offline(candidates[index]!), candidateIndex: index, origin: 'offline' });

  for (const d of input.diagnoses) {
    if (d.candidate === 'new') continue;
    const index = d.candidate;
    if (!inRequest.has(index)) {
      dropped.push(`diagnosis for unknown candidate ${index}`);
      continue;
    }
    if (notes.has(index)) {
      dropped.push(`second diagnosis for candidate ${index}`);
      continue;
    }
    const c = candidates[index]!;
    if (d.verdict === 'not_a_hazard') {
      if (c.confidence >= DISPUTE_GATE_CONFIDENCE) {
        findings.push({ ...offlineFinding(index), disputed: { llmView: clip(`${d.title}: ${d.whyThisMode}`) } });
        notes.set(index, 'disputed');
      } else {
        notes.set(index, 'dismissed');
      }
      continue;
    }
    const confidence = clamp01(d.confidence);
    if (confidence < minConfidence) {
      findings.push(offlineFinding(index));
      notes.set(index, `offline-error: llm confidence ${confidence.toFixed(2)} below ${minConfidence}`);
      continue;
    }
    const file = files.get(c.file);
    const regions = input.regions.filter((r) => r.file === c.file && r.candidates.includes(index));
    const anchored =
      file && d.file === c.file && validSpan(file, regions, d.line, d.endLine) ? { line: d.line, endLine: d.endLine } : { line: c.line, endLine: c.endLine };
    findings.push({
      ...fromDiagnosis(d, file),
      file: c.file,
      ...anchored,
      severity: c.severity,
      confidence: d.failureMode === c.failureMode ? Math.max(c.confidence, confidence) : confidence,
      candidateIndex: index,
      origin: 'refined',
    });
    notes.set(index, 'llm');
  }

  for (const d of input.diagnoses) {
    if (d.candidate !== 'new') continue;
    const file = files.get(d.file);
    const region = input.regions.find((r) => r.file === d.file && r.startLine <= d.line && d.endLine <= r.endLine);
    if (d.verdict !== 'hazard') continue;
    if (!file || !region || !validSpan(file, [region], d.line, d.endLine)) {
      dropped.push(`new finding outside the regions sent (${d.file}:${d.line})`);
      continue;
    }
    const confidence = clamp01(d.confidence);
    if (confidence < minConfidence) {
      dropped.push(`new finding below confidence (${d.file}:${d.line})`);
      continue;
    }
    const overlaps = findings.some(
      (f) => f.file === d.file && f.failureMode === d.failureMode && f.line <= d.endLine && d.line <= f.endLine,
    );
    if (overlaps) {
      dropped.push(`new finding repeats another (${d.file}:${d.line})`);
      continue;
    }
    findings.push({
      ...fromDiagnosis(d, file),
      file: d.file,
      line: d.line,
      endLine: d.endLine,
      severity: severityRank(d.severity) > severityRank(NEW_FINDING_MAX_SEVERITY) ? NEW_FINDING_MAX_SEVERITY : d.severity,
      confidence,
      candidateIndex: region.candidates[0]!,
      origin: 'added',
    });
  }

  for (const index of input.candidateIndexes) {
    if (notes.has(index)) continue;
    findings.push(offlineFinding(index));
    notes.set(index, 'offline-error: no diagnosis returned');
  }
  return { findings, notes, dropped };
}

/** Both ends are shown lines, in order, inside one of the regions. */
function validSpan(file: SourceFile, regions: readonly Region[], line: number, endLine: number): boolean {
  if (!Number.isInteger(line) || !Number.isInteger(endLine) || line > endLine) return false;
  if (!file.shown.has(line) || !file.shown.has(endLine)) return false;
  return regions.some((r) => r.startLine <= line && endLine <= r.endLine);
}

function fromDiagnosis(
  d: Diagnosis,
  file: SourceFile | undefined,
): Pick<Finding, 'failureMode' | 'title' | 'explanation' | 'interleaving' | 'missingTest' | 'fix' | 'whatNotToDo' | 'source'> {
  const whyNot = d.whyNotOtherModes
    .filter((w) => w.mode !== d.failureMode)
    .slice(0, 7)
    .map((w) => `- not ${w.mode}: ${clip(w.reason, 600)}`);
  const evidence = d.evidence
    .filter((e) => !file || file.shown.has(e.line))
    .slice(0, 12)
    .map((e) => `- line ${e.line} (${clip(e.role, 40)}): ${clip(e.note, 400)}`);
  const explanation = [clip(d.whyThisMode), whyNot.length ? `Why not the nearest modes:\n${whyNot.join('\n')}` : '', evidence.length ? `Evidence:\n${evidence.join('\n')}` : '']
    .filter(Boolean)
    .join('\n\n');
  return {
    failureMode: d.failureMode,
    title: clip(d.title, 200),
    explanation,
    interleaving: d.interleaving.slice(0, MAX_ITEMS).map((s) => clip(s, 500)),
    missingTest: clip(d.missingTest),
    fix: clip(d.fix),
    whatNotToDo: d.whatNotToDo.slice(0, 10).map((s) => clip(s, 500)),
    source: 'llm',
  };
}

function clip(s: string, max = MAX_TEXT): string {
  const t = s.trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.max(0, Math.min(1, x)) : 0;
}
