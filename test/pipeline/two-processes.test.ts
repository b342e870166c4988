import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../store/backends.js';
import { countBy, readEvents, spawnWorker, waitUntil, processSuite } from './helpers.js';

describe.each(BACKENDS)('two worker processes sharing one $name database', ({ make }) => {
  const s = processSuite(make, 'concdbg-two-');

  it('processes each of 40 jobs exactly once', async () => {
    const { url, store } = await s.open();
    const eventsFile = join(s.dir, `events-${s.backend.name}.log`);
    for (let i = 0; i < 2; i++) {
      s.workers.push(spawnWorker({ DATABASE_URL: url, EVENTS_FILE: eventsFile, CONCURRENCY: '2', HANDLER_MS: '25', LEASE_MS: '5000' }));
    }
    await Promise.all(s.workers.map((w) => w.ready));

    // Enqueue while both workers are polling, so they compete for every job.
    for (let i = 0; i < 40; i++) {
      await store.enqueueJob({ repo: 'acme/shop', prNumber: i, headSha: `sha-${i}`, trigger: 'pull_request', installationId: 1 });
    }
    await waitUntil('all 40 jobs are done', async () => (await store.listJobs({ state: 'done' })).length === 40);

    for (const w of s.workers) w.child.kill('SIGTERM');
    const exits = await Promise.all(s.workers.map((w) => w.exited));
    expect(exits.map((e) => e.code), s.workers.map((w) => w.output()).join('\n')).toEqual([0, 0]);

    const events = readEvents(eventsFile);
    const jobs = await store.listJobs();
    expect(jobs).toHaveLength(40);
    const starts = countBy(events.filter((e) => e.what === 'start'), (e) => e.jobId);
    const dones = countBy(events.filter((e) => e.what === 'done'), (e) => e.jobId);
    for (const job of jobs) {
      expect(job.state).toBe('done');
      expect(job.attempts).toBe(1);
      expect(starts.get(job.id), `job ${job.id} started`).toBe(1);
      expect(dones.get(job.id), `job ${job.id} done`).toBe(1);
    }
    expect(events.filter((e) => e.what === 'dup')).toEqual([]);
    // The effect (a unique row per job) exists once per job.
    let effects = 0;
    for (let i = 0; i < 40; i++) effects += (await store.listPostedFindings('acme/shop', i)).length;
    expect(effects).toBe(40);
    // Both processes really took part.
    const byPid = countBy(events.filter((e) => e.what === 'done'), (e) => e.pid);
    expect([...byPid.keys()].sort()).toEqual(s.workers.map((w) => w.pid).sort());
  });
});
