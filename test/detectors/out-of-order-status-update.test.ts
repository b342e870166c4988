import detector from '../../src/detectors/out-of-order-status-update.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'kafkajs consumer copies the shipment status from each event',
      path: 'src/consumers/shipments.ts',
      code: `export async function startShipmentConsumer() {
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = JSON.parse(message.value!.toString());
      await prisma.shipment.update({
        where: { id: event.shipmentId },
        data: { status: event.status },
      });
    },
  });
}
`,
      errors: [{ mode: 'message_ordering', line: 7 }],
    },
    {
      name: 'activejob branches on the event type and sets the state',
      path: 'app/jobs/payment_event_job.rb',
      code: `class PaymentEventJob < ApplicationJob
  retry_on Net::ReadTimeout, attempts: 5

  def perform(event)
    payment = Payment.find_by!(provider_ref: event["data"]["id"])
    case event["type"]
    when "payment.pending"
      payment.update!(state: "pending")
    when "payment.succeeded"
      payment.update!(state: "succeeded", paid_at: Time.current)
    end
  end
end
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'celery task writes payload status with SQL',
      path: 'orders/tasks.py',
      code: `@app.task(bind=True, max_retries=3)
def apply_carrier_update(self, payload):
    with connection.cursor() as cur:
        cur.execute("UPDATE parcels SET status = %s WHERE id = %s", [payload["status"], payload["parcel_id"]])
`,
      errors: [{ mode: 'message_ordering', line: 4 }],
    },
  ],
  valid: [
    {
      name: 'a sidekiq job moves rows through a named state scope (forward only)',
      path: 'app/jobs/refund_status_job.rb',
      code: `class RefundStatusJob
  include Sidekiq::Job

  def perform(event)
    pending = Refund.awaiting_settlement.where(gateway_ref: event["ref"])
    pending.update_all(status: event["status"], settled_at: Time.current)
  end
end
`,
    },
    {
      name: 'fixed twin: prisma update guarded by the event time',
      path: 'src/consumers/shipments.ts',
      code: `export async function startShipmentConsumer() {
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = JSON.parse(message.value!.toString());
      await prisma.shipment.updateMany({
        where: { id: event.shipmentId, statusAt: { lt: new Date(event.occurredAt) } },
        data: { status: event.status, statusAt: new Date(event.occurredAt) },
      });
    },
  });
}
`,
    },
    {
      name: 'fixed twin: activejob applies only newer events',
      path: 'app/jobs/payment_event_job.rb',
      code: `class PaymentEventJob < ApplicationJob
  retry_on Net::ReadTimeout, attempts: 5

  def perform(event)
    created = Time.at(event["created"])
    payment = Payment.find_by!(provider_ref: event["data"]["id"])
    Payment.where(id: payment.id).where("state_event_at IS NULL OR state_event_at < ?", created)
           .update_all(state: event["data"]["state"], state_event_at: created)
  end
end
`,
    },
    {
      name: 'fixed twin: SQL with a sequence guard',
      path: 'orders/tasks.py',
      code: `@app.task(bind=True, max_retries=3)
def apply_carrier_update(self, payload):
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE parcels SET status = %s, seq = %s WHERE id = %s AND seq < %s",
            [payload["status"], payload["seq"], payload["parcel_id"], payload["seq"]],
        )
`,
    },
    {
      name: 'conditional state transition in an amqplib consumer',
      path: 'src/consumers/orderPacked.ts',
      code: `export async function handleOrderPacked(channel: Channel, msg: ConsumeMessage) {
  const { orderId } = JSON.parse(msg.content.toString());
  await pool.query("UPDATE orders SET status = 'packed' WHERE id = $1 AND status = 'paid'", [orderId]);
  channel.ack(msg);
}
`,
    },
  ],
});
