import detector from '../../src/detectors/commit-then-publish.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
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
  ],
  valid: [
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
  ],
});
