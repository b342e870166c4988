/**
 * Glue for the engine and the CLI: a diagnoser with the engine's shape (candidates + files in,
 * findings + usage + human-readable notes out), notes for the check run, and a printable dry run.
 */
import { diagnoseOffline } from '../diagnose/offline.js';
import type { Candidate, Finding, Variant } from '../types.js';
import type { SourceFile } from '../parse/types.js';
import type { LlmConfig } from './config.js';
import { diagnoseWithLlm, type DailyBudget, type DiagnoseWithLlmResult, type DryRunResult, type LlmLogger } from './diagnose.js';
import type { CandidateNote, LlmFinding } from './merge.js';

export interface LlmDiagnoserOptions {
  config: LlmConfig;
  budget?: DailyBudget;
  variantOverride?: Variant | null;
  log?: LlmLogger;
  /** Offline diagnosis; default: diagnoseOffline with the candidate's file text. */
  offline?: (c: Candidate, files: readonly SourceFile[]) => Omit<Finding, 'id'>;
  /** Receives the full result (per-candidate notes, request reports), e.g. for metrics. */
  onResult?: (r: DiagnoseWithLlmResult) => void;
}

/** A diagnoser the engine can call (`review(diff, { diagnose: createLlmDiagnoser(...) })`). */
export function createLlmDiagnoser(opts: LlmDiagnoserOptions) {
  return async (input: { candidates: Candidate[]; files: SourceFile[] }) => {
    const offline = opts.offline ?? ((c: Candidate, files: readonly SourceFile[]) => diagnoseOffline(c, { fileText: files.find((f) => f.path === c.file)?.lines }));
    const result = await diagnoseWithLlm({
      candidates: input.candidates,
      files: input.files,
      config: opts.config,
      offline: (c) => offline(c, input.files),
      ...(opts.budget ? { budget: opts.budget } : {}),
      variantOverride: opts.variantOverride ?? null,
      ...(opts.log ? { log: opts.log } : {}),
    });
    opts.onResult?.(result);
    return {
      findings: result.findings.map(stripOrigin),
      usage: { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens, cachedTokens: result.usage.cachedTokens },
      notes: describeNotes(result, input.candidates, opts.config.model),
    };
  };
}

function stripOrigin(f: LlmFinding): Omit<Finding, 'id'> & { candidateIndex: number } {
  const { origin: _origin, ...rest } = f;
  return rest;
}

const NOTE_TEXT: Record<string, string> = {
  llm: 'diagnosed by the LLM',
  disputed: 'kept from the detector; the LLM disputes it (both views shown)',
  dismissed: 'dismissed by the LLM as not a hazard (low detector confidence)',
  'offline-budget': 'detector diagnosis: over the per-review LLM input budget',
  'offline-budget: daily': "detector diagnosis: the installation's daily LLM budget is spent",
};

function noteText(n: CandidateNote): string {
  return NOTE_TEXT[n] ?? `detector diagnosis: LLM unavailable (${n.replace(/^offline-error: /, '')})`;
}

/**
 * One line per candidate saying where its diagnosis came from and why, then a usage line.
 * Meant for the check run summary and the CLI's notices.
 */
export function describeNotes(result: DiagnoseWithLlmResult, candidates: readonly Candidate[], model: string): string[] {
  const lines = result.notes.map((n, i) => {
    const c = candidates[i]!;
    return `${c.file}:${c.line} ${c.failureMode}: ${noteText(n)}`;
  });
  const added = result.findings.filter((f) => f.origin === 'added').length;
  if (added > 0) lines.push(`${added} finding(s) added by the LLM inside candidate regions (advisory, at most medium severity)`);
  if (result.usage.requests > 0) {
    const u = result.usage;
    lines.push(`LLM ${model}: ${u.requests} request(s), ${u.inputTokens} input tokens (${u.cachedTokens} from cache), ${u.outputTokens} output tokens`);
  }
  return lines;
}

/** A readable dry run for the CLI: per request, the variant, the regions and the token estimate, then the exact bodies. */
export function formatDryRun(r: DryRunResult, opts: { bodies?: boolean } = {}): string {
  const out: string[] = [`model: ${r.model}`, `requests: ${r.requests.length}, estimated input tokens: ${r.estimatedInputTokens}`];
  r.requests.forEach((q, i) => {
    out.push(
      `request ${i + 1}: variant ${q.variant}, candidates ${q.candidateIndexes.join(', ')}, ~${q.estimate.total} tokens (${q.estimate.static} static and cached, ${q.estimate.dynamic} for this review)`,
    );
    for (const g of q.regions) {
      out.push(`  ${g.file}:${g.startLine}-${g.endLine} (candidates ${g.candidates.join(', ')}${g.redactions ? `, ${g.redactions} secret line(s) redacted` : ''})`);
    }
  });
  for (const s of r.skipped) out.push(`candidate ${s.index}: not sent (${s.note})`);
  if (opts.bodies !== false) {
    r.requests.forEach((q, i) => {
      out.push('', `--- request ${i + 1} body (POST /v1/messages) ---`, JSON.stringify(q.body, null, 2));
    });
  }
  return out.join('\n');
}
