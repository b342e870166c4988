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

// A sum over sibling rows decides an update of one row's summed column (raw SQL through pgx).
const pgxWeightBug = `package portfolio

func (r *Repo) SetWeight(ctx context.Context, holdingID int64, weight int) error {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var fundID int64
	if err := tx.QueryRow(ctx, \`SELECT fund_id FROM holdings WHERE id = $1\`, holdingID).Scan(&fundID); err != nil {
		return err
	}
	var others int
	err = tx.QueryRow(ctx, \`SELECT COALESCE(SUM(weight), 0) FROM holdings WHERE fund_id = $1 AND id <> $2\`, fundID, holdingID).Scan(&others)
	if err != nil {
		return err
	}
	if others+weight > 100 {
		return ErrOverweight
	}
	if _, err := tx.Exec(ctx, \`UPDATE holdings SET weight = $2 WHERE id = $1\`, holdingID, weight); err != nil {
		return err
	}
	return tx.Commit(ctx)
}`;

// SQLAlchemy: the row comes from a helper, the sum of the other rows from another helper, then an attribute write and commit.
const pyHelperRowSumBug = `from sqlalchemy import func, select

from lab.models import Bench, Lab


def reserve_watts(session, bench_id, watts):
    bench = load_bench(session, bench_id)
    lab = bench.lab
    used = _watts_in_use(session, lab.id, skip_bench=bench.id)
    if used + watts > lab.max_watts:
        raise OverBudget(lab.max_watts - used)
    bench.watts = watts
    session.commit()
    return bench


def _watts_in_use(session, lab_id, *, skip_bench=None):
    q = select(func.coalesce(func.sum(Bench.watts), 0)).where(Bench.lab_id == lab_id)
    if skip_bench is not None:
        q = q.where(Bench.id != skip_bench)
    return session.scalar(q)
`;

// Rails: a custom validation over the *other* rows of the set; the model's own method updates its row into the set.
const railsValidationOwnRowBug = `class CrewMember < ApplicationRecord
  belongs_to :boat
  validate :one_skipper_per_boat, if: -> { skipper? && will_save_change_to_position? }

  def take_helm!
    update!(position: :skipper, helm_since: Time.current)
  end

  private

  def one_skipper_per_boat
    others = boat.crew_members.skipper.where.not(id: id)
    errors.add(:position, "this boat already has a skipper") if others.exists?
  end
end
`;

// SQLAlchemy: the summed column of one loaded row is incremented with an SQL expression (atomic for that row only).
const saHoursBug = `from sqlalchemy import func, select

from app.models import Project, Task


def extend_task(session, task_id, extra):
    with session.begin():
        task = session.get(Task, task_id)
        project = session.get(Project, task.project_id)
        booked = session.scalar(
            select(func.sum(Task.estimate_hours)).where(Task.project_id == task.project_id)
        )
        if task.closed:
            return False
        elif booked + extra > project.hour_cap:
            return False
        else:
            task.estimate_hours = Task.estimate_hours + extra
    return True
`;

// SQLAlchemy async: the count filters on a null test (`.is_(None)`), the write sets that column on one loaded row.
const saStandDownBug = `from datetime import datetime, timezone

from sqlalchemy import func, select

MIN_WATCH = 2


async def stand_down(session, crew_id: int, member_id: int):
    async with session.begin():
        berth = await session.scalar(
            select(CrewBerth).where(CrewBerth.crew_id == crew_id, CrewBerth.member_id == member_id)
        )
        if berth is None:
            raise LookupError(member_id)
        if berth.stood_down_at is not None:
            return berth
        on_watch = await session.scalar(
            select(func.count()).select_from(CrewBerth).where(CrewBerth.crew_id == crew_id, CrewBerth.stood_down_at.is_(None))
        )
        if on_watch <= MIN_WATCH:
            raise ValueError("the crew would fall below the minimum watch")
        berth.stood_down_at = datetime.now(timezone.utc)
    return berth
`;

const goRatioBug = `package pools

func coverageOK(guards, swimmers int) bool {
	return swimmers == 0 || (guards > 0 && swimmers <= guards*maxSwimmersPerGuard)
}

func (s *Store) EndShift(ctx context.Context, poolID, guardID int64) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var c struct {
			Guards   int \`db:"guards"\`
			Swimmers int \`db:"swimmers"\`
		}
		if err := tx.GetContext(ctx, &c, \`
			SELECT (SELECT count(*) FROM pool_shifts WHERE pool_id = $1 AND ended_at IS NULL) AS guards,
			       (SELECT count(*) FROM lane_bookings WHERE pool_id = $1 AND cancelled = false) AS swimmers\`, poolID); err != nil {
			return err
		}
		if !coverageOK(c.Guards-1, c.Swimmers) {
			return ErrCoverage
		}
		_, err := tx.ExecContext(ctx, \`UPDATE pool_shifts SET ended_at = now() WHERE pool_id = $1 AND guard_id = $2 AND ended_at IS NULL\`, poolID, guardID)
		return err
	})
}
`;

const jsRatioBug = `export async function signOffNurse(pool, wardId, nurseId) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(
      \`SELECT count(*) AS on_shift FROM ward_shifts WHERE ward_id = $1 AND signed_off_at IS NULL\`,
      [wardId],
    );
    const staffing = rows[0];
    if (!meetsMinimum(Number(staffing.on_shift) - 1, wardId)) {
      throw new UnderStaffed(wardId);
    }
    await client.query('UPDATE ward_shifts SET signed_off_at = now() WHERE ward_id = $1 AND nurse_id = $2', [wardId, nurseId]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
`;

// Own-row lock: the transaction locks only the row it will write, then counts the sibling rows (Go, database/sql).
const goOwnRowLockBug = `package lanes

func (s *Store) CloseLane(ctx context.Context, laneID int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var plazaID int64
	if err := tx.QueryRowContext(ctx, \`SELECT plaza_id FROM lanes WHERE id = $1 FOR UPDATE\`, laneID).Scan(&plazaID); err != nil {
		return err
	}
	var open int
	if err := tx.QueryRowContext(ctx, \`SELECT count(*) FROM lanes WHERE plaza_id = $1 AND state = 'open' AND id <> $2\`, plazaID, laneID).Scan(&open); err != nil {
		return err
	}
	if open < 2 {
		return ErrLastLanes
	}
	if _, err := tx.ExecContext(ctx, \`UPDATE lanes SET state = 'closed' WHERE id = $1\`, laneID); err != nil {
		return err
	}
	return tx.Commit()
}`;

// A sum over a join read through a helper of the same file, then another row of the joined table flipped (Go).
const goJoinSumBug = `package feeders

func (s *Store) Energise(ctx context.Context, pumpID int64, feederID int64, draw float64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	used, capacity, err := s.feederUse(ctx, tx, feederID)
	if err != nil {
		return err
	}
	if used+draw > capacity {
		return ErrOverload
	}
	if _, err := tx.ExecContext(ctx, \`UPDATE pumps SET state = 'on' WHERE id = $1\`, pumpID); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) feederUse(ctx context.Context, tx *sql.Tx, feederID int64) (used, capacity float64, err error) {
	err = tx.QueryRowContext(ctx, \`
		SELECT f.capacity, COALESCE(SUM(p.draw) FILTER (WHERE p.state = 'on'), 0)
		FROM feeders f LEFT JOIN pumps p ON p.feeder_id = f.id
		WHERE f.id = $1 GROUP BY f.capacity\`, feederID).Scan(&capacity, &used)
	return used, capacity, err
}`;

// Django: select_for_update() on one's own row, a count of the others through a helper, then save() of that row.
const djangoOwnRowLockBug = `from django.db import transaction

from desk.models import Agent


def _others_on_line(queue_id, agent_id):
    return Agent.objects.filter(queue_id=queue_id, on_line=True).exclude(pk=agent_id).count()


def log_off(agent_id):
    with transaction.atomic():
        me = Agent.objects.select_for_update().get(pk=agent_id)
        others = _others_on_line(me.queue_id, agent_id)
        if others < 1:
            raise LastAgent()
        me.on_line = False
        me.save(update_fields=["on_line"])
    return me
`;

runTable(detector, {
  valid: [
    {
      name: 'fixed twin: the same helper runs inside a SERIALIZABLE-with-retry wrapper its caller passes it to',
      path: 'internal/rota/store.go',
      code: `package rota

func (s *Store) StepDown(ctx context.Context, shiftID int64) error {
	return withSerializableTx(ctx, s.db, func(tx *sql.Tx) error {
		return stepDown(ctx, tx, shiftID)
	})
}

func stepDown(ctx context.Context, tx *sql.Tx, shiftID int64) error {
	var wardID int64
	if err := tx.QueryRowContext(ctx, \`SELECT ward_id FROM nurse_shifts WHERE id = $1\`, shiftID).Scan(&wardID); err != nil {
		return err
	}
	others, err := countOthersOn(ctx, tx, wardID, shiftID)
	if err != nil {
		return err
	}
	if others < 2 {
		return ErrUnderStaffed
	}
	_, err = tx.ExecContext(ctx, \`UPDATE nurse_shifts SET status = 'off' WHERE id = $1\`, shiftID)
	return err
}

func countOthersOn(ctx context.Context, tx *sql.Tx, wardID, shiftID int64) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, \`SELECT count(*) FROM nurse_shifts WHERE ward_id = $1 AND status = 'on' AND id <> $2\`, wardID, shiftID).Scan(&n)
	return n, err
}
`,
      extra: [{ path: 'internal/rota/tx.go', code: `package rota

func withSerializableTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	for attempt := 0; attempt < 5; attempt++ {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
		if err != nil {
			return err
		}
		if err = fn(tx); err == nil {
			err = tx.Commit()
		}
		tx.Rollback()
		if !isSerializationFailure(err) {
			return err
		}
	}
	return ErrTooBusy
}
` }],
    },
    {
      name: 'go: own row locked, then the parent row locked before counting the siblings',
      path: 'internal/lanes/store.go',
      code: goOwnRowLockBug.replace('\tvar open int\n', '\tif _, err := tx.ExecContext(ctx, \`SELECT id FROM plazas WHERE id = $1 FOR UPDATE\`, plazaID); err != nil {\n\t\treturn err\n\t}\n\tvar open int\n'),
    },
    {
      name: 'go: sum over a join through a helper, SERIALIZABLE transaction',
      path: 'internal/feeders/store.go',
      code: goJoinSumBug.replace('s.db.BeginTx(ctx, nil)', 's.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})'),
    },
    {
      name: 'django: the parent row locked with select_for_update before counting the others',
      path: 'desk/services.py',
      code: djangoOwnRowLockBug.replace('        others = _others_on_line', '        Queue.objects.select_for_update().get(pk=me.queue_id)\n        others = _others_on_line'),
    },
    {
      name: 'go: two aggregates in one row handed to a predicate, after locking the parent row',
      path: 'internal/pools/shifts.go',
      code: goRatioBug.replace('\t\tif err := tx.GetContext(ctx, &c,', '\t\tif _, err := tx.ExecContext(ctx, \`SELECT id FROM pools WHERE id = $1 FOR UPDATE\`, poolID); err != nil {\n\t\t\treturn err\n\t\t}\n\t\tif err := tx.GetContext(ctx, &c,'),
    },
    {
      name: 'go: aggregate handed to a predicate, then an update that does not move the row out of the set',
      path: 'internal/pools/shifts.go',
      code: goRatioBug.replace('SET ended_at = now() WHERE pool_id = $1 AND guard_id = $2 AND ended_at IS NULL', 'SET note = $3 WHERE pool_id = $1 AND guard_id = $2'),
    },
    {
      name: 'rails service: parent row lock! before counting the other rows of an enum scope, then status update of own row',
      path: 'app/services/crew_release.rb',
      code: `class CrewRelease
  def initialize(league, duty)
    @league = league
    @duty = duty
  end

  def call
    return false if @duty.released?

    ActiveRecord::Base.transaction do
      @league.lock!
      others = @league.duties
                      .booked
                      .where(match_day: @duty.match_day)
                      .where.not(id: @duty.id)
                      .count
      return false if others < @league.referees_per_day

      @duty.update!(status: :released, released_at: Time.current)
    end
    true
  end
end`,
    },
    {
      name: 'python sqlalchemy: null-test count after locking the parent row',
      path: 'app/crews.py',
      code: saStandDownBug.replace('        on_watch =', '        await session.execute(select(Crew).where(Crew.id == crew_id).with_for_update())\n        on_watch ='),
    },
    {
      name: 'go gorm: region row locked FOR UPDATE before the SUM, then a conditional debit of one node',
      path: 'internal/fleet/undeploy.go',
      code: `package fleet

func (s *Service) Undeploy(ctx context.Context, regionID, nodeID uint, cpus decimal.Decimal) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var region Region
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&region, regionID).Error; err != nil {
			return err
		}
		var capacity decimal.Decimal
		if err := tx.Model(&Node{}).Where("region_id = ?", regionID).
			Select("COALESCE(SUM(spare_cpus), 0)").Scan(&capacity).Error; err != nil {
			return err
		}
		if capacity.Sub(cpus).LessThan(s.reserve) {
			return ErrReserveBreach
		}
		res := tx.Model(&Node{}).
			Where("id = ? AND free_slots >= ?", nodeID, 1).
			Updates(map[string]any{
				"free_slots": gorm.Expr("free_slots - ?", 1),
				"spare_cpus": gorm.Expr("spare_cpus - ?", cpus),
			})
		return res.Error
	})
}
`,
    },
    {
      name: 'helper count (sqlalchemy): the organisation row locked with_for_update before counting',
      path: 'orgs/members.py',
      code: `from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Membership, Organization


def _admin_count(session: Session, org_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Membership).where(Membership.org_id == org_id, Membership.role == "admin")
    )


def demote(session: Session, membership_id: int) -> Membership:
    with session.begin():
        member = session.get(Membership, membership_id)
        session.execute(select(Organization).where(Organization.id == member.org_id).with_for_update())
        if _admin_count(session, member.org_id) <= 1:
            raise ValueError("an organisation needs an admin")
        member.role = "member"
    return member
`,
    },
    {
      name: 'helper count (prisma): SERIALIZABLE transaction around the check and the update',
      path: 'src/rota/release.ts',
      code: `import { prisma } from '../db';

async function countOnCall(tx: any, teamId: string) {
  return tx.shift.count({ where: { teamId, onCall: true } });
}

export async function releaseShift(shiftId: string) {
  return prisma.$transaction(async (tx) => {
    const shift = await tx.shift.findUniqueOrThrow({ where: { id: shiftId } });
    if ((await countOnCall(tx, shift.teamId)) <= 1) throw new Error('last one on call');
    await tx.shift.update({ where: { id: shiftId }, data: { onCall: false } });
  }, { isolationLevel: 'Serializable' });
}`,
    },
    {
      name: 'pgx: parent fund row locked FOR UPDATE before the sum',
      path: 'internal/portfolio/weights.go',
      code: pgxWeightBug.replace('\tvar others int', '\tif _, err := tx.Exec(ctx, \`SELECT id FROM funds WHERE id = $1 FOR UPDATE\`, fundID); err != nil {\n\t\treturn err\n\t}\n\tvar others int'),
    },
    {
      name: 'pgx: the update re-checks the bound itself (conditional atomic update)',
      path: 'internal/portfolio/weights.go',
      code: `package portfolio

func (r *Repo) AddWeight(ctx context.Context, holdingID int64, delta int) error {
	var total int
	if err := r.pool.QueryRow(ctx, \`SELECT COALESCE(SUM(weight), 0) FROM holdings WHERE fund_id = $1\`, fundID(holdingID)).Scan(&total); err != nil {
		return err
	}
	if total+delta > 100 {
		return ErrOverweight
	}
	_, err := r.pool.Exec(ctx, \`UPDATE holdings SET weight = weight + $2 WHERE id = $1 AND weight + $2 <= $3\`, holdingID, delta, 100)
	return err
}`,
    },
    {
      name: 'sqlalchemy: parent project row locked with with_for_update() before the sum',
      path: 'app/planning/tasks.py',
      code: saHoursBug.replace(
        'project = session.get(Project, task.project_id)',
        'project = session.scalars(select(Project).where(Project.id == task.project_id).with_for_update()).one()',
      ),
    },
    {
      name: 'django: a count under a limit followed by an insert is phantom_read (range-check-then-insert), not this',
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
    },
    {
      name: 'rails: sum of the other rows, then a column outside the invariant is written',
      path: 'app/services/rename_pledge.rb',
      code: `class RenamePledge
  def call(pledge, label)
    Pledge.transaction do
      total = pledge.campaign.pledges.sum(:amount_cents)
      raise Closed if total >= pledge.campaign.goal_cents
      pledge.update!(label: label)
    end
  end
end`,
    },
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
    {
      name: "typeorm query builder: parent row locked (pessimistic_write) before the SUM",
      path: 'src/budgets/envelopes.service.ts',
      code: `import { Injectable, BadRequestException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Budget } from './budget.entity';
import { Envelope } from './envelope.entity';

@Injectable()
export class EnvelopesService {
  constructor(private readonly dataSource: DataSource) {}

  async resize(budgetId: string, envelopeId: string, cents: number) {
    return this.dataSource.transaction(async (manager) => {
      await manager.findOne(Budget, { where: { id: budgetId }, lock: { mode: 'pessimistic_write' } });
      const env = await manager.findOneOrFail(Envelope, { where: { id: envelopeId }, relations: { budget: true } });
      const { used } = await manager
        .createQueryBuilder(Envelope, 'e')
        .select('COALESCE(SUM(e.cents), 0)', 'used')
        .where('e.budgetId = :budgetId', { budgetId: env.budgetId })
        .andWhere('e.id != :id', { id: envelopeId })
        .getRawOne();
      if (Number(used) + cents > env.budget.totalCents) {
        throw new BadRequestException('budget exceeded');
      }
      env.cents = cents;
      await manager.save(env);
      return env;
    });
  }
}
`,
    },
    {
      name: "typeorm: reduce() over find(), parent row locked first",
      path: 'src/pools/allocations.ts',
      code: `import { AppDataSource } from '../data-source';
import { Allocation } from './allocation.entity';

export async function setShare(poolId: string, allocationId: string, percent: number) {
  return AppDataSource.transaction(async (manager) => {
    await manager.findOne(Pool, { where: { id: poolId }, lock: { mode: 'pessimistic_write' } });
    const alloc = await manager.findOneBy(Allocation, { id: allocationId });
    if (!alloc) throw new Error('not found');
    const siblings = await manager.find(Allocation, { where: { poolId: alloc.poolId } });
    const used = siblings
      .filter((s) => s.id !== alloc.id)
      .reduce((acc, s) => acc + s.percent, 0);
    if (used + percent > 100) {
      throw new Error('pool over-allocated');
    }
    alloc.percent = percent;
    await manager.save(alloc);
    return alloc;
  });
}
`,
    },
    {
      name: "django: sum() over a generator, parent row select_for_update() first",
      path: 'stipends/services.py',
      code: `from django.db import transaction
from .models import Department, Stipend


def raise_stipend(department_id, stipend_id, amount):
    with transaction.atomic():
        Department.objects.select_for_update().get(pk=department_id)
        stipend = Stipend.objects.get(pk=stipend_id)
        peers = Stipend.objects.filter(department_id=stipend.department_id).exclude(pk=stipend.pk)
        committed = sum(p.amount for p in peers)
        if committed + amount > stipend.department.budget:
            raise ValueError("over budget")
        stipend.amount = amount
        stipend.save(update_fields=["amount"])
`,
    },
    {
      name: "activerecord: relation.sum(&:col) inside the team row lock",
      path: 'app/services/quota_share.rb',
      code: `class QuotaShare
  def self.assign(share, hours)
    share.team.with_lock do
      others = Share.where(team_id: share.team_id).where.not(id: share.id)
      booked = others.sum(&:hours)
      raise ArgumentError, "over capacity" if booked + hours > share.team.capacity_hours
      share.update!(hours: hours)
    end
  end
end
`,
    },
    {
      name: "go sqlx: range-loop total after locking the account row FOR UPDATE",
      path: 'internal/wallet/limits.go',
      code: `package wallet

func (s *Store) SetSubLimit(ctx context.Context, subID, accountID int64, limit int64) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var capCents int64
	if err := tx.GetContext(ctx, &capCents, \`SELECT cap_cents FROM accounts WHERE id = $1 FOR UPDATE\`, accountID); err != nil {
		return err
	}
	var subs []SubAccount
	if err := tx.SelectContext(ctx, &subs, \`SELECT id, spend_limit FROM sub_accounts WHERE account_id = $1 AND id <> $2\`, accountID, subID); err != nil {
		return err
	}
	var total int64
	for _, sa := range subs {
		total += sa.SpendLimit
	}
	if total+limit > s.cap {
		return ErrOverCap
	}
	if _, err := tx.ExecContext(ctx, \`UPDATE sub_accounts SET spend_limit = $1 WHERE id = $2\`, limit, subID); err != nil {
		return err
	}
	return tx.Commit()
}
`,
    },
    {
      name: 'sequelize: parent row locked (lock: t.LOCK.UPDATE) before counting the others, then instance update',
      path: 'src/services/guards.js',
      code: `const { Op } = require('sequelize');
const { sequelize, Lifeguard, Pool } = require('../models');

async function goOnBreak(guardId) {
  return sequelize.transaction(async (t) => {
    const guard = await Lifeguard.findByPk(guardId, { transaction: t });
    const pool = await Pool.findByPk(guard.poolId, { transaction: t, lock: t.LOCK.UPDATE });
    const watching = await Lifeguard.count({
      where: { poolId: guard.poolId, onChair: true, id: { [Op.ne]: guard.id } },
      transaction: t,
    });
    if (watching < pool.minGuards) {
      throw new Error('pool would be unwatched');
    }
    await guard.update({ onChair: false, breakStartedAt: new Date() }, { transaction: t });
    return guard;
  });
}

module.exports = { goOnBreak };
`,
    },
    {
      name: 'sqlalchemy: parent row with_for_update before the count, then session.delete of own row',
      path: 'app/rota/service.py',
      code: `from sqlalchemy import func, select

from app.models import Rota, RotaSlot


def leave_rota(session, rota_id, volunteer_id):
    rota = session.scalar(select(Rota).where(Rota.id == rota_id).with_for_update())
    signed_up = session.scalar(
        select(func.count()).select_from(RotaSlot).where(RotaSlot.rota_id == rota_id)
    )
    if signed_up - 1 < rota.min_volunteers:
        raise ValueError("rota would be understaffed")
    slot = session.scalar(
        select(RotaSlot).where(RotaSlot.rota_id == rota_id, RotaSlot.volunteer_id == volunteer_id)
    )
    if slot is None:
        raise ValueError("not on this rota")
    session.delete(slot)
    session.commit()
`,
    },
    {
      name: 'python: the parent row is locked FOR UPDATE before the helper sums the other rows',
      path: 'lab/benches.py',
      code: pyHelperRowSumBug.replace('    lab = bench.lab\n', '    lab = session.execute(select(Lab).where(Lab.id == bench.lab_id).with_for_update()).scalar_one()\n'),
    },
    {
      name: 'rails: the own-row update takes the parent row lock, so the validation runs serialized',
      path: 'app/models/crew_member.rb',
      code: railsValidationOwnRowBug.replace('    update!(position: :skipper, helm_since: Time.current)\n', '    boat.with_lock { update!(position: :skipper, helm_since: Time.current) }\n'),
    },
    {
      name: 'rails: a partial unique index backs the validation and the update rescues RecordNotUnique',
      path: 'app/models/crew_member.rb',
      code: railsValidationOwnRowBug.replace('    update!(position: :skipper, helm_since: Time.current)\n', '    update!(position: :skipper, helm_since: Time.current)\n  rescue ActiveRecord::RecordNotUnique\n    errors.add(:position, "taken")\n    raise ActiveRecord::RecordInvalid, self\n'),
    },
  ],
  invalid: [
    {
      name: 'go: a count of the other rows in a helper taking the tx, then an update of its own row, under a plain transaction wrapper',
      path: 'internal/rota/store.go',
      code: `package rota

func (s *Store) StepDown(ctx context.Context, shiftID int64) error {
	return withTx(ctx, s.db, func(tx *sql.Tx) error {
		return stepDown(ctx, tx, shiftID)
	})
}

func stepDown(ctx context.Context, tx *sql.Tx, shiftID int64) error {
	var wardID int64
	if err := tx.QueryRowContext(ctx, \`SELECT ward_id FROM nurse_shifts WHERE id = $1\`, shiftID).Scan(&wardID); err != nil {
		return err
	}
	others, err := countOthersOn(ctx, tx, wardID, shiftID)
	if err != nil {
		return err
	}
	if others < 2 {
		return ErrUnderStaffed
	}
	_, err = tx.ExecContext(ctx, \`UPDATE nurse_shifts SET status = 'off' WHERE id = $1\`, shiftID)
	return err
}

func countOthersOn(ctx context.Context, tx *sql.Tx, wardID, shiftID int64) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, \`SELECT count(*) FROM nurse_shifts WHERE ward_id = $1 AND status = 'on' AND id <> $2\`, wardID, shiftID).Scan(&n)
	return n, err
}
`,
      extra: [{ path: 'internal/rota/tx.go', code: `package rota

func withTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
` }],
      errors: [{ mode: 'write_skew', line: 14 }],
    },
    {
      name: 'python: row loaded by a helper, sum of the others through a helper, attribute assigned and committed',
      path: 'lab/benches.py',
      code: pyHelperRowSumBug,
      errors: [{ mode: 'write_skew', line: 9 }],
    },
    {
      name: 'rails: validation rejects when another row of the set exists, own-row update! into the set',
      path: 'app/models/crew_member.rb',
      code: railsValidationOwnRowBug,
      errors: [{ mode: 'write_skew', line: 12 }],
    },
    {
      name: 'go: FOR UPDATE on its own row only, count of the sibling rows, then own row updated',
      path: 'internal/lanes/store.go',
      code: goOwnRowLockBug,
      errors: [{ mode: 'write_skew', line: 14 }],
    },
    {
      name: 'go: sum over a LEFT JOIN read through a helper, then a row of the joined table updated',
      path: 'internal/feeders/store.go',
      code: goJoinSumBug,
      errors: [{ mode: 'write_skew', line: 9 }],
    },
    {
      name: 'django: select_for_update() on its own row, count of the others through a helper, then save()',
      path: 'desk/services.py',
      code: djangoOwnRowLockBug,
      errors: [{ mode: 'write_skew', line: 13 }],
    },
    {
      name: 'go: two aggregates scanned into a struct, a field handed to a ratio predicate, then one row released',
      path: 'internal/pools/shifts.go',
      code: goRatioBug,
      errors: [{ mode: 'write_skew', line: 13 }],
    },
    {
      name: 'js: a count read from the first row, handed to a predicate, then one row signed off',
      path: 'src/wards/signoff.js',
      code: jsRatioBug,
      errors: [{ mode: 'write_skew', line: 6 }],
    },
    {
      name: 'rails service: count of the other rows through an enum scope (.booked), then update!(status: ...) of own row',
      path: 'app/services/crew_release.rb',
      code: `class CrewRelease
  def initialize(league, duty)
    @league = league
    @duty = duty
  end

  def call
    return false if @duty.released?

    ActiveRecord::Base.transaction do
      others = @league.duties
                      .booked
                      .where(match_day: @duty.match_day)
                      .where.not(id: @duty.id)
                      .count
      return false if others < @league.referees_per_day

      @duty.update!(status: :released, released_at: Time.current)
    end
    true
  end
end`,
      errors: [{ mode: 'write_skew', line: 11 }],
    },
    {
      name: 'python sqlalchemy: count filtered with .is_(None), then one row stood down (the state guard before it is not the hazard)',
      path: 'app/crews.py',
      code: saStandDownBug,
      errors: [{ mode: 'write_skew', line: 18 }],
    },
    {
      name: 'go gorm: SUM over the region nodes via Select/Scan, decimal LessThan bound, debit guarded on another column',
      path: 'internal/fleet/undeploy.go',
      code: `package fleet

func (s *Service) Undeploy(ctx context.Context, regionID, nodeID uint, cpus decimal.Decimal) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var capacity decimal.Decimal
		if err := tx.Model(&Node{}).Where("region_id = ?", regionID).
			Select("COALESCE(SUM(spare_cpus), 0)").Scan(&capacity).Error; err != nil {
			return err
		}
		if capacity.Sub(cpus).LessThan(s.reserve) {
			return ErrReserveBreach
		}
		res := tx.Model(&Node{}).
			Where("id = ? AND free_slots >= ?", nodeID, 1).
			Updates(map[string]any{
				"free_slots": gorm.Expr("free_slots - ?", 1),
				"spare_cpus": gorm.Expr("spare_cpus - ?", cpus),
			})
		return res.Error
	})
}
`,
      errors: [{ mode: 'write_skew', line: 6 }],
    },
    {
      name: 'helper count (sqlalchemy): a helper counts the admins, the caller demotes one row',
      path: 'orgs/members.py',
      code: `from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Membership


def _admin_count(session: Session, org_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Membership).where(Membership.org_id == org_id, Membership.role == "admin")
    )


def demote(session: Session, membership_id: int) -> Membership:
    with session.begin():
        member = session.get(Membership, membership_id)
        if _admin_count(session, member.org_id) <= 1:
            raise ValueError("an organisation needs an admin")
        member.role = "member"
    return member
`,
      errors: [{ mode: 'write_skew', line: 16 }],
    },
    {
      name: 'helper count (prisma): awaited helper compared with a bound, then one shift taken off call',
      path: 'src/rota/release.ts',
      code: `import { prisma } from '../db';

async function countOnCall(tx: any, teamId: string) {
  return tx.shift.count({ where: { teamId, onCall: true } });
}

export async function releaseShift(shiftId: string) {
  return prisma.$transaction(async (tx) => {
    const shift = await tx.shift.findUniqueOrThrow({ where: { id: shiftId } });
    if ((await countOnCall(tx, shift.teamId)) <= 1) throw new Error('last one on call');
    await tx.shift.update({ where: { id: shiftId }, data: { onCall: false } });
  });
}`,
      errors: [{ mode: 'write_skew', line: 10 }],
    },
    { name: 'knex: count on-call doctors then take one off call', path: 'src/rota/offcall.ts', code: knexBug, errors: [{ mode: 'write_skew', line: 4 }] },
    { name: 'pgx: SUM over sibling rows, then UPDATE one row of the summed column', path: 'internal/portfolio/weights.go', code: pgxWeightBug, errors: [{ mode: 'write_skew', line: 14 }] },
    { name: 'sqlalchemy: func.sum, elif bound, attribute increment of one loaded row in else', path: 'app/planning/tasks.py', code: saHoursBug, errors: [{ mode: 'write_skew', line: 11 }] },
    {
      name: 'django: Sum() then an unconditional F() increment of one row',
      path: 'quotas/services.py',
      code: `from django.db.models import F, Sum
from .models import Seat


def grow_seat(seat, extra):
    used = Seat.objects.filter(tenant_id=seat.tenant_id).aggregate(total=Sum("storage_gb"))["total"] or 0
    if used + extra > seat.tenant.storage_cap_gb:
        raise QuotaExceeded()
    Seat.objects.filter(pk=seat.pk).update(storage_gb=F("storage_gb") + extra)
`,
      errors: [{ mode: 'write_skew', line: 6 }],
    },
    {
      name: 'prisma: aggregate _sum, then update of the summed field on one row',
      path: 'src/budget/lines.ts',
      code: `import { prisma } from '../db';
export async function setLineAmount(lineId: string, budgetId: string, amount: number) {
  const agg = await prisma.budgetLine.aggregate({ where: { budgetId, NOT: { id: lineId } }, _sum: { amount: true } });
  if ((agg._sum.amount ?? 0) + amount > 10_000) throw new Error('budget exceeded');
  await prisma.budgetLine.update({ where: { id: lineId }, data: { amount } });
}`,
      errors: [{ mode: 'write_skew', line: 3 }],
    },
    {
      name: 'rails: .sum(:column) then update! of that column on one member',
      path: 'app/services/allot_credits.rb',
      code: `class AllotCredits
  def call(membership, credits)
    Membership.transaction do
      allotted = membership.club.memberships.where.not(id: membership.id).sum(:credits)
      raise OverAllotted if allotted + credits > membership.club.credit_pool
      membership.update!(credits: credits)
    end
  end
end`,
      errors: [{ mode: 'write_skew', line: 4 }],
    },
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
    {
      name: "typeorm query builder: SUM over the sibling rows, then save() of this row",
      path: 'src/budgets/envelopes.service.ts',
      code: `import { Injectable, BadRequestException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Envelope } from './envelope.entity';

@Injectable()
export class EnvelopesService {
  constructor(private readonly dataSource: DataSource) {}

  async resize(envelopeId: string, cents: number) {
    return this.dataSource.transaction(async (manager) => {
      const env = await manager.findOneOrFail(Envelope, { where: { id: envelopeId }, relations: { budget: true } });
      const { used } = await manager
        .createQueryBuilder(Envelope, 'e')
        .select('COALESCE(SUM(e.cents), 0)', 'used')
        .where('e.budgetId = :budgetId', { budgetId: env.budgetId })
        .andWhere('e.id != :id', { id: envelopeId })
        .getRawOne();
      if (Number(used) + cents > env.budget.totalCents) {
        throw new BadRequestException('budget exceeded');
      }
      env.cents = cents;
      await manager.save(env);
      return env;
    });
  }
}
`,
      errors: [{ mode: 'write_skew', line: 12 }],
    },
    {
      name: "typeorm: find() then reduce() in application code, then manager.save of this row",
      path: 'src/pools/allocations.ts',
      code: `import { AppDataSource } from '../data-source';
import { Allocation } from './allocation.entity';

export async function setShare(allocationId: string, percent: number) {
  return AppDataSource.transaction(async (manager) => {
    const alloc = await manager.findOneBy(Allocation, { id: allocationId });
    if (!alloc) throw new Error('not found');
    const siblings = await manager.find(Allocation, { where: { poolId: alloc.poolId } });
    const used = siblings
      .filter((s) => s.id !== alloc.id)
      .reduce((acc, s) => acc + s.percent, 0);
    if (used + percent > 100) {
      throw new Error('pool over-allocated');
    }
    alloc.percent = percent;
    await manager.save(alloc);
    return alloc;
  });
}
`,
      errors: [{ mode: 'write_skew', line: 9 }],
    },
    {
      name: "django: sum() over a generator of the sibling rows, then save()",
      path: 'stipends/services.py',
      code: `from django.db import transaction
from .models import Stipend


def raise_stipend(stipend_id, amount):
    with transaction.atomic():
        stipend = Stipend.objects.get(pk=stipend_id)
        peers = Stipend.objects.filter(department_id=stipend.department_id).exclude(pk=stipend.pk)
        committed = sum(p.amount for p in peers)
        if committed + amount > stipend.department.budget:
            raise ValueError("over budget")
        stipend.amount = amount
        stipend.save(update_fields=["amount"])
`,
      errors: [{ mode: 'write_skew', line: 9 }],
    },
    {
      name: "activerecord: relation.sum(&:col) in Ruby, then update! of this row",
      path: 'app/services/quota_share.rb',
      code: `class QuotaShare
  def self.assign(share, hours)
    ActiveRecord::Base.transaction do
      others = Share.where(team_id: share.team_id).where.not(id: share.id)
      booked = others.sum(&:hours)
      raise ArgumentError, "over capacity" if booked + hours > share.team.capacity_hours
      share.update!(hours: hours)
    end
  end
end
`,
      errors: [{ mode: 'write_skew', line: 5 }],
    },
    {
      name: "go sqlx: SelectContext into a slice, total in a range loop, then UPDATE of this row",
      path: 'internal/wallet/limits.go',
      code: `package wallet

func (s *Store) SetSubLimit(ctx context.Context, subID, accountID int64, limit int64) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var subs []SubAccount
	if err := tx.SelectContext(ctx, &subs, \`SELECT id, spend_limit FROM sub_accounts WHERE account_id = $1 AND id <> $2\`, accountID, subID); err != nil {
		return err
	}
	var total int64
	for _, sa := range subs {
		total += sa.SpendLimit
	}
	if total+limit > s.cap {
		return ErrOverCap
	}
	if _, err := tx.ExecContext(ctx, \`UPDATE sub_accounts SET spend_limit = $1 WHERE id = $2\`, limit, subID); err != nil {
		return err
	}
	return tx.Commit()
}
`,
      errors: [{ mode: 'write_skew', line: 14 }],
    },
    {
      name: 'sequelize: count of the other rows on duty, then instance.update(...) of own row out of the set',
      path: 'src/services/guards.js',
      code: `const { Op } = require('sequelize');
const { sequelize, Lifeguard, Pool } = require('../models');

async function goOnBreak(guardId) {
  return sequelize.transaction(async (t) => {
    const guard = await Lifeguard.findByPk(guardId, { transaction: t });
    const pool = await Pool.findByPk(guard.poolId, { transaction: t });
    const watching = await Lifeguard.count({
      where: { poolId: guard.poolId, onChair: true, id: { [Op.ne]: guard.id } },
      transaction: t,
    });
    if (watching < pool.minGuards) {
      throw new Error('pool would be unwatched');
    }
    await guard.update({ onChair: false, breakStartedAt: new Date() }, { transaction: t });
    return guard;
  });
}

module.exports = { goOnBreak };
`,
      errors: [{ mode: 'write_skew', line: 8 }],
    },
    {
      name: 'sqlalchemy: count of the set kept above a minimum, then session.delete(own row)',
      path: 'app/rota/service.py',
      code: `from sqlalchemy import func, select

from app.models import Rota, RotaSlot


def leave_rota(session, rota_id, volunteer_id):
    rota = session.get(Rota, rota_id)
    signed_up = session.scalar(
        select(func.count()).select_from(RotaSlot).where(RotaSlot.rota_id == rota_id)
    )
    if signed_up - 1 < rota.min_volunteers:
        raise ValueError("rota would be understaffed")
    slot = session.scalar(
        select(RotaSlot).where(RotaSlot.rota_id == rota_id, RotaSlot.volunteer_id == volunteer_id)
    )
    if slot is None:
        raise ValueError("not on this rota")
    session.delete(slot)
    session.commit()
`,
      errors: [{ mode: 'write_skew', line: 9 }],
    },
  ],
});
