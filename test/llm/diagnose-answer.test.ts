import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnoseWithLlm, type DailyBudget, type LlmUsage } from '../../src/llm/diagnose.js';
import { systemPrompt, variantPrompt } from '../../src/llm/prompts.js';
import { FakeAnthropic, testConfig } from './anthropic-fake.js';
import { diagnosis } from './answers.js';
import { candidate, chargeCandidate, chargeFile, offlineStub } from './helpers.js';

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const nonce = () => 'fixednonce0000000000abcd';

describe('diagnoseWithLlm: a valid structured answer', () => {
  it('refines the candidate with the model diagnosis, keeping the heuristic severity, and reports usage', async () => {
    const api = new FakeAnthropic().answers({ diagnoses: [diagnosis({ severity: 'low' })] });
    const result = await diagnoseWithLlm({ candidates: [chargeCandidate()], files: [chargeFile()], config: testConfig(), offline: offlineStub, nonce });
    expect(api.isDone()).toBe(true);
    expect(result.notes).toEqual(['llm']);
    expect(result.findings).toHaveLength(1);
    const f = result.findings[0]!;
    expect(f).toMatchObject({
      source: 'llm',
      origin: 'refined',
      candidateIndex: 0,
      file: 'src/api/charge.ts',
      line: 7,
      endLine: 22,
      failureMode: 'toctou',
      severity: 'high',
      confidence: 0.92,
    });
    expect(f.explanation).toContain('not lost_update: nothing read is written back');
    expect(f.explanation).toContain('line 7 (check)');
    expect(f.interleaving).toHaveLength(3);
    expect(result.usage).toEqual({ inputTokens: 4200, outputTokens: 800, cachedTokens: 3000, cacheWriteTokens: 0, requests: 1 });
    expect(result.requests).toEqual([expect.objectContaining({ variant: 'database', outcome: 'llm', candidateIndexes: [0] })]);
  });

  it('sends only candidate regions, redacted, with cached system blocks, the chosen variant and the schema', async () => {
    const api = new FakeAnthropic().answers({ diagnoses: [diagnosis()] });
    await diagnoseWithLlm({ candidates: [chargeCandidate()], files: [chargeFile()], config: testConfig(), offline: offlineStub, nonce });
    expect(api.isDone()).toBe(true);
    const body = api.bodies[0]!;
    expect(body.model).toBe('claude-sonnet-5-5');
    expect(body.max_tokens).toBe(4096);
    expect(body.system).toEqual([
      { type: 'text', text: systemPrompt(), cache_control: { type: 'ephemeral' } },
      { type: 'text', text: variantPrompt('database'), cache_control: { type: 'ephemeral' } },
    ]);
    expect(body.output_config?.format?.type).toBe('json_schema');
    const user = body.messages[0]!.content;
    expect(body.messages).toHaveLength(1);
    // Inside the region: the function, numbered.
    expect(user).toContain('15   const stripeResult = await stripe.paymentIntents.create(');
    // Outside any region: the unrelated function and the module-level secret line.
    expect(user).not.toContain('UNRELATED_FOOTER_MARKER');
    expect(user).not.toContain('STRIPE_KEY');
    // Secrets inside the region are redacted.
    expect(user).toContain('postgres://billing:***@db.internal');
    expect(user).not.toContain('hunter2secret');
    expect(JSON.stringify(body)).not.toContain('sk_live_51HxAbCdEfGhIjKlMnOpQrSt');
  });

  it('sends the variant the candidates call for (queue)', async () => {
    const api = new FakeAnthropic().answers({ diagnoses: [diagnosis({ failureMode: 'message_ordering' })] });
    const c = chargeCandidate({ variant: 'queue', failureMode: 'message_ordering' });
    await diagnoseWithLlm({ candidates: [c], files: [chargeFile()], config: testConfig(), offline: offlineStub });
    expect(api.isDone()).toBe(true);
    expect(api.bodies[0]!.system[1]!.text).toBe(variantPrompt('queue'));
  });

  it('re-anchors a refinement whose lines are not on the diff, and drops a new finding outside the regions', async () => {
    const api = new FakeAnthropic().answers({
      diagnoses: [
        diagnosis({ line: 200, endLine: 210 }),
        diagnosis({ candidate: 'new', line: 27, endLine: 27, failureMode: 'async_ordering', title: 'footer' }),
      ],
    });
    const result = await diagnoseWithLlm({ candidates: [chargeCandidate()], files: [chargeFile()], config: testConfig(), offline: offlineStub });
    expect(api.isDone()).toBe(true);
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({ line: 7, endLine: 22, origin: 'refined' });
    expect(result.dropped).toEqual([expect.stringContaining('outside the regions sent')]);
  });

  it('keeps a new finding inside a region, capped at medium severity', async () => {
    const api = new FakeAnthropic().answers({
      diagnoses: [
        diagnosis(),
        diagnosis({ candidate: 'new', line: 15, endLine: 18, failureMode: 'async_ordering', severity: 'high', confidence: 0.7, title: 'charge not awaited in order' }),
      ],
    });
    const result = await diagnoseWithLlm({ candidates: [chargeCandidate()], files: [chargeFile()], config: testConfig(), offline: offlineStub });
    expect(api.isDone()).toBe(true);
    expect(result.findings.map((f) => [f.origin, f.failureMode, f.severity, f.line])).toEqual([
      ['refined', 'toctou', 'high', 7],
      ['added', 'async_ordering', 'medium', 15],
    ]);
  });

  it('cannot lower the gate: "not a hazard" on a high-confidence finding keeps it, disputed', async () => {
    const api = new FakeAnthropic().answers({
      diagnoses: [diagnosis({ verdict: 'not_a_hazard', title: 'Looks safe', whyThisMode: 'the caller serialises requests' })],
    });
    const result = await diagnoseWithLlm({ candidates: [chargeCandidate({ confidence: 0.85 })], files: [chargeFile()], config: testConfig(), offline: offlineStub });
    expect(api.isDone()).toBe(true);
    expect(result.notes).toEqual(['disputed']);
    expect(result.findings[0]).toMatchObject({
      source: 'heuristic',
      severity: 'high',
      title: expect.stringContaining('offline:'),
      disputed: { llmView: 'Looks safe: the caller serialises requests' },
    });
  });

  it('a low-confidence candidate the model calls harmless is dismissed', async () => {
    const api = new FakeAnthropic().answers({ diagnoses: [diagnosis({ verdict: 'not_a_hazard' })] });
    const result = await diagnoseWithLlm({ candidates: [chargeCandidate({ confidence: 0.6 })], files: [chargeFile()], config: testConfig(), offline: offlineStub });
    expect(api.isDone()).toBe(true);
    expect(result.notes).toEqual(['dismissed']);
    expect(result.findings).toEqual([]);
  });

  it('drops unknown modes and below-threshold answers, falling back offline for their candidates', async () => {
    const api = new FakeAnthropic().answers({
      diagnoses: [{ ...diagnosis(), failureMode: 'race_condition' }, diagnosis({ candidate: 1, confidence: 0.2, line: 15, endLine: 18 })],
    });
    const cands = [chargeCandidate(), chargeCandidate({ line: 15, endLine: 18, failureMode: 'async_ordering' })];
    const result = await diagnoseWithLlm({ candidates: cands, files: [chargeFile()], config: testConfig(), offline: offlineStub });
    expect(api.isDone()).toBe(true);
    expect(result.notes).toEqual(['offline-error: no diagnosis returned', 'offline-error: llm confidence 0.20 below 0.5']);
    expect(result.findings.map((f) => f.source)).toEqual(['heuristic', 'heuristic']);
    expect(result.dropped).toContain('1 diagnosis(es) with an unknown failure mode');
  });

  it('over the input budget: lower-ranked candidates go offline with a note, the rest are sent', async () => {
    const api = new FakeAnthropic().answers({ diagnoses: [diagnosis({ candidate: 1 })] });
    const strong = chargeCandidate();
    const weak = candidate({ file: 'src/api/charge.ts', line: 27, endLine: 27, severity: 'low', confidence: 0.4, variant: 'async' });
    // Budget that fits the strong candidate alone.
    const { dryRun } = await import('../../src/llm/diagnose.js');
    const alone = dryRun({ candidates: [strong], files: [chargeFile()], config: testConfig() }).estimatedInputTokens;
    const result = await diagnoseWithLlm({
      candidates: [weak, strong],
      files: [chargeFile()],
      config: testConfig({ inputTokenBudget: alone + 20 }),
      offline: offlineStub,
    });
    expect(api.isDone()).toBe(true);
    expect(result.notes).toEqual(['offline-budget', 'llm']);
    expect(api.bodies[0]!.messages[0]!.content).not.toContain('UNRELATED_FOOTER_MARKER');
  });

  it('reserves and records the daily budget through the injected store callbacks', async () => {
    const api = new FakeAnthropic().answers({ diagnoses: [diagnosis()] });
    const reserved: number[] = [];
    const recorded: LlmUsage[] = [];
    const budget: DailyBudget = {
      reserve: async (n) => {
        reserved.push(n);
        return true;
      },
      record: async (u) => {
        recorded.push(u);
      },
    };
    await diagnoseWithLlm({ candidates: [chargeCandidate()], files: [chargeFile()], config: testConfig(), offline: offlineStub, budget });
    expect(api.isDone()).toBe(true);
    expect(reserved).toHaveLength(1);
    expect(reserved[0]).toBeGreaterThan(4096);
    expect(recorded).toEqual([{ inputTokens: 4200, outputTokens: 800, cachedTokens: 3000, cacheWriteTokens: 0, requests: 1 }]);
  });
});
