/**
 * The installation's daily LLM budget as the worker wires it: holds before each request, settles
 * to the real use after it, gives back holds of failed requests, and never lets two reviews of one
 * installation together pass the limit.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dailyBudget } from '../../src/app/worker.js';
import { review } from '../../src/engine/review.js';
import { createLlmDiagnoser, type LlmConfig } from '../../src/llm/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { diagnosis } from '../llm/answers.js';
import { startFakeAnthropic, type FakeAnthropic } from './support/fake-anthropic.js';

const DIFF = readFileSync(resolve(import.meta.dirname, '../../examples/duplicate-charge.diff'), 'utf8');
const DAY = '2025-06-01';
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cachedTokens: 0, cacheWriteTokens: 0, requests: 1 });

let dirs: string[] = [];
let stores: Store[] = [];
let fakes: FakeAnthropic[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const s of stores.splice(0)) await s.close();
  for (const f of fakes.splice(0)) await f.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Two stores (two connections) on one SQLite file. */
async function twoStores(): Promise<[Store, Store]> {
  const dir = mkdtempSync(join(tmpdir(), 'concdbg-budget-'));
  dirs.push(dir);
  const url = `sqlite:${join(dir, 'db.sqlite')}`;
  const a = await openStore(url);
  const b = await openStore(url);
  stores.push(a, b);
  return [a, b];
}

function at(day: string, time = '12:00:00') {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(`${day}T${time}Z`));
}

describe('dailyBudget', () => {
  it('holds the reservation, then replaces it by the real input + output in the budget counter only', async () => {
    const [store] = await twoStores();
    at(DAY);
    const budget = dailyBudget(store, 1, 10_000);
    expect(await budget.reserve(9_000)).toBe(true);
    expect((await store.getUsage(1, DAY)).budgetTokens).toBe(9_000);
    await budget.record(usage(1_200, 300));
    expect(await store.getUsage(1, DAY)).toMatchObject({ budgetTokens: 1_500, inputTokens: 0, outputTokens: 0, reviews: 0 });
    // Output tokens count against the budget: 1 500 used, so 8 501 no longer fits.
    expect(await budget.reserve(8_501)).toBe(false);
    expect(await budget.reserve(8_500)).toBe(true);
  });

  it('gives back the hold of a request that failed (no record), at the next reserve and on release', async () => {
    const [store] = await twoStores();
    at(DAY);
    const budget = dailyBudget(store, 1, 10_000);
    expect(await budget.reserve(6_000)).toBe(true); // the request then fails: no record
    expect(await budget.reserve(7_000)).toBe(true); // fits only because the failed hold was given back
    expect((await store.getUsage(1, DAY)).budgetTokens).toBe(7_000);
    await budget.release();
    expect((await store.getUsage(1, DAY)).budgetTokens).toBe(0);
    await budget.release(); // nothing held: nothing changes
    expect((await store.getUsage(1, DAY)).budgetTokens).toBe(0);
  });

  it('settles on the day the hold was made when the request ends after midnight', async () => {
    const [store] = await twoStores();
    at('2025-06-01', '23:59:59');
    const budget = dailyBudget(store, 1, 10_000);
    expect(await budget.reserve(5_000)).toBe(true);
    vi.setSystemTime(new Date('2025-06-02T00:00:05Z'));
    await budget.record(usage(700, 100));
    expect((await store.getUsage(1, '2025-06-01')).budgetTokens).toBe(800);
    expect((await store.getUsage(1, '2025-06-02')).budgetTokens).toBe(0);
  });

  it('two reviews of one installation at once: only the reservation that fits is granted', async () => {
    const [a, b] = await twoStores();
    at(DAY);
    const results = await Promise.all([dailyBudget(a, 1, 10_000).reserve(6_000), dailyBudget(b, 1, 10_000).reserve(6_000)]);
    expect(results.sort()).toEqual([false, true]);
    expect((await a.getUsage(1, DAY)).budgetTokens).toBe(6_000);
    // Another installation has its own budget.
    expect(await dailyBudget(a, 2, 10_000).reserve(6_000)).toBe(true);
  });
});

describe('the LLM diagnoser with the daily budget', () => {
  const config = (url: string, dailyTokenBudget?: number): LlmConfig => ({
    apiKey: 'sk-ant-test-budget', baseURL: url, model: 'claude-sonnet-5-5', maxTokens: 4_096, inputTokenBudget: 24_000,
    minConfidence: 0.5, timeoutMs: 5_000, maxRetries: 0, maxCandidatesPerRequest: 8,
    ...(dailyTokenBudget !== undefined ? { dailyTokenBudget } : {}),
  });

  /** What one review of the example reserves for its one request (estimated input + max output). */
  async function reservationOfOneReview(store: Store, url: string): Promise<number> {
    const amounts: number[] = [];
    const recording: Pick<Store, 'reserveUsage' | 'addUsage'> = {
      reserveUsage: (id, day, counter, amount, limit) => (amounts.push(amount), store.reserveUsage(id, day, counter, amount, limit)),
      addUsage: (id, day, delta) => store.addUsage(id, day, delta),
    };
    await review(DIFF, { diagnose: createLlmDiagnoser({ config: config(url), budget: dailyBudget(recording, 999, 10_000_000) }) });
    expect(amounts).toHaveLength(1);
    return amounts[0]!;
  }

  it('two reviews of one installation at once under a budget that fits one request: one LLM review, one offline review saying why', async () => {
    const [a, b] = await twoStores();
    const fake = await startFakeAnthropic({ answer: { diagnoses: [diagnosis({ title: 'LLM-BUDGET-MARKER: both requests charge' })] } });
    fakes.push(fake);
    const held = await reservationOfOneReview(a, fake.url);
    fake.bodies.length = 0;
    // A request really uses as much as it held, so after it settles the second still does not fit.
    fake.reply.usage = { input_tokens: held - 1_000, output_tokens: 1_000 };
    const limit = held + Math.floor(held / 2);
    const run = (store: Store) =>
      review(DIFF, { diagnose: createLlmDiagnoser({ config: config(fake.url, limit), budget: dailyBudget(store, 1, limit) }) });
    const outs = await Promise.all([run(a), run(b)]);

    expect(fake.bodies).toHaveLength(1);
    const llm = outs.filter((o) => o.findings.some((f) => f.source === 'llm'));
    const offline = outs.filter((o) => o.findings.every((f) => f.source === 'heuristic'));
    expect(llm).toHaveLength(1);
    expect(offline).toHaveLength(1);
    expect(llm[0]!.findings.find((f) => f.source === 'llm')!.title).toContain('LLM-BUDGET-MARKER');
    expect(offline[0]!.notes.join('\n')).toMatch(/daily LLM budget is spent/);
    expect(offline[0]!.stats.llmInputTokens).toBe(0);
    const day = new Date().toISOString().slice(0, 10);
    const u = await a.getUsage(1, day);
    expect(u.budgetTokens).toBe(held); // the one request's real use, no hold left behind
    expect(u.budgetTokens).toBeLessThanOrEqual(limit);
    expect(u.inputTokens).toBe(0); // reporting counters are the review job's, added once
  });
});
