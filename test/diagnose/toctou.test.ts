/**
 * The toctou diagnosis end to end: the detectors on real diffs, then the offline text. The duplicate-charge example
 * must read like the worked diagnosis it comes from (a dedup window is toctou, not phantom_read; the per-call key is
 * part of the same finding), and a per-call key on its own gets the retry story, never a table made of a variable.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import checkThenInsert from '../../src/detectors/check-then-insert.js';
import nondeterministicKey from '../../src/detectors/nondeterministic-idempotency-key.js';
import rangeCheckThenInsert from '../../src/detectors/range-check-then-insert.js';
import { review } from '../../src/engine/review.js';
import type { Finding } from '../../src/types.js';
import { newFilesDiff } from '../detectors/tester.js';

const root = path.resolve(import.meta.dirname, '../..');
const example = readFileSync(path.join(root, 'examples/duplicate-charge.diff'), 'utf8');
const fixed = readFileSync(path.join(root, 'examples/duplicate-charge-fixed.diff'), 'utf8');

function allText(f: Finding): string {
  return [f.title, f.explanation, ...f.interleaving, f.missingTest, f.fix, ...f.whatNotToDo].join('\n');
}

describe('the duplicate-charge example', () => {
  it('is exactly one toctou finding on the SELECT through the INSERT, high severity', async () => {
    const out = await review(example);
    expect(out.findings).toHaveLength(1);
    const f = out.findings[0]!;
    expect(f).toMatchObject({ file: 'src/api/charge.ts', failureMode: 'toctou', severity: 'high' });
    expect(f.line).toBeGreaterThanOrEqual(8);
    expect(f.endLine).toBeLessThanOrEqual(23);
    expect(f.line).toBeLessThanOrEqual(9);
    expect(f.endLine).toBeGreaterThanOrEqual(20);
  });

  it('range-check-then-insert leaves the recency window alone; the key detector leaves the folded key alone', async () => {
    expect((await review(example, { detectors: [rangeCheckThenInsert] })).candidates).toEqual([]);
    expect((await review(example, { detectors: [nondeterministicKey] })).candidates).toEqual([]);
  });

  it('check-then-insert carries the real identifiers: table, key columns, calls, window, key', async () => {
    const [c] = (await review(example, { detectors: [checkThenInsert] })).candidates;
    expect(c).toBeDefined();
    expect(c!.facts).toMatchObject({
      table: 'charges',
      keyColumns: 'user_id, product_id',
      externalCall: 'stripe.paymentIntents.create',
      window: '5 minutes',
      orm: 'pg',
      idempotencyKey: '`${userId}-${productId}-${Date.now()}`',
    });
    expect(c!.facts.checkCall).toBeTruthy();
    expect(c!.facts.actCall).toBeTruthy();
    expect(c!.evidence.map((e) => [e.line, e.role])).toEqual([
      [5, 'key'],
      [9, 'check'],
      [17, 'act'],
      [21, 'act'],
    ]);
  });

  it('reads like the worked diagnosis: dedup check, both pass, different Stripe keys, both insert', async () => {
    const f = (await review(example)).findings[0]!;
    expect(f.explanation).toMatch(/dedup check/);
    expect(f.explanation).toMatch(/Not phantom_read: `created_at > NOW\(\) - INTERVAL '5 minutes'` is a recency window/);
    expect(f.explanation).toContain('Date.now()');
    const steps = f.interleaving.join('\n');
    expect(f.interleaving[0]).toMatch(/^T0 request A \(line 9\): SELECT … FROM charges .*5 minutes/);
    expect(f.interleaving[1]).toMatch(/^T1 request B \(line 9\): .*both pass the check/);
    expect(steps).toMatch(/request A \(line 17\): stripe\.paymentIntents\.create with idempotency key/);
    expect(steps).toMatch(/request B \(line 17\): stripe\.paymentIntents\.create with a different key \(Date\.now\(\)/);
    expect(steps).toMatch(/request A \(line 21\): INSERT INTO charges/);
    expect(steps).toMatch(/request B \(line 21\): INSERT INTO charges succeeds too/);
    expect(f.interleaving[f.interleaving.length - 1]).toMatch(/^Result: two charges through stripe\.paymentIntents\.create and two charges rows/);
  });

  it('fixes it with a deterministic key, a unique index and insert-then-charge with the same key', async () => {
    const f = (await review(example)).findings[0]!;
    expect(f.fix).toMatch(/CREATE UNIQUE INDEX \w* ?\w+ ON charges \(idempotency_key\)/);
    expect(f.fix).toContain('const idempotencyKey = `${userId}:${productId}:${requestId}`;');
    expect(f.fix).toContain('ON CONFLICT (idempotency_key) DO NOTHING RETURNING id');
    expect(f.fix).toContain('await stripe.paymentIntents.create({ /* … */ }, { idempotencyKey })');
    expect(f.fix.indexOf('ON CONFLICT')).toBeLessThan(f.fix.indexOf('stripe.paymentIntents.create({'));
  });

  it('says what not to do: widen the window, Redis lock, FOR UPDATE, retry on the violation, server-side key', async () => {
    const f = (await review(example)).findings[0]!;
    const dont = f.whatNotToDo.join('\n');
    expect(dont).toMatch(/widen the 5 minutes window/);
    expect(dont).toMatch(/Redis/);
    expect(dont).toMatch(/SELECT … FOR UPDATE/);
    expect(dont).toMatch(/retry on the unique violation/);
    expect(dont).toMatch(/generate the idempotency key on the server per call/);
  });

  it('writes the vitest test: 10 concurrent chargeCustomer calls, one charges row, one Stripe call', async () => {
    const t = (await review(example)).findings[0]!.missingTest;
    expect(t).toContain("from 'vitest'");
    expect(t).toContain('Promise.all');
    expect(t).toContain('Array.from({ length: 10 }');
    expect(t).toContain('chargeCustomer(userId, amount, productId)');
    expect(t).toContain("vi.spyOn(stripe.paymentIntents, 'create')");
    expect(t).toContain('SELECT count(*) FROM charges WHERE user_id = $1 AND product_id = $2');
    expect(t).toContain('expect(externalCall).toHaveBeenCalledTimes(1);');
  });

  it('the fixed twin is quiet', async () => {
    expect((await review(fixed)).findings).toEqual([]);
  });
});

describe('a per-call key on its own (nondeterministic-key)', () => {
  const stripeDiff = newFilesDiff([
    {
      path: 'src/payments/charge.ts',
      code: `import { stripe } from './stripe';
export async function charge(orderId: string, amount: number, customer: string) {
  const idempotencyKey = \`order-\${orderId}-\${Date.now()}\`;
  return stripe.paymentIntents.create({ amount, currency: 'eur', customer }, { idempotencyKey });
}`,
    },
  ]);

  it('spans the key and the call, with the call and the key expression as facts', async () => {
    const out = await review(stripeDiff);
    expect(out.candidates).toHaveLength(1);
    const c = out.candidates[0]!;
    expect(c).toMatchObject({ detector: 'nondeterministic-idempotency-key', line: 3, endLine: 4, entity: 'stripe.paymentIntents.create' });
    expect(c.facts).toMatchObject({ pattern: 'nondeterministic-key', idempotencyKey: '`order-${orderId}-${Date.now()}`', externalCall: 'stripe.paymentIntents.create' });
    expect(c.facts.keyColumns).toBeUndefined();
  });

  it('tells the retry story and fixes it with a stable request id, naming no variable as a table', async () => {
    const f = (await review(stripeDiff)).findings[0]!;
    const text = allText(f);
    expect(f.explanation).toMatch(/retry of the same action sends the same key/);
    expect(f.interleaving.join('\n')).toMatch(/times out/);
    expect(f.interleaving.join('\n')).toMatch(/different key/);
    expect(f.fix).toContain('const idempotencyKey = `order-${orderId}-${requestId}`;');
    expect(f.fix).toContain('{ idempotencyKey }');
    expect(f.missingTest).toContain('new Set(keys).size).toBe(1)');
    expect(f.whatNotToDo.length).toBeGreaterThanOrEqual(3);
    // None of the check-then-act phrasing, and no table made of an identifier.
    expect(text).not.toMatch(/→ nothing found|the check passes|ALTER TABLE|INSERT INTO idempotencyKey|FROM idempotencyKey|mocks of stripe/);
    expect(text).not.toMatch(/\bundefined\b/);
  });

  it('a BullMQ jobId from Date.now() gets a stable job id and an idempotent worker', async () => {
    const diff = newFilesDiff([
      {
        path: 'src/queues/welcome.ts',
        code: `import { emails } from './queues';
export async function queueWelcome(userId: string) {
  await emails.add('welcome', { userId }, { jobId: \`welcome-\${userId}-\${Date.now()}\` });
}`,
      },
    ]);
    const f = (await review(diff)).findings[0]!;
    expect(f.failureMode).toBe('toctou');
    expect(f.fix).toContain('const jobId = `welcome-${userId}`;');
    expect(f.fix).toContain('ON CONFLICT (job_id) DO NOTHING');
    expect(f.interleaving[0]).toMatch(/^T0 request A/);
  });
});

describe('a state checked on a loaded row, then written unconditionally (state-guard)', () => {
  const claimDiff = newFilesDiff([
    {
      path: 'internal/tickets/claim.go',
      code: `package tickets

import (
	"context"
	"database/sql"
	"errors"
)

var ErrTaken = errors.New("taken")

func ClaimTicket(ctx context.Context, db *sql.DB, ticketID, agentID int64) error {
	var state string
	if err := db.QueryRowContext(ctx, \`SELECT state FROM tickets WHERE id = $1\`, ticketID).Scan(&state); err != nil {
		return err
	}
	if state != "unassigned" {
		return ErrTaken
	}
	_, err := db.ExecContext(ctx, \`UPDATE tickets SET state = 'assigned', agent_id = $2 WHERE id = $1\`, ticketID, agentID)
	return err
}
`,
    },
  ]);

  it('is fixed with a conditional update and an affected-rows check, not a unique index', async () => {
    const out = await review(claimDiff);
    expect(out.findings).toHaveLength(1);
    const f = out.findings[0]!;
    expect(f.failureMode).toBe('toctou');
    expect(out.candidates[0]!.facts.pattern).toBe('state-guard');
    expect(f.fix).toMatch(/UPDATE tickets SET state = \$2 WHERE id = \$1 AND state = \$3/);
    expect(f.fix).toContain('RowsAffected()');
    expect(f.interleaving.join('\n')).toMatch(/passes for both/);
    expect(f.missingTest).toContain('want exactly 1 call through the state check');
    const text = allText(f);
    expect(text).not.toMatch(/CREATE UNIQUE INDEX|ON CONFLICT|→ nothing found/);
    expect(text).not.toMatch(/\bundefined\b/);
  });

  it('the conditional-update twin is quiet', async () => {
    const fixedDiff = newFilesDiff([
      {
        path: 'internal/tickets/claim.go',
        code: `package tickets

import (
	"context"
	"database/sql"
	"errors"
)

var ErrTaken = errors.New("taken")

func ClaimTicket(ctx context.Context, db *sql.DB, ticketID, agentID int64) error {
	res, err := db.ExecContext(ctx, \`UPDATE tickets SET state = 'assigned', agent_id = $2 WHERE id = $1 AND state = 'unassigned'\`, ticketID, agentID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrTaken
	}
	return nil
}
`,
      },
    ]);
    expect((await review(fixedDiff)).findings).toEqual([]);
  });
});
