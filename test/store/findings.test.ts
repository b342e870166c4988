import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './backends.js';

describe.each(BACKENDS)('posted and dismissed findings on $name', ({ make }) => {
  const db = useBackend(make);

  it('records a posted fingerprint once under 50 concurrent attempts', async () => {
    const stores = [await db.fresh({ poolSize: 8 }), await db.another({ poolSize: 8 })];
    const { job } = await stores[0]!.enqueueJob({ repo: 'acme/shop', prNumber: 1, headSha: 'a', trigger: 't', installationId: 1 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        stores[i % 2]!.recordPostedFinding({ repo: 'acme/shop', prNumber: 1, fingerprint: 'fp-1', commentId: 1000 + i, jobId: job.id }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const posted = await stores[0]!.listPostedFindings('acme/shop', 1);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ fingerprint: 'fp-1', jobId: job.id, status: 'posted' });
  });

  it('scopes fingerprints per repository and PR, and resolves them', async () => {
    const store = await db.fresh();
    const base = { fingerprint: 'fp', commentId: null, jobId: 1 };
    expect(await store.recordPostedFinding({ ...base, repo: 'a/b', prNumber: 1 })).toBe(true);
    expect(await store.recordPostedFinding({ ...base, repo: 'a/b', prNumber: 2 })).toBe(true);
    expect(await store.recordPostedFinding({ ...base, repo: 'a/c', prNumber: 1 })).toBe(true);
    expect(await store.recordPostedFinding({ ...base, repo: 'a/b', prNumber: 1 })).toBe(false);
    expect(await store.resolvePostedFinding('a/b', 1, 'fp')).toBe(true);
    expect(await store.resolvePostedFinding('a/b', 1, 'nope')).toBe(false);
    expect((await store.listPostedFindings('a/b', 1))[0]!.status).toBe('resolved');
    expect((await store.listPostedFindings('a/b', 2))[0]!.status).toBe('posted');
  });

  it('dismisses once, keeping who and why', async () => {
    const store = await db.fresh();
    const input = { repo: 'a/b', prNumber: 3, fingerprint: 'fp', by: 'octocat', reason: 'guarded by a unique index' };
    const results = await Promise.all(Array.from({ length: 10 }, () => store.dismissFinding(input)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.dismissFinding({ ...input, by: 'someone-else' })).toBe(false);
    const dismissed = await store.listDismissedFindings('a/b', 3);
    expect(dismissed).toHaveLength(1);
    expect(dismissed[0]).toMatchObject({ by: 'octocat', reason: 'guarded by a unique index' });
    expect(await store.listDismissedFindings('a/b', 4)).toEqual([]);
  });
});
