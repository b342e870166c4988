/**
 * Engine throughput: builds diffs of relevant code (5, 10, 20 MB), reviews each in a fresh child process,
 * and prints MB/s, peak memory (max RSS) and the ratio to just reading the file and splitting it into lines.
 * Run through `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Function templates, DB/queue/async code throughout. Most are written safely (atomic updates, upserts, row locks,
 * awaited reads), as most code in a real PR is; one in HAZARD_EVERY carries a hazard, so the bench measures the
 * detectors reading everything and the diagnosis writing up the few candidates, not only the diagnosis.
 */
const TS_SAFE = [
  (i: number) => `export async function credit${i}(accountId: string, amount: number) {
  const { rows } = await db.query(
    'UPDATE accounts_${i % 50} SET balance = balance + $1 WHERE id = $2 RETURNING balance',
    [amount, accountId],
  );
  await audit.write(accountId, ${i});
  return rows[0]?.balance;
}
`,
  (i: number) => `export async function subscribe${i}(userId: string, planId: string) {
  const sub = await prisma.subscription.upsert({
    where: { userId_planId: { userId, planId } },
    create: { userId, planId, batch: ${i} },
    update: {},
  });
  await queue.add('welcome', { userId }, { jobId: \`welcome:\${userId}:${i}\` });
  return sub;
}
`,
  (i: number) => `export async function dashboard${i}(teamId: string) {
  const [members, invoices, usage] = await Promise.all([
    prisma.member.findMany({ where: { teamId } }),
    prisma.invoice.findMany({ where: { teamId, batch: ${i} } }),
    metrics.usage(teamId),
  ]);
  return { members, invoices, usage };
}
`,
  (i: number) => `export async function reserve${i}(itemId: string, qty: number) {
  return db.transaction(async (trx) => {
    const item = await trx.query('SELECT stock FROM items_${i % 50} WHERE id = $1 FOR UPDATE', [itemId]);
    if (item.rows[0].stock < qty) throw new Error('out of stock ${i}');
    await trx.query('UPDATE items_${i % 50} SET stock = stock - $1 WHERE id = $2', [qty, itemId]);
  });
}
`,
];

const TS_HAZARD = (i: number) => `export async function claim${i}(userId: string, code: string) {
  const existing = await prisma.redemption.findFirst({ where: { code, batch: ${i} } });
  if (existing) {
    throw new Error('already redeemed');
  }
  await prisma.redemption.create({ data: { code, userId, batch: ${i} } });
}
`;

const PY_SAFE = [
  (i: number) => `def transfer_${i}(from_id, to_id, amount):
    with transaction.atomic():
        source = Account.objects.select_for_update().get(pk=from_id)
        if source.balance < amount:
            raise InsufficientFunds(${i})
        Account.objects.filter(pk=from_id).update(balance=F("balance") - amount)
        Account.objects.filter(pk=to_id).update(balance=F("balance") + amount)
`,
  (i: number) => `async def load_report_${i}(session, team_id):
    members, invoices = await asyncio.gather(
        session.execute(select(Member).where(Member.team_id == team_id)),
        session.execute(select(Invoice).where(Invoice.batch == ${i})),
    )
    return members.scalars().all(), invoices.scalars().all()
`,
];

const PY_HAZARD = (i: number) => `def apply_coupon_${i}(order, code):
    if Redemption.objects.filter(code=code, batch=${i}).exists():
        raise AlreadyRedeemed(code)
    Redemption.objects.create(code=code, order=order, batch=${i})
`;

const HAZARD_EVERY = 20;

function tsFunction(i: number): string {
  return i % HAZARD_EVERY === 0 ? TS_HAZARD(i) : TS_SAFE[i % TS_SAFE.length]!(i);
}

function pyFunction(i: number): string {
  return i % HAZARD_EVERY === 0 ? PY_HAZARD(i) : PY_SAFE[i % PY_SAFE.length]!(i);
}

/** A diff of about `targetBytes` made of new TypeScript and Python files full of DB and async code. */
export function buildDiff(targetBytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let f = 0; size < targetBytes; f++) {
    const py = f % 3 === 2;
    const lines: string[] = py ? ['from django.db import transaction', 'from django.db.models import F', ''] : ["import { db, prisma, queue } from '../db';", ''];
    for (let i = 0; i < 40; i++) lines.push(...(py ? pyFunction(f * 40 + i) : tsFunction(f * 40 + i)).split('\n'));
    const file = py ? `app/billing/ops_${f}.py` : `src/payments/ops${f}.ts`;
    const text = [`diff --git a/${file} b/${file}`, 'new file mode 100644', '--- /dev/null', `+++ b/${file}`, `@@ -0,0 +1,${lines.length} @@`, ...lines.map((l) => `+${l}`), ''].join('\n');
    parts.push(text);
    size += text.length;
  }
  return parts.join('');
}

interface Measure {
  seconds: number;
  maxRssMb: number;
  findings?: number;
}

function child(mode: 'review' | 'split', file: string): Measure {
  const script = fileURLToPath(new URL('./engine-child.js', import.meta.url));
  const out = execFileSync(process.execPath, [script, mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out) as Measure;
}

export async function benchEngine(sizesMb: readonly number[] = [5, 10, 20]): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'concdbg-bench-'));
  try {
    console.log('## Engine throughput (offline, one process per size)\n');
    console.log('| size | review s | MB/s | peak RSS MB | read+split s | ratio | findings |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|');
    for (const mb of sizesMb) {
      const file = path.join(dir, `bench-${mb}.diff`);
      writeFileSync(file, buildDiff(mb * 1024 * 1024));
      const bytes = readFileSync(file).length;
      const r = child('review', file);
      const s = child('split', file);
      const mbs = bytes / 1024 / 1024 / r.seconds;
      console.log(
        `| ${(bytes / 1024 / 1024).toFixed(1)} MB | ${r.seconds.toFixed(2)} | ${mbs.toFixed(1)} | ${r.maxRssMb.toFixed(0)} | ${s.seconds.toFixed(3)} | ${(r.seconds / s.seconds).toFixed(1)}× | ${r.findings} |`,
      );
    }
    console.log('\nTargets: ≥ 5 MB/s, within 10× of read+split, peak RSS < 500 MB at 20 MB, time growing linearly with size.\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
