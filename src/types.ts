/**
 * Core domain types shared by the engine, the CLI, the LLM layer and the GitHub App.
 * The failure-mode ids and the Finding fields are a public contract (see README, "JSON output").
 */

export const FAILURE_MODES = [
  'toctou',
  'lost_update',
  'write_skew',
  'deadlock',
  'async_ordering',
  'eventual_consistency',
  'phantom_read',
  'message_ordering',
] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

export const FAILURE_MODE_NAMES: Record<FailureMode, string> = {
  toctou: 'check-then-act race',
  lost_update: 'lost update',
  write_skew: 'write skew',
  deadlock: 'deadlock',
  async_ordering: 'async ordering',
  eventual_consistency: 'stale read',
  phantom_read: 'phantom',
  message_ordering: 'message ordering / delivery',
};

export const SEVERITIES = ['low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export type Language = 'typescript' | 'tsx' | 'javascript' | 'python' | 'go' | 'ruby' | 'sql' | 'other';

/** The four diagnosis variants of the method (also the `/concdbg mode` values). */
export const VARIANTS = ['database', 'async', 'distributed', 'queue'] as const;
export type Variant = (typeof VARIANTS)[number];

/** A labelled line of code used as evidence: `line` is 1-based on the new side of the diff. */
export interface EvidenceLine {
  line: number;
  text: string;
  /** What this line does in the hazard: "check", "act", "read", "write", "lock", "ack", ... */
  role: string;
}

/**
 * What a detector reports: a hazard located on the diff, with the facts the
 * diagnosis (offline or LLM) needs to explain it with the code's own names.
 */
export interface Candidate {
  /** Detector id (kebab-case), e.g. "check-then-insert". */
  detector: string;
  failureMode: FailureMode;
  file: string;
  language: Language;
  /** 1-based new-side lines; both must be lines the diff shows (added or context). */
  line: number;
  endLine: number;
  severity: Severity;
  /** 0..1, from the detector's documented rules. */
  confidence: number;
  /** One line, with the code's identifiers. */
  title: string;
  /** Enclosing function name, if known. */
  functionName?: string;
  /** The shared state both actors touch: a table, model, cache key, queue, mutex. */
  entity: string;
  /** Key statements, in program order. */
  evidence: EvidenceLine[];
  /**
   * Named facts for the diagnosis, e.g. { checkCall: "db.charges.findFirst", actCall: "stripe.charges.create",
   * keyColumns: "user_id, product_id" }. Free-form but stable per detector.
   */
  facts: Record<string, string>;
  /** Which diagnosis variant fits best, from the detector's signals. */
  variant: Variant;
}

export type FindingSource = 'heuristic' | 'llm';

export interface Finding {
  /** Stable fingerprint of (file, mode, normalised key lines). */
  id: string;
  file: string;
  line: number;
  endLine: number;
  failureMode: FailureMode;
  severity: Severity;
  confidence: number;
  title: string;
  explanation: string;
  interleaving: string[];
  missingTest: string;
  fix: string;
  whatNotToDo: string[];
  source: FindingSource;
  /** Set when the LLM called a high-confidence detector finding harmless: both views are kept. */
  disputed?: { llmView: string };
}

export interface FilterStats {
  kept: number;
  dropped: number;
  /** reason -> number of files dropped for it (e.g. "lockfile", "docs", "no concurrency signal"). */
  droppedBy: Record<string, number>;
}

export interface Stats {
  files: number;
  relevantFiles: number;
  hunks: number;
  candidates: number;
  bytes: number;
  ms: number;
  llmInputTokens: number;
  llmOutputTokens: number;
  llmCachedTokens?: number;
  filter?: FilterStats;
}

export interface ReviewResult {
  version: 1;
  findings: Finding[];
  stats: Stats;
}
