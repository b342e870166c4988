import { describe, expect, it } from 'vitest';
import { review } from '../../src/engine/review.js';
import detector from '../../src/detectors/lock-order-inversion.js';
import { runTable } from './tester.js';

const goTransfer = (order: 'ab' | 'ba') => `package ledger

import "sync"

type Ledger struct {
	mu      sync.Mutex
	journal *Journal
}

type Journal struct {
	mu      sync.Mutex
	entries []string
}

func (l *Ledger) Post(entry string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.journal.mu.Lock()
	l.journal.entries = append(l.journal.entries, entry)
	l.journal.mu.Unlock()
}

func (j *Journal) Compact(l *Ledger) {
${order === 'ba' ? '\tj.mu.Lock()\n\tdefer j.mu.Unlock()\n\tl.mu.Lock()\n\tj.entries = j.entries[:0]\n\tl.mu.Unlock()' : '\tl.mu.Lock()\n\tdefer l.mu.Unlock()\n\tj.mu.Lock()\n\tj.entries = j.entries[:0]\n\tj.mu.Unlock()'}
}
`;

const pyCache = (reverse: boolean) => `import threading


class Catalog:
    def __init__(self):
        self._items_lock = threading.Lock()
        self._index_lock = threading.Lock()

    def add(self, item):
        with self._items_lock:
            with self._index_lock:
                self._index[item.key] = item

    def rebuild(self):
        with ${reverse ? 'self._index_lock' : 'self._items_lock'}:
            with ${reverse ? 'self._items_lock' : 'self._index_lock'}:
                self._index = {}
`;

// A lock held across a call into a helper that takes another lock (Go, Python, async-mutex, Ruby Monitor).
const goHub = (fixed: boolean) => `package chat

import "sync"

type Hub struct {
	mu    sync.Mutex
	rooms map[string]*Room
	sent  int
}

type Room struct {
	mu      sync.Mutex
	hub     *Hub
	history []string
}

func (h *Hub) Sizes() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.rooms))
	for id, r := range h.rooms {
		r.mu.Lock()
		out[id] = len(r.history)
		r.mu.Unlock()
	}
	return out
}

func (r *Room) Post(msg string) {
	r.mu.Lock()
${fixed ? '\tr.history = append(r.history, msg)\n\tr.mu.Unlock()\n\tr.hub.countSent()' : '\tdefer r.mu.Unlock()\n\tr.history = append(r.history, msg)\n\tr.hub.countSent()'}
}

func (h *Hub) countSent() {
	h.mu.Lock()
	h.sent++
	h.mu.Unlock()
}
`;

const pyInventory = (fixed: boolean) => `import threading


class Inventory:
    def __init__(self, audit):
        self._lock = threading.Lock()
        self.audit = audit
        self._stock = {}

    def reserve(self, sku, qty):
        with self._lock:
            self._stock[sku] -= qty
${fixed ? '        self.audit.append_entry(sku, -qty)' : '            self.audit.append_entry(sku, -qty)'}


class Audit:
    def __init__(self, inventory):
        self._lock = threading.Lock()
        self.entries = []
        self.inventory = inventory

    def append_entry(self, sku, delta):
        with self._lock:
            self.entries.append((sku, delta))

    def reconcile(self):
        with self._lock:
            with self.inventory._lock:
                self.entries = [e for e in self.entries if e[0] in self.inventory._stock]
`;

const tsWallet = (fixed: boolean) => `import { Mutex } from 'async-mutex';

export class Wallet {
  readonly mutex = new Mutex();
  balance = 0;
  constructor(readonly id: string, private readonly ledger: Ledger) {}

  async debit(cents: number) {
    await this.mutex.runExclusive(async () => {
      this.balance -= cents;
    });
    await this.ledger.record(this.id, -cents);
  }

  async refund(cents: number) {
    await this.mutex.runExclusive(async () => {
      this.balance += cents;
${fixed ? '    });\n    await this.ledger.record(this.id, cents);' : '      await this.ledger.record(this.id, cents);\n    });'}
  }
}

export class Ledger {
  private readonly mutex = new Mutex();
  private rows: Array<{ id: string; delta: number }> = [];
  wallets = new Map<string, Wallet>();

  async record(id: string, delta: number) {
    await this.mutex.runExclusive(async () => {
      this.rows.push({ id, delta });
    });
  }

  async closeDay() {
    const release = await this.mutex.acquire();
    try {
      for (const wallet of this.wallets.values()) {
        await wallet.mutex.runExclusive(async () => {
          wallet.balance = 0;
        });
      }
    } finally {
      release();
    }
  }
}
`;

const rbTiles = (fixed: boolean) => `class TileCache
  def initialize
    @index_lock = Mutex.new
    @store_lock = Mutex.new
    @store = {}
    @index = []
  end

  def put(key, tile)
    @store_lock.synchronize do
      @store[key] = tile
${fixed ? '    end\n    reindex(key)' : '      reindex(key)\n    end'}
  end

  def reindex(key)
    @index_lock.synchronize { @index << key }
  end

  def compact
    @index_lock.synchronize do
      @store_lock.synchronize do
        @index.select! { |k| @store.key?(k) }
      end
    end
  end
end
`;

const railsShipment = (fixed: boolean) => `class ShipmentService
  def initialize(order)
    @order = order
  end

  # Splitting a shipment moves items between two parcels of the order.
  def reroute!
    parcel = @order.parcel
    Order.transaction do
${fixed ? '      @order.lock!\n      parcel.lock!' : '      parcel.lock!\n      @order.lock!'}
      parcel.update!(carrier: "ground")
      @order.update!(shipping_state: "rerouted")
    end
  end
end
`;

const railsOrder = {
  path: 'app/models/order.rb',
  code: `class Order < ApplicationRecord
  has_one :parcel

  def cancel!
    with_lock do
      parcel.lock!
      parcel.update!(state: "void")
      update!(state: "cancelled")
    end
  end
end
`,
};

const pgTransfer = (fixed: boolean) => `import { pool } from '../db/pool';

export async function closeProject(projectId: string, actorId: string) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query('SELECT id, state FROM projects WHERE id = $1 FOR UPDATE', [projectId]);
    if (rows[0].state === 'closed') return;
    await client.query("UPDATE projects SET state = 'closed' WHERE id = $1", [projectId]);
${fixed ? "    await client.query('UPDATE projects SET closed_by = $2 WHERE id = $1', [projectId, actorId]);\n    await client.query('COMMIT');" : "    await pool.query('UPDATE projects SET closed_by = $2 WHERE id = $1', [projectId, actorId]);\n    await client.query('COMMIT');"}
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}
`;

const auditHelper = {
  path: 'src/billing/audit.ts',
  code: `import { db } from '../db';

export async function touchInvoice(invoiceId: string, who: string) {
  await db.query('UPDATE invoices SET touched_at = now(), touched_by = $2 WHERE id = $1', [invoiceId, who]);
}

export async function touchInvoiceWith(conn: { query: Function }, invoiceId: string, who: string) {
  await conn.query('UPDATE invoices SET touched_at = now(), touched_by = $2 WHERE id = $1', [invoiceId, who]);
}
`,
};

const voidInvoice = (variant: 'bug' | 'client' | 'after') => `import { db } from '../db';
import { touchInvoice, touchInvoiceWith } from './audit';

export async function voidInvoice(invoiceId: string, who: string) {
  await db.transaction(async (trx) => {
    const inv = await trx('invoices').where({ id: invoiceId }).forUpdate().first();
    if (inv.status !== 'open') throw new Error('not open');
    await trx('invoices').where({ id: invoiceId }).update({ status: 'void' });
${variant === 'bug' ? '    await touchInvoice(invoiceId, who);\n' : variant === 'client' ? '    await touchInvoiceWith(trx, invoiceId, who);\n' : ''}  });
${variant === 'after' ? '  await touchInvoice(invoiceId, who);\n' : ''}}
`;

const goAccounts = (fixed: boolean) => `package accounts

import (
	"context"
	"database/sql"
)

type Store struct {
	db *sql.DB
}

func (s *Store) Freeze(ctx context.Context, accountID string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var state string
	if err := tx.QueryRowContext(ctx, \`SELECT state FROM accounts WHERE id = $1 FOR UPDATE\`, accountID).Scan(&state); err != nil {
		return err
	}
	if _, err := ${fixed ? 'tx' : 's.db'}.ExecContext(ctx, \`UPDATE accounts SET state = 'frozen' WHERE id = $1\`, accountID); err != nil {
		return err
	}
	return tx.Commit()
}
`;

const djangoPair = (fixed: boolean) => `from django.db import transaction

from .models import Warehouse, Bin


def move_bin(warehouse_id, bin_id):
    with transaction.atomic():
        warehouse = Warehouse.objects.select_for_update().get(pk=warehouse_id)
        bin = Bin.objects.select_for_update().get(pk=bin_id)
        bin.warehouse = warehouse
        bin.save()


def retire_bin(warehouse_id, bin_id):
    with transaction.atomic():
${fixed ? '        warehouse = Warehouse.objects.select_for_update().get(pk=warehouse_id)\n        bin = Bin.objects.select_for_update().get(pk=bin_id)' : '        bin = Bin.objects.select_for_update().get(pk=bin_id)\n        warehouse = Warehouse.objects.select_for_update().get(pk=warehouse_id)'}
        warehouse.capacity += 1
        warehouse.save()
        bin.delete()
`;

const pgPair = (fixed: boolean) => `import { pool } from '../db';

export async function renameTeam(teamId: string, memberId: string, name: string) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM teams WHERE id = $1 FOR UPDATE', [teamId]);
    await client.query('SELECT 1 FROM members WHERE id = $1 FOR UPDATE', [memberId]);
    await client.query('UPDATE teams SET name = $2 WHERE id = $1', [teamId, name]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

export async function leaveTeam(teamId: string, memberId: string) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
${fixed ? "    await client.query('SELECT 1 FROM teams WHERE id = $1 FOR UPDATE', [teamId]);\n    await client.query('SELECT 1 FROM members WHERE id = $1 FOR UPDATE', [memberId]);" : "    await client.query('SELECT 1 FROM members WHERE id = $1 FOR UPDATE', [memberId]);\n    await client.query('SELECT 1 FROM teams WHERE id = $1 FOR UPDATE', [teamId]);"}
    await client.query('UPDATE teams SET size = size - 1 WHERE id = $1', [teamId]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
`;

const railsLedger = (fixed: boolean) => `class LedgerPosting
  def post(account_id, ledger_id, cents)
    ActiveRecord::Base.transaction do
      account = Account.lock.find(account_id)
      ledger = Ledger.lock.find_by!(id: ledger_id)
      ledger.update!(total_cents: ledger.total_cents + cents)
      account.update!(balance_cents: account.balance_cents - cents)
    end
  end

  def close_ledger(account_id, ledger_id)
${fixed ? '    Account.find(account_id).with_lock do\n      Ledger.lock.find(ledger_id).update!(closed: true)' : '    Ledger.find(ledger_id).with_lock do\n      Account.lock.find(account_id).update!(ledger_closed: true)'}
    end
  end
end
`;

const sequelizePair = (fixed: boolean) => `import { sequelize, Coupon, Campaign } from '../models';

export async function redeemCoupon(couponId: string, campaignId: string) {
  return sequelize.transaction(async (t) => {
    const coupon = await Coupon.findByPk(couponId, { lock: t.LOCK.UPDATE, transaction: t });
    const campaign = await Campaign.findByPk(campaignId, { lock: t.LOCK.UPDATE, transaction: t });
    await campaign.increment('redeemed', { transaction: t });
    await coupon.update({ used: true }, { transaction: t });
  });
}

export async function endCampaign(couponId: string, campaignId: string) {
  return sequelize.transaction(async (t) => {
${fixed ? '    const coupon = await Coupon.findByPk(couponId, { lock: t.LOCK.UPDATE, transaction: t });\n    const campaign = await Campaign.findByPk(campaignId, { lock: t.LOCK.UPDATE, transaction: t });' : '    const campaign = await Campaign.findByPk(campaignId, { lock: t.LOCK.UPDATE, transaction: t });\n    const coupon = await Coupon.findByPk(couponId, { lock: t.LOCK.UPDATE, transaction: t });'}
    await coupon.update({ expired: true }, { transaction: t });
    await campaign.update({ active: false }, { transaction: t });
  });
}
`;


// Plain UPDATEs in one transaction against explicit FOR UPDATE locks in the opposite order on another path.
const pgCheckout = `import { withTransaction } from '../db';

export async function checkoutCart(cartId: string, shopId: string) {
  return withTransaction(async (client) => {
    await client.query('SELECT id FROM shops WHERE id = $1 FOR UPDATE', [shopId]);
    await client.query('SELECT id FROM carts WHERE id = $1 FOR UPDATE', [cartId]);
    await client.query('UPDATE shops SET pending = pending + 1 WHERE id = $1', [shopId]);
    await client.query("UPDATE carts SET state = 'paid' WHERE id = $1", [cartId]);
  });
}
`;
const pgAbandon = (fixed: boolean) => `import { withTransaction } from '../db';

export async function abandonCart(cartId: string, shopId: string) {
  return withTransaction(async (client) => {
${fixed ? "    await client.query('UPDATE shops SET pending = pending - 1 WHERE id = $1', [shopId]);\n    await client.query(\"UPDATE carts SET state = 'abandoned' WHERE id = $1\", [cartId]);" : "    await client.query(\"UPDATE carts SET state = 'abandoned' WHERE id = $1\", [cartId]);\n    await client.query('UPDATE shops SET pending = pending - 1 WHERE id = $1', [shopId]);"}
  });
}
`;

// Rails: with_lock on a record handed in (named by the variable) and on the same model reached through an association.
const railsClub = (fixed: boolean) => `class ClubRoster
  def suspend_member(membership)
${fixed ? `    club = membership.reading_club
    club.with_lock do
      membership.with_lock do
        membership.update!(state: :suspended)
        club.update!(active_members: club.active_members - 1)
      end
    end` : `    membership.with_lock do
      membership.update!(state: :suspended)
      club = membership.reading_club
      club.with_lock do
        club.update!(active_members: club.active_members - 1)
      end
    end`}
  end

  def close_club(club)
    club.with_lock do
      club.memberships.active.each do |membership|
        membership.with_lock do
          membership.update!(state: :closed)
        end
      end
      club.update!(active_members: 0)
    end
  end
end
`;

// Go: a method holding its own mutex locks the same mutex of peers of its type (symmetric links).
const goRelay = (fixed: boolean) => `package mesh

import "sync"

type Relay struct {
	mu     sync.Mutex
	queued int
	peers  []*Relay
}

func (r *Relay) Offload(n int) bool {
${fixed ? `	r.mu.Lock()
	peers := append([]*Relay(nil), r.peers...)
	r.mu.Unlock()
	for _, p := range peers {
		if p.accept(n) {
			return true
		}
	}
	return false` : `	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.peers {
		p.mu.Lock()
		if p.queued+n < 100 {
			p.queued += n
			p.mu.Unlock()
			return true
		}
		p.mu.Unlock()
	}
	return false`}
}

func (r *Relay) accept(n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queued+n >= 100 {
		return false
	}
	r.queued += n
	return true
}
`;

// Round 11: advisory locks through helpers with namespace constants, a pair of references on one record, keyed
// asyncio locks (also when the other path's outer block is not shown).
const pgShelves = (fixed: boolean) => `import type { PoolClient } from 'pg';
import { withTransaction } from '../db';

const NS_SHELF = 41;
const NS_BOOK = 42;

export async function moveBook(bookId: number, toShelfId: number): Promise<void> {
  await withTransaction(async (client) => {
    await lockShelf(client, toShelfId);
    await lockBook(client, bookId);
    await client.query('UPDATE books SET shelf_id = $1 WHERE id = $2', [toShelfId, bookId]);
  });
}

export async function retireBook(bookId: number): Promise<void> {
  await withTransaction(async (client) => {
${fixed
  ? `    const { rows } = await client.query('SELECT shelf_id FROM books WHERE id = $1', [bookId]);
    if (rows[0]?.shelf_id) await lockShelf(client, rows[0].shelf_id);
    await lockBook(client, bookId);`
  : `    await lockBook(client, bookId);
    const { rows } = await client.query('SELECT shelf_id FROM books WHERE id = $1', [bookId]);
    if (rows[0]?.shelf_id) await lockShelf(client, rows[0].shelf_id);`}
    await client.query('UPDATE books SET shelf_id = NULL, retired_at = now() WHERE id = $1', [bookId]);
  });
}

async function lockShelf(client: PoolClient, shelfId: number): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [NS_SHELF, shelfId]);
}

async function lockBook(client: PoolClient, bookId: number): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [NS_BOOK, bookId]);
}
`;
const typeormShiftSwap = (fixed: boolean) => `import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Shift } from './shift.entity';
import { SwapRequest } from './swap-request.entity';

@Injectable()
export class SwapService {
  constructor(private readonly dataSource: DataSource) {}

  async approve(requestId: string): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      const req = await em.findOneBy(SwapRequest, { id: requestId });
      if (!req) throw new NotFoundException();
${fixed
  ? `      const [firstId, secondId] = [req.fromShiftId, req.toShiftId].sort();
      const first = await this.lockShift(em, firstId);
      const second = await this.lockShift(em, secondId);
      const [from, to] = first.id === req.fromShiftId ? [first, second] : [second, first];`
  : `      const from = await this.lockShift(em, req.fromShiftId);
      const to = await this.lockShift(em, req.toShiftId);`}
      await em.update(Shift, { id: from.id }, { staffId: to.staffId });
      await em.update(Shift, { id: to.id }, { staffId: from.staffId });
    });
  }

  private async lockShift(em: EntityManager, id: string): Promise<Shift> {
    const shift = await em.findOne(Shift, { where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!shift) throw new NotFoundException();
    return shift;
  }
}
`;
const knexDeskMove = (fixed: boolean) => `import { db } from '../db';

export async function applyMove(moveId: number) {
  await db.transaction(async (trx) => {
    const move = await trx('desk_moves').where({ id: moveId }).first();
${fixed
  ? `    const desks = await trx('desks').whereIn('id', [move.source_desk_id, move.target_desk_id]).orderBy('id').forUpdate();
    const source = desks.find((d) => d.id === move.source_desk_id);
    const target = desks.find((d) => d.id === move.target_desk_id);`
  : `    const source = await trx('desks').where({ id: move.source_desk_id }).forUpdate().first();
    const target = await trx('desks').where({ id: move.target_desk_id }).forUpdate().first();`}
    await trx('desks').where({ id: source.id }).update({ occupant_id: target.occupant_id });
    await trx('desks').where({ id: target.id }).update({ occupant_id: source.occupant_id });
  });
}
`;
const knexFolderChain = `import { db } from '../db';

export async function archiveDoc(docId: number) {
  await db.transaction(async (trx) => {
    const doc = await trx('docs').where({ id: docId }).first();
    const folder = await trx('folders').where({ id: doc.folder_id }).forUpdate().first();
    await trx('folders').where({ id: folder.parent_id }).forUpdate().first();
    await trx('docs').where({ id: docId }).update({ archived: true });
  });
}
`;
const pyAdvisory = (fixed: boolean) => `from django.db import connection, transaction

NS_VAN = 7
NS_ROUTE = 8


def assign_van(route_id, van_id):
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (NS_ROUTE, route_id))
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (NS_VAN, van_id))
        cur.execute("UPDATE routes SET van_id = %s WHERE id = %s", (van_id, route_id))


def retire_van(van_id, route_ids):
    with transaction.atomic(), connection.cursor() as cur:
${fixed
  ? `        for route_id in sorted(route_ids):
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (NS_ROUTE, route_id))
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (NS_VAN, van_id))`
  : `        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (NS_VAN, van_id))
        for route_id in sorted(route_ids):
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (NS_ROUTE, route_id))`}
        cur.execute("UPDATE routes SET van_id = NULL WHERE van_id = %s", (van_id,))
`;
const pyLanes = (fixed: boolean) => `import asyncio
from collections import defaultdict


class Pool:
    def __init__(self):
        self._ledger_lock = asyncio.Lock()
        self._lane_locks = defaultdict(asyncio.Lock)
        self.times = {}

    async def record_time(self, lane_no, swimmer, secs):
        async with self._lane_locks[lane_no]:
            async with self._ledger_lock:
                self.times[swimmer] = secs

    async def scratch(self, swimmer, lane):
${fixed
  ? `        async with self._lane_locks[lane.no]:
            async with self._ledger_lock:
                self.times.pop(swimmer, None)`
  : `        async with self._ledger_lock:
            async with self._lane_locks[lane.no]:
                self.times.pop(swimmer, None)`}
`;
const pyLanesPartial = (fixed: boolean) => [
  'diff --git a/meet/pool.py b/meet/pool.py',
  'index 1111111..2222222 100644',
  '--- a/meet/pool.py',
  '+++ b/meet/pool.py',
  '@@ -40,6 +40,8 @@ class Pool:',
  '             await self._store.save_time(self.meet_id, lane_no, secs)',
  ' ',
  '             async with self._ledger_lock:',
  '+                if lane.swimmer in self._ledger.scratched:',
  '+                    log.warning("time for a scratched swimmer in lane %s", lane_no)',
  '                 self._ledger.times[lane.swimmer] = secs',
  '                 await self._store.save_ledger(self.meet_id, dict(self._ledger.times))',
  '         return lane',
  '@@ -47,3 +49,14 @@ class Pool:',
  ' ',
  '     async def ranking(self):',
  '         return sorted(self._ledger.times.items(), key=lambda kv: kv[1])',
  '+',
  '+    async def scratch(self, swimmer):',
  '+        lane = self._lane_of(swimmer)',
  ...(fixed
    ? ['+        async with self._lane_locks[lane.number]:', '+            async with self._ledger_lock:']
    : ['+        async with self._ledger_lock:', '+            async with self._lane_locks[lane.number]:']),
  '+                self._ledger.scratched.add(swimmer)',
  '+                lane.result = "DNS"',
  '+                await self._store.save_scratch(self.meet_id, swimmer)',
  '+',
  '+    def _lane_of(self, swimmer):',
  '+        return next((l for l in self._lanes.values() if l.swimmer == swimmer), None)',
].join('\n') + '\n';

const goUploader = (fixed: boolean) => `package telemetry

import "sync"

type Batch struct {
	ID     string
	Points []float64
	Sent   bool
}

type Uploader struct {
	mu       sync.Mutex
	inflight map[string]*Batch
	batches  chan *Batch
}

func NewUploader(depth int) *Uploader {
	return &Uploader{inflight: make(map[string]*Batch), batches: make(chan *Batch, depth)}
}

func (u *Uploader) Enqueue(b *Batch) {
	u.mu.Lock()
${fixed ? '\tu.inflight[b.ID] = b\n\tu.mu.Unlock()\n\tu.batches <- b' : '\tdefer u.mu.Unlock()\n\tu.inflight[b.ID] = b\n\tu.batches <- b'}
}

func (u *Uploader) Drain() {
	for b := range u.batches {
		send(b.Points)
		u.markSent(b.ID)
	}
}

func (u *Uploader) markSent(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if b, ok := u.inflight[id]; ok {
		b.Sent = true
		delete(u.inflight, id)
	}
}
`;

const knexPallets = (fixed: boolean) => `import type { Knex } from 'knex';

interface PalletRow { id: string; shipment_id: string | null; weight_kg: number }
interface ShipmentRow { id: string; status: string; weight_kg: number }

export async function assignPallet(db: Knex, palletId: string, shipmentId: string) {
  return db.transaction(async (trx) => {
${fixed
    ? "    const peek = await trx<PalletRow>('pallets').where({ id: palletId }).first();\n    if (!peek) throw new Error('no pallet');\n    const shipment = await trx<ShipmentRow>('shipments').where({ id: shipmentId }).forUpdate().first();\n    const pallet = await trx<PalletRow>('pallets').where({ id: palletId }).forUpdate().first();"
    : "    const pallet = await trx<PalletRow>('pallets').where({ id: palletId }).forUpdate().first();\n    if (!pallet) throw new Error('no pallet');\n    const shipment = await trx<ShipmentRow>('shipments').where({ id: shipmentId }).forUpdate().first();\n    const peek = pallet;"}
    if (!shipment || shipment.status !== 'open') throw new Error('shipment closed');
    await trx('shipments').where({ id: shipmentId }).update({ weight_kg: shipment.weight_kg + peek.weight_kg });
    await trx('pallets').where({ id: palletId }).update({ shipment_id: shipmentId });
  });
}

export async function voidShipment(db: Knex, shipmentId: string) {
  return db.transaction(async (trx) => {
    const shipment = await trx<ShipmentRow>('shipments').where({ id: shipmentId }).forUpdate().first();
    if (!shipment || shipment.status !== 'open') throw new Error('shipment closed');
    await trx('pallets')
      .where({ shipment_id: shipmentId })
      .update({ shipment_id: null });
    await trx('shipments').where({ id: shipmentId }).update({ status: 'void', weight_kg: 0 });
  });
}
`;

const djangoOrders = (fixed: boolean) => `from django.db import transaction

from .models import LineItem, Order


def reprice_line(line_id, unit_cents):
    with transaction.atomic():
${fixed
    ? '        line = LineItem.objects.get(pk=line_id)\n        order = Order.objects.select_for_update().get(pk=line.order_id)\n        line = LineItem.objects.select_for_update().get(pk=line_id)'
    : '        line = LineItem.objects.select_for_update().get(pk=line_id)\n        order = Order.objects.select_for_update().get(pk=line.order_id)'}
        order.total_cents += (unit_cents - line.unit_cents) * line.quantity
        line.unit_cents = unit_cents
        line.save()
        order.save()


def cancel_order(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        LineItem.objects.filter(order_id=order.pk).update(status="cancelled")
        order.status = "cancelled"
        order.save()
`;

runTable(detector, {
  invalid: [
    { name: 'node-postgres: advisory locks through helpers, shelf then book in one path and book then shelf in the other (namespaces bound as constants)', path: 'src/library/shelves.ts', code: pgShelves(false), errors: [{ mode: 'deadlock', line: 9 }] },
    { name: 'TypeORM: a helper row-locks the two shifts a request names, in the request\'s from/to order', path: 'src/rota/swap.service.ts', code: typeormShiftSwap(false), errors: [{ mode: 'deadlock', line: 14 }] },
    { name: 'knex: two desks locked FOR UPDATE by the source and target fields of one loaded move', path: 'src/desks/move.ts', code: knexDeskMove(false), errors: [{ mode: 'deadlock', line: 6 }] },
    { name: 'django: advisory locks with namespace constants bound as parameters, route then van vs van then routes', path: 'fleet/vans.py', code: pyAdvisory(false), errors: [{ mode: 'deadlock', line: 9 }] },
    { name: 'asyncio: a keyed lock of a collection then the shared lock, and the shared lock then the keyed lock', path: 'meet/pool.py', code: pyLanes(false), errors: [{ mode: 'deadlock', line: 12 }] },
    { name: 'node-postgres: plain UPDATEs of carts then shops, while checkout locks shops then carts FOR UPDATE', path: 'src/carts/abandon.ts', code: pgAbandon(false), extra: [{ path: 'src/carts/checkout.ts', code: pgCheckout }], errors: [{ mode: 'deadlock', line: 6 }] },
    { name: 'rails: with_lock on the membership then its club; closing the club locks it then each membership', path: 'app/services/club_roster.rb', code: railsClub(false), errors: [{ mode: 'deadlock', line: 3 }] },
    { name: 'go: a method holding its own mutex locks the mutex of each peer of its type', path: 'internal/mesh/relay.go', code: goRelay(false), errors: [{ mode: 'deadlock', line: 14 }] },
    { name: 'go: two entries of one map, looked up by the two arguments, locked in argument order', path: 'internal/studio/booths.go', code: "package studio\n\nimport \"sync\"\n\ntype Booth struct {\n\tmu     sync.Mutex\n\tGuests int\n}\n\ntype Studio struct {\n\tbooths map[int]*Booth\n}\n\nfunc (s *Studio) Trade(fromNo, toNo int) {\n\tsrc, ok := s.booths[fromNo]\n\tif !ok {\n\t\treturn\n\t}\n\tdst := s.booths[toNo]\n\tsrc.mu.Lock()\n\tdefer src.mu.Unlock()\n\tdst.mu.Lock()\n\tdefer dst.mu.Unlock()\n\tsrc.Guests, dst.Guests = dst.Guests, src.Guests\n}\n", errors: [{ mode: 'deadlock', line: 21 }] },
    { name: 'knex: a helper that row-locks by its argument, called for the source and then the destination', path: 'src/stock/shift.js', code: "const db = require('../db');\n\nasync function holdBin(trx, binId, sku) {\n  return trx('bin_stock')\n    .where({ bin_id: binId, sku })\n    .forNoKeyUpdate()\n    .first();\n}\n\nasync function shiftStock({ srcBin, dstBin, sku, qty }) {\n  return db.transaction(async (trx) => {\n    const src = await holdBin(trx, srcBin, sku);\n    const dst = await holdBin(trx, dstBin, sku);\n    await trx('bin_stock').where({ bin_id: srcBin, sku }).decrement('qty', qty);\n    await trx('bin_stock').where({ bin_id: dstBin, sku }).increment('qty', qty);\n  });\n}\n\nmodule.exports = { shiftStock };\n", errors: [{ mode: 'deadlock', line: 12 }] },
    { name: 'go: the same mutex of two parameters of one type locked in argument order', path: 'internal/pantry/shelf.go', code: "package pantry\n\nimport \"sync\"\n\ntype Shelf struct {\n\tmu    sync.Mutex\n\tID    int\n\tjars  int\n}\n\nfunc Transfer(src, dst *Shelf, n int) {\n\tsrc.mu.Lock()\n\tdefer src.mu.Unlock()\n\tdst.mu.Lock()\n\tdefer dst.mu.Unlock()\n\tsrc.jars -= n\n\tdst.jars += n\n}\n", errors: [{ mode: 'deadlock', line: 12 }] },
    {
      name: 'gorm: two rows of one model locked FOR UPDATE in argument order',
      path: 'internal/ledger/transfer.go',
      code: `package ledger

func (s *Store) Move(ctx context.Context, srcID, dstID uint, qty int) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var src, dst Bin
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&src, srcID).Error; err != nil {
			return err
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&dst, dstID).Error; err != nil {
			return err
		}
		if err := tx.Model(&src).Update("qty", src.Qty-qty).Error; err != nil {
			return err
		}
		return tx.Model(&dst).Update("qty", dst.Qty+qty).Error
	})
}
`,
      errors: [{ mode: 'deadlock', line: 6 }],
    },
    {
      name: 'knex: rows locked FOR UPDATE in the order of a parameter',
      path: 'src/stock/transfer.ts',
      code: `import { db } from '../db';

export async function moveStock(moves: Array<{ sku: string; qty: number }>) {
  await db.transaction(async (trx) => {
    for (const move of moves) {
      const row = await trx('stock').where({ sku: move.sku }).forUpdate().first();
      await trx('stock').where({ sku: move.sku }).update({ qty: row.qty - move.qty });
    }
  });
}
`,
      errors: [{ mode: 'deadlock', line: 6 }],
    },
    {
      name: 'django: select_for_update per item of the request, inside atomic',
      path: 'orders/checkout.py',
      code: `from django.db import transaction

from .models import Product


def checkout(cart_items):
    with transaction.atomic():
        for item in cart_items:
            product = Product.objects.select_for_update().get(pk=item["product_id"])
            product.reserved += item["qty"]
            product.save()
`,
      errors: [{ mode: 'deadlock', line: 9 }],
    },
    {
      name: 'go: FOR UPDATE per id of the input inside a transaction',
      path: 'internal/seats/hold.go',
      code: `package seats

import "context"

func (s *Store) Hold(ctx context.Context, seatIDs []int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, id := range seatIDs {
		if _, err := tx.ExecContext(ctx, \`SELECT 1 FROM seats WHERE id = $1 FOR UPDATE\`, id); err != nil {
			return err
		}
	}
	return tx.Commit()
}
`,
      errors: [{ mode: 'deadlock', line: 12 }],
    },
    {
      name: 'go: two methods take the same two mutexes in opposite orders',
      path: 'internal/ledger/ledger.go',
      code: goTransfer('ba'),
      errors: [{ mode: 'deadlock', line: 18 }],
    },
    {
      name: 'python: nested with-locks in opposite orders',
      path: 'app/catalog.py',
      code: pyCache(true),
      errors: [{ mode: 'deadlock', line: 11 }],
    },
    {
      name: 'js async-mutex: runExclusive nested in opposite orders',
      path: 'src/sync/locks.ts',
      code: `import { Mutex } from 'async-mutex';

const usersMutex = new Mutex();
const teamsMutex = new Mutex();

export async function addMember(userId: string, teamId: string) {
  await usersMutex.runExclusive(async () => {
    await teamsMutex.runExclusive(async () => {
      await link(userId, teamId);
    });
  });
}

export async function deleteTeam(teamId: string) {
  await teamsMutex.runExclusive(async () => {
    await usersMutex.runExclusive(async () => {
      await unlinkAll(teamId);
    });
  });
}
`,
      errors: [{ mode: 'deadlock', line: 8 }],
    },
    {
      name: 'rails: a new method locks parcel then order; Order#cancel! locks order (with_lock) then parcel',
      path: 'app/services/shipment_service.rb',
      code: railsShipment(false),
      extra: [railsOrder],
      errors: [{ mode: 'deadlock', line: 10 }],
    },
    {
      name: 'django: two views select_for_update the same two models in opposite orders',
      path: 'stock/bins.py',
      code: djangoPair(false),
      errors: [{ mode: 'deadlock', line: 8 }],
    },
    {
      name: 'node-postgres: two functions lock teams and members FOR UPDATE in opposite orders',
      path: 'src/teams/membership.ts',
      code: pgPair(false),
      errors: [{ mode: 'deadlock', line: 7 }],
    },
    {
      name: 'node-postgres: row locked on the transaction client, then updated through pool.query before COMMIT',
      path: 'src/projects/close.ts',
      code: pgTransfer(false),
      errors: [{ mode: 'deadlock', line: 10 }],
    },
    {
      name: 'knex: inside db.transaction, a helper updates the locked row through the module db',
      path: 'src/billing/void.ts',
      code: voidInvoice('bug'),
      extra: [auditHelper],
      errors: [{ mode: 'deadlock', line: 9 }],
    },
    {
      name: 'go: row locked on tx, then updated through s.db before tx.Commit',
      path: 'internal/accounts/freeze.go',
      code: goAccounts(false),
      errors: [{ mode: 'deadlock', line: 22 }],
    },
    {
      name: 'rails: Model.lock.find in one method, with_lock then Model.lock.find in reverse in another',
      path: 'app/services/ledger_posting.rb',
      code: railsLedger(false),
      errors: [{ mode: 'deadlock', line: 4 }],
    },
    {
      name: 'sequelize: findByPk with LOCK.UPDATE on two models in opposite orders',
      path: 'src/coupons/redeem.ts',
      code: sequelizePair(false),
      errors: [{ mode: 'deadlock', line: 5 }],
    },
    {
      name: 'go: a method holds its mutex while calling a helper of another type that locks that type; the other type locks them the other way',
      path: 'internal/chat/hub.go',
      code: goHub(false),
      errors: [{ mode: 'deadlock', line: 18 }],
    },
    {
      name: 'python: with self._lock held, a call into another object whose method takes its own lock (and the reverse nesting elsewhere)',
      path: 'app/inventory.py',
      code: pyInventory(false),
      errors: [{ mode: 'deadlock', line: 13 }],
    },
    {
      name: 'async-mutex: runExclusive callback awaits a method that runs under another mutex; closeDay nests them the other way',
      path: 'src/wallet.ts',
      code: tsWallet(false),
      errors: [{ mode: 'deadlock', line: 16 }],
    },
    {
      name: 'ruby: Mutex#synchronize held while calling a method that synchronizes on the second mutex',
      path: 'app/models/tile_cache.rb',
      code: rbTiles(false),
      errors: [{ mode: 'deadlock', line: 12 }],
    },
    { name: 'prisma: $transaction updates the wallet on tx, then on the prisma client before the callback returns', path: 'src/w.ts', code: `import { prisma } from './db';

export async function spend(walletId: string, cents: number) {
  await prisma.$transaction(async (tx) => {
    await tx.wallet.update({ where: { id: walletId }, data: { balance: { decrement: cents } } });
    await prisma.wallet.update({ where: { id: walletId }, data: { lastSpentAt: new Date() } });
  });
}
`, errors: [{ mode: 'deadlock', line: 6 }] },
    { name: 'typeorm: pessimistic_write on the transaction manager, then an injected repository updates the same row', path: 'src/acc.service.ts', code: `import { Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { Account } from './account.entity';

@Injectable()
export class AccountService {
  constructor(private readonly dataSource: DataSource, private readonly accountRepo: Repository<Account>) {}

  async suspend(id: string) {
    await this.dataSource.transaction(async (manager) => {
      const acc = await manager.findOne(Account, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!acc) return;
      await this.accountRepo.update(id, { suspended: true });
    });
  }
}
`, errors: [{ mode: 'deadlock', line: 13 }] },
    { name: 'rails: two handed-in records of one model locked with lock! in argument order', path: 'app/services/trade_lockers.rb', code: `class TradeLockers
  def initialize(first, second)
    @first = first
    @second = second
  end

  def call
    Locker.transaction do
      @first.lock!
      @second.lock!
      raise ArgumentError if @first.broken? || @second.broken?
      a_owner = @first.member_id
      @first.update!(member_id: @second.member_id)
      @second.update!(member_id: a_owner)
    end
  end
end
`, errors: [{ mode: 'deadlock', line: 9 }] },
    { name: 'rails: two record parameters locked with lock! in argument order', path: 'app/services/bench_swap.rb', code: `module BenchSwap
  def self.swap(home, away)
    Squad.transaction do
      home.lock!
      away.lock!
      home_coach = home.coach_id
      home.update!(coach_id: away.coach_id, formation: away.formation)
      away.update!(coach_id: home_coach, formation: home.formation)
    end
  end
end
`, errors: [{ mode: 'deadlock', line: 4 }] },
    { name: 'rails: two rows of one model locked in argument order (lock!)', path: 'app/services/swap_shifts.rb', code: `class SwapShifts
  def initialize(giver_shift_id:, taker_shift_id:)
    @giver_shift_id = giver_shift_id
    @taker_shift_id = taker_shift_id
  end

  def call
    Shift.transaction do
      giver = Shift.find(@giver_shift_id)
      taker = Shift.find(@taker_shift_id)
      giver.lock!
      taker.lock!
      giver.update!(nurse_id: taker.nurse_id)
    end
  end
end
`, errors: [{ mode: 'deadlock', line: 11 }] },
    { name: 'django: two wallets locked with select_for_update in parameter order', path: 'wallets/services.py', code: `from django.db import transaction

from wallets.models import Wallet


def move_credit(source_id, target_id, cents):
    with transaction.atomic():
        source = Wallet.objects.select_for_update().get(pk=source_id)
        target = Wallet.objects.select_for_update().get(pk=target_id)
        source.balance -= cents
        target.balance += cents
        source.save()
        target.save()
`, errors: [{ mode: 'deadlock', line: 8 }] },
    { name: 'go: sends on an unbuffered channel while holding the mutex its receiver takes', path: 'internal/relay/relay.go', code: `package relay

import "sync"

type Relay struct {
	mu      sync.Mutex
	pending []string
	out     chan string
}

func NewRelay() *Relay {
	return &Relay{out: make(chan string)}
}

func (r *Relay) Push(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, msg)
	r.out <- msg
}

func (r *Relay) Loop() {
	for msg := range r.out {
		if !deliver(msg) {
			r.retry(msg)
		}
	}
}

func (r *Relay) retry(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, msg)
}
`, errors: [{ mode: 'deadlock', line: 19 }] },
    { name: 'node-postgres: the source row (a field of a loaded row) then the target row (a parameter) of one table', path: 'src/bookings/relocate.ts', code: "import { pool } from '../db';\n\nexport async function relocateBooking(bookingId: string, toVenueId: string) {\n  const client = await pool.connect();\n  try {\n    await client.query('BEGIN');\n    const { rows: [booking] } = await client.query('SELECT id, venue_id FROM bookings WHERE id = $1 FOR UPDATE', [bookingId]);\n    await client.query('SELECT id FROM venues WHERE id = $1 FOR UPDATE', [booking.venue_id]);\n    const { rows: seats } = await client.query('SELECT id, open FROM venues WHERE id = $1 FOR UPDATE', [toVenueId]);\n    if (seats.length === 0) throw new Error('venue closed');\n    await client.query('UPDATE bookings SET venue_id = $1 WHERE id = $2', [toVenueId, bookingId]);\n    await client.query('COMMIT');\n  } catch (err) {\n    await client.query('ROLLBACK');\n    throw err;\n  } finally {\n    client.release();\n  }\n}\n", errors: [{ mode: 'deadlock', line: 8 }] },
    { name: 'go: sends on a buffered channel while holding the mutex its receiver takes (blocks once the buffer fills)', path: 'internal/telemetry/uploader.go', code: goUploader(false), errors: [{ mode: 'deadlock', line: 25 }] },
    { name: 'knex: pallet then shipment locked; voiding a shipment locks it and then updates its pallets (ORM update)', path: 'src/shipping/pallets.ts', code: knexPallets(false), errors: [{ mode: 'deadlock', line: 9 }] },
    { name: 'django: line then order locked; cancelling locks the order and then updates its lines (queryset update)', path: 'shop/orders.py', code: djangoOrders(false), errors: [{ mode: 'deadlock', line: 9 }] },
  ],
  valid: [
    { name: 'fixed twin: both advisory-lock paths take the shelf before the book', path: 'src/library/shelves.ts', code: pgShelves(true) },
    { name: 'fixed twin: TypeORM locks the two shifts in sorted id order', path: 'src/rota/swap.service.ts', code: typeormShiftSwap(true) },
    { name: 'fixed twin: knex locks both desks in one statement ordered by id', path: 'src/desks/move.ts', code: knexDeskMove(true) },
    { name: 'fixed twin: both django paths take routes before the van', path: 'fleet/vans.py', code: pyAdvisory(true) },
    { name: 'fixed twin: asyncio paths both take the keyed lock before the shared one', path: 'meet/pool.py', code: pyLanes(true) },
    { name: 'knex: a folder then its parent through the row\'s own fields (a hierarchy, one order)', path: 'src/docs/archive.ts', code: knexFolderChain },
    { name: 'node-postgres: plain UPDATEs of shops then carts, like checkout (fixed twin)', path: 'src/carts/abandon.ts', code: pgAbandon(true), extra: [{ path: 'src/carts/checkout.ts', code: pgCheckout }] },
    { name: 'rails: suspending locks the club then the membership, like closing (fixed twin)', path: 'app/services/club_roster.rb', code: railsClub(true) },
    { name: 'go: the peers are copied and the own mutex released before each peer locks its own (fixed twin)', path: 'internal/mesh/relay.go', code: goRelay(true) },
    { name: 'go: a parent holding its mutex locks each child (a fixed top-down order)', path: 'internal/tree/node.go', code: "package tree\n\nimport \"sync\"\n\ntype Node struct {\n\tmu       sync.Mutex\n\ttotal    int\n\tchildren []*Node\n}\n\nfunc (n *Node) Sum() int {\n\tn.mu.Lock()\n\tdefer n.mu.Unlock()\n\tsum := n.total\n\tfor _, c := range n.children {\n\t\tc.mu.Lock()\n\t\tsum += c.total\n\t\tc.mu.Unlock()\n\t}\n\treturn sum\n}\n" },
    { name: 'node-postgres: plain UPDATEs in opposite orders on two paths with no explicit lock on either', path: 'src/carts/abandon.ts', code: pgAbandon(false), extra: [{ path: 'src/carts/touch.ts', code: "import { withTransaction } from '../db';\n\nexport async function touchCart(cartId: string, shopId: string) {\n  return withTransaction(async (client) => {\n    await client.query('UPDATE shops SET touched_at = now() WHERE id = $1', [shopId]);\n    await client.query('UPDATE carts SET touched_at = now() WHERE id = $1', [cartId]);\n  });\n}\n" }] },
    { name: 'rails: two handed-in records locked in id order in one statement', path: 'app/services/trade_lockers.rb', code: `class TradeLockers
  def initialize(first, second)
    @first = first
    @second = second
  end

  def call
    Locker.transaction do
      lockers = Locker.where(id: [@first.id, @second.id]).order(:id).lock.to_a
      raise ArgumentError if @first.broken? || @second.broken?
      a_owner = @first.member_id
      @first.update!(member_id: @second.member_id)
      @second.update!(member_id: a_owner)
    end
  end
end
` },
    { name: 'rails: two handed-in records of different models locked with lock! (one shared field)', path: 'app/services/settle_invoice.rb', code: `class SettleInvoice
  def initialize(invoice, payment)
    @invoice = invoice
    @payment = payment
  end

  def call
    Invoice.transaction do
      @invoice.lock!
      @payment.lock!
      @invoice.update!(status: 'paid', paid_cents: @payment.cents)
      @payment.update!(status: 'applied')
      raise ArgumentError if @invoice.status == @payment.status
    end
  end
end
` },
    { name: 'go: map entries ordered by their keys before locking (fixed twin)', path: 'internal/studio/booths.go', code: "package studio\n\nimport \"sync\"\n\ntype Booth struct {\n\tmu     sync.Mutex\n\tGuests int\n}\n\ntype Studio struct {\n\tbooths map[int]*Booth\n}\n\nfunc (s *Studio) Trade(fromNo, toNo int) {\n\tsrc, ok := s.booths[fromNo]\n\tif !ok {\n\t\treturn\n\t}\n\tdst := s.booths[toNo]\n\tif toNo < fromNo {\n\t\tsrc, dst = dst, src\n\t}\n\tsrc.mu.Lock()\n\tdefer src.mu.Unlock()\n\tdst.mu.Lock()\n\tdefer dst.mu.Unlock()\n\tsrc.Guests, dst.Guests = dst.Guests, src.Guests\n}\n" },
    { name: 'django: two parent rows locked through one record\'s foreign keys, no opposite path shown', path: 'rentals/tasks.py', code: "from celery import shared_task\nfrom django.db import transaction\n\nfrom .models import Rental, Kayak, Paddler\n\n\n@shared_task\ndef close_rental(rental_id):\n    with transaction.atomic():\n        rental = Rental.objects.select_for_update().get(pk=rental_id)\n        kayak = Kayak.objects.select_for_update().get(pk=rental.kayak_id)\n        paddler = Paddler.objects.select_for_update().get(pk=rental.paddler_id)\n        kayak.available = True\n        kayak.save()\n        paddler.open_rentals -= 1\n        paddler.save()\n" },
    { name: 'django: relative updates through the foreign keys, no second row lock (fixed twin)', path: 'rentals/tasks.py', code: "from celery import shared_task\nfrom django.db import transaction\nfrom django.db.models import F\n\nfrom .models import Rental, Kayak, Paddler\n\n\n@shared_task\ndef close_rental(rental_id):\n    with transaction.atomic():\n        rental = Rental.objects.select_for_update().get(pk=rental_id)\n        Kayak.objects.filter(pk=rental.kayak_id).update(available=True)\n        Paddler.objects.filter(pk=rental.paddler_id).update(open_rentals=F('open_rentals') - 1)\n" },
    { name: 'knex: the row-locking helper called with the keys sorted (fixed twin)', path: 'src/stock/shift.js', code: "const db = require('../db');\n\nasync function holdBin(trx, binId, sku) {\n  return trx('bin_stock')\n    .where({ bin_id: binId, sku })\n    .forNoKeyUpdate()\n    .first();\n}\n\nasync function shiftStock({ srcBin, dstBin, sku, qty }) {\n  return db.transaction(async (trx) => {\n    const [first, second] = [srcBin, dstBin].sort();\n    await holdBin(trx, first, sku);\n    await holdBin(trx, second, sku);\n    await trx('bin_stock').where({ bin_id: srcBin, sku }).decrement('qty', qty);\n    await trx('bin_stock').where({ bin_id: dstBin, sku }).increment('qty', qty);\n  });\n}\n\nmodule.exports = { shiftStock };\n" },
    { name: 'go: the two mutexes taken in id order (fixed twin)', path: 'internal/pantry/shelf.go', code: "package pantry\n\nimport \"sync\"\n\ntype Shelf struct {\n\tmu    sync.Mutex\n\tID    int\n\tjars  int\n}\n\nfunc Transfer(src, dst *Shelf, n int) {\n\tfirst, second := src, dst\n\tif dst.ID < src.ID {\n\t\tfirst, second = dst, src\n\t}\n\tfirst.mu.Lock()\n\tdefer first.mu.Unlock()\n\tsecond.mu.Lock()\n\tdefer second.mu.Unlock()\n\tsrc.jars -= n\n\tdst.jars += n\n}\n" },
    {
      name: 'fixed twin: gorm locks both rows in one statement ordered by id',
      path: 'internal/ledger/transfer.go',
      code: `package ledger

func (s *Store) Move(ctx context.Context, srcID, dstID uint, qty int) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var bins []Bin
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id IN ?", []uint{srcID, dstID}).Order("id").Find(&bins).Error; err != nil {
			return err
		}
		return applyMove(tx, bins, srcID, dstID, qty)
	})
}
`,
    },
    { name: 'fixed twin: go send after the unlock', path: 'internal/relay/relay.go', code: `package relay

import "sync"

type Relay struct {
	mu      sync.Mutex
	pending []string
	out     chan string
}

func NewRelay() *Relay {
	return &Relay{out: make(chan string)}
}

func (r *Relay) Push(msg string) {
	r.mu.Lock()
	r.pending = append(r.pending, msg)
	r.mu.Unlock()
	r.out <- msg
}

func (r *Relay) Loop() {
	for msg := range r.out {
		if !deliver(msg) {
			r.retry(msg)
		}
	}
}

func (r *Relay) retry(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, msg)
}
` },
    { name: 'fixed twin: go send in a select with default under the lock', path: 'internal/relay/relay.go', code: `package relay

import "sync"

type Relay struct {
	mu      sync.Mutex
	pending []string
	out     chan string
}

func NewRelay() *Relay {
	return &Relay{out: make(chan string)}
}

func (r *Relay) Push(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, msg)
	select {
	case r.out <- msg:
	default:
	}
}

func (r *Relay) Loop() {
	for msg := range r.out {
		if !deliver(msg) {
			r.retry(msg)
		}
	}
}

func (r *Relay) retry(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, msg)
}
` },
    { name: 'fixed twin: rails rows locked in id order in one statement', path: 'app/services/swap_shifts.rb', code: `class SwapShifts
  def initialize(giver_shift_id:, taker_shift_id:)
    @giver_shift_id = giver_shift_id
    @taker_shift_id = taker_shift_id
  end

  def call
    Shift.transaction do
      shifts = Shift.lock.where(id: [@giver_shift_id, @taker_shift_id]).order(:id).index_by(&:id)
      giver = shifts.fetch(@giver_shift_id)
      taker = shifts.fetch(@taker_shift_id)
      giver.update!(nurse_id: taker.nurse_id)
    end
  end
end
`},
    { name: 'fixed twin: django wallets locked in sorted key order', path: 'wallets/services.py', code: `from django.db import transaction

from wallets.models import Wallet


def move_credit(source_id, target_id, cents):
    with transaction.atomic():
        locked = {w.pk: w for w in Wallet.objects.select_for_update().filter(pk__in=sorted([source_id, target_id])).order_by("pk")}
        source = locked[source_id]
        target = locked[target_id]
        source.balance -= cents
        target.balance += cents
        source.save()
        target.save()
`},
    { name: 'django: parent row locked after its child (keyed by the child, not by a second argument)', path: 'tree/services.py', code: `from django.db import transaction

from tree.models import Node


def detach(node_id):
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=node_id)
        parent = Node.objects.select_for_update().get(pk=node.parent_id)
        parent.child_count -= 1
        parent.save()
        node.delete()
`},
    { name: 'go: each lock in its own transaction, committed before the next', path: 'internal/a/a.go', code: `package a

import "context"

func (s *Store) Move(ctx context.Context, a, b string) error {
	tx, _ := s.db.BeginTx(ctx, nil)
	tx.ExecContext(ctx, \`SELECT 1 FROM boxes WHERE id = $1 FOR UPDATE\`, a)
	tx.Commit()
	tx2, _ := s.db.BeginTx(ctx, nil)
	tx2.ExecContext(ctx, \`SELECT 1 FROM shelves WHERE id = $1 FOR UPDATE\`, b)
	return tx2.Commit()
}

func (s *Store) Back(ctx context.Context, a, b string) error {
	tx, _ := s.db.BeginTx(ctx, nil)
	tx.ExecContext(ctx, \`SELECT 1 FROM shelves WHERE id = $1 FOR UPDATE\`, b)
	tx.Commit()
	tx2, _ := s.db.BeginTx(ctx, nil)
	tx2.ExecContext(ctx, \`SELECT 1 FROM boxes WHERE id = $1 FOR UPDATE\`, a)
	return tx2.Commit()
}
` },
    { name: 'node-postgres: pool writes before BEGIN and after COMMIT', path: 'src/a.ts', code: `import { pool } from './db';
export async function f(id: string) {
  await pool.query('UPDATE docs SET seen = now() WHERE id = $1', [id]);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM docs WHERE id = $1 FOR UPDATE', [id]);
    await client.query('UPDATE docs SET n = n + 1 WHERE id = $1', [id]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await pool.query('UPDATE docs SET seen = now() WHERE id = $1', [id]);
}
` },
    { name: 'node-postgres: the pool updates another row (a parent) inside the transaction', path: 'src/b.ts', code: `import { pool } from './db';
export async function f(id: string, parentId: string) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM docs WHERE id = $1 FOR UPDATE', [id]);
    await pool.query('UPDATE docs SET children = children + 1 WHERE id = $1', [parentId]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
` },
    { name: 'prisma: both updates on tx, the outside one after the transaction (fixed twin)', path: 'src/w.ts', code: `import { prisma } from './db';

export async function spend(walletId: string, cents: number) {
  await prisma.$transaction(async (tx) => {
    await tx.wallet.update({ where: { id: walletId }, data: { balance: { decrement: cents } } });
    await tx.wallet.update({ where: { id: walletId }, data: { lastSpentAt: new Date() } });
  });
  await prisma.wallet.update({ where: { id: walletId }, data: { lastSeenAt: new Date() } });
}
`},
    { name: 'typeorm: the update goes through the manager (fixed twin)', path: 'src/acc.service.ts', code: `import { Injectable } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { Account } from './account.entity';

@Injectable()
export class AccountService {
  constructor(private readonly dataSource: DataSource, private readonly accountRepo: Repository<Account>) {}

  async suspend(id: string) {
    await this.dataSource.transaction(async (manager) => {
      const acc = await manager.findOne(Account, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!acc) return;
      await manager.update(Account, id, { suspended: true });
    });
  }
}
`},
    {
      name: 'rails: both methods lock account then ledger (fixed twin)',
      path: 'app/services/ledger_posting.rb',
      code: railsLedger(true),
    },
    {
      name: 'sequelize: both transactions lock coupon then campaign (fixed twin)',
      path: 'src/coupons/redeem.ts',
      code: sequelizePair(true),
    },
    {
      name: 'knex: input sorted before locking (fixed twin)',
      path: 'src/stock/transfer.ts',
      code: `import { db } from '../db';

export async function moveStock(moves: Array<{ sku: string; qty: number }>) {
  const ordered = [...moves].sort((a, b) => a.sku.localeCompare(b.sku));
  await db.transaction(async (trx) => {
    for (const move of ordered) {
      const row = await trx('stock').where({ sku: move.sku }).forUpdate().first();
      await trx('stock').where({ sku: move.sku }).update({ qty: row.qty - move.qty });
    }
  });
}
`,
    },
    {
      name: 'django: sorted() items (fixed twin)',
      path: 'orders/checkout.py',
      code: `from django.db import transaction

from .models import Product


def checkout(cart_items):
    with transaction.atomic():
        for item in sorted(cart_items, key=lambda i: i["product_id"]):
            product = Product.objects.select_for_update().get(pk=item["product_id"])
            product.reserved += item["qty"]
            product.save()
`,
    },
    {
      name: 'go: one statement locks the rows in id order (fixed twin)',
      path: 'internal/seats/hold.go',
      code: `package seats

import "context"

func (s *Store) Hold(ctx context.Context, seatIDs []int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, \`SELECT 1 FROM seats WHERE id = ANY($1) ORDER BY id FOR UPDATE\`, seatIDs); err != nil {
		return err
	}
	return tx.Commit()
}
`,
    },
    {
      name: 'go: both methods take ledger then journal (fixed twin)',
      path: 'internal/ledger/ledger.go',
      code: goTransfer('ab'),
    },
    {
      name: 'rails: the new method locks order then parcel, like Order#cancel! (fixed twin)',
      path: 'app/services/shipment_service.rb',
      code: railsShipment(true),
      extra: [railsOrder],
    },
    {
      name: 'django: both views lock warehouse then bin (fixed twin)',
      path: 'stock/bins.py',
      code: djangoPair(true),
    },
    {
      name: 'node-postgres: both functions lock teams then members (fixed twin)',
      path: 'src/teams/membership.ts',
      code: pgPair(true),
    },
    {
      name: 'node-postgres: every write goes through the transaction client (fixed twin)',
      path: 'src/projects/close.ts',
      code: pgTransfer(true),
    },
    {
      name: 'knex: the helper is given the transaction (fixed twin)',
      path: 'src/billing/void.ts',
      code: voidInvoice('client'),
      extra: [auditHelper],
    },
    {
      name: 'knex: the helper runs after the transaction committed (fixed twin)',
      path: 'src/billing/void.ts',
      code: voidInvoice('after'),
      extra: [auditHelper],
    },
    {
      name: 'go: the update goes through tx (fixed twin)',
      path: 'internal/accounts/freeze.go',
      code: goAccounts(true),
    },
    {
      name: 'node-postgres: the pool only reads, or writes another table, inside the transaction',
      path: 'src/projects/report.ts',
      code: `import { pool } from '../db/pool';

export async function archiveProject(projectId: string) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM projects WHERE id = $1 FOR UPDATE', [projectId]);
    const { rows } = await pool.query('SELECT count(*) FROM projects WHERE owner_id = $1', [projectId]);
    await pool.query('INSERT INTO project_events (project_id, kind) VALUES ($1, $2)', [projectId, 'archived']);
    await pool.query('UPDATE teams SET archived_projects = archived_projects + 1 WHERE id = $1', [rows[0].team_id]);
    await client.query("UPDATE projects SET state = 'archived' WHERE id = $1", [projectId]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
`,
    },
    {
      name: 'rails: lock! outside any transaction in one of the two methods',
      path: 'app/services/parcel_audit.rb',
      code: `class ParcelAudit
  def check(order)
    order.parcel.lock!
    order.lock!
  end
end
`,
      extra: [railsOrder],
    },
    {
      name: 'python: nested with-locks in the same order (fixed twin)',
      path: 'app/catalog.py',
      code: pyCache(false),
    },
    {
      name: 'updates in a loop without a transaction (each statement commits alone)',
      path: 'src/jobs/prices.ts',
      code: `import { db } from '../db';

export async function syncPrices(items: Array<{ sku: string; price: number }>) {
  for (const item of items) {
    await db('products').where({ sku: item.sku }).update({ price_cents: item.price });
  }
}
`,
    },
    {
      name: 'a loop over rows that a query returned',
      path: 'src/jobs/expire.ts',
      code: `import { db } from '../db';

export async function expireHolds() {
  await db.transaction(async (trx) => {
    const holds = await trx('holds').where('expires_at', '<', trx.fn.now());
    for (const hold of holds) {
      await trx('seats').where({ id: hold.seat_id }).forUpdate().first();
      await trx('holds').where({ id: hold.id }).del();
    }
  });
}
`,
    },
    {
      name: 'go: the mutex is unlocked before the helper that locks the other type is called (fixed twin)',
      path: 'internal/chat/hub.go',
      code: goHub(true),
    },
    {
      name: 'python: the audit call moved out of the with block (fixed twin)',
      path: 'app/inventory.py',
      code: pyInventory(true),
    },
    {
      name: 'async-mutex: the ledger is recorded after runExclusive returns (fixed twin)',
      path: 'src/wallet.ts',
      code: tsWallet(true),
    },
    {
      name: 'ruby: reindex runs after the store mutex is released (fixed twin)',
      path: 'app/models/tile_cache.rb',
      code: rbTiles(true),
    },
    {
      name: 'a single mutex',
      path: 'internal/cache/cache.go',
      code: `package cache

import "sync"

type Cache struct {
	mu    sync.Mutex
	items map[string]string
}

func (c *Cache) Set(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items[k] = v
}
`,
    },
    { name: 'fixed twin: node-postgres locks both rows in one ordered statement', path: 'src/bookings/relocate.ts', code: "import { pool } from '../db';\n\nexport async function relocateBooking(bookingId: string, toVenueId: string) {\n  const client = await pool.connect();\n  try {\n    await client.query('BEGIN');\n    const { rows: [booking] } = await client.query('SELECT id, venue_id FROM bookings WHERE id = $1 FOR UPDATE', [bookingId]);\n    const { rows: seats } = await client.query(\n      'SELECT id, open FROM venues WHERE id = ANY($1) ORDER BY id FOR UPDATE',\n      [[booking.venue_id, toVenueId]],\n    );\n    if (seats.length === 0) throw new Error('venue closed');\n    await client.query('UPDATE bookings SET venue_id = $1 WHERE id = $2', [toVenueId, bookingId]);\n    await client.query('COMMIT');\n  } catch (err) {\n    await client.query('ROLLBACK');\n    throw err;\n  } finally {\n    client.release();\n  }\n}\n" },
    { name: 'fixed twin: go records the batch under the lock and sends after unlocking', path: 'internal/telemetry/uploader.go', code: goUploader(true) },
    { name: 'fixed twin: knex locks the shipment before the pallet on both paths', path: 'src/shipping/pallets.ts', code: knexPallets(true) },
    { name: 'fixed twin: django locks the order before the line on both paths', path: 'shop/orders.py', code: djangoOrders(true) },
  ],
  todo: [
    {
      name: 'atomic updates per item of the input inside a transaction (implicit row locks in input order)',
      path: 'src/orders/reserve.ts',
      code: `import { db } from '../db';

export async function reserve(lines: Array<{ sku: string; qty: number }>) {
  await db.transaction(async (trx) => {
    for (const line of lines) {
      await trx('stock').where({ sku: line.sku }).decrement('qty', line.qty);
    }
  });
}
`,
    },
  ],
});

// A diff that modifies an existing file: the other methods of the class are only partly shown.
function modifyDiff(path: string, start: number, lines: Array<[' ' | '+', string]>): string {
  const old = lines.filter(([k]) => k === ' ').length;
  return [
    `diff --git a/${path} b/${path}`,
    'index 1111111..2222222 100644',
    `--- a/${path}`,
    `+++ b/${path}`,
    `@@ -${start},${old} +${start},${lines.length} @@ class Roster:`,
    ...lines.map(([k, t]) => `${k}${t}`),
  ].join('\n') + '\n';
}

const rosterBody = (outer: string, inner: string): Array<[' ' | '+', string]> => [
  [' ', '                self._desk_owner.pop(d, None)'],
  [' ', '        return True'],
  [' ', ''],
  ['+', '    def sweep(self, now):'],
  ['+', `        with self.${outer}:`],
  ['+', '            stale = [b for b in self._bookings.values() if b.ends_at <= now]'],
  ['+', '            for b in stale:'],
  ['+', `                with self.${inner}:`],
  ['+', '                    self._desk_owner.pop(b.desk, None)'],
  ['+', '                self._bookings.pop(b.id, None)'],
  ['+', ''],
  ['+', '    def start_sweeper(self):'],
  ['+', '        threading.Thread(target=lambda: self.sweep(time.monotonic()), daemon=True).start()'],
  ['+', ''],
  [' ', '    def taken_desks(self):'],
  [' ', '        with self._desks_lock:'],
  [' ', '            return set(self._desk_owner)'],
];

describe('lock-order-inversion: a new nesting whose opposite order the diff does not show (partly shown file)', () => {
  // taken_desks takes _desks_lock on its own: a leaf lock, not the other half of a cycle. Nothing shown takes
  // _bookings_lock under _desks_lock, so neither nesting order is reported.
  it('stays quiet when other code takes the inner lock alone', async () => {
    const diff = modifyDiff('office/roster.py', 40, rosterBody('_bookings_lock', '_desks_lock'));
    const out = await review(diff, { detectors: [detector] });
    expect(out.candidates.filter((c) => c.detector === detector.meta.id)).toEqual([]);
  });
  it('stays quiet in the other order too', async () => {
    const diff = modifyDiff('office/roster.py', 40, rosterBody('_desks_lock', '_bookings_lock'));
    const out = await review(diff, { detectors: [detector] });
    expect(out.candidates.filter((c) => c.detector === detector.meta.id)).toEqual([]);
  });
});

describe('lock-order-inversion: a Go hunk that opens inside a struct declaration', () => {
  // The hunk starts among the struct's fields, so the method is not parsed as a function of its own: the peers
  // field and the method are still read from the hunk.
  const hunk = (fixed: boolean): string =>
    [
      'diff --git a/internal/mesh/relay.go b/internal/mesh/relay.go',
      'index 1111111..2222222 100644',
      '--- a/internal/mesh/relay.go',
      '+++ b/internal/mesh/relay.go',
      '@@ -8,9 +8,20 @@ type Relay struct {',
      ' 	mu     sync.Mutex',
      ' 	queued int',
      '+	peers  []*Relay',
      ' }',
      ' ',
      '-func (r *Relay) Offload(n int) bool {',
      '-	return false',
      '+func (r *Relay) Offload(n int) bool {',
      '+	r.mu.Lock()',
      ...(fixed ? ['+	peers := r.peers', '+	r.mu.Unlock()', '+	for _, p := range peers {', '+		if p.accept(n) {', '+			return true', '+		}', '+	}'] : ['+	defer r.mu.Unlock()', '+	for _, p := range r.peers {', '+		p.mu.Lock()', '+		p.queued += n', '+		p.mu.Unlock()', '+		return true', '+	}']),
      '+	return false',
      ' }',
    ].join('\n') + '\n';
  it('flags the peer lock taken under the own lock', async () => {
    const out = await review(hunk(false), { detectors: [detector] });
    const found = out.candidates.filter((c) => c.detector === detector.meta.id);
    expect(found.map((f) => f.failureMode)).toEqual(['deadlock']);
    expect(found[0]!.line <= 17 && 17 <= found[0]!.endLine).toBe(true);
  });
  it('stays quiet when the own lock is released first (fixed twin)', async () => {
    const out = await review(hunk(true), { detectors: [detector] });
    expect(out.candidates.filter((c) => c.detector === detector.meta.id)).toEqual([]);
  });
});

describe('lock-order-inversion: a shared lock then a keyed lock, while the other path\'s outer block is not shown', () => {
  // The context hunk shows the shared lock taken one level inside a block whose opening line is above the hunk, on
  // lines about a lane: per-lane code holds the lane's lock there. The new method takes the two the other way round.
  it('flags the new method', async () => {
    const out = await review(pyLanesPartial(false), { detectors: [detector] });
    const found = out.candidates.filter((c) => c.detector === detector.meta.id);
    expect(found.map((f) => f.failureMode)).toEqual(['deadlock']);
    expect(found[0]!.line <= 55 && 55 <= found[0]!.endLine).toBe(true);
  });
  it('stays quiet when the new method takes the keyed lock first (fixed twin)', async () => {
    const out = await review(pyLanesPartial(true), { detectors: [detector] });
    expect(out.candidates.filter((c) => c.detector === detector.meta.id)).toEqual([]);
  });
});

describe('lock-order-inversion: a row-locking helper method of a class whose head the diff does not show', () => {
  // The hunk opens inside the class, so its methods are not parsed as functions of their own: the helper that
  // locks a bin (pessimistic_write) and the new method's parameters are read from the shown method heads.
  const diff = (fixed: boolean): string =>
    [
      'diff --git a/src/stock/bin.service.ts b/src/stock/bin.service.ts',
      'index 1111111..2222222 100644',
      '--- a/src/stock/bin.service.ts',
      '+++ b/src/stock/bin.service.ts',
      `@@ -30,9 +30,${fixed ? 19 : 18} @@ export class BinService {`,
      '     return this.bins.findOneByOrFail({ id });',
      '   }',
      ' ',
      '+  async transferStock(fromBinId: number, toBinId: number, units: number): Promise<void> {',
      '+    await this.dataSource.transaction(async (em) => {',
      ...(fixed
        ? ['+      const [firstId, secondId] = [fromBinId, toBinId].sort((x, y) => x - y);', '+      await this.lockBin(em, firstId);', '+      await this.lockBin(em, secondId);']
        : ['+      await this.lockBin(em, fromBinId);', '+      await this.lockBin(em, toBinId);']),
      "+      await em.decrement(Bin, { id: fromBinId }, 'units', units);",
      "+      await em.increment(Bin, { id: toBinId }, 'units', units);",
      '+    });',
      '+  }',
      '+',
      '   private async lockBin(em: EntityManager, binId: number): Promise<Bin> {',
      "     const bin = await em.findOne(Bin, { where: { id: binId }, lock: { mode: 'pessimistic_write' } });",
      '     if (!bin) throw new NotFoundException(`bin ${binId}`);',
      '     return bin;',
      '   }',
      ' }',
    ].join('\n') + '\n';
  it('flags the two helper calls in argument order', async () => {
    const out = await review(diff(false), { detectors: [detector] });
    const found = out.candidates.filter((c) => c.detector === detector.meta.id);
    expect(found.map((f) => f.failureMode)).toEqual(['deadlock']);
    expect(found[0]!.line <= 35 && 35 <= found[0]!.endLine).toBe(true);
    expect(found[0]!.functionName).toBe('transferStock');
  });
  it('stays quiet when the ids are sorted first (fixed twin)', async () => {
    const out = await review(diff(true), { detectors: [detector] });
    expect(out.candidates.filter((c) => c.detector === detector.meta.id)).toEqual([]);
  });
});
