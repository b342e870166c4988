import { afterEach, describe, expect, it } from 'vitest';
import type { ReviewOptions } from '../../src/engine/review.js';
import { failCheckRun } from '../../src/app/review-job.js';
import { SUMMARY_MARKER } from '../../src/app/render.js';
import { harness } from './support/job-harness.js';
import { addedFile, finding } from './support/fixtures.js';
import { HttpError } from './support/memory-api.js';

let h: Awaited<ReturnType<typeof harness>>;
afterEach(async () => h?.close());

const hazard = () => finding({ id: 'dup-charge', file: 'src/api/charge.ts', line: 3, endLine: 8 });

describe('review job', () => {
  it('posts one review with an inline comment and fails the check for a high finding', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    const r = await h.run(await h.enqueueAndClaim());
    expect(r).toMatchObject({ outcome: 'reviewed', conclusion: 'failure', posted: 1 });
    expect(h.api.reviews).toHaveLength(1);
    const review = h.api.reviews[0]!;
    expect(review.comments).toHaveLength(1);
    expect(review.comments[0]).toMatchObject({ path: 'src/api/charge.ts', start_line: 3, line: 8, side: 'RIGHT' });
    expect(review.body).toContain('<!-- concdbg:job=octo/shop#7@');
    expect(h.api.checkRuns).toHaveLength(1);
    const run = h.api.checkRuns[0]!;
    expect(run).toMatchObject({ name: 'concdbg', status: 'completed', conclusion: 'failure' });
    expect(run.updates.at(-1)?.output?.annotations).toHaveLength(1);
    expect(h.api.comments.filter((c) => c.body.includes(SUMMARY_MARKER))).toHaveLength(1);
    expect(await h.store.listPostedFindings('octo/shop', 7)).toMatchObject([{ fingerprint: 'dup-charge', commentId: review.comments[0]!.id }]);
  });

  it('clean PR: green check, no review, summary says nothing found', async () => {
    h = await harness([]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    const r = await h.run(await h.enqueueAndClaim());
    expect(r.conclusion).toBe('success');
    expect(h.api.reviews).toHaveLength(0);
    expect(h.api.checkRuns[0]!.conclusion).toBe('success');
    expect(h.api.comments[0]!.body).toContain('No concurrency hazards found');
  });

  it('a later push posts nothing for a finding already posted, edits the summary in place, and lists resolved findings', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    await h.run(await h.enqueueAndClaim());
    h.api.pull.headSha = 'c'.repeat(40);
    const r2 = await h.run(await h.enqueueAndClaim({ headSha: h.api.pull.headSha, payload: { auto: true, action: 'synchronize' } }));
    expect(r2.posted).toBe(0);
    expect(h.api.reviews).toHaveLength(1);
    expect(h.api.checkRuns.at(-1)!.conclusion).toBe('failure'); // still present, still gates
    h.setFindings([]);
    h.api.pull.headSha = 'd'.repeat(40);
    await h.run(await h.enqueueAndClaim({ headSha: h.api.pull.headSha, payload: { auto: true, action: 'synchronize' } }));
    const summaries = h.api.comments.filter((c) => c.body.includes(SUMMARY_MARKER));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.body).toContain('**Resolved since the last review:** `dup-charge`');
    expect(h.api.calls.filter((c) => c === 'updateIssueComment')).toHaveLength(2);
    expect(h.api.checkRuns.at(-1)!.conclusion).toBe('success');
  });

  it('does not take over a summary-looking comment written by someone else', async () => {
    h = await harness([]);
    h.api.files = [addedFile('a.ts', 1)];
    h.api.comments.push({ id: 1, body: `quoting ${SUMMARY_MARKER}`, author: 'mallory', authorType: 'User' });
    await h.run(await h.enqueueAndClaim());
    expect(h.api.comments).toHaveLength(2);
    expect(h.api.comments[0]!.body).toBe(`quoting ${SUMMARY_MARKER}`);
  });

  it('a dismissed finding is neither posted nor gating', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    await h.store.dismissFinding({ repo: 'octo/shop', prNumber: 7, fingerprint: 'dup-charge', by: 'alice', reason: 'single-threaded job' });
    const r = await h.run(await h.enqueueAndClaim());
    expect(r.conclusion).toBe('success');
    expect(h.api.reviews).toHaveLength(0);
    expect(h.api.comments[0]!.body).toContain('| dismissed |');
  });

  it('a finding off the diff goes into the review body', async () => {
    h = await harness([finding({ id: 'far', line: 300, endLine: 310 })]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    await h.run(await h.enqueueAndClaim());
    expect(h.api.reviews[0]!.comments).toHaveLength(0);
    expect(h.api.reviews[0]!.body).toContain('could not be attached');
    expect(h.api.reviews[0]!.body).toContain('<!-- concdbg:finding=far -->');
  });

  it('a 422 on the review falls back to one review with everything in the body', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    h.api.failNext.set('createReview', new HttpError(422, 'Unprocessable Entity: line could not be resolved'));
    const r = await h.run(await h.enqueueAndClaim());
    expect(r.posted).toBe(1);
    expect(h.api.reviews).toHaveLength(1);
    expect(h.api.reviews[0]!.comments).toHaveLength(0);
    expect(h.api.reviews[0]!.body).toContain('<!-- concdbg:finding=dup-charge -->');
  });

  it('a 5xx on the review is thrown (the worker retries) and the retry does not post twice even if GitHub had posted', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    h.api.failAfterNext.set('createReview', new HttpError(502, 'Bad Gateway'));
    const job = await h.enqueueAndClaim();
    await expect(h.run(job)).rejects.toMatchObject({ status: 502 });
    expect(h.api.reviews).toHaveLength(1); // GitHub did create it; we never heard
    expect(h.api.checkRuns[0]!.status).toBe('in_progress');
    // the worker gives the job back and claims it again
    await h.store.failJob(job.id, h.owner, 'HTTP 502', 0);
    const again = await h.store.claimJob(h.owner, 30_000);
    const r = await h.run(again!);
    expect(r.conclusion).toBe('failure');
    expect(h.api.reviews).toHaveLength(1);
    expect(h.api.checkRuns).toHaveLength(1); // reused, not duplicated
    expect(h.api.checkRuns[0]!.conclusion).toBe('failure');
    expect(await h.store.listPostedFindings('octo/shop', 7)).toHaveLength(1);
  });

  it('a crash after creating the check run but before recording it: the retry finds it by external_id', async () => {
    h = await harness([]);
    h.api.files = [addedFile('a.ts', 1)];
    h.api.failAfterNext.set('createCheckRun', new HttpError(502));
    const job = await h.enqueueAndClaim();
    await expect(h.run(job)).rejects.toMatchObject({ status: 502 });
    await h.store.failJob(job.id, h.owner, 'HTTP 502', 0);
    await h.run((await h.store.claimJob(h.owner, 30_000))!);
    expect(h.api.checkRuns).toHaveLength(1);
    expect(h.api.checkRuns[0]!.conclusion).toBe('success');
  });

  it('120 findings: annotations in batches of 50, the last with the conclusion', async () => {
    const many = Array.from({ length: 120 }, (_, i) => finding({ id: `m${i}`, file: 'big.ts', line: i + 1, endLine: i + 1, severity: 'medium' }));
    h = await harness(many);
    h.api.files = [addedFile('big.ts', 200)];
    await h.run(await h.enqueueAndClaim());
    const updates = h.api.checkRuns[0]!.updates.filter((u) => u.output?.annotations);
    expect(updates.map((u) => u.output!.annotations!.length)).toEqual([50, 50, 20]);
    expect(updates.map((u) => u.conclusion)).toEqual([undefined, undefined, 'success']);
    expect(h.api.reviews).toHaveLength(1);
    expect(h.api.reviews[0]!.comments).toHaveLength(120);
  });

  it('a bad settings file on the base branch: neutral check with the error and the line, nothing reviewed', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    h.api.contents.set('main:.github/concdbg.yml', 'gate: high\nfoo: 1\n');
    const r = await h.run(await h.enqueueAndClaim());
    expect(r).toMatchObject({ outcome: 'bad_settings', conclusion: 'neutral' });
    const last = h.api.checkRuns[0]!.updates.at(-1)!;
    expect(last.output?.summary).toContain('unknown key "foo"');
    expect(last.output?.summary).toContain('line 2');
    expect(h.engine.calls).toHaveLength(0);
    expect(h.api.reviews).toHaveLength(0);
  });

  it('settings come from the base branch, not the head', async () => {
    h = await harness([finding({ id: 'med', severity: 'medium', line: 2, endLine: 2 })]);
    h.api.files = [addedFile('src/x.ts', 5)];
    h.api.contents.set('main:.github/concdbg.yml', 'gate: medium\n');
    h.api.contents.set(`${h.api.pull.headSha}:.github/concdbg.yml`, 'gate: none\n');
    const r = await h.run(await h.enqueueAndClaim());
    expect(r.conclusion).toBe('failure');
  });

  it('drafts are skipped (neutral) unless configured; commands still review them', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    h.api.pull.draft = true;
    const r = await h.run(await h.enqueueAndClaim());
    expect(r).toMatchObject({ outcome: 'skipped', conclusion: 'neutral' });
    expect(h.api.reviews).toHaveLength(0);
    const r2 = await h.run(await h.enqueueAndClaim({ trigger: 'comment:1', payload: { requestedBy: 'alice' } }));
    expect(r2.conclusion).toBe('failure');
  });

  it('partial review (a patch omitted): neutral when nothing gates, and the skipped file is named', async () => {
    h = await harness([]);
    h.api.files = [addedFile('a.ts', 3), { filename: 'huge.ts', status: 'modified', additions: 9000, deletions: 0, changes: 9000 }];
    const r = await h.run(await h.enqueueAndClaim());
    expect(r).toMatchObject({ outcome: 'partial', conclusion: 'neutral' });
    expect(h.api.checkRuns[0]!.updates.at(-1)!.output!.summary).toContain('`huge.ts`: patch omitted');
  });

  it('passes settings to the engine: path filter, modes, minimum confidence', async () => {
    h = await harness([]);
    h.api.files = [addedFile('src/a.ts', 3)];
    h.api.contents.set('main:.github/concdbg.yml', 'paths:\n  exclude: ["vendor/**"]\nmodes: [deadlock]\nminConfidence: 0.8\n');
    await h.run(await h.enqueueAndClaim());
    const opts = h.engine.calls[0]!.opts;
    expect(opts.modes).toEqual(['deadlock']);
    expect(opts.minConfidence).toBe(0.8);
    expect(opts.includePath!('vendor/x.ts')).toBe(false);
    expect(opts.includePath!('src/a.ts')).toBe(true);
    expect(h.engine.calls[0]!.diff).toContain('+++ b/src/a.ts');
  });

  it('gives the engine whole files at the head SHA (never the base), bounded, and survives a file it cannot read', async () => {
    h = await harness([]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    h.api.contents.set(`${h.api.pull.headSha}:src/api/charge.ts`, 'export async function charge() {}\n');
    h.api.contents.set(`base:src/api/other.ts`, 'old');
    await h.run(await h.enqueueAndClaim());
    const read = h.engine.calls[0]!.opts.readSource!;
    expect(await read('src/api/charge.ts')).toBe('export async function charge() {}\n');
    expect(await read('src/api/other.ts')).toBeUndefined();
    for (let i = 0; i < 60; i++) await read(`src/f${i}.ts`);
    h.api.contents.set(`${h.api.pull.headSha}:src/late.ts`, 'late');
    expect(await read('src/late.ts')).toBeUndefined(); // past the bound: hunks only
  });

  it('a job superseded while it runs closes its own check run as neutral and posts nothing', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    const job = await h.enqueueAndClaim();
    const newSha = 'e'.repeat(40);
    const engine = async (diff: string, opts: ReviewOptions) => {
      await h.store.enqueueJob({ repo: 'octo/shop', prNumber: 7, headSha: newSha, trigger: 'pull_request', installationId: 1 }, { supersede: true });
      return h.engine(diff, opts);
    };
    const r = await h.run(job, { runEngine: engine });
    expect(r.outcome).toBe('superseded');
    expect(h.api.reviews).toHaveLength(0);
    expect(h.api.checkRuns[0]).toMatchObject({ status: 'completed', conclusion: 'neutral' });
    expect(h.api.checkRuns[0]!.updates.at(-1)!.output!.summary).toContain('eeeeeee');
  });

  it('a job that failed for good completes its check run neutral with the reason', async () => {
    h = await harness([]);
    const job = await h.enqueueAndClaim();
    await failCheckRun(job, { api: h.api, store: h.store }, 'GitHub answered 502 five times');
    expect(h.api.checkRuns).toHaveLength(1);
    expect(h.api.checkRuns[0]).toMatchObject({ status: 'completed', conclusion: 'neutral' });
  });

  it('logs one structured line per step with job, repo, PR and SHA', async () => {
    h = await harness([hazard()]);
    h.api.files = [addedFile('src/api/charge.ts', 20)];
    await h.run(await h.enqueueAndClaim());
    const steps = h.log.lines.filter((l) => l.step);
    expect(steps.map((l) => l.step)).toEqual(expect.arrayContaining(['check_run', 'pull', 'settings', 'files', 'engine', 'review', 'summary', 'check_run_completed', 'done']));
    for (const l of steps) expect(l).toMatchObject({ jobId: expect.any(Number), repo: 'octo/shop', pr: 7, sha: 'a'.repeat(40), deliveryId: 'd-1' });
  });
});
