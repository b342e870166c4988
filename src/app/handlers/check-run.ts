/**
 * "Re-run" on the check (check_run / check_suite rerequested) and the check run's own
 * "Re-run concdbg" button (requested_action): enqueue a fresh review of that SHA. The head SHA and
 * PR number come from the payload, so nothing waits for GitHub.
 */
import type { ReviewPayload } from '../job-common.js';
import type { Delivery, WebhookDeps } from './deps.js';

interface PrRef { number: number; head?: { sha: string } }

export interface CheckRunPayload {
  action: string;
  check_run: { id: number; name: string; head_sha: string; pull_requests: PrRef[]; app?: { id: number } | null };
  requested_action?: { identifier: string };
  repository: { full_name: string };
  installation?: { id: number };
}

export interface CheckSuitePayload {
  action: string;
  check_suite: { id: number; head_sha: string; pull_requests: PrRef[] };
  repository: { full_name: string };
  installation?: { id: number };
}

export async function onCheckRun(d: Delivery<CheckRunPayload>, deps: WebhookDeps): Promise<void> {
  const p = d.payload;
  if (p.action === 'requested_action' && p.requested_action?.identifier !== 'rerun') return;
  if (p.action !== 'rerequested' && p.action !== 'requested_action') return;
  await enqueueRerun(d, deps, p.check_run.head_sha, p.check_run.pull_requests, p.repository.full_name, p.installation?.id, `rerun:${p.action}`);
}

export async function onCheckSuite(d: Delivery<CheckSuitePayload>, deps: WebhookDeps): Promise<void> {
  const p = d.payload;
  if (p.action !== 'rerequested') return;
  await enqueueRerun(d, deps, p.check_suite.head_sha, p.check_suite.pull_requests, p.repository.full_name, p.installation?.id, 'rerun:suite');
}

async function enqueueRerun(d: Delivery<unknown>, deps: WebhookDeps, sha: string, prs: PrRef[], repo: string, installationId: number | undefined, kind: string) {
  const log = deps.log.child({ deliveryId: d.id, repo, sha, event: kind });
  if (!installationId) return void log.warn({}, 'no installation; ignored');
  // A PR from a fork is not listed in pull_requests; its review comes from pull_request events.
  const targets = prs.filter((pr) => !pr.head || pr.head.sha === sha);
  if (!targets.length) return void log.info({}, 're-run for a commit with no open pull request in this repository; nothing to do');
  for (const pr of targets) {
    const payload: ReviewPayload = { deliveryId: d.id };
    // Each re-run request is its own job (keyed by the delivery): a re-run must run again.
    const { job, created } = await deps.store.enqueueJob({ repo, prNumber: pr.number, headSha: sha, trigger: `${kind}:${d.id}`, installationId, payload: payload as Record<string, unknown> });
    if (created) {
      deps.metrics?.jobsQueued.inc({ trigger: 'rerun' });
      log.info({ jobId: job.id, pr: pr.number }, 'review job queued (re-run)');
    }
  }
  deps.wake?.();
}
