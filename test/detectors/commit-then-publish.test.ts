import { describe, expect, it } from 'vitest';
import detector from '../../src/detectors/commit-then-publish.js';
import { review } from '../../src/engine/review.js';
import { newFilesDiff, runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: "Rails after_update callback publishes to RabbitMQ with Hutch inside the save's transaction",
      path: "app/models/parcel.rb",
      code: "class Parcel < ApplicationRecord\n  belongs_to :recipient\n\n  after_update :announce_shipment, if: :saved_change_to_shipped_at?\n\n  private\n\n  def announce_shipment\n    Hutch.publish(\"parcel.shipped\", parcel_id: id, recipient_id: recipient_id, shipped_at: shipped_at)\n  end\nend\n",
      errors: [{ mode: 'message_ordering', line: 9 }],
    },
    {
      name: "Rails after_create block enqueues a Sidekiq worker before the insert commits",
      path: "app/models/enrollment.rb",
      code: "class Enrollment < ApplicationRecord\n  belongs_to :course\n\n  after_create do\n    WelcomePackWorker.perform_async(id)\n  end\nend\n",
      errors: [{ mode: 'message_ordering', line: 5 }],
    },
    {
      name: "TypeORM transaction calls an injected notifier class of the diff whose method publishes with amqplib, before a check that can roll back",
      path: "src/plots/plot.service.ts",
      code: "import { Injectable } from '@nestjs/common';\nimport { DataSource } from 'typeorm';\nimport { PlotNotifier } from '../messaging/plot-notifier';\nimport { Plot } from './plot.entity';\n\n@Injectable()\nexport class PlotService {\n  constructor(\n    private readonly dataSource: DataSource,\n    private readonly notifier: PlotNotifier,\n  ) {}\n\n  async assign(plotId: number, gardenerId: number): Promise<void> {\n    await this.dataSource.transaction(async (manager) => {\n      await manager.update(Plot, { id: plotId }, { gardenerId });\n      await this.notifier.plotAssigned(plotId, gardenerId);\n      const plots = await manager.countBy(Plot, { gardenerId });\n      if (plots > 2) throw new Error('a gardener holds at most two plots');\n    });\n  }\n}\n",
      extra: [{"path": "src/messaging/plot-notifier.ts", "code": "import * as amqp from 'amqplib';\n\nexport class PlotNotifier {\n  constructor(private readonly channel: amqp.ConfirmChannel) {}\n\n  async plotAssigned(plotId: number, gardenerId: number): Promise<void> {\n    this.channel.publish('garden', 'plot.assigned', Buffer.from(JSON.stringify({ plotId, gardenerId })));\n    await this.channel.waitForConfirms();\n  }\n}\n"}],
      errors: [{ mode: 'message_ordering', line: 15 }],
    },
    {
      name: 'django @transaction.atomic body calls a module helper that publishes to RabbitMQ (broadcast.announce)',
      path: 'greenhouse/services.py',
      code: "from django.db import transaction\n\nfrom . import broadcast\nfrom .models import Seedling, Tray\n\n\n@transaction.atomic\ndef transplant(tray_id, count):\n    tray = Tray.objects.select_for_update().get(pk=tray_id)\n    seedlings = Seedling.objects.create(tray=tray, count=count)\n    tray.free_cells -= count\n    tray.save(update_fields=[\"free_cells\"])\n    broadcast.announce(\"seedling.transplanted\", {\"tray\": tray.pk, \"batch\": seedlings.pk})\n    tray.refresh_from_db()\n    return seedlings\n",
      extra: [{ path: "greenhouse/broadcast.py", code: "import json\n\nfrom kombu import Connection, Exchange, Producer\n\nplant_events = Exchange(\"plant.events\", type=\"topic\")\n\n\ndef announce(routing_key, data):\n    with Connection(\"amqp://broker\") as conn:\n        producer = Producer(conn.channel(), exchange=plant_events)\n        producer.publish(json.dumps(data), routing_key=routing_key)\n" }],
      errors: [{ mode: 'message_ordering', line: 13 }],
    },
    {
      name: 'fastapi db session: task queued after db.add/flush, before db.commit()',
      path: 'kennel/api/intake.py',
      code: `@router.post("/intakes")
def register_intake(body: IntakeIn, db: Session = Depends(get_db)):
    intake = Intake(shelter_id=body.shelter_id, species=body.species)
    db.add(intake)
    db.flush()
    schedule_vet_check.apply_async(args=[intake.id])
    db.commit()
    return intake
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'kafka produce inside a knex transaction after the insert',
      path: 'src/orders/place.ts',
      code: `export async function placeOrder(order: NewOrder) {
  return db.transaction(async (trx) => {
    const [row] = await trx('orders').insert(order).returning('*');
    await producer.send({ topic: 'orders.placed', messages: [{ key: row.id, value: JSON.stringify(row) }] });
    return row;
  });
}
`,
      errors: [{ mode: 'message_ordering', line: 4 }],
    },
    {
      name: 'rails enqueues a sidekiq job inside the transaction',
      path: 'app/services/signup.rb',
      code: `class Signup
  def call(params)
    ActiveRecord::Base.transaction do
      user = User.create!(params)
      WelcomeJob.perform_async(user.id)
    end
  end
end
`,
      errors: [{ mode: 'message_ordering', line: 5 }],
    },
    {
      name: 'django saves then publishes to the broker without an outbox',
      path: 'shipping/services.py',
      code: `def dispatch(shipment):
    shipment.status = "dispatched"
    shipment.save()
    producer.send("shipments", {"id": shipment.id, "status": "dispatched"})
`,
      errors: [{ mode: 'message_ordering', line: 4 }],
    },
    {
      name: 'helper creates the row and enqueues; the caller runs it inside transaction.atomic()',
      path: 'billing/receipts.py',
      extra: [
        {
          path: 'billing/checkout.py',
          code: `from django.db import transaction

from .receipts import issue_receipt


def complete_checkout(cart):
    with transaction.atomic():
        cart.status = "paid"
        cart.save(update_fields=["status"])
        issue_receipt(cart)
    return cart
`,
        },
      ],
      code: `from .models import Receipt
from .tasks import email_receipt


def issue_receipt(cart):
    receipt = Receipt.objects.create(cart=cart, total=cart.total)
    email_receipt.delay(receipt.id)
`,
      errors: [{ mode: 'message_ordering', line: 7 }],
    },
    {
      name: 'bullmq enqueue inside a prisma $transaction after the update',
      path: 'src/returns/approve.ts',
      code: `export async function approveReturn(id: string) {
  await prisma.$transaction(async (tx) => {
    await tx.returnRequest.update({ where: { id }, data: { status: 'approved' } });
    await refundQueue.add('refund', { returnId: id });
  });
}
`,
      errors: [{ mode: 'message_ordering', line: 4 }],
    },
    {
      name: 'helper enqueues; a knex transaction in another file calls it after its write',
      path: 'src/fleet/announce.ts',
      extra: [
        {
          path: 'src/fleet/assign.ts',
          code: `import { announceAssignment } from './announce';

export async function assignVehicle(vehicleId: string, driverId: string) {
  await db.transaction(async (trx) => {
    await trx('vehicles').where({ id: vehicleId }).update({ driver_id: driverId });
    await announceAssignment(vehicleId, driverId);
  });
}
`,
        },
      ],
      code: `export async function announceAssignment(vehicleId: string, driverId: string) {
  await dispatchQueue.add('assigned', { vehicleId, driverId });
}
`,
      errors: [{ mode: 'message_ordering', line: 2 }],
    },
    {
      name: 'sequelize unmanaged transaction publishes before t.commit()',
      path: 'src/payouts/create.ts',
      code: `export async function createPayout(input: PayoutInput) {
  const t = await sequelize.transaction();
  const payout = await Payout.create(input, { transaction: t });
  await producer.send({ topic: 'payouts.created', messages: [{ key: payout.id, value: JSON.stringify(payout) }] });
  await t.commit();
  return payout;
}
`,
      errors: [{ mode: 'message_ordering', line: 4 }],
    },
    {
      name: 'sqlalchemy session: enqueue between the add and session.commit()',
      path: 'app/services/invoices.py',
      code: `def finalize_invoice(session, invoice_id):
    invoice = session.get(Invoice, invoice_id)
    invoice.state = "final"
    session.add(invoice)
    session.flush()
    render_invoice_pdf.delay(invoice.id)
    session.commit()
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'rails enqueues a Sidekiq job inside with_lock',
      path: 'app/services/close_account.rb',
      code: `class CloseAccount
  def call(account)
    account.with_lock do
      account.update!(state: "closed")
      AccountClosedWorker.perform_async(account.id)
    end
  end
end
`,
      errors: [{ mode: 'message_ordering', line: 5 }],
    },
    {
      name: 'go database/sql commit, then a sarama SyncProducer send whose failure is only logged',
      path: 'internal/transfers/service.go',
      code: `package transfers

func (s *Service) MoveStock(ctx context.Context, binFrom, binTo int64, qty int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, \`UPDATE bins SET qty = qty - $1 WHERE id = $2\`, qty, binFrom); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, _, err := s.producer.SendMessage(&sarama.ProducerMessage{
		Topic: "stock.moved",
		Value: sarama.StringEncoder(fmt.Sprint(binFrom)),
	}); err != nil {
		s.log.Warn("stock moved event not sent", "err", err)
	}
	return nil
}
`,
      errors: [{ mode: 'message_ordering', line: 12 }],
    },
    {
      name: 'go pgx commit, then a kafka-go writer whose error is discarded',
      path: 'internal/tickets/close.go',
      code: `package tickets

func (s *Store) Close(ctx context.Context, id int64) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, \`UPDATE tickets SET closed_at = now() WHERE id = $1\`, id); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_ = s.writer.WriteMessages(ctx, kafka.Message{Key: []byte(strconv.FormatInt(id, 10))})
	return nil
}
`,
      errors: [{ mode: 'message_ordering', line: 15 }],
    },
  ],
  valid: [
    {
      name: "fixed twin: after_update_commit publishes only once the save has committed",
      path: "app/models/parcel.rb",
      code: "class Parcel < ApplicationRecord\n  belongs_to :recipient\n\n  after_update_commit :announce_shipment, if: :saved_change_to_shipped_at?\n\n  private\n\n  def announce_shipment\n    Hutch.publish(\"parcel.shipped\", parcel_id: id, recipient_id: recipient_id, shipped_at: shipped_at)\n  end\nend\n",
    },
    {
      name: "fixed twin: after_create_commit block enqueues after the commit",
      path: "app/models/enrollment.rb",
      code: "class Enrollment < ApplicationRecord\n  belongs_to :course\n\n  after_create_commit do\n    WelcomePackWorker.perform_async(id)\n  end\nend\n",
    },
    {
      name: "fixed twin: the transaction writes an outbox row instead of publishing",
      path: "src/plots/plot.service.ts",
      code: "import { Injectable } from '@nestjs/common';\nimport { DataSource } from 'typeorm';\nimport { PlotNotifier } from '../messaging/plot-notifier';\nimport { OutboxMessage } from '../outbox/outbox-message.entity';\nimport { Plot } from './plot.entity';\n\n@Injectable()\nexport class PlotService {\n  constructor(\n    private readonly dataSource: DataSource,\n    private readonly notifier: PlotNotifier,\n  ) {}\n\n  async assign(plotId: number, gardenerId: number): Promise<void> {\n    await this.dataSource.transaction(async (manager) => {\n      await manager.update(Plot, { id: plotId }, { gardenerId });\n      await manager.insert(OutboxMessage, { topic: 'plot.assigned', payload: { plotId, gardenerId } });\n      const plots = await manager.countBy(Plot, { gardenerId });\n      if (plots > 2) throw new Error('a gardener holds at most two plots');\n    });\n  }\n}\n",
      extra: [{"path": "src/messaging/plot-notifier.ts", "code": "import * as amqp from 'amqplib';\n\nexport class PlotNotifier {\n  constructor(private readonly channel: amqp.ConfirmChannel) {}\n\n  async plotAssigned(plotId: number, gardenerId: number): Promise<void> {\n    this.channel.publish('garden', 'plot.assigned', Buffer.from(JSON.stringify({ plotId, gardenerId })));\n    await this.channel.waitForConfirms();\n  }\n}\n"}],
    },
    {
      name: 'fixed twin: the module helper publishes from transaction.on_commit',
      path: 'greenhouse/services.py',
      code: "from django.db import transaction\n\nfrom . import broadcast\nfrom .models import Seedling, Tray\n\n\n@transaction.atomic\ndef transplant(tray_id, count):\n    tray = Tray.objects.select_for_update().get(pk=tray_id)\n    seedlings = Seedling.objects.create(tray=tray, count=count)\n    tray.free_cells -= count\n    tray.save(update_fields=[\"free_cells\"])\n    transaction.on_commit(lambda: broadcast.announce(\"seedling.transplanted\", {\"tray\": tray.pk, \"batch\": seedlings.pk}))\n    tray.refresh_from_db()\n    return seedlings\n",
      extra: [{ path: "greenhouse/broadcast.py", code: "import json\n\nfrom kombu import Connection, Exchange, Producer\n\nplant_events = Exchange(\"plant.events\", type=\"topic\")\n\n\ndef announce(routing_key, data):\n    with Connection(\"amqp://broker\") as conn:\n        producer = Producer(conn.channel(), exchange=plant_events)\n        producer.publish(json.dumps(data), routing_key=routing_key)\n" }],
    },
    {
      name: 'fixed twin: fastapi db session queues the task after db.commit()',
      path: 'kennel/api/intake.py',
      code: `@router.post("/intakes")
def register_intake(body: IntakeIn, db: Session = Depends(get_db)):
    intake = Intake(shelter_id=body.shelter_id, species=body.species)
    db.add(intake)
    db.commit()
    schedule_vet_check.apply_async(args=[intake.id])
    return intake
`,
    },
    {
      name: 'a hash update is not a database write',
      path: 'src/events/sign.ts',
      code: `export async function emitSigned(evt: Evt) {
  const sig = createHmac('sha256', key).update(JSON.stringify(evt)).digest('hex');
  await producer.send({ topic: 'events', messages: [{ value: JSON.stringify({ evt, sig }) }] });
}
`,
    },
    {
      name: 'fixed twin: outbox row in the same transaction',
      path: 'src/orders/place.ts',
      code: `export async function placeOrder(order: NewOrder) {
  return db.transaction(async (trx) => {
    const [row] = await trx('orders').insert(order).returning('*');
    await trx('outbox').insert({ topic: 'orders.placed', key: row.id, payload: JSON.stringify(row) });
    return row;
  });
}
`,
    },
    {
      name: 'fixed twin: enqueue after commit',
      path: 'app/services/signup.rb',
      code: `class Signup
  def call(params)
    user = ActiveRecord::Base.transaction do
      User.create!(params)
    end
    WelcomeJob.perform_async(user.id)
  end
end
`,
    },
    {
      name: 'fixed twin: publish deferred with transaction.on_commit into an outbox relay',
      path: 'shipping/services.py',
      code: `def dispatch(shipment):
    with transaction.atomic():
        shipment.status = "dispatched"
        shipment.save()
        transaction.on_commit(lambda: producer.send("shipments", {"id": shipment.id}))
`,
    },
    {
      name: 'job enqueued after a committed write is not a broker publish',
      path: 'src/fleet/drain.ts',
      code: `export async function drain(nodeId: string) {
  await db('nodes').where({ id: nodeId }).update({ state: 'draining' });
  await evictions.add('evict', { nodeId });
}
`,
    },
    {
      name: 'fixed twin: the caller defers the helper with transaction.on_commit',
      path: 'billing/receipts.py',
      extra: [
        {
          path: 'billing/checkout.py',
          code: `from django.db import transaction

from .receipts import issue_receipt


def complete_checkout(cart):
    with transaction.atomic():
        cart.status = "paid"
        cart.save(update_fields=["status"])
        transaction.on_commit(lambda: issue_receipt(cart))
    return cart
`,
        },
      ],
      code: `from .models import Receipt
from .tasks import email_receipt


def issue_receipt(cart):
    receipt = Receipt.objects.create(cart=cart, total=cart.total)
    email_receipt.delay(receipt.id)
`,
    },
    {
      name: 'fixed twin: enqueue after the prisma $transaction resolves',
      path: 'src/returns/approve.ts',
      code: `export async function approveReturn(id: string) {
  await prisma.$transaction(async (tx) => {
    await tx.returnRequest.update({ where: { id }, data: { status: 'approved' } });
  });
  await refundQueue.add('refund', { returnId: id });
}
`,
    },
    {
      name: 'fixed twin: the knex transaction resolves before the helper enqueues',
      path: 'src/fleet/announce.ts',
      extra: [
        {
          path: 'src/fleet/assign.ts',
          code: `import { announceAssignment } from './announce';

export async function assignVehicle(vehicleId: string, driverId: string) {
  await db.transaction(async (trx) => {
    await trx('vehicles').where({ id: vehicleId }).update({ driver_id: driverId });
  });
  await announceAssignment(vehicleId, driverId);
}
`,
        },
      ],
      code: `export async function announceAssignment(vehicleId: string, driverId: string) {
  await dispatchQueue.add('assigned', { vehicleId, driverId });
}
`,
    },
    {
      name: 'fixed twin: publish after t.commit()',
      path: 'src/payouts/create.ts',
      code: `export async function createPayout(input: PayoutInput) {
  const t = await sequelize.transaction();
  const payout = await Payout.create(input, { transaction: t });
  await t.commit();
  await producer.send({ topic: 'payouts.created', messages: [{ key: payout.id, value: JSON.stringify(payout) }] });
  return payout;
}
`,
    },
    {
      name: 'fixed twin: publish after the knex transaction callback resolves',
      path: 'src/orders/place.ts',
      code: `export async function placeOrder(order: NewOrder) {
  const row = await db.transaction(async (trx) => {
    const [created] = await trx('orders').insert(order).returning('*');
    return created;
  });
  await producer.send({ topic: 'orders.placed', messages: [{ key: row.id, value: JSON.stringify(row) }] });
  return row;
}
`,
    },
    {
      name: 'fixed twin: sqlalchemy enqueue after session.commit()',
      path: 'app/services/invoices.py',
      code: `def finalize_invoice(session, invoice_id):
    invoice = session.get(Invoice, invoice_id)
    invoice.state = "final"
    session.add(invoice)
    session.commit()
    render_invoice_pdf.delay(invoice.id)
`,
    },
    {
      name: 'ActiveJob mailer inside a Rails transaction: deferred until commit since Rails 7.2',
      path: 'app/services/transfer_seat.rb',
      code: `class TransferSeat
  def call(seat, holder)
    Seat.transaction do
      seat.update!(holder: holder)
      SeatMailer.with(seat_id: seat.id).transferred.deliver_later
    end
  end
end
`,
    },
    {
      name: 'fixed twin: Sidekiq job enqueued after the lock block',
      path: 'app/services/close_account.rb',
      code: `class CloseAccount
  def call(account)
    account.with_lock do
      account.update!(state: "closed")
    end
    AccountClosedWorker.perform_async(account.id)
  end
end
`,
    },
    {
      name: 'fixed twin: rails mailer enqueued after the lock block',
      path: 'app/services/close_account.rb',
      code: `class CloseAccount
  def call(account)
    account.with_lock do
      account.update!(state: "closed")
    end
    AccountMailer.closed(account).deliver_later
  end
end
`,
    },
    {
      name: 'fixed twin: go stock move writes the event to an outbox table in the same transaction',
      path: 'internal/transfers/service.go',
      code: `package transfers

func (s *Service) MoveStock(ctx context.Context, binFrom, binTo int64, qty int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, \`UPDATE bins SET qty = qty - $1 WHERE id = $2\`, qty, binFrom); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, \`INSERT INTO outbox (topic, payload) VALUES ('stock.moved', $1)\`, binFrom); err != nil {
		return err
	}
	return tx.Commit()
}
`,
    },
    {
      name: 'fixed twin: go ticket close records the event in an outbox row relayed later',
      path: 'internal/tickets/close.go',
      code: `package tickets

func (s *Store) Close(ctx context.Context, id int64) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, \`UPDATE tickets SET closed_at = now() WHERE id = $1\`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, \`INSERT INTO event_outbox (kind, ref) VALUES ('ticket.closed', $1)\`, id); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
`,
    },
  ],
});

describe('commit-then-publish titles', () => {
  it('name the publish call, not the `if` or the assignment around it, and the function, not a hunk region', async () => {
    const diff = newFilesDiff([
      {
        path: 'internal/routing/assign.go',
        code: `package routing

func (s *Service) Assign(ctx context.Context, courier, parcel int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, \`UPDATE parcels SET courier_id = $1 WHERE id = $2\`, courier, parcel); err != nil {
		return err
	}
	if _, err := s.js.Publish("parcel.assigned", []byte(fmt.Sprint(parcel))); err != nil {
		return err
	}
	return tx.Commit()
}
`,
      },
    ]);
    const [c] = (await review(diff, { detectors: [detector] })).candidates;
    expect(c?.title).toMatch(/^Assign publishes s\.js\.Publish inside the transaction/);
  });
});

describe('commit-then-publish with a hidden @transaction.atomic body', () => {
  const diff = (deferred: boolean) => `diff --git a/kitchen/services.py b/kitchen/services.py
index 1111111..2222222 100644
--- a/kitchen/services.py
+++ b/kitchen/services.py
@@ -20,6 +20,7 @@ from .tasks import print_ticket
 
 
 @transaction.atomic
 def close_order(order, *, waiter):
     order = Order.objects.select_for_update().get(pk=order.pk)
     if order.state != Order.State.OPEN:
         raise ValueError("not open")
@@ -40,4 +41,5 @@ def close_order(order, *, waiter):
         waiter=waiter,
         total=order.total,
     )
+${deferred ? '    transaction.on_commit(lambda: print_ticket.delay(order.pk))' : '    print_ticket.delay(order.pk)'}
     return order
`;
  it('flags a .delay() added to a decorated body whose writes the diff hides', async () => {
    const out = await review(diff(false), { detectors: [detector] });
    expect(out.candidates.map((c) => [c.failureMode, c.endLine])).toEqual([['message_ordering', 44]]);
  });
  it('stays quiet when the enqueue is deferred with transaction.on_commit', async () => {
    const out = await review(diff(true), { detectors: [detector] });
    expect(out.candidates).toEqual([]);
  });
});
