import detector from '../../src/detectors/read-after-write-stale.js';
import { runTable } from './tester.js';

const cachedService = (fixed: boolean) => `import { prisma } from '../db';
import { redis } from '../cache';

export async function getProfile(id: string) {
  const hit = await redis.get(\`profile:\${id}\`);
  if (hit) return JSON.parse(hit);
  const profile = await prisma.profile.findUniqueOrThrow({ where: { id } });
  await redis.set(\`profile:\${id}\`, JSON.stringify(profile), 'EX', 300);
  return profile;
}

export async function changePhone(id: string, phone: string) {
  await prisma.profile.update({ where: { id }, data: { phone } });
${fixed ? '  await redis.del(`profile:${id}`);\n' : ''}  const profile = await getProfile(id);
  await sms.sendCode(profile.phone);
}
`;

// Knex cache-aside in a repository: `this.db('t').where(…).first()` filled with a long-lived SET, a writer deleting the key.
const kennelRepo = (fill: string) => `import type { Knex } from 'knex';
import type { Redis } from 'ioredis';

const KENNEL_TTL = 4 * 60 * 60;
const kennelKey = (id: string) => \`kennel:\${id}\`;

export class KennelRepository {
  constructor(private readonly db: Knex, private readonly redis: Redis) {}

  async getKennel(id: string) {
    const hit = await this.redis.get(kennelKey(id));
    if (hit) return JSON.parse(hit);
    const kennel = await this.db('kennels').where({ id }).first();
    ${fill}
    return kennel;
  }

  async quarantineKennel(id: string) {
    await this.db('kennels').where({ id }).update({ quarantined: true });
    await this.redis.del(kennelKey(id));
  }
}
`;

const kennelRoute = {
  path: 'src/routes/admission.ts',
  code: `import { repo } from '../kennels';

export async function admitDog(kennelId: string) {
  const kennel = await repo.getKennel(kennelId);
  if (!kennel || kennel.quarantined) return { allowed: false };
  return { allowed: true };
}
`,
};

// A Rails module method (`def self.x`) under lib/ reading a replica, called by a controller right after its write.
const beaconSync = (role: string) => `module BeaconSync
  def self.broadcast(locker_id)
    state = ActiveRecord::Base.connected_to(role: :${role}) do
      locker = StorageLocker.find(locker_id)
      { code: locker.door_code, bay: locker.bay }
    end
    BeaconApi.client.post("/lockers/#{state[:code]}", state)
  end
end
`;
const lockerController = {
  path: 'app/controllers/locker_rentals_controller.rb',
  code: `class LockerRentalsController < ApplicationController
  def update
    locker = current_member.storage_lockers.find(params[:id])
    locker.update!(door_code: SecureRandom.hex(3))
    BeaconSync.broadcast(locker.id)
    head :ok
  end
end
`,
};

const djangoRouter = {
  path: 'config/routers.py',
  code: `from django.db import router


class ReadReplicaRouter:
    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"
`,
};

const orderSearch = {
  path: 'src/orders/order-search.service.ts',
  code: `import { Injectable } from '@nestjs/common';
import { Client } from '@opensearch-project/opensearch';

@Injectable()
export class OrderSearchService {
  constructor(private readonly client: Client) {}

  async pendingCountForBuyer(buyerId: string): Promise<number> {
    const { body } = await this.client.count({
      index: 'orders',
      body: { query: { bool: { filter: [{ term: { buyerId } }, { term: { state: 'pending' } }] } } },
    });
    return body.count;
  }
}
`,
};

const ordersService = (fixed: boolean) => `import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Order } from './order.entity';
import { OrderSearchService } from './order-search.service';
import { LoyaltyService } from '../loyalty/loyalty.service';

@Injectable()
export class OrdersService {
  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    private readonly orderSearch: OrderSearchService,
    private readonly loyalty: LoyaltyService,
  ) {}

  async fulfil(orderId: string) {
    const order = await this.orders.findOneByOrFail({ id: orderId });
    await this.orders.update({ id: orderId }, { state: 'fulfilled' });
${fixed ? "    const pending = await this.orders.count({ where: { buyerId: order.buyerId, state: 'pending' } });" : '    const pending = await this.orderSearch.pendingCountForBuyer(order.buyerId);'}
    if (pending === 0) {
      await this.loyalty.grantStreakBonus(order.buyerId);
    }
  }
}
`;

const listingIndex = (refresh: boolean) => `import { Client } from '@elastic/elasticsearch';

const es = new Client({ node: process.env.ES_URL });

export async function publishListing(listing: { id: string; ownerId: string; title: string }) {
  await es.index({ index: 'listings', id: listing.id, document: { ...listing, live: true }${refresh ? ", refresh: 'wait_for'" : ''} });
  const res = await es.search({ index: 'listings', query: { term: { ownerId: listing.ownerId } } });
  if (res.hits.hits.length >= 10) {
    await notifyPowerSeller(listing.ownerId);
  }
}
`;

const goRooms = (fixed: boolean) => `package rooms

import (
	"context"
	"database/sql"
)

type Service struct {
	writer *sql.DB
	reader *sql.DB
}

func (s *Service) Book(ctx context.Context, roomID, guestID string) (int64, error) {
	if _, err := s.writer.ExecContext(ctx, \`UPDATE rooms SET guest_id = $2 WHERE id = $1 AND guest_id IS NULL\`, roomID, guestID); err != nil {
		return 0, err
	}
${fixed ? '\tvar rate int64\n\tif err := s.writer.QueryRowContext(ctx, `SELECT nightly_cents FROM rooms WHERE id = $1`, roomID).Scan(&rate); err != nil {\n\t\treturn 0, err\n\t}\n\treturn rate * 2, nil' : '\trooms, err := s.RoomList(ctx, guestID)\n\tif err != nil {\n\t\treturn 0, err\n\t}\n\tvar total int64\n\tfor _, r := range rooms {\n\t\ttotal += r.NightlyCents\n\t}\n\treturn total, nil'}
}
`;

const goCarts = (fixed: boolean) => `package carts

import (
	"context"
	"database/sql"
)

type Repo struct {
	db      *sql.DB
	replica *sql.DB
}

func (r *Repo) loadTotal(ctx context.Context, cartID string) (int64, error) {
	var total int64
	err := r.${fixed ? 'db' : 'replica'}.QueryRowContext(ctx, \`SELECT total_cents FROM carts WHERE id = $1\`, cartID).Scan(&total)
	return total, err
}

func (r *Repo) AddItem(ctx context.Context, cartID string, cents int64) (int64, error) {
	if _, err := r.db.ExecContext(ctx, \`UPDATE carts SET total_cents = total_cents + $2 WHERE id = $1\`, cartID, cents); err != nil {
		return 0, err
	}
	total, err := r.loadTotal(ctx, cartID)
	if err != nil {
		return 0, err
	}
	if total > 100000 {
		return total, ErrCartTooLarge
	}
	return total, nil
}
`;

// A writer, then a helper of the same class that reads the search index and acts on it (Searchkick).
const railsCouponSync = (variant: 'bug' | 'db' | 'refresh') => `class Storefront::CouponSync
  def self.expire!(coupon)
    coupon.update!(active: false, expired_at: Time.current)
    publish_active(coupon.store)
  end

  def self.publish_active(store)
${variant === 'refresh' ? '    Coupon.search_index.refresh\n' : ''}${variant === 'db' ? '    codes = store.coupons.where(active: true).pluck(:code)' : '    codes = Coupon.search("*", where: { store_id: store.id, active: true }, load: false).map(&:code)'}
    StorefrontClient.new(store).replace_codes(codes)
  end
end
`;

// The same flow in Django with django-elasticsearch-dsl.
const djangoBadgeSync = (fixed: boolean) => `from .documents import BadgeDocument
from .models import Badge


def revoke_badge(badge_id):
    Badge.objects.filter(pk=badge_id).update(valid=False)
    push_valid_badges()


def push_valid_badges():
${fixed ? '    numbers = list(Badge.objects.filter(valid=True).values_list("number", flat=True))' : '    hits = BadgeDocument.search().filter("term", valid=True)[:5000].execute()\n    numbers = [h.number for h in hits]'}
    door_controller.replace_allowed(numbers)
`;

// Cache-aside fill (get, miss, primary read, set for hours) racing a writer that updates then deletes the key,
// with a quota decision taken from the cached value.
const planCache = (variant: 'bug' | 'versioned' | 'short' | 'db') => `import { redis } from '../redis';
import { Plan } from './plan.model';

const PLAN_TTL = 12 * 60 * 60;
const planKey = (accountId: string) => \`plan:\${accountId}\`;

export async function getPlan(accountId: string) {
  const key = ${variant === 'versioned' ? "`plan:${accountId}:v${await redis.get(`plan-version:${accountId}`)}`" : 'planKey(accountId)'};
  const hit = await redis.get(key);
  if (hit) return JSON.parse(hit);
  const plan = await Plan.findOne({ accountId }).lean();
  await redis.set(key, JSON.stringify(plan), 'EX', ${variant === 'short' ? '30' : 'PLAN_TTL'});
  return plan;
}

export async function changeSeats(accountId: string, seats: number) {
  await Plan.updateOne({ accountId }, { $set: { seats } });
  await redis.del(planKey(accountId));
}

export async function checkSeatLimit(accountId: string, used: number) {
  const plan = ${variant === 'db' ? 'await Plan.findOne({ accountId }).lean()' : 'await getPlan(accountId)'};
  if (used >= plan.seats) throw new Error('seat limit reached');
}
`;

const railsTariff = (fixed: boolean) => `class FareService
  def self.tariff_for(zone_id)
    Rails.cache.fetch(["tariff", zone_id], expires_in: ${fixed ? '20.seconds' : '12.hours'}) do
      Tariff.find_by!(zone_id: zone_id)
    end
  end

  def self.update_tariff(tariff, attrs)
    tariff.update!(attrs)
    Rails.cache.delete(["tariff", tariff.zone_id])
  end

  def self.quote_fare(zone_id, km)
    tariff = tariff_for(zone_id)
    tariff.base_cents + tariff.per_km_cents * km
  end
end
`;


// Python cache-aside: redis-py fill with setex for hours, a view serving it, a writer that commits then deletes.
const pyMenu = (variant: 'bug' | 'short' | 'nx') => `from django.db import transaction
from redis import Redis

from menus.models import Menu

menu_redis = Redis()
MENU_TTL = 4 * 60 * 60


def menu_key(venue_id):
    return f"menu:{venue_id}"


def cached_menu(venue_id):
    raw = menu_redis.get(menu_key(venue_id))
    if raw is not None:
        return raw
    menu = Menu.objects.filter(venue_id=venue_id).values("items").first()
    ${variant === 'short' ? 'menu_redis.setex(menu_key(venue_id), 30, str(menu))' : variant === 'nx' ? 'menu_redis.set(menu_key(venue_id), str(menu), nx=True, ex=MENU_TTL)' : 'menu_redis.setex(menu_key(venue_id), MENU_TTL, str(menu))'}
    return str(menu)


def menu_view(request, venue_id):
    return JsonResponse({"menu": cached_menu(venue_id)})


def rename_dish(venue_id, dish_id, title):
    with transaction.atomic():
        dish = Dish.objects.get(pk=dish_id)
        dish.title = title
        dish.save()
    menu_redis.delete(menu_key(venue_id))
`;

// Django cache framework: cache.get / cache.set(timeout=…) fill, a writer updating through the ORM then deleting.
const djangoRoster = (timeout: string) => `from django.core.cache import cache

from rosters.models import Roster


def roster_key(team_id):
    return f"roster:{team_id}"


def load_roster(team_id):
    roster = cache.get(roster_key(team_id))
    if roster is None:
        roster = list(Roster.objects.filter(team_id=team_id).values("player_id", "position"))
        cache.set(roster_key(team_id), roster, timeout=${timeout})
    return roster


def roster_page(request, team_id):
    return render(request, "roster.html", {"roster": load_roster(team_id)})


def move_player(team_id, player_id, position):
    Roster.objects.filter(team_id=team_id, player_id=player_id).update(position=position)
    cache.delete(roster_key(team_id))
`;

const railsRefund = (role: 'reading' | 'writing') => `module Refunds
  class IssueCredit
    def initialize(invoice:, amount_cents:)
      @invoice = invoice
      @amount_cents = amount_cents
    end

    def call
      Invoice.transaction do
        @invoice.credit_notes.create!(amount_cents: @amount_cents)
        @invoice.update!(credited_at: Time.current)
      end

      balance = ActiveRecord::Base.connected_to(role: :${role}) do
        fresh = Invoice.preload(:credit_notes, :payments).find(@invoice.id)
        BalanceCalculator.new(fresh).outstanding
      end

      @invoice.account.update!(open_balance_cents: balance.cents)
      AccountMailer.balance_changed(@invoice.account).deliver_later
    end
  end
end
`;

const shelfLabels = (fill: string) => ({
  path: 'src/shelves/labels.ts',
  code: `import { pool } from '../db';
import { redis } from '../redis';

const labelKey = (shelfId: string) => \`shelf-label:\${shelfId}\`;

export async function getShelfLabel(shelfId: string) {
  const cached = await redis.get(labelKey(shelfId));
  if (cached) return JSON.parse(cached);
  const { rows } = await pool.query('SELECT id, aisle, caption FROM shelves WHERE id = $1', [shelfId]);
  if (!rows[0]) return null;
  ${fill}
  return rows[0];
}

export async function renameShelf(shelfId: string, caption: string) {
  await pool.query('UPDATE shelves SET caption = $2 WHERE id = $1', [shelfId, caption]);
  await redis.del(labelKey(shelfId));
}
`,
  extra: [{ path: 'src/shelves/routes.ts', code: `import { getShelfLabel } from './labels';

export function shelfRoutes(app: any) {
  app.get('/shelves/:id/label', async (req: any) => getShelfLabel(req.params.id));
}
` }],
});

const kioskRoutes = (fill: string) => `import { pool } from '../db';
import { redis } from '../redis';

export async function retitleKiosk(id: string, title: string) {
  await pool.query('UPDATE kiosks SET title = $2 WHERE id = $1', [id, title]);
  await redis.del(\`kiosk:\${id}\`);
}

export function kioskRoutes(app: any) {
  app.get('/kiosks/:id', async (req: any) => {
    const hit = await redis.get(\`kiosk:\${req.params.id}\`);
    if (hit) return JSON.parse(hit);
    const { rows } = await pool.query('SELECT id, title, opens_at FROM kiosks WHERE id = $1', [req.params.id]);
    ${fill}
    return rows[0];
  });
}
`;


// A Ruby service: an ivar set from its constructor argument is updated, then a private method called without
// parentheses reads the association on the replica and its result goes straight into an upload.
const pickListService = (role: string) => `class PickListPrinter
  def initialize(shipment, printer: LabelPrinter.new)
    @shipment = shipment
    @depot = shipment.depot
    @printer = printer
  end

  def call
    @shipment.update!(state: :packed, packed_at: Time.current)

    @printer.submit(LabelSheet.new(@depot, packed_shipments).render)
    @shipment
  end

  private

  def packed_shipments
    ActiveRecord::Base.connected_to(role: :${role}) do
      @depot.shipments.packed.order(packed_at: :asc).to_a
    end
  end
end
`;

// Go: a service with a writer pool and a short-named reader pool; the commit goes through a transaction opened on
// the writer, then a same-object helper (its query text built elsewhere) reads the reader pool.
const lockerBoard = (pool: string, decl = 'follower *sql.DB') => `package lockers

import (
	"context"
	"database/sql"
)

type Service struct {
	rw       *sql.DB
	${decl}
	sms      Sender
}

func (s *Service) Reassign(ctx context.Context, bankID, lockerID, memberID int64) error {
	tx, err := s.rw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, \`
		UPDATE lockers l
		   SET member_id = $1
		 WHERE l.id = $2\`, memberID, lockerID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	board, err := s.lockerBoard(ctx, bankID)
	if err != nil {
		return err
	}
	for _, l := range board {
		s.sms.Send(ctx, l.Phone, l.Label)
	}
	return nil
}

func (s *Service) lockerBoard(ctx context.Context, bankID int64) ([]Locker, error) {
	rows, err := s.${pool}.QueryContext(ctx, boardQuery, bankID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanLockers(rows)
}
`;

// Rails: a controller commits a decision and enqueues a job; the job reads the record on the replica and branches on it.
const visitJob = (role: string) => `class VisitConfirmationJob < ApplicationJob
  queue_as :notifications

  def perform(visit_id)
    visit = ActiveRecord::Base.connected_to(role: :${role}) do
      Visit.includes(:owner).find(visit_id)
    end

    if visit.confirmed?
      ClinicMailer.with(visit: visit).confirmed.deliver_now
    end
  end
end
`;
const visitsController = {
  path: 'app/controllers/visits_controller.rb',
  code: `class VisitsController < ApplicationController
  def confirm
    @visit = Visit.find(params[:id])
    @visit.update!(state: "confirmed", confirmed_at: Time.current)
    VisitConfirmationJob.perform_later(@visit.id)
    redirect_to visits_path
  end
end
`,
};

// Celery: a view saves the row and queues a task that reads it on the replica and acts on its status.
const receiptTask = (alias: string) => `from celery import shared_task

from shop.models import Order
from shop.mail import send_receipt_mail


@shared_task
def send_receipt(order_id):
    order = Order.objects.using("${alias}").get(pk=order_id)
    if order.status == "paid":
        send_receipt_mail(order)
`;
const payView = {
  path: 'shop/views.py',
  code: `from shop.models import Order
from shop.tasks import send_receipt


def mark_paid(request, pk):
    order = Order.objects.get(pk=pk)
    order.status = "paid"
    order.save()
    send_receipt.delay(order.id)
    return redirect("orders")
`,
};

// SQLAlchemy: a Core upsert on the primary session, then a helper named after the entity that opens a replica session.
const loanStreak = (factory: string) => `from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from .db import primary_session, ${factory}
from .models import Loan


def recent_loans(reader_id: int, limit: int = 5) -> list[Loan]:
    with ${factory}() as s:
        return list(s.scalars(select(Loan).where(Loan.reader_id == reader_id).limit(limit)))


def record_loan(book_id: int, reader_id: int) -> None:
    with primary_session() as s:
        s.execute(insert(Loan).values(book_id=book_id, reader_id=reader_id).on_conflict_do_nothing())
        s.commit()
    loans = recent_loans(reader_id)
    if len(loans) >= 5:
        flag_heavy_borrower(reader_id)
`;

// A read-side repository whose session factory defaults to a replica; a loop writes on the primary then calls a helper
// that picks the next row through it.
const clinicRepo = (dflt: string) => ({
  path: 'clinic/repositories/queue.py',
  code: `from sqlalchemy import select

from clinic.db import ${dflt}
from clinic.models import QueueSlot


class QueueRepository:
    def __init__(self, factory=${dflt}):
        self._factory = factory

    def first_open(self, clinic_id: int) -> QueueSlot | None:
        with self._factory() as session:
            return session.scalars(
                select(QueueSlot).where(QueueSlot.clinic_id == clinic_id, QueueSlot.state == "open").limit(1)
            ).first()
`,
});
const clinicService = `from clinic.db import PrimarySession
from clinic.models import Appointment, QueueSlot
from clinic.repositories.queue import QueueRepository

queue = QueueRepository()


def cancel_all(ids: list[int]) -> None:
    for appt_id in ids:
        with PrimarySession() as session, session.begin():
            appt = session.get(Appointment, appt_id)
            appt.state = "cancelled"
            session.get(QueueSlot, appt.slot_id).state = "released"
            clinic_id = appt.clinic_id
        _fill_next(clinic_id)


def _fill_next(clinic_id: int) -> None:
    slot = queue.first_open(clinic_id)
    if slot is None:
        return
    with PrimarySession() as session, session.begin():
        session.get(QueueSlot, slot.id).state = "offered"
    notify_patient(slot.patient_id)
`;

// GORM with the dbresolver plugin registered in the diff: Find right after Create goes to a replica.
const gormReadings = (clause: string) => `package meters

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

func Open(primary, replica gorm.Dialector) (*gorm.DB, error) {
	db, err := gorm.Open(primary)
	if err != nil {
		return nil, err
	}
	err = db.Use(dbresolver.Register(dbresolver.Config{Replicas: []gorm.Dialector{replica}}))
	return db, err
}

func (s *Service) Submit(ctx context.Context, r Reading) error {
	if err := s.db.WithContext(ctx).Create(&r).Error; err != nil {
		return err
	}
	var last []Reading
	if err := s.db.WithContext(ctx).${clause}
		Where("meter_id = ?", r.MeterID).
		Order("taken_at DESC").
		Limit(2).
		Find(&last).Error; err != nil {
		return err
	}
	if spike(last) {
		s.alerts.Raise(r.MeterID)
	}
	return nil
}
`;

// The same, with the plugin registered in another file of the diff: the service file never says "gorm".
const gormSplit = (clause: string) => gormReadings(clause).replace(/import \([\s\S]*?\n\)\n\nfunc Open[\s\S]*?\n}\n/, 'import "context"\n');
const gormSetup = {
  path: 'internal/db/open.go',
  code: gormReadings('').replace(/\nfunc \(s \*Service\)[\s\S]*$/, '\n'),
};

// Rails: a service renews a record held under a shorter name and enqueues a job with its id; the job reads it inside a
// connected_to(role: :reading) block and mails from it.
const badgeJob = (role: string) => `class BadgePrintJob < ApplicationJob
  queue_as :documents

  def perform(pass_id)
    ActiveRecord::Base.connected_to(role: :${role}) do
      pass = GymMembershipPass.find(pass_id)
      card = BadgeCard.new(pass).render
      PassMailer.with(pass: pass, card: card).renewed.deliver_now
    end
  end
end
`;
const badgeService = {
  path: 'app/services/extend_pass.rb',
  code: `class ExtendPass
  def initialize(pass:)
    @pass = pass
  end

  def call
    GymMembershipPass.transaction do
      @pass.lock!
      @pass.update!(valid_until: @pass.valid_until + 1.year)
    end
    BadgePrintJob.perform_later(@pass.id)
  end
end
`,
};

// GORM + dbresolver: an update through a chain broken over lines, then the repository's Get (a replica read) by the
// same id, its value sent on. The fixed twin reloads on the primary.
const lockerRenew = (reload: string) => `package lockers

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

func (s *Service) Extend(ctx context.Context, lockerID uint, days int) (*Locker, error) {
	res := s.db.WithContext(ctx).
		Model(&Locker{}).
		Where("id = ?", lockerID).
		Update("paid_until", gorm.Expr("paid_until + make_interval(days => ?)", days))
	if res.Error != nil {
		return nil, res.Error
	}
${reload}
	if err != nil {
		return nil, err
	}
	s.keypads.Program(ctx, locker.Code, locker.PaidUntil)
	return locker, nil
}

var _ = dbresolver.Write
`;
const lockerRepoGet = '	locker, err := s.lockers.Get(ctx, lockerID)';
const lockerPrimaryGet = '	locker := &Locker{}\n	err := s.db.WithContext(ctx).Clauses(dbresolver.Write).First(locker, lockerID).Error';

// A search helper writes the index without a refresh; the caller searches the index right after and publishes.
const recipeIndex = (refresh: boolean) => ({
  path: 'src/recipes/index.ts',
  code: `import { os } from '../lib/opensearch';

export const RECIPE_INDEX = 'recipes';

export async function indexRecipe(recipe: { id: string; bookId: string; title: string }) {
  await os.index({ index: RECIPE_INDEX, id: recipe.id, body: recipe${refresh ? ", refresh: 'wait_for'" : ''} });
}

export async function bookRecipes(bookId: string) {
  const { body } = await os.search({ index: RECIPE_INDEX, body: { query: { term: { bookId } } } });
  return body.hits.hits.map((h: { _source: unknown }) => h._source);
}
`,
});
const recipeService = `import { RecipeModel } from './recipe.model';
import { indexRecipe, bookRecipes } from './index';

export async function addRecipe(bookId: string, title: string) {
  const recipe = await RecipeModel.create({ bookId, title });
  await indexRecipe(recipe);
  const all = await bookRecipes(bookId);
  await printer.publishBook(bookId, all);
  return recipe;
}
`;

// Celery: a task queued from an on_commit hook after a save reads the record through a getter imported from a
// cache module (its body outside the diff) and writes from it. The fixed twin reads the row.
const rosterTask = (read: string) => `from celery import shared_task

from stables.horses.horse_cache import get_horse_card
from stables.feeding.models import Ration


@shared_task
def rebalance_rations(horse_id):
${read}
    for ration in Ration.objects.filter(horse_id=horse_id):
        ration.grams = ration.grams_per_kg * card["weight_kg"]
        ration.save(update_fields=["grams"])
`;
const rosterView = {
  path: 'stables/horses/views.py',
  code: `from django.db import transaction

from stables.feeding.tasks import rebalance_rations


def weigh(request, horse_id):
    horse = load_horse(horse_id)
    with transaction.atomic():
        horse.weight_kg = request.POST["weight_kg"]
        horse.save(update_fields=["weight_kg"])
        transaction.on_commit(lambda: rebalance_rations.delay(horse.id))
    return redirect("horse", horse_id)
`,
};

runTable(detector, {
  invalid: [
    { name: 'gorm + dbresolver: an update chain broken over lines, then the repository Get by the same id pushes the stale row', path: 'internal/lockers/service.go', code: lockerRenew(lockerRepoGet), extra: [gormSetup], errors: [{ mode: 'eventual_consistency', line: 15 }] },
    { name: 'opensearch: a helper indexes without refresh, then a helper searches the index and the result is published', path: 'src/recipes/service.ts', code: recipeService, extra: [recipeIndex(false)], errors: [{ mode: 'eventual_consistency', line: 6 }] },
    { name: 'celery task queued on commit after a save reads the record through a getter imported from a cache module', path: 'stables/feeding/tasks.py', code: rosterTask('    card = get_horse_card(horse_id)'), extra: [rosterView], errors: [{ mode: 'eventual_consistency', line: 9 }] },
    { name: 'sqlalchemy: insert on the primary, then a helper named after the entity reads a replica session and decides', path: 'library/loans.py', code: loanStreak('replica_session'), errors: [{ mode: 'eventual_consistency', line: 15 }] },
    { name: 'sqlalchemy: a repository defaulting to a replica session picks the next row right after primary writes in a loop', path: 'clinic/services/queue.py', code: clinicService, extra: [clinicRepo('ReplicaSession')], errors: [{ mode: 'eventual_consistency', line: 19 }] },
    { name: 'gorm + dbresolver registered in another file: Find right after Create decides', path: 'internal/meters/service.go', code: gormSplit(''), extra: [gormSetup], errors: [{ mode: 'eventual_consistency', line: 8 }] },
    { name: 'gorm + dbresolver: Find right after Create is served by a replica and decides', path: 'internal/meters/service.go', code: gormReadings(''), errors: [{ mode: 'eventual_consistency', line: 20 }] },
    { name: 'rails job: reads the renewed record inside connected_to(role: :reading), enqueued with its id after the update', path: 'app/jobs/badge_print_job.rb', code: badgeJob('reading'), extra: [badgeService], errors: [{ mode: 'eventual_consistency', line: 5 }] },
    { name: 'rails service: a private method called without parentheses reads an association on the replica, its result uploaded', path: 'app/services/pick_list_printer.rb', code: pickListService('reading'), errors: [{ mode: 'eventual_consistency', line: 9 }] },
    { name: 'go: commit on a transaction opened on the writer pool, then a same-object helper queries the short-named reader pool', path: 'internal/lockers/service.go', code: lockerBoard('follower'), errors: [{ mode: 'eventual_consistency', line: 21 }] },
    { name: 'go: the reader pool is only described as a replica by its declaration comment', path: 'internal/lockers/service.go', code: lockerBoard('cold', 'cold     *sql.DB // read-only follower, lags a little'), errors: [{ mode: 'eventual_consistency', line: 21 }] },
    { name: 'rails job enqueued right after the write reads the record on the replica and branches on it', path: 'app/jobs/visit_confirmation_job.rb', code: visitJob('reading'), extra: [visitsController], errors: [{ mode: 'eventual_consistency', line: 5 }] },
    { name: 'celery task queued right after save() reads the row on the replica and acts on its status', path: 'shop/tasks.py', code: receiptTask('replica'), extra: [payView], errors: [{ mode: 'eventual_consistency', line: 9 }] },
    {
      name: 'caller indexes the entity through an index helper, then calls a helper that counts it in the search index and writes from it',
      path: 'src/harbour/inspections.ts',
      code: `import { db } from '../db';
import { indexBoat, searchClient } from '../search/boats';

export async function inspectBoat(boatId: string, passed: boolean) {
  const boat = await recordInspection(boatId, passed);
  await indexBoat(boat.id);
  await refreshHarbourStatus(boat.harbourId);
  return boat;
}

async function refreshHarbourStatus(harbourId: string) {
  const { body } = await searchClient.count({
    index: 'boats',
    body: { query: { bool: { filter: [{ term: { harbourId } }, { term: { inspected: true } }] } } },
  });
  const ready = body.count;
  await db.harbour.update({ where: { id: harbourId }, data: { open: ready >= 3 } });
}
`,
      errors: [{ mode: 'eventual_consistency', line: 12 }],
    },
    { name: 'knex cache-aside: a table-call read filled for hours, racing a writer that deletes the key', path: 'src/kennels/repository.ts', code: kennelRepo("if (kennel) await this.redis.set(kennelKey(id), JSON.stringify(kennel), 'EX', KENNEL_TTL);"), extra: [kennelRoute], errors: [{ mode: 'eventual_consistency', line: 13 }] },
    { name: 'rails module method under lib/ reads a replica right after the caller writes through an association (plural -es)', path: 'lib/beacon_sync.rb', code: beaconSync('reading'), extra: [lockerController], errors: [{ mode: 'eventual_consistency', line: 3 }] },
    {
      name: 'rails service: scope update_all on the primary, then a private method re-reads through connected_to(role: :reading) and writes',
      path: 'app/services/locker_rental.rb',
      code: `class LockerRental
  def call
    Locker.transaction do
      rows = Locker.where(id: @locker.id)
                   .where("free_slots > 0")
                   .update_all("free_slots = free_slots - 1")
      raise Full if rows.zero?
    end
    mark_full_if_needed
  end

  private

  def mark_full_if_needed
    left = ApplicationRecord.connected_to(role: :reading) do
      Locker.where(id: @locker.id).pick(:free_slots)
    end
    return unless left.zero?

    @locker.update_columns(full_at: Time.current)
  end
end
`,
      errors: [{ mode: 'eventual_consistency', line: 15 }],
    },
    {
      name: 'repository class: cache fill with no TTL racing a writer method that deletes the key',
      path: 'src/venues/venue.repository.ts',
      code: `const venueKey = (id: string) => \`venue:\${id}\`;

export class VenueRepository {
  constructor(private readonly db: Pool, private readonly redis: Redis) {}

  async findVenue(id: string): Promise<Venue | null> {
    const hit = await this.redis.get(venueKey(id));
    if (hit) return JSON.parse(hit) as Venue;
    const { rows } = await this.db.query('SELECT id, name, open FROM venues WHERE id = $1', [id]);
    const venue = rows[0] ?? null;
    if (venue) await this.redis.set(venueKey(id), JSON.stringify(venue));
    return venue;
  }

  async closeVenue(id: string): Promise<void> {
    await this.db.query('UPDATE venues SET open = false WHERE id = $1', [id]);
    await this.redis.del(venueKey(id));
  }
}
`,
      errors: [{ mode: 'eventual_consistency', line: 9 }],
    },
    { name: 'rails: written on the primary, re-read inside connected_to(role: :reading) and acted on', path: 'app/services/refunds/issue_credit.rb', code: railsRefund('reading'), errors: [{ mode: 'eventual_consistency', line: 14 }] },
    {
      name: 'rails: a model-level connected_to(role: :reading) one-liner after an update',
      path: 'app/services/seats/upgrade.rb',
      code: `class UpgradeSeat
  def call(booking, cabin)
    booking.update!(cabin: cabin)
    fare = Booking.connected_to(role: :reading) { Booking.find(booking.id).fare_difference }
    Payments.charge!(booking.customer, fare) if fare.positive?
  end
end
`,
      errors: [{ mode: 'eventual_consistency', line: 4 }],
    },
    { name: 'cache-aside fill with no TTL, invalidated by a writer, served by an existing route', ...shelfLabels('await redis.set(labelKey(shelfId), JSON.stringify(rows[0]));'), errors: [{ mode: 'eventual_consistency', line: 11 }] },
    { name: 'cache-aside fill inline in a route handler with no TTL', path: 'src/kiosks/routes.ts', code: kioskRoutes("await redis.set(`kiosk:${req.params.id}`, JSON.stringify(rows[0]));"), errors: [{ mode: 'eventual_consistency', line: 14 }] },
    { name: 'python redis-py fill with setex for hours, a writer that saves then deletes the key', path: 'menus/cache.py', code: pyMenu('bug'), errors: [{ mode: 'eventual_consistency', line: 19 }] },
    { name: 'django cache.set with a day-long timeout racing update-then-delete', path: 'rosters/services.py', code: djangoRoster('24 * 60 * 60'), errors: [{ mode: 'eventual_consistency', line: 13 }] },
    {
      name: 'rails: a writer calls a helper that rebuilds a list from the Searchkick index and pushes it',
      path: 'app/services/storefront/coupon_sync.rb',
      code: railsCouponSync('bug'),
      errors: [{ mode: 'eventual_consistency', line: 8 }],
    },
    {
      name: 'django-elasticsearch-dsl: update, then a helper pushes what Document.search() returns',
      path: 'access/badges.py',
      code: djangoBadgeSync(false),
      errors: [{ mode: 'eventual_consistency', line: 11 }],
    },
    {
      name: 'redis cache-aside fill for hours, a writer that updates then deletes the key, a limit checked from the cache',
      path: 'src/plans/plan.service.ts',
      code: planCache('bug'),
      errors: [{ mode: 'eventual_consistency', line: 11 }],
    },
    {
      name: 'rails: Rails.cache.fetch block fills for hours, update! then cache.delete elsewhere, a fare quoted from it',
      path: 'app/services/fare_service.rb',
      code: railsTariff(false),
      errors: [{ mode: 'eventual_consistency', line: 3 }],
    },
    {
      name: 'prisma update, then a getter that reads redis first',
      path: 'src/profiles/service.ts',
      code: cachedService(false),
      errors: [{ mode: 'eventual_consistency', line: 15 }],
    },
    {
      name: 'django update, then an explicit replica read decides the refund',
      path: 'billing/views.py',
      code: `from .models import Invoice


def void_invoice(request, invoice_id):
    Invoice.objects.filter(pk=invoice_id, status="open").update(status="void")
    invoice = Invoice.objects.using("replica").get(pk=invoice_id)
    if invoice.status == "void":
        refund(invoice)
    return redirect("invoices")
`,
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
    {
      name: 'django update, then a read that the router in the diff sends to the replica',
      path: 'billing/cancel.py',
      code: `from .models import Subscription


def cancel(request, sub_id):
    Subscription.objects.filter(pk=sub_id).update(status="cancelled")
    sub = Subscription.objects.get(pk=sub_id)
    if sub.status != "cancelled":
        return error(request)
    notify_cancelled(sub)
`,
      extra: [djangoRouter],
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
    {
      name: 'node: UPDATE, then redis.get of the same order key',
      path: 'src/orders/ship.js',
      code: `const { pool } = require('../db');
const { redis } = require('../cache');

async function markShipped(orderId) {
  await pool.query("UPDATE orders SET status = 'shipped' WHERE id = $1", [orderId]);
  const cached = await redis.get(\`orders:\${orderId}\`);
  const order = JSON.parse(cached);
  if (order.status === 'shipped') await mailer.shipped(order);
}

module.exports = { markShipped };
`,
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
    {
      name: 'prisma update, then a search-index query decides the reply',
      path: 'src/products/publish.ts',
      code: `import { prisma } from '../db';
import { search } from '../search';

export async function publish(id: string) {
  await prisma.product.update({ where: { id }, data: { published: true } });
  const res = await search.search({ index: 'products', query: { term: { id } } });
  if (res.hits.total.value === 0) throw new Error('publish failed');
  return res.hits.hits[0];
}
`,
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
    {
      name: 'typeorm update, then a search-service helper counts from the OpenSearch index and decides a bonus',
      path: 'src/orders/orders.service.ts',
      code: ordersService(false),
      extra: [orderSearch],
      errors: [{ mode: 'eventual_consistency', line: 19 }],
    },
    {
      name: 'elasticsearch: index a document without refresh, then search the index and act',
      path: 'src/listings/publish.ts',
      code: listingIndex(false),
      errors: [{ mode: 'eventual_consistency', line: 7 }],
    },
    {
      name: 'go: write through the writer handle, then a same-receiver method (body outside the diff) beside a reader handle',
      path: 'internal/rooms/service.go',
      code: goRooms(false),
      errors: [{ mode: 'eventual_consistency', line: 19 }],
    },
    {
      name: 'go: write through r.db, then a helper that reads the row from r.replica',
      path: 'internal/carts/repo.go',
      code: goCarts(false),
      errors: [{ mode: 'eventual_consistency', line: 23 }],
    },
    {
      name: 'node-postgres: update on the pool, then a readPool query of the same table',
      path: 'src/credits/grant.ts',
      code: `import { pool, readPool } from '../db';

export async function grantCredit(userId: string, cents: number) {
  await pool.query('UPDATE wallets SET credit_cents = credit_cents + $2 WHERE user_id = $1', [userId, cents]);
  const { rows } = await readPool.query('SELECT credit_cents FROM wallets WHERE user_id = $1', [userId]);
  if (rows[0].credit_cents >= 5000) await unlockTier(userId);
}
`,
      errors: [{ mode: 'eventual_consistency', line: 5 }],
    },
    { name: 'meilisearch: prisma update, then index(...).search decides an alert', path: 'src/p.ts', code: `import { prisma } from './db';
import { meili } from './search';

export async function hide(id: string) {
  await prisma.product.update({ where: { id }, data: { hidden: true } });
  const { hits } = await meili.index('products').search('', { filter: 'hidden = false' });
  if (hits.length === 0) await alertEmptyCatalog();
}
`, errors: [{ mode: 'eventual_consistency', line: 6 }] },
    { name: 'algolia: SQL update, then initIndex(...).search of the same entity', path: 'src/a.ts', code: `import algoliasearch from 'algoliasearch';
import { db } from './db';
const index = algoliasearch('a', 'b').initIndex('articles');

export async function unpublish(id: string) {
  await db.query('UPDATE articles SET published = false WHERE id = $1', [id]);
  const res = await index.search('', { filters: 'published:true' });
  return res.nbHits;
}
`, errors: [{ mode: 'eventual_consistency', line: 7 }] },
    { name: 'python: django update, then es.count on the index decides a notification', path: 'app/svc.py', code: `from .models import Article
from .search import es


def unpublish(article_id):
    Article.objects.filter(pk=article_id).update(published=False)
    res = es.count(index="articles", query={"term": {"published": True}})
    if res["count"] == 0:
        notify_empty()
`, errors: [{ mode: 'eventual_consistency', line: 7 }] },
    { name: 'mongoose: cancel through the repository, then a helper reads with secondaryPreferred and decides', path: 'src/lessons/withdraw.ts', code: "import { lessonRepo } from './lesson.repo';\n\nexport async function withdrawLesson(id: string, coachId: string) {\n  const lesson = await lessonRepo.cancel(id, coachId);\n  const busy = await lessonRepo.hasBookedLesson(lesson.coachId, lesson.at);\n  if (!busy) {\n    await standby.offer(lesson.coachId, lesson.at);\n  }\n  return lesson;\n}\n", extra: [{ path: 'src/lessons/lesson.repo.ts', code: "import { Lesson } from './lesson.model';\n\nexport const lessonRepo = {\n  async hasBookedLesson(coachId: string, at: Date): Promise<boolean> {\n    const hit = await Lesson.exists({ coachId, at, status: 'booked' })\n      .read('secondaryPreferred')\n      .exec();\n    return hit !== null;\n  },\n};\n" }], errors: [{ mode: 'eventual_consistency', line: 4 }] },
  ],
  valid: [
    { name: 'fixed twin: gorm reload pinned to the primary after the update chain', path: 'internal/lockers/service.go', code: lockerRenew(lockerPrimaryGet), extra: [gormSetup] },
    { name: "fixed twin: the index helper writes with refresh: 'wait_for' before the search", path: 'src/recipes/service.ts', code: recipeService, extra: [recipeIndex(true)] },
    { name: 'fixed twin: the queued task reads the record from the database, not the cache', path: 'stables/feeding/tasks.py', code: rosterTask('    card = {"weight_kg": Horse.objects.values_list("weight_kg", flat=True).get(pk=horse_id)}'), extra: [rosterView] },
    { name: 'fixed twin: the entity helper reads the primary session', path: 'library/loans.py', code: loanStreak('primary_reads') },
    { name: 'fixed twin: the repository defaults to the primary session', path: 'clinic/services/queue.py', code: clinicService, extra: [clinicRepo('PrimarySession')] },
    { name: 'fixed twin: gorm read pinned to the primary, plugin registered in another file', path: 'internal/meters/service.go', code: gormSplit('Clauses(dbresolver.Write).'), extra: [gormSetup] },
    { name: 'fixed twin: gorm read pinned to the primary with dbresolver.Write', path: 'internal/meters/service.go', code: gormReadings('Clauses(dbresolver.Write).') },
    { name: 'fixed twin: the job reads the renewed record on the writing role', path: 'app/jobs/badge_print_job.rb', code: badgeJob('writing'), extra: [badgeService] },
    { name: 'fixed twin: the private method reads the primary (connected_to role: :writing)', path: 'app/services/pick_list_printer.rb', code: pickListService('writing') },
    { name: 'fixed twin: the same-object helper queries the writer pool', path: 'internal/lockers/service.go', code: lockerBoard('rw') },
    { name: 'fixed twin: the commented pool is not read; the helper queries the writer', path: 'internal/lockers/service.go', code: lockerBoard('rw', 'cold     *sql.DB // read-only follower, lags a little') },
    { name: 'fixed twin: the enqueued job reads the primary (connected_to role: :writing)', path: 'app/jobs/visit_confirmation_job.rb', code: visitJob('writing'), extra: [visitsController] },
    { name: 'fixed twin: the celery task reads the default database', path: 'shop/tasks.py', code: receiptTask('default'), extra: [payView] },
    { name: 'a job reading the replica that no writer enqueues after a write', path: 'app/jobs/visit_confirmation_job.rb', code: visitJob('reading') },
    {
      name: 'fixed twin: the helper counts inspected boats in the primary database',
      path: 'src/harbour/inspections.ts',
      code: `import { db } from '../db';
import { indexBoat, searchClient } from '../search/boats';

export async function inspectBoat(boatId: string, passed: boolean) {
  const boat = await recordInspection(boatId, passed);
  await indexBoat(boat.id);
  await refreshHarbourStatus(boat.harbourId);
  return boat;
}

async function refreshHarbourStatus(harbourId: string) {
  const ready = await db.boat.count({ where: { harbourId, inspected: true } });
  await db.harbour.update({ where: { id: harbourId }, data: { open: ready >= 3 } });
}
`,
    },
    { name: 'fixed twin: knex cache-aside fill with a short TTL', path: 'src/kennels/repository.ts', code: kennelRepo("if (kennel) await this.redis.set(kennelKey(id), JSON.stringify(kennel), 'EX', 20);"), extra: [kennelRoute] },
    { name: 'fixed twin: knex cache-aside fill only when absent (NX)', path: 'src/kennels/repository.ts', code: kennelRepo("if (kennel) await this.redis.set(kennelKey(id), JSON.stringify(kennel), 'EX', KENNEL_TTL, 'NX');"), extra: [kennelRoute] },
    { name: 'fixed twin: rails module method reads the primary (connected_to role: :writing)', path: 'lib/beacon_sync.rb', code: beaconSync('writing'), extra: [lockerController] },
    {
      name: 'fixed twin: rails service re-reads on the primary (connected_to role: :writing)',
      path: 'app/services/locker_rental.rb',
      code: `class LockerRental
  def call
    Locker.transaction do
      rows = Locker.where(id: @locker.id)
                   .where("free_slots > 0")
                   .update_all("free_slots = free_slots - 1")
      raise Full if rows.zero?
    end
    mark_full_if_needed
  end

  private

  def mark_full_if_needed
    left = ApplicationRecord.connected_to(role: :writing) do
      Locker.where(id: @locker.id).pick(:free_slots)
    end
    return unless left.zero?

    @locker.update_columns(full_at: Time.current)
  end
end
`,
    },
    {
      name: 'fixed twin: repository cache fill with a short TTL',
      path: 'src/venues/venue.repository.ts',
      code: `const venueKey = (id: string) => \`venue:\${id}\`;

export class VenueRepository {
  constructor(private readonly db: Pool, private readonly redis: Redis) {}

  async findVenue(id: string): Promise<Venue | null> {
    const hit = await this.redis.get(venueKey(id));
    if (hit) return JSON.parse(hit) as Venue;
    const { rows } = await this.db.query('SELECT id, name, open FROM venues WHERE id = $1', [id]);
    const venue = rows[0] ?? null;
    if (venue) await this.redis.set(venueKey(id), JSON.stringify(venue), 'EX', 30);
    return venue;
  }

  async closeVenue(id: string): Promise<void> {
    await this.db.query('UPDATE venues SET open = false WHERE id = $1', [id]);
    await this.redis.del(venueKey(id));
  }
}
`,
    },
    { name: 'fixed twin: rails re-reads inside connected_to(role: :writing)', path: 'app/services/refunds/issue_credit.rb', code: railsRefund('writing') },
    {
      name: 'fixed twin: rails one-liner reads the record it just updated',
      path: 'app/services/seats/upgrade.rb',
      code: `class UpgradeSeat
  def call(booking, cabin)
    booking.update!(cabin: cabin)
    fare = Booking.find(booking.id).fare_difference
    Payments.charge!(booking.customer, fare) if fare.positive?
  end
end
`,
    },
    { name: 'fixed twin: the no-TTL fill gets a short TTL', ...shelfLabels("await redis.set(labelKey(shelfId), JSON.stringify(rows[0]), 'EX', 30);") },
    { name: 'fixed twin: the route-handler fill gets a short TTL', path: 'src/kiosks/routes.ts', code: kioskRoutes("await redis.set(`kiosk:${req.params.id}`, JSON.stringify(rows[0]), 'EX', 30);") },
    { name: 'fixed twin: python fill with a 30 s TTL', path: 'menus/cache.py', code: pyMenu('short') },
    { name: 'fixed twin: python fill with SET NX', path: 'menus/cache.py', code: pyMenu('nx') },
    { name: 'fixed twin: django cache fill for a minute', path: 'rosters/services.py', code: djangoRoster('60') },
    { name: 'rails: the helper reads the primary (fixed twin)', path: 'app/services/storefront/coupon_sync.rb', code: railsCouponSync('db') },
    { name: 'rails: the helper refreshes the index before searching (fixed twin)', path: 'app/services/storefront/coupon_sync.rb', code: railsCouponSync('refresh') },
    { name: 'django: the helper reads the ORM (fixed twin)', path: 'access/badges.py', code: djangoBadgeSync(true) },
    { name: 'cache-aside: the key carries a version bumped by writers (fixed twin)', path: 'src/plans/plan.service.ts', code: planCache('versioned') },
    { name: 'cache-aside: a short TTL bounds the stale window (fixed twin)', path: 'src/plans/plan.service.ts', code: planCache('short') },
    { name: 'cache-aside: the limit is checked against the primary (fixed twin)', path: 'src/plans/plan.service.ts', code: planCache('db') },
    { name: 'rails: Rails.cache.fetch with a short expiry (fixed twin)', path: 'app/services/fare_service.rb', code: railsTariff(true) },
    { name: 'go: a same-object method named after the entity that notifies (a write verb), not a read', path: 'internal/s/service.go', code: `package s

import (
	"context"
	"database/sql"
)

type Service struct {
	primary *sql.DB
	replica *sql.DB
}

func (s *Service) Hold(ctx context.Context, id string) error {
	if _, err := s.primary.ExecContext(ctx, \`UPDATE seats SET held = true WHERE id = $1\`, id); err != nil {
		return err
	}
	n, err := s.notifySeatWatchers(ctx, id)
	if n > 0 {
		return err
	}
	return nil
}
` },
    { name: 'go: the helper body is in the diff and reads the primary', path: 'internal/s/service.go', code: `package s

import (
	"context"
	"database/sql"
)

type Service struct {
	primary *sql.DB
	replica *sql.DB
}

func (s *Service) seatCount(ctx context.Context) (int, error) {
	var n int
	err := s.primary.QueryRowContext(ctx, \`SELECT count(*) FROM seats WHERE held\`).Scan(&n)
	return n, err
}

func (s *Service) Hold(ctx context.Context, id string) error {
	if _, err := s.primary.ExecContext(ctx, \`UPDATE seats SET held = true WHERE id = $1\`, id); err != nil {
		return err
	}
	n, err := s.seatCount(ctx)
	if n > 100 {
		return err
	}
	return nil
}
` },
    { name: 'a search of another index after the write', path: 'src/x.service.ts', code: `import { Repository } from 'typeorm';
export class XService {
  constructor(private readonly tickets: Repository<Ticket>, private readonly search: SearchService) {}
  async close(id: string) {
    await this.tickets.update({ id }, { status: 'closed' });
    const articles = await this.search.search({ index: 'kb-articles', query: { match_all: {} } });
    if (articles.hits.total.value > 0) await suggest(id);
  }
}
` },
    {
      name: 'meilisearch: the decision counts the primary instead of the index (fixed twin)',
      path: 'src/p.ts',
      code: `import { prisma } from './db';

export async function hide(id: string) {
  await prisma.product.update({ where: { id }, data: { hidden: true } });
  const visible = await prisma.product.count({ where: { hidden: false } });
  if (visible === 0) await alertEmptyCatalog();
}
`,
    },
    {
      name: 'algolia: the count comes from the database (fixed twin)',
      path: 'src/a.ts',
      code: `import { db } from './db';

export async function unpublish(id: string) {
  await db.query('UPDATE articles SET published = false WHERE id = $1', [id]);
  const res = await db.query('SELECT count(*) AS n FROM articles WHERE published');
  return res.rows[0].n;
}
`,
    },
    {
      name: 'python: django update, then the count is taken from the ORM (fixed twin)',
      path: 'app/svc.py',
      code: `from .models import Article


def unpublish(article_id):
    Article.objects.filter(pk=article_id).update(published=False)
    if Article.objects.filter(published=True).count() == 0:
        notify_empty()
`,
    },
    { name: 'python: es.index with refresh="wait_for", then search (fixed twin)', path: 'app/idx.py', code: `from .search import es


def publish(doc):
    es.index(index="articles", id=doc.id, document=doc.to_dict(), refresh="wait_for")
    res = es.search(index="articles", query={"term": {"author": doc.author}})
    if res["hits"]["total"]["value"] > 10:
        badge(doc.author)
`},
    { name: 'es.indices.refresh between the index write and the search', path: 'src/idx.ts', code: `import { es } from './es';

export async function publish(doc: { id: string; author: string }) {
  await es.index({ index: 'articles', id: doc.id, document: doc });
  await es.indices.refresh({ index: 'articles' });
  const res = await es.search({ index: 'articles', query: { term: { author: doc.author } } });
  if (res.hits.hits.length > 10) await badge(doc.author);
}
`},
    {
      name: 'typeorm update, then the count comes from the same repository (fixed twin)',
      path: 'src/orders/orders.service.ts',
      code: ordersService(true),
      extra: [orderSearch],
    },
    {
      name: "elasticsearch: index with refresh: 'wait_for', then search (fixed twin)",
      path: 'src/listings/publish.ts',
      code: listingIndex(true),
    },
    {
      name: 'go: the total is read back through the writer handle (fixed twin)',
      path: 'internal/rooms/service.go',
      code: goRooms(true),
    },
    {
      name: 'go: the helper reads through the primary handle (fixed twin)',
      path: 'internal/carts/repo.go',
      code: goCarts(true),
    },
    {
      name: 'node-postgres: the updated row is returned by the write itself',
      path: 'src/credits/grant.ts',
      code: `import { pool, readPool } from '../db';

export async function grantCredit(userId: string, cents: number) {
  const { rows } = await pool.query('UPDATE wallets SET credit_cents = credit_cents + $2 WHERE user_id = $1 RETURNING credit_cents', [userId, cents]);
  if (rows[0].credit_cents >= 5000) await unlockTier(userId);
  const feed = await readPool.query('SELECT * FROM announcements ORDER BY id DESC LIMIT 5');
  return feed.rows;
}
`,
    },
    {
      name: 'cache key deleted between the write and the cached read (fixed twin)',
      path: 'src/profiles/service.ts',
      code: cachedService(true),
    },
    {
      name: 'django: decide from the update count instead of re-reading (fixed twin)',
      path: 'billing/views.py',
      code: `from .models import Invoice


def void_invoice(request, invoice_id):
    updated = Invoice.objects.filter(pk=invoice_id, status="open").update(status="void")
    if updated == 1:
        refund(Invoice.objects.using("default").get(pk=invoice_id))
    return redirect("invoices")
`,
    },
    {
      name: 'django: read pinned to the primary despite the router (fixed twin)',
      path: 'billing/cancel.py',
      code: `from .models import Subscription


def cancel(request, sub_id):
    Subscription.objects.filter(pk=sub_id).update(status="cancelled")
    sub = Subscription.objects.using("default").get(pk=sub_id)
    if sub.status != "cancelled":
        return error(request)
    notify_cancelled(sub)
`,
      extra: [djangoRouter],
    },
    {
      name: 'django without any replica: the re-read hits the primary',
      path: 'billing/plain.py',
      code: `from .models import Subscription


def cancel(request, sub_id):
    Subscription.objects.filter(pk=sub_id).update(status="cancelled")
    sub = Subscription.objects.get(pk=sub_id)
    if sub.status != "cancelled":
        return error(request)
`,
    },
    {
      name: 'prisma: the row returned by the update is used',
      path: 'src/profiles/direct.ts',
      code: `import { prisma } from '../db';
import { redis } from '../cache';

export async function changePhone(id: string, phone: string) {
  const profile = await prisma.profile.update({ where: { id }, data: { phone } });
  await redis.del(\`profile:\${id}\`);
  await sms.sendCode(profile.phone);
}
`,
    },
    {
      name: 'a cache read of another entity after the write',
      path: 'src/orders/flags.js',
      code: `const { pool } = require('../db');
const { redis } = require('../cache');

async function markShipped(orderId) {
  await pool.query("UPDATE orders SET status = 'shipped' WHERE id = $1", [orderId]);
  const flags = await redis.get('feature-flags');
  if (JSON.parse(flags).notify) await notify(orderId);
}
`,
    },
    { name: 'fixed twin: the mongoose helper reads the primary', path: 'src/lessons/withdraw.ts', code: "import { lessonRepo } from './lesson.repo';\n\nexport async function withdrawLesson(id: string, coachId: string) {\n  const lesson = await lessonRepo.cancel(id, coachId);\n  const busy = await lessonRepo.hasBookedLesson(lesson.coachId, lesson.at);\n  if (!busy) {\n    await standby.offer(lesson.coachId, lesson.at);\n  }\n  return lesson;\n}\n", extra: [{ path: 'src/lessons/lesson.repo.ts', code: "import { Lesson } from './lesson.model';\n\nexport const lessonRepo = {\n  async hasBookedLesson(coachId: string, at: Date): Promise<boolean> {\n    const hit = await Lesson.exists({ coachId, at, status: 'booked' })\n      .exec();\n    return hit !== null;\n  },\n};\n" }] },
  ],
});
