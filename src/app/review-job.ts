/**
 * The worker's review job: from a claimed job to one check run, at most one review, and the
 * sticky summary. Every post is guarded: the job must still hold its lease, the intent is recorded
 * before the call and the result after, and a retry looks for what an earlier attempt posted
 * (hidden markers, the check run's external_id) before posting again.
 */
import type { Diagnoser, EngineOutput, ReviewOptions } from '../engine/review.js';
import type { SourceReader } from '../parse/source.js';
import type { Job, Store } from '../store/types.js';
import { utcDay } from '../store/types.js';
import type { Finding, Variant } from '../types.js';
import { type CheckRunUpdate, type GitHubApi, type PullInfo, MAX_PR_FILES } from './github.js';
import type { Log } from './log.js';
import type { AppMetrics } from './metrics.js';
import { buildPrDiff, CommentableLines, type SkippedFile } from './pr-diff.js';
import { publishReview } from './publish.js';
import {
  annotationsOf,
  batches,
  checkSummary,
  checkText,
  type DiagramFn,
  type FindingStatus,
  type ReviewOutcome,
  summaryComment,
  verdict,
} from './render.js';
import { parseSettings, pathFilter, SETTINGS_PATH, type Settings } from './settings.js';
import { upsertSummary } from './summary.js';
import { JobCancelled, jobKeyString, type JobStore, type ReviewPayload } from './job-common.js';

export { JobCancelled, jobKeyString, type JobStore, type ReviewPayload } from './job-common.js';

export const CHECK_NAME = 'concdbg';

export const RERUN_ACTION = { label: 'Re-run concdbg', description: 'Review this commit again', identifier: 'rerun' } as const;

export interface ReviewJobDeps {
  api: GitHubApi;
  store: JobStore;
  /** The worker's lease owner id. */
  owner: string;
  runEngine: (diff: string, opts: ReviewOptions) => Promise<EngineOutput>;
  /** An LLM diagnoser when the app and the repository allow it; undefined = offline. */
  diagnoserFor?: (input: { settings: Settings; installationId: number; variant?: Variant }) => Diagnoser | undefined;
  /** The app's bot login ("<slug>[bot]"), to find its own sticky comment. */
  botLogin: () => Promise<string>;
  log: Log;
  metrics?: AppMetrics;
  diagram?: DiagramFn;
  /** Test hook: called after each named step (e.g. "review-post"); may exit the process. */
  afterStep?: (step: string) => void;
}

/** A failure the user must act on (shown in the check run); not retried. */
export class JobUserError extends Error {
  override name = 'JobUserError';
}

export interface JobResult {
  outcome: ReviewOutcome;
  conclusion: string;
  posted: number;
  reviewId: number | null;
}

export async function runReviewJob(job: Job, deps: ReviewJobDeps): Promise<JobResult> {
  const payload = job.payload as ReviewPayload;
  const log = deps.log.child({ deliveryId: payload.deliveryId, jobId: job.id, repo: job.repo, pr: job.prNumber, sha: job.headSha, trigger: job.trigger, attempt: job.attempts });
  const started = performance.now();
  const step = (name: string, fields: Record<string, unknown> = {}) => log.info({ step: name, ...fields }, `job step: ${name}`);

  const checkRunId = await ensureCheckRun(job, deps, log);
  step('check_run', { checkRunId });
  try {
    const result = await review(job, deps, checkRunId, step);
    deps.metrics?.reviewLatency.observe((performance.now() - started) / 1000);
    deps.metrics?.jobsCompleted.inc({ conclusion: result.conclusion });
    step('done', { outcome: result.outcome, conclusion: result.conclusion, posted: result.posted });
    return result;
  } catch (err) {
    if (err instanceof JobCancelled) {
      await closeIfSuperseded(job, deps, checkRunId, log);
      return { outcome: 'superseded', conclusion: 'neutral', posted: 0, reviewId: null };
    }
    throw err;
  }
}

async function review(job: Job, deps: ReviewJobDeps, checkRunId: number, step: (n: string, f?: Record<string, unknown>) => void): Promise<JobResult> {
  const { api, store } = deps;
  const payload = job.payload as ReviewPayload;
  const pull = await api.getPull(job.prNumber);
  step('pull', { headSha: pull.headSha, draft: pull.draft, state: pull.state });

  if (pull.state !== 'open') return finishNeutral(job, deps, checkRunId, 'skipped', 'The pull request is closed.');
  if (pull.headSha !== job.headSha) {
    return finishNeutral(job, deps, checkRunId, 'superseded', `Superseded: the pull request's head is now ${pull.headSha.slice(0, 7)}.`);
  }

  // Settings from the base branch: a PR cannot loosen its own gate.
  const settingsText = await api.getContent(SETTINGS_PATH, pull.baseRef);
  const parsed = parseSettings(settingsText);
  if (!parsed.ok) {
    step('settings', { error: parsed.error, line: parsed.line });
    const where = parsed.line ? ` (line ${parsed.line})` : '';
    return finishNeutral(job, deps, checkRunId, 'bad_settings', `${parsed.error}${where}. Fix ${SETTINGS_PATH} on ${pull.baseRef}; nothing was reviewed.`);
  }
  const settings = parsed.settings;
  step('settings', { source: parsed.source, gate: settings.gate });

  const skipReason = autoSkipReason(payload, pull, settings);
  if (skipReason) return finishNeutral(job, deps, checkRunId, 'skipped', skipReason);

  const files = await api.listFiles(job.prNumber, MAX_PR_FILES);
  const truncated = pull.changedFiles > files.length && files.length >= MAX_PR_FILES;
  const prDiff = buildPrDiff(files, truncated ? { truncatedAt: MAX_PR_FILES } : {});
  step('files', { files: files.length, reviewable: prDiff.reviewable.length, skipped: prDiff.skipped.length });

  const variant = payload.variant ?? settings.focus;
  const diagnose = deps.diagnoserFor?.({ settings, installationId: job.installationId, ...(variant ? { variant } : {}) });
  const engine = await deps.runEngine(prDiff.diff, {
    readSource: headReader(api, job.headSha),
    includePath: pathFilter(settings),
    ...(settings.modes ? { modes: settings.modes } : {}),
    minConfidence: settings.minConfidence,
    ...(diagnose ? { diagnose } : {}),
  });
  const findings = engine.findings;
  step('engine', { findings: findings.length, candidates: engine.stats.candidates, ms: engine.stats.ms, llm: Boolean(diagnose) });
  for (const f of findings) deps.metrics?.findings.inc({ mode: f.failureMode, source: f.source });
  if (engine.stats.llmInputTokens || engine.stats.llmOutputTokens) {
    deps.metrics?.llmTokens.inc({ direction: 'input' }, engine.stats.llmInputTokens);
    deps.metrics?.llmTokens.inc({ direction: 'output' }, engine.stats.llmOutputTokens);
  }

  const [posted, dismissedList] = await Promise.all([
    store.listPostedFindings(job.repo, job.prNumber),
    store.listDismissedFindings(job.repo, job.prNumber),
  ]);
  const postedIds = new Set(posted.map((p) => p.fingerprint));
  const dismissed = new Set(dismissedList.map((d) => d.fingerprint));
  const fresh = findings.filter((f) => !postedIds.has(f.id) && !dismissed.has(f.id));

  await assertActive(job, deps);
  const published = await publishReview(
    { api, store, log: deps.log, owner: deps.owner, ...(deps.diagram ? { diagram: deps.diagram } : {}), ...(deps.afterStep ? { afterStep: deps.afterStep } : {}) },
    job,
    fresh,
    new CommentableLines(prDiff.reviewable),
  );
  step('review', { reviewId: published.reviewId, inline: published.inline, inBody: published.inBody, reused: published.reused });

  const outcome: ReviewOutcome = prDiff.skipped.length > 0 ? 'partial' : 'reviewed';
  const current = new Set(findings.map((f) => f.id));
  const resolved: string[] = [];
  if (outcome === 'reviewed') {
    for (const p of posted) {
      if (p.status === 'posted' && !current.has(p.fingerprint) && !dismissed.has(p.fingerprint)) {
        await store.resolvePostedFinding(job.repo, job.prNumber, p.fingerprint);
        resolved.push(p.fingerprint);
      }
    }
  }
  const v = verdict(outcome, findings, dismissed, settings.gate);

  await assertActive(job, deps);
  const statuses: Array<{ finding: Finding; status: FindingStatus }> = findings.map((f) => ({
    finding: f,
    status: dismissed.has(f.id) ? 'dismissed' : postedIds.has(f.id) ? 'still present' : 'new',
  }));
  const summaryNote = variant ? `Diagnosis focus: ${variant}${diagnose ? '' : ' (offline diagnosis)'}.` : undefined;
  await upsertSummary(api, await deps.botLogin(), job.prNumber, summaryComment({
    headSha: job.headSha, conclusion: v.conclusion, findings: statuses, resolved, skipped: prDiff.skipped, ...(summaryNote ? { note: summaryNote } : {}),
  }));
  step('summary', { resolved: resolved.length });

  const summary = checkSummary({
    filesReviewed: engine.stats.relevantFiles,
    skipped: prDiff.skipped,
    ...(engine.stats.filter ? { excluded: engine.stats.filter.droppedBy } : {}),
    findings, dismissed, gate: settings.gate,
    inputTokens: engine.stats.llmInputTokens, outputTokens: engine.stats.llmOutputTokens,
    notes: [...engine.notes, ...engine.warnings],
  });
  await completeCheckRun(api, checkRunId, { conclusion: v.conclusion, title: v.title, summary, text: checkText(findings, dismissed), annotations: annotationsOf(findings, dismissed) });
  step('check_run_completed', { conclusion: v.conclusion });

  // The reporting counters, once per review. The daily LLM budget keeps its own counter (the
  // diagnoser's DailyBudget reserves before each request and settles to the real use after it).
  await store.addUsage(job.installationId, utcDay(), {
    reviews: 1, inputTokens: engine.stats.llmInputTokens, outputTokens: engine.stats.llmOutputTokens,
  });
  return { outcome, conclusion: v.conclusion, posted: published.inline + published.inBody, reviewId: published.reviewId };
}

/** Whole files at the head SHA give the detectors whole functions; the engine asks only for relevant files. */
const MAX_CONTEXT_FILES = 50;
const MAX_CONTEXT_CHARS = 512 * 1024;

function headReader(api: GitHubApi, sha: string): SourceReader {
  let reads = 0;
  return async (path) => {
    if (reads >= MAX_CONTEXT_FILES) return undefined;
    reads++;
    // Context is a bonus: a file that cannot be read is reviewed from its hunks.
    const text = await api.getContent(path, sha).catch(() => null);
    return text !== null && text.length <= MAX_CONTEXT_CHARS ? text : undefined;
  };
}

function autoSkipReason(payload: ReviewPayload, pull: PullInfo, settings: Settings): string | undefined {
  if (!payload.auto) return undefined;
  if (pull.draft && !settings.drafts) return 'Draft pull request: reviewed when marked ready for review (or set `drafts: true`). Comment `/concdbg` to review now.';
  if (payload.action === 'synchronize' && !settings.autoReview.onPush) return 'Automatic review on push is off (`autoReview.onPush: false`). Comment `/concdbg` to review.';
  if (payload.action !== 'synchronize' && !settings.autoReview.onOpen) return 'Automatic review is off (`autoReview.onOpen: false`). Comment `/concdbg` to review.';
  return undefined;
}

async function assertActive(job: Job, deps: ReviewJobDeps): Promise<void> {
  if (!(await deps.store.isJobActive(job.id, deps.owner))) throw new JobCancelled(`job ${job.id} is no longer held by ${deps.owner}`);
}

/**
 * The job's check run, created once: the id stored on the job is reused by retries; after a crash
 * between GitHub's answer and the store, the run is found by its external_id (the job key).
 */
export async function ensureCheckRun(job: Job, deps: Pick<ReviewJobDeps, 'api' | 'store' | 'owner'>, log: Log): Promise<number> {
  const { api, store } = deps;
  const key = jobKeyString(job);
  const current = await store.getJob(job.id);
  const inProgress: CheckRunUpdate = {
    status: 'in_progress',
    output: { title: 'Reviewing for concurrency hazards', summary: `Reviewing ${job.headSha.slice(0, 7)}…` },
  };
  if (current?.checkRunId) {
    await api.updateCheckRun(current.checkRunId, inProgress);
    return current.checkRunId;
  }
  const intent = await store.beginIntent(job.id, deps.owner, 'check_run');
  if (!intent) throw new JobCancelled(`job ${job.id} is no longer held by ${deps.owner}`);
  if (!intent.created) {
    const found = (await api.listCheckRuns(job.headSha, CHECK_NAME)).find((c) => c.externalId === key);
    if (found) {
      log.info({ step: 'check_run', checkRunId: found.id }, 'found the check run an earlier attempt created');
      const id = await store.setCheckRunId(job.id, found.id);
      await store.completeIntent(job.id, 'check_run', id);
      await api.updateCheckRun(id, inProgress);
      return id;
    }
  }
  const created = await api.createCheckRun({
    name: CHECK_NAME, headSha: job.headSha, externalId: key, status: 'in_progress', output: inProgress.output!, actions: [RERUN_ACTION],
  });
  const id = await store.setCheckRunId(job.id, created);
  await store.completeIntent(job.id, 'check_run', id);
  return id;
}

export async function completeCheckRun(
  api: GitHubApi,
  checkRunId: number,
  out: { conclusion: 'success' | 'failure' | 'neutral'; title: string; summary: string; text?: string | undefined; annotations?: ReturnType<typeof annotationsOf> },
): Promise<void> {
  const chunks = batches(out.annotations ?? [], 50);
  const output = { title: out.title, summary: out.summary, ...(out.text ? { text: out.text } : {}) };
  // GitHub appends annotations per request: all batches but the last while in progress, the last with the conclusion.
  for (const chunk of chunks.slice(0, -1)) await api.updateCheckRun(checkRunId, { output: { ...output, annotations: chunk } });
  const last = chunks[chunks.length - 1];
  await api.updateCheckRun(checkRunId, { status: 'completed', conclusion: out.conclusion, output: { ...output, ...(last ? { annotations: last } : {}) }, actions: [RERUN_ACTION] });
}

async function finishNeutral(job: Job, deps: ReviewJobDeps, checkRunId: number, outcome: ReviewOutcome, reason: string): Promise<JobResult> {
  await assertActive(job, deps);
  const v = verdict(outcome, [], new Set(), 'high');
  await completeCheckRun(deps.api, checkRunId, { conclusion: 'neutral', title: v.title, summary: reason });
  deps.log.info({ step: 'check_run_completed', jobId: job.id, outcome, conclusion: 'neutral', reason }, 'job step: check_run_completed');
  return { outcome, conclusion: 'neutral', posted: 0, reviewId: null };
}

async function closeIfSuperseded(job: Job, deps: ReviewJobDeps, checkRunId: number, log: Log): Promise<void> {
  const now = await deps.store.getJob(job.id);
  const by = now?.supersededBy;
  log.info({ step: 'cancelled', state: now?.state, supersededBy: by }, 'job no longer ours; closing its check run');
  await deps.api.updateCheckRun(checkRunId, {
    status: 'completed',
    conclusion: 'neutral',
    output: {
      title: 'Superseded by a newer push',
      summary: by ? `Superseded by ${by.slice(0, 7)}: the newer commit is reviewed instead.` : 'This review was cancelled before it finished; a newer review replaces it.',
    },
  });
}

/**
 * Closes the check runs of jobs cancelled by a newer push (the webhook side calls this after
 * `enqueueJob(…, { supersede: true })`). Jobs that have no check run yet need nothing: their worker
 * sees the lost lease and closes its own.
 */
export async function closeSupersededCheckRuns(api: GitHubApi, jobs: readonly Job[], newSha: string, log: Log): Promise<void> {
  for (const j of jobs) {
    if (!j.checkRunId) continue;
    try {
      await api.updateCheckRun(j.checkRunId, {
        status: 'completed',
        conclusion: 'neutral',
        output: { title: 'Superseded by a newer push', summary: `Superseded by ${newSha.slice(0, 7)}: the newer commit is reviewed instead.` },
      });
    } catch (err) {
      log.warn({ jobId: j.id, checkRunId: j.checkRunId, err: String(err) }, 'could not close a superseded check run');
    }
  }
}

/** For a job that failed for good: its check run completed neutral with the reason (created if it never was). */
export async function failCheckRun(job: Job, deps: Pick<ReviewJobDeps, 'api' | 'store'>, reason: string): Promise<void> {
  const current = await deps.store.getJob(job.id);
  const output = { title: 'Review failed', summary: `concdbg could not finish this review: ${reason}\n\nComment \`/concdbg\` or use "Re-run" to try again.` };
  let id = current?.checkRunId ?? null;
  if (!id) id = (await deps.api.listCheckRuns(job.headSha, CHECK_NAME)).find((c) => c.externalId === jobKeyString(job))?.id ?? null;
  if (id) {
    await deps.api.updateCheckRun(id, { status: 'completed', conclusion: 'neutral', output, actions: [RERUN_ACTION] });
  } else {
    await deps.api.createCheckRun({ name: CHECK_NAME, headSha: job.headSha, externalId: jobKeyString(job), status: 'completed', conclusion: 'neutral', output, actions: [RERUN_ACTION] });
  }
}
