/**
 * The deadlock diagnosis for a transaction that waits on itself: one request, its row lock, and a write to the same
 * row through the pool. The text must not tell the two-path story (opposite order, 40P01 detected).
 */
import { describe, expect, it } from 'vitest';
import { review } from '../../src/engine/review.js';
import { newFilesDiff } from '../detectors/tester.js';

const selfWait = newFilesDiff([
  {
    path: 'src/shipments/close.ts',
    code: `import { pool } from '../db';

async function logEvent(shipmentId: string, kind: string) {
  await pool.query('UPDATE shipments SET last_event = $2 WHERE id = $1', [shipmentId, kind]);
}

export async function closeShipment(shipmentId: string) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query('SELECT status FROM shipments WHERE id = $1 FOR UPDATE', [shipmentId]);
    if (rows[0]?.status !== 'delivered') throw new Error('not delivered');
    await client.query("UPDATE shipments SET status = 'closed' WHERE id = $1", [shipmentId]);
    await logEvent(shipmentId, 'closed');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}
`,
  },
]);

describe('a transaction that writes its own locked row through the pool', () => {
  it('is one deadlock finding told as a wait on itself, fixed by passing the transaction client', async () => {
    const out = await review(selfWait);
    const f = out.findings.find((x) => x.failureMode === 'deadlock');
    expect(f).toBeDefined();
    expect(out.candidates.find((c) => c.failureMode === 'deadlock')!.facts.pattern).toBe('self-wait');
    expect(f!.explanation).toMatch(/waits on itself/);
    expect(f!.explanation).toMatch(/no deadlock is detected/);
    expect(f!.interleaving.join('\n')).toMatch(/no 40P01/);
    expect(f!.fix).toMatch(/pass `client`/);
    expect([f!.explanation, ...f!.interleaving].join('\n')).not.toMatch(/opposite order|aborted by PostgreSQL/);
  });

  it('is quiet when the helper is given the transaction client', async () => {
    const fixed = selfWait.replace('async function logEvent(shipmentId: string, kind: string) {', 'async function logEvent(db: { query: typeof pool.query }, shipmentId: string, kind: string) {')
      .replace("await pool.query('UPDATE shipments SET last_event", "await db.query('UPDATE shipments SET last_event")
      .replace("await logEvent(shipmentId, 'closed');", "await logEvent(client, shipmentId, 'closed');");
    expect(fixed).not.toBe(selfWait);
    expect((await review(fixed)).findings.filter((x) => x.failureMode === 'deadlock')).toEqual([]);
  });
});
