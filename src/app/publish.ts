/**
 * Posts ONE review (event COMMENT) with the new findings as inline comments, exactly once per job:
 * the intent is recorded before the POST and the result after; a retry whose intent exists looks
 * for the review by its hidden job marker instead of posting again.
 */
import type { Job } from '../store/types.js';
import type { Finding } from '../types.js';
import { type GitHubApi, type ReviewComment, statusOf } from './github.js';
import type { Log } from './log.js';
import type { CommentableLines } from './pr-diff.js';
import { type DiagramFn, findingBody, findingIdIn, jobMarker, reviewBody } from './render.js';
import { jobKeyString, JobCancelled, type JobStore } from './job-common.js';

export interface PublishDeps {
  api: GitHubApi;
  store: Pick<JobStore, 'beginIntent' | 'completeIntent' | 'setReviewId' | 'recordPostedFinding'>;
  owner: string;
  log: Log;
  diagram?: DiagramFn;
  afterStep?: (step: string) => void;
}

export interface PublishResult {
  reviewId: number | null;
  inline: number;
  inBody: number;
  /** True when an earlier attempt's review was found and reused. */
  reused: boolean;
}

/** Splits findings into inline comments (validated against the diff) and the rest (review body). */
export function planComments(findings: readonly Finding[], lines: CommentableLines, diagram?: DiagramFn): { comments: ReviewComment[]; inline: Finding[]; inBody: Finding[] } {
  const comments: ReviewComment[] = [];
  const inline: Finding[] = [];
  const inBody: Finding[] = [];
  for (const f of findings) {
    const place = lines.place(f.file, f.line, f.endLine);
    if (!place) {
      inBody.push(f);
      continue;
    }
    comments.push({ ...place, body: findingBody(f, diagram) });
    inline.push(f);
  }
  return { comments, inline, inBody };
}

export async function publishReview(deps: PublishDeps, job: Job, findings: readonly Finding[], lines: CommentableLines): Promise<PublishResult> {
  if (findings.length === 0) return { reviewId: null, inline: 0, inBody: 0, reused: false };
  const { api, store } = deps;
  const key = jobKeyString(job);
  const intent = await store.beginIntent(job.id, deps.owner, 'review');
  if (!intent) throw new JobCancelled(`job ${job.id} lost its lease before posting`);

  if (!intent.created) {
    // An earlier attempt meant to post. Did it?
    const existing = intent.intent.state === 'done' && intent.intent.externalId
      ? intent.intent.externalId
      : (await api.listReviews(job.prNumber)).find((r) => r.body.includes(jobMarker(key)))?.id;
    if (existing) {
      deps.log.info({ step: 'review', reviewId: existing, jobId: job.id }, 'found the review an earlier attempt posted; not posting again');
      await recordResult(deps, job, existing, findings);
      return { reviewId: existing, inline: 0, inBody: 0, reused: true };
    }
  }

  let plan = planComments(findings, lines, deps.diagram);
  let reviewId: number;
  try {
    reviewId = await api.createReview(job.prNumber, { commitId: job.headSha, body: reviewBody({ jobKey: key, headSha: job.headSha, inline: plan.inline, inBody: plan.inBody }, deps.diagram), comments: plan.comments });
  } catch (err) {
    if (statusOf(err) !== 422 || plan.comments.length === 0) throw err;
    // GitHub refused a line (the diff moved under us): post everything in the body instead.
    deps.log.warn({ step: 'review', jobId: job.id, status: 422 }, 'GitHub refused an inline comment position; posting the findings in the review body');
    plan = { comments: [], inline: [], inBody: [...findings] };
    reviewId = await api.createReview(job.prNumber, { commitId: job.headSha, body: reviewBody({ jobKey: key, headSha: job.headSha, inline: [], inBody: plan.inBody }, deps.diagram), comments: [] });
  }
  deps.afterStep?.('review-post');
  await recordResult(deps, job, reviewId, findings);
  return { reviewId, inline: plan.inline.length, inBody: plan.inBody.length, reused: false };
}

async function recordResult(deps: PublishDeps, job: Job, reviewId: number, findings: readonly Finding[]): Promise<void> {
  await deps.store.completeIntent(job.id, 'review', reviewId);
  await deps.store.setReviewId(job.id, reviewId);
  const commentIds = new Map<string, number>();
  try {
    for (const c of await deps.api.listReviewComments(job.prNumber, reviewId)) {
      const id = findingIdIn(c.body);
      if (id) commentIds.set(id, c.id);
    }
  } catch (err) {
    deps.log.warn({ step: 'review', reviewId, err: String(err) }, 'could not list the review comments; findings recorded without comment ids');
  }
  for (const f of findings) {
    await deps.store.recordPostedFinding({ repo: job.repo, prNumber: job.prNumber, fingerprint: f.id, commentId: commentIds.get(f.id) ?? null, jobId: job.id });
  }
}
