import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { JobSupersededError, LeaseLostError, ShutdownError, Worker } from '../../src/pipeline/index.js';
import { BACKENDS, useBackend } from '../store/backends.js';

const pr = { repo: 'acme/shop', prNumber: 1, trigger: 'pull_request', installationId: 1 };

/** Resolves when the signal fires, with its reason. */
function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

describe.each(BACKENDS)('lease renewal and the abort signal on $name', ({ make }) => {
  const db = useBackend(make);

  it('keeps the lease while a handler runs for several lease lengths', async () => {
    const store = await db.fresh();
    await store.enqueueJob({ ...pr, headSha: 'a' });
    const intruderClaims: unknown[] = [];
    const worker = new Worker({
      store,
      owner: 'w1',
      leaseMs: 1_000,
      handler: async (_job, { signal }) => {
        // Two and a half lease lengths; another claimer keeps trying meanwhile.
        for (let i = 0; i < 10; i++) {
          await sleep(250);
          const got = await store.claimJob('intruder', 1_000);
          if (got) intruderClaims.push(got);
          expect(signal.aborted).toBe(false);
        }
      },
    });
    const outcome = await worker.runOnce();
    expect(outcome?.status).toBe('done');
    expect(intruderClaims).toEqual([]);
  });

  it('aborts the handler when a newer push supersedes its job, and posts nothing after', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob({ ...pr, headSha: 'old' });
    let intentAfterAbort: unknown = 'not tried';
    const worker = new Worker({
      store,
      owner: 'w1',
      leaseMs: 300,
      handler: async (j, ctx) => {
        await store.enqueueJob({ ...pr, headSha: 'new' }, { supersede: true });
        const reason = await aborted(ctx.signal);
        expect(reason).toBeInstanceOf(JobSupersededError);
        expect((reason as JobSupersededError).supersededBy).toBe('new');
        intentAfterAbort = await ctx.store.beginIntent(j.id, ctx.owner, 'review');
        throw reason;
      },
    });
    const outcome = await worker.runOnce();
    expect(outcome).toMatchObject({ status: 'abandoned', reason: 'superseded' });
    expect(intentAfterAbort).toBeNull();
    expect(await store.getJob(job.id)).toMatchObject({ state: 'superseded', supersededBy: 'new' });
  });

  it('aborts with LeaseLostError when another worker took the job over, and does not complete it', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob({ ...pr, headSha: 'a' });
    let reason: unknown;
    const worker = new Worker({
      store,
      owner: 'w1',
      leaseMs: 300,
      handler: async (_j, { signal }) => {
        // Freeze this process past the lease (a long GC pause, a stopped VM): no renewal can run.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 700);
        expect(await store.claimJob('w2', 60_000)).toMatchObject({ id: job.id, leaseOwner: 'w2' });
        reason = await aborted(signal);
      },
    });
    const outcome = await worker.runOnce();
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(outcome).toMatchObject({ status: 'abandoned', reason: 'lease_lost' });
    expect(await store.getJob(job.id)).toMatchObject({ state: 'running', leaseOwner: 'w2', attempts: 2 });
  });

  it('stop() lets an in-flight job finish within the grace period', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob({ ...pr, headSha: 'a' });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const worker = new Worker({
      store,
      owner: 'w1',
      pollMs: 10,
      handler: async () => {
        started();
        await sleep(200);
      },
    });
    worker.start();
    await running;
    await worker.stop(5_000);
    expect(await store.getJob(job.id)).toMatchObject({ state: 'done', attempts: 1 });
    expect(worker.activeJobs).toBe(0);
  });

  it('stop() aborts and releases an in-flight job after the grace period', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob({ ...pr, headSha: 'a' });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let reason: unknown;
    const worker = new Worker({
      store,
      owner: 'w1',
      pollMs: 10,
      handler: async (_j, { signal }) => {
        started();
        reason = await aborted(signal);
        throw reason;
      },
    });
    worker.start();
    await running;
    await worker.stop(100);
    expect(reason).toBeInstanceOf(ShutdownError);
    expect(await store.getJob(job.id)).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null });
  });
});
