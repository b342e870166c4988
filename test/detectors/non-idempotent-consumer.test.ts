import detector from '../../src/detectors/non-idempotent-consumer.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
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
  ],
  valid: [
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
  ],
});
