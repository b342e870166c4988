/** Types and helpers shared by the review job, the publisher and the handlers. */
import type { Job, Store } from '../store/types.js';
import type { Variant } from '../types.js';

/** What handlers put in a job's payload. */
export interface ReviewPayload {
  deliveryId?: string;
  /** Started by a pull_request event (subject to the drafts and autoReview settings). */
  auto?: boolean;
  /** The pull_request action, for auto jobs. */
  action?: string;
  /** `/concdbg mode X`. */
  variant?: Variant;
  requestedBy?: string;
}

export function jobKeyString(job: Pick<Job, 'repo' | 'prNumber' | 'headSha' | 'trigger'>): string {
  return `${job.repo}#${job.prNumber}@${job.headSha}/${job.trigger}`;
}

/** The narrow slice of the store the job uses. */
export type JobStore = Pick<
  Store,
  | 'isJobActive'
  | 'getJob'
  | 'setCheckRunId'
  | 'setReviewId'
  | 'beginIntent'
  | 'completeIntent'
  | 'getIntent'
  | 'recordPostedFinding'
  | 'listPostedFindings'
  | 'resolvePostedFinding'
  | 'listDismissedFindings'
  | 'addUsage'
>;

/** The job no longer belongs to this worker (superseded, or its lease was lost): stop quietly. */
export class JobCancelled extends Error {
  override name = 'JobCancelled';
}
