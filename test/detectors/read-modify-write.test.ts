import detector from '../../src/detectors/read-modify-write.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'rails: a tally row found, its count read, the sum written back with update!',
      path: 'app/jobs/record_visit_job.rb',
      code: `class RecordVisitJob
  include Sidekiq::Job

  def perform(park_id, visitors)
    ApplicationRecord.transaction do
      tally = ParkTally.find_by!(park_id: park_id)
      before = tally.visitors
      tally.update!(visitors: before + visitors)
    end
  end
end
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'redis: a sibling get() (guarded return, fills on miss) read, patched, and a sibling put() keyed by a field of the value',
      path: 'src/parking/levelOccupancy.ts',
      code: `import type Redis from 'ioredis';

const levelKey = (levelId: string) => \`garage:level:\${levelId}\`;

export class LevelOccupancy {
  constructor(private readonly redis: Redis, private readonly load: (id: string) => Promise<Level>) {}

  async get(levelId: string): Promise<Level> {
    const raw = await this.redis.get(levelKey(levelId));
    if (raw) return JSON.parse(raw) as Level;
    const fresh = await this.load(levelId);
    await this.store(fresh);
    return fresh;
  }

  async carEntered(levelId: string): Promise<Level> {
    const level = await this.get(levelId);
    const updated: Level = {
      ...level,
      freeSpaces: Math.max(0, level.freeSpaces - 1),
    };
    await this.store(updated);
    return updated;
  }

  async store(level: Level): Promise<void> {
    await this.redis.set(levelKey(level.levelId), JSON.stringify(level), 'EX', 600);
  }
}
`,
      errors: [{ mode: 'lost_update', line: 17 }],
    },
    {
      name: 'ruby: Rails.cache entry read through a class-method helper, bumped in Ruby, written back whole',
      path: 'app/services/poll_tally.rb',
      code: `class PollTally
  def self.key(poll_id)
    "poll_tally/#{poll_id}"
  end

  def self.current(poll)
    Rails.cache.read(key(poll.id)) || { "total" => 0, "options" => {} }
  end

  def self.vote!(poll, option)
    tally = current(poll)
    tally["total"] += 1
    tally["options"][option] = tally["options"].fetch(option, 0) + 1
    Rails.cache.write(key(poll.id), tally, expires_in: 1.hour)
    tally
  end
end
`,
      errors: [{ mode: 'lost_update', line: 11 }],
    },
    {
      name: 'ruby: Rails.cache.fetch read, incremented, written back',
      path: 'app/services/badge_counter.rb',
      code: `class BadgeCounter
  def self.award(member)
    counts = Rails.cache.fetch("badges/#{member.id}") { { "earned" => 0 } }
    counts["earned"] += 1
    Rails.cache.write("badges/#{member.id}", counts)
  end
end
`,
      errors: [{ mode: 'lost_update', line: 3 }],
    },
    {
      name: 'django: total computed from a getter of the object, stored by a helper with filter().update(f=value)',
      path: 'library/fines.py',
      code: `from decimal import Decimal

from .models import Patron


class FineDesk:
    def add_late_fee(self, patron, days):
        owed = self.outstanding(patron) + Decimal("0.25") * days
        self._save_outstanding(patron, owed)
        return owed

    def _save_outstanding(self, patron, amount):
        Patron.objects.filter(pk=patron.pk).update(fines_due=amount)
`,
      errors: [{ mode: 'lost_update', line: 8 }],
    },
    {
      name: 'service: record loaded through a store object, field bumped, handed back to its save method',
      path: 'src/arcade/play.service.ts',
      code: `import type { TokenWalletStore } from './wallet.store';

export class PlayService {
  constructor(private readonly wallets: TokenWalletStore, private readonly machines: MachineBus) {}

  async startGame(playerId: string, machineId: string): Promise<void> {
    const wallet = await this.wallets.load(playerId);
    if (wallet.tokens < 2) throw new Error('not enough tokens');
    await this.machines.unlock(machineId);
    wallet.tokens -= 2;
    wallet.lastPlayedAt = new Date().toISOString();
    await this.wallets.save(playerId, wallet);
  }
}
`,
      errors: [{ mode: 'lost_update', line: 7 }],
    },
    {
      name: 'go: repository method reads the totals, Go adds to them, another repository method writes them back',
      path: 'internal/recipes/likes.go',
      code: `package recipes

func (s *Service) Like(ctx context.Context, recipeID, userID int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	totals, err := s.repo.LikeTotals(ctx, tx, recipeID)
	if err != nil {
		return err
	}
	totals.Likes++
	totals.Score += 2
	if err := s.repo.StoreLikeTotals(ctx, tx, totals); err != nil {
		return err
	}
	return tx.Commit()
}
`,
      errors: [{ mode: 'lost_update', line: 9 }],
    },
    {
      name: 'typeorm: pair loaded by a helper outside the transaction, absolute values written inside it',
      path: 'src/league/fixtures.service.ts',
      code: `export class FixturesService {
  async recordResult(dto: ResultDto): Promise<void> {
    const [home, away] = await this.fetchTeams(dto.homeId, dto.awayId);
    const points = dto.homeGoals > dto.awayGoals ? 3 : 0;
    await this.dataSource.transaction(async (manager) => {
      await manager.save(manager.create(Fixture, { homeId: home.id, awayId: away.id }));
      await manager.update(Team, home.id, { points: home.points + points, played: home.played + 1 });
    });
  }
}
`,
      errors: [{ mode: 'lost_update', line: 3 }],
    },
    {
      name: 'python: stock level read through an inventory gateway, decremented, saved through it',
      path: 'warehouse/picking.py',
      code: `class InventoryGateway:
    def get_level(self, sku):
        row = self.db.execute("SELECT sku, on_hand FROM stock WHERE sku = %s", (sku,)).fetchone()
        return Level(*row)

    def save_level(self, level):
        self.db.execute("UPDATE stock SET on_hand = %s WHERE sku = %s", (level.on_hand, level.sku))


class PickingService:
    def __init__(self, inventory):
        self.inventory = inventory

    def pick(self, sku, qty):
        level = self.inventory.get_level(sku)
        if level.on_hand < qty:
            raise OutOfStock(sku)
        level.on_hand -= qty
        self.inventory.save_level(level)
`,
      errors: [{ mode: 'lost_update', line: 15 }],
    },
    {
      name: 'python service: attribute returned by a private method, sum written back by another that saves',
      path: 'loyalty/services/points.py',
      code: `class PointsService:
    def __init__(self, account):
        self.account = account

    def award(self, n):
        points = self._current()
        self._write(points + n)

    def _current(self):
        return self.account.points

    def _write(self, points):
        self.account.points = points
        self.account.save(update_fields=["points"])
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'ioredis class: level read through a sibling method, decremented in JS, SET back with the same key helper',
      path: 'src/ratelimit/bucket.ts',
      code: `import type Redis from 'ioredis';

export class TokenBucket {
  constructor(private readonly redis: Redis) {}

  private slot(clientId: string): string {
    return \`bucket:\${clientId}\`;
  }

  async level(clientId: string): Promise<number> {
    const raw = await this.redis.get(this.slot(clientId));
    return raw === null ? 100 : Number(raw);
  }

  async take(clientId: string, cost: number): Promise<boolean> {
    const left = await this.level(clientId);
    if (left < cost) return false;
    const remaining = left - cost;
    await this.redis.set(this.slot(clientId), String(remaining), 'EX', 60);
    return true;
  }
}
`,
      errors: [{ mode: 'lost_update', line: 17 }],
    },
    {
      name: 'ioredis class: JSON state loaded and stored through sibling methods, counts rebuilt in an object literal',
      path: 'src/league/scoreboard.ts',
      code: `import type { Redis } from 'ioredis';

export class Scoreboard {
  constructor(private readonly redis: Redis) {}

  private key(matchId: string) {
    return \`match:\${matchId}:score\`;
  }

  async load(matchId: string) {
    const raw = await this.redis.get(this.key(matchId));
    return raw ? JSON.parse(raw) : null;
  }

  async store(matchId: string, board: { home: number; away: number }) {
    await this.redis.set(this.key(matchId), JSON.stringify(board));
  }

  async goal(matchId: string, side: 'home' | 'away') {
    const board = (await this.load(matchId)) ?? { home: 0, away: 0 };
    const updated = {
      home: board.home + (side === 'home' ? 1 : 0),
      away: board.away + (side === 'away' ? 1 : 0),
    };
    await this.store(matchId, updated);
    return updated;
  }
}
`,
      errors: [{ mode: 'lost_update', line: 21 }],
    },
    {
      name: 'ruby service: record attributes read by one private method, sums written back by another',
      path: 'app/services/wallet_ledger.rb',
      code: `class WalletLedger
  def initialize(wallet)
    @wallet = wallet
  end

  def spend(cents)
    balance, spent = snapshot
    persist(balance - cents, spent + cents)
  end

  private

  def snapshot
    [@wallet.balance_cents.to_i, @wallet.spent_cents.to_i]
  end

  def persist(balance, spent)
    @wallet.update!(balance_cents: balance, spent_cents: spent)
  end
end
`,
      errors: [{ mode: 'lost_update', line: 7 }],
    },
    {
      name: 'ruby service: attribute read by a private method, written back directly with update_columns',
      path: 'app/services/seat_counter.rb',
      code: `class SeatCounter
  def initialize(flight)
    @flight = flight
  end

  def book(n)
    taken = seats_taken
    @flight.update_columns(seats_taken: taken + n)
  end

  private

  def seats_taken
    @flight.seats_taken
  end
end
`,
      errors: [{ mode: 'lost_update', line: 7 }],
    },
    {
      name: 'ruby: model copies an array attribute, appends and saves the whole array',
      path: 'app/models/course.rb',
      code: `class Course < ApplicationRecord
  def enrol!(student)
    roster = student_ids.dup
    return if roster.include?(student.id)

    roster << student.id
    update!(student_ids: roster, seats_taken: roster.size)
  end
end
`,
      errors: [{ mode: 'lost_update', line: 3 }],
    },
    {
      name: 'ruby: model removes from an array attribute in place and saves',
      path: 'app/models/playlist.rb',
      code: `class Playlist < ApplicationRecord
  def drop_track!(track_id)
    track_ids.delete(track_id)
    save!
  end
end
`,
      errors: [{ mode: 'lost_update', line: 3 }],
    },
    {
      name: 'go: struct loaded through a store helper, field decremented in Go, written back absolute',
      path: 'internal/stock/store.go',
      code: `package stock

func (s *Store) Consume(ctx context.Context, binID int64, qty int) error {
	bin, err := s.BinByID(ctx, binID)
	if err != nil {
		return err
	}
	left := bin.OnHand - qty
	_, err = s.db.ExecContext(ctx, \`UPDATE bins SET on_hand = $1 WHERE id = $2\`, left, bin.ID)
	return err
}
`,
      errors: [{ mode: 'lost_update', line: 4 }],
    },
    {
      name: 'rails model method: self.f = f - n on its own attribute, then save!',
      path: 'app/models/warehouse_bin.rb',
      code: `class WarehouseBin < ApplicationRecord
  belongs_to :warehouse

  def pick!(qty)
    self.units_on_hand = units_on_hand - qty
    self.picked_total += qty
    save!
  end
end
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'rails model method: new value kept in a local from the attribute, written back with update!',
      path: 'app/models/print_quota.rb',
      code: `class PrintQuota < ApplicationRecord
  belongs_to :student

  def charge_pages!(pages:, printer:)
    raise ArgumentError, "quota exhausted" if pages > pages_remaining

    transaction do
      left = pages_remaining - pages
      update!(pages_remaining: left)
      print_jobs.create!(pages: pages, printer: printer, left_after: left)
    end
  end
end
`,
      errors: [{ mode: 'lost_update', line: 8 }],
    },
    {
      name: 'sequel model method: local sum from the attribute assigned back, then save',
      path: 'lib/models/seed_bank.rb',
      code: `class SeedBank < Sequel::Model
  def deposit(packets)
    stocked = self.packet_count + packets
    self.packet_count = stocked
    save
  end
end
`,
      errors: [{ mode: 'lost_update', line: 3 }],
    },
    {
      name: 'rails model method: self.f = self.f + n with the explicit receiver on both sides, then save!',
      path: 'app/models/kiln.rb',
      code: `class Kiln < ApplicationRecord
  has_many :firing_logs

  def fire!(loads)
    self.firing_count = self.firing_count + loads
    save!
  end
end
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'rails model method: update!(f: f + n) with the record as implicit receiver',
      path: 'app/models/workshop.rb',
      code: `class Workshop < ApplicationRecord
  has_many :signups

  def enrol(count)
    update!(seats_taken: seats_taken + count, last_signup_at: Time.current)
  end
end
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'rails: record loaded through an association, field + 1 in a local, update! of the total',
      path: 'app/services/lockers/release.rb',
      code: `class ReleaseLocker
  def initialize(locker:)
    @locker = locker
  end

  def call
    bank = @locker.bank
    free_now = bank.free_lockers + 1
    bank.update!(
      free_lockers: [free_now, bank.total_lockers].min,
      released_at: Time.current
    )
  end
end
`,
      errors: [{ mode: 'lost_update', line: 9 }],
    },
    {
      name: 'sequelize findByPk, += in JS, save()',
      path: 'src/wallet.js',
      code: `const { sequelize, Wallet } = require('./models');

async function topUp(walletId, amount) {
  return sequelize.transaction(async (t) => {
    const wallet = await Wallet.findByPk(walletId, { transaction: t });
    wallet.balanceCents += amount;
    await wallet.save({ transaction: t });
    return wallet;
  });
}
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'prisma findUnique then update with a value computed from the read',
      path: 'src/inventory.ts',
      code: `import { prisma } from './db';

export async function reserve(productId: string, qty: number) {
  const product = await prisma.product.findUniqueOrThrow({ where: { id: productId } });
  if (product.stock < qty) throw new Error('out of stock');
  return prisma.product.update({
    where: { id: productId },
    data: { stock: product.stock - qty },
  });
}
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'prisma: new value in a local, written back',
      path: 'src/points.ts',
      code: `import { prisma } from './db';

export async function award(userId: string, points: number) {
  const user = await prisma.user.findUnique({ where: { id: userId } });
  const next = user!.points + points;
  await prisma.user.update({ where: { id: userId }, data: { points: next } });
}
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'django get, +=, save()',
      path: 'shop/services.py',
      code: `from .models import Product


def restock(product_id, qty):
    product = Product.objects.get(pk=product_id)
    product.stock += qty
    product.save(update_fields=["stock"])
    return product.stock
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'go database/sql SELECT, ++, UPDATE SET col = $1',
      path: 'internal/views/counter.go',
      code: `package views

import "context"

func (s *Store) Hit(ctx context.Context, pageID int64) (int, error) {
	var views int
	if err := s.db.QueryRowContext(ctx, \`SELECT view_count FROM pages WHERE id = $1\`, pageID).Scan(&views); err != nil {
		return 0, err
	}
	views++
	_, err := s.db.ExecContext(ctx, \`UPDATE pages SET view_count = $1 WHERE id = $2\`, views, pageID)
	return views, err
}
`,
      errors: [{ mode: 'lost_update', line: 10 }],
    },
    {
      name: 'python DB-API SELECT, fetchone, UPDATE with the computed value',
      path: 'app/stock.py',
      code: `def take(conn, sku, qty):
    with conn.cursor() as cur:
        cur.execute("SELECT quantity FROM stock_levels WHERE sku = %s", (sku,))
        (quantity,) = cur.fetchone()
        remaining = quantity - qty
        cur.execute("UPDATE stock_levels SET quantity = %s WHERE sku = %s", (remaining, sku))
    conn.commit()
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'activerecord find, +=, save!',
      path: 'app/services/loyalty.rb',
      code: `class Loyalty
  def add_points(account_id, points)
    account = Account.find(account_id)
    account.points += points
    account.save!
  end
end
`,
      errors: [{ mode: 'lost_update', line: 4 }],
    },
    {
      name: 'mongoose findById, push into an array field, save()',
      path: 'src/tags.ts',
      code: `import { Article } from './models';

export async function addTag(id: string, tag: string) {
  const article = await Article.findById(id);
  if (!article) throw new Error('not found');
  article.tags.push(tag);
  await article.save();
}
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'knex first() then update with the read value plus the amount',
      path: 'src/ledger.ts',
      code: `import { db } from './db';

export async function credit(accountId: string, amount: number) {
  await db.transaction(async (trx) => {
    const account = await trx('accounts').where({ id: accountId }).first();
    await trx('accounts').where({ id: accountId }).update({ balance: account.balance + amount });
  });
}
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'rails: hash column of current_tenant merged in Ruby and written whole with update!',
      path: 'app/controllers/branding_controller.rb',
      code: `class BrandingController < ApplicationController
  def update
    patch = params.require(:theme).permit(:primary, :accent, :logo_url).to_h
    theme = current_tenant.theme_settings.merge(patch)
    current_tenant.update!(theme_settings: theme)
    head :no_content
  end
end
`,
      errors: [{ mode: 'lost_update', line: 4 }],
    },
    {
      name: 'rails: before_action record, deep_merge assigned back and saved',
      path: 'app/controllers/boards_controller.rb',
      code: `class BoardsController < ApplicationController
  before_action :set_board

  def update_layout
    @board.layout = @board.layout.deep_merge(params[:layout].to_unsafe_h)
    @board.save!
    render json: @board.layout
  end
end
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'rails: inline merge in update! of a found record',
      path: 'app/services/tag_colors.rb',
      code: `class TagColors
  def self.set(project_id, tag, color)
    project = Project.find(project_id)
    project.update!(tag_colors: project.tag_colors.merge(tag => color))
  end
end
`,
      errors: [{ mode: 'lost_update', line: 4 }],
    },
    {
      name: 'prisma: JSON field spread with the patch in a multi-line update',
      path: 'src/workspaces/flags.ts',
      code: `import { prisma } from '../db';

export async function setFlags(workspaceId: string, patch: Record<string, boolean>) {
  const ws = await prisma.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
  await prisma.workspace.update({
    where: { id: workspaceId },
    data: {
      flags: {
        ...(ws.flags as Record<string, boolean>),
        ...patch,
      },
    },
  });
}
`,
      errors: [{ mode: 'lost_update', line: 9 }],
    },
    {
      name: 'django: request.user JSONField rebuilt with ** and saved',
      path: 'accounts/views.py',
      code: `import json

from django.http import JsonResponse


def save_shortcuts(request):
    data = json.loads(request.body)
    request.user.shortcuts = {**request.user.shortcuts, **data}
    request.user.save(update_fields=["shortcuts"])
    return JsonResponse(request.user.shortcuts)
`,
      errors: [{ mode: 'lost_update', line: 8 }],
    },
    {
      name: 'django: a model passed in gets one dict key set and is saved',
      path: 'billing/limits.py',
      code: `def set_limit(plan, name, value):
    plan.limits[name] = value
    plan.save(update_fields=["limits"])
`,
      errors: [{ mode: 'lost_update', line: 2 }],
    },
    {
      name: 'sqlalchemy: dict(field, **extra) assigned back, then commit',
      path: 'app/documents.py',
      code: `async def annotate(session, doc_id, extra):
    doc = await session.get(Document, doc_id)
    doc.annotations = dict(doc.annotations, **extra)
    await session.commit()
`,
      errors: [{ mode: 'lost_update', line: 3 }],
    },
    {
      name: 'celery task: counter on a shared row loaded by id is still a lost update',
      path: 'loyalty/tasks.py',
      code: `from celery import shared_task

from .models import Member


@shared_task
def award_stamp(member_id):
    member = Member.objects.get(pk=member_id)
    member.stamps += 1
    member.save(update_fields=["stamps"])


def on_purchase(purchase):
    award_stamp.delay(purchase.member_id)
`,
      errors: [{ mode: 'lost_update', line: 9 }],
    },
    {
      name: 'ioredis: JSON value read, a counter bumped in JS, SET back to the same key',
      path: 'src/analytics/visits.ts',
      code: `import Redis from 'ioredis';

const redis = new Redis(process.env.REDIS_URL!);

export async function recordVisit(siteId: string, path: string) {
  const key = \`visits:\${siteId}\`;
  const raw = await redis.get(key);
  const counts: Record<string, number> = raw ? JSON.parse(raw) : {};
  counts[path] = (counts[path] ?? 0) + 1;
  await redis.set(key, JSON.stringify(counts));
}
`,
      errors: [{ mode: 'lost_update', line: 7 }],
    },
    {
      name: 'redis.asyncio: a loader given the client, an item appended, SET back inside a pipeline',
      path: 'shop/cart_store.py',
      code: `import json


async def load_cart(redis, user_id):
    raw = await redis.get(f"cart:{user_id}")
    return json.loads(raw) if raw else {"items": []}


async def add_to_cart(redis, user_id, sku, qty):
    cart = await load_cart(redis, user_id)
    cart["items"].append({"sku": sku, "qty": qty})
    async with redis.pipeline() as pipe:
        pipe.set(f"cart:{user_id}", json.dumps(cart))
        pipe.expire(f"cart:{user_id}", 86400)
        await pipe.execute()
`,
      errors: [{ mode: 'lost_update', line: 10 }],
    },
    {
      name: 'redis-rb: GET, to_i, SET count + 1',
      path: 'app/services/download_counter.rb',
      code: `class DownloadCounter
  def self.bump(file_id)
    count = REDIS.get("downloads:#{file_id}").to_i
    REDIS.set("downloads:#{file_id}", count + 1)
  end
end
`,
      errors: [{ mode: 'lost_update', line: 3 }],
    },
    {
      name: 'go-redis: Get(ctx, key).Int(), Set(ctx, key, cur+pts)',
      path: 'internal/rewards/points.go',
      code: `package rewards

import (
	"context"

	"github.com/redis/go-redis/v9"
)

func (s *Store) AddPoints(ctx context.Context, userID string, pts int) error {
	key := "points:" + userID
	cur, err := s.rdb.Get(ctx, key).Int()
	if err != nil && err != redis.Nil {
		return err
	}
	return s.rdb.Set(ctx, key, cur+pts, 0).Err()
}
`,
      errors: [{ mode: 'lost_update', line: 11 }],
    },
    {
      name: 'dynamodb: GetCommand, balance changed on the item, PutCommand without a condition',
      path: 'src/wallets/debit.ts',
      code: `import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from './client';

export async function debit(walletId: string, amount: number) {
  const { Item } = await ddb.send(new GetCommand({ TableName: 'wallets', Key: { id: walletId } }));
  if (!Item || Item.balance < amount) throw new Error('insufficient funds');
  Item.balance -= amount;
  await ddb.send(new PutCommand({ TableName: 'wallets', Item }));
}
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'django cache: get attempts, set attempts + 1',
      path: 'accounts/lockout.py',
      code: `from django.core.cache import cache


def note_failed_login(username):
    key = f"failed-logins:{username}"
    attempts = cache.get(key, 0)
    cache.set(key, attempts + 1, timeout=900)
    return attempts + 1 >= 5
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'activerecord: field copied to a local, capped total computed from it, update! in a job',
      path: 'app/jobs/apply_loyalty_bonus_job.rb',
      code: `class ApplyLoyaltyBonusJob
  include Sidekiq::Job

  def perform(member_id, amount)
    member = Member.find(member_id)
    before = member.points_balance
    total = [before + amount, member.tier_cap].min
    member.update!(points_balance: total, last_bonus_at: Time.current)
  end
end
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'django: field copied to a local, assigned back with arithmetic, save()',
      path: 'billing/fees.py',
      code: `from .models import Wallet


def charge_fee(wallet_id, fee):
    wallet = Wallet.objects.get(pk=wallet_id)
    current = wallet.balance
    wallet.balance = current - fee
    wallet.save(update_fields=["balance"])
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'node-redis v4: hGet a field, hSet the field to the parsed value plus one',
      path: 'src/quiz/streaks.ts',
      code: `import { createClient } from 'redis';

const client = createClient();

export async function extendStreak(userId: string, quizId: string) {
  const current = await client.hGet(\`streaks:\${quizId}\`, userId);
  await client.hSet(\`streaks:\${quizId}\`, userId, Number(current ?? 0) + 1);
}
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'django decorator: get_or_create, the wrapped view runs, += and save(update_fields) after it',
      path: 'billing/credits.py',
      code: `import functools

from .models import CreditLedger


def charge_pages(pages=1):
    def decorator(render):
        @functools.wraps(render)
        def wrapper(request, *args, **kwargs):
            ledger, _created = CreditLedger.objects.get_or_create(account=request.account, defaults={"spent": 0})
            if ledger.spent + pages > request.account.page_allowance:
                raise PermissionError("out of credits")
            document = render(request, *args, **kwargs)
            ledger.spent += pages
            ledger.save(update_fields=["spent"])
            return document

        return wrapper

    return decorator
`,
      errors: [{ mode: 'lost_update', line: 14 }],
    },
    {
      name: 'python context manager: row read before the yield, added to and saved after it',
      path: 'telemetry/tracking.py',
      code: `from contextlib import contextmanager

from .models import RouteStat


@contextmanager
def timed_route(route_name):
    stat = RouteStat.objects.get(route=route_name)
    yield stat
    stat.invocations = stat.invocations + 1
    stat.save()
`,
      errors: [{ mode: 'lost_update', line: 10 }],
    },
    {
      name: 'express wrapper: sequelize findOrCreate, handler awaited, += and save()',
      path: 'src/middleware/meter.js',
      code: `const { ApiMeter } = require('../models');

function metered(handler, weight = 1) {
  return async (req, res) => {
    const [meter] = await ApiMeter.findOrCreate({ where: { tokenId: req.token.id }, defaults: { calls: 0 } });
    await handler(req, res);
    meter.calls += weight;
    await meter.save();
  };
}

module.exports = { metered };
`,
      errors: [{ mode: 'lost_update', line: 7 }],
    },
    {
      name: 'rails around hook: find_or_create_by!, yield, += and save!',
      path: 'app/controllers/concerns/hit_counter.rb',
      code: `module HitCounter
  def count_hit
    stat = DailyHit.find_or_create_by!(day: Date.current, path: request.path)
    yield
    stat.hits += 1
    stat.save!
  end
end
`,
      errors: [{ mode: 'lost_update', line: 5 }],
    },
    {
      name: 'go gorm: First(&row), next handler, field += cost, Save(&row)',
      path: 'internal/quota/middleware.go',
      code: `package quota

import (
	"net/http"

	"gorm.io/gorm"
)

func Meter(db *gorm.DB, cost int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowance Allowance
		if err := db.Where("client_id = ?", r.Header.Get("X-Client")).First(&allowance).Error; err != nil {
			http.Error(w, "unknown client", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
		allowance.Used += cost
		db.Save(&allowance)
	})
}
`,
      errors: [{ mode: 'lost_update', line: 17 }],
    },
    {
      name: 'go pgx: JSON column scanned into bytes, decoded, map incremented, encoded and written whole',
      path: 'internal/posts/reactions.go',
      code: `package posts

import (
	"context"
	"encoding/json"
)

func (r *Repo) React(ctx context.Context, postID, emoji string) error {
	var blob []byte
	if err := r.db.QueryRow(ctx, \`SELECT reaction_tally FROM posts WHERE id = $1\`, postID).Scan(&blob); err != nil {
		return err
	}
	tally := map[string]int{}
	if err := json.Unmarshal(blob, &tally); err != nil {
		return err
	}
	tally[emoji]++
	out, err := json.Marshal(tally)
	if err != nil {
		return err
	}
	_, err = r.db.Exec(ctx, \`UPDATE posts SET reaction_tally = $1 WHERE id = $2\`, out, postID)
	return err
}
`,
      errors: [{ mode: 'lost_update', line: 17 }],
    },
    {
      name: 'node pg: JSON.parse of a selected column, a key set, JSON.stringify bound to UPDATE ... SET col = $1',
      path: 'src/workspaces/flags.ts',
      code: `import { pool } from '../db';

export async function setFlag(workspaceId: string, flag: string, enabled: boolean) {
  const { rows: [row] } = await pool.query('SELECT feature_flags FROM workspaces WHERE id = $1', [workspaceId]);
  const flags = JSON.parse(row.feature_flags ?? '{}');
  flags[flag] = enabled;
  await pool.query('UPDATE workspaces SET feature_flags = $1 WHERE id = $2', [JSON.stringify(flags), workspaceId]);
}
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'psycopg: json.loads of a fetched column, a count bumped, json.dumps written back with %s',
      path: 'polls/votes.py',
      code: `import json


def cast_vote(conn, poll_id, option):
    with conn.cursor() as cur:
        cur.execute("SELECT tallies FROM polls WHERE id = %s", (poll_id,))
        (raw,) = cur.fetchone()
        tallies = json.loads(raw or "{}")
        tallies[option] = tallies.get(option, 0) + 1
        cur.execute("UPDATE polls SET tallies = %s WHERE id = %s", (json.dumps(tallies), poll_id))
    conn.commit()
`,
      errors: [{ mode: 'lost_update', line: 9 }],
    },
    {
      name: 'knex: JSON column decoded into a local, a key set, re-encoded into update()',
      path: 'src/teams/theme.js',
      code: `const knex = require('../db');

async function setTheme(teamId, theme) {
  const team = await knex('teams').where({ id: teamId }).first();
  const settings = JSON.parse(team.settings || '{}');
  settings.theme = theme;
  await knex('teams').where({ id: teamId }).update({ settings: JSON.stringify(settings) });
}

module.exports = { setTheme };
`,
      errors: [{ mode: 'lost_update', line: 6 }],
    },
    {
      name: 'django: JSON field taken into a local, a key set in place, record saved',
      path: 'profiles/digest.py',
      code: `from .models import Profile


def set_digest(user_id, frequency):
    profile = Profile.objects.get(user_id=user_id)
    prefs = profile.preferences
    prefs["digest"] = frequency
    profile.save(update_fields=["preferences"])
`,
      errors: [{ mode: 'lost_update', line: 7 }],
    },
    {
      name: 'go sqlx: GetContext(&dest) of a column, field++ in Go, UPDATE with the computed value',
      path: 'internal/billing/seats.go',
      code: `package billing

import "context"

func (s *Store) AddSeat(ctx context.Context, orgID string) error {
	var plan Plan
	if err := s.db.GetContext(ctx, &plan, "SELECT seats_used FROM plans WHERE org_id = $1", orgID); err != nil {
		return err
	}
	plan.SeatsUsed++
	_, err := s.db.ExecContext(ctx, "UPDATE plans SET seats_used = $1 WHERE org_id = $2", plan.SeatsUsed, orgID)
	return err
}
`,
      errors: [{ mode: 'lost_update', line: 10 }],
    },
    {
      name: 'sqlite: json.loads of a fetched column, a list appended, bound to the second ? of the UPDATE',
      path: 'notes/labels.py',
      code: `import json


def add_label(conn, note_id, editor, label):
    row = conn.execute("SELECT meta FROM notes WHERE id = ?", (note_id,)).fetchone()
    meta = json.loads(row[0])
    meta["labels"].append(label)
    conn.execute("UPDATE notes SET edited_by = ?, meta = ? WHERE id = ?", (editor, json.dumps(meta), note_id))
`,
      errors: [{ mode: 'lost_update', line: 7 }],
    },
  ],
  valid: [
    {
      name: 'fixed twin: the row is read with Model.lock.find_by! inside the transaction',
      path: 'app/jobs/record_visit_job.rb',
      code: `class RecordVisitJob
  include Sidekiq::Job

  def perform(park_id, visitors)
    ApplicationRecord.transaction do
      tally = ParkTally.lock.find_by!(park_id: park_id)
      before = tally.visitors
      tally.update!(visitors: before + visitors)
    end
  end
end
`,
    },
    {
      name: 'fixed twin: redis level counts as a hash changed with HINCRBY in a MULTI',
      path: 'src/parking/levelOccupancy.ts',
      code: `import type Redis from 'ioredis';

const levelKey = (levelId: string) => \`garage:level:\${levelId}\`;

export class LevelOccupancy {
  constructor(private readonly redis: Redis) {}

  async get(levelId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(levelKey(levelId));
  }

  async carEntered(levelId: string): Promise<void> {
    await this.redis.multi().hincrby(levelKey(levelId), 'freeSpaces', -1).expire(levelKey(levelId), 600).exec();
  }
}
`,
    },
    {
      name: 'fixed twin: ruby cache counters with Rails.cache.increment',
      path: 'app/services/poll_tally.rb',
      code: `class PollTally
  def self.key(poll_id, option)
    "poll_tally/#{poll_id}/#{option}"
  end

  def self.vote!(poll, option)
    Rails.cache.increment(key(poll.id, "total"), 1, expires_in: 1.hour)
    Rails.cache.increment(key(poll.id, option), 1, expires_in: 1.hour)
  end
end
`,
    },
    {
      name: 'fixed twin: ruby cache fetch used read-only',
      path: 'app/services/badge_counter.rb',
      code: `class BadgeCounter
  def self.show(member)
    counts = Rails.cache.fetch("badges/#{member.id}") { { "earned" => member.badges.count } }
    Rails.cache.write("badges/last_viewed", member.id)
    counts
  end
end
`,
    },
    {
      name: 'fixed twin: django fee added with F() in the helper',
      path: 'library/fines.py',
      code: `from decimal import Decimal

from django.db.models import F

from .models import Patron


class FineDesk:
    def add_late_fee(self, patron, days):
        fee = Decimal("0.25") * days
        self._add_outstanding(patron, fee)
        return self.outstanding(patron) + fee

    def _add_outstanding(self, patron, amount):
        Patron.objects.filter(pk=patron.pk).update(fines_due=F("fines_due") + amount)
`,
    },
    {
      name: 'fixed twin: the store debits in one atomic step, nothing read back in the service',
      path: 'src/arcade/play.service.ts',
      code: `export class PlayService {
  constructor(private readonly wallets: TokenWalletStore, private readonly machines: MachineBus) {}

  async startGame(playerId: string, machineId: string): Promise<void> {
    const left = await this.wallets.debit(playerId, 2);
    if (left < 0) {
      await this.wallets.credit(playerId, 2);
      throw new Error('not enough tokens');
    }
    await this.machines.unlock(machineId);
  }
}
`,
    },
    {
      name: 'fixed twin: go repository adds in one UPDATE … RETURNING',
      path: 'internal/recipes/likes.go',
      code: `package recipes

func (s *Service) Like(ctx context.Context, recipeID, userID int64) (*LikeTotals, error) {
	var t LikeTotals
	err := s.db.QueryRowContext(ctx, \`
		UPDATE recipes SET likes = likes + 1, score = score + 2
		 WHERE id = $1 RETURNING likes, score\`, recipeID).Scan(&t.Likes, &t.Score)
	return &t, err
}
`,
    },
    {
      name: 'fixed twin: typeorm pair read with pessimistic_write inside the transaction',
      path: 'src/league/fixtures.service.ts',
      code: `export class FixturesService {
  async recordResult(dto: ResultDto): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const teams = await manager.find(Team, { where: { id: In([dto.homeId, dto.awayId]) }, order: { id: 'ASC' }, lock: { mode: 'pessimistic_write' } });
      const home = teams.find((t) => t.id === dto.homeId)!;
      const points = dto.homeGoals > dto.awayGoals ? 3 : 0;
      await manager.update(Team, home.id, { points: home.points + points, played: home.played + 1 });
    });
  }
}
`,
    },
    {
      name: 'fixed twin: python gateway save compares the version it read',
      path: 'warehouse/picking.py',
      code: `class InventoryGateway:
    def get_level(self, sku):
        row = self.db.execute("SELECT sku, on_hand, version FROM stock WHERE sku = %s", (sku,)).fetchone()
        return Level(*row)

    def save_level(self, level):
        n = self.db.execute(
            "UPDATE stock SET on_hand = %s, version = version + 1 WHERE sku = %s AND version = %s",
            (level.on_hand, level.sku, level.version),
        ).rowcount
        if n == 0:
            raise Conflict(level.sku)


class PickingService:
    def __init__(self, inventory):
        self.inventory = inventory

    def pick(self, sku, qty):
        level = self.inventory.get_level(sku)
        if level.on_hand < qty:
            raise OutOfStock(sku)
        level.on_hand -= qty
        self.inventory.save_level(level)
`,
    },
    {
      name: 'in-process map: an entry read without await and put back is not a shared store',
      path: 'src/metrics/hits.ts',
      code: `export class HitCounter {
  private readonly entries = new Map<string, { hits: number }>();

  record(path: string): void {
    const entry = this.entries.get(path) ?? { hits: 0 };
    entry.hits += 1;
    this.entries.set(path, entry);
  }
}
`,
    },
    {
      name: 'fixed twin: python service adds with an F() expression',
      path: 'loyalty/services/points.py',
      code: `from django.db.models import F

from loyalty.models import Account


class PointsService:
    def __init__(self, account):
        self.account = account

    def award(self, n):
        Account.objects.filter(pk=self.account.pk).update(points=F("points") + n)

    def _current(self):
        return self.account.points
`,
    },
    {
      name: 'fixed twin: token bucket decremented by Redis itself (DECRBY), the sibling read only serves a status call',
      path: 'src/ratelimit/bucket.ts',
      code: `import type Redis from 'ioredis';

export class TokenBucket {
  constructor(private readonly redis: Redis) {}

  private slot(clientId: string): string {
    return \`bucket:\${clientId}\`;
  }

  async level(clientId: string): Promise<number> {
    const raw = await this.redis.get(this.slot(clientId));
    return raw === null ? 100 : Number(raw);
  }

  async take(clientId: string, cost: number): Promise<boolean> {
    const remaining = await this.redis.decrby(this.slot(clientId), cost);
    if (remaining < 0) {
      await this.redis.incrby(this.slot(clientId), cost);
      return false;
    }
    return true;
  }
}
`,
    },
    {
      name: 'fixed twin: scoreboard WATCHes the key, loads, and writes in MULTI through the sibling method',
      path: 'src/league/scoreboard.ts',
      code: `import type { Redis } from 'ioredis';

export class Scoreboard {
  constructor(private readonly redis: Redis) {}

  private key(matchId: string) {
    return \`match:\${matchId}:score\`;
  }

  async load(matchId: string) {
    const raw = await this.redis.get(this.key(matchId));
    return raw ? JSON.parse(raw) : null;
  }

  async goal(matchId: string, side: 'home' | 'away') {
    for (;;) {
      await this.redis.watch(this.key(matchId));
      const board = (await this.load(matchId)) ?? { home: 0, away: 0 };
      const updated = {
        home: board.home + (side === 'home' ? 1 : 0),
        away: board.away + (side === 'away' ? 1 : 0),
      };
      const ok = await this.redis.multi().set(this.key(matchId), JSON.stringify(updated)).exec();
      if (ok) return updated;
    }
  }
}
`,
    },
    {
      name: 'sibling write of a fresh value not computed from the sibling read stays quiet',
      path: 'src/league/scoreboard.ts',
      code: `import type { Redis } from 'ioredis';

export class Scoreboard {
  constructor(private readonly redis: Redis) {}

  async load(matchId: string) {
    const raw = await this.redis.get(\`match:\${matchId}\`);
    return raw ? JSON.parse(raw) : null;
  }

  async store(matchId: string, board: { home: number; away: number }) {
    await this.redis.set(\`match:\${matchId}\`, JSON.stringify(board));
  }

  async kickOff(matchId: string) {
    const board = await this.load(matchId);
    if (board) return board;
    const fresh = { home: 0, away: 0 };
    await this.store(matchId, fresh);
    return fresh;
  }
}
`,
    },
    {
      name: 'fixed twin: wallet ledger holds the row lock around the helper read and write',
      path: 'app/services/wallet_ledger.rb',
      code: `class WalletLedger
  def initialize(wallet)
    @wallet = wallet
  end

  def spend(cents)
    @wallet.with_lock do
      balance, spent = snapshot
      persist(balance - cents, spent + cents)
    end
  end

  private

  def snapshot
    [@wallet.balance_cents.to_i, @wallet.spent_cents.to_i]
  end

  def persist(balance, spent)
    @wallet.update!(balance_cents: balance, spent_cents: spent)
  end
end
`,
    },
    {
      name: 'fixed twin: seat counter lets the database add (update_counters)',
      path: 'app/services/seat_counter.rb',
      code: `class SeatCounter
  def initialize(flight)
    @flight = flight
  end

  def book(n)
    Flight.update_counters(@flight.id, seats_taken: n)
  end

  private

  def seats_taken
    @flight.seats_taken
  end
end
`,
    },
    {
      name: 'fixed twin: ruby array attribute changed atomically in SQL',
      path: 'app/models/course.rb',
      code: `class Course < ApplicationRecord
  def enrol!(student)
    Course.where(id: id).where.not("? = ANY(student_ids)", student.id)
          .update_all(["student_ids = array_append(student_ids, ?), seats_taken = seats_taken + 1", student.id])
  end
end
`,
    },
    {
      name: 'fixed twin: ruby array attribute changed under the row lock',
      path: 'app/models/playlist.rb',
      code: `class Playlist < ApplicationRecord
  def drop_track!(track_id)
    with_lock do
      track_ids.delete(track_id)
      save!
    end
  end
end
`,
    },
    {
      name: 'fixed twin: go decrement done atomically in SQL',
      path: 'internal/stock/store.go',
      code: `package stock

func (s *Store) Consume(ctx context.Context, binID int64, qty int) error {
	bin, err := s.BinByID(ctx, binID)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, \`UPDATE bins SET on_hand = on_hand - $1 WHERE id = $2 AND on_hand >= $1\`, qty, bin.ID)
	return err
}
`,
    },
    {
      name: 'rails model method: the same change under with_lock',
      path: 'app/models/warehouse_bin.rb',
      code: `class WarehouseBin < ApplicationRecord
  belongs_to :warehouse

  def pick!(qty)
    with_lock do
      self.units_on_hand = units_on_hand - qty
      self.picked_total += qty
      save!
    end
  end
end
`,
    },
    {
      name: 'rails model method: local from the attribute under with_lock (fixed twin)',
      path: 'app/models/print_quota.rb',
      code: `class PrintQuota < ApplicationRecord
  belongs_to :student

  def charge_pages!(pages:, printer:)
    with_lock do
      raise ArgumentError, "quota exhausted" if pages > pages_remaining

      left = pages_remaining - pages
      update!(pages_remaining: left)
      print_jobs.create!(pages: pages, printer: printer, left_after: left)
    end
  end
end
`,
    },
    {
      name: 'sequel model method: locked row reloaded before the local sum (fixed twin)',
      path: 'lib/models/seed_bank.rb',
      code: `class SeedBank < Sequel::Model
  def deposit(packets)
    db.transaction do
      lock!
      stocked = self.packet_count + packets
      self.packet_count = stocked
      save
    end
  end
end
`,
    },
    {
      name: 'rails model method: local computed from a parameter, not from the stored attribute',
      path: 'app/models/print_quota.rb',
      code: `class PrintQuota < ApplicationRecord
  belongs_to :student

  def reset_term!(allowance, bonus)
    granted = allowance + bonus
    update!(allowance: granted, pages_remaining: granted)
  end
end
`,
    },
    {
      name: 'rails model method: self.f = self.f + n after lock! (fixed twin)',
      path: 'app/models/kiln.rb',
      code: `class Kiln < ApplicationRecord
  has_many :firing_logs

  def fire!(loads)
    transaction do
      lock!
      self.firing_count = self.firing_count + loads
      save!
    end
  end
end
`,
    },
    {
      name: 'rails model method: atomic update_all with the arithmetic in SQL',
      path: 'app/models/workshop.rb',
      code: `class Workshop < ApplicationRecord
  has_many :signups

  def enrol(count)
    self.class.where(id: id).update_all(["seats_taken = seats_taken + ?", count])
  end
end
`,
    },
    {
      name: 'rails model method: a virtual attribute changed in memory is not a column',
      path: 'app/models/cart.rb',
      code: `class Cart < ApplicationRecord
  attr_accessor :pending_discount

  def add_discount(amount)
    self.pending_discount = pending_discount + amount
    save!
  end
end
`,
    },
    {
      name: 'fixed twin: association record bumped in SQL with update_all',
      path: 'app/services/lockers/release.rb',
      code: `class ReleaseLocker
  def initialize(locker:)
    @locker = locker
  end

  def call
    bank = @locker.bank
    LockerBank.where(id: bank.id).update_all(["free_lockers = LEAST(free_lockers + 1, total_lockers), released_at = ?", Time.current])
  end
end
`,
    },
    {
      name: 'fixed twin: association record changed under with_lock',
      path: 'app/services/lockers/release.rb',
      code: `class ReleaseLocker
  def initialize(locker:)
    @locker = locker
  end

  def call
    bank = @locker.bank
    bank.with_lock do
      free_now = bank.free_lockers + 1
      bank.update!(free_lockers: [free_now, bank.total_lockers].min)
    end
  end
end
`,
    },
    {
      name: 'go sqlx: the seat added in SQL (fixed twin)',
      path: 'internal/billing/seats.go',
      code: `package billing

import "context"

func (s *Store) AddSeat(ctx context.Context, orgID string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE plans SET seats_used = seats_used + 1 WHERE org_id = $1", orgID)
	return err
}
`,
    },
    {
      name: 'sqlite: JSON column read, but the UPDATE binds a document built from the arguments to it',
      path: 'notes/labels.py',
      code: `import json


def replace_labels(conn, note_id, editor, labels):
    row = conn.execute("SELECT meta FROM notes WHERE id = ?", (note_id,)).fetchone()
    meta = json.loads(row[0])
    meta["labels"].append("seen")
    conn.execute("UPDATE notes SET edited_by = ?, meta = ? WHERE id = ?", (meta["owner"], json.dumps({"labels": labels}), note_id))
`,
    },
    {
      name: 'knex: the JSON key set in SQL with jsonb_set (fixed twin)',
      path: 'src/teams/theme.js',
      code: `const knex = require('../db');

async function setTheme(teamId, theme) {
  await knex('teams')
    .where({ id: teamId })
    .update({ settings: knex.raw("jsonb_set(coalesce(settings, '{}'::jsonb), '{theme}', to_jsonb(?::text))", [theme]) });
}

module.exports = { setTheme };
`,
    },
    {
      name: 'django: JSON field changed under select_for_update in atomic() (fixed twin)',
      path: 'profiles/digest.py',
      code: `from django.db import transaction

from .models import Profile


def set_digest(user_id, frequency):
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get(user_id=user_id)
        prefs = profile.preferences
        prefs["digest"] = frequency
        profile.save(update_fields=["preferences"])
`,
    },
    {
      name: 'django: a related manager taken into a local and added to (writes its own join row)',
      path: 'blog/tagging.py',
      code: `from .models import Post, Tag


def tag_post(post_id, label):
    post = Post.objects.get(pk=post_id)
    tags = post.tags
    tags.add(Tag.objects.get(label=label))
    post.touched_by = "tagger"
    post.save()
`,
    },
    {
      name: 'django decorator: the charge is an F() update after the view (fixed twin)',
      path: 'billing/credits.py',
      code: `import functools

from django.db.models import F

from .models import CreditLedger


def charge_pages(pages=1):
    def decorator(render):
        @functools.wraps(render)
        def wrapper(request, *args, **kwargs):
            ledger, _created = CreditLedger.objects.get_or_create(account=request.account, defaults={"spent": 0})
            if ledger.spent + pages > request.account.page_allowance:
                raise PermissionError("out of credits")
            document = render(request, *args, **kwargs)
            CreditLedger.objects.filter(pk=ledger.pk).update(spent=F("spent") + pages)
            return document

        return wrapper

    return decorator
`,
    },
    {
      name: 'python context manager: atomic F() increment after the yield (fixed twin)',
      path: 'telemetry/tracking.py',
      code: `from contextlib import contextmanager

from django.db.models import F

from .models import RouteStat


@contextmanager
def timed_route(route_name):
    stat = RouteStat.objects.get(route=route_name)
    yield stat
    RouteStat.objects.filter(pk=stat.pk).update(invocations=F("invocations") + 1)
`,
    },
    {
      name: 'express wrapper: sequelize increment (fixed twin)',
      path: 'src/middleware/meter.js',
      code: `const { ApiMeter } = require('../models');

function metered(handler, weight = 1) {
  return async (req, res) => {
    const [meter] = await ApiMeter.findOrCreate({ where: { tokenId: req.token.id }, defaults: { calls: 0 } });
    await handler(req, res);
    await meter.increment('calls', { by: weight });
  };
}

module.exports = { metered };
`,
    },
    {
      name: 'rails around hook: update_counters (fixed twin)',
      path: 'app/controllers/concerns/hit_counter.rb',
      code: `module HitCounter
  def count_hit
    stat = DailyHit.find_or_create_by!(day: Date.current, path: request.path)
    yield
    DailyHit.update_counters(stat.id, hits: 1)
  end
end
`,
    },
    {
      name: 'go gorm: gorm.Expr increment (fixed twin)',
      path: 'internal/quota/middleware.go',
      code: `package quota

import (
	"net/http"

	"gorm.io/gorm"
)

func Meter(db *gorm.DB, cost int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowance Allowance
		if err := db.Where("client_id = ?", r.Header.Get("X-Client")).First(&allowance).Error; err != nil {
			http.Error(w, "unknown client", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
		db.Model(&allowance).UpdateColumn("used", gorm.Expr("used + ?", cost))
	})
}
`,
    },
    {
      name: 'go pgx: JSON column read FOR UPDATE in a transaction before the rewrite (fixed twin)',
      path: 'internal/posts/reactions.go',
      code: `package posts

import (
	"context"
	"encoding/json"
)

func (r *Repo) React(ctx context.Context, postID, emoji string) error {
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var blob []byte
	if err := tx.QueryRow(ctx, \`SELECT reaction_tally FROM posts WHERE id = $1 FOR UPDATE\`, postID).Scan(&blob); err != nil {
		return err
	}
	tally := map[string]int{}
	if err := json.Unmarshal(blob, &tally); err != nil {
		return err
	}
	tally[emoji]++
	out, err := json.Marshal(tally)
	if err != nil {
		return err
	}
	if _, err = tx.Exec(ctx, \`UPDATE posts SET reaction_tally = $1 WHERE id = $2\`, out, postID); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
`,
    },
    {
      name: 'node pg: the JSON key set in SQL with jsonb_set, nothing read back (fixed twin)',
      path: 'src/workspaces/flags.ts',
      code: `import { pool } from '../db';

export async function setFlag(workspaceId: string, flag: string, enabled: boolean) {
  await pool.query(
    "UPDATE workspaces SET feature_flags = jsonb_set(COALESCE(feature_flags, '{}'::jsonb), ARRAY[$1], to_jsonb($2::boolean)) WHERE id = $3",
    [flag, enabled, workspaceId],
  );
}
`,
    },
    {
      name: 'psycopg: JSON column read FOR UPDATE before the rewrite (fixed twin)',
      path: 'polls/votes.py',
      code: `import json


def cast_vote(conn, poll_id, option):
    with conn.cursor() as cur:
        cur.execute("SELECT tallies FROM polls WHERE id = %s FOR UPDATE", (poll_id,))
        (raw,) = cur.fetchone()
        tallies = json.loads(raw or "{}")
        tallies[option] = tallies.get(option, 0) + 1
        cur.execute("UPDATE polls SET tallies = %s WHERE id = %s", (json.dumps(tallies), poll_id))
    conn.commit()
`,
    },
    {
      name: 'node pg: JSON column changed in memory, but the column is written from the request body (not the value read)',
      path: 'src/posts/tags.ts',
      code: `import { pool } from '../db';

export async function replaceTags(postId: string, body: { tags: string[] }) {
  const { rows: [post] } = await pool.query('SELECT id, tags FROM posts WHERE id = $1', [postId]);
  post.tags.push('audited');
  const clean = body.tags.map((t) => t.trim());
  await pool.query('UPDATE posts SET tags = $1 WHERE id = $2', [JSON.stringify(clean), post.id]);
}
`,
    },
    {
      name: 'go pgx: JSON column rewritten with a compare-and-set on the old document (quiet)',
      path: 'internal/posts/reactions_cas.go',
      code: `package posts

import (
	"context"
	"encoding/json"
)

func (r *Repo) React(ctx context.Context, postID, emoji string) (bool, error) {
	var blob []byte
	if err := r.db.QueryRow(ctx, \`SELECT reaction_tally FROM posts WHERE id = $1\`, postID).Scan(&blob); err != nil {
		return false, err
	}
	tally := map[string]int{}
	_ = json.Unmarshal(blob, &tally)
	tally[emoji]++
	out, _ := json.Marshal(tally)
	tag, err := r.db.Exec(ctx, \`UPDATE posts SET reaction_tally = $1 WHERE id = $2 AND reaction_tally = $3\`, out, postID, blob)
	return tag.RowsAffected() == 1, err
}
`,
    },
    {
      name: 'rails: hash merge under with_lock (fixed twin)',
      path: 'app/controllers/branding_controller.rb',
      code: `class BrandingController < ApplicationController
  def update
    patch = params.require(:theme).permit(:primary, :accent, :logo_url).to_h
    current_tenant.with_lock do
      current_tenant.update!(theme_settings: current_tenant.theme_settings.merge(patch))
    end
    head :no_content
  end
end
`,
    },
    {
      name: 'rails: jsonb || merged in the database (fixed twin)',
      path: 'app/controllers/boards_controller.rb',
      code: `class BoardsController < ApplicationController
  def update_layout
    Board.where(id: params[:id]).update_all(["layout = layout || ?::jsonb", params[:layout].to_json])
    head :no_content
  end
end
`,
    },
    {
      name: 'prisma: jsonb || in raw SQL (fixed twin)',
      path: 'src/workspaces/flags.ts',
      code: `import { prisma } from '../db';

export async function setFlags(workspaceId: string, patch: Record<string, boolean>) {
  await prisma.$executeRaw\`UPDATE workspaces SET flags = flags || \${JSON.stringify(patch)}::jsonb WHERE id = \${workspaceId}\`;
}
`,
    },
    {
      name: 'django: JSONField merged under select_for_update (fixed twin)',
      path: 'accounts/views.py',
      code: `import json

from django.db import transaction
from django.http import JsonResponse


def save_shortcuts(request):
    data = json.loads(request.body)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=request.user.pk)
        user.shortcuts = {**user.shortcuts, **data}
        user.save(update_fields=["shortcuts"])
    return JsonResponse(user.shortcuts)
`,
    },
    {
      name: 'a hash merged only for the response, never written',
      path: 'app/controllers/prefs_controller.rb',
      code: `class PrefsController < ApplicationController
  def show
    merged = current_user.preferences.merge(DEFAULT_PREFERENCES)
    render json: merged
  end
end
`,
    },
    {
      name: 'a new object built in the function gets merged defaults',
      path: 'billing/plans.py',
      code: `def create_plan(name, limits):
    plan = Plan(name=name)
    plan.limits = {**DEFAULT_LIMITS, **limits}
    plan.save()
    return plan
`,
    },
    {
      name: 'celery task: the row created for this task alone counts its own attempts',
      path: 'exports/tasks.py',
      code: `from celery import shared_task

from .models import ExportRun


@shared_task(bind=True, max_retries=5)
def run_export(self, run_id):
    run = ExportRun.objects.get(pk=run_id)
    run.attempts += 1
    run.save(update_fields=["attempts"])
    build_export(run)


def start_export(user, query):
    run = ExportRun.objects.create(user=user, query=query)
    run_export.delay(run.id)
    return run
`,
    },
    {
      name: 'sequelize with a row lock (fixed twin)',
      path: 'src/wallet.js',
      code: `const { sequelize, Wallet } = require('./models');

async function topUp(walletId, amount) {
  return sequelize.transaction(async (t) => {
    const wallet = await Wallet.findByPk(walletId, { transaction: t, lock: t.LOCK.UPDATE });
    wallet.balanceCents += amount;
    await wallet.save({ transaction: t });
    return wallet;
  });
}
`,
    },
    {
      name: 'prisma atomic decrement with a guard (fixed twin)',
      path: 'src/inventory.ts',
      code: `import { prisma } from './db';

export async function reserve(productId: string, qty: number) {
  const { count } = await prisma.product.updateMany({
    where: { id: productId, stock: { gte: qty } },
    data: { stock: { decrement: qty } },
  });
  if (count === 0) throw new Error('out of stock');
}
`,
    },
    {
      name: 'prisma compare-and-set on the old value (fixed twin)',
      path: 'src/points.ts',
      code: `import { prisma } from './db';

export async function award(userId: string, points: number) {
  const user = await prisma.user.findUnique({ where: { id: userId } });
  const next = user!.points + points;
  const res = await prisma.user.updateMany({ where: { id: userId, points: user!.points }, data: { points: next } });
  if (res.count === 0) throw new Error('retry');
}
`,
    },
    {
      name: 'django F() expression (fixed twin)',
      path: 'shop/services.py',
      code: `from django.db.models import F

from .models import Product


def restock(product_id, qty):
    Product.objects.filter(pk=product_id).update(stock=F("stock") + qty)
`,
    },
    {
      name: 'django select_for_update in atomic',
      path: 'shop/locked.py',
      code: `from django.db import transaction

from .models import Product


def restock(product_id, qty):
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product_id)
        product.stock += qty
        product.save(update_fields=["stock"])
`,
    },
    {
      name: 'go atomic UPDATE ... RETURNING (fixed twin)',
      path: 'internal/views/counter.go',
      code: `package views

import "context"

func (s *Store) Hit(ctx context.Context, pageID int64) (int, error) {
	var views int
	err := s.db.QueryRowContext(ctx, \`UPDATE pages SET view_count = view_count + 1 WHERE id = $1 RETURNING view_count\`, pageID).Scan(&views)
	return views, err
}
`,
    },
    {
      name: 'python DB-API SELECT ... FOR UPDATE (fixed twin)',
      path: 'app/stock.py',
      code: `def take(conn, sku, qty):
    with conn.cursor() as cur:
        cur.execute("SELECT quantity FROM stock_levels WHERE sku = %s FOR UPDATE", (sku,))
        (quantity,) = cur.fetchone()
        remaining = quantity - qty
        cur.execute("UPDATE stock_levels SET quantity = %s WHERE sku = %s", (remaining, sku))
    conn.commit()
`,
    },
    {
      name: 'activerecord with_lock (fixed twin)',
      path: 'app/services/loyalty.rb',
      code: `class Loyalty
  def add_points(account_id, points)
    account = Account.find(account_id)
    account.with_lock do
      account.points += points
      account.save!
    end
  end
end
`,
    },
    {
      name: 'mongoose $push (fixed twin)',
      path: 'src/tags.ts',
      code: `import { Article } from './models';

export async function addTag(id: string, tag: string) {
  const res = await Article.updateOne({ _id: id }, { $addToSet: { tags: tag } });
  if (res.matchedCount === 0) throw new Error('not found');
}
`,
    },
    {
      name: 'knex increment (fixed twin)',
      path: 'src/ledger.ts',
      code: `import { db } from './db';

export async function credit(accountId: string, amount: number) {
  await db('accounts').where({ id: accountId }).increment('balance', amount);
}
`,
    },
    {
      name: 'a form object saved with a value from the request',
      path: 'accounts/views.py',
      code: `def signup(request):
    form = SignupForm(request.POST)
    if form.is_valid():
        signup = form.save(commit=False)
        signup.source = request.GET.get("ref") or None
        signup.save()
`,
    },
    {
      name: 'a field overwritten with a value that does not depend on the old one',
      path: 'src/profile.ts',
      code: `import { User } from './models';

export async function rename(id: string, name: string) {
  const user = await User.findByPk(id);
  user.displayName = name.trim();
  await user.save();
}
`,
    },
    {
      name: 'fixed twin: ioredis WATCH on the key, MULTI/EXEC, retry when it aborts',
      path: 'src/analytics/visits.ts',
      code: `import Redis from 'ioredis';

const redis = new Redis(process.env.REDIS_URL!);

export async function recordVisit(siteId: string, path: string): Promise<void> {
  const key = \`visits:\${siteId}\`;
  await redis.watch(key);
  const raw = await redis.get(key);
  const counts: Record<string, number> = raw ? JSON.parse(raw) : {};
  counts[path] = (counts[path] ?? 0) + 1;
  const res = await redis.multi().set(key, JSON.stringify(counts)).exec();
  if (res === null) return recordVisit(siteId, path);
}
`,
    },
    {
      name: 'fixed twin: counters kept in a hash and bumped with HINCRBY',
      path: 'src/analytics/visits.ts',
      code: `import Redis from 'ioredis';

const redis = new Redis(process.env.REDIS_URL!);

export async function recordVisit(siteId: string, path: string) {
  await redis.hincrby(\`visits:\${siteId}\`, path, 1);
}
`,
    },
    {
      name: 'fixed twin: the cart changed by a Lua script run with EVAL',
      path: 'shop/cart_store.py',
      code: `import json

ADD_ITEM = """
local cart = cjson.decode(redis.call('GET', KEYS[1]) or '{"items":[]}')
table.insert(cart.items, cjson.decode(ARGV[1]))
redis.call('SET', KEYS[1], cjson.encode(cart))
"""


async def load_cart(redis, user_id):
    raw = await redis.get(f"cart:{user_id}")
    return json.loads(raw) if raw else {"items": []}


async def add_to_cart(redis, user_id, sku, qty):
    await redis.eval(ADD_ITEM, 1, f"cart:{user_id}", json.dumps({"sku": sku, "qty": qty}))
`,
    },
    {
      name: 'fixed twin: redis-rb INCR and go-redis IncrBy',
      path: 'app/services/download_counter.rb',
      code: `class DownloadCounter
  def self.bump(file_id)
    REDIS.incr("downloads:#{file_id}")
  end
end
`,
      extra: [
        {
          path: 'internal/rewards/points.go',
          code: `package rewards

import "context"

func (s *Store) AddPoints(ctx context.Context, userID string, pts int) error {
	return s.rdb.IncrBy(ctx, "points:"+userID, int64(pts)).Err()
}
`,
        },
      ],
    },
    {
      name: 'fixed twin: go-redis read then Set of a value not computed from it, and a different key',
      path: 'internal/rewards/points.go',
      code: `package rewards

import "context"

func (s *Store) Promote(ctx context.Context, userID string) error {
	tier, err := s.rdb.Get(ctx, "tier:"+userID).Result()
	if err != nil {
		return err
	}
	if tier == "gold" {
		return nil
	}
	return s.rdb.Set(ctx, "tier-previous:"+userID, tier+"-old", 0).Err()
}
`,
    },
    {
      name: 'fixed twin: dynamodb UpdateCommand with a ConditionExpression',
      path: 'src/wallets/debit.ts',
      code: `import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from './client';

export async function debit(walletId: string, amount: number) {
  const { Item } = await ddb.send(new GetCommand({ TableName: 'wallets', Key: { id: walletId } }));
  if (!Item) throw new Error('no wallet');
  await ddb.send(
    new UpdateCommand({
      TableName: 'wallets',
      Key: { id: walletId },
      UpdateExpression: 'SET balance = :next',
      ConditionExpression: 'balance = :seen',
      ExpressionAttributeValues: { ':next': Item.balance - amount, ':seen': Item.balance },
    }),
  );
}
`,
    },
    {
      name: 'fixed twin: django cache add then incr',
      path: 'accounts/lockout.py',
      code: `from django.core.cache import cache


def note_failed_login(username):
    key = f"failed-logins:{username}"
    cache.add(key, 0, timeout=900)
    return cache.incr(key) >= 5
`,
    },
    {
      name: 'cache-aside: a miss loaded from the database and SET, a session touched with fresh fields, an in-memory Map',
      path: 'src/profiles/cache.ts',
      code: `import { redis } from '../redis';
import { db } from '../db';

const hits = new Map<string, number>();

export async function getProfile(id: string) {
  const cached = await redis.get(\`profile:\${id}\`);
  if (cached) return JSON.parse(cached);
  const profile = await db.profile.findUnique({ where: { id } });
  await redis.set(\`profile:\${id}\`, JSON.stringify(profile), 'EX', 300);
  return profile;
}

export async function touchSession(sid: string) {
  const session = JSON.parse((await redis.get(\`sess:\${sid}\`)) ?? '{}');
  session.lastSeenAt = Date.now();
  await redis.set(\`sess:\${sid}\`, JSON.stringify(session), 'EX', 1800);
}

export function countHit(path: string) {
  const n = hits.get(path) ?? 0;
  hits.set(path, n + 1);
}
`,
    },
    {
      name: 'fixed twin: the member row locked around the read and the capped write',
      path: 'app/jobs/apply_loyalty_bonus_job.rb',
      code: `class ApplyLoyaltyBonusJob
  include Sidekiq::Job

  def perform(member_id, amount)
    member = Member.find(member_id)
    member.with_lock do
      before = member.points_balance
      total = [before + amount, member.tier_cap].min
      member.update!(points_balance: total, last_bonus_at: Time.current)
    end
  end
end
`,
    },
    {
      name: 'fixed twin: django F() expression instead of a copied field',
      path: 'billing/fees.py',
      code: `from django.db.models import F

from .models import Wallet


def charge_fee(wallet_id, fee):
    wallet = Wallet.objects.get(pk=wallet_id)
    previous = wallet.balance
    Wallet.objects.filter(pk=wallet.pk).update(balance=F("balance") - fee)
    return previous
`,
    },
    {
      name: 'fixed twin: node-redis hIncrBy',
      path: 'src/quiz/streaks.ts',
      code: `import { createClient } from 'redis';

const client = createClient();

export async function extendStreak(userId: string, quizId: string) {
  return client.hIncrBy(\`streaks:\${quizId}\`, userId, 1);
}
`,
    },
  ],
});
