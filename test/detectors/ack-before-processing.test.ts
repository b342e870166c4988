import detector from '../../src/detectors/ack-before-processing.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'amqplib consumer acks, then inserts the payment',
      path: 'src/consumers/payments.ts',
      code: `export async function startPaymentsConsumer(channel: Channel) {
  await channel.consume('payments', async (msg) => {
    if (!msg) return;
    const payment = JSON.parse(msg.content.toString());
    channel.ack(msg);
    await pool.query('INSERT INTO payments (id, amount) VALUES ($1, $2)', [payment.id, payment.amount]);
  });
}
`,
      errors: [{ mode: 'message_ordering', line: 5 }],
    },
    {
      name: 'pika callback acks first, then saves',
      path: 'workers/import_consumer.py',
      code: `def on_message(ch, method, properties, body):
    record = json.loads(body)
    ch.basic_ack(delivery_tag=method.delivery_tag)
    Import.objects.create(source=record["source"], rows=record["rows"])
`,
      errors: [{ mode: 'message_ordering', line: 3 }],
    },
    {
      name: 'go amqp delivery acked before the handler writes',
      path: 'internal/consumer/orders.go',
      code: `package consumer

func (c *Consumer) run(deliveries <-chan amqp.Delivery) {
	for d := range deliveries {
		d.Ack(false)
		if _, err := c.db.ExecContext(c.ctx, "UPDATE orders SET paid = true WHERE id = $1", string(d.Body)); err != nil {
			c.log.Printf("update: %v", err)
		}
	}
}
`,
      errors: [{ mode: 'message_ordering', line: 5 }],
    },
  ],
  valid: [
    {
      name: 'fixed twin: amqplib insert first, ack after',
      path: 'src/consumers/payments.ts',
      code: `export async function startPaymentsConsumer(channel: Channel) {
  await channel.consume('payments', async (msg) => {
    if (!msg) return;
    const payment = JSON.parse(msg.content.toString());
    await pool.query('INSERT INTO payments (id, amount) VALUES ($1, $2) ON CONFLICT DO NOTHING', [payment.id, payment.amount]);
    channel.ack(msg);
  });
}
`,
    },
    {
      name: 'fixed twin: pika saves then acks',
      path: 'workers/import_consumer.py',
      code: `def on_message(ch, method, properties, body):
    record = json.loads(body)
    Import.objects.create(source=record["source"], rows=record["rows"])
    ch.basic_ack(delivery_tag=method.delivery_tag)
`,
    },
    {
      name: 'fixed twin: go acks after the write',
      path: 'internal/consumer/orders.go',
      code: `package consumer

func (c *Consumer) run(deliveries <-chan amqp.Delivery) {
	for d := range deliveries {
		if _, err := c.db.ExecContext(c.ctx, "UPDATE orders SET paid = true WHERE id = $1", string(d.Body)); err != nil {
			d.Nack(false, true)
			continue
		}
		d.Ack(false)
	}
}
`,
    },
    {
      name: 'ack of a poison message on an early-exit path',
      path: 'src/consumers/refunds.ts',
      code: `export async function onRefund(channel: Channel, msg: ConsumeMessage) {
  let refund;
  try {
    refund = JSON.parse(msg.content.toString());
  } catch {
    channel.ack(msg);
    return;
  }
  await db.refund.create({ data: refund });
  channel.ack(msg);
}
`,
    },
  ],
});
