/**
 * Two app replicas (two processes) sharing one real PostgreSQL: deliveries spread over both,
 * redelivered and duplicated, still make one job, one check run and one review.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prFilesFromDiff, pullRequestEvent, startFakeGitHub, type FakeGitHub } from '../../../src/testing/fake-github.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { ROOT, settle, startApp, waitFor, type RunningApp } from './harness.js';

const DIRTY = prFilesFromDiff(readFileSync(join(ROOT, 'examples/duplicate-charge.diff'), 'utf8'));

let gh: FakeGitHub;
let pgdb: TestDatabase;
const apps: RunningApp[] = [];

beforeAll(async () => {
  gh = await startFakeGitHub();
  pgdb = await createTestDatabase();
  // Start one first so it applies the migrations; the second opens an up-to-date schema.
  apps.push(await startApp(gh, { DATABASE_URL: pgdb.url }));
  apps.push(await startApp(gh, { DATABASE_URL: pgdb.url }));
}, 90_000);

afterAll(async () => {
  for (const a of apps) await a.stop();
  await gh?.close();
  await pgdb?.drop();
});

describe('several replicas on PostgreSQL, end to end', () => {
  it('40 deliveries across two replicas (same and different ids): one check run, one review', async () => {
    const pull = gh.addPull({ repo: 'octo/replicas', number: 11, headSha: 'c'.repeat(40), files: DIRTY });
    const payload = pullRequestEvent(pull, 'opened');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => apps[i % 2]!.send('pull_request', payload, i % 4 === 0 ? { id: 'replica-same-id' } : {})),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    const run = await waitFor('the check run to complete', () => gh.state.checkRuns.find((c) => c.status === 'completed'), 60_000);
    expect(run.conclusion).toBe('failure');
    await settle(gh, 2_500);
    expect(gh.state.checkRuns).toHaveLength(1);
    expect(gh.state.reviews).toHaveLength(1);
    expect(gh.state.comments.filter((c) => c.body.includes('<!-- concdbg:summary -->'))).toHaveLength(1);
    for (const a of apps) expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
  }, 90_000);

  it('a webhook-only replica (CONCDBG_WORKER=0) queues work that a worker replica does', async () => {
    const webOnly = await startApp(gh, { DATABASE_URL: pgdb.url, CONCDBG_WORKER: '0' });
    apps.push(webOnly);
    const pull = gh.addPull({ repo: 'octo/replicas', number: 12, headSha: 'd'.repeat(40), files: DIRTY });
    expect((await webOnly.send('pull_request', pullRequestEvent(pull, 'opened'))).status).toBe(200);
    const run = await waitFor('the check run to complete', () => gh.state.checkRuns.find((c) => c.head_sha === 'd'.repeat(40) && c.status === 'completed'), 60_000);
    expect(run.conclusion).toBe('failure');
    expect(webOnly.output()).toContain('webhook-only replica');
    expect(webOnly.output()).not.toContain('"step":"check_run"');
  }, 90_000);
});
