import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API, example, setup } from '../support/probot.js';

let t: Awaited<ReturnType<typeof setup>>;
beforeEach(async () => { t = await setup(); });
afterEach(async () => t.close());

const REPO = '/repos/Codertocat/Hello-World';
const HEAD = 'f'.repeat(40);

function comment(body: string, login = 'bob', type = 'User') {
  const p = example('issue_comment', 'created');
  p.comment.body = body;
  p.comment.user = { ...p.comment.user, login, type };
  p.issue.user = { ...p.issue.user, login: 'alice' };
  p.issue.pull_request = { url: `https://api.github.com${REPO}/pulls/${p.issue.number}` };
  return p;
}

const pull = (n: number) => ({ number: n, state: 'open', draft: false, head: { sha: HEAD }, base: { ref: 'main', sha: 'b'.repeat(40) }, user: { login: 'alice', type: 'User' } });

describe('/concdbg permission matrix', () => {
  it.each([
    { who: 'the PR author', login: 'alice', permission: null, allowed: true },
    { who: 'an admin', login: 'bob', permission: 'admin', allowed: true },
    { who: 'a maintainer', login: 'bob', permission: 'maintain', allowed: true },
    { who: 'a writer', login: 'bob', permission: 'write', allowed: true },
    { who: 'a triager', login: 'bob', permission: 'triage', allowed: false },
    { who: 'a reader', login: 'bob', permission: 'read', allowed: false },
    { who: 'a stranger', login: 'bob', permission: 'none', allowed: false },
  ])('$who → allowed: $allowed', async ({ login, permission, allowed }) => {
    const p = comment('/concdbg', login);
    const scope = t.token();
    if (permission) scope.get(`${REPO}/collaborators/${login}/permission`).reply(200, { permission: permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission, role_name: permission });
    if (allowed) {
      scope
        .post(`${REPO}/issues/comments/${p.comment.id}/reactions`, { content: 'eyes' }).reply(201, {})
        .get(`${REPO}/pulls/${p.issue.number}`).reply(200, pull(p.issue.number))
        .post(`${REPO}/issues/comments/${p.comment.id}/reactions`, { content: 'rocket' }).reply(201, {});
    }
    await t.receive('issue_comment', p);
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    const jobs = await t.store.listJobs();
    expect(jobs).toHaveLength(allowed ? 1 : 0);
    if (allowed) expect(jobs[0]).toMatchObject({ headSha: HEAD, trigger: `comment:${p.comment.id}`, payload: { requestedBy: login } });
  });

  it('a 404 on the permission lookup (not a collaborator) means no', async () => {
    const p = comment('/concdbg', 'eve');
    const scope = t.token().get(`${REPO}/collaborators/eve/permission`).reply(404, { message: 'Not Found' });
    await t.receive('issue_comment', p);
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    expect(await t.store.listJobs()).toHaveLength(0);
  });

  it('comments by bots, the app included, are ignored without a call', async () => {
    await t.receive('issue_comment', comment('/concdbg', 'concdbg[bot]', 'Bot'));
    await t.receive('issue_comment', comment('/concdbg', 'renovate', 'Bot'));
    await t.bg.drain();
    expect(await t.store.listJobs()).toHaveLength(0);
  });

  it('comments without a command, or on issues, are ignored', async () => {
    await t.receive('issue_comment', comment('looks good, no /concdbg here'));
    const onIssue = comment('/concdbg');
    delete onIssue.issue.pull_request;
    await t.receive('issue_comment', onIssue);
    await t.bg.drain();
    expect(await t.store.listJobs()).toHaveLength(0);
  });
});

describe('/concdbg commands', () => {
  it('answers the webhook before any GitHub call finishes', async () => {
    const p = comment('/concdbg help', 'alice');
    const scope = t.token()
      .post(`${REPO}/issues/comments/${p.comment.id}/reactions`).delay(300).reply(201, {})
      .post(`${REPO}/issues/${p.issue.number}/comments`, (b) => b.body.includes('/concdbg mode')).reply(201, { id: 1 });
    await t.receive('issue_comment', p);
    expect(scope.isDone()).toBe(false);
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
  });

  it('mode sets the diagnosis focus for one review', async () => {
    const p = comment('/concdbg mode queue', 'alice');
    t.token()
      .post(`${REPO}/issues/comments/${p.comment.id}/reactions`).twice().reply(201, {})
      .get(`${REPO}/pulls/${p.issue.number}`).reply(200, pull(p.issue.number));
    await t.receive('issue_comment', p);
    await t.bg.drain();
    expect((await t.store.listJobs())[0]!.payload).toMatchObject({ variant: 'queue' });
  });

  it('an unknown command gets the help in reply and starts nothing', async () => {
    const p = comment('/concdbg frobnicate', 'alice');
    const scope = t.token()
      .post(`${REPO}/issues/comments/${p.comment.id}/reactions`).reply(201, {})
      .post(`${REPO}/issues/${p.issue.number}/comments`, (b) => b.body.includes('Unknown command `frobnicate`')).reply(201, { id: 1 });
    await t.receive('issue_comment', p);
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    expect(await t.store.listJobs()).toHaveLength(0);
  });

  it('ignore dismisses a reported finding, replies, and re-evaluates the check', async () => {
    const p = comment('/concdbg ignore fp123 only one worker runs this', 'alice');
    await t.store.recordPostedFinding({ repo: 'Codertocat/Hello-World', prNumber: p.issue.number, fingerprint: 'fp123', commentId: 1, jobId: 1 });
    const scope = t.token()
      .post(`${REPO}/issues/comments/${p.comment.id}/reactions`).reply(201, {})
      .get(`${REPO}/pulls/${p.issue.number}`).reply(200, pull(p.issue.number))
      .post(`${REPO}/issues/${p.issue.number}/comments`, (b) => b.body.includes('dismissed `fp123` (only one worker runs this)')).reply(201, { id: 2 });
    await t.receive('issue_comment', p);
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    expect(await t.store.listDismissedFindings('Codertocat/Hello-World', p.issue.number)).toMatchObject([{ fingerprint: 'fp123', by: 'alice', reason: 'only one worker runs this' }]);
    expect((await t.store.listJobs())[0]).toMatchObject({ trigger: `ignore:${p.comment.id}`, headSha: HEAD });
  });

  it('ignore of an id never reported says so and dismisses nothing', async () => {
    const p = comment('/concdbg ignore nope because', 'alice');
    const scope = t.token()
      .post(`${REPO}/issues/comments/${p.comment.id}/reactions`).reply(201, {})
      .post(`${REPO}/issues/${p.issue.number}/comments`, (b) => b.body.includes('no finding `nope`')).reply(201, { id: 2 });
    await t.receive('issue_comment', p);
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    expect(await t.store.listDismissedFindings('Codertocat/Hello-World', p.issue.number)).toEqual([]);
  });

  it('ignore without a reason gets the usage', async () => {
    const p = comment('/concdbg ignore fp123', 'alice');
    const scope = t.token()
      .post(`${REPO}/issues/comments/${p.comment.id}/reactions`).reply(201, {})
      .post(`${REPO}/issues/${p.issue.number}/comments`, (b) => b.body.includes('the reason is required')).reply(201, { id: 2 });
    await t.receive('issue_comment', p);
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
  });

  it('a 5xx during a command is logged, not thrown into the webhook answer', async () => {
    const p = comment('/concdbg', 'alice');
    const scope = t.token().post(`${REPO}/issues/comments/${p.comment.id}/reactions`).reply(503, { message: 'unavailable' });
    await expect(t.receive('issue_comment', p)).resolves.toBeUndefined();
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    expect(t.log.lines.some((l) => l.level === 'error' && l.status === 503)).toBe(true);
    expect(nock.pendingMocks()).toEqual([]);
    void API;
  });
});
