/** A claimed job on a real SQLite store in memory, with an in-memory GitHub, for job tests. */
import { openStore, type Store, type Job } from '../../../src/store/index.js';
import { runReviewJob, type ReviewJobDeps } from '../../../src/app/review-job.js';
import { memoryLog } from '../../../src/app/log.js';
import { MemoryApi } from './memory-api.js';
import { stubEngine } from './fixtures.js';
import type { Finding } from '../../../src/types.js';

export async function harness(findings: Finding[] | (() => Finding[]) = []) {
  const store = await openStore('sqlite::memory:');
  const api = new MemoryApi();
  const log = memoryLog();
  let current: Finding[] | (() => Finding[]) = findings;
  const engine = stubEngine(() => (typeof current === 'function' ? current() : current));
  const owner = 'worker-1';
  async function enqueueAndClaim(over: { headSha?: string; trigger?: string; payload?: Record<string, unknown> } = {}): Promise<Job> {
    const { job } = await store.enqueueJob({
      repo: 'octo/shop', prNumber: api.pull.number, headSha: over.headSha ?? api.pull.headSha, trigger: over.trigger ?? 'pull_request', installationId: 1,
      payload: over.payload ?? { auto: true, action: 'opened', deliveryId: 'd-1' },
    }, { supersede: true });
    const claimed = await store.claimJob(owner, 30_000);
    if (!claimed || claimed.id !== job.id) throw new Error('claim failed');
    return claimed;
  }
  const deps = (over: Partial<ReviewJobDeps> = {}): ReviewJobDeps => ({
    api, store, owner, runEngine: engine, botLogin: async () => api.botLogin, log, ...over,
  });
  return {
    store, api, log, engine, owner, enqueueAndClaim, deps,
    setFindings(f: Finding[]) { current = f; },
    run: (job: Job, over: Partial<ReviewJobDeps> = {}) => runReviewJob(job, deps(over)),
    close: (s: Store = store) => s.close(),
  };
}
