/** An in-memory GitHubApi for publisher and job tests: records every call, with failure hooks. */
import type {
  CheckRunCreate, CheckRunInfo, CheckRunUpdate, GitHubApi, IssueComment, Permission, PrFile, PullInfo, Reaction, ReviewComment,
} from '../../../src/app/github.js';

export interface MemoryReview { id: number; body: string; commitId: string; comments: Array<ReviewComment & { id: number }>; author: string }
export interface MemoryCheckRun extends CheckRunCreate { id: number; updates: CheckRunUpdate[] }

export class HttpError extends Error {
  constructor(public status: number, message = `HTTP ${status}`, public response: { headers: Record<string, string> } = { headers: {} }) {
    super(message);
  }
}

export class MemoryApi implements GitHubApi {
  readonly repo = { owner: 'octo', repo: 'shop' };
  botLogin = 'concdbg[bot]';
  pull: PullInfo = { number: 7, headSha: 'a'.repeat(40), baseRef: 'main', baseSha: 'b'.repeat(40), draft: false, state: 'open', author: 'alice', authorType: 'User', changedFiles: 0 };
  files: PrFile[] = [];
  contents = new Map<string, string>();
  reviews: MemoryReview[] = [];
  checkRuns: MemoryCheckRun[] = [];
  comments: IssueComment[] = [];
  reactions: Array<{ commentId: number; content: Reaction }> = [];
  permissions = new Map<string, Permission>();
  calls: string[] = [];
  /** Throw this error from the next call of the named method (once). */
  failNext = new Map<string, Error>();
  /** Throw AFTER the effect took place (a lost answer) from the next call of the named method. */
  failAfterNext = new Map<string, Error>();
  private nextId = 100;

  private enter(name: string) {
    this.calls.push(name);
    const e = this.failNext.get(name);
    if (e) {
      this.failNext.delete(name);
      throw e;
    }
  }
  private leave(name: string) {
    const e = this.failAfterNext.get(name);
    if (e) {
      this.failAfterNext.delete(name);
      throw e;
    }
  }

  async getPull() { this.enter('getPull'); return { ...this.pull, changedFiles: this.pull.changedFiles || this.files.length }; }
  async listFiles(_pr: number, max = 3000) { this.enter('listFiles'); return this.files.slice(0, max); }
  async getContent(path: string, ref: string) { this.enter('getContent'); return this.contents.get(`${ref}:${path}`) ?? null; }
  async createCheckRun(input: CheckRunCreate) {
    this.enter('createCheckRun');
    const id = this.nextId++;
    this.checkRuns.push({ ...input, id, updates: [] });
    this.leave('createCheckRun');
    return id;
  }
  async updateCheckRun(id: number, input: CheckRunUpdate) {
    this.enter('updateCheckRun');
    const run = this.checkRuns.find((c) => c.id === id);
    if (!run) throw new HttpError(404);
    run.updates.push(input);
    if (input.status) run.status = input.status;
    if (input.conclusion) run.conclusion = input.conclusion;
  }
  async listCheckRuns(headSha: string, name: string): Promise<CheckRunInfo[]> {
    this.enter('listCheckRuns');
    return this.checkRuns.filter((c) => c.headSha === headSha && c.name === name).map((c) => ({ id: c.id, externalId: c.externalId, status: c.status, conclusion: c.conclusion ?? null }));
  }
  async createReview(_pr: number, input: { commitId: string; body: string; comments: ReviewComment[] }) {
    this.enter('createReview');
    const id = this.nextId++;
    this.reviews.push({ id, body: input.body, commitId: input.commitId, author: this.botLogin, comments: input.comments.map((c) => ({ ...c, id: this.nextId++ })) });
    this.leave('createReview');
    return id;
  }
  async listReviews() { this.enter('listReviews'); return this.reviews.map((r) => ({ id: r.id, body: r.body, author: r.author, commitId: r.commitId })); }
  async listReviewComments(_pr: number, reviewId: number) {
    this.enter('listReviewComments');
    return (this.reviews.find((r) => r.id === reviewId)?.comments ?? []).map((c) => ({ id: c.id, body: c.body }));
  }
  async listIssueComments() { this.enter('listIssueComments'); return [...this.comments]; }
  async createIssueComment(_pr: number, body: string) {
    this.enter('createIssueComment');
    const id = this.nextId++;
    this.comments.push({ id, body, author: this.botLogin, authorType: 'Bot' });
    return id;
  }
  async updateIssueComment(id: number, body: string) {
    this.enter('updateIssueComment');
    const c = this.comments.find((x) => x.id === id);
    if (!c) throw new HttpError(404);
    c.body = body;
  }
  async addReaction(commentId: number, content: Reaction) { this.enter('addReaction'); this.reactions.push({ commentId, content }); }
  async getPermission(username: string) { this.enter('getPermission'); return this.permissions.get(username) ?? 'none'; }
}
