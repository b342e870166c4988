import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diagnoseWithLlm } from '../../src/llm/diagnose.js';
import { FakeAnthropic, testConfig } from './anthropic-fake.js';
import { diagnosis } from './answers.js';
import { chargeCandidate, chargeFile, offlineStub } from './helpers.js';

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const run = (config = testConfig(), extra: Partial<Parameters<typeof diagnoseWithLlm>[0]> = {}) =>
  diagnoseWithLlm({ candidates: [chargeCandidate()], files: [chargeFile()], config, offline: offlineStub, ...extra });

describe('diagnoseWithLlm: faults end in the offline diagnosis', () => {
  it('a refusal falls back offline', async () => {
    const api = new FakeAnthropic().refuses();
    const result = await run();
    expect(api.isDone()).toBe(true);
    expect(result.notes).toEqual(['offline-error: refusal']);
    expect(result.findings).toEqual([expect.objectContaining({ source: 'heuristic', origin: 'offline', severity: 'high' })]);
    expect(result.requests[0]!.outcome).toBe('refusal');
    expect(result.usage.requests).toBe(1);
  });

  it('malformed JSON gets one repair with the validation error, then succeeds', async () => {
    const api = new FakeAnthropic().answers('{"diagnoses": [{"candidate": 0, "verdict": "haz').answers({ diagnoses: [diagnosis()] });
    const result = await run();
    expect(api.isDone()).toBe(true);
    expect(api.bodies).toHaveLength(2);
    const repair = api.bodies[1]!.messages;
    expect(repair.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(repair[0]!.content).toBe(api.bodies[0]!.messages[0]!.content);
    expect(repair[1]!.content).toBe('{"diagnoses": [{"candidate": 0, "verdict": "haz');
    expect(repair[2]!.content).toMatch(/does not match the required schema: not valid JSON/);
    expect(result.notes).toEqual(['llm']);
    expect(result.requests[0]!.outcome).toBe('repaired');
    expect(result.usage.requests).toBe(2);
  });

  it('a schema violation (missing field) is repaired too', async () => {
    const { fix: _omit, ...noFix } = diagnosis();
    const api = new FakeAnthropic().answers({ diagnoses: [noFix] }).answers({ diagnoses: [diagnosis()] });
    const result = await run();
    expect(api.isDone()).toBe(true);
    expect(api.bodies[1]!.messages[2]!.content).toContain('diagnoses.0.fix');
    expect(result.notes).toEqual(['llm']);
  });

  it('malformed twice: offline after the one repair', async () => {
    const api = new FakeAnthropic().answers('not json at all').answers('{"diagnoses": "still wrong"}');
    const result = await run();
    expect(api.isDone()).toBe(true);
    expect(api.bodies).toHaveLength(2);
    expect(result.notes).toEqual(['offline-error: malformed output after one repair']);
    expect(result.findings[0]!.source).toBe('heuristic');
  });

  it('529 then success: the SDK retries', async () => {
    const api = new FakeAnthropic().overloaded(1).answers({ diagnoses: [diagnosis()] });
    const result = await run();
    expect(api.isDone()).toBe(true);
    expect(api.bodies).toHaveLength(2);
    expect(result.notes).toEqual(['llm']);
  });

  it('529 on every attempt: retries exhausted, offline with a note', async () => {
    const api = new FakeAnthropic().overloaded(3);
    const result = await run(testConfig({ maxRetries: 2 }));
    expect(api.isDone()).toBe(true);
    expect(api.bodies).toHaveLength(3);
    expect(result.notes).toEqual(['offline-error: api 529 overloaded']);
    expect(result.findings[0]!.source).toBe('heuristic');
    expect(result.requests[0]).toMatchObject({ outcome: 'error', reason: 'api 529 overloaded' });
  });

  it('429 on every attempt: offline with a rate-limit note', async () => {
    const api = new FakeAnthropic().rateLimited(2);
    const result = await run(testConfig({ maxRetries: 1 }));
    expect(api.isDone()).toBe(true);
    expect(result.notes).toEqual(['offline-error: api 429 rate limited']);
  });

  it('a timeout (after the retry) falls back offline', async () => {
    const api = new FakeAnthropic().hangs(2_000, 2);
    const result = await run(testConfig({ timeoutMs: 150, maxRetries: 1 }));
    expect(api.bodies).toHaveLength(2);
    expect(result.notes).toEqual(['offline-error: timeout']);
    expect(result.findings[0]!.source).toBe('heuristic');
  });

  it('the daily budget spent: nothing is sent, offline with a note', async () => {
    const api = new FakeAnthropic();
    const result = await run(testConfig(), {
      budget: { reserve: async () => false, record: async () => undefined },
    });
    expect(api.bodies).toHaveLength(0);
    expect(result.notes).toEqual(['offline-budget: daily']);
    expect(result.requests[0]!.outcome).toBe('daily-budget');
  });

  it('logs the fallback without any code or secret', async () => {
    new FakeAnthropic().refuses();
    const lines: string[] = [];
    await run(testConfig(), { log: { info: (m) => lines.push(m), warn: (m) => lines.push(m) } });
    expect(lines.join('\n')).toContain('diagnosed offline (offline-error: refusal)');
    expect(lines.join('\n')).not.toMatch(/hunter2|chargeCustomer|sk-ant-test/);
  });
});
