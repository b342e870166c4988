import type { JobKey } from '../store/types.js';

/**
 * The job key as one string, stable across retries of the job: put it in the
 * check run's `external_id` and (via `reviewMarker`) in the review body, so a
 * retry after a crash can find what an earlier attempt already posted.
 */
export function jobKeyString(key: JobKey): string {
  return `concdbg:${key.repo}#${key.prNumber}@${key.headSha}:${key.trigger}`;
}

/** A hidden HTML comment carrying the job key, for review and comment bodies. */
export function reviewMarker(key: JobKey): string {
  return `<!-- ${jobKeyString(key).replace(/--/g, '- -')} -->`;
}

/** True if a posted body carries the marker of this job. */
export function hasReviewMarker(body: string | null | undefined, key: JobKey): boolean {
  return typeof body === 'string' && body.includes(reviewMarker(key));
}
