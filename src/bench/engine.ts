/**
 * Engine throughput: builds diffs of mostly relevant code (5, 10, 20 MB), reviews each in a fresh child process,
 * and prints MB/s, peak memory (max RSS) and the ratio to just reading the file and splitting it into lines.
 * Run through `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TS_BODY = (i: number) => `export async function settle${i}(accountId: string, amount: number) {
  const account = await db.query('SELECT balance FROM accounts_${i % 50} WHERE id = $1', [accountId]);
  if (account.rows.length === 0) {
    throw new Error('no account ${i}');
  }
  const next = account.rows[0].balance - amount;
  await db.query('UPDATE accounts_${i % 50} SET balance = $1 WHERE id = $2', [next, accountId]);
  const recent = await prisma.payout.findFirst({ where: { accountId, batch: ${i} } });
  if (!recent) {
    await prisma.payout.create({ data: { accountId, batch: ${i}, amount } });
  }
  await Promise.all([audit.write(accountId, ${i}), metrics.bump('settle')]);
  return { accountId, next };
}
`;

const PY_BODY = (i: number) => `async def reconcile_${i}(session, order_id):
    order = await session.get(Order, order_id)
    if order.status == "paid":
        return order
    rows = await session.execute(select(Payment).where(Payment.order_id == order_id))
    for payment in rows.scalars():
        await notify(payment.customer_id, "batch ${i}")
    order.status = "paid"
    await session.commit()
    return order
`;

/** A diff of `targetBytes` made of new TypeScript and Python files full of DB and async code. */
export function buildDiff(targetBytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let f = 0; size < targetBytes; f++) {
    const py = f % 3 === 2;
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(...(py ? PY_BODY(f * 40 + i) : TS_BODY(f * 40 + i)).split('\n'));
    const file = py ? `app/jobs/reconcile_${f}.py` : `src/payments/settle${f}.ts`;
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
    console.log('\nTargets: ≥ 5 MB/s, peak RSS < 500 MB at 20 MB, time growing linearly with size.\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
