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

runTable(detector, {
  invalid: [
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
  ],
  valid: [
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
