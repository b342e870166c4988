/** enqueueForDelivery: the webhook side's claim + enqueue (+ supersede) as one atomic step. */
import { describe, expect, it } from 'vitest';
import type { EnqueueInput } from '../../src/store/index.js';
import { BACKENDS, useBackend } from './backends.js';

const pr = { repo: 'acme/shop', prNumber: 9, trigger: 'pull_request', installationId: 3 };
const at = (headSha: string, payload: Record<string, unknown> = {}): EnqueueInput => ({ ...pr, headSha, payload });
const delivery = (id: string) => ({ id, event: 'pull_request' });

describe.each(BACKENDS)('enqueueForDelivery on $name', ({ make }) => {
  const db = useBackend(make);

  it('claims the delivery and enqueues the job; the same delivery again does nothing', async () => {
    const store = await db.fresh();
    const first = await store.enqueueForDelivery(delivery('d1'), at('a', { auto: true }), { supersede: true });
    expect(first).toMatchObject({ created: true, superseded: [], job: { ...pr, headSha: 'a', state: 'queued', attempts: 0, payload: { auto: true } } });
    // The delivery is recorded: a separate claim of it fails.
    expect(await store.claimDelivery('d1', 'pull_request')).toBe(false);
    expect(await store.enqueueForDelivery(delivery('d1'), at('a'), { supersede: true })).toBeNull();
    expect(await store.listJobs()).toHaveLength(1);
  });

  it('a redelivered older push changes nothing, even after a newer push', async () => {
    const store = await db.fresh();
    const old = await store.enqueueForDelivery(delivery('push-a'), at('a'), { supersede: true });
    const newer = await store.enqueueForDelivery(delivery('push-b'), at('b'), { supersede: true });
    expect(newer!.superseded.map((j) => j.id)).toEqual([old!.job.id]);
    expect(newer!.superseded[0]).toMatchObject({ state: 'superseded', supersededBy: 'b' });
    expect(await store.enqueueForDelivery(delivery('push-a'), at('a'), { supersede: true })).toBeNull();
    // A new delivery for the old SHA (another event for it) finds the job and supersedes nothing.
    const again = await store.enqueueForDelivery(delivery('push-a-2'), at('a'), { supersede: true });
    expect(again).toMatchObject({ created: false, superseded: [], job: { id: old!.job.id, state: 'superseded' } });
    expect((await store.findJob({ ...pr, headSha: 'b' }))!.state).toBe('queued');
  });

  it('of 40 concurrent deliveries of one id, exactly one enqueues', async () => {
    const stores = [await db.fresh({ poolSize: 6 }), await db.another({ poolSize: 6 })];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => stores[i % 2]!.enqueueForDelivery(delivery('same'), at('a'), { supersede: true })),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(results.find((r) => r !== null)!.created).toBe(true);
    expect(await stores[0]!.listJobs()).toHaveLength(1);
  });

  it('of 40 concurrent deliveries for one head SHA, one creates the job and the others see it', async () => {
    const stores = [await db.fresh({ poolSize: 6 }), await db.another({ poolSize: 6 })];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => stores[i % 2]!.enqueueForDelivery(delivery(`d-${i}`), at('a'), { supersede: true })),
    );
    expect(results.every((r) => r !== null)).toBe(true);
    expect(results.filter((r) => r!.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r!.job.id)).size).toBe(1);
    expect(results.flatMap((r) => r!.superseded)).toEqual([]);
  });

  it('of 20 concurrent pushes of different SHAs, exactly one job stays live and each superseded job is reported once', async () => {
    const stores = [await db.fresh({ poolSize: 6 }), await db.another({ poolSize: 6 })];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 2]!.enqueueForDelivery(delivery(`push-${i}`), at(`sha-${i}`), { supersede: true })),
    );
    expect(results.every((r) => r?.created)).toBe(true);
    expect(await stores[0]!.listJobs({ repo: pr.repo, prNumber: pr.prNumber, state: 'queued' })).toHaveLength(1);
    const superseded = await stores[0]!.listJobs({ repo: pr.repo, prNumber: pr.prNumber, state: 'superseded' });
    expect(superseded).toHaveLength(19);
    const reported = results.flatMap((r) => r!.superseded.map((j) => j.id));
    expect(reported.sort()).toEqual(superseded.map((j) => j.id).sort());
  });

  it('serializes with supersedeOlder (PR closed) racing the pushes: nothing stays live after the close unless pushed after it', async () => {
    const store = await db.fresh({ poolSize: 6 });
    await store.enqueueForDelivery(delivery('p0'), at('s0'), { supersede: true });
    const [pushed, cancelled] = await Promise.all([
      store.enqueueForDelivery(delivery('p1'), at('s1'), { supersede: true }),
      store.supersedeOlder(pr.repo, pr.prNumber, ''),
    ]);
    const live = await store.listJobs({ repo: pr.repo, prNumber: pr.prNumber, state: 'queued' });
    // Either the close came last (no live job) or the push did (its job alone is live).
    expect(live.length).toBeLessThanOrEqual(1);
    if (live.length === 1) expect(live[0]!.id).toBe(pushed!.job.id);
    const reported = [...pushed!.superseded, ...cancelled].map((j) => j.id);
    expect(new Set(reported).size).toBe(reported.length);
  });

  it('without supersede, enqueues only (other SHAs of the PR stay queued)', async () => {
    const store = await db.fresh();
    await store.enqueueJob(at('a'));
    const r = await store.enqueueForDelivery({ id: 'rerun', event: 'check_run' }, { ...at('b'), trigger: 'rerun:rerequested:rerun' });
    expect(r).toMatchObject({ created: true, superseded: [] });
    expect((await store.findJob({ ...pr, headSha: 'a' }))!.state).toBe('queued');
  });

  it('a failed enqueue leaves the delivery unclaimed, so a redelivery can try again', async () => {
    const store = await db.fresh();
    const broken = { ...at('a'), headSha: null as unknown as string };
    await expect(store.enqueueForDelivery(delivery('d-fail'), broken, { supersede: true })).rejects.toThrow();
    expect(await store.listJobs()).toHaveLength(0);
    const retried = await store.enqueueForDelivery(delivery('d-fail'), at('a'), { supersede: true });
    expect(retried?.created).toBe(true);
  });

  it('enqueueJob runs the same path without a delivery and never reports a duplicate', async () => {
    const store = await db.fresh();
    const a = await store.enqueueJob(at('a'), { supersede: true });
    const b = await store.enqueueJob(at('a'), { supersede: true });
    expect(a.created).toBe(true);
    expect(b).toMatchObject({ created: false, job: { id: a.job.id } });
  });
});
