import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { example, setup } from '../support/probot.js';

let t: Awaited<ReturnType<typeof setup>>;
beforeEach(async () => { t = await setup(); });
afterEach(async () => t.close());

function checkRun(action: string, identifier?: string) {
  const p = example('check_run', action);
  const sha = p.check_run.head_sha;
  p.check_run.pull_requests = [{ number: 12, head: { sha, ref: 'x' }, base: { sha: 'b', ref: 'main' } }];
  if (identifier) p.requested_action = { identifier };
  return p;
}

describe('check_run and check_suite webhooks', () => {
  it('check_run rerequested enqueues a review of the run\'s head SHA', async () => {
    const p = checkRun('rerequested');
    await t.receive('check_run', p);
    const jobs = await t.store.listJobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ prNumber: 12, headSha: p.check_run.head_sha, trigger: expect.stringMatching(/^rerun:rerequested:/) });
  });

  it('each re-run request is a new job, but a redelivery of one is not', async () => {
    await t.receive('check_run', checkRun('rerequested'), 'r1');
    await t.receive('check_run', checkRun('rerequested'), 'r1');
    await t.receive('check_run', checkRun('rerequested'), 'r2');
    expect(await t.store.listJobs()).toHaveLength(2);
  });

  it('requested_action "rerun" enqueues; another identifier does nothing', async () => {
    await t.receive('check_run', checkRun('requested_action', 'rerun'));
    await t.receive('check_run', checkRun('requested_action', 'lgtm'));
    expect(await t.store.listJobs()).toHaveLength(1);
  });

  it('check_run created / completed are not acted on', async () => {
    await t.receive('check_run', checkRun('created'));
    await t.receive('check_run', checkRun('completed'));
    expect(await t.store.listJobs()).toHaveLength(0);
  });

  it('check_suite rerequested enqueues one job per listed pull request', async () => {
    const p = example('check_suite', 'rerequested');
    await t.receive('check_suite', p);
    const jobs = await t.store.listJobs();
    expect(jobs).toHaveLength(p.check_suite.pull_requests.length);
    expect(jobs[0]!.headSha).toBe(p.check_suite.head_sha);
  });

  it('a re-run for a commit with no pull request (a fork) starts nothing', async () => {
    const p = checkRun('rerequested');
    p.check_run.pull_requests = [];
    await t.receive('check_run', p);
    expect(await t.store.listJobs()).toHaveLength(0);
  });
});
