import { describe, expect, it } from 'vitest';
import type { Job } from '../../src/store/index.js';
import { BACKENDS, useBackend } from './backends.js';

function job(i: number) {
  return { repo: 'acme/shop', prNumber: i, headSha: `sha${i}`, trigger: 'pull_request', installationId: 1 };
}

describe.each(BACKENDS)('claimJob on $name', ({ make }) => {
  const db = useBackend(make);

  it('hands each of 30 jobs to exactly one of 12 concurrent claimers', async () => {
    const stores = [await db.fresh({ poolSize: 6 }), await db.another({ poolSize: 6 })];
    for (let i = 0; i < 30; i++) await stores[0]!.enqueueJob(job(i));
    const claimed: Job[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, c) => {
        const store = stores[c % 2]!;
        for (;;) {
          const got = await store.claimJob(`claimer-${c}`, 60_000);
          if (!got) return;
          claimed.push(got);
        }
      }),
    );
    expect(claimed).toHaveLength(30);
    expect(new Set(claimed.map((j) => j.id)).size).toBe(30);
    for (const j of claimed) {
      expect(j.state).toBe('running');
      expect(j.attempts).toBe(1);
    }
    expect(await stores[0]!.claimJob('late', 60_000)).toBeNull();
  });

  it('claims the oldest job first and records owner, lease and attempt', async () => {
    const store = await db.fresh();
    const first = await store.enqueueJob(job(1));
    await store.enqueueJob(job(2));
    const claimed = await store.claimJob('w1', 30_000);
    expect(claimed?.id).toBe(first.job.id);
    expect(claimed?.leaseOwner).toBe('w1');
    expect(claimed?.attempts).toBe(1);
    expect(claimed!.leaseExpiresAt! - claimed!.updatedAt).toBe(30_000);
  });

  it('does not claim a job whose retry time is in the future, and claims it when due', async () => {
    const store = await db.fresh();
    const { job: j } = await store.enqueueJob(job(1));
    await store.claimJob('w1', 30_000);
    expect(await store.failJob(j.id, 'w1', 'GitHub 502', 60_000)).toBe(true);
    expect(await store.getJob(j.id)).toMatchObject({ state: 'queued', lastError: 'GitHub 502', leaseOwner: null });
    expect(await store.claimJob('w2', 30_000)).toBeNull();

    const { job: k } = await store.enqueueJob(job(2));
    await store.claimJob('w1', 30_000);
    await store.failJob(k.id, 'w1', 'reset', 0);
    const again = await store.claimJob('w2', 30_000);
    expect(again).toMatchObject({ id: k.id, attempts: 2, leaseOwner: 'w2' });
  });

  it('completes, fails and releases only for the lease owner', async () => {
    const store = await db.fresh();
    const { job: j } = await store.enqueueJob(job(1));
    await store.claimJob('w1', 30_000);
    expect(await store.completeJob(j.id, 'intruder')).toBe(false);
    expect(await store.failJob(j.id, 'intruder', 'x')).toBe(false);
    expect(await store.releaseJob(j.id, 'intruder')).toBe(false);
    expect(await store.completeJob(j.id, 'w1')).toBe(true);
    expect(await store.getJob(j.id)).toMatchObject({ state: 'done' });
    expect(await store.completeJob(j.id, 'w1')).toBe(false);
  });

  it('marks a job failed when no retry is asked', async () => {
    const store = await db.fresh();
    const { job: j } = await store.enqueueJob(job(1));
    await store.claimJob('w1', 30_000);
    expect(await store.failJob(j.id, 'w1', 'bad config')).toBe(true);
    expect(await store.getJob(j.id)).toMatchObject({ state: 'failed', lastError: 'bad config' });
    expect(await store.claimJob('w2', 30_000)).toBeNull();
  });

  it('release puts the job back at once and gives the attempt back', async () => {
    const store = await db.fresh();
    const { job: j } = await store.enqueueJob(job(1));
    await store.claimJob('w1', 30_000);
    expect(await store.releaseJob(j.id, 'w1')).toBe(true);
    expect(await store.getJob(j.id)).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null });
    expect(await store.claimJob('w2', 30_000)).toMatchObject({ id: j.id, attempts: 1 });
  });
});
