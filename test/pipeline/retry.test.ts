import { describe, expect, it } from 'vitest';
import { TransientError, Worker, type JobHandler, type JobOutcome } from '../../src/pipeline/index.js';
import type { Job, Store } from '../../src/store/index.js';
import { BACKENDS, useBackend } from '../store/backends.js';

const key = { repo: 'acme/shop', prNumber: 1, headSha: 'abc', trigger: 'pull_request', installationId: 1 };

function httpError(status: number, message: string, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(message), { status, response: { status, headers, data: { message } } });
}

/** Run the worker's claim/process step until no job is claimable right now. */
async function drain(worker: Worker): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = [];
  for (let outcome = await worker.runOnce(); outcome; outcome = await worker.runOnce()) outcomes.push(outcome);
  return outcomes;
}

function makeWorker(store: Store, handler: JobHandler, onFailed?: (job: Job, err: unknown) => void): Worker {
  // Zero backoff: a retried job is claimable again at once, so no test waits on a clock.
  return new Worker({ store, handler, onFailed, owner: 'w1', leaseMs: 60_000, maxAttempts: 4, backoff: () => 0 });
}

describe.each(BACKENDS)('retries on $name', ({ make }) => {
  const db = useBackend(make);

  it('retries transient failures and then succeeds: done with attempts 3', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    let calls = 0;
    const failures = [httpError(502, 'Bad Gateway'), Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })];
    const onFailedCalls: unknown[] = [];
    const worker = makeWorker(
      store,
      async () => {
        const failure = failures[calls++];
        if (failure) throw failure;
      },
      (_job, err) => onFailedCalls.push(err),
    );
    const outcomes = await drain(worker);
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry', 'done']);
    expect(calls).toBe(3);
    expect(onFailedCalls).toEqual([]);
    expect(await store.getJob(job.id)).toMatchObject({ state: 'done', attempts: 3, lastError: 'read ECONNRESET' });
  });

  it('fails a permanent error at once and calls onFailed once', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    const onFailedCalls: Array<[Job, unknown]> = [];
    let calls = 0;
    const worker = makeWorker(
      store,
      async () => {
        calls++;
        throw httpError(422, 'Validation Failed');
      },
      (j, err) => onFailedCalls.push([j, err]),
    );
    const outcomes = await drain(worker);
    expect(outcomes.map((o) => o.status)).toEqual(['failed']);
    expect(calls).toBe(1);
    expect(onFailedCalls).toHaveLength(1);
    expect(onFailedCalls[0]![0].id).toBe(job.id);
    expect((onFailedCalls[0]![1] as Error).message).toBe('Validation Failed');
    expect(await store.getJob(job.id)).toMatchObject({ state: 'failed', attempts: 1, lastError: 'HTTP 422: Validation Failed' });
  });

  it('fails after maxAttempts transient failures and calls onFailed once', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    let onFailed = 0;
    const worker = makeWorker(
      store,
      async () => {
        throw new TransientError('GitHub is having a bad day');
      },
      () => onFailed++,
    );
    const outcomes = await drain(worker);
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry', 'retry', 'failed']);
    expect(onFailed).toBe(1);
    expect(await store.getJob(job.id)).toMatchObject({ state: 'failed', attempts: 4 });
  });

  it('waits at least what retry-after asks before the next attempt', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    const worker = makeWorker(store, async () => {
      throw httpError(403, 'You have exceeded a secondary rate limit', { 'retry-after': '120' });
    });
    const [outcome] = await drain(worker);
    expect(outcome).toMatchObject({ status: 'retry', delayMs: 120_000 });
    const after = await store.getJob(job.id);
    expect(after!.state).toBe('queued');
    expect(after!.notBefore - after!.updatedAt).toBe(120_000);
    expect(await worker.runOnce()).toBeNull();
  });

  it('gives up on a job whose workers kept dying (claimed past maxAttempts)', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    // Four claims whose workers "die" (release without giving the attempt back = fail with retry).
    for (let i = 0; i < 4; i++) {
      await store.claimJob(`dead-${i}`, 60_000);
      await store.failJob(job.id, `dead-${i}`, 'worker died', 0);
    }
    let handlerCalls = 0;
    const failed: unknown[] = [];
    const worker = makeWorker(
      store,
      async () => {
        handlerCalls++;
      },
      (_j, err) => failed.push(err),
    );
    const outcomes = await drain(worker);
    expect(outcomes.map((o) => o.status)).toEqual(['failed']);
    expect(handlerCalls).toBe(0);
    expect(failed).toHaveLength(1);
    expect(String((failed[0] as Error).message)).toContain('gave up after 4 attempts');
  });
});
