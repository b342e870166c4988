import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLlmDiagnoser, formatDryRun } from '../../src/llm/adapter.js';
import { dryRun } from '../../src/llm/diagnose.js';
import { FakeAnthropic, testConfig } from './anthropic-fake.js';
import { diagnosis } from './answers.js';
import { chargeCandidate, chargeFile } from './helpers.js';

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('createLlmDiagnoser (the engine-facing diagnoser)', () => {
  it('returns findings, usage and one human note per candidate, with the real offline fallback', async () => {
    const api = new FakeAnthropic().answers({ diagnoses: [diagnosis()] });
    // Room for the first request only: the second (one candidate per request) would pay the static prompt again.
    const first = dryRun({ candidates: [chargeCandidate()], files: [chargeFile()] }).estimatedInputTokens;
    const diagnose = createLlmDiagnoser({ config: testConfig({ maxCandidatesPerRequest: 1, inputTokenBudget: first + 100 }) });
    const over = chargeCandidate({ line: 15, endLine: 18, severity: 'low', confidence: 0.5, failureMode: 'async_ordering', variant: 'async' });
    const out = await diagnose({ candidates: [chargeCandidate(), over], files: [chargeFile()] });
    expect(api.isDone()).toBe(true);
    expect(out.findings.map((f) => [f.candidateIndex, f.source, f.failureMode])).toEqual([
      [0, 'llm', 'toctou'],
      [1, 'heuristic', 'async_ordering'],
    ]);
    expect(out.findings[0]).not.toHaveProperty('origin');
    // The offline text is the real offline diagnosis, not empty.
    expect(out.findings[1]!.explanation.length).toBeGreaterThan(20);
    expect(out.usage).toEqual({ inputTokens: 4200, outputTokens: 800, cachedTokens: 3000 });
    expect(out.notes).toEqual([
      'src/api/charge.ts:7 toctou: diagnosed by the LLM',
      'src/api/charge.ts:15 async_ordering: detector diagnosis: over the per-review LLM input budget',
      'LLM claude-sonnet-5-5: 1 request(s), 4200 input tokens (3000 from cache), 800 output tokens',
    ]);
  });
});

describe('formatDryRun', () => {
  it('prints the variant, regions, estimate and the exact body', () => {
    const text = formatDryRun(dryRun({ candidates: [chargeCandidate()], files: [chargeFile()], nonce: () => 'abc' }));
    expect(text).toContain('request 1: variant database, candidates 0');
    expect(text).toContain('src/api/charge.ts:5-22 (candidates 0, 1 secret line(s) redacted)');
    expect(text).toContain('"cache_control"');
    expect(text).toContain('<untrusted_abc>');
    expect(text).not.toContain('hunter2secret');
  });
});
