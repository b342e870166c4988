import detector from '../../src/detectors/check-then-insert.js';
import { runTable } from './tester.js';

const prismaSchemaPlain = {
  path: 'prisma/schema.prisma',
  code: `model Subscription {
  id        String @id @default(cuid())
  accountId String
  planId    String
  @@index([accountId, planId])
}`,
};

const prismaSchemaUnique = {
  path: 'prisma/schema.prisma',
  code: `model Subscription {
  id        String @id @default(cuid())
  accountId String
  planId    String
  @@unique([accountId, planId])
}`,
};

// Recency / dedup windows: "a row for this key in the last N minutes" is an existence check (toctou), not a range.
const receiptBug = `import { db } from '../db';
import { mailer } from '../mailer';

export async function sendReceipt(orderId: string, email: string) {
  const key = \`receipt-\${orderId}-\${Date.now()}\`;
  const sent = await db.query(
    "SELECT 1 FROM receipt_emails WHERE order_id = $1 AND sent_at > NOW() - INTERVAL '10 minutes'",
    [orderId],
  );
  if (sent.rowCount > 0) return 'already sent';
  await mailer.send({ to: email, template: 'receipt' }, { idempotencyKey: key });
  await db.query('INSERT INTO receipt_emails (order_id, sent_at) VALUES ($1, NOW())', [orderId]);
  return 'sent';
}`;

const receiptFixed = `import { db } from '../db';
import { mailer } from '../mailer';

export async function sendReceipt(orderId: string, email: string) {
  const key = \`receipt-\${orderId}\`;
  const claimed = await db.query(
    'INSERT INTO receipt_emails (order_id, idempotency_key, sent_at) VALUES ($1, $2, NOW()) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id',
    [orderId, key],
  );
  if (claimed.rowCount === 0) return 'already sent';
  await mailer.send({ to: email, template: 'receipt' }, { idempotencyKey: key });
  return 'sent';
}`;

const prismaDonationBug = `import { prisma } from '../db';

export async function donate(donorId: string, campaignId: string, amount: number) {
  const since = new Date(Date.now() - 2 * 60 * 1000);
  const recent = await prisma.donation.findFirst({
    where: { donorId, campaignId, createdAt: { gt: since } },
  });
  if (recent) return recent;
  return prisma.donation.create({ data: { donorId, campaignId, amount } });
}`;

const djangoTipBug = `from datetime import timedelta

from django.utils import timezone

from .models import Tip


def leave_tip(user, post, amount):
    if Tip.objects.filter(user=user, post=post, created_at__gte=timezone.now() - timedelta(minutes=1)).exists():
        return None
    return Tip.objects.create(user=user, post=post, amount=amount)
`;

// State guards on a loaded row: the field tested is written afterwards with no condition on it.
const goTicketBug = `package tickets

func (s *Store) Hold(ctx context.Context, ticketID, buyerID int64) error {
	t, err := s.FindTicket(ctx, ticketID)
	if err != nil {
		return err
	}
	if t.State != "available" {
		return ErrNotAvailable
	}
	_, err = s.db.ExecContext(ctx, \`UPDATE tickets SET state = 'held', holder_id = $2, held_at = now() WHERE id = $1\`, ticketID, buyerID)
	return err
}`;

const goTicketFixed = `package tickets

func (s *Store) Hold(ctx context.Context, ticketID, buyerID int64) error {
	res, err := s.db.ExecContext(ctx, \`UPDATE tickets SET state = 'held', holder_id = $2, held_at = now() WHERE id = $1 AND state = 'available'\`, ticketID, buyerID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotAvailable
	}
	return nil
}`;

const djangoVoucherBug = `from django.db.models import F
from django.utils import timezone

from .models import Voucher, LedgerLine


def redeem(user, code):
    voucher = Voucher.objects.get(code=code)
    if voucher.redeemed_at is not None:
        raise AlreadyRedeemed()
    LedgerLine.objects.create(user=user, amount=voucher.value)
    Voucher.objects.filter(pk=voucher.pk).update(redeemed_at=timezone.now(), redeemed_by=user)
`;

const djangoVoucherFixed = `from django.db import transaction
from django.utils import timezone

from .models import Voucher, LedgerLine


def redeem(user, code):
    with transaction.atomic():
        claimed = Voucher.objects.filter(code=code, redeemed_at__isnull=True).update(redeemed_at=timezone.now(), redeemed_by=user)
        if claimed == 0:
            raise AlreadyRedeemed()
        voucher = Voucher.objects.get(code=code)
        LedgerLine.objects.create(user=user, amount=voucher.value)
`;

const prismaTaskBug = `import { prisma } from '../db';
import { notify } from '../notify';

export async function assignTask(taskId: string, userId: string) {
  const task = await prisma.task.findUnique({ where: { id: taskId } });
  if (!task) throw new Error('not found');
  if (task.assigneeId) throw new Error('already assigned');
  const updated = await prisma.task.update({ where: { id: taskId }, data: { assigneeId: userId, assignedAt: new Date() } });
  await notify.assigned(userId, taskId);
  return updated;
}`;

const prismaTaskFixed = `import { prisma } from '../db';
import { notify } from '../notify';

export async function assignTask(taskId: string, userId: string) {
  const { count } = await prisma.task.updateMany({ where: { id: taskId, assigneeId: null }, data: { assigneeId: userId, assignedAt: new Date() } });
  if (count === 0) throw new Error('already assigned');
  await notify.assigned(userId, taskId);
}`;

const railsJobBug = `class ClaimJob
  def call(job_id, worker)
    job = Job.find(job_id)
    raise AlreadyClaimed if job.worker_id.present?

    job.update!(worker_id: worker.id, state: "running")
    JobRunner.perform_later(job.id)
  end
end`;

const djangoOrderBug = `from .models import Order
from .payments import refund


def cancel(order_id):
    order = Order.objects.get(pk=order_id)
    if order.status != "pending":
        raise CannotCancel()
    order.status = "cancelled"
    order.save()
    refund(order)
`;

const goScannedBug = `package polls

func (s *Store) Close(ctx context.Context, pollID int64) error {
	var state string
	if err := s.db.QueryRowContext(ctx, \`SELECT state FROM polls WHERE id = $1\`, pollID).Scan(&state); err != nil {
		return err
	}
	if state != "open" {
		return ErrClosed
	}
	if _, err := s.db.ExecContext(ctx, \`UPDATE polls SET state = 'closed', closed_at = now() WHERE id = $1\`, pollID); err != nil {
		return err
	}
	return s.publishResults(ctx, pollID)
}`;

// A state guard on a row loaded through a store getter, then a write through a short store method that updates the
// row by id alone (bug) or by id and the guarded state (fixed: a conditional update checked by RowsAffected).
const lockerRepoGo = (conditional: boolean) => `package lockers

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

type Store struct{ pool *pgxpool.Pool }

func (s *Store) LoadLocker(ctx context.Context, id int64) (*Locker, error) {
	var l Locker
	err := s.pool.QueryRow(ctx, \`SELECT id, site, state FROM lockers WHERE id = $1\`, id).Scan(&l.ID, &l.Site, &l.State)
	return &l, err
}

func (s *Store) AssignParcel(ctx context.Context, lockerID, parcelID int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, \`UPDATE lockers SET state = 'occupied', parcel_id = $2, assigned_at = now()
		WHERE id = $1${conditional ? " AND state = 'free'" : ''}\`, lockerID, parcelID)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}
`;

const lockerServiceGo = `package lockers

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var ErrOccupied = errors.New("locker is not free")

type Service struct {
	store *Store
	sms   Notifier
}

func (s *Service) Drop(ctx context.Context, lockerID, parcelID int64, phone string) error {
	l, err := s.store.LoadLocker(ctx, lockerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("locker %d: %w", lockerID, err)
	}
	if l.State != "free" {
		return ErrOccupied
	}
	if err := s.sms.Notify(ctx, phone, l.Site); err != nil {
		return err
	}
	ok, err := s.store.AssignParcel(ctx, lockerID, parcelID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrOccupied
	}
	return nil
}
`;

// An existence check and an insert both made through a repository object; the insert helper spreads its argument
// into the row it creates, so the caller's keys are the written columns.
const seatRepoTs = `import { prisma } from '../db';

export const seatRepo = {
  findOpenSeat(workspaceId: string, email: string) {
    return prisma.seat.findFirst({ where: { workspaceId, email, revokedAt: null } });
  },

  addSeat(input: { workspaceId: string; email: string; role: string }) {
    return prisma.seat.create({ data: { ...input, invitedAt: new Date() } });
  },
};
`;

const seatServiceTs = `import { prisma } from '../db';
import { seatRepo } from './seatRepo';

export async function inviteMember(workspaceId: string, email: string, role = 'member') {
  const workspace = await prisma.workspace.findUnique({ where: { id: workspaceId } });
  if (!workspace) throw new Error('no such workspace');

  const current = await seatRepo.findOpenSeat(workspaceId, email);
  if (current) {
    return { seat: current, created: false };
  }

  const seat = await seatRepo.addSeat({
    workspaceId,
    email,
    role,
  });
  return { seat, created: true };
}
`;

const seatSchema = (unique: boolean) => `model Seat {
  id          String    @id @default(cuid())
  workspaceId String
  email       String
  role        String
  invitedAt   DateTime
  revokedAt   DateTime?

  ${unique ? '@@unique([workspaceId, email])' : '@@index([workspaceId, email])'}
}
`;

runTable(detector, {
  valid: [
    {
      name: 'go pgx: state guard on a store getter, then a store method whose UPDATE re-checks the state (conditional, RowsAffected)',
      path: 'internal/lockers/service.go',
      extra: [{ path: 'internal/lockers/store.go', code: lockerRepoGo(true) }],
      code: lockerServiceGo,
    },
    {
      name: 'prisma: existence check and spreading insert through a repository object, unique on the keys',
      path: 'src/seats/seatService.ts',
      extra: [
        { path: 'src/seats/seatRepo.ts', code: seatRepoTs },
        { path: 'prisma/schema.prisma', code: seatSchema(true) },
      ],
      code: seatServiceTs,
    },
    {
      name: 'fixed twin: session.get(..., with_for_update=True) inside session.begin() locks the row before the check',
      path: 'clinic/booking.py',
      code: `from sqlalchemy import select

from clinic.db import PrimarySession
from clinic.models import Appointment, Room


class BookingError(Exception):
    pass


def cancel_appointment(appointment_id: int) -> Appointment:
    with PrimarySession() as session, session.begin():
        appt = session.get(Appointment, appointment_id, with_for_update=True)
        if appt is None or appt.status != "booked":
            raise BookingError("This appointment is no longer booked.")
        room = session.get(Room, appt.room_id)
        appt.status = "cancelled"
        room.status = "free"
    return appt
`,
    },
    {
      name: 'django: related-manager exists() through a model method on the receiver, then create, UniqueConstraint on the pair',
      path: 'races/views.py',
      extra: [
        { path: 'races/models.py', code: `from django.db import models


class Runner(models.Model):
    name = models.CharField(max_length=80)

    def has_entry(self, race):
        return self.entries.filter(race=race).exists()


class Entry(models.Model):
    runner = models.ForeignKey(Runner, on_delete=models.CASCADE, related_name="entries")
    race = models.ForeignKey("Race", on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["runner", "race"], name="uniq_entry_runner_race")]
` },
      ],
      code: `from django.http import JsonResponse

from .models import Entry


def enter(request, runner, race):
    if runner.has_entry(race):
        return JsonResponse({"error": "already entered"}, status=409)
    entry = Entry.objects.create(runner=runner, race=race)
    return JsonResponse({"id": entry.pk}, status=201)
`,
    },
    {
      name: 'prisma: repository count returned as a boolean (n > 0), then the repository insert, @@unique on the pair',
      path: 'src/holds/holds.service.ts',
      extra: [
        { path: 'prisma/schema.prisma', code: `model Hold {
  id       String @id @default(cuid())
  bookId   String
  memberId String
  @@unique([bookId, memberId])
}
` },
        { path: 'src/holds/holds.repository.ts', code: `import type { PrismaClient } from '@prisma/client';

export class HoldsRepository {
  constructor(private readonly db: PrismaClient) {}

  async hasActiveHold(bookId: string, memberId: string): Promise<boolean> {
    const n = await this.db.hold.count({ where: { bookId, memberId } });
    return n > 0;
  }

  async insertHold(data: { bookId: string; memberId: string }) {
    return this.db.hold.create({ data });
  }
}
` },
      ],
      code: `import { HoldsRepository } from './holds.repository';

export class HoldsService {
  constructor(private readonly holds: HoldsRepository) {}

  async place(bookId: string, memberId: string) {
    if (await this.holds.hasActiveHold(bookId, memberId)) {
      throw new Error('hold exists');
    }
    return this.holds.insertHold({ bookId, memberId });
  }
}
`,
    },
    {
      name: 'django: existence read through a helper returning the latest open row, create inside a savepoint with IntegrityError fallback',
      path: 'lockers/claims.py',
      extra: [
        { path: 'lockers/models.py', code: `from django.db import models


class LockerClaim(models.Model):
    locker = models.ForeignKey("Locker", on_delete=models.CASCADE)
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE)
    claimed_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["locker", "user", "released_at"])]
` },
      ],
      code: `from django.db import IntegrityError, transaction

from .models import LockerClaim


def open_claim(locker, user_id):
    return (
        LockerClaim.objects.filter(locker=locker, user_id=user_id, released_at__isnull=True)
        .order_by("-claimed_at")
        .first()
    )


def claim_locker(locker, user):
    current = open_claim(locker, user.pk)
    if current is not None:
        return current, False
    try:
        with transaction.atomic():
            claim = LockerClaim.objects.create(locker=locker, user=user)
    except IntegrityError:
        return open_claim(locker, user.pk), False
    return claim, True
`,
    },
    {
      name: 'go pgx: lookup through a repository method (column list concatenated into the SELECT), insert through another, unique index',
      path: 'internal/badges/service.go',
      extra: [
        { path: 'internal/badges/repo.go', code: `package badges

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

const badgeCols = \`id, tag, owner_id, label\`

type Repo struct{ pool *pgxpool.Pool }

func (r *Repo) ByTag(ctx context.Context, tag string) (*Badge, error) {
	return scanBadge(r.pool.QueryRow(ctx, \`SELECT \`+badgeCols+\` FROM badges WHERE tag = \$1\`, tag))
}

func (r *Repo) Insert(ctx context.Context, b *Badge) error {
	return r.pool.QueryRow(ctx,
		\`INSERT INTO badges (tag, owner_id, label) VALUES (\$1, \$2, \$3) RETURNING id\`,
		b.Tag, b.OwnerID, b.Label).Scan(&b.ID)
}
` },
        { path: 'migrations/0004_badges.sql', code: `CREATE UNIQUE INDEX badges_tag_key ON badges (tag);` },
      ],
      code: `package badges

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var ErrClaimed = errors.New("badge belongs to someone else")

type Service struct{ repo *Repo }

func (s *Service) Register(ctx context.Context, ownerID int64, tag, label string) (*Badge, error) {
	found, err := s.repo.ByTag(ctx, tag)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	if found != nil {
		if found.OwnerID == ownerID {
			return found, nil
		}
		return nil, ErrClaimed
	}
	b := &Badge{Tag: tag, OwnerID: ownerID, Label: label}
	if err := s.repo.Insert(ctx, b); err != nil {
		return nil, fmt.Errorf("insert: %w", err)
	}
	return b, nil
}
`,
    },
    {
      name: 'rails: guard method raising on a model predicate over an association, then create! through it, unique partial index',
      path: 'app/services/court_booking.rb',
      extra: [
        { path: 'app/models/court.rb', code: `class Court < ApplicationRecord
  has_many :reservations

  def current_reservation
    reservations.where(ended_at: nil).order(:started_at).last
  end

  def occupied?
    current_reservation.present?
  end
end
` },
        { path: 'db/migrate/20240301000000_add_open_reservation_index.rb', code: `class AddOpenReservationIndex < ActiveRecord::Migration[7.1]
  def change
    add_index :reservations, :court_id, unique: true, where: "ended_at IS NULL"
  end
end
` },
      ],
      code: `class CourtBooking
  class Occupied < StandardError; end

  def initialize(court:, player:)
    @court = court
    @player = player
  end

  def call
    check_free!
    @court.reservations.create!(player: @player, started_at: Time.current)
  end

  private

  def check_free!
    raise Occupied, "court in use" if @court.occupied?
  end
end
`,
    },
    {
      name: 'rails: association exists? then create! through the same record, unique index on the foreign key',
      path: 'app/services/lane_hold.rb',
      extra: [
        { path: 'db/migrate/20240302000000_add_hold_index.rb', code: `class AddHoldIndex < ActiveRecord::Migration[7.1]
  def change
    add_index :holds, :lane_id, unique: true, where: "released_at IS NULL"
  end
end
` },
      ],
      code: `class LaneHold
  def initialize(lane:, swimmer:)
    @lane = lane
    @swimmer = swimmer
  end

  def call
    raise Busy if @lane.holds.active.exists?
    @lane.holds.create!(swimmer: @swimmer, held_at: Time.current)
  end
end
`,
    },
    {
      name: 'go: existence count through a sibling method on the receiver, then charge and insert, unique (member, term)',
      path: 'internal/keys/desk.go',
      extra: [{ path: 'migrations/0012_locker_rentals.sql', code: `CREATE UNIQUE INDEX locker_rentals_member_term_key ON locker_rentals (member_id, term);` }],
      code: `package keys

import (
	"context"
	"database/sql"
)

type Desk struct {
	db  *sql.DB
	pay Payments
}

func (d *Desk) holdsLocker(ctx context.Context, memberID string, term int) (bool, error) {
	var n int
	err := d.db.QueryRowContext(ctx,
		\`SELECT count(*) FROM locker_rentals WHERE member_id = \$1 AND term = \$2\`,
		memberID, term).Scan(&n)
	return n > 0, err
}

func (d *Desk) Rent(ctx context.Context, memberID string, term int) error {
	held, err := d.holdsLocker(ctx, memberID, term)
	if err != nil {
		return err
	}
	if held {
		return ErrAlreadyRented
	}
	if err := d.pay.Charge(ctx, memberID, 2500); err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx,
		\`INSERT INTO locker_rentals (member_id, term) VALUES (\$1, \$2)\`, memberID, term)
	return err
}
`,
    },
    {
      name: 'rails model method: bare with_lock do ... end around the find_by and the create!, with a return inside the block',
      path: 'app/models/workshop.rb',
      code: `class Workshop < ApplicationRecord
  has_many :seats

  def reserve!(member)
    with_lock do
      seat = seats.find_by(member_id: member.id)
      return seat if seat&.confirmed?

      if seat
        seat.update!(state: :confirmed)
        seat
      else
        seats.create!(member_id: member.id, state: :confirmed)
      end
    end
  end
end`,
    },
    {
      name: 'state guard (drizzle relational query): conditional update with isNull in the WHERE and the row count checked',
      path: 'src/app/api/vouchers/claim/route.ts',
      code: `import { and, eq, isNull } from 'drizzle-orm';
import { db } from '@/db';
import { vouchers, seatUpgrades } from '@/db/schema';

export async function POST(req: Request) {
  const { token, travellerId } = await req.json();
  const voucher = await db.query.vouchers.findFirst({ where: eq(vouchers.token, token) });
  if (!voucher) return Response.json({ error: 'unknown' }, { status: 404 });
  if (voucher.claimedAt) return Response.json({ error: 'already used' }, { status: 409 });
  return db.transaction(async (tx) => {
    const claimed = await tx
      .update(vouchers)
      .set({ claimedAt: new Date(), claimedBy: travellerId })
      .where(and(eq(vouchers.id, voucher.id), isNull(vouchers.claimedAt)))
      .returning({ id: vouchers.id });
    if (claimed.length === 0) return Response.json({ error: 'already used' }, { status: 409 });
    await tx.insert(seatUpgrades).values({ travellerId, voucherId: voucher.id });
    return Response.json({ ok: true });
  });
}`,
    },
    {
      name: 'state guard (drizzle select): row locked with .for("update") inside the transaction before the check',
      path: 'src/invites/accept.ts',
      code: `import { eq } from 'drizzle-orm';
import { db } from '../db';
import { invites, memberships } from '../db/schema';

export async function acceptInvite(code: string, userId: string) {
  return db.transaction(async (tx) => {
    const [invite] = await tx.select().from(invites).where(eq(invites.code, code)).for('update');
    if (!invite) throw new Error('not found');
    if (invite.acceptedAt) throw new Error('invite already used');
    await tx.update(invites).set({ acceptedAt: new Date(), acceptedBy: userId }).where(eq(invites.id, invite.id));
    await tx.insert(memberships).values({ teamId: invite.teamId, userId });
  });
}`,
    },
    {
      name: 'state guard standing down: the other column written back is computed from its own old value (lost_update)',
      path: 'app/jobs/grant_monthly_credits_job.rb',
      code: `class GrantMonthlyCreditsJob
  include Sidekiq::Job

  def perform(subscriber_id, month)
    subscriber = Subscriber.find(subscriber_id)
    return if subscriber.credited_through.present? && subscriber.credited_through >= month

    before = subscriber.credit_balance
    total = [before + subscriber.plan.monthly_credits, subscriber.plan.credit_cap].min
    subscriber.update!(credit_balance: total, credited_through: month)
  end
end`,
    },
    {
      name: 'state guard standing down: a count over the rows filtered on the guarded field decides the write (write_skew)',
      path: 'oncall/service.py',
      code: `from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Rotation

MIN_ON_CALL = 2


def _on_call_count(session: Session, team_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Rotation).where(Rotation.team_id == team_id, Rotation.state == "on_call")
    )


def step_down(session: Session, rotation_id: int) -> Rotation:
    with session.begin():
        rotation = session.get(Rotation, rotation_id)
        if rotation.state != "on_call":
            raise ValueError("not on call")
        if _on_call_count(session, rotation.team_id) - 1 < MIN_ON_CALL:
            raise ValueError("team would be under-covered")
        rotation.state = "off"
        rotation.left_at = func.now()
    return rotation
`,
    },
    { name: 'state guard (go): conditional UPDATE ... AND state = $ with RowsAffected', path: 'internal/tickets/hold.go', code: goTicketFixed },
    {
      name: 'state guard (pg): conditional UPDATE ... AND status = $2 RETURNING, refund only when a row came back',
      path: 'src/orders/cancel.ts',
      code: `import { pool } from '../db';
import { payments } from '../payments';

export class OrderService {
  async cancel(orderId: string) {
    const { rows } = await pool.query(
      "UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = $1 AND status = 'paid' RETURNING payment_id",
      [orderId],
    );
    if (rows.length === 0) throw new Error('only paid orders can be cancelled');
    await payments.refund(rows[0].payment_id);
  }
}`,
    },
    { name: 'state guard (django): conditional update filter(..., redeemed_at__isnull=True) with the count checked', path: 'vouchers/services.py', code: djangoVoucherFixed },
    { name: 'state guard (prisma): updateMany with assigneeId: null in where, count checked', path: 'src/tasks/assign.ts', code: prismaTaskFixed },
    {
      name: 'state guard (rails): the row is locked with with_lock before the check',
      path: 'app/services/claim_job.rb',
      code: `class ClaimJob
  def call(job_id, worker)
    job = Job.find(job_id)
    job.with_lock do
      raise AlreadyClaimed if job.worker_id.present?

      job.update!(worker_id: worker.id, state: "running")
    end
    JobRunner.perform_later(job.id)
  end
end`,
    },
    {
      name: 'state guard (django): select_for_update() in a transaction before the check',
      path: 'orders/services.py',
      code: djangoOrderBug.replace('def cancel(order_id):\n    order = Order.objects.get(pk=order_id)', 'def cancel(order_id):\n    order = Order.objects.select_for_update().get(pk=order_id)'),
    },
    {
      name: 'state guard (go): version column in the WHERE (optimistic concurrency)',
      path: 'internal/polls/close.go',
      code: goScannedBug.replace("closed_at = now() WHERE id = $1\`, pollID)", "closed_at = now(), version = version + 1 WHERE id = $1 AND version = $2\`, pollID, version)"),
    },
    {
      name: 'state guard (rails): optimistic locking, StaleObjectError rescued',
      path: 'app/services/claim_job.rb',
      code: railsJobBug.replace('  end\nend', '  rescue ActiveRecord::StaleObjectError\n    raise AlreadyClaimed\n  end\nend'),
    },
    {
      name: 'state guard: a flag flipped to the same value with nothing riding on it',
      path: 'accounts/verify.py',
      code: `from django.utils import timezone
from .models import Account


def mark_verified(account_id):
    account = Account.objects.get(pk=account_id)
    if account.verified_at is not None:
        return
    Account.objects.filter(pk=account.pk).update(verified_at=timezone.now())
`,
    },
    {
      name: 'state guard: a balance computed from the loaded value is read-modify-write (lost_update), not this',
      path: 'wallets/spend.py',
      code: `from .models import Wallet


def spend(wallet_id, amount):
    wallet = Wallet.objects.get(pk=wallet_id)
    if wallet.balance < amount:
        raise Insufficient()
    wallet.balance = wallet.balance - amount
    wallet.save()
    Receipt.objects.create(wallet=wallet, amount=amount)
`,
    },
    {
      name: 'state guard: a field that the write does not touch (only an ownership check)',
      path: 'src/docs/rename.ts',
      code: `import { prisma } from '../db';
export async function rename(docId: string, userId: string, title: string) {
  const doc = await prisma.document.findUnique({ where: { id: docId } });
  if (!doc || doc.ownerId !== userId) throw new Error('forbidden');
  await prisma.document.update({ where: { id: docId }, data: { title } });
  await prisma.auditEntry.create({ data: { docId, action: 'rename' } });
}`,
    },
    {
      name: 'recency window, fixed twin (typeorm): insert-or-ignore on a unique (userId, topic, day) key',
      path: 'src/reminders/remind.ts',
      code: `import type { DataSource } from 'typeorm';
import { Reminder } from './reminder.entity';
export async function remind(dataSource: DataSource, userId: string, topic: string, day: string) {
  const res = await dataSource.createQueryBuilder().insert().into(Reminder).values({ userId, topic, day }).orIgnore().execute();
  return res.identifiers.length > 0;
}`,
    },
    {
      name: 'recency window, fixed twin (ts raw SQL): insert-first ON CONFLICT on a deterministic key',
      path: 'src/orders/receipt.ts',
      code: receiptFixed,
    },
    {
      name: 'recency window, fixed twin (prisma): unique key and P2002 mapped to the existing row',
      path: 'src/donations/donate.ts',
      code: `import { Prisma } from '@prisma/client';
import { prisma } from '../db';

export async function donate(donorId: string, campaignId: string, amount: number, requestId: string) {
  try {
    return await prisma.donation.create({ data: { donorId, campaignId, amount, requestId } });
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') return prisma.donation.findFirst({ where: { requestId } });
    throw err;
  }
}`,
    },
    {
      name: 'recency window, fixed twin (django): the window check stays but a UniqueConstraint on the key decides',
      path: 'tips/services.py',
      extra: [
        {
          path: 'tips/models.py',
          code: `from django.db import models


class Tip(models.Model):
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE)
    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE)
    amount = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="one_tip_per_post")]
`,
        },
      ],
      code: djangoTipBug,
    },
    {
      name: 'ordinary code: a recent-activity listing without an insert',
      path: 'src/feed/recent.ts',
      code: `import { prisma } from '../db';
export async function recentDonations(campaignId: string) {
  const since = new Date(Date.now() - 60 * 60 * 1000);
  const rows = await prisma.donation.findMany({ where: { campaignId, createdAt: { gte: since } } });
  if (rows.length === 0) return [];
  return rows;
}`,
    },
    {
      name: 'overlap with two bounds from parameters is not a recency window (phantom_read, not this detector)',
      path: 'src/rooms/book.ts',
      code: `import { prisma } from '../db';
export async function book(roomId: string, startsAt: Date, endsAt: Date) {
  const clash = await prisma.roomBooking.findFirst({ where: { roomId, startsAt: { lt: endsAt }, endsAt: { gt: startsAt } } });
  if (clash) throw new Error('room taken');
  return prisma.roomBooking.create({ data: { roomId, startsAt, endsAt } });
}`,
    },
    {
      name: 'prisma: unique constraint on the checked key',
      path: 'src/billing/subscribe.ts',
      extra: [prismaSchemaUnique],
      code: `import { prisma } from '../db';
export async function subscribe(accountId: string, planId: string) {
  const existing = await prisma.subscription.findFirst({ where: { accountId, planId } });
  if (existing) throw new Error('already subscribed');
  return prisma.subscription.create({ data: { accountId, planId } });
}`,
    },
    {
      name: 'prisma: insert first and map P2002',
      path: 'src/billing/subscribe.ts',
      code: `import { prisma } from '../db';
export async function subscribe(accountId: string, planId: string) {
  try {
    return await prisma.subscription.create({ data: { accountId, planId } });
  } catch (err: any) {
    if (err.code === 'P2002') throw new Error('already subscribed');
    throw err;
  }
}`,
    },
    {
      name: 'prisma: upsert instead of check',
      path: 'src/billing/subscribe.ts',
      code: `import { prisma } from '../db';
export async function subscribe(accountId: string, planId: string) {
  return prisma.subscription.upsert({
    where: { accountId_planId: { accountId, planId } },
    create: { accountId, planId },
    update: {},
  });
}`,
    },
    {
      name: 'prisma: load-or-404 then update the loaded row',
      path: 'src/users/rename.ts',
      code: `import { prisma } from '../db';
export async function rename(userId: string, displayName: string) {
  const user = await prisma.user.findFirst({ where: { id: userId, deletedAt: null } });
  if (!user) throw new Error('not found');
  return prisma.user.update({ where: { id: userId }, data: { displayName } });
}`,
    },
    {
      name: 'django: unique constraint in the model, create then catch IntegrityError',
      path: 'votes/services.py',
      extra: [
        {
          path: 'votes/models.py',
          code: `from django.db import models

class Vote(models.Model):
    poll = models.ForeignKey("polls.Poll", on_delete=models.CASCADE)
    voter = models.ForeignKey("auth.User", on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "voter"], name="one_vote")]
`,
        },
      ],
      code: `from django.db import IntegrityError, transaction
from .models import Vote


def cast_vote(poll, voter):
    try:
        with transaction.atomic():
            return Vote.objects.create(poll=poll, voter=voter)
    except IntegrityError:
        raise AlreadyVoted()
`,
    },
    {
      name: 'django: check guarded by a unique constraint in the diff',
      path: 'votes/services.py',
      extra: [
        {
          path: 'votes/models.py',
          code: `from django.db import models

class Vote(models.Model):
    poll = models.ForeignKey("polls.Poll", on_delete=models.CASCADE)
    voter = models.ForeignKey("auth.User", on_delete=models.CASCADE)

    class Meta:
        unique_together = [("poll", "voter")]
`,
        },
      ],
      code: `from .models import Vote


def cast_vote(poll, voter):
    if Vote.objects.filter(poll=poll, voter=voter).exists():
        raise AlreadyVoted()
    return Vote.objects.create(poll=poll, voter=voter)
`,
    },
    {
      name: 'django: select_for_update on the parent before the check',
      path: 'votes/services.py',
      code: `from django.db import transaction
from .models import Poll, Vote


def cast_vote(poll_id, voter):
    with transaction.atomic():
        poll = Poll.objects.select_for_update().get(pk=poll_id)
        if Vote.objects.filter(poll=poll, voter=voter).exists():
            raise AlreadyVoted()
        return Vote.objects.create(poll=poll, voter=voter)
`,
    },
    {
      name: 'go: INSERT ... ON CONFLICT DO NOTHING and RowsAffected',
      path: 'internal/follows/store.go',
      code: `package follows

func (s *Store) Follow(ctx context.Context, follower, followee int64) (bool, error) {
	res, err := s.db.ExecContext(ctx,
		\`INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING\`, follower, followee)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}`,
    },
    {
      name: 'ruby: check then insert with a unique index in the migration',
      path: 'app/services/follow_user.rb',
      extra: [
        {
          path: 'db/migrate/20240101000000_create_follows.rb',
          code: `class CreateFollows < ActiveRecord::Migration[7.1]
  def change
    create_table :follows do |t|
      t.references :follower
      t.references :followee
    end
    add_index :follows, [:follower_id, :followee_id], unique: true
  end
end`,
        },
      ],
      code: `class FollowUser
  def call(follower, followee)
    return if Follow.exists?(follower_id: follower.id, followee_id: followee.id)

    Follow.create!(follower_id: follower.id, followee_id: followee.id)
  end
end`,
    },
    {
      name: 'knex: check on one table, insert into another',
      path: 'src/audit/log.ts',
      code: `import { db } from '../db';
export async function logLogin(userId: string) {
  const user = await db('users').where({ email_verified: true, id: userId }).first();
  if (user) {
    await db('audit_log').insert({ user_id: userId, kind: 'login' });
  }
}`,
    },
    {
      name: 'ordinary code: read only',
      path: 'src/users/list.ts',
      code: `import { prisma } from '../db';
export async function listByTeam(teamId: string) {
  const users = await prisma.user.findMany({ where: { teamId } });
  return users.map((u) => u.email);
}`,
    },
    {
      name: 'sequelize: attribute check on a loaded row then save (a lost update, not this detector)',
      path: 'services/orders.js',
      code: `const { Order } = require('../models');
async function markPaid(orderId) {
  const order = await Order.findOne({ where: { id: orderId, customerId: 1 } });
  if (order.status === 'paid') return order;
  order.status = 'paid';
  return order.save();
}
module.exports = { markPaid };`,
    },
    {
      name: 'prisma: findUnique on a unique field then create (the insert cannot duplicate the key)',
      path: 'src/users/signup.ts',
      code: `import { prisma } from '../db';
export async function signUp(email: string) {
  const existing = await prisma.user.findUnique({ where: { email } });
  if (existing) throw new Error('email taken');
  return prisma.user.create({ data: { email } });
}`,
    },
    {
      name: 'go: QueryRow error handling only, then an insert into another table',
      path: 'internal/users/signup.go',
      code: `package users

func (s *Store) Audit(ctx context.Context, email string) error {
	var id int64
	if err := s.db.QueryRowContext(ctx, \`SELECT id FROM users WHERE email = $1\`, email).Scan(&id); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, \`INSERT INTO audit_log (user_id, kind) VALUES ($1, 'lookup')\`, id)
	return err
}`,
    },
    {
      name: 'django: OneToOneField makes the checked column unique',
      path: 'payments/services.py',
      extra: [
        {
          path: 'payments/models.py',
          code: `from django.db import models


class Payment(models.Model):
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
`,
        },
      ],
      code: `from .models import Payment


def record_payment(invoice, amount):
    if Payment.objects.filter(invoice=invoice).exists():
        return None
    return Payment.objects.create(invoice=invoice, amount=amount)
`,
    },
    {
      name: 'mongoose: unique: true in the schema',
      path: 'src/users/signup.js',
      extra: [
        {
          path: 'src/models/user.js',
          code: `const mongoose = require('mongoose');
const userSchema = new mongoose.Schema({
  email: { type: String, required: true, unique: true },
});
module.exports = mongoose.model('User', userSchema);`,
        },
      ],
      code: `const User = require('../models/user');
async function signUp(email) {
  const existing = await User.findOne({ email });
  if (existing) throw new Error('email taken');
  return User.create({ email });
}
module.exports = { signUp };`,
    },
    {
      name: 'sequelize: row lock with lock: t.LOCK.UPDATE on the parent first',
      path: 'services/seats.js',
      code: `const { sequelize, Event, Seat } = require('../models');
async function hold(eventId, seatNo, userId) {
  return sequelize.transaction(async (t) => {
    await Event.findByPk(eventId, { transaction: t, lock: t.LOCK.UPDATE });
    const held = await Seat.findOne({ where: { eventId, seatNo }, transaction: t });
    if (held) throw new Error('seat taken');
    return Seat.create({ eventId, seatNo, userId }, { transaction: t });
  });
}
module.exports = { hold };`,
    },
    {
      name: 'guard helper with a state predicate, inside with_lock on the record',
      path: 'app/services/payroll/approve_bonus.rb',
      code: `module Payroll
  class ApproveBonus
    class NotApprovable < StandardError; end

    def initialize(bonus, approver:)
      @bonus = bonus
      @approver = approver
    end

    def call
      @bonus.with_lock do
        check_approvable!
        PayrollApi.schedule_payment(@bonus.employee_ref, @bonus.amount_cents)
        @bonus.update!(status: :approved, approved_by: @approver, approved_at: Time.current)
      end
    end

    private

    def check_approvable!
      raise NotApprovable, "bonus is not pending" unless @bonus.pending?
    end
  end
end
`,
    },
    {
      name: 'guard helper with a state predicate, then a conditional claim (status in the WHERE)',
      path: 'app/services/payroll/approve_bonus_claim.rb',
      code: `module Payroll
  class ApproveBonus
    class NotApprovable < StandardError; end

    def initialize(bonus, approver:)
      @bonus = bonus
      @approver = approver
    end

    def call
      check_approvable!
      claimed = Bonus.where(id: @bonus.id, status: :pending).update_all(status: :approved, approved_by_id: @approver.id)
      raise NotApprovable, "already handled" unless claimed == 1
      PayrollApi.schedule_payment(@bonus.employee_ref, @bonus.amount_cents)
    end

    private

    def check_approvable!
      raise NotApprovable, "bonus is not pending" unless @bonus.pending?
    end
  end
end
`,
    },
    {
      name: 'django: is_open() predicate on a parameter, then a conditional update on the state',
      path: 'returns/refunds.py',
      code: `from django.utils import timezone

from .gateway import refunds
from .models import Return


def refund_return(ret, agent):
    if not ret.is_open():
        raise ValueError("return already handled")
    claimed = Return.objects.filter(pk=ret.pk, state="open").update(state="refunded", handled_by=agent, handled_at=timezone.now())
    if claimed != 1:
        raise ValueError("return already handled")
    refunds.issue(ret.order_ref, ret.amount)
`,
    },
    {
      name: 'typeorm: assert helper with isActive(), then an update that re-checks the status',
      path: 'src/vouchers/voucher.service.ts',
      code: `import { Injectable, ConflictException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Voucher } from './voucher.entity';

@Injectable()
export class VoucherService {
  constructor(@InjectRepository(Voucher) private readonly vouchers: Repository<Voucher>, private readonly ledger: LedgerClient) {}

  async redeem(voucher: Voucher, userId: string) {
    this.assertRedeemable(voucher);
    const res = await this.vouchers.update({ id: voucher.id, status: 'active' }, { status: 'redeemed', redeemedBy: userId });
    if (res.affected !== 1) throw new ConflictException('voucher already redeemed');
    await this.ledger.credit(userId, voucher.valueCents);
  }

  private assertRedeemable(v: Voucher) {
    if (!v.isActive()) {
      throw new ConflictException('voucher is not active');
    }
  }
}
`,
    },
    {
      name: 'typeorm: load filtered on an unset column, then a conditional update re-checking it (affected === 1) before acting',
      path: 'src/gift-cards/gift-card.service.ts',
      code: `import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { GiftCard } from './gift-card.entity';
import { Payout } from './payout.entity';

@Injectable()
export class GiftCardService {
  constructor(
    @InjectRepository(GiftCard) private readonly cards: Repository<GiftCard>,
    @InjectRepository(Payout) private readonly payouts: Repository<Payout>,
  ) {}

  async cashOut(serial: string, memberId: string) {
    const card = await this.cards.findOne({ where: { serial, cashedAt: IsNull() } });
    if (!card) {
      throw new ConflictException('card already cashed');
    }
    const res = await this.cards.update({ id: card.id, cashedAt: IsNull() }, { cashedAt: new Date() });
    if (res.affected !== 1) throw new ConflictException('card already cashed');
    const payout = await this.payouts.save(this.payouts.create({ memberId, cents: card.balanceCents }));
    return payout;
  }
}
`,
    },
  ],
  invalid: [
    {
      name: 'go pgx: state guard on a store getter, an SMS, then a store method updating the row by id alone',
      path: 'internal/lockers/service.go',
      extra: [{ path: 'internal/lockers/store.go', code: lockerRepoGo(false) }],
      code: lockerServiceGo,
      errors: [{ mode: 'toctou', line: 23 }],
    },
    {
      name: 'prisma: existence check and spreading insert through a repository object, only a plain index',
      path: 'src/seats/seatService.ts',
      extra: [
        { path: 'src/seats/seatRepo.ts', code: seatRepoTs },
        { path: 'prisma/schema.prisma', code: seatSchema(false) },
      ],
      code: seatServiceTs,
      errors: [{ mode: 'toctou', line: 8 }],
    },
    {
      name: 'state guard (sqlalchemy): status of a row loaded with session.get checked, then written with another row',
      path: 'clinic/booking.py',
      code: `from sqlalchemy import select

from clinic.db import PrimarySession
from clinic.models import Appointment, Room


class BookingError(Exception):
    pass


def cancel_appointment(appointment_id: int) -> Appointment:
    with PrimarySession() as session, session.begin():
        appt = session.get(Appointment, appointment_id)
        if appt is None or appt.status != "booked":
            raise BookingError("This appointment is no longer booked.")
        room = session.get(Room, appt.room_id)
        appt.status = "cancelled"
        room.status = "free"
    return appt
`,
      errors: [{ mode: 'toctou', line: 14 }],
    },
    {
      name: 'django: related-manager exists() through a model method on the receiver, then create, no constraint',
      path: 'races/views.py',
      extra: [
        { path: 'races/models.py', code: `from django.db import models


class Runner(models.Model):
    name = models.CharField(max_length=80)

    def has_entry(self, race):
        return self.entries.filter(race=race).exists()


class Entry(models.Model):
    runner = models.ForeignKey(Runner, on_delete=models.CASCADE, related_name="entries")
    race = models.ForeignKey("Race", on_delete=models.CASCADE)
` },
      ],
      code: `from django.http import JsonResponse

from .models import Entry


def enter(request, runner, race):
    if runner.has_entry(race):
        return JsonResponse({"error": "already entered"}, status=409)
    entry = Entry.objects.create(runner=runner, race=race)
    return JsonResponse({"id": entry.pk}, status=201)
`,
      errors: [{ mode: 'toctou', line: 7 }],
    },
    {
      name: 'prisma: repository count returned as a boolean (n > 0), then the repository insert, plain index',
      path: 'src/holds/holds.service.ts',
      extra: [
        { path: 'prisma/schema.prisma', code: `model Hold {
  id       String @id @default(cuid())
  bookId   String
  memberId String
  @@index([bookId, memberId])
}
` },
        { path: 'src/holds/holds.repository.ts', code: `import type { PrismaClient } from '@prisma/client';

export class HoldsRepository {
  constructor(private readonly db: PrismaClient) {}

  async hasActiveHold(bookId: string, memberId: string): Promise<boolean> {
    const n = await this.db.hold.count({ where: { bookId, memberId } });
    return n > 0;
  }

  async insertHold(data: { bookId: string; memberId: string }) {
    return this.db.hold.create({ data });
  }
}
` },
      ],
      code: `import { HoldsRepository } from './holds.repository';

export class HoldsService {
  constructor(private readonly holds: HoldsRepository) {}

  async place(bookId: string, memberId: string) {
    if (await this.holds.hasActiveHold(bookId, memberId)) {
      throw new Error('hold exists');
    }
    return this.holds.insertHold({ bookId, memberId });
  }
}
`,
      errors: [{ mode: 'toctou', line: 7 }],
    },
    {
      name: 'django: existence read through a helper returning the latest open row (order_by().first()), then create, plain index',
      path: 'lockers/claims.py',
      extra: [
        { path: 'lockers/models.py', code: `from django.db import models


class LockerClaim(models.Model):
    locker = models.ForeignKey("Locker", on_delete=models.CASCADE)
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE)
    claimed_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["locker", "user", "released_at"])]
` },
      ],
      code: `from django.db import IntegrityError, transaction

from .models import LockerClaim


def open_claim(locker, user_id):
    return (
        LockerClaim.objects.filter(locker=locker, user_id=user_id, released_at__isnull=True)
        .order_by("-claimed_at")
        .first()
    )


def claim_locker(locker, user):
    current = open_claim(locker, user.pk)
    if current is not None:
        return current, False
    claim = LockerClaim.objects.create(locker=locker, user=user)
    return claim, True
`,
      errors: [{ mode: 'toctou', line: 15 }],
    },
    {
      name: 'go pgx: lookup through a repository method (column list concatenated into the SELECT), ErrNoRows, insert through another, plain index',
      path: 'internal/badges/service.go',
      extra: [
        { path: 'internal/badges/repo.go', code: `package badges

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

const badgeCols = \`id, tag, owner_id, label\`

type Repo struct{ pool *pgxpool.Pool }

func (r *Repo) ByTag(ctx context.Context, tag string) (*Badge, error) {
	return scanBadge(r.pool.QueryRow(ctx, \`SELECT \`+badgeCols+\` FROM badges WHERE tag = \$1\`, tag))
}

func (r *Repo) Insert(ctx context.Context, b *Badge) error {
	return r.pool.QueryRow(ctx,
		\`INSERT INTO badges (tag, owner_id, label) VALUES (\$1, \$2, \$3) RETURNING id\`,
		b.Tag, b.OwnerID, b.Label).Scan(&b.ID)
}
` },
        { path: 'migrations/0004_badges.sql', code: `CREATE INDEX badges_tag_idx ON badges (tag);` },
      ],
      code: `package badges

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var ErrClaimed = errors.New("badge belongs to someone else")

type Service struct{ repo *Repo }

func (s *Service) Register(ctx context.Context, ownerID int64, tag, label string) (*Badge, error) {
	found, err := s.repo.ByTag(ctx, tag)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	if found != nil {
		if found.OwnerID == ownerID {
			return found, nil
		}
		return nil, ErrClaimed
	}
	b := &Badge{Tag: tag, OwnerID: ownerID, Label: label}
	if err := s.repo.Insert(ctx, b); err != nil {
		return nil, fmt.Errorf("insert: %w", err)
	}
	return b, nil
}
`,
      errors: [{ mode: 'toctou', line: 16 }],
    },
    {
      name: 'rails: guard method raising on a model predicate (occupied? -> current_reservation.present? -> association read), then create! through the association, plain partial index',
      path: 'app/services/court_booking.rb',
      extra: [
        { path: 'app/models/court.rb', code: `class Court < ApplicationRecord
  has_many :reservations

  def current_reservation
    reservations.where(ended_at: nil).order(:started_at).last
  end

  def occupied?
    current_reservation.present?
  end
end
` },
        { path: 'db/migrate/20240301000000_add_open_reservation_index.rb', code: `class AddOpenReservationIndex < ActiveRecord::Migration[7.1]
  def change
    add_index :reservations, :court_id, where: "ended_at IS NULL"
  end
end
` },
      ],
      code: `class CourtBooking
  class Occupied < StandardError; end

  def initialize(court:, player:)
    @court = court
    @player = player
  end

  def call
    check_free!
    @court.reservations.create!(player: @player, started_at: Time.current)
  end

  private

  def check_free!
    raise Occupied, "court in use" if @court.occupied?
  end
end
`,
      errors: [{ mode: 'toctou', line: 10 }],
    },
    {
      name: 'rails: association exists? then create! through the same record, no constraint',
      path: 'app/services/lane_hold.rb',
      code: `class LaneHold
  def initialize(lane:, swimmer:)
    @lane = lane
    @swimmer = swimmer
  end

  def call
    raise Busy if @lane.holds.active.exists?
    @lane.holds.create!(swimmer: @swimmer, held_at: Time.current)
  end
end
`,
      errors: [{ mode: 'toctou', line: 8 }],
    },
    {
      name: 'go: existence count through a sibling method on the receiver (s.hasX returns n > 0), then charge and insert',
      path: 'internal/keys/desk.go',
      extra: [{ path: 'migrations/0012_locker_rentals.sql', code: `CREATE INDEX locker_rentals_member_term_idx ON locker_rentals (member_id, term);` }],
      code: `package keys

import (
	"context"
	"database/sql"
)

type Desk struct {
	db  *sql.DB
	pay Payments
}

func (d *Desk) holdsLocker(ctx context.Context, memberID string, term int) (bool, error) {
	var n int
	err := d.db.QueryRowContext(ctx,
		\`SELECT count(*) FROM locker_rentals WHERE member_id = \$1 AND term = \$2\`,
		memberID, term).Scan(&n)
	return n > 0, err
}

func (d *Desk) Rent(ctx context.Context, memberID string, term int) error {
	held, err := d.holdsLocker(ctx, memberID, term)
	if err != nil {
		return err
	}
	if held {
		return ErrAlreadyRented
	}
	if err := d.pay.Charge(ctx, memberID, 2500); err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx,
		\`INSERT INTO locker_rentals (member_id, term) VALUES (\$1, \$2)\`, memberID, term)
	return err
}
`,
      errors: [{ mode: 'toctou', line: 22 }],
    },
    {
      name: 'rails model method: find_by then create! in a plain transaction block (the unlocked twin of with_lock)',
      path: 'app/models/workshop.rb',
      code: `class Workshop < ApplicationRecord
  has_many :seats

  def reserve!(member)
    transaction do
      seat = seats.find_by(member_id: member.id)
      return seat if seat&.confirmed?

      if seat
        seat.update!(state: :confirmed)
        seat
      else
        seats.create!(member_id: member.id, state: :confirmed)
      end
    end
  end
end`,
      errors: [{ mode: 'toctou', line: 6 }],
    },
    {
      name: 'state guard (drizzle relational query): claimedAt checked on the loaded row, then an unconditional update by id',
      path: 'src/app/api/vouchers/claim/route.ts',
      code: `import { eq } from 'drizzle-orm';
import { db } from '@/db';
import { vouchers, seatUpgrades } from '@/db/schema';

export async function POST(req: Request) {
  const { token, travellerId } = await req.json();
  const voucher = await db.query.vouchers.findFirst({ where: eq(vouchers.token, token) });
  if (!voucher) return Response.json({ error: 'unknown' }, { status: 404 });
  if (voucher.claimedAt) return Response.json({ error: 'already used' }, { status: 409 });
  return db.transaction(async (tx) => {
    await tx.insert(seatUpgrades).values({ travellerId, voucherId: voucher.id });
    await tx
      .update(vouchers)
      .set({ claimedAt: new Date(), claimedBy: travellerId })
      .where(eq(vouchers.id, voucher.id));
    return Response.json({ ok: true });
  });
}`,
      errors: [{ mode: 'toctou', line: 9 }],
    },
    {
      name: 'state guard (drizzle select): const [row] = select().from().where() loaded without a lock, then updated by id',
      path: 'src/invites/accept.ts',
      code: `import { eq } from 'drizzle-orm';
import { db } from '../db';
import { invites, memberships } from '../db/schema';

export async function acceptInvite(code: string, userId: string) {
  const [invite] = await db.select().from(invites).where(eq(invites.code, code));
  if (!invite) throw new Error('not found');
  if (invite.acceptedAt) throw new Error('invite already used');
  await db.insert(memberships).values({ teamId: invite.teamId, userId });
  await db.update(invites).set({ acceptedAt: new Date(), acceptedBy: userId }).where(eq(invites.id, invite.id));
}`,
      errors: [{ mode: 'toctou', line: 8 }],
    },
    {
      name: 'state guard with a balance written back, but a side effect rides on the guard: still toctou',
      path: 'app/jobs/grant_monthly_credits_job.rb',
      code: `class GrantMonthlyCreditsJob
  include Sidekiq::Job

  def perform(subscriber_id, month)
    subscriber = Subscriber.find(subscriber_id)
    return if subscriber.credited_through.present? && subscriber.credited_through >= month

    CreditMailer.granted(subscriber, month).deliver_now
    total = subscriber.credit_balance + subscriber.plan.monthly_credits
    subscriber.update!(credit_balance: total, credited_through: month)
  end
end`,
      errors: [{ mode: 'toctou', line: 6 }],
    },
    {
      name: 'recency window (typeorm): createdAt: MoreThan(new Date(Date.now() - ...)) then save',
      path: 'src/reminders/remind.ts',
      code: `import { MoreThan, type Repository } from 'typeorm';
import { Reminder } from './reminder.entity';
export async function remind(repo: Repository<Reminder>, userId: string, topic: string) {
  const recent = await repo.findOne({ where: { userId, topic, createdAt: MoreThan(new Date(Date.now() - 3600 * 1000)) } });
  if (recent) return recent;
  return repo.save({ userId, topic });
}`,
      errors: [{ mode: 'toctou', line: 4 }],
    },
    {
      name: 'recency window (ts raw SQL): SELECT ... sent_at > NOW() - INTERVAL, then an email, then INSERT',
      path: 'src/orders/receipt.ts',
      code: receiptBug,
      errors: [{ mode: 'toctou', line: 7 }],
    },
    {
      name: 'recency window (prisma): createdAt: { gt: since } with since from Date.now(), then create',
      path: 'src/donations/donate.ts',
      code: prismaDonationBug,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'recency window (django): created_at__gte=timezone.now() - timedelta(...), exists(), then create',
      path: 'tips/services.py',
      code: djangoTipBug,
      errors: [{ mode: 'toctou', line: 9 }],
    },
    {
      name: 'recency window (rails): where(created_at: 5.minutes.ago..).exists? then create!',
      path: 'app/services/place_bid.rb',
      code: `class PlaceBid
  def call(user, lot, amount)
    return :duplicate if Bid.where(user_id: user.id, lot_id: lot.id, created_at: 5.minutes.ago..).exists?

    Bid.create!(user_id: user.id, lot_id: lot.id, amount: amount)
  end
end`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'prisma: findFirst then create, plain index only',
      path: 'src/billing/subscribe.ts',
      extra: [prismaSchemaPlain],
      code: `import { prisma } from '../db';
export async function subscribe(accountId: string, planId: string) {
  const existing = await prisma.subscription.findFirst({ where: { accountId, planId } });
  if (existing) throw new Error('already subscribed');
  return prisma.subscription.create({ data: { accountId, planId } });
}`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'prisma: claim a unique-looking field on another row',
      path: 'src/users/email.ts',
      code: `import { prisma } from '../db';
export async function changeUsername(userId: string, username: string) {
  const owner = await prisma.account.findFirst({ where: { username } });
  if (owner) {
    throw new Error('taken');
  }
  await prisma.account.update({ where: { id: userId }, data: { username } });
}`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'django: exists() then create()',
      path: 'votes/services.py',
      code: `from .models import Vote


def cast_vote(poll, voter):
    if Vote.objects.filter(poll=poll, voter=voter).exists():
        raise AlreadyVoted()
    return Vote.objects.create(poll=poll, voter=voter)
`,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'django: filter().first() then charge and create',
      path: 'payments/services.py',
      code: `import stripe
from .models import Payment


def pay_invoice(invoice, customer):
    paid = Payment.objects.filter(invoice=invoice).first()
    if paid is not None:
        return paid
    charge = stripe.Charge.create(amount=invoice.total, customer=customer.stripe_id)
    return Payment.objects.create(invoice=invoice, charge_id=charge.id)
`,
      errors: [{ mode: 'toctou', line: 6 }],
    },
    {
      name: 'node-postgres: SELECT then INSERT',
      path: 'src/invites.js',
      code: `const { pool } = require('./db');
async function invite(teamId, email) {
  const { rows } = await pool.query('SELECT id FROM invites WHERE team_id = $1 AND email = $2', [teamId, email]);
  if (rows.length > 0) {
    return rows[0];
  }
  const res = await pool.query('INSERT INTO invites (team_id, email) VALUES ($1, $2) RETURNING id', [teamId, email]);
  return res.rows[0];
}
module.exports = { invite };`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'go: QueryRow EXISTS then INSERT',
      path: 'internal/follows/store.go',
      code: `package follows

func (s *Store) Follow(ctx context.Context, follower, followee int64) error {
	var exists bool
	if err := s.db.QueryRowContext(ctx,
		\`SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2)\`, follower, followee).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return ErrAlreadyFollowing
	}
	_, err := s.db.ExecContext(ctx, \`INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)\`, follower, followee)
	return err
}`,
      errors: [{ mode: 'toctou', line: 6 }],
    },
    {
      name: 'ruby: exists? then create!',
      path: 'app/services/follow_user.rb',
      code: `class FollowUser
  def call(follower, followee)
    return if Follow.exists?(follower_id: follower.id, followee_id: followee.id)

    Follow.create!(follower_id: follower.id, followee_id: followee.id)
  end
end`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'typeorm: findOneBy then save in the not-found branch',
      path: 'src/tags.ts',
      code: `import { AppDataSource } from './data-source';
import { Tag } from './entities/Tag';
const tags = AppDataSource.getRepository(Tag);
export async function ensureTag(name: string) {
  let tag = await tags.findOneBy({ name });
  if (!tag) {
    tag = await tags.save(tags.create({ name }));
  }
  return tag;
}`,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'knex: first() then insert',
      path: 'src/wishlist.ts',
      code: `import { db } from './db';
export async function addToWishlist(userId: string, productId: string) {
  const row = await db('wishlist_items').where({ user_id: userId, product_id: productId }).first();
  if (row) return row;
  const [created] = await db('wishlist_items').insert({ user_id: userId, product_id: productId }).returning('*');
  return created;
}`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'sqlalchemy: scalars(select()).first() then session.add',
      path: 'app/likes.py',
      code: `from .models import Like


def like(session, user_id, post_id):
    existing = session.scalars(select(Like).where(Like.user_id == user_id, Like.post_id == post_id)).first()
    if existing:
        return existing
    session.add(Like(user_id=user_id, post_id=post_id))
`,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'go: QueryRow Scan, err == nil means taken, then INSERT',
      path: 'internal/users/signup.go',
      code: `package users

func (s *Store) SignUp(ctx context.Context, email string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, \`SELECT id FROM users WHERE email = $1\`, email).Scan(&id)
	if err == nil {
		return 0, ErrEmailTaken
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	err = s.db.QueryRowContext(ctx, \`INSERT INTO users (email) VALUES ($1) RETURNING id\`, email).Scan(&id)
	return id, err
}`,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'prisma: findUnique, then a charge, then create',
      path: 'src/payments/pay.ts',
      code: `import { prisma } from '../db';
import { stripe } from './stripe';
export async function payInvoice(invoiceId: string, amount: number) {
  const paid = await prisma.payment.findUnique({ where: { invoiceId } });
  if (paid) return paid;
  const intent = await stripe.paymentIntents.create({ amount, currency: 'eur' });
  return prisma.payment.create({ data: { invoiceId, intentId: intent.id } });
}`,
      errors: [{ mode: 'toctou', line: 4 }],
    },
    { name: 'state guard (go): getter loads the row, if on its state, UPDATE ... WHERE id = $1 only', path: 'internal/tickets/hold.go', code: goTicketBug, errors: [{ mode: 'toctou', line: 8 }] },
    { name: 'state guard (django): flag checked on a loaded row, filter(pk=...).update() sets it unconditionally', path: 'vouchers/services.py', code: djangoVoucherBug, errors: [{ mode: 'toctou', line: 9 }] },
    { name: 'state guard (prisma): assigneeId checked, update({ where: { id } }) writes it', path: 'src/tasks/assign.ts', code: prismaTaskBug, errors: [{ mode: 'toctou', line: 7 }] },
    { name: 'state guard (rails): postfix raise if the field is present, then update! of that field', path: 'app/services/claim_job.rb', code: railsJobBug, errors: [{ mode: 'toctou', line: 4 }] },
    { name: 'state guard (django): status checked, assigned on the instance and saved, then a refund', path: 'orders/services.py', code: djangoOrderBug, errors: [{ mode: 'toctou', line: 7 }] },
    { name: 'state guard (go): column scanned into a local, checked, then UPDATE by id', path: 'internal/polls/close.go', code: goScannedBug, errors: [{ mode: 'toctou', line: 8 }] },
    {
      name: 'state guard (pgx): row scanned into a struct, field checked, UPDATE by id',
      path: 'internal/seats/claim.go',
      code: `package seats

func (r *Repo) Claim(ctx context.Context, seatID, guestID int64) error {
	var st Seat
	err := r.pool.QueryRow(ctx, \`SELECT id, status, guest_id FROM seats WHERE id = $1\`, seatID).Scan(&st.ID, &st.Status, &st.GuestID)
	if err != nil {
		return err
	}
	if st.Status != "free" {
		return ErrTaken
	}
	_, err = r.pool.Exec(ctx, \`UPDATE seats SET status = 'taken', guest_id = $2 WHERE id = $1\`, seatID, guestID)
	return err
}`,
      errors: [{ mode: 'toctou', line: 9 }],
    },
    {
      name: 'state guard (pg): repository getter, status checked, raw UPDATE by id, then a refund call',
      path: 'src/orders/cancel.ts',
      code: `import { pool } from '../db';
import { payments } from '../payments';

export class OrderService {
  constructor(private readonly orders: OrderRepository) {}

  async cancel(orderId: string) {
    const order = await this.orders.findById(orderId);
    if (order.status !== 'paid') throw new Error('only paid orders can be cancelled');
    await pool.query("UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = $1", [orderId]);
    await payments.refund(order.paymentId);
  }
}`,
      errors: [{ mode: 'toctou', line: 9 }],
    },
    {
      name: 'guard helper raising unless a state predicate (instance variable set by the constructor), then a payment and an unconditional update!',
      path: 'app/services/payroll/approve_bonus.rb',
      code: `module Payroll
  class ApproveBonus
    class NotApprovable < StandardError; end

    def initialize(bonus, approver:)
      @bonus = bonus
      @approver = approver
    end

    def call
      check_approvable!
      PayrollApi.schedule_payment(@bonus.employee_ref, @bonus.amount_cents)
      @bonus.update!(status: :approved, approved_by: @approver, approved_at: Time.current)
    end

    private

    def check_approvable!
      raise NotApprovable, "bonus is not pending" unless @bonus.pending?
    end
  end
end
`,
      errors: [{ mode: 'toctou', line: 11 }],
    },
    {
      name: 'django: is_open() predicate on a parameter, a refund, then attribute writes and save()',
      path: 'returns/refunds.py',
      code: `from django.utils import timezone

from .gateway import refunds


def refund_return(ret, agent):
    if not ret.is_open():
        raise ValueError("return already handled")
    refunds.issue(ret.order_ref, ret.amount)
    ret.state = "refunded"
    ret.handled_by = agent
    ret.handled_at = timezone.now()
    ret.save()
`,
      errors: [{ mode: 'toctou', line: 7 }],
    },
    {
      name: 'typeorm: private assert helper testing isActive() on the argument, a ledger credit, then repository save',
      path: 'src/vouchers/voucher.service.ts',
      code: `import { Injectable, ConflictException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Voucher } from './voucher.entity';

@Injectable()
export class VoucherService {
  constructor(@InjectRepository(Voucher) private readonly vouchers: Repository<Voucher>, private readonly ledger: LedgerClient) {}

  async redeem(voucher: Voucher, userId: string) {
    this.assertRedeemable(voucher);
    await this.ledger.credit(userId, voucher.valueCents);
    voucher.status = 'redeemed';
    voucher.redeemedBy = userId;
    return this.vouchers.save(voucher);
  }

  private assertRedeemable(v: Voucher) {
    if (!v.isActive()) {
      throw new ConflictException('voucher is not active');
    }
  }
}
`,
      errors: [{ mode: 'toctou', line: 11 }],
    },
    {
      name: 'go: IsOpen() predicate on a row from a store getter, then an unconditional UPDATE of status',
      path: 'internal/tasks/complete.go',
      code: `package tasks

func (s *Service) Complete(ctx context.Context, id int64, by string) error {
	t, err := s.store.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if !t.IsOpen() {
		return ErrClosed
	}
	if _, err := s.db.ExecContext(ctx, \`UPDATE tasks SET status = 'done', completed_by = $2 WHERE id = $1\`, id, by); err != nil {
		return err
	}
	return nil
}
`,
      errors: [{ mode: 'toctou', line: 8 }],
    },
    {
      name: 'typeorm: state test folded into the load (cashedAt: IsNull()), if (!row) throw, then save(row) setting it',
      path: 'src/gift-cards/gift-card.service.ts',
      code: `import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { GiftCard } from './gift-card.entity';
import { Payout } from './payout.entity';

@Injectable()
export class GiftCardService {
  constructor(
    @InjectRepository(GiftCard) private readonly cards: Repository<GiftCard>,
    @InjectRepository(Payout) private readonly payouts: Repository<Payout>,
  ) {}

  async cashOut(serial: string, memberId: string) {
    const card = await this.cards.findOne({ where: { serial, cashedAt: IsNull() } });
    if (!card) {
      throw new ConflictException('card already cashed');
    }
    const payout = await this.payouts.save(this.payouts.create({ memberId, cents: card.balanceCents }));
    card.cashedAt = new Date();
    await this.cards.save(card);
    return payout;
  }
}
`,
      errors: [{ mode: 'toctou', line: 16 }],
    },
  ],
  todo: [],
});
