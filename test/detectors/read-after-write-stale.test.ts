import detector from '../../src/detectors/read-after-write-stale.js';
import { runTable } from './tester.js';

const cachedService = (fixed: boolean) => `import { prisma } from '../db';
import { redis } from '../cache';

export async function getProfile(id: string) {
  const hit = await redis.get(\`profile:\${id}\`);
  if (hit) return JSON.parse(hit);
  const profile = await prisma.profile.findUniqueOrThrow({ where: { id } });
  await redis.set(\`profile:\${id}\`, JSON.stringify(profile), 'EX', 300);
  return profile;
}

export async function changePhone(id: string, phone: string) {
  await prisma.profile.update({ where: { id }, data: { phone } });
${fixed ? '  await redis.del(`profile:${id}`);\n' : ''}  const profile = await getProfile(id);
  await sms.sendCode(profile.phone);
}
`;

const djangoRouter = {
  path: 'config/routers.py',
  code: `from django.db import router


class ReadReplicaRouter:
    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"
`,
};

runTable(detector, {
  invalid: [
    {
      name: 'prisma update, then a getter that reads redis first',
      path: 'src/profiles/service.ts',
      code: cachedService(false),
      errors: [{ mode: 'eventual_consistency', line: 15 }],
    },
    {
      name: 'django update, then an explicit replica read decides the refund',
      path: 'billing/views.py',
      code: `from .models import Invoice


def void_invoice(request, invoice_id):
    Invoice.objects.filter(pk=invoice_id, status="open").update(status="void")
    invoice = Invoice.objects.using("replica").get(pk=invoice_id)
    if invoice.status == "void":
        refund(invoice)
    return redirect("invoices")
`,
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
    {
      name: 'django update, then a read that the router in the diff sends to the replica',
      path: 'billing/cancel.py',
      code: `from .models import Subscription


def cancel(request, sub_id):
    Subscription.objects.filter(pk=sub_id).update(status="cancelled")
    sub = Subscription.objects.get(pk=sub_id)
    if sub.status != "cancelled":
        return error(request)
    notify_cancelled(sub)
`,
      extra: [djangoRouter],
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
    {
      name: 'node: UPDATE, then redis.get of the same order key',
      path: 'src/orders/ship.js',
      code: `const { pool } = require('../db');
const { redis } = require('../cache');

async function markShipped(orderId) {
  await pool.query("UPDATE orders SET status = 'shipped' WHERE id = $1", [orderId]);
  const cached = await redis.get(\`orders:\${orderId}\`);
  const order = JSON.parse(cached);
  if (order.status === 'shipped') await mailer.shipped(order);
}

module.exports = { markShipped };
`,
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
    {
      name: 'prisma update, then a search-index query decides the reply',
      path: 'src/products/publish.ts',
      code: `import { prisma } from '../db';
import { search } from '../search';

export async function publish(id: string) {
  await prisma.product.update({ where: { id }, data: { published: true } });
  const res = await search.search({ index: 'products', query: { term: { id } } });
  if (res.hits.total.value === 0) throw new Error('publish failed');
  return res.hits.hits[0];
}
`,
      errors: [{ mode: 'eventual_consistency', line: 6 }],
    },
  ],
  valid: [
    {
      name: 'cache key deleted between the write and the cached read (fixed twin)',
      path: 'src/profiles/service.ts',
      code: cachedService(true),
    },
    {
      name: 'django: decide from the update count instead of re-reading (fixed twin)',
      path: 'billing/views.py',
      code: `from .models import Invoice


def void_invoice(request, invoice_id):
    updated = Invoice.objects.filter(pk=invoice_id, status="open").update(status="void")
    if updated == 1:
        refund(Invoice.objects.using("default").get(pk=invoice_id))
    return redirect("invoices")
`,
    },
    {
      name: 'django: read pinned to the primary despite the router (fixed twin)',
      path: 'billing/cancel.py',
      code: `from .models import Subscription


def cancel(request, sub_id):
    Subscription.objects.filter(pk=sub_id).update(status="cancelled")
    sub = Subscription.objects.using("default").get(pk=sub_id)
    if sub.status != "cancelled":
        return error(request)
    notify_cancelled(sub)
`,
      extra: [djangoRouter],
    },
    {
      name: 'django without any replica: the re-read hits the primary',
      path: 'billing/plain.py',
      code: `from .models import Subscription


def cancel(request, sub_id):
    Subscription.objects.filter(pk=sub_id).update(status="cancelled")
    sub = Subscription.objects.get(pk=sub_id)
    if sub.status != "cancelled":
        return error(request)
`,
    },
    {
      name: 'prisma: the row returned by the update is used',
      path: 'src/profiles/direct.ts',
      code: `import { prisma } from '../db';
import { redis } from '../cache';

export async function changePhone(id: string, phone: string) {
  const profile = await prisma.profile.update({ where: { id }, data: { phone } });
  await redis.del(\`profile:\${id}\`);
  await sms.sendCode(profile.phone);
}
`,
    },
    {
      name: 'a cache read of another entity after the write',
      path: 'src/orders/flags.js',
      code: `const { pool } = require('../db');
const { redis } = require('../cache');

async function markShipped(orderId) {
  await pool.query("UPDATE orders SET status = 'shipped' WHERE id = $1", [orderId]);
  const flags = await redis.get('feature-flags');
  if (JSON.parse(flags).notify) await notify(orderId);
}
`,
    },
  ],
});
