import detector from '../../src/detectors/nondeterministic-idempotency-key.js';
import { runTable } from './tester.js';

runTable(detector, {
  valid: [
    {
      name: 'key folded into a check-then-insert finding of the same function (one hazard, one finding)',
      path: 'src/api/subscribe.ts',
      code: `import { db } from '../db';
import { stripe } from '../stripe';
export async function subscribe(userId: string, planId: string, amount: number) {
  const idempotencyKey = \`\${userId}-\${planId}-\${Date.now()}\`;
  const recent = await db.query(
    "SELECT id FROM subscriptions WHERE user_id = $1 AND plan_id = $2 AND created_at > NOW() - INTERVAL '5 minutes'",
    [userId, planId],
  );
  if (recent.rows.length > 0) return { status: 'duplicate' };
  const sub = await stripe.subscriptions.create({ customer: userId, items: [{ price: planId }] }, { idempotencyKey });
  await db.query('INSERT INTO subscriptions (user_id, plan_id, stripe_id, created_at) VALUES ($1, $2, $3, NOW())', [userId, planId, sub.id]);
  return { status: 'created' };
}`,
    },
    {
      name: 'shorthand { idempotencyKey } with a key from the client request id',
      path: 'src/api/pay.ts',
      code: `import { stripe } from '../stripe';
export async function pay(userId: string, amount: number, requestId: string) {
  const idempotencyKey = \`\${userId}:\${requestId}\`;
  return stripe.paymentIntents.create({ amount, customer: userId }, { idempotencyKey });
}`,
    },
    {
      name: 'stripe: key from the order id',
      path: 'src/payments/charge.ts',
      code: `import { stripe } from './stripe';
export async function charge(orderId: string, amount: number, customer: string) {
  return stripe.paymentIntents.create(
    { amount, currency: 'eur', customer },
    { idempotencyKey: \`order-\${orderId}-charge\` },
  );
}`,
    },
    {
      name: 'bullmq: deterministic jobId, delay computed from the clock',
      path: 'src/queues/digest.ts',
      code: `import { digests } from './queues';
export async function scheduleDigest(userId: string, day: string, sendAt: number) {
  await digests.add('digest', { userId, day }, { jobId: \`digest:\${userId}:\${day}\`, delay: Math.max(sendAt - Date.now(), 0) });
}`,
    },
    {
      name: 'random key stored on the row before the call',
      path: 'src/payments/payout.ts',
      code: `import { randomUUID } from 'node:crypto';
import { prisma } from '../db';
import { stripe } from './stripe';
export async function payout(sellerId: string, amount: number) {
  const key = randomUUID();
  const row = await prisma.payout.create({ data: { sellerId, amount, idempotencyKey: key } });
  await stripe.transfers.create({ amount, destination: sellerId }, { idempotencyKey: key });
  return row;
}`,
    },
    {
      name: 'python: key from the invoice',
      path: 'billing/charge.py',
      code: `import stripe


def charge_invoice(invoice):
    return stripe.PaymentIntent.create(
        amount=invoice.total_cents,
        currency="eur",
        idempotency_key=f"invoice-{invoice.id}",
    )
`,
    },
    {
      name: 'ordinary code: timestamps that are not keys',
      path: 'src/audit.ts',
      code: `import { db } from './db';
export async function audit(userId: string) {
  await db('audit').insert({ user_id: userId, at: new Date(), request_id: Date.now() });
}`,
    },
  ],
  invalid: [
    {
      name: 'shorthand { idempotencyKey } from a local built with Date.now(): the finding spans the key and the call',
      path: 'src/api/pay.ts',
      code: `import { stripe } from '../stripe';
export async function pay(userId: string, amount: number) {
  const idempotencyKey = \`\${userId}-\${Date.now()}\`;

  return stripe.paymentIntents.create({ amount, customer: userId }, { idempotencyKey });
}`,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'python: local idempotency_key = str(uuid.uuid4()) passed as a keyword',
      path: 'billing/refund.py',
      code: `import uuid
import stripe


def refund(payment):
    idempotency_key = str(uuid.uuid4())
    return stripe.Refund.create(
        payment_intent=payment.intent_id,
        idempotency_key=idempotency_key,
    )
`,
      errors: [{ mode: 'toctou', line: 7 }],
    },
    {
      name: 'stripe: key built from Date.now()',
      path: 'src/payments/charge.ts',
      code: `import { stripe } from './stripe';
export async function charge(orderId: string, amount: number, customer: string) {
  return stripe.paymentIntents.create(
    { amount, currency: 'eur', customer },
    { idempotencyKey: \`order-\${orderId}-\${Date.now()}\` },
  );
}`,
      errors: [{ mode: 'toctou', line: 5 }],
    },
    {
      name: 'fetch: Idempotency-Key header from randomUUID() through a variable',
      path: 'src/payments/refund.ts',
      code: `import { randomUUID } from 'node:crypto';
export async function refund(paymentId: string) {
  const key = randomUUID();
  return fetch(\`https://psp.example/refunds\`, {
    method: 'POST',
    headers: { 'Idempotency-Key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ paymentId }),
  });
}`,
      errors: [{ mode: 'toctou', line: 6 }],
    },
    {
      name: 'bullmq: jobId from Date.now()',
      path: 'src/queues/welcome.ts',
      code: `import { emails } from './queues';
export async function queueWelcome(userId: string) {
  await emails.add('welcome', { userId }, { jobId: \`welcome-\${userId}-\${Date.now()}\` });
}`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'python: idempotency_key=str(uuid.uuid4())',
      path: 'billing/charge.py',
      code: `import uuid
import stripe


def charge_invoice(invoice):
    return stripe.PaymentIntent.create(
        amount=invoice.total_cents,
        currency="eur",
        idempotency_key=str(uuid.uuid4()),
    )
`,
      errors: [{ mode: 'toctou', line: 9 }],
    },
    {
      name: 'ruby: idempotency_key: SecureRandom.uuid',
      path: 'app/services/charge_order.rb',
      code: `class ChargeOrder
  def call(order)
    Stripe::PaymentIntent.create({ amount: order.total_cents, currency: "eur" }, { idempotency_key: SecureRandom.uuid })
  end
end`,
      errors: [{ mode: 'toctou', line: 3 }],
    },
    {
      name: 'go: IdempotencyKey from uuid.NewString()',
      path: 'internal/payments/charge.go',
      code: `package payments

func (s *Service) Charge(ctx context.Context, orderID string, amount int64) error {
	params := &stripe.PaymentIntentParams{Amount: stripe.Int64(amount)}
	params.IdempotencyKey = stripe.String(uuid.NewString())
	if _, err := s.client.PaymentIntents.New(params); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, \`UPDATE orders SET charged_at = now() WHERE id = $1\`, orderID)
	return err
}`,
      errors: [{ mode: 'toctou', line: 5 }],
    },
  ],
});
