/**
 * The few GitHub calls the app makes, behind one small interface bound to a repository, so the
 * publisher, the check run and the job logic are tested without HTTP. `octokitGitHubApi` is the
 * real implementation over Probot's Octokit.
 */

export const MAX_PR_FILES = 3000;

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface PrFile {
  filename: string;
  status: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';
  previousFilename?: string;
  /** Absent when GitHub omits it (binary, or too large). */
  patch?: string;
  additions: number;
  deletions: number;
  changes: number;
}

export interface PullInfo {
  number: number;
  headSha: string;
  baseRef: string;
  baseSha: string;
  draft: boolean;
  state: 'open' | 'closed';
  author: string;
  authorType: string;
  changedFiles: number;
}

export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required';

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  title: string;
  message: string;
}

export interface CheckOutput {
  title: string;
  summary: string;
  text?: string;
  annotations?: CheckAnnotation[];
}

export interface CheckAction {
  label: string;
  description: string;
  identifier: string;
}

export interface CheckRunCreate {
  name: string;
  headSha: string;
  externalId: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: CheckConclusion;
  output?: CheckOutput;
  actions?: CheckAction[];
}

export interface CheckRunUpdate {
  status?: 'queued' | 'in_progress' | 'completed';
  conclusion?: CheckConclusion;
  output?: CheckOutput;
  actions?: CheckAction[];
}

export interface CheckRunInfo {
  id: number;
  externalId: string | null;
  status: string;
  conclusion: string | null;
}

export interface ReviewComment {
  path: string;
  body: string;
  line: number;
  side: 'RIGHT';
  start_line?: number;
  start_side?: 'RIGHT';
}

export interface ReviewInfo {
  id: number;
  body: string;
  author: string;
  commitId: string | null;
}

export interface ReviewCommentInfo {
  id: number;
  body: string;
}

export interface IssueComment {
  id: number;
  body: string;
  author: string;
  authorType: string;
}

export type Reaction = '+1' | '-1' | 'laugh' | 'confused' | 'heart' | 'hooray' | 'rocket' | 'eyes';

/** GitHub's repository roles; `none` for users without access. */
export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface GitHubApi {
  readonly repo: RepoRef;
  getPull(pr: number): Promise<PullInfo>;
  /** All files of the PR, page by page (100 a page), up to `max` (GitHub stops at 3,000). */
  listFiles(pr: number, max?: number): Promise<PrFile[]>;
  /** A file's text at a ref or SHA; null when it does not exist there. */
  getContent(path: string, ref: string): Promise<string | null>;
  createCheckRun(input: CheckRunCreate): Promise<number>;
  updateCheckRun(id: number, input: CheckRunUpdate): Promise<void>;
  /** The check runs named `name` on a commit (to find one a crashed attempt created). */
  listCheckRuns(headSha: string, name: string): Promise<CheckRunInfo[]>;
  /** One review with all its inline comments; event is always COMMENT. */
  createReview(pr: number, input: { commitId: string; body: string; comments: ReviewComment[] }): Promise<number>;
  listReviews(pr: number): Promise<ReviewInfo[]>;
  listReviewComments(pr: number, reviewId: number): Promise<ReviewCommentInfo[]>;
  listIssueComments(pr: number): Promise<IssueComment[]>;
  createIssueComment(pr: number, body: string): Promise<number>;
  updateIssueComment(id: number, body: string): Promise<void>;
  addReaction(commentId: number, content: Reaction): Promise<void>;
  getPermission(username: string): Promise<Permission>;
}

/** An error with GitHub's HTTP status, as Octokit throws it. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

// ── the real implementation ──────────────────────────────────────────────────

/** The slice of Octokit this file uses (Probot's `ProbotOctokit` instance satisfies it). */
export interface OctokitLike {
  request: (route: string, params?: Record<string, unknown>) => Promise<{ data: unknown; headers: Record<string, unknown> }>;
}

/** Non-idempotent POSTs are never retried inside the request: the job retries them after looking for what was posted. */
const NO_RETRY = { request: { retries: 0 } };

export function octokitGitHubApi(octokit: OctokitLike, repo: RepoRef): GitHubApi {
  const r = { owner: repo.owner, repo: repo.repo };
  const get = async <T>(route: string, params: Record<string, unknown> = {}): Promise<T> =>
    (await octokit.request(route, { ...r, ...params })).data as T;

  async function pages<T>(route: string, params: Record<string, unknown>, max: number, pick?: (d: unknown) => T[]): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; out.length < max; page++) {
      const data = await get<unknown>(route, { ...params, per_page: 100, page });
      const items = pick ? pick(data) : (data as T[]);
      out.push(...items);
      if (items.length < 100) break;
    }
    return out.slice(0, max);
  }

  return {
    repo,
    async getPull(pr) {
      const d = await get<{
        number: number; draft?: boolean; state: 'open' | 'closed'; changed_files?: number;
        head: { sha: string }; base: { ref: string; sha: string }; user: { login: string; type: string } | null;
      }>('GET /repos/{owner}/{repo}/pulls/{pull_number}', { pull_number: pr });
      return {
        number: d.number, headSha: d.head.sha, baseRef: d.base.ref, baseSha: d.base.sha, draft: Boolean(d.draft), state: d.state,
        author: d.user?.login ?? '', authorType: d.user?.type ?? 'User', changedFiles: d.changed_files ?? 0,
      };
    },
    async listFiles(pr, max = MAX_PR_FILES) {
      const raw = await pages<{ filename: string; status: PrFile['status']; previous_filename?: string; patch?: string; additions: number; deletions: number; changes: number }>(
        'GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { pull_number: pr }, max);
      return raw.map((f) => ({
        filename: f.filename, status: f.status, additions: f.additions, deletions: f.deletions, changes: f.changes,
        ...(f.previous_filename ? { previousFilename: f.previous_filename } : {}),
        ...(typeof f.patch === 'string' ? { patch: f.patch } : {}),
      }));
    },
    async getContent(path, ref) {
      try {
        const d = await get<{ type?: string; content?: string; encoding?: string }>('GET /repos/{owner}/{repo}/contents/{path}', { path, ref });
        if (d.type !== 'file' || typeof d.content !== 'string') return null;
        return d.encoding === 'base64' ? Buffer.from(d.content, 'base64').toString('utf8') : d.content;
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err;
      }
    },
    async createCheckRun(input) {
      const d = await get<{ id: number }>('POST /repos/{owner}/{repo}/check-runs', {
        name: input.name, head_sha: input.headSha, external_id: input.externalId, status: input.status,
        ...(input.conclusion ? { conclusion: input.conclusion } : {}),
        ...(input.output ? { output: input.output } : {}),
        ...(input.actions ? { actions: input.actions } : {}),
        ...(input.status === 'in_progress' ? { started_at: new Date().toISOString() } : {}),
        ...NO_RETRY,
      });
      return d.id;
    },
    async updateCheckRun(id, input) {
      await get('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        check_run_id: id,
        ...(input.status ? { status: input.status } : {}),
        ...(input.conclusion ? { conclusion: input.conclusion, completed_at: new Date().toISOString() } : {}),
        ...(input.output ? { output: input.output } : {}),
        ...(input.actions ? { actions: input.actions } : {}),
      });
    },
    async listCheckRuns(headSha, name) {
      return pages<CheckRunInfo>('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', { ref: headSha, check_name: name, filter: 'all' }, 1000, (d) =>
        ((d as { check_runs: Array<{ id: number; external_id: string | null; status: string; conclusion: string | null }> }).check_runs ?? []).map((c) => ({
          id: c.id, externalId: c.external_id, status: c.status, conclusion: c.conclusion,
        })));
    },
    async createReview(pr, input) {
      const d = await get<{ id: number }>('POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
        pull_number: pr, commit_id: input.commitId, body: input.body, event: 'COMMENT', comments: input.comments, ...NO_RETRY,
      });
      return d.id;
    },
    async listReviews(pr) {
      const raw = await pages<{ id: number; body: string | null; user: { login: string } | null; commit_id: string | null }>(
        'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews', { pull_number: pr }, 3000);
      return raw.map((v) => ({ id: v.id, body: v.body ?? '', author: v.user?.login ?? '', commitId: v.commit_id }));
    },
    async listReviewComments(pr, reviewId) {
      const raw = await pages<{ id: number; body: string }>('GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments', { pull_number: pr, review_id: reviewId }, 3000);
      return raw.map((c) => ({ id: c.id, body: c.body }));
    },
    async listIssueComments(pr) {
      const raw = await pages<{ id: number; body?: string; user: { login: string; type: string } | null }>(
        'GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { issue_number: pr }, 3000);
      return raw.map((c) => ({ id: c.id, body: c.body ?? '', author: c.user?.login ?? '', authorType: c.user?.type ?? 'User' }));
    },
    async createIssueComment(pr, body) {
      const d = await get<{ id: number }>('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { issue_number: pr, body, ...NO_RETRY });
      return d.id;
    },
    async updateIssueComment(id, body) {
      await get('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { comment_id: id, body });
    },
    async addReaction(commentId, content) {
      await get('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { comment_id: commentId, content });
    },
    async getPermission(username) {
      try {
        const d = await get<{ permission?: string; role_name?: string }>('GET /repos/{owner}/{repo}/collaborators/{username}/permission', { username });
        const role = d.role_name ?? d.permission ?? 'none';
        return (['admin', 'maintain', 'write', 'triage', 'read'] as const).find((p) => p === role) ?? 'none';
      } catch (err) {
        if (statusOf(err) === 404) return 'none';
        throw err;
      }
    },
  };
}
