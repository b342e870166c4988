import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../store/backends.js';
import { readEvents, spawnWorker, waitUntil, processSuite } from './helpers.js';

describe.each(BACKENDS)('SIGTERM to a worker process on $name', ({ make }) => {
  const s = processSuite(make, 'concdbg-term-');

  async function enqueue(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await s.store!.enqueueJob({ repo: 'acme/shop', prNumber: i, headSha: `sha-${i}`, trigger: 'pull_request', installationId: 1 });
    }
  }

  it('finishes the in-flight job, claims nothing more, and exits 0', async () => {
    const { url, store } = await s.open();
    const eventsFile = join(s.dir, `finish-${s.backend.name}.log`);
    await enqueue(5);
    const worker = spawnWorker({ DATABASE_URL: url, EVENTS_FILE: eventsFile, HANDLER_MS: '1500', GRACE_MS: '20000' });
    s.workers.push(worker);
    await waitUntil('a job started', () => readEvents(eventsFile).some((e) => e.what === 'start'));
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit.code, worker.output()).toBe(0);

    const events = readEvents(eventsFile);
    expect(events.map((e) => e.what)).toEqual(['start', 'done']);
    const jobs = await store.listJobs();
    expect(jobs.filter((j) => j.state === 'done').map((j) => j.id)).toEqual([events[0]!.jobId]);
    const rest = jobs.filter((j) => j.state !== 'done');
    expect(rest).toHaveLength(4);
    for (const j of rest) expect(j).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null });
  });

  it('releases a job that does not finish within the grace period, without counting an attempt, and exits 0', async () => {
    const { url, store } = await s.open();
    const eventsFile = join(s.dir, `release-${s.backend.name}.log`);
    await enqueue(1);
    const worker = spawnWorker({ DATABASE_URL: url, EVENTS_FILE: eventsFile, BEHAVIOUR: 'hang', GRACE_MS: '300' });
    s.workers.push(worker);
    await waitUntil('the job started', () => readEvents(eventsFile).some((e) => e.what === 'start'));
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit.code, worker.output()).toBe(0);

    expect(readEvents(eventsFile).map((e) => [e.what, e.detail])).toEqual([
      ['start', ''],
      ['aborted', 'ShutdownError'],
    ]);
    const [job] = await store.listJobs();
    expect(job).toMatchObject({ state: 'queued', attempts: 0, leaseOwner: null, leaseExpiresAt: null });
    // Released at once: another worker can take it without waiting for a lease to expire.
    expect(await store.claimJob('next-worker', 60_000)).toMatchObject({ id: job!.id, attempts: 1 });
  });
});
