import { describe, expect, it } from 'vitest';
import { actorsOf, calleeOf, signatureOf, sqlSummary, testFrameworkOf } from '../../src/diagnose/common.js';
import type { Candidate } from '../../src/types.js';

function cand(p: Partial<Candidate>): Candidate {
  return {
    detector: 'x',
    failureMode: 'toctou',
    file: 'src/a.ts',
    language: 'typescript',
    line: 5,
    endLine: 9,
    severity: 'high',
    confidence: 0.9,
    title: 't',
    entity: 'orders',
    evidence: [],
    facts: {},
    variant: 'database',
    ...p,
  };
}

describe('calleeOf', () => {
  it.each([
    ['const x = await prisma.user.findFirst({ where })', 'prisma.user.findFirst'],
    ['if CouponRedemption.objects.filter(coupon=c).exists():', 'CouponRedemption.objects.filter(…).exists'],
    ["const [{ n }] = await trx('leave_requests')", "trx('leave_requests')"],
    ["await trx('products').where({ sku }).forUpdate().first('id')", "trx('products')….first"],
    ['return if Follow.exists?(follower_id: 1)', 'Follow.exists?'],
    ['next false if current_store.pickup_locations.active.count <= 1', 'current_store.pickup_locations.active.count'],
    ['await repo?.save(feedback)', 'repo.save'],
  ])('%s → %s', (text, want) => {
    expect(calleeOf(text)).toBe(want);
  });
});

describe('sqlSummary', () => {
  it.each([
    ["db.query('SELECT id FROM charges WHERE user_id = $1')", 'SELECT … FROM charges'],
    ['`SELECT EXISTS (SELECT 1 FROM reservations WHERE vehicle_id = $1)`', 'SELECT EXISTS (… FROM reservations …)'],
    ['INSERT INTO reservations (vehicle_id) VALUES ($1)', 'INSERT INTO reservations'],
    ['`UPDATE posts SET reaction_count = $1 WHERE id = $2`', 'UPDATE posts SET reaction_count'],
    ['const x = 1', undefined],
  ])('%s', (text, want) => {
    expect(sqlSummary(text)).toBe(want);
  });
});

describe('signatureOf', () => {
  it('reads Go grouped parameters, types and the receiver', () => {
    const c = cand({ language: 'go', functionName: 'AddReaction', line: 3 });
    const s = signatureOf(c, ['', 'func (s *Store) AddReaction(ctx context.Context, postID, userID int64, kind string) (int, error) {', '']);
    expect(s.params).toEqual(['ctx', 'postID', 'userID', 'kind']);
    expect(s.types).toMatchObject({ postID: 'int64', userID: 'int64', kind: 'string' });
    expect(s.owner).toBe('Store');
  });

  it('reads TypeScript params without types/defaults and notices async', () => {
    const c = cand({ functionName: 'chargeCustomer', line: 2 });
    const s = signatureOf(c, ['export async function chargeCustomer(userId: string, amount = 1, opts?: { a: number }) {']);
    expect(s.params).toEqual(['userId', 'amount', 'opts']);
    expect(s.async).toBe(true);
  });

  it('reads Python params without self and type hints, and async def', () => {
    const c = cand({ language: 'python', functionName: 'RoomBroadcaster.broadcast', line: 2 });
    const s = signatureOf(c, ['    async def broadcast(self, room: str, message: dict) -> None:']);
    expect(s.params).toEqual(['room', 'message']);
    expect(s.async).toBe(true);
    expect(s.owner).toBe('RoomBroadcaster');
  });

  it('detects CommonJS files and falls back to no params without file text', () => {
    const c = cand({ language: 'javascript', functionName: 'purchaseTickets', line: 3 });
    expect(signatureOf(c, ["const { Event } = require('../models');", '', 'async function purchaseTickets(eventId, quantity) {']).commonjs).toBe(true);
    const bare = signatureOf(c);
    expect(bare.params).toEqual([]);
    expect(bare.found).toBe(false);
  });
});

describe('actors and frameworks', () => {
  it('names actors per variant and language', () => {
    expect(actorsOf(cand({ variant: 'database' })).a).toBe('request A');
    expect(actorsOf(cand({ variant: 'queue' })).b).toBe('worker B');
    expect(actorsOf(cand({ variant: 'async', language: 'python' })).a).toBe('coroutine A');
    expect(actorsOf(cand({ variant: 'async', language: 'go' })).a).toBe('goroutine A');
    expect(actorsOf(cand({ variant: 'database', failureMode: 'deadlock' })).a).toBe('transaction A');
    expect(actorsOf(cand({ facts: { actor: 'delivery' } })).b).toBe('delivery 2');
  });

  it('picks the test framework from the language and the jest hint', () => {
    expect(testFrameworkOf(cand({}))).toBe('vitest');
    expect(testFrameworkOf(cand({ facts: { testFramework: 'jest' } }))).toBe('jest');
    expect(testFrameworkOf(cand({ language: 'python' }))).toBe('pytest');
    expect(testFrameworkOf(cand({ language: 'ruby' }))).toBe('rspec');
    expect(testFrameworkOf(cand({ language: 'go' }))).toBe('go');
  });
});
