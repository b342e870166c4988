/**
 * Offline diagnosis: turns a detector Candidate into a full Finding (minus its
 * fingerprint id) without an LLM, using the candidate's own code, identifiers
 * and facts. One module per failure mode writes the text; see ./roles.ts for
 * the evidence roles and fact keys each mode reads.
 */
import type { Candidate, FailureMode, Finding } from '../types.js';
import { makeCtx, type Ctx, type ModeText } from './common.js';
import { diagnose as toctou } from './modes/toctou.js';
import { diagnose as lostUpdate } from './modes/lost_update.js';
import { diagnose as writeSkew } from './modes/write_skew.js';
import { diagnose as deadlock } from './modes/deadlock.js';
import { diagnose as asyncOrdering } from './modes/async_ordering.js';
import { diagnose as eventualConsistency } from './modes/eventual_consistency.js';
import { diagnose as phantomRead } from './modes/phantom_read.js';
import { diagnose as messageOrdering } from './modes/message_ordering.js';

const MODES: Record<FailureMode, (x: Ctx) => ModeText> = {
  toctou,
  lost_update: lostUpdate,
  write_skew: writeSkew,
  deadlock,
  async_ordering: asyncOrdering,
  eventual_consistency: eventualConsistency,
  phantom_read: phantomRead,
  message_ordering: messageOrdering,
};

export interface OfflineOptions {
  /** Lines of the candidate's file at the new revision (lines[0] is line 1), for signatures and imports. */
  fileText?: string[];
}

/** Never let "undefined"/"null" leak from a missing value into user-facing text. */
function scrub(s: string): string {
  // Nothing to replace (splitting and joining back gives the same text).
  if (!s.includes('undefined')) return s;
  // Only outside `code spans`: cited code may legitimately say undefined.
  return s
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\bundefined\b/g, '…')))
    .join('');
}

export function diagnoseOffline(c: Candidate, opts: OfflineOptions = {}): Omit<Finding, 'id'> {
  const safe: Candidate = { ...c, evidence: c.evidence ?? [], facts: c.facts ?? {} };
  const x = makeCtx(safe, opts.fileText);
  const text = MODES[c.failureMode](x);
  return {
    file: c.file,
    line: c.line,
    endLine: c.endLine,
    failureMode: c.failureMode,
    severity: c.severity,
    confidence: c.confidence,
    title: c.title,
    explanation: scrub(text.explanation),
    interleaving: text.interleaving.map(scrub),
    missingTest: text.missingTest,
    fix: text.fix,
    whatNotToDo: text.whatNotToDo.map(scrub),
    source: 'heuristic',
  };
}
