/**
 * The review worker of this process: the pipeline's Worker running `runReviewJob` with an
 * installation-authenticated GitHub client per job, the LLM diagnoser when allowed, metrics, and
 * a neutral check run for a job that failed for good.
 */
import { review } from '../engine/review.js';
import { createLlmDiagnoser, type DailyBudget, type LlmConfig } from '../llm/index.js';
import { describeError, Worker } from '../pipeline/index.js';
import type { Store } from '../store/types.js';
import { utcDay } from '../store/types.js';
import { octokitGitHubApi, type GitHubApi, type OctokitLike } from './github.js';
import type { Log } from './log.js';
import type { AppMetrics } from './metrics.js';
import { failCheckRun, runReviewJob, type ReviewJobDeps } from './review-job.js';

export interface ReviewWorkerOptions {
  store: Store;
  /** An Octokit authenticated as the installation (Probot's `app.auth(id)`). */
  auth: (installationId: number) => Promise<OctokitLike & { hook?: { error: (name: 'request', fn: (err: unknown) => never) => void } }>;
  /** An Octokit authenticated as the app (Probot's `app.auth()`), for GET /app. */
  appAuth: () => Promise<OctokitLike>;
  log: Log;
  metrics?: AppMetrics;
  llm: LlmConfig | null;
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  maxAttempts?: number;
  runEngine?: ReviewJobDeps['runEngine'];
  afterStep?: (step: string) => void;
}

export function createReviewWorker(o: ReviewWorkerOptions): Worker {
  let login: Promise<string> | undefined;
  const botLogin = () =>
    (login ??= o.appAuth().then(async (octokit) => {
      const { data } = await octokit.request('GET /app');
      return `${(data as { slug: string }).slug}[bot]`;
    }).catch((err: unknown) => {
      login = undefined;
      throw err;
    }));

  const apiFor = async (installationId: number, repo: string): Promise<GitHubApi> => {
    const octokit = await o.auth(installationId);
    octokit.hook?.error('request', (err: unknown) => {
      const status = (err as { status?: number }).status;
      o.metrics?.githubErrors.inc({ status: status === undefined ? 'network' : String(status) });
      throw err;
    });
    const [owner = '', name = ''] = repo.split('/');
    return octokitGitHubApi(octokit, { owner, repo: name });
  };

  const diagnoserFor: ReviewJobDeps['diagnoserFor'] = ({ settings, installationId, variant }) => {
    if (!o.llm || !settings.llm.enabled) return undefined;
    const config = { ...o.llm, inputTokenBudget: Math.min(o.llm.inputTokenBudget, settings.llm.maxInputTokens ?? Infinity) };
    const budget = o.llm.dailyTokenBudget !== undefined ? dailyBudget(o.store, installationId, o.llm.dailyTokenBudget) : undefined;
    const diagnose = createLlmDiagnoser({
      config,
      variantOverride: variant ?? null,
      ...(budget ? { budget } : {}),
      log: { info: (msg) => o.log.info({ llm: true }, msg), warn: (msg) => o.log.warn({ llm: true }, msg) },
    });
    if (!budget) return diagnose;
    return async (input) => {
      try {
        return await diagnose(input);
      } finally {
        // A request that failed returned no usage: give its hold back rather than charge the day for it.
        await budget.release().catch((err: unknown) => o.log.warn({ llm: true, err: String(err) }, 'could not release an unused LLM budget reservation'));
      }
    };
  };

  return new Worker({
    store: o.store,
    concurrency: o.concurrency ?? 2,
    leaseMs: o.leaseMs ?? 30_000,
    pollMs: o.pollMs ?? 500,
    maxAttempts: o.maxAttempts ?? 5,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
    log: o.log,
    handler: async (job, ctx) => {
      o.metrics?.jobsRunning.inc();
      try {
        const api = await apiFor(job.installationId, job.repo);
        await runReviewJob(job, {
          api, store: ctx.store, owner: ctx.owner, botLogin, log: o.log, diagnoserFor,
          runEngine: o.runEngine ?? ((diff, opts) => review(diff, opts)),
          ...(o.metrics ? { metrics: o.metrics } : {}),
          ...(o.afterStep ? { afterStep: o.afterStep } : {}),
        });
      } finally {
        o.metrics?.jobsRunning.dec();
      }
    },
    onFailed: async (job, error) => {
      o.metrics?.jobsFailed.inc();
      o.log.error({ jobId: job.id, repo: job.repo, pr: job.prNumber, sha: job.headSha, err: describeError(error) }, 'review job failed for good; closing its check run as neutral');
      await failCheckRun(job, { api: await apiFor(job.installationId, job.repo), store: o.store }, describeError(error));
    },
  });
}

export interface DailyBudgetHandle extends DailyBudget {
  /** Give back a reservation whose request never returned usage (an API error or a timeout). */
  release(): Promise<void>;
}

/**
 * The installation's daily LLM token budget (input + output tokens per UTC day), kept in the store's
 * `budgetTokens` counter, which nothing else writes:
 * - `reserve(n)` holds n tokens (estimated input + max output) with one conditional update, so
 *   concurrent reviews of one installation can never together pass the limit;
 * - `record(usage)` replaces the hold by what the request really used: one atomic add of
 *   (input + output − held), on the day the hold was made;
 * - `release()` (and the next `reserve`) gives back a hold that got no `record`: its request failed.
 * One handle per review: the LLM layer sends that review's requests one at a time, each
 * `reserve` followed by at most one `record`. The reporting counters (input, output, reviews) are
 * not touched here; the review job adds them once when it finishes.
 */
export function dailyBudget(store: Pick<Store, 'reserveUsage' | 'addUsage'>, installationId: number, limit: number): DailyBudgetHandle {
  let held: { day: string; tokens: number } | null = null;
  const settle = async (used: number): Promise<void> => {
    const hold = held;
    held = null;
    const delta = used - (hold?.tokens ?? 0);
    if (delta !== 0) await store.addUsage(installationId, hold?.day ?? utcDay(), { budgetTokens: delta });
  };
  return {
    reserve: async (tokens) => {
      await settle(0);
      const day = utcDay();
      if (!(await store.reserveUsage(installationId, day, 'budgetTokens', tokens, limit))) return false;
      held = { day, tokens };
      return true;
    },
    record: (usage) => settle(usage.inputTokens + usage.outputTokens),
    release: () => settle(0),
  };
}
