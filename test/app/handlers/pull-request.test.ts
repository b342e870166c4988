import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API, example, setup } from '../support/probot.js';

let t: Awaited<ReturnType<typeof setup>>;
beforeEach(async () => { t = await setup(); });
afterEach(async () => t.close());

const pr = (action: string, sha?: string) => {
  const p = example('pull_request', action);
  if (sha) p.pull_request.head.sha = sha;
  return p;
};

describe('pull_request webhooks', () => {
  it.each(['opened', 'synchronize', 'reopened', 'ready_for_review'])('%s enqueues one review job without calling GitHub', async (action) => {
    const p = pr(action);
    await t.receive('pull_request', p);
    const jobs = await t.store.listJobs({ repo: 'Codertocat/Hello-World' });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ prNumber: p.pull_request.number, headSha: p.pull_request.head.sha, installationId: 1, state: 'queued', payload: { auto: true, action } });
    expect(t.wakes).toBe(1);
    expect(t.bg.size).toBe(0); // nothing waits on GitHub (nock would refuse any request)
    expect((await t.metrics.jobsQueued.get()).values).toEqual([expect.objectContaining({ value: 1 })]);
  });

  it('the same delivery twice does nothing the second time', async () => {
    await t.receive('pull_request', pr('opened'), 'same-id');
    await t.receive('pull_request', pr('opened'), 'same-id');
    expect(await t.store.listJobs()).toHaveLength(1);
    expect((await t.metrics.webhooksDeduplicated.get()).values[0]?.value).toBe(1);
  });

  it('two deliveries for the same head SHA make one job', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => t.receive('pull_request', pr('synchronize'), `d${i}`)));
    expect(await t.store.listJobs()).toHaveLength(1);
  });

  it('a newer push supersedes the older job and closes its check run after the answer', async () => {
    await t.receive('pull_request', pr('opened', 'a'.repeat(40)));
    const [old] = await t.store.listJobs();
    await t.store.setCheckRunId(old!.id, 555);
    const scope = t.token()
      .patch('/repos/Codertocat/Hello-World/check-runs/555', (b) => b.status === 'completed' && b.conclusion === 'neutral' && /Superseded by bbbbbbb/.test(b.output.summary))
      .reply(200, { id: 555 });
    await t.receive('pull_request', pr('synchronize', 'b'.repeat(40)));
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    const jobs = await t.store.listJobs();
    expect(jobs.map((j) => [j.headSha[0], j.state])).toEqual([['a', 'superseded'], ['b', 'queued']]);
  });

  it('closed cancels pending jobs and enqueues nothing', async () => {
    await t.receive('pull_request', pr('opened'));
    await t.receive('pull_request', pr('closed'));
    const jobs = await t.store.listJobs();
    expect(jobs.map((j) => j.state)).toEqual(['superseded']);
  });

  it('a redelivered push after a newer one changes nothing (the delivery claim and the enqueue are one step)', async () => {
    await t.receive('pull_request', pr('synchronize', 'a'.repeat(40)), 'push-a');
    await t.receive('pull_request', pr('synchronize', 'b'.repeat(40)), 'push-b');
    await t.receive('pull_request', pr('synchronize', 'a'.repeat(40)), 'push-a');
    await t.bg.drain();
    const jobs = await t.store.listJobs();
    expect(jobs.map((j) => [j.headSha[0], j.state])).toEqual([['a', 'superseded'], ['b', 'queued']]);
    expect(await t.store.claimDelivery('push-b', 'pull_request')).toBe(false);
    expect((await t.metrics.webhooksDeduplicated.get()).values[0]?.value).toBe(1);
    expect(t.wakes).toBe(2);
  });

  it('a redelivered close is claimed first and does nothing', async () => {
    await t.receive('pull_request', pr('closed'), 'close-1');
    await t.receive('pull_request', pr('opened'), 'open-2');
    await t.receive('pull_request', pr('closed'), 'close-1');
    expect((await t.store.listJobs()).map((j) => j.state)).toEqual(['queued']);
    expect(t.log.lines.some((l) => l.msg === 'duplicate delivery; ignored' && l.deliveryId === 'close-1')).toBe(true);
  });

  it('other actions (labeled) start nothing', async () => {
    await t.receive('pull_request', pr('labeled'));
    expect(await t.store.listJobs()).toHaveLength(0);
  });

  it('ready_for_review after a skipped draft review of the same SHA gets its own job', async () => {
    await t.receive('pull_request', pr('opened'));
    await t.receive('pull_request', pr('ready_for_review', example('pull_request', 'opened').pull_request.head.sha));
    expect((await t.store.listJobs()).map((j) => j.trigger)).toEqual(['pull_request', 'ready_for_review']);
  });

  it('a 5xx while closing a superseded check run is logged, not thrown into the webhook', async () => {
    await t.receive('pull_request', pr('opened', 'a'.repeat(40)));
    const [old] = await t.store.listJobs();
    await t.store.setCheckRunId(old!.id, 556);
    const scope = t.token().patch('/repos/Codertocat/Hello-World/check-runs/556').reply(502, { message: 'Bad Gateway' });
    await expect(t.receive('pull_request', pr('synchronize', 'b'.repeat(40)))).resolves.toBeUndefined();
    await t.bg.drain();
    expect(scope.isDone()).toBe(true);
    expect(t.log.lines.some((l) => l.level === 'warn' && l.checkRunId === 556)).toBe(true);
  });
});

describe('nothing leaks between tests', () => {
  it('nock has no pending interceptors', () => {
    expect(nock.pendingMocks()).toEqual([]);
    void API;
  });
});
