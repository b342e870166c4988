/**
 * The durable store behind the review pipeline: webhook deduplication, the job
 * queue with leases, what was posted to GitHub, and per-installation budgets.
 *
 * Two implementations share this interface and one contract test suite:
 * SQLite (one process, the default) and PostgreSQL (several app replicas).
 *
 * Rules every implementation keeps:
 * - Every "only once" rule is a unique constraint claimed by
 *   `INSERT … ON CONFLICT DO NOTHING RETURNING`; the boolean / `created`
 *   results below say whether *this* caller won the claim. Never read first
 *   and insert after.
 * - Times are the database's clock, in epoch milliseconds. Durations
 *   (`leaseMs`, `retryAfterMs`) are added to the database's "now", so app
 *   replicas with skewed clocks still agree on when a lease expires.
 * - Methods that change a running job take the worker's `owner` string and do
 *   nothing (return false / null) when that worker no longer holds the lease.
 */

export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'superseded'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** What asked for a review. Part of the job's unique key, so one review per head SHA and trigger. */
export type JobTrigger = string;

/** The unique key of a review job. */
export interface JobKey {
  /** "owner/name". */
  repo: string;
  prNumber: number;
  headSha: string;
  /** e.g. "pull_request", "comment", "rerun". */
  trigger: JobTrigger;
}

/** Free-form JSON the review handler needs (base SHA, mode, who asked, ...). */
export type JobPayload = Record<string, unknown>;

export interface EnqueueInput extends JobKey {
  installationId: number;
  payload?: JobPayload;
}

export interface Job extends JobKey {
  id: number;
  installationId: number;
  state: JobState;
  /** How many times the job was claimed (a claim is an attempt; `releaseJob` gives one back). */
  attempts: number;
  lastError: string | null;
  leaseOwner: string | null;
  /** Epoch ms (database clock). */
  leaseExpiresAt: number | null;
  /** Epoch ms before which the job is not claimed (retry backoff). */
  notBefore: number;
  checkRunId: number | null;
  reviewId: number | null;
  payload: JobPayload;
  /** The head SHA that superseded this job, when state is "superseded". */
  supersededBy: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface EnqueueResult {
  job: Job;
  /** True when this call inserted the job; false when an identical key already existed. */
  created: boolean;
  /**
   * Jobs of the same PR for other head SHAs that this call superseded (only with
   * `{ supersede: true }` and only when `created`). Complete their check runs
   * as neutral, "superseded by <sha>".
   */
  superseded: Job[];
}

/** A webhook delivery as `claimDelivery` records it. */
export interface DeliveryRef {
  /** X-GitHub-Delivery. */
  id: string;
  /** The event name (pull_request, …). */
  event: string;
}

export interface EnqueueOptions {
  /**
   * Atomically supersede queued and running jobs of the same PR for other head
   * SHAs, in the same transaction as the insert (serialized per PR), so two
   * pushes racing each other cannot supersede each other. Use it for events
   * that carry the PR's new head (pull_request opened / synchronize / reopened).
   */
  supersede?: boolean;
}

export type IntentKind = 'review' | 'check_run' | 'summary' | (string & {});

export interface PostingIntent {
  jobId: number;
  kind: IntentKind;
  state: 'intended' | 'done';
  /** The GitHub id of what was posted (review id, check run id, comment id), once known. */
  externalId: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface PostedFindingInput {
  repo: string;
  prNumber: number;
  fingerprint: string;
  /** GitHub review comment id, when known. */
  commentId: number | null;
  jobId: number;
}

export interface PostedFinding extends PostedFindingInput {
  status: 'posted' | 'resolved';
  createdAt: number;
}

export interface DismissInput {
  repo: string;
  prNumber: number;
  fingerprint: string;
  /** GitHub login of who dismissed it. */
  by: string;
  reason: string | null;
}

export interface DismissedFinding extends DismissInput {
  createdAt: number;
}

export interface UsageDelta {
  inputTokens?: number;
  outputTokens?: number;
  reviews?: number;
  budgetTokens?: number;
}

export interface Usage {
  installationId: number;
  /** UTC day, "YYYY-MM-DD". */
  day: string;
  inputTokens: number;
  outputTokens: number;
  reviews: number;
  /**
   * The daily LLM budget's counter: tokens reserved for requests in flight plus
   * what finished requests really used (input + output). Kept apart from the
   * reporting counters above, which say what reviews used.
   */
  budgetTokens: number;
}

export type UsageCounter = 'inputTokens' | 'outputTokens' | 'reviews' | 'budgetTokens';

export interface Store {
  /** "sqlite" or "postgres". */
  readonly kind: 'sqlite' | 'postgres';

  // ── webhook side ──────────────────────────────────────────────────────────

  /** Claim a webhook delivery id. True for exactly one caller per id, ever. */
  claimDelivery(deliveryId: string, event: string): Promise<boolean>;
  /** Delete delivery records older than `olderThanMs` ago; returns how many. */
  pruneDeliveries(olderThanMs: number): Promise<number>;

  /**
   * Insert a review job unless one with the same key exists. Exactly one of
   * any number of concurrent callers with one key gets `created: true`.
   */
  enqueueJob(input: EnqueueInput, opts?: EnqueueOptions): Promise<EnqueueResult>;

  /**
   * `claimDelivery` and `enqueueJob` as one atomic step (one round trip on
   * PostgreSQL): null when the delivery id was claimed already (a redelivery:
   * nothing is enqueued or superseded). If the enqueue fails, the claim is
   * rolled back with it, so a redelivery can try again.
   */
  enqueueForDelivery(delivery: DeliveryRef, input: EnqueueInput, opts?: EnqueueOptions): Promise<EnqueueResult | null>;

  /**
   * Mark queued and running jobs of the PR whose head SHA is not `newHeadSha`
   * as superseded and return them (their check runs must be closed by the
   * caller). Prefer `enqueueJob(…, { supersede: true })`, which does this
   * atomically with the insert; this is for callers that learn of a new head
   * without enqueueing (e.g. a PR closed: pass a SHA no job has, like "").
   */
  supersedeOlder(repo: string, prNumber: number, newHeadSha: string): Promise<Job[]>;

  // ── worker side ───────────────────────────────────────────────────────────

  /**
   * Claim the oldest claimable job: queued with `notBefore` reached, or running
   * with an expired lease (its worker died). Sets state running, the lease,
   * and attempts + 1. Concurrent claimers never get the same job.
   */
  claimJob(owner: string, leaseMs: number): Promise<Job | null>;
  /**
   * Extend the lease. False means the lease is lost (it expired, was released,
   * or the job was superseded or finished): stop work. An expired lease cannot
   * be renewed even if no one has reclaimed the job yet.
   */
  renewLease(jobId: number, owner: string, leaseMs: number): Promise<boolean>;
  /** True while `owner` holds an unexpired lease on a running job. Check before posting. */
  isJobActive(jobId: number, owner: string): Promise<boolean>;
  /** running → done. False if the lease was lost or the job superseded meanwhile. */
  completeJob(jobId: number, owner: string): Promise<boolean>;
  /**
   * running → queued again after `retryAfterMs` (a retry), or → failed when
   * `retryAfterMs` is undefined. Records `error` as last_error. False if the
   * lease was lost.
   */
  failJob(jobId: number, owner: string, error: string, retryAfterMs?: number): Promise<boolean>;
  /** running → queued at once, giving the attempt back (graceful shutdown). */
  releaseJob(jobId: number, owner: string): Promise<boolean>;

  getJob(jobId: number): Promise<Job | null>;
  findJob(key: JobKey): Promise<Job | null>;
  listJobs(filter?: { repo?: string; prNumber?: number; state?: JobState }): Promise<Job[]>;

  /** Store the job's check run id unless one is stored already; returns the stored id (reuse it on retries). */
  setCheckRunId(jobId: number, checkRunId: number): Promise<number>;
  setReviewId(jobId: number, reviewId: number): Promise<void>;

  // ── idempotent posting ────────────────────────────────────────────────────

  /**
   * Record the intent to post `kind` for a job, before calling GitHub.
   * Returns null when `owner` no longer holds the job (superseded, lost lease):
   * do not post. Otherwise `created: false` means an earlier attempt already
   * intended (and maybe did) this post: look for it on GitHub (hidden marker /
   * external_id) before posting again; `intent.state === 'done'` means it was posted.
   */
  beginIntent(jobId: number, owner: string, kind: IntentKind): Promise<{ intent: PostingIntent; created: boolean } | null>;
  /** Record that the intended post happened, with GitHub's id. */
  completeIntent(jobId: number, kind: IntentKind, externalId: number | null): Promise<void>;
  getIntent(jobId: number, kind: IntentKind): Promise<PostingIntent | null>;

  // ── findings ──────────────────────────────────────────────────────────────

  /** True for the one caller that records this (repo, PR, fingerprint) first. */
  recordPostedFinding(input: PostedFindingInput): Promise<boolean>;
  listPostedFindings(repo: string, prNumber: number): Promise<PostedFinding[]>;
  /** posted → resolved; false if not recorded. */
  resolvePostedFinding(repo: string, prNumber: number, fingerprint: string): Promise<boolean>;

  /** True if this call dismissed it; false if it was dismissed already. */
  dismissFinding(input: DismissInput): Promise<boolean>;
  listDismissedFindings(repo: string, prNumber: number): Promise<DismissedFinding[]>;

  // ── budgets ───────────────────────────────────────────────────────────────

  /** Atomically add to the counters of (installation, day); returns the new totals. */
  addUsage(installationId: number, day: string, delta: UsageDelta): Promise<Usage>;
  getUsage(installationId: number, day: string): Promise<Usage>;
  /**
   * Add `amount` to one counter only if the result stays ≤ `limit`; true when
   * reserved. Concurrent reservations can never overshoot the limit. Give back
   * an unused part with `addUsage` and a negative delta.
   */
  reserveUsage(installationId: number, day: string, counter: UsageCounter, amount: number, limit: number): Promise<boolean>;

  // ── lifecycle ─────────────────────────────────────────────────────────────

  /** Throws if the database cannot be reached. For health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** "YYYY-MM-DD" of a time in UTC, the `day` of usage counters. */
export function utcDay(at: Date | number = Date.now()): string {
  return new Date(at).toISOString().slice(0, 10);
}
