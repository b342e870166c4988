import detector from '../../src/detectors/non-idempotent-consumer.js';
import { runTable } from './tester.js';

const loyaltyJob = (claimed: boolean) => `class LoyaltyPointsJob
  include Sidekiq::Job

  def perform(event)
    ActiveRecord::Base.transaction do
${claimed ? '      LoyaltyEventReceipt.create!(event_id: event.fetch("id"))\n' : ''}      Member.where(id: event["member_id"]).update_counters(points: event["points"])
    end
${claimed ? '  rescue ActiveRecord::RecordNotUnique\n    logger.info("duplicate loyalty event #{event[\'id\']}")\n' : ''}  end
end
`;

const loyaltyMigration = {
  path: 'db/migrate/20240801000000_create_loyalty_event_receipts.rb',
  code: `class CreateLoyaltyEventReceipts < ActiveRecord::Migration[7.1]
  def change
    create_table :loyalty_event_receipts do |t|
      t.string :event_id, null: false
    end
    add_index :loyalty_event_receipts, :event_id, unique: true
  end
end
`,
};

runTable(detector, {
  invalid: [
    {
      name: "Go sarama ConsumeClaim calls a method of the file that adds the message's karma with SET n = n + $1 and no claim",
      path: "internal/reviews/consumer.go",
      code: "package reviews\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n\t\"encoding/json\"\n\n\t\"github.com/IBM/sarama\"\n)\n\ntype Review struct {\n\tReviewID string `json:\"review_id\"`\n\tAuthorID int64  `json:\"author_id\"`\n\tKarma    int    `json:\"karma\"`\n}\n\ntype Handler struct{ db *sql.DB }\n\nfunc (h *Handler) Setup(sarama.ConsumerGroupSession) error   { return nil }\nfunc (h *Handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }\n\nfunc (h *Handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {\n\tfor msg := range claim.Messages() {\n\t\tvar r Review\n\t\tif err := json.Unmarshal(msg.Value, &r); err != nil {\n\t\t\tsess.MarkMessage(msg, \"\")\n\t\t\tcontinue\n\t\t}\n\t\tif err := h.credit(sess.Context(), r); err != nil {\n\t\t\treturn err\n\t\t}\n\t\tsess.MarkMessage(msg, \"\")\n\t}\n\treturn nil\n}\n\nfunc (h *Handler) credit(ctx context.Context, r Review) error {\n\ttx, err := h.db.BeginTx(ctx, nil)\n\tif err != nil {\n\t\treturn err\n\t}\n\tdefer tx.Rollback()\n\tif _, err := tx.ExecContext(ctx, `UPDATE authors SET karma = karma + $1 WHERE id = $2`, r.Karma, r.AuthorID); err != nil {\n\t\treturn err\n\t}\n\treturn tx.Commit()\n}\n",
      errors: [{ mode: 'message_ordering', line: 43 }],
    },
    {
      name: "Go kafka-go ReadMessage loop moves a GORM counter with gorm.Expr(\"on_hand - ?\") per delivery",
      path: "internal/stock/consumer.go",
      code: "package stock\n\nimport (\n\t\"context\"\n\t\"encoding/json\"\n\n\t\"github.com/segmentio/kafka-go\"\n\t\"gorm.io/gorm\"\n)\n\ntype Picked struct {\n\tSKU string `json:\"sku\"`\n\tQty int    `json:\"qty\"`\n}\n\nfunc Consume(ctx context.Context, r *kafka.Reader, db *gorm.DB) error {\n\tfor {\n\t\tm, err := r.ReadMessage(ctx)\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t\tvar o Picked\n\t\tif err := json.Unmarshal(m.Value, &o); err != nil {\n\t\t\tcontinue\n\t\t}\n\t\tdb.WithContext(ctx).Model(&Bin{}).Where(\"id = ?\", o.SKU).Update(\"on_hand\", gorm.Expr(\"on_hand - ?\", o.Qty))\n\t}\n}\n",
      errors: [{ mode: 'message_ordering', line: 26 }],
    },
    {
      name: "kafkajs handler typed EachMessagePayload calls a helper of the file that increments a knex counter per delivery",
      path: "src/consumers/orderPaid.ts",
      code: "import type { Knex } from 'knex';\nimport type { EachMessagePayload } from 'kafkajs';\n\nexport async function stampCard(db: Knex, order: { orderId: string; cardId: number; cups: number }): Promise<void> {\n  await db.transaction(async (trx) => {\n    await trx('stamp_cards').where({ id: order.cardId }).increment('stamps', order.cups);\n    await trx('stamp_history').insert({ card_id: order.cardId, order_id: order.orderId, cups: order.cups });\n  });\n}\n\nexport function orderPaidHandler(db: Knex) {\n  return async ({ message }: EachMessagePayload): Promise<void> => {\n    if (!message.value) return;\n    await stampCard(db, JSON.parse(message.value.toString()));\n  };\n}\n",
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: "eachMessage calls a repository method of the diff that runs SET n = n + $2 with nothing keyed on the message",
      path: "src/consumers/workout.consumer.ts",
      code: "import { MinutesRepo } from '../gym/minutes.repo';\nimport { kafka } from '../kafka';\nimport { pool } from '../db';\n\nexport async function startWorkoutConsumer() {\n  const repo = new MinutesRepo(pool);\n  const consumer = kafka.consumer({ groupId: 'gym-minutes' });\n  await consumer.run({\n    eachMessage: async ({ message }) => {\n      const w = JSON.parse(message.value!.toString());\n      await repo.addMinutes(w.memberId, w.minutes);\n    },\n  });\n}\n",
      extra: [{ path: "src/gym/minutes.repo.ts", code: "import type { Pool } from 'pg';\n\nexport class MinutesRepo {\n  constructor(private readonly pool: Pool) {}\n\n  async addMinutes(memberId: number, minutes: number): Promise<void> {\n    await this.pool.query(\n      `UPDATE gym_members SET active_minutes = active_minutes + $2 WHERE id = $1`,\n      [memberId, minutes],\n    );\n  }\n}\n" }],
      errors: [{ mode: 'message_ordering', line: 11 }],
    },
    {
      name: "activejob sends mailers with no claim before them",
      path: "app/jobs/tasting_invite_job.rb",
      code: "class TastingInviteJob < ApplicationJob\n  queue_as :default\n\n  def perform(tasting_id)\n    tasting = Tasting.find_by(id: tasting_id)\n    return if tasting.nil?\n\n    tasting.guests.each { |guest| TastingMailer.invite(guest, tasting).deliver_later }\n  end\nend\n",
      extra: [{ path: "app/models/tasting.rb", code: "class Tasting < ApplicationRecord\n  has_many :guests\n\n  def claim_invites!\n    Tasting.where(id: id, invites_sent_at: nil).update_all(invites_sent_at: Time.current) == 1\n  end\nend\n" }],
      errors: [{ mode: 'message_ordering', line: 8 }],
    },
    {
      name: 'celery task retried on a partner error inserts a row, then calls the partner imported by the module',
      path: 'shipping/tasks.py',
      code: `import logging

from celery import shared_task

from .courier import CourierError, courier
from .models import Parcel, ShippingLabel


@shared_task(bind=True, autoretry_for=(CourierError,), retry_backoff=True, max_retries=4)
def book_pickup(self, parcel_id):
    parcel = Parcel.objects.get(pk=parcel_id)
    label = ShippingLabel.objects.create(
        parcel=parcel,
        weight_g=parcel.weight_g,
    )
    courier.book(parcel.address, reference=label.code)
    parcel.booked = True
    parcel.save(update_fields=["booked"])
`,
      errors: [{ mode: 'message_ordering', line: 13 }],
    },
    { name: 'celery task with a multi-line retry decorator refunds each item through Stripe, marks them all at the end', path: 'claims/tasks.py', code: `import stripe
from celery import shared_task

from claims.models import Claim


@shared_task(
    bind=True,
    autoretry_for=(stripe.error.APIConnectionError,),
    retry_backoff=True,
    max_retries=5,
)
def refund_approved_claims(self, batch_id):
    claims = list(Claim.objects.filter(batch_id=batch_id, state="approved"))
    refunded = []
    for claim in claims:
        refund = stripe.Refund.create(
            payment_intent=claim.payment_intent_id,
        )
        refunded.append((claim.pk, refund.id))
    for claim_id, refund_id in refunded:
        Claim.objects.filter(pk=claim_id).update(state="refunded", refund_id=refund_id)
`, errors: [{ mode: 'message_ordering', line: 17 }] },
    {
      name: 'sidekiq job moves a counter by the event amount with nothing keyed on the event',
      path: 'app/jobs/loyalty_points_job.rb',
      code: loyaltyJob(false),
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'bullmq worker emails, then marks the invoice; attempts: 3',
      path: 'src/workers/invoiceMailer.ts',
      code: `import { Worker } from 'bullmq';
import { db } from '../db';
import { mailer } from '../mail';

export const invoiceMailer = new Worker(
  'invoice-mail',
  async (job) => {
    const invoice = await db.invoice.findUnique({ where: { id: job.data.invoiceId } });
    await mailer.sendInvoice({ to: invoice.email, invoice });
    await db.invoice.update({ where: { id: invoice.id }, data: { mailedAt: new Date() } });
  },
  { connection, settings: { attempts: 3 } },
);
`,
      errors: [{ mode: 'message_ordering', line: 9 }],
    },
    {
      name: 'celery task with autoretry charges, then saves',
      path: 'billing/tasks.py',
      code: `from celery import shared_task
import stripe

@shared_task(autoretry_for=(ConnectionError,), max_retries=5)
def charge_subscription(subscription_id):
    sub = Subscription.objects.get(pk=subscription_id)
    stripe.PaymentIntent.create(amount=sub.amount, customer=sub.customer_ref, confirm=True)
    sub.last_charged_at = timezone.now()
    sub.save()
`,
      errors: [{ mode: 'message_ordering', line: 7 }],
    },
    {
      name: 'sidekiq job sends the welcome mail, then flags the user',
      path: 'app/jobs/welcome_job.rb',
      code: `class WelcomeJob
  include Sidekiq::Job

  def perform(user_id)
    user = User.find(user_id)
    UserMailer.welcome(user).deliver_now
    user.update!(welcomed_at: Time.current)
  end
end
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'kafkajs consumer credits a driver wallet with knex increment, nothing keyed on the ride',
      path: 'src/consumers/ride-finished.ts',
      code: `import type { Kafka } from 'kafkajs';
import { knex } from '../db';

export async function startRideFinished(kafka: Kafka) {
  const consumer = kafka.consumer({ groupId: 'wallet-ride-finished' });
  await consumer.subscribe({ topic: 'rides.finished' });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const ride = JSON.parse(message.value!.toString());
      await knex.transaction(async (trx) => {
        await trx('driver_wallets')
          .where({ driver_id: ride.driverId })
          .increment('balance_cents', ride.fareCents);
        await trx('wallet_entries').insert({ driver_id: ride.driverId, ride_id: ride.id, amount_cents: ride.fareCents });
      });
    },
  });
}
`,
      errors: [{ mode: 'message_ordering', line: 11 }],
    },
    {
      name: 'amqplib consumer decrements stock with SET qty = qty - $1',
      path: 'src/consumers/reservations.js',
      code: `const { pool } = require('../db');

async function startReservationConsumer(ch) {
  await ch.consume('warehouse.reserved', async (msg) => {
    const evt = JSON.parse(msg.content.toString());
    await pool.query('UPDATE bins SET qty = qty - $1 WHERE sku = $2', [evt.qty, evt.sku]);
    ch.ack(msg);
  });
}

module.exports = { startReservationConsumer };
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'bullmq worker adds usage with a prisma increment',
      path: 'src/workers/usage.ts',
      code: `import { Worker } from 'bullmq';
import { prisma } from '../db';

export const usageWorker = new Worker(
  'api-usage',
  async (job) => {
    await prisma.subscription.update({
      where: { id: job.data.subscriptionId },
      data: { callsUsed: { increment: job.data.calls } },
    });
  },
  { connection },
);
`,
      errors: [{ mode: 'message_ordering', line: 7 }],
    },
    {
      name: 'celery task with retries adds miles with F() + n',
      path: 'rewards/tasks.py',
      code: `from celery import shared_task
from django.db.models import F

@shared_task(autoretry_for=(OperationalError,), max_retries=3)
def credit_miles(member_id, flight_id, miles):
    Member.objects.filter(pk=member_id).update(miles=F("miles") + miles)
    MileEntry.objects.create(member_id=member_id, flight_id=flight_id, miles=miles)
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'sidekiq job bumps a counter with increment!',
      path: 'app/jobs/referral_bonus_job.rb',
      code: `class ReferralBonusJob
  include Sidekiq::Job

  def perform(referrer_id, signup_id)
    referrer = User.find(referrer_id)
    referrer.increment!(:bonus_credits, 5)
  end
end
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'aiokafka loop hands each message to a method that adds points with no claim on the message',
      path: 'cafe/loyalty/stream.py',
      code: `from aiokafka import AIOKafkaConsumer


class StampReader:
    def __init__(self, pool, consumer: AIOKafkaConsumer):
        self._pool = pool
        self._consumer = consumer

    async def run(self):
        async for record in self._consumer:
            await self.apply(record)
            await self._consumer.commit()

    async def apply(self, record):
        purchase = Purchase.parse_raw(record.value)
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE loyalty_cards SET stamps = stamps + $1 WHERE member_id = $2",
                purchase.cups,
                purchase.member_id,
            )
`,
      errors: [{ mode: 'message_ordering', line: 18 }],
    },
    {
      name: 'confluent-kafka poll loop calls a function that accumulates with ON CONFLICT DO UPDATE',
      path: 'metering/ingest.py',
      code: `from confluent_kafka import Consumer


def add_usage(conn, evt):
    with conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO tenant_usage (tenant_id, day, api_calls)
            VALUES (%s, %s, %s)
            ON CONFLICT (tenant_id, day)
            DO UPDATE SET api_calls = tenant_usage.api_calls + EXCLUDED.api_calls
            """,
            (evt["tenant"], evt["day"], evt["calls"]),
        )
    conn.commit()


def serve(conn, consumer: Consumer):
    while True:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        add_usage(conn, json.loads(msg.value()))
        consumer.commit(msg)
`,
      errors: [{ mode: 'message_ordering', line: 11 }],
    },
  ],
  valid: [
    {
      name: "Go sarama consumer claims the review id with INSERT \u2026 ON CONFLICT DO NOTHING and skips the counter when no row was inserted",
      path: "internal/reviews/consumer.go",
      code: "package reviews\n\nimport (\n\t\"context\"\n\t\"database/sql\"\n\t\"encoding/json\"\n\n\t\"github.com/IBM/sarama\"\n)\n\ntype Review struct {\n\tReviewID string `json:\"review_id\"`\n\tAuthorID int64  `json:\"author_id\"`\n\tKarma    int    `json:\"karma\"`\n}\n\ntype Handler struct{ db *sql.DB }\n\nfunc (h *Handler) Setup(sarama.ConsumerGroupSession) error   { return nil }\nfunc (h *Handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }\n\nfunc (h *Handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {\n\tfor msg := range claim.Messages() {\n\t\tvar r Review\n\t\tif err := json.Unmarshal(msg.Value, &r); err != nil {\n\t\t\tsess.MarkMessage(msg, \"\")\n\t\t\tcontinue\n\t\t}\n\t\tif err := h.credit(sess.Context(), r); err != nil {\n\t\t\treturn err\n\t\t}\n\t\tsess.MarkMessage(msg, \"\")\n\t}\n\treturn nil\n}\n\nfunc (h *Handler) credit(ctx context.Context, r Review) error {\n\ttx, err := h.db.BeginTx(ctx, nil)\n\tif err != nil {\n\t\treturn err\n\t}\n\tdefer tx.Rollback()\n\tres, err := tx.ExecContext(ctx, `INSERT INTO applied_reviews (review_id) VALUES ($1) ON CONFLICT (review_id) DO NOTHING`, r.ReviewID)\n\tif err != nil {\n\t\treturn err\n\t}\n\tif n, _ := res.RowsAffected(); n == 0 {\n\t\treturn tx.Commit()\n\t}\n\tif _, err := tx.ExecContext(ctx, `UPDATE authors SET karma = karma + $1 WHERE id = $2`, r.Karma, r.AuthorID); err != nil {\n\t\treturn err\n\t}\n\treturn tx.Commit()\n}\n",
    },
    {
      name: "Go kafka-go loop's GORM counter is conditional on a state column in the same statement",
      path: "internal/stock/consumer.go",
      code: "package stock\n\nimport (\n\t\"context\"\n\t\"encoding/json\"\n\n\t\"github.com/segmentio/kafka-go\"\n\t\"gorm.io/gorm\"\n)\n\ntype Picked struct {\n\tSKU string `json:\"sku\"`\n\tQty int    `json:\"qty\"`\n}\n\nfunc Consume(ctx context.Context, r *kafka.Reader, db *gorm.DB) error {\n\tfor {\n\t\tm, err := r.ReadMessage(ctx)\n\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n\t\tvar o Picked\n\t\tif err := json.Unmarshal(m.Value, &o); err != nil {\n\t\t\tcontinue\n\t\t}\n\t\tdb.WithContext(ctx).Model(&Bin{}).Where(\"id = ? AND state = ?\", o.SKU, \"reserved\").Update(\"on_hand\", gorm.Expr(\"on_hand - ?\", o.Qty))\n\t}\n}\n",
    },
    {
      name: "fixed twin: the helper claims the order with onConflict ignore before incrementing",
      path: "src/consumers/orderPaid.ts",
      code: "import type { Knex } from 'knex';\nimport type { EachMessagePayload } from 'kafkajs';\n\nexport async function stampCard(db: Knex, order: { orderId: string; cardId: number; cups: number }): Promise<void> {\n  await db.transaction(async (trx) => {\n    const [row] = await trx('stamp_receipts').insert({ order_id: order.orderId }).onConflict('order_id').ignore().returning('id');\n    if (!row) return;\n    await trx('stamp_cards').where({ id: order.cardId }).increment('stamps', order.cups);\n    await trx('stamp_history').insert({ card_id: order.cardId, order_id: order.orderId, cups: order.cups });\n  });\n}\n\nexport function orderPaidHandler(db: Knex) {\n  return async ({ message }: EachMessagePayload): Promise<void> => {\n    if (!message.value) return;\n    await stampCard(db, JSON.parse(message.value.toString()));\n  };\n}\n",
    },
    {
      name: "fixed twin: the repository method claims the workout id with ON CONFLICT DO NOTHING first",
      path: "src/consumers/workout.consumer.ts",
      code: "import { MinutesRepo } from '../gym/minutes.repo';\nimport { kafka } from '../kafka';\nimport { pool } from '../db';\n\nexport async function startWorkoutConsumer() {\n  const repo = new MinutesRepo(pool);\n  const consumer = kafka.consumer({ groupId: 'gym-minutes' });\n  await consumer.run({\n    eachMessage: async ({ message }) => {\n      const w = JSON.parse(message.value!.toString());\n      await repo.recordWorkout(w.memberId, w.minutes, w.workoutId);\n    },\n  });\n}\n",
      extra: [{ path: "src/gym/minutes.repo.ts", code: "import type { Pool } from 'pg';\n\nexport class MinutesRepo {\n  constructor(private readonly pool: Pool) {}\n\n  async recordWorkout(memberId: number, minutes: number, workoutId: string): Promise<void> {\n    const claim = await this.pool.query('INSERT INTO counted_workouts (workout_id) VALUES ($1) ON CONFLICT DO NOTHING', [workoutId]);\n    if (claim.rowCount === 0) return;\n    await this.pool.query(\n      `UPDATE gym_members SET active_minutes = active_minutes + $2 WHERE id = $1`,\n      [memberId, minutes],\n    );\n  }\n}\n" }],
    },
    {
      name: "rails job gated on a model claim: conditional update_all(...) == 1 before the mailers",
      path: "app/jobs/tasting_invite_job.rb",
      code: "class TastingInviteJob < ApplicationJob\n  queue_as :default\n\n  def perform(tasting_id)\n    tasting = Tasting.find_by(id: tasting_id)\n    return if tasting.nil?\n\n    unless tasting.claim_invites!\n      return\n    end\n\n    tasting.guests.each { |guest| TastingMailer.invite(guest, tasting).deliver_later }\n  end\nend\n",
      extra: [{ path: "app/models/tasting.rb", code: "class Tasting < ApplicationRecord\n  has_many :guests\n\n  def claim_invites!\n    Tasting.where(id: id, invites_sent_at: nil).update_all(invites_sent_at: Time.current) == 1\n  end\nend\n" }],
    },
    {
      name: "bullmq worker gated on the rowCount of a conditional UPDATE before the SMS",
      path: "src/workers/doseReminder.ts",
      code: "import { Worker } from 'bullmq';\nimport { pool } from '../db';\nimport { sms } from '../sms';\n\nexport const reminderWorker = new Worker('dose-reminders', async (job) => {\n  const { rowCount } = await pool.query(\n    'UPDATE doses SET reminded_at = now() WHERE id = $1 AND reminded_at IS NULL',\n    [job.data.doseId],\n  );\n  if (rowCount !== 1) return;\n  await sms.send({ to: job.data.phone, body: 'Time for your dose' });\n}, { connection: { host: 'redis' } });\n",
    },
    {
      name: 'fixed twin: the row is get_or_create keyed by the parcel before the partner call',
      path: 'shipping/tasks.py',
      code: `import logging

from celery import shared_task

from .courier import CourierError, courier
from .models import Parcel, ShippingLabel


@shared_task(bind=True, autoretry_for=(CourierError,), retry_backoff=True, max_retries=4)
def book_pickup(self, parcel_id):
    parcel = Parcel.objects.get(pk=parcel_id)
    label, _ = ShippingLabel.objects.get_or_create(
        parcel=parcel,
        defaults={"weight_g": parcel.weight_g},
    )
    courier.book(parcel.address, reference=label.code)
    parcel.booked = True
    parcel.save(update_fields=["booked"])
`,
    },
    { name: 'fixed twin: each refund carries an idempotency key derived from the item', path: 'claims/tasks.py', code: `import stripe
from celery import shared_task

from claims.models import Claim


@shared_task(
    bind=True,
    autoretry_for=(stripe.error.APIConnectionError,),
    retry_backoff=True,
    max_retries=5,
)
def refund_approved_claims(self, batch_id):
    claims = list(Claim.objects.filter(batch_id=batch_id, state="approved"))
    refunded = []
    for claim in claims:
        refund = stripe.Refund.create(
            payment_intent=claim.payment_intent_id,
            idempotency_key=f"refund-{claim.pk}",
        )
        refunded.append((claim.pk, refund.id))
    for claim_id, refund_id in refunded:
        Claim.objects.filter(pk=claim_id).update(state="refunded", refund_id=refund_id)
` },
    {
      name: 'fixed twin: the job inserts a receipt row (unique index in the diff) in the same transaction and rescues RecordNotUnique',
      path: 'app/jobs/loyalty_points_job.rb',
      code: loyaltyJob(true),
      extra: [loyaltyMigration],
    },
    {
      name: 'fixed twin: bullmq worker claims a unique row first (ON CONFLICT DO NOTHING)',
      path: 'src/workers/invoiceMailer.ts',
      code: `import { Worker } from 'bullmq';
import { db, pool } from '../db';
import { mailer } from '../mail';

export const invoiceMailer = new Worker(
  'invoice-mail',
  async (job) => {
    const claim = await pool.query(
      'INSERT INTO invoice_mails (invoice_id) VALUES ($1) ON CONFLICT DO NOTHING',
      [job.data.invoiceId],
    );
    if (claim.rowCount === 0) return;
    const invoice = await db.invoice.findUnique({ where: { id: job.data.invoiceId } });
    await mailer.sendInvoice({ to: invoice.email, invoice });
  },
  { connection, settings: { attempts: 3 } },
);
`,
    },
    {
      name: 'fixed twin: celery passes an idempotency key to stripe',
      path: 'billing/tasks.py',
      code: `from celery import shared_task
import stripe

@shared_task(autoretry_for=(ConnectionError,), max_retries=5)
def charge_subscription(subscription_id, period):
    sub = Subscription.objects.get(pk=subscription_id)
    stripe.PaymentIntent.create(amount=sub.amount, customer=sub.customer_ref, confirm=True, idempotency_key=f"sub-{sub.pk}-{period}")
    sub.last_charged_at = timezone.now()
    sub.save()
`,
    },
    {
      name: 'fixed twin: sidekiq job claims with create_or_find_by before mailing',
      path: 'app/jobs/welcome_job.rb',
      code: `class WelcomeJob
  include Sidekiq::Job

  def perform(user_id)
    user = User.find(user_id)
    claim = SentMail.create_or_find_by!(user_id: user.id, kind: "welcome")
    return unless claim.previously_new_record?
    UserMailer.welcome(user).deliver_now
  end
end
`,
    },
    {
      name: 'celery task without any retry setting; sidekiq with retry false',
      path: 'app/jobs/digest_job.rb',
      code: `class DigestJob
  include Sidekiq::Job
  sidekiq_options retry: false

  def perform(user_id)
    UserMailer.digest(User.find(user_id)).deliver_now
    User.where(id: user_id).update_all(digest_sent_at: Time.current)
  end
end
`,
    },
    {
      name: 'plain request handler that emails is not a consumer',
      path: 'src/routes/contact.ts',
      code: `router.post('/contact', async (req, res) => {
  await mailer.sendContact({ from: req.body.email, text: req.body.text });
  await db.contactMessage.create({ data: { email: req.body.email } });
  res.sendStatus(204);
});
`,
    },
    {
      name: 'fixed twin: kafkajs consumer claims the ride with onConflict().ignore() before the increment',
      path: 'src/consumers/ride-finished.ts',
      code: `import type { Kafka } from 'kafkajs';
import { knex } from '../db';

export async function startRideFinished(kafka: Kafka) {
  const consumer = kafka.consumer({ groupId: 'wallet-ride-finished' });
  await consumer.subscribe({ topic: 'rides.finished' });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const ride = JSON.parse(message.value!.toString());
      await knex.transaction(async (trx) => {
        const inserted = await trx('wallet_entries')
          .insert({ driver_id: ride.driverId, ride_id: ride.id, amount_cents: ride.fareCents })
          .onConflict(['ride_id'])
          .ignore();
        if (inserted.length === 0) return;
        await trx('driver_wallets')
          .where({ driver_id: ride.driverId })
          .increment('balance_cents', ride.fareCents);
      });
    },
  });
}
`,
    },
    {
      name: 'fixed twin: the ledger insert in the same transaction hits a unique key declared in the migration',
      path: 'src/consumers/ride-finished.ts',
      extra: [
        {
          path: 'migrations/20240101_wallet_entries.ts',
          code: `export async function up(knex) {
  await knex.schema.createTable('wallet_entries', (t) => {
    t.bigIncrements('id');
    t.string('ride_id').notNullable();
    t.unique(['ride_id']);
  });
}
`,
        },
      ],
      code: `import type { Kafka } from 'kafkajs';
import { knex } from '../db';

export async function startRideFinished(kafka: Kafka) {
  const consumer = kafka.consumer({ groupId: 'wallet-ride-finished' });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const ride = JSON.parse(message.value!.toString());
      await knex.transaction(async (trx) => {
        await trx('wallet_entries').insert({ driver_id: ride.driverId, ride_id: ride.id, amount_cents: ride.fareCents });
        await trx('driver_wallets')
          .where({ driver_id: ride.driverId })
          .increment('balance_cents', ride.fareCents);
      });
    },
  });
}
`,
    },
    {
      name: 'fixed twin: amqplib consumer records the message id in processed_messages first',
      path: 'src/consumers/reservations.js',
      code: `const { pool } = require('../db');

async function startReservationConsumer(ch) {
  await ch.consume('warehouse.reserved', async (msg) => {
    const evt = JSON.parse(msg.content.toString());
    const client = await pool.connect();
    await client.query('BEGIN');
    const claim = await client.query('INSERT INTO processed_messages (id) VALUES ($1) ON CONFLICT DO NOTHING', [msg.properties.messageId]);
    if (claim.rowCount === 1) await client.query('UPDATE bins SET qty = qty - $1 WHERE sku = $2', [evt.qty, evt.sku]);
    await client.query('COMMIT');
    client.release();
    ch.ack(msg);
  });
}

module.exports = { startReservationConsumer };
`,
    },
    {
      name: 'fixed twin: usage worker checks the job id against a usage record first',
      path: 'src/workers/usage.ts',
      code: `import { Worker } from 'bullmq';
import { prisma } from '../db';

export const usageWorker = new Worker(
  'api-usage',
  async (job) => {
    await prisma.$transaction(async (tx) => {
      const seen = await tx.usageRecord.findUnique({ where: { jobId: job.id } });
      if (seen) return;
      await tx.usageRecord.create({ data: { jobId: job.id, calls: job.data.calls } });
      await tx.subscription.update({
        where: { id: job.data.subscriptionId },
        data: { callsUsed: { increment: job.data.calls } },
      });
    });
  },
  { connection },
);
`,
    },
    {
      name: 'fixed twin: celery task claims the flight with get_or_create',
      path: 'rewards/tasks.py',
      code: `from celery import shared_task
from django.db import transaction
from django.db.models import F

@shared_task(autoretry_for=(OperationalError,), max_retries=3)
def credit_miles(member_id, flight_id, miles):
    with transaction.atomic():
        entry, created = MileEntry.objects.get_or_create(member_id=member_id, flight_id=flight_id, defaults={"miles": miles})
        if created:
            Member.objects.filter(pk=member_id).update(miles=F("miles") + miles)
`,
    },
    {
      name: 'fixed twin: sidekiq job awards the bonus once through a unique claim',
      path: 'app/jobs/referral_bonus_job.rb',
      code: `class ReferralBonusJob
  include Sidekiq::Job

  def perform(referrer_id, signup_id)
    bonus = ReferralBonus.create_or_find_by!(signup_id: signup_id)
    return unless bonus.previously_new_record?
    User.find(referrer_id).increment!(:bonus_credits, 5)
  end
end
`,
    },
    {
      name: 'delivery counters, metrics and conditional transitions in a consumer are not flagged',
      path: 'src/consumers/shipments.ts',
      code: `export async function startShipments(kafka: Kafka) {
  const consumer = kafka.consumer({ groupId: 'shipments' });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const evt = JSON.parse(message.value!.toString());
      metrics.increment('shipments.consumed');
      await db('deliveries').where({ id: evt.deliveryId }).increment('attempts', 1);
      await pool.query(
        "UPDATE parcels SET scans = scans + 1, status = 'in_transit' WHERE id = $1 AND status = 'label_created'",
        [evt.parcelId],
      );
    },
  });
}
`,
    },
    {
      name: 'fixed twin: aiokafka handler claims the record in processed_messages before adding points',
      path: 'cafe/loyalty/stream.py',
      code: `from aiokafka import AIOKafkaConsumer


class StampReader:
    def __init__(self, pool, consumer: AIOKafkaConsumer):
        self._pool = pool
        self._consumer = consumer

    async def run(self):
        async for record in self._consumer:
            await self.apply(record)
            await self._consumer.commit()

    async def apply(self, record):
        purchase = Purchase.parse_raw(record.value)
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO processed_messages (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id",
                purchase.purchase_id,
            )
            if fresh is None:
                return
            await conn.execute(
                "UPDATE loyalty_cards SET stamps = stamps + $1 WHERE member_id = $2",
                purchase.cups,
                purchase.member_id,
            )
`,
    },
    {
      name: 'fixed twin: usage ingest claims the event id before the accumulating upsert',
      path: 'metering/ingest.py',
      code: `from confluent_kafka import Consumer


def add_usage(conn, evt):
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO usage_events (event_id) VALUES (%s) ON CONFLICT DO NOTHING",
            (evt["event_id"],),
        )
        if cur.rowcount == 1:
            cur.execute(
                """
                INSERT INTO tenant_usage (tenant_id, day, api_calls)
                VALUES (%s, %s, %s)
                ON CONFLICT (tenant_id, day)
                DO UPDATE SET api_calls = tenant_usage.api_calls + EXCLUDED.api_calls
                """,
                (evt["tenant"], evt["day"], evt["calls"]),
            )
    conn.commit()


def serve(conn, consumer: Consumer):
    while True:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        add_usage(conn, json.loads(msg.value()))
        consumer.commit(msg)
`,
    },
  ],
});
