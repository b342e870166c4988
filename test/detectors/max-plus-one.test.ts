import detector from '../../src/detectors/max-plus-one.js';
import { runTable } from './tester.js';

const prismaPlain = {
  path: 'prisma/schema.prisma',
  code: `model Step {
  id         String @id @default(cuid())
  recipeId   String
  position   Int
  @@index([recipeId, position])
}`,
};
const prismaUnique = {
  path: 'prisma/schema.prisma',
  code: `model Step {
  id         String @id @default(cuid())
  recipeId   String
  position   Int
  @@unique([recipeId, position])
}`,
};
const prismaCode = `import { prisma } from '../db';
export async function addStep(recipeId: string, text: string) {
  const agg = await prisma.step.aggregate({ where: { recipeId }, _max: { position: true } });
  const position = (agg._max.position ?? 0) + 1;
  return prisma.step.create({ data: { recipeId, text, position } });
}`;

runTable(detector, {
  valid: [
    {
      name: 'rails before_create callback: self.seq = association maximum + 1, unique index on (account_id, seq)',
      path: 'app/models/invoice.rb',
      extra: [
        { path: 'db/migrate/20240301090000_add_seq_to_invoices.rb', code: `class AddSeqToInvoices < ActiveRecord::Migration[7.1]
  def change
    add_column :invoices, :seq, :integer
    add_index :invoices, [:account_id, :seq], unique: true
  end
end
` },
      ],
      code: `class Invoice < ApplicationRecord
  belongs_to :account

  before_create :assign_seq

  private

  def assign_seq
    last = account.invoices.maximum(:seq) || 0
    self.seq = last + 1
  end
end
`,
    },
    {
      name: 'rails before_validation on: :create: self.position = count + 1 after locking the parent row',
      path: 'app/models/visit.rb',
      code: `class Visit < ApplicationRecord
  belongs_to :clinic

  before_validation :stamp_position, on: :create

  private

  def stamp_position
    clinic.lock!
    waiting = Visit.where(clinic_id: clinic_id, day: day).count
    self.position = waiting + 1
  end
end
`,
    },
    {
      name: 'sqlalchemy async: helper returns max + 1, caller builds the row and session.add()s it, unique (book_id, seq)',
      path: 'app/chapters/service.py',
      extra: [
        { path: 'app/chapters/models.py', code: `from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Chapter(Base):
    __tablename__ = "chapters"
    __table_args__ = (UniqueConstraint("book_id", "seq", name="uq_chapters_book_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    seq: Mapped[int]
    title: Mapped[str]
` },
      ],
      code: `from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Chapter


async def _following_seq(session: AsyncSession, book_id: int) -> int:
    res = await session.execute(
        select(func.coalesce(func.max(Chapter.seq), 0)).where(Chapter.book_id == book_id)
    )
    return int(res.scalar_one()) + 1


async def add_chapter(session: AsyncSession, book_id: int, title: str) -> Chapter:
    async with session.begin():
        seq = await _following_seq(session, book_id)
        chapter = Chapter(book_id=book_id, seq=seq, title=title)
        session.add(chapter)
        await session.flush()
    return chapter
`,
    },
    {
      name: 'django: latest row read only as an existence check, an unrelated count + 1 in another function, then create',
      path: 'signups/services.py',
      extra: [
        { path: 'signups/models.py', code: `from django.db import models


class Signup(models.Model):
    event = models.ForeignKey("Event", on_delete=models.CASCADE)
    member = models.ForeignKey("auth.User", on_delete=models.CASCADE)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
` },
      ],
      code: `from .models import Signup


def signup_count(event):
    return Signup.objects.filter(event=event).count() + 1


def sign_up(event, member):
    latest = Signup.objects.filter(event=event, member=member).order_by("-created_at").first()
    if latest is not None:
        return latest
    return Signup.objects.create(event=event, member=member)
`,
    },
    {
      name: 'go pgx: COALESCE(MAX(col), 0) + 1 in SQL inside BeginFunc, unique (scope, col) index',
      path: 'internal/roster/bins.go',
      extra: [{ path: 'migrations/0007_bins.sql', code: `CREATE UNIQUE INDEX bins_rack_slot_key ON bins (rack_id, slot_no);` }],
      code: `package roster

import (
	"context"

	"github.com/jackc/pgx/v5"
)

func (r *Repo) AddBin(ctx context.Context, b Bin) (Bin, error) {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var slot int
		if err := tx.QueryRow(ctx,
			\`SELECT COALESCE(MAX(slot_no), 0) + 1 FROM bins WHERE rack_id = \$1\`,
			b.RackID).Scan(&slot); err != nil {
			return err
		}
		b.SlotNo = slot
		return tx.QueryRow(ctx,
			\`INSERT INTO bins (rack_id, slot_no, label) VALUES (\$1, \$2, \$3) RETURNING id\`,
			b.RackID, b.SlotNo, b.Label).Scan(&b.ID)
	})
	return b, err
}
`,
    },
    {
      name: 'rails: maximum + 1 written onto the record itself, unique index on (scope, column)',
      path: 'app/models/shipment.rb',
      extra: [
        {
          path: 'db/migrate/20240301000000_add_manifest_no_to_shipments.rb',
          code: `class AddManifestNoToShipments < ActiveRecord::Migration[7.1]
  def change
    add_column :shipments, :manifest_no, :integer
    add_index :shipments, [:carrier_id, :manifest_no], unique: true
  end
end`,
        },
      ],
      code: `class Shipment < ApplicationRecord
  def dispatch!
    transaction do
      last = Shipment.where(carrier_id: carrier_id).maximum(:manifest_no) || 0
      update!(state: "dispatched", manifest_no: last + 1)
    end
  end
end`,
    },
    {
      name: 'rails: order(desc).first + 1 after the parent row is locked',
      path: 'app/models/chapter.rb',
      code: `class Chapter < ApplicationRecord
  def self.append_to(book, title)
    transaction do
      book.lock!
      top = Chapter.where(book_id: book.id).order(ordinal: :desc).first&.ordinal.to_i
      Chapter.create!(book: book, title: title, ordinal: top + 1)
    end
  end
end`,
    },
    {
      name: 'rails: pluck.max + 1 with the unique violation retried',
      path: 'app/models/locker.rb',
      code: `class Locker < ApplicationRecord
  def self.assign(site, member)
    taken = Locker.where(site_id: site.id).pluck(:slot).max || 0
    Locker.create!(site: site, member: member, slot: taken + 1)
  rescue ActiveRecord::RecordNotUnique
    retry
  end
end`,
    },
    {
      name: 'prisma: highest number read, + 1 written onto another column of a row (not the numbered column)',
      path: 'src/leaderboard/hint.ts',
      code: `import { prisma } from '../db';
export async function setTarget(playerId: string, leagueId: string) {
  const best = await prisma.score.findFirst({ where: { leagueId }, orderBy: { points: 'desc' } });
  await prisma.player.update({ where: { id: playerId }, data: { target: (best?.points ?? 0) + 1 } });
}`,
    },
    { name: 'prisma: unique (recipeId, position)', path: 'src/recipes/steps.ts', extra: [prismaUnique], code: prismaCode },
    {
      name: 'prisma: counter column allocated atomically',
      path: 'src/recipes/steps.ts',
      code: `import { prisma } from '../db';
export async function addStep(recipeId: string, text: string) {
  return prisma.$transaction(async (tx) => {
    const recipe = await tx.recipe.update({ where: { id: recipeId }, data: { nextPosition: { increment: 1 } } });
    return tx.step.create({ data: { recipeId, text, position: recipe.nextPosition } });
  });
}`,
    },
    {
      name: 'sql: parent row locked FOR UPDATE before MAX',
      path: 'src/recipes/steps.js',
      code: `async function addStep(client, recipeId, text) {
  await client.query('BEGIN');
  await client.query('SELECT id FROM recipes WHERE id = $1 FOR UPDATE', [recipeId]);
  const { rows } = await client.query('SELECT COALESCE(MAX(position), 0) AS max FROM steps WHERE recipe_id = $1', [recipeId]);
  await client.query('INSERT INTO steps (recipe_id, position, text) VALUES ($1, $2, $3)', [recipeId, rows[0].max + 1, text]);
  await client.query('COMMIT');
}
module.exports = { addStep };`,
    },
    {
      name: 'django: MAX + 1 inside a SERIALIZABLE retry helper',
      path: 'tickets/numbers.py',
      code: `from django.db.models import Max
from .db import serializable_retry
from .models import Ticket


@serializable_retry
def open_ticket(project, title):
    last = Ticket.objects.filter(project=project).aggregate(m=Max("number"))["m"] or 0
    return Ticket.objects.create(project=project, title=title, number=last + 1)
`,
    },
    {
      name: 'ordinary code: max for display only',
      path: 'src/recipes/stats.ts',
      code: `import { prisma } from '../db';
export async function longestRecipe(recipeId: string) {
  const agg = await prisma.step.aggregate({ where: { recipeId }, _max: { position: true } });
  return (agg._max.position ?? 0) + 1;
}`,
    },
  ],
  invalid: [
    {
      name: 'rails before_create callback: self.seq = association maximum + 1, plain index on (account_id, seq)',
      path: 'app/models/invoice.rb',
      extra: [
        { path: 'db/migrate/20240301090000_add_seq_to_invoices.rb', code: `class AddSeqToInvoices < ActiveRecord::Migration[7.1]
  def change
    add_column :invoices, :seq, :integer
    add_index :invoices, [:account_id, :seq]
  end
end
` },
      ],
      code: `class Invoice < ApplicationRecord
  belongs_to :account

  before_create :assign_seq

  private

  def assign_seq
    last = account.invoices.maximum(:seq) || 0
    self.seq = last + 1
  end
end
`,
      errors: [{ mode: 'phantom_read', line: 9 }],
    },
    {
      name: 'rails before_validation on: :create: self.position = count of the day + 1, nothing unique',
      path: 'app/models/visit.rb',
      code: `class Visit < ApplicationRecord
  belongs_to :clinic

  before_validation :stamp_position, on: :create

  private

  def stamp_position
    waiting = Visit.where(clinic_id: clinic_id, day: day).count
    self.position = waiting + 1
  end
end
`,
      errors: [{ mode: 'phantom_read', line: 9 }],
    },
    {
      name: 'sqlalchemy async: helper returns coalesce(max) + 1, caller builds the row and session.add()s it, plain index',
      path: 'app/chapters/service.py',
      extra: [
        { path: 'app/chapters/models.py', code: `from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Chapter(Base):
    __tablename__ = "chapters"
    __table_args__ = (Index("ix_chapters_book_seq", "book_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"))
    seq: Mapped[int]
    title: Mapped[str]
` },
      ],
      code: `from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Chapter


async def _following_seq(session: AsyncSession, book_id: int) -> int:
    res = await session.execute(
        select(func.coalesce(func.max(Chapter.seq), 0)).where(Chapter.book_id == book_id)
    )
    return int(res.scalar_one()) + 1


async def add_chapter(session: AsyncSession, book_id: int, title: str) -> Chapter:
    async with session.begin():
        seq = await _following_seq(session, book_id)
        chapter = Chapter(book_id=book_id, seq=seq, title=title)
        session.add(chapter)
        await session.flush()
    return chapter
`,
      errors: [{ mode: 'phantom_read', line: 16 }],
    },
    {
      name: 'django: latest row by position read and its position + 1 inserted',
      path: 'signups/services.py',
      extra: [
        { path: 'signups/models.py', code: `from django.db import models


class Signup(models.Model):
    event = models.ForeignKey("Event", on_delete=models.CASCADE)
    member = models.ForeignKey("auth.User", on_delete=models.CASCADE)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
` },
      ],
      code: `from .models import Signup


def sign_up(event, member):
    latest = Signup.objects.filter(event=event).order_by("-position").first()
    position = (latest.position if latest else 0) + 1
    return Signup.objects.create(event=event, member=member, position=position)
`,
      errors: [{ mode: 'phantom_read', line: 5 }],
    },
    {
      name: 'go pgx: COALESCE(MAX(col), 0) + 1 in SQL inside a BeginFunc closure, then INSERT, plain index',
      path: 'internal/roster/bins.go',
      extra: [{ path: 'migrations/0007_bins.sql', code: `CREATE INDEX bins_rack_slot_idx ON bins (rack_id, slot_no);` }],
      code: `package roster

import (
	"context"

	"github.com/jackc/pgx/v5"
)

func (r *Repo) AddBin(ctx context.Context, b Bin) (Bin, error) {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var slot int
		if err := tx.QueryRow(ctx,
			\`SELECT COALESCE(MAX(slot_no), 0) + 1 FROM bins WHERE rack_id = \$1\`,
			b.RackID).Scan(&slot); err != nil {
			return err
		}
		b.SlotNo = slot
		return tx.QueryRow(ctx,
			\`INSERT INTO bins (rack_id, slot_no, label) VALUES (\$1, \$2, \$3) RETURNING id\`,
			b.RackID, b.SlotNo, b.Label).Scan(&b.ID)
	})
	return b, err
}
`,
      errors: [{ mode: 'phantom_read', line: 13 }],
    },
    {
      name: 'rails: maximum(:col) + 1 written onto the record itself with update!, plain index',
      path: 'app/models/shipment.rb',
      extra: [
        {
          path: 'db/migrate/20240301000000_add_manifest_no_to_shipments.rb',
          code: `class AddManifestNoToShipments < ActiveRecord::Migration[7.1]
  def change
    add_column :shipments, :manifest_no, :integer
    add_index :shipments, [:carrier_id, :manifest_no]
  end
end`,
        },
      ],
      code: `class Shipment < ApplicationRecord
  def dispatch!
    transaction do
      last = Shipment.where(carrier_id: carrier_id).maximum(:manifest_no) || 0
      update!(state: "dispatched", manifest_no: last + 1)
    end
  end
end`,
      errors: [{ mode: 'phantom_read', line: 4 }],
    },
    {
      name: 'rails: order(col: :desc).first&.col.to_i + 1 then create!',
      path: 'app/models/chapter.rb',
      code: `class Chapter < ApplicationRecord
  def self.append_to(book, title)
    transaction do
      top = Chapter.where(book_id: book.id).order(ordinal: :desc).first&.ordinal.to_i
      Chapter.create!(book: book, title: title, ordinal: top + 1)
    end
  end
end`,
      errors: [{ mode: 'phantom_read', line: 4 }],
    },
    {
      name: 'rails: pluck(:col).max + 1 then create!',
      path: 'app/models/locker.rb',
      code: `class Locker < ApplicationRecord
  def self.assign(site, member)
    taken = Locker.where(site_id: site.id).pluck(:slot).max || 0
    Locker.create!(site: site, member: member, slot: taken + 1)
  end
end`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
    {
      name: 'rails: self.col = max + 1 then save!',
      path: 'app/models/ticket_stub.rb',
      code: `class TicketStub < ApplicationRecord
  def number!
    top = TicketStub.where(show_id: show_id).maximum(:serial).to_i
    self.serial = top + 1
    save!
  end
end`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
    {
      name: 'prisma: highest number read, + 1 written onto an existing row with update',
      path: 'src/boards/number.ts',
      code: `import { prisma } from '../db';
export async function numberCard(cardId: string, boardId: string) {
  const top = await prisma.card.findFirst({ where: { boardId }, orderBy: { number: 'desc' } });
  return prisma.card.update({ where: { id: cardId }, data: { number: (top?.number ?? 0) + 1 } });
}`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
    { name: 'prisma: _max + 1 then create, plain index', path: 'src/recipes/steps.ts', extra: [prismaPlain], code: prismaCode, errors: [{ mode: 'phantom_read', line: 3 }] },
    {
      name: 'django: aggregate(Max) + 1 then create',
      path: 'tickets/numbers.py',
      code: `from django.db.models import Max
from .models import Ticket


def open_ticket(project, title):
    last = Ticket.objects.filter(project=project).aggregate(m=Max("number"))["m"] or 0
    return Ticket.objects.create(project=project, title=title, number=last + 1)
`,
      errors: [{ mode: 'phantom_read', line: 6 }],
    },
    {
      name: 'node-postgres: SELECT MAX then INSERT',
      path: 'src/recipes/steps.js',
      code: `async function addStep(pool, recipeId, text) {
  const { rows } = await pool.query('SELECT COALESCE(MAX(position), 0) AS max FROM steps WHERE recipe_id = $1', [recipeId]);
  const next = rows[0].max + 1;
  await pool.query('INSERT INTO steps (recipe_id, position, text) VALUES ($1, $2, $3)', [recipeId, next, text]);
}
module.exports = { addStep };`,
      errors: [{ mode: 'phantom_read', line: 2 }],
    },
    {
      name: 'rails: maximum(:position) + 1 then create!',
      path: 'app/models/board_column.rb',
      code: `class BoardColumn < ApplicationRecord
  def add_card!(title)
    top = cards.maximum(:position) || 0
    Card.create!(board_column: self, title: title, position: top + 1)
  end
end`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
    {
      name: 'go: MAX(seq) then INSERT',
      path: 'internal/ledger/entries.go',
      code: `package ledger

func (s *Store) Append(ctx context.Context, accountID int64, amount int64) error {
	var seq int64
	if err := s.db.QueryRowContext(ctx, \`SELECT COALESCE(MAX(seq), 0) FROM entries WHERE account_id = $1\`, accountID).Scan(&seq); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, \`INSERT INTO entries (account_id, seq, amount) VALUES ($1, $2, $3)\`, accountID, seq+1, amount)
	return err
}`,
      errors: [{ mode: 'phantom_read', line: 5 }],
    },
    {
      name: 'knex: orderBy desc first() then insert',
      path: 'src/invoices/number.ts',
      code: `import { db } from '../db';
export async function createInvoice(orgId: string, total: number) {
  const last = await db('invoices').where({ org_id: orgId }).orderBy('number', 'desc').first('number');
  const number = (last?.number ?? 0) + 1;
  return db('invoices').insert({ org_id: orgId, number, total });
}`,
      errors: [{ mode: 'phantom_read', line: 3 }],
    },
  ],
});
