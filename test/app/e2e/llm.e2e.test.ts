/**
 * End to end with the LLM: the real app process against the fake GitHub and a fake Anthropic
 * Messages API on loopback (ANTHROPIC_BASE_URL). With the fake up, the finding is the LLM's; with it
 * down or the daily budget spent, the review still comes, offline, exactly once, and the check run
 * says why. The API key never appears in the app's logs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prFilesFromDiff, pullRequestEvent, startFakeGitHub, type FakeFile, type FakeGitHub } from '../../../src/testing/fake-github.js';
import { openStore, utcDay } from '../../../src/store/index.js';
import { diagnosis } from '../../llm/answers.js';
import { startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic.js';
import { ROOT, settle, startApp, tempDb, waitFor, type RunningApp } from './harness.js';

const API_KEY = 'sk-ant-test-e2e-0c9d1f7a2b3e4d5f6a7b8c9d';
const MARKER = 'LLM-E2E-MARKER';
const UNRELATED = 'UNRELATED-FILE-LINE-4e1b';
const HEAD = 'c'.repeat(40);

/**
 * The duplicate-charge diff plus a second database file that the relevance filter keeps but that holds
 * no candidate: none of its lines may be sent.
 */
const FILES: FakeFile[] = [
  ...prFilesFromDiff(readFileSync(join(ROOT, 'examples/duplicate-charge.diff'), 'utf8')),
  ...prFilesFromDiff([
    'diff --git a/src/api/charges-list.ts b/src/api/charges-list.ts',
    'new file mode 100644',
    '--- /dev/null',
    '+++ b/src/api/charges-list.ts',
    '@@ -0,0 +1,7 @@',
    "+import { db } from '../db.js';",
    '+',
    `+// ${UNRELATED}`,
    '+export async function listCharges(userId: string) {',
    "+  const result = await db.query('SELECT id, amount FROM charges WHERE user_id = $1 ORDER BY created_at DESC', [userId]);",
    '+  return result.rows;',
    '+}',
    '',
  ].join('\n')),
];

let gh: FakeGitHub | undefined;
let anthropic: FakeAnthropic | undefined;
let app: RunningApp | undefined;
let db: ReturnType<typeof tempDb> | undefined;

afterEach(async () => {
  await app?.stop();
  await gh?.close();
  await anthropic?.close().catch(() => undefined);
  db?.cleanup();
  app = gh = anthropic = db = undefined;
});

async function setup(fake: FakeAnthropic, env: Record<string, string> = {}) {
  gh = await startFakeGitHub();
  db = tempDb();
  const pull = gh.addPull({ repo: 'octo/llm', number: 5, headSha: HEAD, files: FILES });
  app = await startApp(gh, {
    DATABASE_URL: db.url,
    ANTHROPIC_API_KEY: API_KEY,
    ANTHROPIC_BASE_URL: fake.url,
    CONCDBG_LLM_MAX_RETRIES: '0',
    CONCDBG_LLM_TIMEOUT_MS: '3000',
    ...env,
  });
  await app.send('pull_request', pullRequestEvent(pull, 'opened'));
  const run = await waitFor('the check run to complete', () => gh!.state.checkRuns.find((c) => c.status === 'completed'), 60_000);
  await settle(gh, 1_500);
  return { gh, app, run };
}

/** Exactly one review and one check run, completed as a failure. */
function expectReviewedOnce(g: FakeGitHub) {
  expect(g.state.reviews).toHaveLength(1);
  expect(g.callsTo('POST', /\/pulls\/5\/reviews$/)).toHaveLength(1);
  expect(g.state.checkRuns).toHaveLength(1);
  expect(g.state.checkRuns[0]).toMatchObject({ status: 'completed', conclusion: 'failure' });
  const inline = g.state.reviews[0]!.comments.filter((c) => c.path === 'src/api/charge.ts');
  expect(inline.length).toBeGreaterThanOrEqual(1);
  return inline;
}

function expectNoKeyInLogs(a: RunningApp) {
  expect(a.output()).toMatch(/concdbg ready/); // the logs were captured
  expect(a.output()).not.toContain(API_KEY);
  expect(a.output()).not.toContain(API_KEY.slice(-12));
}

describe('the app with an LLM, end to end', () => {
  it('fake Anthropic up: one review whose inline comment is the LLM finding, tokens in the summary, only candidate regions sent', async () => {
    anthropic = await startFakeAnthropic({
      answer: { diagnoses: [diagnosis({ title: `${MARKER}: both requests pass the dedup SELECT and charge twice` })] },
      usage: { input_tokens: 900, output_tokens: 400 },
    });
    const { gh, app, run } = await setup(anthropic, { CONCDBG_LLM_DAILY_BUDGET: '1000000' });

    const inline = expectReviewedOnce(gh);
    expect(inline.some((c) => c.body.includes(MARKER))).toBe(true);
    expect(run.output?.summary).toContain('| LLM tokens | 900 in, 400 out |');
    expect(run.output?.summary).toMatch(/by source \| LLM: 1\b/);
    expect(run.output?.summary).toMatch(/src\/api\/charge\.ts:\d+ toctou: diagnosed by the LLM/);

    expect(anthropic.bodies).toHaveLength(1);
    const sent = anthropic.raw[0]!;
    expect(sent).toContain('SELECT id FROM charges');
    expect(run.output?.summary).toContain('| files reviewed | 2 |'); // the second file was reviewed…
    expect(sent).not.toContain(UNRELATED); // …but none of its lines were sent
    expect(sent).not.toContain('listCharges');
    expect(sent).not.toContain('charges-list.ts');
    expectNoKeyInLogs(app);

    // Usage counted once: the reporting counters hold the real tokens (not the estimate, not twice),
    // and the daily budget's counter holds input + output.
    await app.stop();
    const store = await openStore(db!.url);
    try {
      expect(await store.getUsage(1, utcDay())).toMatchObject({ reviews: 1, inputTokens: 900, outputTokens: 400, budgetTokens: 1_300 });
    } finally {
      await store.close();
    }
  }, 90_000);

  it.each([
    ['closed', 'connection failed'],
    ['answering 529', 'api 529 overloaded'],
  ])('fake Anthropic down (%s): the review still comes, offline, exactly once, and the summary says why', async (how, reason) => {
    anthropic = await startFakeAnthropic({ status: 529 });
    if (how === 'closed') await anthropic.close();
    const { gh, app, run } = await setup(anthropic);

    const inline = expectReviewedOnce(gh);
    expect(inline.some((c) => c.body.includes(MARKER))).toBe(false);
    expect(inline.some((c) => /toctou|check-then-act/i.test(c.body))).toBe(true);
    const summary = run.output?.summary ?? '';
    expect(summary).toContain(`detector diagnosis: LLM unavailable (${reason})`);
    expect(summary).toMatch(/src\/api\/charge\.ts:\d+ toctou: detector diagnosis/);
    expect(summary).toMatch(/by source \| detector: \d+/);
    expect(summary).not.toMatch(/by source \|[^\n]*LLM/);
    expect(anthropic.bodies).toHaveLength(how === 'closed' ? 0 : 1); // no retries: CONCDBG_LLM_MAX_RETRIES=0
    expectNoKeyInLogs(app);
  }, 90_000);

  it('daily budget spent: the review comes offline, the summary says so, nothing is sent', async () => {
    anthropic = await startFakeAnthropic({ answer: { diagnoses: [diagnosis({ title: MARKER })] } });
    const { gh, app, run } = await setup(anthropic, { CONCDBG_LLM_DAILY_BUDGET: '1' });

    const inline = expectReviewedOnce(gh);
    expect(inline.some((c) => c.body.includes(MARKER))).toBe(false);
    expect(run.output?.summary).toMatch(/toctou: detector diagnosis: the installation's daily LLM budget is spent/);
    expect(run.output?.summary).toContain('| LLM tokens | 0 in, 0 out |');
    expect(anthropic.bodies).toHaveLength(0);
    expectNoKeyInLogs(app);
  }, 90_000);
});
