/**
 * Which diagnosis variant a batch of candidates gets.
 *
 * An explicit override (from `/concdbg mode X` or the repository settings) wins. Otherwise each
 * candidate votes for its own `variant` (set by its detector from the code's signals) with weight
 * severity × confidence; the heaviest variant wins. Ties go to the variant of the single
 * highest-scoring candidate, then to the fixed order database > queue > distributed > async
 * (the more specific infrastructure first, since its prompt carries the most specific facts).
 */
import { VARIANTS, type Candidate, type Severity, type Variant } from '../types.js';

const SEVERITY_WEIGHT: Record<Severity, number> = { low: 1, medium: 2, high: 3 };
const TIE_ORDER: readonly Variant[] = ['database', 'queue', 'distributed', 'async'];

/** Detector score used for ranking and for the variant vote: severity weight (1..3) × confidence (0..1). */
export function candidateScore(c: Pick<Candidate, 'severity' | 'confidence'>): number {
  return SEVERITY_WEIGHT[c.severity] * Math.max(0, Math.min(1, c.confidence));
}

const ALIASES: Record<string, Variant> = {
  database: 'database',
  db: 'database',
  sql: 'database',
  async: 'async',
  'async-await': 'async',
  'async/await': 'async',
  await: 'async',
  distributed: 'distributed',
  'distributed-systems': 'distributed',
  queue: 'queue',
  'queue-worker': 'queue',
  worker: 'queue',
  jobs: 'queue',
};

/** Parses a user-written variant name (`/concdbg mode db`), or returns undefined if unknown. */
export function parseVariant(name: string | undefined | null): Variant | undefined {
  if (!name) return undefined;
  return ALIASES[name.trim().toLowerCase().replace(/[\s_]+/g, '-')];
}

export function chooseVariant(candidates: readonly Candidate[], override?: Variant | null): Variant {
  if (override) return override;
  if (candidates.length === 0) return 'async';
  const weight = new Map<Variant, number>();
  let best: Candidate | undefined;
  for (const c of candidates) {
    const s = candidateScore(c);
    weight.set(c.variant, (weight.get(c.variant) ?? 0) + s);
    if (!best || s > candidateScore(best)) best = c;
  }
  const max = Math.max(...weight.values());
  const top = VARIANTS.filter((v) => Math.abs((weight.get(v) ?? -1) - max) < 1e-9);
  if (top.length === 1) return top[0]!;
  if (best && top.includes(best.variant)) return best.variant;
  return TIE_ORDER.find((v) => top.includes(v)) ?? 'async';
}
