/**
 * pull_request opened / synchronize / reopened / ready_for_review: claim the delivery and enqueue
 * a review of the head SHA, superseding older SHAs' jobs, in one store call (one transaction, one
 * round trip on PostgreSQL); closed: claim, then cancel what is pending. The handler claims the
 * delivery itself (registered with claims: 'in-handler'): nothing is written for a redelivery.
 * Only store writes happen before the answer; closing superseded check runs runs after it.
 */
import type { ReviewPayload } from '../job-common.js';
import { closeSupersededCheckRuns } from '../review-job.js';
import { claimDelivery, duplicateDelivery, type Delivery, type WebhookDeps } from './deps.js';

export interface PullRequestPayload {
  action: string;
  number: number;
  pull_request: { number: number; head: { sha: string }; draft?: boolean; state: string };
  repository: { full_name: string; name: string; owner: { login: string } };
  installation?: { id: number };
}

export const REVIEW_ACTIONS = ['opened', 'synchronize', 'reopened', 'ready_for_review'] as const;

export async function onPullRequest(d: Delivery<PullRequestPayload>, deps: WebhookDeps): Promise<void> {
  const p = d.payload;
  const repo = p.repository.full_name;
  const pr = p.pull_request.number;
  const sha = p.pull_request.head.sha;
  const log = deps.log.child({ deliveryId: d.id, repo, pr, sha, event: `pull_request.${p.action}` });
  if (!p.installation) return void log.warn({}, 'pull_request without an installation; ignored');

  if (p.action === 'closed') {
    if (!(await claimDelivery(d, deps))) return;
    const cancelled = await deps.store.supersedeOlder(repo, pr, '');
    if (cancelled.length) {
      deps.metrics?.jobsSuperseded.inc(cancelled.length);
      deps.background('close cancelled check runs', () => closeSupersededCheckRuns(d.github(), cancelled, sha, log));
    }
    return void log.info({ cancelled: cancelled.length }, 'pull request closed');
  }
  if (!(REVIEW_ACTIONS as readonly string[]).includes(p.action)) return;

  const payload: ReviewPayload = { deliveryId: d.id, auto: true, action: p.action };
  // ready_for_review gets its own key: the draft's job for the same SHA was skipped.
  const trigger = p.action === 'ready_for_review' ? 'ready_for_review' : 'pull_request';
  const result = await deps.store.enqueueForDelivery(
    { id: d.id, event: d.event },
    { repo, prNumber: pr, headSha: sha, trigger, installationId: p.installation.id, payload: payload as Record<string, unknown> },
    { supersede: true },
  );
  if (!result) return duplicateDelivery(d, deps);
  const { job, created, superseded } = result;
  if (!created) {
    deps.metrics?.webhooksDeduplicated.inc({ event: 'pull_request' });
    return void log.info({ jobId: job.id }, 'a review job for this head SHA exists already');
  }
  deps.metrics?.jobsQueued.inc({ trigger });
  log.info({ jobId: job.id, superseded: superseded.length }, 'review job queued');
  deps.wake?.();
  if (superseded.length) {
    deps.metrics?.jobsSuperseded.inc(superseded.length);
    deps.background('close superseded check runs', () => closeSupersededCheckRuns(d.github(), superseded, sha, log));
  }
}
