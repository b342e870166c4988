/** Delay before retry number `attempt` (1 = the first retry), in ms. */
export type Backoff = (attempt: number) => number;

export interface BackoffOptions {
  /** Delay of the first retry before jitter (default 2 000 ms). */
  baseMs?: number;
  /** Upper bound before jitter (default 5 minutes). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction of the delay that is random, 0..1 (default 0.5): spreads retries of jobs that failed together. */
  jitter?: number;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
}

/** Exponential backoff with jitter: min(max, base·factor^(attempt−1)) · (1 − jitter·random). */
export function exponentialBackoff(opts: BackoffOptions = {}): Backoff {
  const { baseMs = 2_000, maxMs = 5 * 60_000, factor = 2, jitter = 0.5, random = Math.random } = opts;
  const j = Math.min(1, Math.max(0, jitter));
  return (attempt) => {
    const exp = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt - 1));
    return Math.round(exp * (1 - j * random()));
  };
}
