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

runTable(detector, {
  valid: [
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
  ],
  invalid: [
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
  ],
});
