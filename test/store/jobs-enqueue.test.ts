import { describe, expect, it } from 'vitest';
import type { EnqueueInput } from '../../src/store/index.js';
import { BACKENDS, useBackend } from './backends.js';

const key: EnqueueInput = {
  repo: 'acme/shop',
  prNumber: 7,
  headSha: 'a'.repeat(40),
  trigger: 'pull_request',
  installationId: 42,
  payload: { baseSha: 'b'.repeat(40), mode: 'database', requestedBy: 'octocat' },
};

describe.each(BACKENDS)('enqueueJob on $name', ({ make }) => {
  const db = useBackend(make);

  it('creates exactly one job for 50 concurrent enqueues of one key', async () => {
    const stores = [await db.fresh({ poolSize: 8 }), await db.another({ poolSize: 8 }), await db.another({ poolSize: 8 })];
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % 3]!.enqueueJob(key)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const ids = new Set(results.map((r) => r.job.id));
    expect(ids.size).toBe(1);
    expect(await stores[0]!.listJobs()).toHaveLength(1);
  });

  it('stores the key, installation and payload, queued with no attempts', async () => {
    const store = await db.fresh();
    const { job, created } = await store.enqueueJob(key);
    expect(created).toBe(true);
    expect(job).toMatchObject({
      repo: 'acme/shop',
      prNumber: 7,
      headSha: key.headSha,
      trigger: 'pull_request',
      installationId: 42,
      state: 'queued',
      attempts: 0,
      lastError: null,
      leaseOwner: null,
      checkRunId: null,
      reviewId: null,
      supersededBy: null,
      payload: key.payload,
    });
    expect(await store.findJob(key)).toEqual(job);
    expect(await store.getJob(job.id)).toEqual(job);
  });

  it('treats another trigger or SHA as another job', async () => {
    const store = await db.fresh();
    const a = await store.enqueueJob(key);
    const b = await store.enqueueJob({ ...key, trigger: 'comment' });
    const c = await store.enqueueJob({ ...key, headSha: 'c'.repeat(40) });
    expect([a.created, b.created, c.created]).toEqual([true, true, true]);
    expect(new Set([a.job.id, b.job.id, c.job.id]).size).toBe(3);
    expect(await store.listJobs({ repo: 'acme/shop', prNumber: 7 })).toHaveLength(3);
  });

  it('keeps the stored check run id on the first set', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    expect(await store.setCheckRunId(job.id, 1001)).toBe(1001);
    expect(await store.setCheckRunId(job.id, 2002)).toBe(1001);
    await store.setReviewId(job.id, 3003);
    expect(await store.getJob(job.id)).toMatchObject({ checkRunId: 1001, reviewId: 3003 });
  });
});
