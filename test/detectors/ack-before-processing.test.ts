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
    {
      name: 'amqplib named handler acks first, then awaits an API call and a knex chain (errors swallowed)',
      path: 'src/queue/shipment-labels.ts',
      code: `export async function onLabelRequest(ch: Channel, msg: ConsumeMessage) {
  ch.ack(msg);
  const req = JSON.parse(msg.content.toString());
  try {
    const label = await carrier.buyLabel({ parcel: req.parcelId });
    await knex('parcels')
      .where({ id: req.parcelId })
      .update({ label_url: label.url });
  } catch (err) {
    logger.warn({ err }, 'label failed');
  }
}
`,
      errors: [{ mode: 'message_ordering', line: 2 }],
    },
    {
      name: 'ack through a small local helper before the work',
      path: 'src/queue/badge-printer.ts',
      code: `function settle(consumerChannel: Channel, msg: ConsumeMessage) {
  consumerChannel.ack(msg);
}

export async function onBadge(consumerChannel: Channel, msg: ConsumeMessage) {
  settle(consumerChannel, msg);
  const badge = JSON.parse(msg.content.toString());
  await printer.enqueue(badge.attendeeId);
}
`,
      errors: [{ mode: 'message_ordering', line: 6 }],
    },
    {
      name: 'amqplib consume with noAck: true and a write in the handler',
      path: 'src/queue/meter-readings.ts',
      code: `export async function startMeterConsumer(channel: Channel) {
  await channel.consume(
    'meter.readings',
    async (msg) => {
      if (!msg) return;
      const reading = JSON.parse(msg.content.toString());
      await prisma.reading.create({ data: reading });
    },
    { noAck: true },
  );
}
`,
      errors: [{ mode: 'message_ordering', line: 9 }],
    },
  ],
  valid: [
    {
      name: 'ack at the end of the try block; the catch branch rolls back and nacks',
      path: 'src/queue/tips.ts',
      code: `export async function onTip(ch: Channel, msg: ConsumeMessage) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await applyTip(client, JSON.parse(msg.content.toString()));
    await client.query('COMMIT');
    ch.ack(msg);
  } catch (err) {
    await client.query('ROLLBACK');
    await audit.write({ err });
    ch.nack(msg, false, false);
  } finally {
    client.release();
  }
}
`,
    },
    {
      name: 'fixed twin: named handler acks after the API call and the knex chain, nacks on failure',
      path: 'src/queue/shipment-labels.ts',
      code: `export async function onLabelRequest(ch: Channel, msg: ConsumeMessage) {
  const req = JSON.parse(msg.content.toString());
  try {
    const label = await carrier.buyLabel({ parcel: req.parcelId, idempotencyKey: req.parcelId });
    await knex('parcels')
      .where({ id: req.parcelId })
      .update({ label_url: label.url });
    ch.ack(msg);
  } catch (err) {
    logger.warn({ err }, 'label failed');
    ch.nack(msg, false, false);
  }
}
`,
    },
    {
      name: 'fixed twin: local ack helper called after the work',
      path: 'src/queue/badge-printer.ts',
      code: `function settle(consumerChannel: Channel, msg: ConsumeMessage) {
  consumerChannel.ack(msg);
}

export async function onBadge(consumerChannel: Channel, msg: ConsumeMessage) {
  const badge = JSON.parse(msg.content.toString());
  await printer.enqueue(badge.attendeeId);
  settle(consumerChannel, msg);
}
`,
    },
    {
      name: 'fixed twin: manual ack after the write (noAck: false)',
      path: 'src/queue/meter-readings.ts',
      code: `export async function startMeterConsumer(channel: Channel) {
  await channel.consume(
    'meter.readings',
    async (msg) => {
      if (!msg) return;
      const reading = JSON.parse(msg.content.toString());
      await prisma.reading.create({ data: reading });
      channel.ack(msg);
    },
    { noAck: false },
  );
}
`,
    },
    {
      name: 'ack then only logging and metrics',
      path: 'src/queue/heartbeat.ts',
      code: `export async function onHeartbeat(channel: Channel, msg: ConsumeMessage) {
  await heartbeats.record(msg.content.toString());
  channel.ack(msg);
  await metrics.increment('heartbeat.acked');
  logger.debug('acked');
}
`,
    },
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
