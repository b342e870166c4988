import detector from '../../src/detectors/range-check-then-insert.js';
import { runTable } from './tester.js';

const goBug = `package rooms

func (s *Store) Book(ctx context.Context, roomID int64, from, to time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var taken bool
	if err := tx.QueryRowContext(ctx,
		\`SELECT EXISTS (SELECT 1 FROM room_bookings WHERE room_id = $1 AND starts_at < $3 AND ends_at > $2)\`,
		roomID, from, to).Scan(&taken); err != nil {
		return err
	}
	if taken {
		return ErrRoomTaken
	}
	if _, err := tx.ExecContext(ctx, \`INSERT INTO room_bookings (room_id, starts_at, ends_at) VALUES ($1, $2, $3)\`, roomID, from, to); err != nil {
		return err
	}
	return tx.Commit()
}`;

// Count under a limit, then an insert into the counted set (pattern count-in-range).
const railsWorkshopBug = `class EnrolInWorkshop
  def initialize(workshop:, student:)
    @workshop = workshop
    @student = student
  end

  def call
    Enrolment.transaction do
      seated = @workshop.enrolments.seated.count
      state = seated < @workshop.seats ? :seated : :standby
      @workshop.enrolments.create!(student: @student, state: state)
    end
  end
end`;

const knexKeysBug = `import { db } from '../db';
export async function createApiKey(accountId: string, label: string) {
  return db.transaction(async (trx) => {
    const [{ n }] = await trx('api_keys').where({ account_id: accountId, revoked: false }).count({ n: '*' });
    if (Number(n) >= 5) throw new Error('an account can hold at most 5 keys');
    const [key] = await trx('api_keys').insert({ account_id: accountId, label }).returning('*');
    return key;
  });
}`;

const goWaitlistBug = `package parking

func (s *Store) RequestPermit(ctx context.Context, lotID, driverID int64) error {
	var issued int
	if err := s.db.QueryRowContext(ctx, \`SELECT count(*) FROM permits WHERE lot_id = $1 AND state = 'issued'\`, lotID).Scan(&issued); err != nil {
		return err
	}
	state := "queued"
	if issued < s.capacity(lotID) {
		state = "issued"
	}
	_, err := s.db.ExecContext(ctx, \`INSERT INTO permits (lot_id, driver_id, state) VALUES ($1, $2, $3)\`, lotID, driverID, state)
	return err
}`;

const drizzleResetBug = `import { and, count, eq, gte } from 'drizzle-orm';
import { db } from '../db';
import { passwordResets } from '../db/schema';
import { mailer } from '../mail';

export async function requestReset(email: string) {
  const since = new Date(Date.now() - 24 * 60 * 60 * 1000);
  const [{ n }] = await db
    .select({ n: count() })
    .from(passwordResets)
    .where(and(eq(passwordResets.email, email), gte(passwordResets.createdAt, since)));
  if (n >= 5) return { status: 'rate-limited' };
  await db.insert(passwordResets).values({ email, token: crypto.randomUUID() });
  await mailer.sendReset(email);
  return { status: 'sent' };
}`;

const djangoInvitesBug = `from django.db import transaction
from .models import Invitation


def invite(team, email):
    with transaction.atomic():
        pending = Invitation.objects.filter(team=team, accepted_at__isnull=True).count()
        if pending >= team.max_pending_invites:
            raise TooManyInvites()
        return Invitation.objects.create(team=team, email=email)
`;

// An overlap scope built by a private helper, read at the call site with `.any?` (modifier if).
const railsKilnBug = `class ReserveKiln
  class KilnBusy < StandardError; end

  def initialize(kiln:, potter:, from:, till:)
    @kiln = kiln
    @potter = potter
    @from = from
    @till = till
  end

  def call
    Firing.transaction do
      raise KilnBusy if clashing_firings.any?

      Firing.create!(kiln: @kiln, potter: @potter, starts_at: @from, ends_at: @till)
    end
  end

  private

  def clashing_firings
    Firing.where(kiln: @kiln).where("starts_at < ? AND ends_at > ?", @till, @from)
  end
end
`;

// Arel lt / gt on two columns, read into a variable.
const railsArelBug = `class BayBookingsController < ApplicationController
  def create
    bay = Bay.find(params[:bay_id])
    t = BayBooking.arel_table
    taken = BayBooking.where(bay: bay).where(t[:starts_at].lt(params[:ends_at]).and(t[:ends_at].gt(params[:starts_at]))).exists?
    if taken
      render json: { error: "bay taken" }, status: :conflict
      return
    end
    booking = BayBooking.create!(bay: bay, grower: current_user, starts_at: params[:starts_at], ends_at: params[:ends_at])
    render json: booking, status: :created
  end
end
`;

// A Postgres range overlap (`&&`) in a SQL fragment.
const railsTsrangeBug = `module Studios
  def self.book(studio, band, window)
    Rehearsal.transaction do
      if Rehearsal.where(studio_id: studio.id).where("tsrange(starts_at, ends_at) && tsrange(?, ?)", window.begin, window.end).exists?
        raise ArgumentError, "studio is booked"
      end
      Rehearsal.create!(studio_id: studio.id, band_id: band.id, starts_at: window.begin, ends_at: window.end)
    end
  end
end
`;

const pyPredicateBug = `from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from harbour.models import BerthVisit


async def _berth_busy(session: AsyncSession, berth_id: int, arrive, depart) -> bool:
    hit = await session.scalar(
        select(BerthVisit.id)
        .where(BerthVisit.berth_id == berth_id, BerthVisit.arrive_at < depart, BerthVisit.depart_at > arrive)
        .limit(1)
    )
    return hit is not None


async def schedule_visit(session: AsyncSession, berth_id: int, vessel_id: int, arrive, depart) -> BerthVisit:
    async with session.begin():
        if await _berth_busy(session, berth_id, arrive, depart):
            raise BerthTaken(berth_id)
        visit = BerthVisit(berth_id=berth_id, vessel_id=vessel_id, arrive_at=arrive, depart_at=depart)
        session.add(visit)
    return visit
`;

const jsPredicateBug = `export async function isRented(db, carId, from, to) {
  const row = await db.rental.findFirst({ where: { carId, startsAt: { lt: to }, endsAt: { gt: from } } });
  return !!row;
}

export async function rentCar(db, carId, driverId, from, to) {
  return db.$transaction(async (tx) => {
    if (await isRented(tx, carId, from, to)) {
      throw new CarUnavailable(carId);
    }
    return tx.rental.create({ data: { carId, driverId, startsAt: from, endsAt: to } });
  });
}
`;

const goPredicateBug = `package pitches

func (s *Store) pitchTaken(ctx context.Context, tx *sql.Tx, pitchID int64, from, to time.Time) (bool, error) {
	var hit bool
	err := tx.QueryRowContext(ctx, \`SELECT EXISTS (SELECT 1 FROM pitch_slots WHERE pitch_id = $1 AND starts_at < $3 AND ends_at > $2)\`, pitchID, from, to).Scan(&hit)
	return hit, err
}

func (s *Store) Reserve(ctx context.Context, pitchID, teamID int64, from, to time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	taken, err := s.pitchTaken(ctx, tx, pitchID, from, to)
	if err != nil {
		return err
	}
	if taken {
		return ErrPitchTaken
	}
	if _, err := tx.ExecContext(ctx, \`INSERT INTO pitch_slots (pitch_id, team_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)\`, pitchID, teamID, from, to); err != nil {
		return err
	}
	return tx.Commit()
}
`;

const railsNamedScopeBug = `module CourtReservations
  class Place
    def initialize(court:, player:, from:, to:)
      @court = court
      @player = player
      @from = from
      @to = to
    end

    def call
      Reservation.transaction do
        clash = @court.reservations.active.clashing_with(@from, @to).exists?
        raise Busy if clash

        @court.reservations.create!(player: @player, starts_at: @from, ends_at: @to)
      end
    end
  end
end
`;

// Drizzle: a helper hands back the first overlapping row (or null), another helper inserts, inside db.transaction.
const drizzleRowHelperBug = `import { and, eq, gt, lt } from "drizzle-orm";
import { kayakHires } from "../db/schema";

async function firstClash(db, kayakId, from, to) {
  const [row] = await db.select().from(kayakHires).where(and(eq(kayakHires.kayakId, kayakId), lt(kayakHires.startsAt, to), gt(kayakHires.endsAt, from))).limit(1);
  return row ?? null;
}

async function addHire(db, values) {
  const [row] = await db.insert(kayakHires).values(values).returning();
  return row;
}

export async function hireKayak(db, kayakId, from, to, memberId) {
  return db.transaction(async (tx) => {
    const clash = await firstClash(tx, kayakId, from, to);
    if (clash) throw new Error("kayak already out");
    return addHire(tx, { kayakId, memberId, startsAt: from, endsAt: to });
  });
}
`;


// Rails: an overlap read in a custom validation; the controller builds the record and saves it (the INSERT).
const railsOverlapValidationBug = `class ChairAppointment < ApplicationRecord
  belongs_to :chair
  validate :chair_is_free

  private

  def chair_is_free
    taken = ChairAppointment.where(chair_id: chair_id)
                            .where.not(id: id)
                            .where("begins_at < ? AND finishes_at > ?", finishes_at, begins_at)
    errors.add(:base, "that chair is taken then") if taken.exists?
  end
end
`;
const railsOverlapController = `class ChairAppointmentsController < ApplicationController
  def create
    appointment = salon.chair_appointments.new(appointment_params)
    if appointment.save
      render json: appointment, status: :created
    else
      render json: { errors: appointment.errors.full_messages }, status: :unprocessable_entity
    end
  end
end
`;

runTable(detector, {
  valid: [
    {
      name: 'js drizzle: row-returning overlap helper and insert helper, SERIALIZABLE transaction',
      path: 'src/hires/service.js',
      code: drizzleRowHelperBug.replace('async (tx) => {', 'async (tx) => {\n    await tx.execute(sql`SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`);'),
    },
    {
      name: 'python: overlap through a predicate helper, after locking the parent row',
      path: 'harbour/services/visits.py',
      code: pyPredicateBug.replace('    async with session.begin():\n', '    async with session.begin():\n        await session.execute(select(Berth).where(Berth.id == berth_id).with_for_update())\n'),
    },
    {
      name: 'js: overlap through a predicate helper, SERIALIZABLE transaction',
      path: 'src/rentals/rent.js',
      code: jsPredicateBug.replace('    return tx.rental.create({ data: { carId, driverId, startsAt: from, endsAt: to } });\n  });', "    return tx.rental.create({ data: { carId, driverId, startsAt: from, endsAt: to } });\n  }, { isolationLevel: 'Serializable' });"),
    },
    {
      name: 'go: overlap through a predicate helper, SERIALIZABLE transaction',
      path: 'internal/pitches/reserve.go',
      code: goPredicateBug.replace('s.db.BeginTx(ctx, nil)', 's.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})'),
    },
    {
      name: 'ruby: range-named scope after locking the parent row',
      path: 'app/services/court_reservations/place.rb',
      code: railsNamedScopeBug.replace('      Reservation.transaction do\n', '      Reservation.transaction do\n        @court.lock!\n'),
    },
    {
      name: 'python: predicate helper over a recency window is a duplicate check, not a range',
      path: 'alerts/services.py',
      code: `async def _recently_sent(session, device_id) -> bool:
    hit = await session.scalar(select(Alert.id).where(Alert.device_id == device_id, Alert.sent_at > datetime.now() - timedelta(minutes=5)).limit(1))
    return hit is not None


async def send_alert(session, device_id):
    if await _recently_sent(session, device_id):
        return
    alert = Alert(device_id=device_id)
    session.add(alert)
`,
    },
    {
      name: 'ruby: overlap scope from a helper, parent row locked first',
      path: 'app/services/reserve_kiln.rb',
      code: railsKilnBug.replace('    Firing.transaction do\n', '    Firing.transaction do\n      @kiln.lock!\n'),
    },
    {
      name: 'ruby: Arel overlap after locking the parent row',
      path: 'app/controllers/bay_bookings_controller.rb',
      code: railsArelBug.replace('Bay.find(params[:bay_id])', 'Bay.lock.find(params[:bay_id])'),
    },
    {
      name: 'ruby: tsrange overlap after locking the parent row',
      path: 'app/models/studios.rb',
      code: railsTsrangeBug.replace('    Rehearsal.transaction do\n', '    Rehearsal.transaction do\n      studio.lock!\n'),
    },
    {
      name: 'ruby: a helper with a recency window is a duplicate check, not a range',
      path: 'app/services/log_feeding.rb',
      code: `class LogFeeding
  def call(tank)
    return if recent_feedings(tank).exists?

    Feeding.create!(tank: tank, fed_at: Time.current)
  end

  def recent_feedings(tank)
    Feeding.where(tank: tank).where("fed_at > ?", 10.minutes.ago)
  end
end
`,
    },
    {
      name: 'django: parent row select_for_update before the count, then get_or_create',
      path: 'lockers/services.py',
      code: `from django.db import transaction

from .models import Locker, Rental


def rent_locker(bank, member):
    with transaction.atomic():
        Locker.objects.select_for_update().get(pk=bank.pk)
        occupied = Rental.objects.filter(bank=bank, returned_at__isnull=True)
        if occupied.count() >= bank.site.locker_quota:
            raise QuotaExceeded(bank.pk)
        rental, _ = Rental.objects.get_or_create(bank=bank, member=member, returned_at=None)
    return rental
`,
    },
    {
      name: 'helper count (prisma): the workshop row locked FOR UPDATE before counting',
      path: 'src/workshops/enrol.ts',
      code: `import { prisma } from '../db';

async function enrolledCount(tx: any, workshopId: string) {
  return tx.enrolment.count({ where: { workshopId } });
}

export async function enrol(workshopId: string, studentId: string) {
  return prisma.$transaction(async (tx) => {
    const [workshop] = await tx.$queryRaw\`SELECT id, capacity FROM workshops WHERE id = \${workshopId} FOR UPDATE\`;
    if ((await enrolledCount(tx, workshopId)) >= workshop.capacity) throw new Error('full');
    return tx.enrolment.create({ data: { workshopId, studentId } });
  });
}`,
    },
    {
      name: 'count-in-range (rails): the parent row is locked with lock! before counting',
      path: 'app/services/enrol_in_workshop.rb',
      code: railsWorkshopBug.replace('    Enrolment.transaction do\n', '    Enrolment.transaction do\n      @workshop.lock!\n'),
    },
    {
      name: 'count-in-range (knex): account row locked forUpdate() before counting',
      path: 'src/keys/create.ts',
      code: knexKeysBug.replace("    const [{ n }]", "    await trx('accounts').where({ id: accountId }).forUpdate().first();\n    const [{ n }]"),
    },
    {
      name: 'count-in-range (go): transaction-scoped advisory lock on the lot before counting',
      path: 'internal/parking/permits.go',
      code: goWaitlistBug.replace('\tvar issued int', '\tif _, err := s.db.ExecContext(ctx, \`SELECT pg_advisory_xact_lock($1)\`, lotID); err != nil {\n\t\treturn err\n\t}\n\tvar issued int'),
    },
    {
      name: 'count-in-range (drizzle): SERIALIZABLE transaction',
      path: 'src/auth/reset.ts',
      code: drizzleResetBug.replace("  const since", "  await db.execute(sql`SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`);\n  const since"),
    },
    {
      name: 'count-in-range (django): team row locked with select_for_update() first',
      path: 'teams/invites.py',
      code: djangoInvitesBug.replace('        pending =', '        Team.objects.select_for_update().get(pk=team.pk)\n        pending ='),
    },
    {
      name: 'count-in-range: a count under a limit followed by an insert into another table',
      path: 'src/keys/audit.ts',
      code: `import { db } from '../db';
export async function rotate(accountId: string) {
  const [{ n }] = await db('api_keys').where({ account_id: accountId }).count({ n: '*' });
  if (Number(n) >= 5) throw new Error('too many keys');
  await db('audit_log').insert({ account_id: accountId, action: 'rotate' });
}`,
    },
    {
      name: 'count-in-range: the count only feeds a value that the insert does not use',
      path: 'app/services/note_visit.rb',
      code: `class NoteVisit
  def call(page, visitor)
    seen = page.visits.count
    label = seen < 10 ? "early" : "late"
    Rails.logger.info(label)
    page.visits.create!(visitor: visitor)
  end
end`,
    },
    {
      name: 'recency window (raw SQL): created_at > NOW() - INTERVAL is a dedup check, toctou not phantom',
      path: 'src/api/charge.ts',
      code: `import { db } from '../db';
import { stripe } from '../stripe';
export async function charge(userId: string, planId: string, amount: number) {
  const recent = await db.query(
    "SELECT id FROM payments WHERE user_id = $1 AND plan_id = $2 AND created_at > NOW() - INTERVAL '5 minutes'",
    [userId, planId],
  );
  if (recent.rows.length > 0) return { status: 'duplicate' };
  const intent = await stripe.paymentIntents.create({ amount, customer: userId });
  await db.query('INSERT INTO payments (user_id, plan_id, intent_id, created_at) VALUES ($1, $2, $3, NOW())', [userId, planId, intent.id]);
  return { status: 'charged' };
}`,
    },
    {
      name: 'recency window (prisma): createdAt: { gte: since } with since computed from Date.now()',
      path: 'src/donations/donate.ts',
      code: `import { prisma } from '../db';
export async function donate(donorId: string, campaignId: string, amount: number) {
  const since = new Date(Date.now() - 2 * 60 * 1000);
  const recent = await prisma.donation.findFirst({ where: { donorId, campaignId, createdAt: { gte: since } } });
  if (recent) return recent;
  return prisma.donation.create({ data: { donorId, campaignId, amount } });
}`,
    },
    {
      name: 'recency window (django): created_at__gte=timezone.now() - timedelta(minutes=1)',
      path: 'tips/services.py',
      code: `from datetime import timedelta

from django.utils import timezone

from .models import Tip


def leave_tip(user, post, amount):
    if Tip.objects.filter(user=user, post=post, created_at__gte=timezone.now() - timedelta(minutes=1)).exists():
        return None
    return Tip.objects.create(user=user, post=post, amount=amount)
`,
    },
    {
      name: 'recency window (go): created_at > $2 with time.Now().Add(-10 * time.Minute) as the argument',
      path: 'internal/alerts/notify.go',
      code: `package alerts

func (s *Store) Notify(ctx context.Context, deviceID string) error {
	var exists bool
	if err := s.db.QueryRowContext(ctx,
		\`SELECT EXISTS (SELECT 1 FROM alert_notifications WHERE device_id = $1 AND created_at > $2)\`,
		deviceID, time.Now().Add(-10*time.Minute)).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err := s.db.ExecContext(ctx, \`INSERT INTO alert_notifications (device_id, created_at) VALUES ($1, now())\`, deviceID)
	return err
}`,
    },
    {
      name: 'go: exclusion constraint in the migration',
      path: 'internal/rooms/book.go',
      extra: [
        {
          path: 'db/migrations/003_room_bookings_no_overlap.sql',
          code: `ALTER TABLE room_bookings ADD CONSTRAINT room_bookings_no_overlap
  EXCLUDE USING gist (room_id WITH =, tstzrange(starts_at, ends_at) WITH &&);`,
        },
      ],
      code: goBug,
    },
    {
      name: 'go: room row locked FOR UPDATE before the range check',
      path: 'internal/rooms/book.go',
      code: goBug.replace('\tvar taken bool\n', '\tif _, err := tx.ExecContext(ctx, `SELECT id FROM rooms WHERE id = $1 FOR UPDATE`, roomID); err != nil {\n\t\treturn err\n\t}\n\tvar taken bool\n'),
    },
    {
      name: 'go: SERIALIZABLE transaction',
      path: 'internal/rooms/book.go',
      code: goBug.replace('s.db.BeginTx(ctx, nil)', 's.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})'),
    },
    {
      name: 'prisma: insert and map the exclusion violation 23P01',
      path: 'src/rooms/book.ts',
      code: `import { prisma } from '../db';
export async function book(roomId: string, startsAt: Date, endsAt: Date) {
  try {
    return await prisma.roomBooking.create({ data: { roomId, startsAt, endsAt } });
  } catch (err: any) {
    if (String(err.message).includes('23P01')) throw new Error('room taken');
    throw err;
  }
}`,
    },
    {
      name: 'ordinary code: availability search without insert',
      path: 'src/rooms/search.ts',
      code: `import { prisma } from '../db';
export async function isFree(roomId: string, startsAt: Date, endsAt: Date) {
  const clash = await prisma.roomBooking.findFirst({ where: { roomId, startsAt: { lt: endsAt }, endsAt: { gt: startsAt } } });
  if (clash) return false;
  return true;
}`,
    },
    {
      name: "go sqlx: parent row read FOR UPDATE before the count",
      path: 'internal/workshops/enroll.go',
      code: `package workshops

func (r *Repo) Enroll(ctx context.Context, workshopID, memberID int64) (int, error) {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	var limit int
	if err := tx.GetContext(ctx, &limit, \`SELECT max_attendees FROM workshops WHERE id = $1 FOR UPDATE\`, workshopID); err != nil {
		return 0, err
	}
	var enrolled int
	if err := tx.GetContext(ctx, &enrolled, \`SELECT count(*) FROM enrollments WHERE workshop_id = $1 AND withdrawn_at IS NULL\`, workshopID); err != nil {
		return 0, err
	}
	if enrolled >= limit {
		return 0, ErrWorkshopFull
	}
	if _, err := tx.ExecContext(ctx, \`INSERT INTO enrollments (workshop_id, member_id, place) VALUES ($1, $2, $3)\`, workshopID, memberID, enrolled+1); err != nil {
		return 0, err
	}
	return enrolled + 1, tx.Commit()
}
`,
    },
    {
      name: "go: advisory transaction lock before the count",
      path: 'internal/workshops/waitlist.go',
      code: `package workshops

func (r *Repo) Waitlist(ctx context.Context, workshopID, memberID int64) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, \`SELECT pg_advisory_xact_lock($1)\`, workshopID); err != nil {
		return err
	}
	row := tx.QueryRowContext(ctx, \`SELECT count(*) FROM waitlist_entries WHERE workshop_id = $1\`, workshopID)
	var queued int
	if err := row.Scan(&queued); err != nil {
		return err
	}
	if queued >= MaxWaitlist {
		return ErrWaitlistFull
	}
	if _, err := tx.ExecContext(ctx, \`INSERT INTO waitlist_entries (workshop_id, member_id) VALUES ($1, $2)\`, workshopID, memberID); err != nil {
		return err
	}
	return tx.Commit()
}
`,
    },
    {
      name: 'rails: overlap validation, and the save rescues the exclusion constraint violation',
      path: 'app/models/chair_appointment.rb',
      code: railsOverlapValidationBug,
      extra: [{ path: 'app/controllers/chair_appointments_controller.rb', code: railsOverlapController.replace('    if appointment.save\n', '    saved = begin\n      appointment.save\n    rescue ActiveRecord::ExclusionViolation\n      false\n    end\n    if saved\n') }],
    },
    {
      name: 'rails: overlap validation that runs only on update (no insert follows it)',
      path: 'app/models/chair_appointment.rb',
      code: railsOverlapValidationBug.replace('validate :chair_is_free', 'validate :chair_is_free, on: :update'),
      extra: [{ path: 'app/controllers/chair_appointments_controller.rb', code: railsOverlapController }],
    },
  ],
  invalid: [
    {
      name: 'rails: overlap validation adds an error when a clash exists; the controller saves a new record',
      path: 'app/models/chair_appointment.rb',
      code: railsOverlapValidationBug,
      extra: [{ path: 'app/controllers/chair_appointments_controller.rb', code: railsOverlapController }],
      errors: [{ mode: 'phantom_read', line: 8 }],
    },
    {
      name: 'js drizzle: helper returns the overlapping row ?? null, caller throws on it, then an insert helper',
      path: 'src/hires/service.js',
      code: drizzleRowHelperBug,
      errors: [{ mode: 'phantom_read', line: 16 }],
    },
    {
      name: 'python: async helper returns `hit is not None` for an overlap read, caller raises, then adds a built instance',
      path: 'harbour/services/visits.py',
      code: pyPredicateBug,
      errors: [{ mode: 'phantom_read', line: 18 }],
    },
    {
      name: 'python: helper answers "is it free?" (`is None`), caller raises on `not`',
      path: 'harbour/services/visits.py',
      code: pyPredicateBug.replace('_berth_busy', '_berth_free').replace('_berth_busy', '_berth_free').replace('return hit is not None', 'return hit is None').replace('if await _berth_free', 'if not await _berth_free'),
      errors: [{ mode: 'phantom_read', line: 18 }],
    },
    {
      name: 'js: helper returns `!!row` of an overlap findFirst, caller throws, then create',
      path: 'src/rentals/rent.js',
      code: jsPredicateBug,
      errors: [{ mode: 'phantom_read', line: 8 }],
    },
    {
      name: 'go: helper returns the EXISTS result, caller bails on it, then INSERT',
      path: 'internal/pitches/reserve.go',
      code: goPredicateBug,
      errors: [{ mode: 'phantom_read', line: 15 }],
    },
    {
      name: 'ruby: a range-named scope defined elsewhere, `.exists?` in a local, then create! through the association',
      path: 'app/services/court_reservations/place.rb',
      code: railsNamedScopeBug,
      errors: [{ mode: 'phantom_read', line: 12 }],
    },
    {
      name: 'ruby: predicate method whose last expression is an overlap `exists?`, postfix raise',
      path: 'app/services/court_reservations/hold.rb',
      code: `class HoldCourt
  def call(court, player, from, to)
    Reservation.transaction do
      raise Busy if overlapping?(court, from, to)
      court.reservations.create!(player: player, starts_at: from, ends_at: to)
    end
  end

  private

  def overlapping?(court, from, to)
    court.reservations.where("starts_at < ? AND ends_at > ?", to, from).exists?
  end
end
`,
      errors: [{ mode: 'phantom_read', line: 4 }],
    },
    {
      name: 'ruby: overlap scope from a private helper, `.any?` at the call site, then create!',
      path: 'app/services/reserve_kiln.rb',
      code: railsKilnBug,
      errors: [{ mode: 'phantom_read', line: 13 }],
    },
    {
      name: 'ruby: Arel lt / gt overlap, then create!',
      path: 'app/controllers/bay_bookings_controller.rb',
      code: railsArelBug,
      errors: [{ mode: 'phantom_read', line: 5 }],
    },
    {
      name: 'ruby: tsrange && fragment, then create!',
      path: 'app/models/studios.rb',
      code: railsTsrangeBug,
      errors: [{ mode: 'phantom_read', line: 4 }],
    },
    {
      name: 'django: queryset in a local counted against a related object quota, then get_or_create joins the set',
      path: 'lockers/services.py',
      code: `from django.db import transaction

from .models import Locker, Rental


def rent_locker(bank, member):
    with transaction.atomic():
        occupied = Rental.objects.filter(bank=bank, returned_at__isnull=True)
        if occupied.count() >= bank.site.locker_quota:
            raise QuotaExceeded(bank.pk)
        rental, _ = Rental.objects.get_or_create(bank=bank, member=member, returned_at=None)
    return rental
`,
      errors: [{ mode: 'phantom_read', line: 9 }],
    },
    {
      name: 'helper count (prisma): a helper counts the enrolments, the caller compares with capacity and inserts',
      path: 'src/workshops/enrol.ts',
      code: `import { prisma } from '../db';

async function enrolledCount(tx: any, workshopId: string) {
  return tx.enrolment.count({ where: { workshopId } });
}

export async function enrol(workshopId: string, studentId: string) {
  return prisma.$transaction(async (tx) => {
    const workshop = await tx.workshop.findUniqueOrThrow({ where: { id: workshopId } });
    if ((await enrolledCount(tx, workshopId)) >= workshop.capacity) throw new Error('full');
    return tx.enrolment.create({ data: { workshopId, studentId } });
  });
}`,
      errors: [{ mode: 'phantom_read', line: 10 }],
    },
    { name: 'go: EXISTS overlap then INSERT at READ COMMITTED', path: 'internal/rooms/book.go', code: goBug, errors: [{ mode: 'phantom_read', line: 11 }] },
    {
      name: 'prisma: findFirst overlapping then create',
      path: 'src/rooms/book.ts',
      code: `import { prisma } from '../db';
export async function book(roomId: string, startsAt: Date, endsAt: Date) {
  const clash = await prisma.roomBooking.findFirst({
    where: { roomId, startsAt: { lt: endsAt }, endsAt: { gt: startsAt } },
  });
  if (clash) throw new Error('room taken');
  return prisma.roomBooking.create({ data: { roomId, startsAt, endsAt } });
}`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
    {
      name: 'django: __lt / __gt exists() then create()',
      path: 'rooms/services.py',
      code: `from .models import Booking


def book(room, starts_at, ends_at):
    if Booking.objects.filter(room=room, starts_at__lt=ends_at, ends_at__gt=starts_at).exists():
        raise RoomTaken()
    return Booking.objects.create(room=room, starts_at=starts_at, ends_at=ends_at)
`,
      errors: [{ mode: 'phantom_read', line: 5 }],
    },
    {
      name: 'rails: where("starts_at < ?") exists? then create!',
      path: 'app/services/book_room.rb',
      code: `class BookRoom
  def call(room, starts_at, ends_at)
    clash = Booking.where(room_id: room.id).where("starts_at < ? AND ends_at > ?", ends_at, starts_at).exists?
    raise RoomTaken if clash

    Booking.create!(room_id: room.id, starts_at: starts_at, ends_at: ends_at)
  end
end`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
    {
      name: 'knex: count in range equals zero then insert',
      path: 'src/shifts/claim.ts',
      code: `import { db } from '../db';
export async function claimShift(nurseId: string, startsAt: Date, endsAt: Date) {
  const [{ n }] = await db('shifts')
    .where({ nurse_id: nurseId })
    .andWhere('starts_at', '<', endsAt)
    .andWhere('ends_at', '>', startsAt)
    .count({ n: '*' });
  if (Number(n) > 0) throw new Error('overlapping shift');
  await db('shifts').insert({ nurse_id: nurseId, starts_at: startsAt, ends_at: endsAt });
}`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
    { name: 'count-in-range (rails): association count, ternary decides the state of the created row', path: 'app/services/enrol_in_workshop.rb', code: railsWorkshopBug, errors: [{ mode: 'phantom_read', line: 9 }] },
    { name: 'count-in-range (knex): count of keys under a limit, then insert one more', path: 'src/keys/create.ts', code: knexKeysBug, errors: [{ mode: 'phantom_read', line: 4 }] },
    { name: 'count-in-range (go): count, an if sets the state, insert writes it', path: 'internal/parking/permits.go', code: goWaitlistBug, errors: [{ mode: 'phantom_read', line: 5 }] },
    { name: 'count-in-range (drizzle): rate limit counted in a time window, then insert', path: 'src/auth/reset.ts', code: drizzleResetBug, errors: [{ mode: 'phantom_read', line: 8 }] },
    { name: 'count-in-range (django): pending count against a limit, then create', path: 'teams/invites.py', code: djangoInvitesBug, errors: [{ mode: 'phantom_read', line: 7 }] },
    {
      name: 'count-in-range (django): sum of expenses under a budget, then insert another expense',
      path: 'expenses/services.py',
      code: `from django.db import transaction
from django.db.models import Sum
from .models import Expense


def submit(team, amount):
    with transaction.atomic():
        spent = Expense.objects.filter(team=team).aggregate(total=Sum("amount"))["total"] or 0
        if spent + amount > team.budget:
            raise OverBudget()
        return Expense.objects.create(team=team, amount=amount)
`,
      errors: [{ mode: 'phantom_read', line: 8 }],
    },
    {
      name: 'count-in-range (sqlalchemy): func.count, python conditional expression, session.add',
      path: 'app/lessons/book.py',
      code: `from sqlalchemy import func, select

from app.models import Lesson, Seat


def book(session, lesson_id, pupil_id):
    with session.begin():
        lesson = session.get(Lesson, lesson_id)
        taken = session.scalar(select(func.count(Seat.id)).where(Seat.lesson_id == lesson_id))
        kind = "seat" if taken < lesson.size else "standby"
        session.add(Seat(lesson_id=lesson_id, pupil_id=pupil_id, kind=kind))
`,
      errors: [{ mode: 'phantom_read', line: 9 }],
    },
    {
      name: 'count-in-range (prisma): count in the last hour, then create',
      path: 'src/comments/post.ts',
      code: `import { prisma } from '../db';
export async function postComment(authorId: string, body: string) {
  const since = new Date(Date.now() - 60 * 60 * 1000);
  const recent = await prisma.comment.count({ where: { authorId, createdAt: { gte: since } } });
  if (recent >= 20) throw new Error('slow down');
  return prisma.comment.create({ data: { authorId, body } });
}`,
      errors: [{ mode: 'phantom_read', line: 4 }],
    },
    {
      name: "go sqlx: GetContext count into a local, compared with the capacity, then INSERT at READ COMMITTED",
      path: 'internal/workshops/enroll.go',
      code: `package workshops

func (r *Repo) Enroll(ctx context.Context, workshopID, memberID int64) (int, error) {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()

	var limit int
	if err := tx.GetContext(ctx, &limit, \`SELECT max_attendees FROM workshops WHERE id = $1\`, workshopID); err != nil {
		return 0, err
	}
	var enrolled int
	if err := tx.GetContext(ctx, &enrolled, \`SELECT count(*) FROM enrollments WHERE workshop_id = $1 AND withdrawn_at IS NULL\`, workshopID); err != nil {
		return 0, err
	}
	if enrolled >= limit {
		return 0, ErrWorkshopFull
	}
	if _, err := tx.ExecContext(ctx, \`INSERT INTO enrollments (workshop_id, member_id, place) VALUES ($1, $2, $3)\`, workshopID, memberID, enrolled+1); err != nil {
		return 0, err
	}
	return enrolled + 1, tx.Commit()
}
`,
      errors: [{ mode: 'phantom_read', line: 15 }],
    },
    {
      name: "go: QueryRowContext count, Scan on the next statement, then INSERT",
      path: 'internal/workshops/waitlist.go',
      code: `package workshops

func (r *Repo) Waitlist(ctx context.Context, workshopID, memberID int64) error {
	row := r.db.QueryRowContext(ctx, \`SELECT count(*) FROM waitlist_entries WHERE workshop_id = $1\`, workshopID)
	var queued int
	if err := row.Scan(&queued); err != nil {
		return err
	}
	if queued >= MaxWaitlist {
		return ErrWaitlistFull
	}
	_, err := r.db.ExecContext(ctx, \`INSERT INTO waitlist_entries (workshop_id, member_id) VALUES ($1, $2)\`, workshopID, memberID)
	return err
}
`,
      errors: [{ mode: 'phantom_read', line: 4 }],
    },
  ],
});
