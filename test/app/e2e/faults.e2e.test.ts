/**
 * End to end with faults: a 502 on the review POST (after GitHub created it: a lost answer), a
 * secondary rate limit on the check run, and a crash between the review POST and the commit.
 * None of them may post twice or leave a check run in progress.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prFilesFromDiff, pullRequestEvent, startFakeGitHub, type FakeGitHub } from '../../../src/testing/fake-github.js';
import { ROOT, settle, startApp, tempDb, waitFor, type RunningApp } from './harness.js';

const DIRTY = prFilesFromDiff(readFileSync(join(ROOT, 'examples/duplicate-charge.diff'), 'utf8'));
const HEAD = 'a'.repeat(40);

let gh: FakeGitHub | undefined;
let apps: RunningApp[] = [];
let db: ReturnType<typeof tempDb> | undefined;

afterEach(async () => {
  for (const a of apps) await a.stop();
  apps = [];
  await gh?.close();
  db?.cleanup();
});

async function setup(env: Record<string, string> = {}) {
  gh = await startFakeGitHub();
  db = tempDb();
  const pull = gh.addPull({ repo: 'octo/faults', number: 9, headSha: HEAD, files: DIRTY });
  const app = await startApp(gh, { DATABASE_URL: db.url, ...env });
  apps.push(app);
  return { gh, app, pull };
}

describe('faults, end to end', () => {
  it('a 502 on the review POST and a secondary rate limit on the check run are retried without double posting', async () => {
    const { gh, app, pull } = await setup();
    gh.fault({ method: 'POST', path: /\/check-runs$/, status: 403, headers: { 'retry-after': '1' }, body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' } });
    gh.fault({ method: 'POST', path: /\/pulls\/9\/reviews$/, status: 502, after: true, body: { message: 'Bad Gateway' } });
    await app.send('pull_request', pullRequestEvent(pull, 'opened'));
    const run = await waitFor('the check run to complete', () => gh.state.checkRuns.find((c) => c.status === 'completed'), 60_000);
    expect(run.conclusion).toBe('failure');
    await settle(gh, 2_000);
    expect(gh.callsTo('POST', /\/check-runs$/).map((c) => c.status)).toEqual([403, 201]);
    expect(gh.callsTo('POST', /\/pulls\/9\/reviews$/).map((c) => c.status)).toEqual([502]);
    expect(gh.state.reviews).toHaveLength(1); // GitHub created it once; the retry found it by its marker
    expect(gh.state.checkRuns).toHaveLength(1);
    expect(gh.state.checkRuns.filter((c) => c.status !== 'completed')).toEqual([]);
    expect(app.output()).toMatch(/found the review an earlier attempt posted/);
  }, 90_000);

  it('a crash between the review POST and the commit: after restart, no second review', async () => {
    const { gh, app, pull } = await setup({ CONCDBG_TEST_CRASH_AFTER: 'review-post', CONCDBG_LEASE_MS: '2000' });
    await app.send('pull_request', pullRequestEvent(pull, 'opened'));
    const code = await app.exited;
    expect(code).toBeNull(); // killed by SIGKILL
    expect(gh.state.reviews).toHaveLength(1);
    expect(gh.state.checkRuns[0]!.status).toBe('in_progress');
    const again = await startApp(gh, { DATABASE_URL: db!.url, CONCDBG_LEASE_MS: '2000' });
    apps.push(again);
    const run = await waitFor('the check run to complete after the restart', () => gh.state.checkRuns.find((c) => c.status === 'completed'), 60_000);
    expect(run.conclusion).toBe('failure');
    await settle(gh, 2_000);
    expect(gh.state.reviews).toHaveLength(1);
    expect(gh.callsTo('POST', /\/pulls\/9\/reviews$/)).toHaveLength(1);
    expect(gh.state.checkRuns).toHaveLength(1);
    expect(gh.state.comments.filter((c) => c.body.includes('<!-- concdbg:summary -->'))).toHaveLength(1);
  }, 90_000);

  it('a job that keeps failing ends with a neutral check run saying why', async () => {
    const { gh, app, pull } = await setup({ CONCDBG_MAX_ATTEMPTS: '2' });
    // A secondary rate limit every time: transient for the worker, never retried inside the request.
    gh.fault({ method: 'GET', path: /\/pulls\/9\/files$/, status: 403, times: 100, headers: { 'retry-after': '0' }, body: { message: 'You have exceeded a secondary rate limit' } });
    await app.send('pull_request', pullRequestEvent(pull, 'opened'));
    const run = await waitFor('the check run to complete', () => gh.state.checkRuns.find((c) => c.status === 'completed'), 80_000);
    expect(run.conclusion).toBe('neutral');
    expect(run.output?.summary).toContain('secondary rate limit');
    expect(gh.callsTo('GET', /\/pulls\/9\/files$/)).toHaveLength(2); // one per attempt
    expect(gh.state.reviews).toHaveLength(0);
    expect(gh.state.checkRuns).toHaveLength(1);
  }, 90_000);
});

describe('configuration at start', () => {
  it('a missing WEBHOOK_SECRET stops the app with one line naming it', async () => {
    gh = await startFakeGitHub();
    const app = await startApp(gh, { WEBHOOK_SECRET: '' }, { waitReady: false });
    apps.push(app);
    expect(await app.exited).toBe(1);
    const lines = app.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^concdbg: WEBHOOK_SECRET is missing: set it to/);
  });
});
