import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job, Store } from '../store/types.js';
import { exponentialBackoff, type Backoff, type BackoffOptions } from './backoff.js';
import {
  describeError,
  isTransient as defaultIsTransient,
  JobSupersededError,
  LeaseLostError,
  retryAfterMs,
  ShutdownError,
} from './errors.js';

/**
 * What a review handler gets besides the job.
 *
 * The handler must watch `signal`: it fires (with a `LeaseLostError`,
 * `JobSupersededError` or `ShutdownError` as `signal.reason`) when the job is
 * no longer this worker's to finish. Pass it to fetch / Octokit / the LLM
 * client, and check `signal.aborted` between steps.
 *
 * Before every write to GitHub, call `store.beginIntent(job.id, owner, kind)`:
 * null means "not yours any more, post nothing"; `created: false` means an
 * earlier attempt intended this post, so look for it on GitHub (the hidden
 * marker with the job key) instead of posting again. After the post, call
 * `store.completeIntent(job.id, kind, githubId)`.
 */
export interface JobContext {
  signal: AbortSignal;
  store: Store;
  /** This worker's lease owner id, for `beginIntent` / `isJobActive`. */
  owner: string;
}

/** Processes one review job. Throw to fail it; `isTransient(err)` decides between retry and failure. */
export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>;

/** Pino-compatible subset (Probot's `app.log` fits). */
export interface WorkerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WorkerOptions {
  store: Store;
  handler: JobHandler;
  /** Lease owner id; default "<hostname>:<pid>:<random>". Unique per worker. */
  owner?: string;
  /** Lease length (default 30 000 ms); renewed every leaseMs/3 while the handler runs. A dead worker's job is reclaimed after this. */
  leaseMs?: number;
  /** How long to wait before polling again when no job is claimable (default 1 000 ms). */
  pollMs?: number;
  /** Jobs processed at once by this worker (default 1). */
  concurrency?: number;
  /** Attempts (claims) per job before it fails for good (default 5). */
  maxAttempts?: number;
  /** Retry delays: options for exponential backoff with jitter, or a function of the attempt number. */
  backoff?: BackoffOptions | Backoff;
  /** Which errors are retried (default: `isTransient`). */
  isTransient?: (err: unknown) => boolean;
  /**
   * Called once when a job fails for good (permanent error, or attempts used
   * up), while this worker still holds it and before it is marked failed.
   * The app completes the job's check run as neutral with the reason here.
   * Errors thrown here are logged; the job is marked failed regardless.
   */
  onFailed?: (job: Job, error: unknown) => Promise<void> | void;
  /** On `stop()`, how long in-flight jobs may run before they are released (default 20 000 ms). */
  stopGraceMs?: number;
  log?: WorkerLogger;
}

export type JobOutcome =
  | { status: 'done'; job: Job }
  | { status: 'retry'; job: Job; error: unknown; delayMs: number }
  | { status: 'failed'; job: Job; error: unknown }
  /** The job stopped being ours: superseded, lease lost, or released at shutdown. */
  | { status: 'abandoned'; job: Job; reason: 'superseded' | 'lease_lost' | 'shutdown' };

const silentLog: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface InFlight {
  job: Job;
  controller: AbortController;
}

/**
 * Claims review jobs from the store and runs the handler on them, with a
 * lease renewed while it works, retries with backoff for transient failures,
 * and a graceful stop.
 *
 *   const worker = new Worker({ store, handler: reviewJob, onFailed: closeCheckRunNeutral, log: app.log });
 *   worker.start();
 *   installSignalHandlers(worker, { beforeExit: () => store.close() });
 *
 * Any number of workers, in any number of processes, may share one store:
 * a job is processed by one worker at a time, and again only if that worker
 * died (lease expired), gave it back (shutdown), or it failed transiently.
 */
export class Worker {
  readonly owner: string;
  private readonly store: Store;
  private readonly handler: JobHandler;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly classify: (err: unknown) => boolean;
  private readonly onFailed: WorkerOptions['onFailed'];
  private readonly stopGraceMs: number;
  private readonly log: WorkerLogger;

  private readonly inFlight = new Map<number, InFlight>();
  private loops: Promise<void>[] = [];
  private stopping = false;
  private wakers = new Set<() => void>();

  constructor(opts: WorkerOptions) {
    this.store = opts.store;
    this.handler = opts.handler;
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.backoff = typeof opts.backoff === 'function' ? opts.backoff : exponentialBackoff(opts.backoff);
    this.classify = opts.isTransient ?? defaultIsTransient;
    this.onFailed = opts.onFailed;
    this.stopGraceMs = opts.stopGraceMs ?? 20_000;
    this.log = opts.log ?? silentLog;
    if (this.leaseMs < 30) throw new Error('leaseMs must be at least 30 ms');
  }

  /** Start claiming and processing jobs in the background. */
  start(): void {
    if (this.loops.length > 0) return;
    this.stopping = false;
    this.log.info({ owner: this.owner, concurrency: this.concurrency, leaseMs: this.leaseMs }, 'review worker started');
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.loop());
  }

  /**
   * Stop claiming. In-flight jobs get `graceMs` to finish; after that their
   * signals fire (ShutdownError) and they are released to the queue for
   * another worker, without counting as an attempt. Resolves when all loops
   * have ended (or, if a handler ignores its signal, another `graceMs` later).
   */
  async stop(graceMs: number = this.stopGraceMs): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    const loops = Promise.all(this.loops);
    if (!(await settlesWithin(loops, graceMs))) {
      const jobs = [...this.inFlight.values()];
      this.log.warn({ owner: this.owner, jobs: jobs.map((f) => f.job.id) }, 'stop grace period over: releasing in-flight review jobs');
      await Promise.all(
        jobs.map(async ({ job, controller }) => {
          controller.abort(new ShutdownError(job.id));
          await this.store.releaseJob(job.id, this.owner).catch((err: unknown) => {
            this.log.error({ jobId: job.id, err: describeError(err) }, 'could not release review job; it is reclaimed after its lease expires');
          });
        }),
      );
      await settlesWithin(loops, graceMs);
    }
    this.loops = [];
    this.log.info({ owner: this.owner }, 'review worker stopped');
  }

  /** Jobs currently being processed by this worker. */
  get activeJobs(): number {
    return this.inFlight.size;
  }

  /**
   * Claim one job and process it to an outcome; null when no job was
   * claimable (or the worker is stopping). The background loop is this in a
   * loop; tests call it directly.
   */
  async runOnce(): Promise<JobOutcome | null> {
    if (this.stopping) return null;
    const job = await this.store.claimJob(this.owner, this.leaseMs);
    if (!job) return null;
    if (this.stopping) {
      // stop() began while we were claiming: give it straight back.
      await this.store.releaseJob(job.id, this.owner);
      return { status: 'abandoned', job, reason: 'shutdown' };
    }
    return this.process(job);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let outcome: JobOutcome | null = null;
      try {
        outcome = await this.runOnce();
      } catch (err) {
        // The store is unreachable or similar: wait a poll interval and try again.
        this.log.error({ owner: this.owner, err: describeError(err) }, 'review worker could not claim or finish a job');
      }
      if (outcome === null && !this.stopping) await this.idle(this.pollMs);
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async process(job: Job): Promise<JobOutcome> {
    const controller = new AbortController();
    this.inFlight.set(job.id, { job, controller });
    const stopRenewing = this.keepLease(job, controller);
    const ctx: JobContext = { signal: controller.signal, store: this.store, owner: this.owner };
    const logCtx = { jobId: job.id, repo: job.repo, pr: job.prNumber, sha: job.headSha, attempt: job.attempts };
    try {
      if (job.attempts > this.maxAttempts) {
        // Claimed again after its workers died (leases expired) too many times.
        const error = new Error(
          `gave up after ${job.attempts - 1} attempts; last error: ${job.lastError ?? 'the worker stopped before finishing (lease expired)'}`,
        );
        return await this.fail(job, error);
      }
      this.log.info(logCtx, 'review job started');
      try {
        await this.handler(job, ctx);
      } catch (err) {
        if (controller.signal.aborted) return this.abandoned(job, controller.signal.reason);
        if (this.classify(err) && job.attempts < this.maxAttempts) {
          const delayMs = Math.max(this.backoff(job.attempts), retryAfterMs(err) ?? 0);
          const requeued = await this.store.failJob(job.id, this.owner, describeError(err), delayMs);
          if (!requeued) return this.abandoned(job, await this.whyLost(job));
          this.log.warn({ ...logCtx, delayMs, err: describeError(err) }, 'review job failed transiently; will retry');
          return { status: 'retry', job, error: err, delayMs };
        }
        return await this.fail(job, err);
      }
      if (await this.store.completeJob(job.id, this.owner)) {
        this.log.info(logCtx, 'review job done');
        return { status: 'done', job };
      }
      return this.abandoned(job, controller.signal.aborted ? controller.signal.reason : await this.whyLost(job));
    } finally {
      stopRenewing();
      this.inFlight.delete(job.id);
    }
  }

  private async fail(job: Job, error: unknown): Promise<JobOutcome> {
    const logCtx = { jobId: job.id, repo: job.repo, pr: job.prNumber, sha: job.headSha, attempt: job.attempts };
    if (this.onFailed) {
      try {
        await this.onFailed(job, error);
      } catch (hookErr) {
        this.log.error({ ...logCtx, err: describeError(hookErr) }, 'onFailed hook threw');
      }
    }
    if (!(await this.store.failJob(job.id, this.owner, describeError(error)))) {
      return this.abandoned(job, await this.whyLost(job));
    }
    this.log.error({ ...logCtx, err: describeError(error) }, 'review job failed');
    return { status: 'failed', job, error };
  }

  private abandoned(job: Job, reason: unknown): JobOutcome {
    const kind = reason instanceof JobSupersededError ? 'superseded' : reason instanceof ShutdownError ? 'shutdown' : 'lease_lost';
    this.log.info({ jobId: job.id, reason: kind }, 'review job abandoned: no longer ours to finish');
    return { status: 'abandoned', job, reason: kind };
  }

  private async whyLost(job: Job): Promise<Error> {
    const current = await this.store.getJob(job.id).catch(() => null);
    return current?.state === 'superseded' ? new JobSupersededError(job.id, current.supersededBy) : new LeaseLostError(job.id);
  }

  /** Renew the lease every leaseMs/3 until stopped; abort the job's signal if the lease is lost. */
  private keepLease(job: Job, controller: AbortController): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async (): Promise<void> => {
      let ok = true;
      try {
        ok = await this.store.renewLease(job.id, this.owner, this.leaseMs);
      } catch (err) {
        // The store hiccupped; the lease may still hold. Try again next tick.
        this.log.warn({ jobId: job.id, err: describeError(err) }, 'could not renew review job lease');
      }
      if (stopped) return;
      if (!ok) {
        const reason = await this.whyLost(job);
        this.log.warn({ jobId: job.id, reason: reason.message }, 'review job lease lost; aborting the handler');
        controller.abort(reason);
        return;
      }
      timer = setTimeout(() => void tick(), this.leaseMs / 3);
    };
    timer = setTimeout(() => void tick(), this.leaseMs / 3);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
