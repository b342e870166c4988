import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './backends.js';

const pr = { repo: 'acme/shop', prNumber: 9, trigger: 'pull_request', installationId: 1 };

describe.each(BACKENDS)('supersede on $name', ({ make }) => {
  const db = useBackend(make);

  it('a new head SHA supersedes queued and running jobs of older SHAs of the same PR only', async () => {
    const store = await db.fresh();
    const running = await store.enqueueJob({ ...pr, headSha: 'old1' });
    await store.claimJob('w1', 60_000);
    const queued = await store.enqueueJob({ ...pr, headSha: 'old2' });
    const otherPr = await store.enqueueJob({ ...pr, prNumber: 10, headSha: 'x' });
    const sameShaOtherTrigger = await store.enqueueJob({ ...pr, headSha: 'new', trigger: 'comment' });

    const result = await store.enqueueJob({ ...pr, headSha: 'new' }, { supersede: true });
    expect(result.created).toBe(true);
    expect(result.superseded.map((j) => j.id).sort()).toEqual([running.job.id, queued.job.id].sort());
    for (const j of result.superseded) expect(j).toMatchObject({ state: 'superseded', supersededBy: 'new' });

    expect((await store.getJob(otherPr.job.id))!.state).toBe('queued');
    expect((await store.getJob(sameShaOtherTrigger.job.id))!.state).toBe('queued');
    // The worker of the superseded running job loses it: no renew, no posting intent, no completion.
    expect(await store.renewLease(running.job.id, 'w1', 60_000)).toBe(false);
    expect(await store.isJobActive(running.job.id, 'w1')).toBe(false);
    expect(await store.beginIntent(running.job.id, 'w1', 'review')).toBeNull();
    expect(await store.completeJob(running.job.id, 'w1')).toBe(false);
    expect((await store.getJob(running.job.id))!.state).toBe('superseded');
  });

  it('leaves done and failed jobs alone, and a redelivered old event supersedes nothing', async () => {
    const store = await db.fresh();
    const done = await store.enqueueJob({ ...pr, headSha: 'a' });
    await store.claimJob('w', 60_000);
    await store.completeJob(done.job.id, 'w');
    await store.enqueueJob({ ...pr, headSha: 'b' }, { supersede: true });
    const redelivered = await store.enqueueJob({ ...pr, headSha: 'a' }, { supersede: true });
    expect(redelivered).toMatchObject({ created: false, superseded: [] });
    expect((await store.findJob({ ...pr, headSha: 'b' }))!.state).toBe('queued');
    expect((await store.getJob(done.job.id))!.state).toBe('done');
  });

  it('supersedeOlder with a SHA no job has cancels all live jobs of the PR (PR closed)', async () => {
    const store = await db.fresh();
    await store.enqueueJob({ ...pr, headSha: 'a' });
    await store.enqueueJob({ ...pr, headSha: 'b' });
    const cancelled = await store.supersedeOlder(pr.repo, pr.prNumber, '');
    expect(cancelled).toHaveLength(2);
    expect(await store.claimJob('w', 60_000)).toBeNull();
  });

  it('of 20 concurrent pushes of different SHAs, exactly one job stays live', async () => {
    const stores = [await db.fresh({ poolSize: 6 }), await db.another({ poolSize: 6 })];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 2]!.enqueueJob({ ...pr, headSha: `sha-${i}` }, { supersede: true })),
    );
    expect(results.every((r) => r.created)).toBe(true);
    const live = await stores[0]!.listJobs({ repo: pr.repo, prNumber: pr.prNumber, state: 'queued' });
    expect(live).toHaveLength(1);
    const superseded = await stores[0]!.listJobs({ repo: pr.repo, prNumber: pr.prNumber, state: 'superseded' });
    expect(superseded).toHaveLength(19);
    // Every superseded job was reported to exactly one caller (so its check run is closed once).
    const reported = results.flatMap((r) => r.superseded.map((j) => j.id));
    expect(new Set(reported).size).toBe(reported.length);
    expect(reported.sort()).toEqual(superseded.map((j) => j.id).sort());
  });
});
