import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './backends.js';

const key = { repo: 'acme/shop', prNumber: 1, headSha: 'a', trigger: 'pull_request', installationId: 1 };

describe.each(BACKENDS)('posting intents on $name', ({ make }) => {
  const db = useBackend(make);

  it('creates an intent once; a retry after a crash sees it, then its completion', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    await store.claimJob('w1', 60_000);
    const first = await store.beginIntent(job.id, 'w1', 'review');
    expect(first).toMatchObject({ created: true, intent: { jobId: job.id, kind: 'review', state: 'intended', externalId: null } });

    // w1 "crashes" after posting; w2 takes the job over and must not post blindly.
    await store.releaseJob(job.id, 'w1');
    await store.claimJob('w2', 60_000);
    const retry = await store.beginIntent(job.id, 'w2', 'review');
    expect(retry).toMatchObject({ created: false, intent: { state: 'intended' } });

    await store.completeIntent(job.id, 'review', 555);
    expect(await store.getIntent(job.id, 'review')).toMatchObject({ state: 'done', externalId: 555 });
    expect(await store.beginIntent(job.id, 'w2', 'review')).toMatchObject({ created: false, intent: { state: 'done', externalId: 555 } });
    expect(await store.getIntent(job.id, 'check_run')).toBeNull();
  });

  it('creates exactly one intent under 30 concurrent attempts', async () => {
    const stores = [await db.fresh({ poolSize: 6 }), await db.another({ poolSize: 6 })];
    const { job } = await stores[0]!.enqueueJob(key);
    await stores[0]!.claimJob('w1', 60_000);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 2]!.beginIntent(job.id, 'w1', 'summary')));
    expect(results.filter((r) => r?.created)).toHaveLength(1);
    expect(results.every((r) => r !== null)).toBe(true);
  });

  it('refuses an intent to a worker that does not hold the job', async () => {
    const store = await db.fresh();
    const { job } = await store.enqueueJob(key);
    expect(await store.beginIntent(job.id, 'w1', 'review')).toBeNull(); // queued, nobody holds it
    await store.claimJob('w1', 60_000);
    expect(await store.beginIntent(job.id, 'w2', 'review')).toBeNull();
    await store.completeJob(job.id, 'w1');
    expect(await store.beginIntent(job.id, 'w1', 'review')).toBeNull();
    expect(await store.getIntent(job.id, 'review')).toBeNull();
  });
});
