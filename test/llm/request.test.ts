import { describe, expect, it } from 'vitest';
import { dryRun } from '../../src/llm/diagnose.js';
import { systemPrompt, variantPrompt } from '../../src/llm/prompts.js';
import { candidateLine, planRequests, rankCandidates } from '../../src/llm/request.js';
import { estimateTokens, naiveBaselineTokens } from '../../src/llm/tokens.js';
import { candidate, chargeCandidate, chargeFile, sourceFile } from './helpers.js';

const config = { model: 'claude-sonnet-5-5', maxTokens: 4096, inputTokenBudget: 50_000, maxCandidatesPerRequest: 8 };
const fixedNonce = () => 'n0nce0000000000000000001';

describe('prompts', () => {
  it('ship the method, the eight modes and the four variants', () => {
    const s = systemPrompt();
    for (const id of ['toctou', 'lost_update', 'write_skew', 'deadlock', 'async_ordering', 'eventual_consistency', 'phantom_read', 'message_ordering']) {
      expect(s).toContain(`\`${id}\``);
    }
    expect(s).toMatch(/why not the\s+nearest other modes/i);
    expect(s).toMatch(/never follow/i);
    expect(variantPrompt('database')).toMatch(/isolation/i);
    expect(variantPrompt('async')).toMatch(/await/i);
    expect(variantPrompt('distributed')).toMatch(/replica/i);
    expect(variantPrompt('queue')).toMatch(/idempoten/i);
  });
});

describe('candidateLine', () => {
  it('says mode, lines, pattern, entity, evidence and the facts the code does not show, on one redacted line', () => {
    const c = candidate({
      file: 'app/jobs/sync.rb',
      line: 12,
      endLine: 18,
      failureMode: 'message_ordering',
      detector: 'out-of-order-status-update',
      title: 'SyncJob writes status from each event: TITLE_MARKER',
      functionName: 'SyncJob.perform',
      entity: 'seller.kyc_status',
      evidence: [
        { line: 12, text: 'a', role: 'status-write' },
        { line: 14, text: 'b', role: 'status-write' },
        { line: 16, text: 'c', role: 'ack' },
      ],
      facts: {
        pattern: 'out-of-order-status',
        writeCall: 'seller.update!',
        orm: 'activerecord',
        inTransaction: 'no',
        isolation: 'read committed',
        model: 'seller',
        broker: 'sidekiq',
        retries: 'retry: 8',
        shown: 'Seller.find_by!(id)',
        again: 'sidekiq',
        otherLine: '40',
        mutation: 'line 40: seller.touch',
        token: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      },
    });
    const code = '10 seller = Seller.find_by!(id)\n40 seller.touch';
    expect(candidateLine(3, c, code)).toBe(
      '#3 message_ordering 12-18 out-of-order-status on seller.kyc_status; 12,14 status-write, 16 ack; broker=sidekiq; retries=retry: 8; otherLine=40; mutation=line 40; token=ghp_***',
    );
  });

  it('drops a fact that is a template literal the code shows, and elides quoted code inside a longer fact', () => {
    const code = '5+ const key = `${userId}-${Date.now()}`;\n9+ if (left <= 1) return;';
    const c = chargeCandidate({ facts: { idempotencyKey: '`${userId}-${Date.now()}`', invariant: 'the count checked against 1 in `left <= 1`' } });
    expect(candidateLine(0, c, code)).toBe('#0 toctou 7-22 check-then-insert on charges; 7 check, 19 act; invariant=the count checked against 1 in `…`');
  });

  it('names the detector when there is no pattern fact, and keeps a non-default isolation', () => {
    const line = candidateLine(0, chargeCandidate({ facts: { isolation: 'repeatable read' } }), '');
    expect(line).toBe('#0 toctou 7-22 check-then-insert on charges; 7 check, 19 act; isolation=repeatable read');
  });
});

describe('planRequests', () => {
  it('builds one request per batch with cached system blocks, the variant text and a nonce fence', () => {
    const plan = planRequests([chargeCandidate()], [chargeFile()], config, { nonce: fixedNonce });
    expect(plan.requests).toHaveLength(1);
    const req = plan.requests[0]!;
    expect(req.variant).toBe('database');
    expect(req.body.system).toEqual([
      { type: 'text', text: systemPrompt(), cache_control: { type: 'ephemeral' } },
      { type: 'text', text: variantPrompt('database'), cache_control: { type: 'ephemeral' } },
    ]);
    const user = req.body.messages[0]!.content;
    // The message opens with the fence: nothing review-derived comes before it.
    expect(user.startsWith('<untrusted_n0nce0000000000000000001>\n')).toBe(true);
    const open = 0;
    const close = user.lastIndexOf('\n</untrusted_n0nce0000000000000000001>\n');
    expect(close).toBeGreaterThan(open);
    // After the fence, only the trusted line naming the candidates to diagnose.
    expect(user.slice(close).split('\n').slice(2)).toEqual(['Diagnose 0.']);
    // The code sits between the fence tags.
    const code = user.indexOf('export async function chargeCustomer');
    expect(code).toBeGreaterThan(open);
    expect(code).toBeLessThan(close);
    expect(user).not.toContain('UNRELATED_FOOTER_MARKER');
  });

  it('ranks by severity × confidence and diagnoses offline what does not fit the budget', () => {
    const file = chargeFile();
    const low = chargeCandidate({ severity: 'low', confidence: 0.5, line: 15, endLine: 18 });
    const high = chargeCandidate();
    expect(rankCandidates([low, high])).toEqual([1, 0]);
    const one = planRequests([high], [file], config, { nonce: fixedNonce }).estimatedInputTokens;
    const plan = planRequests([low, high], [file], { ...config, inputTokenBudget: one }, { nonce: fixedNonce });
    expect(plan.requests).toHaveLength(1);
    expect(plan.requests[0]!.candidateIndexes).toEqual([1]);
    expect(plan.skipped).toEqual([{ index: 0, note: 'offline-budget' }]);
    expect(plan.estimatedInputTokens).toBeLessThanOrEqual(one);
  });

  it('sends nothing when even the best candidate does not fit', () => {
    const plan = planRequests([chargeCandidate()], [chargeFile()], { ...config, inputTokenBudget: 1000 }, { nonce: fixedNonce });
    expect(plan.requests).toEqual([]);
    expect(plan.skipped).toEqual([{ index: 0, note: 'offline-budget' }]);
  });

  it('skips a candidate whose file the engine did not pass', () => {
    const plan = planRequests([candidate({ file: 'docs/readme.md', line: 1, endLine: 1 })], [chargeFile()], config);
    expect(plan.requests).toEqual([]);
    expect(plan.skipped[0]!.note).toMatch(/^offline-error: file not among/);
  });

  it('splits past maxCandidatesPerRequest', () => {
    const file = chargeFile();
    const cands = [chargeCandidate(), chargeCandidate({ line: 15, endLine: 18 }), chargeCandidate({ line: 19, endLine: 22 })];
    const plan = planRequests(cands, [file], { ...config, maxCandidatesPerRequest: 2 }, { nonce: fixedNonce });
    expect(plan.requests.map((r) => r.candidateIndexes)).toEqual([[0, 1], [2]]);
  });

  it('uses the override variant for every request', () => {
    const plan = planRequests([chargeCandidate()], [chargeFile()], config, { variantOverride: 'queue' });
    expect(plan.requests[0]!.variant).toBe('queue');
    expect(plan.requests[0]!.body.system[1]!.text).toBe(variantPrompt('queue'));
  });
});

describe('dryRun', () => {
  it('returns the exact body, regions and estimate without a key', () => {
    const r = dryRun({ candidates: [chargeCandidate()], files: [chargeFile()], nonce: fixedNonce });
    expect(r.model).toBe('claude-sonnet-5-5');
    expect(r.requests).toHaveLength(1);
    const q = r.requests[0]!;
    expect(q.regions).toEqual([{ file: 'src/api/charge.ts', startLine: 5, endLine: 22, candidates: [0], redactions: 1 }]);
    expect(q.body.output_config.format.type).toBe('json_schema');
    expect(JSON.stringify(q.body.output_config.format.schema)).toContain('whyNotOtherModes');
    expect(q.estimate.total).toBe(q.estimate.static + q.estimate.dynamic);
    expect(q.estimate.dynamic).toBe(estimateTokens(q.body.messages[0]!.content));
    expect(r.estimatedInputTokens).toBe(q.estimate.total);
  });
});

describe('naiveBaselineTokens', () => {
  it('counts every file of the diff, relevant or not', () => {
    const diff = 'diff --git a/package-lock.json b/package-lock.json\n+' + 'x'.repeat(4000) + '\n';
    expect(naiveBaselineTokens(diff)).toBe(Math.ceil(diff.length / 4));
    const parsed = naiveBaselineTokens([
      {
        oldPath: 'a.ts',
        newPath: 'a.ts',
        status: 'modified',
        binary: false,
        hunks: [{ oldStart: 1, oldLines: 1, newStart: 1, newLines: 1, section: '', lines: [{ kind: 'add', text: 'y'.repeat(400), newLine: 1 }] }],
      },
    ]);
    expect(parsed).toBeGreaterThanOrEqual(100);
  });

  it('what concdbg sends for the charge example is far below the whole file', () => {
    const bigFile = sourceFile({
      path: 'src/api/charge.ts',
      text: chargeFile().lines.join('\n') + '\n' + Array.from({ length: 300 }, (_, i) => `export const filler${i} = ${i};`).join('\n'),
      whole: true,
      functions: [{ name: 'chargeCustomer', startLine: 5, endLine: 24 }],
    });
    const r = dryRun({ candidates: [chargeCandidate()], files: [bigFile] });
    expect(r.requests[0]!.estimate.dynamic).toBeLessThan(naiveBaselineTokens(bigFile.lines.join('\n')));
  });
});
