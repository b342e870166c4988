/**
 * The sticky summary comment: one per PR, found by the app's login AND the hidden marker (a
 * user quoting the marker does not hijack it), edited in place.
 */
import type { GitHubApi } from './github.js';
import { SUMMARY_MARKER } from './render.js';

export async function findSummaryComment(api: Pick<GitHubApi, 'listIssueComments'>, botLogin: string, pr: number): Promise<number | undefined> {
  const comments = await api.listIssueComments(pr);
  return comments.find((c) => c.author === botLogin && c.body.includes(SUMMARY_MARKER))?.id;
}

/** Creates the summary comment or edits the existing one; returns its id. */
export async function upsertSummary(api: Pick<GitHubApi, 'listIssueComments' | 'createIssueComment' | 'updateIssueComment'>, botLogin: string, pr: number, body: string): Promise<number> {
  const existing = await findSummaryComment(api, botLogin, pr);
  if (existing !== undefined) {
    await api.updateIssueComment(existing, body);
    return existing;
  }
  return api.createIssueComment(pr, body);
}
