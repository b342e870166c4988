import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../store/backends.js';
import { readEvents, spawnWorker, waitUntil, processSuite } from './helpers.js';

describe.each(BACKENDS)('kill -9 of a worker mid-job on $name', ({ make }) => {
  const s = processSuite(make, 'concdbg-kill-');

  it('another worker completes the job exactly once after the lease expires', async () => {
    const { url, store } = await s.open();
    const eventsFile = join(s.dir, `events-${s.backend.name}.log`);
    const { job } = await store.enqueueJob({ repo: 'acme/shop', prNumber: 1, headSha: 'abc', trigger: 'pull_request', installationId: 1 });

    const doomed = spawnWorker({ DATABASE_URL: url, EVENTS_FILE: eventsFile, BEHAVIOUR: 'hang', LEASE_MS: '1500' });
    s.workers.push(doomed);
    await waitUntil('the first worker started the job', () => readEvents(eventsFile).some((e) => e.what === 'start' && e.pid === doomed.pid));
    doomed.child.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');
    // The dead worker still holds the lease on the job.
    expect(await store.getJob(job.id)).toMatchObject({ state: 'running', leaseOwner: `fixture-${doomed.pid}`, attempts: 1 });

    const rescuer = spawnWorker({ DATABASE_URL: url, EVENTS_FILE: eventsFile, LEASE_MS: '1500' });
    s.workers.push(rescuer);
    await waitUntil('the job is done', async () => (await store.getJob(job.id))!.state === 'done');
    rescuer.child.kill('SIGTERM');
    expect((await rescuer.exited).code).toBe(0);

    const events = readEvents(eventsFile).filter((e) => e.jobId === job.id);
    expect(events.map((e) => [e.what, e.pid])).toEqual([
      ['start', doomed.pid],
      ['start', rescuer.pid],
      ['done', rescuer.pid],
    ]);
    expect(await store.getJob(job.id)).toMatchObject({ state: 'done', attempts: 2, leaseOwner: `fixture-${rescuer.pid}` });
    const effects = await store.listPostedFindings('acme/shop', 1);
    expect(effects).toHaveLength(1);
    expect(effects[0]!.commentId).toBe(rescuer.pid);
  });
});
