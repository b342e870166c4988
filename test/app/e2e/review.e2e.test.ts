/**
 * End to end: the real app process against the fake GitHub on loopback, checked from outside.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commentEvent, prFilesFromDiff, pullRequestEvent, startFakeGitHub, type FakeGitHub, type FakeFile } from '../../../src/testing/fake-github.js';
import { PRIVATE_KEY, ROOT, SECRET, settle, startApp, tempDb, waitFor, type RunningApp } from './harness.js';

const DIRTY = prFilesFromDiff(readFileSync(join(ROOT, 'examples/duplicate-charge.diff'), 'utf8'));
const CLEAN = prFilesFromDiff(readFileSync(join(ROOT, 'examples/duplicate-charge-fixed.diff'), 'utf8'));
const sha = (c: string) => c.repeat(40);

let gh: FakeGitHub;
let app: RunningApp;
let db: ReturnType<typeof tempDb>;

beforeAll(async () => {
  gh = await startFakeGitHub();
  db = tempDb();
  app = await startApp(gh, { DATABASE_URL: db.url });
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await gh?.close();
  db?.cleanup();
});

const runsFor = (repo: string, head: string) => gh.state.checkRuns.filter((c) => c.repo === repo && c.head_sha === head);
const reviewsOn = (repo: string, pr: number) => gh.state.reviews.filter((r) => r.repo === repo && r.pr === pr);
const completed = (repo: string, head: string) => runsFor(repo, head).find((c) => c.status === 'completed');

describe('concdbg app, end to end', () => {
  it('duplicate-charge PR: exactly one review with an inline comment on the hazard, and a failing check', async () => {
    const pull = gh.addPull({ repo: 'octo/dirty', number: 1, headSha: sha('a'), files: DIRTY });
    const r = await app.send('pull_request', pullRequestEvent(pull, 'opened'));
    expect(r.status).toBe(200);
    const run = await waitFor('the check run to complete', () => completed('octo/dirty', sha('a')));
    expect(run).toMatchObject({ name: 'concdbg', conclusion: 'failure', external_id: expect.stringContaining('octo/dirty#1@') });
    await settle(gh, 1_000);
    const reviews = reviewsOn('octo/dirty', 1);
    expect(reviews).toHaveLength(1);
    expect(reviews[0]!.event).toBe('COMMENT');
    const onHazard = reviews[0]!.comments.filter((c) => c.path === 'src/api/charge.ts' && c.line >= 5 && c.line <= 24);
    expect(onHazard.length).toBeGreaterThanOrEqual(1);
    expect(onHazard.some((c) => /toctou|check-then-act/.test(c.body))).toBe(true);
    expect(onHazard[0]!.body).toContain('```mermaid');
    expect(onHazard[0]!.body).toMatch(/<!-- concdbg:finding=\S+ -->/);
    expect(run.annotations.length).toBeGreaterThanOrEqual(1);
    expect(runsFor('octo/dirty', sha('a'))).toHaveLength(1);
    const summary = gh.state.comments.filter((c) => c.repo === 'octo/dirty' && c.body.includes('<!-- concdbg:summary -->'));
    expect(summary).toHaveLength(1);
  });

  it('a clean PR gets a green check and no review comments', async () => {
    const pull = gh.addPull({ repo: 'octo/clean', number: 2, headSha: sha('b'), files: CLEAN });
    await app.send('pull_request', pullRequestEvent(pull, 'opened'));
    const run = await waitFor('the check run to complete', () => completed('octo/clean', sha('b')));
    expect(run.conclusion).toBe('success');
    await settle(gh, 1_000);
    expect(reviewsOn('octo/clean', 2)).toHaveLength(0);
  });

  it('a forged signature is refused with 4xx and nothing happens', async () => {
    const pull = gh.addPull({ repo: 'octo/forged', number: 3, headSha: sha('c'), files: DIRTY });
    const before = gh.calls.length;
    const r = await app.send('pull_request', pullRequestEvent(pull, 'opened'), { signature: 'sha256=' + '0'.repeat(64) });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    await settle(gh, 1_500);
    expect(gh.calls.slice(before).filter((c) => c.path.includes('octo/forged'))).toEqual([]);
    expect(runsFor('octo/forged', sha('c'))).toHaveLength(0);
  });

  it('/concdbg from a collaborator is answered; from a stranger it starts nothing', async () => {
    const pull = gh.addPull({ repo: 'octo/cmd', number: 4, headSha: sha('d'), files: CLEAN });
    gh.setPermission('octo/cmd', 'carol', 'write');
    await app.send('issue_comment', commentEvent(pull, '/concdbg', { login: 'mallory' }, 501));
    await app.send('issue_comment', commentEvent(pull, '/concdbg', { login: 'carol' }, 502));
    const run = await waitFor('the commanded review', () => completed('octo/cmd', sha('d')));
    expect(run.conclusion).toBe('success');
    await settle(gh, 1_000);
    expect(gh.state.reactions.filter((r) => r.commentId === 502).map((r) => r.content)).toEqual(expect.arrayContaining(['eyes']));
    expect(gh.state.reactions.filter((r) => r.commentId === 501)).toEqual([]);
    expect(runsFor('octo/cmd', sha('d'))).toHaveLength(1); // only carol's
    expect(gh.callsTo('GET', /\/repos\/octo\/cmd\/collaborators\/mallory\/permission$/)).toHaveLength(1);
  });

  it('a 250-file PR is read across three pages', async () => {
    const files: FakeFile[] = Array.from({ length: 250 }, (_, i) => ({
      filename: `docs/page-${i}.md`, status: 'added', patch: `@@ -0,0 +1 @@\n+page ${i}`, additions: 1, deletions: 0, changes: 1,
    }));
    const pull = gh.addPull({ repo: 'octo/big', number: 5, headSha: sha('e'), files });
    await app.send('pull_request', pullRequestEvent(pull, 'opened'));
    const run = await waitFor('the check run to complete', () => completed('octo/big', sha('e')));
    expect(run.conclusion).toBe('success');
    const pages = gh.callsTo('GET', /\/repos\/octo\/big\/pulls\/5\/files$/).map((c) => c.query.page);
    expect(pages).toEqual(['1', '2', '3']);
  });

  it('50 concurrent deliveries (same id and different ids): one job, one check run, one review', async () => {
    const pull = gh.addPull({ repo: 'octo/burst', number: 6, headSha: sha('f'), files: DIRTY });
    const payload = pullRequestEvent(pull, 'synchronize');
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => app.send('pull_request', payload, i % 2 === 0 ? { id: 'burst-same-id' } : {})),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await waitFor('the check run to complete', () => completed('octo/burst', sha('f')));
    await settle(gh, 2_000);
    expect(runsFor('octo/burst', sha('f'))).toHaveLength(1);
    expect(reviewsOn('octo/burst', 6)).toHaveLength(1);
    expect(gh.callsTo('POST', /\/repos\/octo\/burst\/pulls\/6\/reviews$/)).toHaveLength(1);
  });

  it('superseding pushes: no check run left in progress, the newest SHA reviewed once', async () => {
    const pull = gh.addPull({ repo: 'octo/push', number: 7, headSha: sha('1'), files: DIRTY });
    const heads = ['1', '2', '3', '4'].map(sha);
    for (const h of heads) {
      gh.push('octo/push', 7, h);
      await app.send('pull_request', pullRequestEvent({ ...pull, headSha: h }, h === heads[0] ? 'opened' : 'synchronize'));
    }
    const newest = heads.at(-1)!;
    const run = await waitFor('the newest check run to complete', () => completed('octo/push', newest));
    expect(run.conclusion).toBe('failure');
    await settle(gh, 3_000);
    const all = gh.state.checkRuns.filter((c) => c.repo === 'octo/push');
    expect(all.filter((c) => c.status !== 'completed')).toEqual([]);
    expect(runsFor('octo/push', newest)).toHaveLength(1);
    for (const old of all.filter((c) => c.head_sha !== newest)) expect(old.conclusion).toBe('neutral');
    const reviews = reviewsOn('octo/push', 7);
    // At most one review: the findings are the same on every SHA, so they are posted once.
    expect(reviews.length).toBe(1);
  });

  it('/healthz and /metrics answer while the app runs', async () => {
    const h = await fetch(`${app.url}/healthz`);
    expect(h.status).toBe(200);
    const m = await (await fetch(`${app.url}/metrics`)).text();
    expect(m).toMatch(/concdbg_webhooks_received_total\{event="pull_request"\} \d+/);
    expect(m).toMatch(/concdbg_webhooks_deduplicated_total\{event="pull_request"\} \d+/);
    expect(m).toMatch(/concdbg_findings_total\{mode="toctou",source="heuristic"\} \d+/);
    expect(m).toContain('concdbg_review_latency_seconds_bucket');
    expect(m).toContain('concdbg_jobs_superseded_total');
  });

  it('logs are structured per job step and never contain the private key or the webhook secret', async () => {
    const lines = app.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const steps = lines.filter((l) => l.step === 'review' && l.repo === 'octo/dirty');
    expect(steps[0]).toMatchObject({ deliveryId: expect.any(String), jobId: expect.any(Number), pr: 1, sha: sha('a') });
    const out = app.output();
    const keyBody = PRIVATE_KEY.split('\n').filter((l) => l && !l.startsWith('-----')).slice(1, 3);
    for (const part of keyBody) expect(out).not.toContain(part);
    expect(out).not.toContain(SECRET);
    expect(out).not.toMatch(/ghs_fake[0-9a-f]{8}/); // installation tokens
  });
});
