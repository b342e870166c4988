/** Findings, PR files and a stub engine for app tests. */
import type { EngineOutput, ReviewOptions } from '../../../src/engine/review.js';
import type { PrFile } from '../../../src/app/github.js';
import type { Finding } from '../../../src/types.js';

export function finding(over: Partial<Finding> = {}): Finding {
  return {
    id: 'f-' + (over.file ?? 'src/api/charge.ts') + '-' + (over.line ?? 9),
    file: 'src/api/charge.ts',
    line: 9,
    endLine: 17,
    failureMode: 'toctou',
    severity: 'high',
    confidence: 0.9,
    title: 'SELECT on charges then stripe.paymentIntents.create: two requests both pass the check',
    explanation: 'The check and the act are separate statements.',
    interleaving: ['T0 request A: SELECT finds no charge', 'T1 request B: SELECT finds no charge', 'T2 request A: charges the card', 'T3 request B: charges the card again'],
    missingTest: "it('charges once', async () => { /* 10 concurrent calls */ });",
    fix: 'Add a unique constraint and insert first.',
    whatNotToDo: ["Don't widen the window."],
    source: 'heuristic',
    ...over,
  };
}

/** A file whose patch adds lines 1..n (one hunk). */
export function addedFile(filename: string, n: number): PrFile {
  const body = Array.from({ length: n }, (_, i) => `+line ${i + 1}`).join('\n');
  return { filename, status: 'added', patch: `@@ -0,0 +1,${n} @@\n${body}`, additions: n, deletions: 0, changes: n };
}

/** A modified file with two hunks: new lines 1-5 and 40-44. */
export function twoHunkFile(filename: string): PrFile {
  const patch = [
    '@@ -1,4 +1,5 @@', ' a', '+b', ' c', ' d', ' e',
    '@@ -39,4 +40,5 @@', ' p', '+q', ' r', ' s', ' t',
  ].join('\n');
  return { filename, status: 'modified', patch, additions: 2, deletions: 0, changes: 2 };
}

export function stubEngine(findings: Finding[] | ((diff: string, opts: ReviewOptions) => Finding[])) {
  const calls: Array<{ diff: string; opts: ReviewOptions }> = [];
  const run = async (diff: string, opts: ReviewOptions): Promise<EngineOutput> => {
    calls.push({ diff, opts });
    const fs = typeof findings === 'function' ? findings(diff, opts) : findings;
    return {
      version: 1,
      findings: fs,
      stats: { files: 1, relevantFiles: 1, hunks: 1, candidates: fs.length, bytes: diff.length, ms: 1, llmInputTokens: 0, llmOutputTokens: 0 },
      candidates: [],
      files: [],
      warnings: [],
      notes: [],
    };
  };
  return Object.assign(run, { calls });
}
