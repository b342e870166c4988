import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { octokitGitHubApi, type OctokitLike } from '../../src/app/github.js';

const API = 'https://api.github.com';
const R = '/repos/octo/shop';
let api: ReturnType<typeof octokitGitHubApi>;

beforeEach(() => {
  nock.disableNetConnect();
  const octokit = new ProbotOctokit({ auth: 'token t', retry: { enabled: false }, throttle: { enabled: false } } as never);
  api = octokitGitHubApi(octokit as unknown as OctokitLike, { owner: 'octo', repo: 'shop' });
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const files = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ filename: `src/f${from + i}.ts`, status: 'added', additions: 1, deletions: 0, changes: 1, patch: '@@ -0,0 +1 @@\n+x' }));

describe('octokitGitHubApi', () => {
  it('reads a 250-file PR across three pages', async () => {
    const scope = nock(API)
      .get(`${R}/pulls/7/files`).query({ per_page: 100, page: 1 }).reply(200, files(0, 100))
      .get(`${R}/pulls/7/files`).query({ per_page: 100, page: 2 }).reply(200, files(100, 100))
      .get(`${R}/pulls/7/files`).query({ per_page: 100, page: 3 }).reply(200, files(200, 50));
    const got = await api.listFiles(7);
    expect(got).toHaveLength(250);
    expect(got[249]!.filename).toBe('src/f249.ts');
    expect(scope.isDone()).toBe(true);
  });

  it('stops at the limit it is given', async () => {
    nock(API).get(`${R}/pulls/7/files`).query({ per_page: 100, page: 1 }).reply(200, files(0, 100));
    expect(await api.listFiles(7, 60)).toHaveLength(60);
  });

  it('keeps a file whose patch GitHub omitted, without a patch', async () => {
    nock(API).get(`${R}/pulls/7/files`).query(true).reply(200, [{ filename: 'big.ts', status: 'modified', additions: 9000, deletions: 0, changes: 9000 }]);
    const [f] = await api.listFiles(7);
    expect(f).toEqual({ filename: 'big.ts', status: 'modified', additions: 9000, deletions: 0, changes: 9000 });
  });

  it('getContent decodes base64 at the ref, and gives null for a missing file', async () => {
    nock(API)
      .get(`${R}/contents/.github%2Fconcdbg.yml`).query({ ref: 'main' }).reply(200, { type: 'file', encoding: 'base64', content: Buffer.from('gate: low\n').toString('base64') })
      .get(`${R}/contents/.github%2Fconcdbg.yml`).query({ ref: 'dev' }).reply(404, { message: 'Not Found' });
    expect(await api.getContent('.github/concdbg.yml', 'main')).toBe('gate: low\n');
    expect(await api.getContent('.github/concdbg.yml', 'dev')).toBeNull();
  });

  it('createReview sends one COMMENT review with every comment', async () => {
    const scope = nock(API)
      .post(`${R}/pulls/7/reviews`, (b) => b.event === 'COMMENT' && b.commit_id === 'abc' && b.comments.length === 2 && b.comments[0].start_line === 3)
      .reply(200, { id: 99 });
    const id = await api.createReview(7, {
      commitId: 'abc', body: 'b',
      comments: [{ path: 'a.ts', line: 5, start_line: 3, side: 'RIGHT', start_side: 'RIGHT', body: 'x' }, { path: 'a.ts', line: 9, side: 'RIGHT', body: 'y' }],
    });
    expect(id).toBe(99);
    expect(scope.isDone()).toBe(true);
  });

  it('a 5xx or a 422 surfaces with its status (the job decides)', async () => {
    nock(API).post(`${R}/pulls/7/reviews`).reply(502, { message: 'Bad Gateway' });
    await expect(api.createReview(7, { commitId: 'a', body: 'b', comments: [] })).rejects.toMatchObject({ status: 502 });
    nock(API).post(`${R}/pulls/7/reviews`).reply(422, { message: 'Unprocessable Entity' });
    await expect(api.createReview(7, { commitId: 'a', body: 'b', comments: [] })).rejects.toMatchObject({ status: 422 });
  });

  it('permission: role_name wins, 404 is none', async () => {
    nock(API)
      .get(`${R}/collaborators/m/permission`).reply(200, { permission: 'write', role_name: 'maintain' })
      .get(`${R}/collaborators/x/permission`).reply(404, {});
    expect(await api.getPermission('m')).toBe('maintain');
    expect(await api.getPermission('x')).toBe('none');
  });

  it('lists check runs of a commit by name with their external ids', async () => {
    nock(API).get(`${R}/commits/abc/check-runs`).query({ check_name: 'concdbg', filter: 'all', per_page: 100, page: 1 })
      .reply(200, { total_count: 1, check_runs: [{ id: 5, external_id: 'k', status: 'in_progress', conclusion: null }] });
    expect(await api.listCheckRuns('abc', 'concdbg')).toEqual([{ id: 5, externalId: 'k', status: 'in_progress', conclusion: null }]);
  });
});
