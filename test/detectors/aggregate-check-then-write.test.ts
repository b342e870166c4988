import detector from '../../src/detectors/aggregate-check-then-write.js';
import { runTable } from './tester.js';

const knexBug = `import { db } from '../db';
export async function goOffCall(doctorId: string, shiftId: string) {
  await db.transaction(async (trx) => {
    const [{ n }] = await trx('doctors').where({ shift_id: shiftId, on_call: true }).count({ n: '*' });
    if (Number(n) < 2) throw new Error('at least one doctor must stay on call');
    await trx('doctors').where({ id: doctorId }).update({ on_call: false });
  });
}`;

runTable(detector, {
  valid: [
    {
      name: 'knex: shift row locked FOR UPDATE before counting',
      path: 'src/rota/offcall.ts',
      code: knexBug.replace("    const [{ n }]", "    await trx('shifts').where({ id: shiftId }).forUpdate().first();\n    const [{ n }]"),
    },
    {
      name: 'knex: SERIALIZABLE transaction',
      path: 'src/rota/offcall.ts',
      code: knexBug.replace('db.transaction(async (trx) => {', "db.transaction(async (trx) => {\n    await trx.raw('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');"),
    },
    {
      name: 'rails: parent locked with lock! inside the transaction',
      path: 'app/controllers/seats_controller.rb',
      code: `class SeatsController < ApplicationController
  def release
    seat = current_team.seats.find(params[:id])
    Seat.transaction do
      current_team.lock!
      next if current_team.seats.assigned.count <= current_team.min_seats

      seat.update!(assigned: false)
    end
  end
end`,
    },
    {
      name: 'django: conditional atomic update instead of a read',
      path: 'promos/services.py',
      code: `from django.db.models import F
from .models import PromoCode


def reserve(promo_id):
    reserved = PromoCode.objects.filter(pk=promo_id, uses__lt=F("max_uses")).update(uses=F("uses") + 1)
    if reserved == 0:
        raise SoldOut()
`,
    },
    {
      name: 'ordinary code: count for a dashboard',
      path: 'src/stats.ts',
      code: `import { prisma } from './db';
export async function openTickets(teamId: string) {
  const n = await prisma.ticket.count({ where: { teamId, status: 'open' } });
  return { n };
}`,
    },
  ],
  invalid: [
    { name: 'knex: count on-call doctors then take one off call', path: 'src/rota/offcall.ts', code: knexBug, errors: [{ mode: 'write_skew', line: 4 }] },
    {
      name: 'rails: active count then deactivate one row',
      path: 'app/controllers/seats_controller.rb',
      code: `class SeatsController < ApplicationController
  def release
    seat = current_team.seats.find(params[:id])
    Seat.transaction do
      next if current_team.seats.assigned.count <= current_team.min_seats

      seat.update!(assigned: false)
    end
  end
end`,
      errors: [{ mode: 'write_skew', line: 5 }],
    },
    {
      name: 'django: sum of expenses under a budget, then insert',
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
      errors: [{ mode: 'write_skew', line: 8 }],
    },
    {
      name: 'prisma: count of admins then demote one',
      path: 'src/orgs/roles.ts',
      code: `import { prisma } from '../db';
export async function demote(orgId: string, memberId: string) {
  const admins = await prisma.membership.count({ where: { orgId, role: 'admin' } });
  if (admins <= 1) throw new Error('an organisation needs an admin');
  await prisma.membership.update({ where: { id: memberId }, data: { role: 'member' } });
}`,
      errors: [{ mode: 'write_skew', line: 3 }],
    },
    {
      name: 'go: COUNT then UPDATE another row',
      path: 'internal/rota/offcall.go',
      code: `package rota

func (s *Store) GoOffCall(ctx context.Context, doctorID, shiftID int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var onCall int
	if err := tx.QueryRowContext(ctx, \`SELECT COUNT(*) FROM doctors WHERE shift_id = $1 AND on_call\`, shiftID).Scan(&onCall); err != nil {
		return err
	}
	if onCall < 2 {
		return ErrLastDoctor
	}
	if _, err := tx.ExecContext(ctx, \`UPDATE doctors SET on_call = false WHERE id = $1\`, doctorID); err != nil {
		return err
	}
	return tx.Commit()
}`,
      errors: [{ mode: 'write_skew', line: 10 }],
    },
  ],
});
