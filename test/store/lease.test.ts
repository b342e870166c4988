import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './backends.js';

const key = { repo: 'acme/shop', prNumber: 1, headSha: 'abc', trigger: 'pull_request', installationId: 1 };

/** Poll until `fn` returns a value (the lease has to run out on the database's clock). */
async function eventually<T>(fn: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

describe.each(BACKENDS)('leases on $name', ({ make }) => {
  const db = useBackend(make);

  it('does not hand a job with a live lease to another worker', async () => {
    const store = await db.fresh();
    await store.enqueueJob(key);
    expect(await store.claimJob('w1', 60_000)).not.toBeNull();
    expect(await store.claimJob('w2', 60_000)).toBeNull();
  });

  it('lets another worker reclaim a job after its lease expires; the old owner then loses it', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    await store.claimJob('dead-worker', 300);
    const reclaimed = await eventually(() => store.claimJob('w2', 60_000));
    expect(reclaimed).toMatchObject({ id: job.id, leaseOwner: 'w2', attempts: 2, state: 'running' });
    expect(await store.renewLease(job.id, 'dead-worker', 60_000)).toBe(false);
    expect(await store.isJobActive(job.id, 'dead-worker')).toBe(false);
    expect(await store.completeJob(job.id, 'dead-worker')).toBe(false);
    expect(await store.isJobActive(job.id, 'w2')).toBe(true);
    expect(await store.completeJob(job.id, 'w2')).toBe(true);
  });

  it('renews only for the owner, pushing the expiry forward', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    const claimed = await store.claimJob('w1', 1_000);
    expect(await store.renewLease(job.id, 'w2', 60_000)).toBe(false);
    expect(await store.renewLease(job.id, 'w1', 60_000)).toBe(true);
    const renewed = await store.getJob(job.id);
    expect(renewed!.leaseExpiresAt!).toBeGreaterThan(claimed!.leaseExpiresAt!);
    expect(renewed!.leaseOwner).toBe('w1');
  });

  it('cannot renew a lease that has run out, even if no one reclaimed the job', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    await store.claimJob('w1', 200);
    await eventually(async () => ((await store.isJobActive(job.id, 'w1')) ? null : true));
    expect(await store.renewLease(job.id, 'w1', 60_000)).toBe(false);
    expect(await store.claimJob('w2', 60_000)).toMatchObject({ id: job.id, leaseOwner: 'w2' });
  });

  it('says a job is no longer active once its lease has run out', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    await store.claimJob('w1', 200);
    expect(await store.isJobActive(job.id, 'w1')).toBe(true);
    await eventually(async () => ((await store.isJobActive(job.id, 'w1')) ? null : true));
  });
});
