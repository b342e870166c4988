/** Builders for the model's structured answers. */
import type { Diagnosis } from '../../src/llm/schema.js';

export function diagnosis(over: Partial<Diagnosis> = {}): Diagnosis {
  return {
    candidate: 0,
    verdict: 'hazard',
    file: 'src/api/charge.ts',
    line: 7,
    endLine: 22,
    failureMode: 'toctou',
    severity: 'high',
    confidence: 0.92,
    title: 'Dedup SELECT on charges races the INSERT: two requests both charge',
    whyThisMode: 'A read (line 7) decides whether to act (Stripe charge, line 15; INSERT, line 19); another request acts in between.',
    whyNotOtherModes: [
      { mode: 'lost_update', reason: 'nothing read is written back' },
      { mode: 'phantom_read', reason: 'the check is on a key (user, product), the fix is a unique key' },
    ],
    interleaving: ['1. request A: SELECT charges (line 7) -> 0 rows', '2. request B: SELECT charges (line 7) -> 0 rows', '3. both charge Stripe (line 15) with different keys'],
    evidence: [
      { line: 7, role: 'check', note: 'dedup SELECT' },
      { line: 6, role: 'key', note: 'Date.now() in the idempotency key' },
      { line: 19, role: 'act', note: 'INSERT after the charge' },
    ],
    missingTest: 'it("charges once", async () => { await Promise.all([charge(), charge()]); expect(stripe.create).toHaveBeenCalledTimes(1); })',
    fix: 'Unique index on charges(idempotency_key); insert a pending row first, then charge Stripe with the same deterministic key.',
    whatNotToDo: ['Do not widen the dedup window', 'Do not add a Redis lock'],
    ...over,
  };
}
