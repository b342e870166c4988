import { describe, expect, it } from 'vitest';
import { classifyFile, filterDiff, languageOf, signalsIn, type Signal } from '../../src/diff/relevance.js';
import type { DiffFile, FileStatus } from '../../src/diff/types.js';

/** A file whose single hunk adds `added` lines (after one context line when `context` is given). */
function file(path: string, added: string[], opts: { status?: FileStatus; binary?: boolean; context?: string } = {}): DiffFile {
  const status = opts.status ?? 'modified';
  const lines = [
    ...(opts.context !== undefined ? [{ kind: 'ctx' as const, text: opts.context, oldLine: 1, newLine: 1 }] : []),
    ...added.map((text, i) => ({ kind: 'add' as const, text, newLine: i + (opts.context !== undefined ? 2 : 1) })),
  ];
  return {
    oldPath: status === 'added' ? null : path,
    newPath: status === 'deleted' ? null : path,
    status,
    binary: opts.binary ?? false,
    hunks: added.length || opts.context !== undefined
      ? [{ oldStart: 1, oldLines: opts.context !== undefined ? 1 : 0, newStart: 1, newLines: lines.length, section: '', lines }]
      : [],
  };
}

describe('languageOf', () => {
  it.each([
    ['a.ts', 'typescript'],
    ['a.mts', 'typescript'],
    ['a.cts', 'typescript'],
    ['a.tsx', 'tsx'],
    ['a.js', 'javascript'],
    ['a.mjs', 'javascript'],
    ['a.cjs', 'javascript'],
    ['a.jsx', 'javascript'],
    ['x/y.py', 'python'],
    ['main.go', 'go'],
    ['app/models/user.rb', 'ruby'],
    ['db/001.sql', 'sql'],
    ['Q.SQL', 'sql'],
    ['logo.png', 'other'],
    ['package.json', 'other'],
    ['Makefile', 'other'],
    ['.ts', 'other'],
  ])('%s -> %s', (path, lang) => {
    expect(languageOf(path)).toBe(lang);
  });
});

/** Each ecosystem: a small hunk that must be kept, with the signal it must carry. */
const KEPT: Array<{ name: string; path: string; lines: string[]; signal: Signal }> = [
  { name: 'SQL in a string', path: 'src/a.ts', lines: ["const r = q('SELECT id FROM users WHERE email = $1', [e]);"], signal: 'sql' },
  { name: 'SQL across template lines', path: 'src/a.ts', lines: ['const r = sqlText(`', '  SELECT id', '  FROM users`);'], signal: 'database' },
  { name: 'INSERT INTO', path: 'src/a.py', lines: ['cur.run("INSERT INTO t (a) VALUES (%s)", (a,))'], signal: 'sql' },
  { name: 'UPDATE … SET', path: 'src/a.go', lines: ['const q = "UPDATE posts SET n = $1 WHERE id = $2"'], signal: 'sql' },
  { name: 'lower-case SQL in a string', path: 'src/a.rb', lines: ["conn.run('delete from carts where id = ?', id)"], signal: 'sql' },
  { name: 'Django read replica router', path: 'config/db_router.py', lines: ['class PrimaryReplicaRouter:', '    def db_for_read(self, model, **hints):', '        return "replica"'], signal: 'database' },
  { name: 'Django DATABASE_ROUTERS setting', path: 'config/settings.py', lines: ['DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]'], signal: 'database' },
  { name: 'Django using() a named database', path: 'orders/views.py', lines: ['order = Order.objects.using("replica")'], signal: 'database' },
  { name: 'external API idempotency key', path: 'src/pay.ts', lines: ['await stripe.refunds.create({ charge }, { idempotencyKey: key });'], signal: 'database' },
  { name: 'Prisma findFirst', path: 'src/a.ts', lines: ['const u = prisma.user.findFirst({ where: { handle } });'], signal: 'database' },
  { name: 'Prisma client named db', path: 'src/a.ts', lines: ['const u = db.user.upsert({ where, create, update });'], signal: 'database' },
  { name: 'Prisma $transaction', path: 'src/a.ts', lines: ['prisma.$transaction([a, b]);'], signal: 'transaction' },
  { name: 'TypeORM getRepository', path: 'src/a.ts', lines: ['const repo = getRepository(Order);'], signal: 'database' },
  { name: 'TypeORM save', path: 'src/a.ts', lines: ['repo.save(order);'], signal: 'database' },
  { name: 'TypeORM createQueryBuilder', path: 'src/a.ts', lines: ["repo.createQueryBuilder('o').setLock('pessimistic_write')"], signal: 'database' },
  { name: 'TypeORM manager.transaction', path: 'src/a.ts', lines: ['dataSource.manager.transaction(fn);'], signal: 'transaction' },
  { name: 'Sequelize Model.findOne', path: 'src/a.js', lines: ['const t = Ticket.findOne({ where: { id } });'], signal: 'database' },
  { name: 'Sequelize increment', path: 'src/a.js', lines: ["Seat.increment('sold', { by: n });"], signal: 'database' },
  { name: 'Sequelize transaction', path: 'src/a.js', lines: ['sequelize.transaction(fn);'], signal: 'transaction' },
  { name: 'Knex', path: 'src/a.js', lines: ["knex('orders').where({ id }).first();"], signal: 'database' },
  { name: 'Knex trx', path: 'src/a.js', lines: ["trx('stock').decrement('qty', 1);"], signal: 'database' },
  { name: 'Drizzle', path: 'src/a.ts', lines: ['const rows = db.select().from(users);'], signal: 'database' },
  { name: 'Mongoose findOneAndUpdate', path: 'src/a.js', lines: ['Wallet.findOneAndUpdate({ _id }, { $inc: { b: 1 } });'], signal: 'database' },
  { name: 'Mongoose updateOne', path: 'src/a.js', lines: ['col.updateOne({ _id }, { $set: s });'], signal: 'database' },
  { name: 'node-postgres pool.query', path: 'src/a.js', lines: ['pool.query(text, values);'], signal: 'database' },
  { name: 'node-postgres client.query', path: 'src/a.ts', lines: ['client.query(text);'], signal: 'database' },
  { name: 'Django objects.get', path: 'app/views.py', lines: ['order = Order.objects.get(pk=pk)'], signal: 'database' },
  { name: 'Django get_or_create', path: 'app/views.py', lines: ['obj, created = Coupon.objects.get_or_create(code=c)'], signal: 'database' },
  { name: 'Django select_for_update', path: 'app/views.py', lines: ['Seat.objects.select_for_update().filter(show=s)'], signal: 'lock' },
  { name: 'Django F()', path: 'app/views.py', lines: ["Promo.objects.filter(pk=p).update(uses=F('uses') + 1)"], signal: 'database' },
  { name: 'Django transaction.atomic', path: 'app/views.py', lines: ['with transaction.atomic():'], signal: 'transaction' },
  { name: 'SQLAlchemy session.query', path: 'app/repo.py', lines: ['user = session.query(User).get(uid)'], signal: 'database' },
  { name: 'SQLAlchemy select()', path: 'app/repo.py', lines: ['stmt = select(Account).where(Account.id == aid)'], signal: 'database' },
  { name: 'SQLAlchemy with_for_update', path: 'app/repo.py', lines: ['q = q.with_for_update()'], signal: 'lock' },
  { name: 'SQLAlchemy commit', path: 'app/repo.py', lines: ['session.commit()'], signal: 'transaction' },
  { name: 'ActiveRecord find_by', path: 'app/models/a.rb', lines: ['user = User.find_by(email: email)'], signal: 'database' },
  { name: 'ActiveRecord find_or_create_by', path: 'app/models/a.rb', lines: ['Tag.find_or_create_by(name: n)'], signal: 'database' },
  { name: 'ActiveRecord update!', path: 'app/models/a.rb', lines: ['loc.update!(active: false)'], signal: 'database' },
  { name: 'ActiveRecord with_lock', path: 'app/models/a.rb', lines: ['account.with_lock do'], signal: 'lock' },
  { name: 'ActiveRecord lock!', path: 'app/models/a.rb', lines: ['account.lock!'], signal: 'lock' },
  { name: 'ActiveRecord transaction do', path: 'app/models/a.rb', lines: ['Account.transaction do'], signal: 'transaction' },
  { name: 'Go db.QueryRow', path: 'internal/a.go', lines: ['row := db.QueryRowContext(ctx, q, id)'], signal: 'database' },
  { name: 'Go Exec', path: 'internal/a.go', lines: ['_, err := tx.Exec(ctx, q, id)'], signal: 'database' },
  { name: 'Go BeginTx', path: 'internal/a.go', lines: ['tx, err := s.db.BeginTx(ctx, nil)'], signal: 'transaction' },
  { name: 'BullMQ Queue', path: 'src/q.ts', lines: ["export const q = new Queue('mail', { connection });"], signal: 'queue' },
  { name: 'BullMQ Worker', path: 'src/q.ts', lines: ["new Worker('mail', handler);"], signal: 'queue' },
  { name: 'BullMQ add', path: 'src/q.ts', lines: ["reminders.add('sms', { id }, { attempts: 5 });"], signal: 'queue' },
  { name: 'BullMQ job.data', path: 'src/q.ts', lines: ['const { id } = job.data;'], signal: 'queue' },
  { name: 'amqplib ack', path: 'src/c.js', lines: ['channel.ack(msg);'], signal: 'queue' },
  { name: 'amqplib consume', path: 'src/c.js', lines: ["ch.consume('orders', onMessage);"], signal: 'queue' },
  { name: 'kafkajs eachMessage', path: 'src/k.ts', lines: ['consumer.run({ eachMessage: handle });'], signal: 'queue' },
  { name: 'kafkajs producer', path: 'src/k.ts', lines: ['const producer = kafka.producer();'], signal: 'queue' },
  { name: 'SQS ReceiveMessage', path: 'src/s.ts', lines: ['const out = client.send(new ReceiveMessageCommand(params));'], signal: 'queue' },
  { name: 'SQS DeleteMessage (Go)', path: 'internal/s.go', lines: ['_, err := svc.DeleteMessage(ctx, &sqs.DeleteMessageInput{})'], signal: 'queue' },
  { name: 'boto3 SQS', path: 'app/s.py', lines: ['msgs = sqs.receive_message(QueueUrl=url)'], signal: 'queue' },
  { name: 'Celery @app.task', path: 'app/tasks.py', lines: ['@app.task(bind=True, max_retries=3)'], signal: 'queue' },
  { name: 'Celery @shared_task', path: 'app/tasks.py', lines: ['@shared_task'], signal: 'queue' },
  { name: 'Celery delay', path: 'app/views.py', lines: ['send_receipt.delay(order.id)'], signal: 'queue' },
  { name: 'Celery apply_async', path: 'app/views.py', lines: ['send_receipt.apply_async(args=[oid], countdown=5)'], signal: 'queue' },
  { name: 'Sidekiq include', path: 'app/workers/a.rb', lines: ['  include Sidekiq::Job'], signal: 'queue' },
  { name: 'Sidekiq perform_async', path: 'app/a.rb', lines: ['MailWorker.perform_async(user.id)'], signal: 'queue' },
  { name: 'ActiveJob perform_later', path: 'app/a.rb', lines: ['SyncJob.perform_later(seller)'], signal: 'queue' },
  { name: 'ActiveJob class', path: 'app/jobs/a.rb', lines: ['class SyncJob < ApplicationJob'], signal: 'queue' },
  { name: 'Redis streams xadd', path: 'src/r.ts', lines: ["redis.xadd('events', '*', 'k', v);"], signal: 'queue' },
  { name: 'Redis XReadGroup (Go)', path: 'internal/r.go', lines: ['res, err := rdb.XReadGroup(ctx, args).Result()'], signal: 'queue' },
  { name: 'Redis publish', path: 'app/r.py', lines: ["r.publish('orders', payload)"], signal: 'queue' },
  { name: 'async/await', path: 'src/a.ts', lines: ['const x = await load(id);'], signal: 'async' },
  { name: 'Promise.all', path: 'src/a.js', lines: ['Promise.all(items.map(send));'], signal: 'async' },
  { name: '.then(', path: 'src/a.js', lines: ['load(id).then(render);'], signal: 'async' },
  { name: 'setTimeout', path: 'src/a.tsx', lines: ['setTimeout(flush, 100);'], signal: 'async' },
  { name: 'go func', path: 'internal/a.go', lines: ['go func() { done <- work() }()'], signal: 'async' },
  { name: 'go call', path: 'internal/a.go', lines: ['\tgo s.broadcast(msg)'], signal: 'async' },
  { name: 'sync.Mutex', path: 'internal/a.go', lines: ['\tmu sync.Mutex'], signal: 'lock' },
  { name: 'sync.WaitGroup', path: 'internal/a.go', lines: ['var wg sync.WaitGroup'], signal: 'async' },
  { name: 'Python threading', path: 'app/a.py', lines: ['t = threading.Thread(target=run)'], signal: 'async' },
  { name: 'Python asyncio', path: 'app/a.py', lines: ['await asyncio.gather(*tasks)'], signal: 'async' },
  { name: 'Python Lock()', path: 'app/a.py', lines: ['_guard = Lock()'], signal: 'lock' },
  { name: 'ActiveRecord update(attr:)', path: 'app/controllers/a.rb', lines: ['    current_user.update(prefs: current_user.prefs.merge(changes))'], signal: 'database' },
  { name: 'ActiveRecord update_column', path: 'app/models/a.rb', lines: ['  update_column(:seen_at, Time.current)', '  user.update_column :n, 1'], signal: 'database' },
  { name: 'ActiveRecord bare save', path: 'app/models/a.rb', lines: ['    account.balance = total', '    account.save'], signal: 'database' },
  { name: 'Rails.cache cleared in a callback', path: 'app/models/a.rb', lines: ['  after_save { Rails.cache.delete("rates/#{marina_id}") }'], signal: 'database' },
  { name: 'ActiveRecord model saving itself', path: 'app/models/a.rb', lines: ['  def credit!(amount)', '    self.balance += amount', '    save!', '  end'], signal: 'database' },
  { name: 'Redis client under another name', path: 'app/profile_cache.py', lines: ['    raw = redis_client.get(f"profile:{pet_id}")'], signal: 'database' },
  { name: 'GORM chain', path: 'internal/a.go', lines: ['\tif err := s.db.WithContext(ctx).Create(&in).Error; err != nil {'], signal: 'database' },
  { name: 'ActiveRecord scope', path: 'app/models/a.rb', lines: ['  scope :clashing, ->(from, to) { where("starts_at < ? AND ends_at > ?", to, from) }'], signal: 'database' },
  { name: 'Searchkick read', path: 'app/services/a.rb', lines: ['    Listing.search("*", where: { city: city }, load: false)'], signal: 'database' },
  { name: 'Ruby Thread', path: 'lib/a.rb', lines: ['Thread.new { work }'], signal: 'async' },
  { name: 'Ruby Mutex', path: 'lib/a.rb', lines: ['@m = Mutex.new'], signal: 'lock' },
  { name: 'Ruby concurrent-ruby', path: 'lib/a.rb', lines: ['pool = Concurrent::FixedThreadPool.new(4)'], signal: 'async' },
  { name: 'advisory lock', path: 'src/a.ts', lines: ["q('SELECT pg_advisory_xact_lock($1)', [k]);"], signal: 'lock' },
  { name: 'FOR UPDATE', path: 'src/a.ts', lines: ["const sql1 = 'SELECT * FROM pools WHERE id = $1 FOR UPDATE';"], signal: 'transaction' },
  { name: 'BEGIN / COMMIT', path: 'src/a.ts', lines: ["run('BEGIN');", "run('COMMIT');"], signal: 'transaction' },
  { name: 'Rails schema unique index', path: 'db/schema.rb', lines: ['t.index ["code"], name: "ix", unique: true'], signal: 'migration' },
];

describe('classifyFile keeps code with a concurrency signal', () => {
  it.each(KEPT)('$name', ({ path, lines, signal }) => {
    const c = classifyFile(file(path, lines));
    expect(c.relevant).toBe(true);
    expect(c.signals).toContain(signal);
    expect(c.reason).toContain(signal);
  });

  it('reads context lines too, but not deleted ones', () => {
    expect(classifyFile(file('src/a.ts', ['const x = 1;'], { context: 'await save();' })).signals).toEqual(['async']);
    const onlyDeleted: DiffFile = {
      ...file('src/a.ts', ['const x = 1;']),
    };
    onlyDeleted.hunks[0]!.lines.unshift({ kind: 'del', text: 'await save();', oldLine: 1 });
    expect(classifyFile(onlyDeleted)).toMatchObject({ relevant: false, reason: 'no concurrency signal' });
  });

  it.each([
    ['migration folder (Python)', 'accounts/migrations/0023_add_field.py', ['    operations = []']],
    ['db/migrate (Ruby)', 'db/migrate/20240101_add_x.rb', ['  def change', '  end']],
    ['SQL file', 'db/schema/bookings.sql', ['-- a comment only']],
    ['Prisma migration', 'prisma/migrations/20241011_x/migration.sql', ['CREATE UNIQUE INDEX "ix" ON "t"("a");']],
  ])('migrations are always kept: %s', (_name, path, lines) => {
    const c = classifyFile(file(path, lines));
    expect(c.relevant).toBe(true);
    expect(c.signals).toContain('migration');
    expect(c.reason).toMatch(/^migration/);
  });

  it('keeps a Prisma schema (its @unique constraints matter), as language other', () => {
    expect(classifyFile(file('prisma/schema.prisma', ['  handle String? @unique']))).toMatchObject({
      relevant: true,
      language: 'other',
      signals: ['migration'],
    });
  });

  it('SQL files carry the sql signal', () => {
    expect(classifyFile(file('q.sql', ['SELECT 1;'])).signals).toEqual(['database', 'sql', 'migration']);
  });
});

describe('classifyFile drops, with a reason', () => {
  const long = 'var a=' + 'x'.repeat(1200) + ';await f()';
  it.each([
    ['deleted', file('src/db.ts', [], { status: 'deleted' })],
    ['binary', file('img/logo.png', [], { binary: true })],
    ['no content change', file('run.sh', [], { status: 'mode-only' })],
    ['no content change', file('src/moved.ts', [], { status: 'renamed' })],
    ['docs', file('README.md', ['await the SELECT x FROM y'])],
    ['docs', file('notes/guide.rst', ['transaction'])],
    ['docs', file('CHANGES.txt', ['lock'])],
    ['docs', file('docs/examples/race.ts', ['await prisma.user.findFirst()'])],
    ['lockfile', file('package-lock.json', ['"lockfileVersion": 3'])],
    ['lockfile', file('web/yarn.lock', ['async@^3:'])],
    ['lockfile', file('pnpm-lock.yaml', ['x'])],
    ['lockfile', file('Gemfile.lock', ['x'])],
    ['lockfile', file('poetry.lock', ['x'])],
    ['lockfile', file('go.sum', ['x'])],
    ['lockfile', file('Cargo.lock', ['x'])],
    ['lockfile', file('composer.lock', ['x'])],
    ['lockfile', file('uv.lock', ['x'])],
    ['lockfile', file('Pipfile.lock', ['x'])],
    ['generated', file('src/generated/client.ts', ['await fetch()'])],
    ['generated', file('src/__generated__/gql.ts', ['await fetch()'])],
    ['generated', file('api/v1/order.pb.go', ['func (x *Order) Reset() { tx.Exec(ctx, q) }'])],
    ['generated', file('api/order_pb2.py', ['import asyncio'])],
    ['generated', file('src/schema.generated.ts', ['await x'])],
    ['generated', file('internal/mock_store.go', ['// Code generated by mockgen. DO NOT EDIT.', 'func (m *M) Lock() { m.mu.Lock() }'])],
    ['vendored', file('vendor/github.com/x/y/db.go', ['db.Exec(ctx, q)'])],
    ['vendored', file('web/node_modules/pg/lib/client.js', ['await this.query(q)'])],
    ['vendored', file('third_party/lib/a.py', ['import threading'])],
    ['minified', file('public/app.min.js', ['await x'])],
    ['minified', file('public/bundle.js', [long])],
    ['not code', file('assets/logo.svg', ['<svg>async</svg>'])],
    ['not code', file('config/app.json', ['{"lock": true}'])],
    ['not code', file('.github/workflows/ci.yaml', ['concurrency: deploy'])],
    ['not code', file('src/styles.css', ['.lock { }'])],
    ['not code', file('public/index.html', ['<script>await x</script>'])],
    ['no concurrency signal', file('src/format.ts', ['export const pad = (s: string) => s.padStart(2, "0");'])],
    ['no concurrency signal', file('app/helpers.py', ['def title(s):', '    return s.title()'])],
  ])('%s: %#', (reason, f) => {
    const c = classifyFile(f);
    expect(c.relevant).toBe(false);
    expect(c.reason).toBe(reason);
    expect(c.signals).toEqual([]);
  });

  it("a hunk's section header counts: plain lines inside an ActiveRecord model are database code", () => {
    const f = file('app/models/slot.rb', ['  validates :starts_at, presence: true']);
    expect(classifyFile(f).relevant).toBe(false);
    f.hunks[0]!.section = 'class Slot < ApplicationRecord';
    expect(classifyFile(f)).toMatchObject({ relevant: true, signals: ['database'] });
  });

  it('a long line in a big JavaScript hunk is not taken for minified code', () => {
    const lines = [long, ...Array.from({ length: 30 }, (_, i) => `const v${i} = ${i};`)];
    expect(classifyFile(file('src/data.js', lines)).relevant).toBe(true);
  });
});

describe('near misses give no signal', () => {
  it.each([
    ['an English sentence with delete … from', '// delete the item from the list'],
    ['Go url.Query()', 'q := r.URL.Query()'],
    ['Object.create', 'const o = Object.create(null);'],
    ['block and clock', 'const block = clock.now();'],
    ['a plain Set.add', 'seen.add(id);'],
    ['http.Get', 'resp, err := http.Get(url)'],
    ['update( of a reducer', 'return update(state, action);'],
  ])('%s', (_name, line) => {
    expect(signalsIn(line)).toEqual([]);
  });

  it('stays linear on adversarial text', () => {
    const text = 'SELECT '.repeat(200_000) + '\n' + ' '.repeat(200_000) + 'x' + 'Object.'.repeat(100_000);
    expect(signalsIn(text)).toEqual([]);
  });
});

describe('filterDiff', () => {
  it('keeps relevant files in order and counts drops by reason', () => {
    const files = [
      file('src/a.ts', ['await prisma.user.findFirst()']),
      file('package-lock.json', ['x']),
      file('README.md', ['x']),
      file('docs/b.md', ['x']),
      file('src/util.ts', ['export const one = 1;']),
      file('db/migrate/1_x.rb', ['add_index :users, :email, unique: true']),
      file('logo.png', [], { binary: true }),
    ];
    const { kept, stats } = filterDiff(files);
    expect(kept.map((k) => [k.file.newPath, k.language])).toEqual([
      ['src/a.ts', 'typescript'],
      ['db/migrate/1_x.rb', 'ruby'],
    ]);
    expect(kept[0]!.signals).toEqual(['database', 'async']);
    expect(kept[0]!.file).toBe(files[0]);
    expect(stats).toEqual({
      kept: 2,
      dropped: 5,
      droppedBy: { lockfile: 1, docs: 2, 'no concurrency signal': 1, binary: 1 },
    });
  });

  it('an empty diff keeps nothing and drops nothing', () => {
    expect(filterDiff([])).toEqual({ kept: [], stats: { kept: 0, dropped: 0, droppedBy: {} } });
  });
});

describe('files calling database code of the diff', () => {
  const repo = file('holds/repository.py', [
    'def find_active_hold(book_id, member_id):',
    '    return Hold.objects.filter(book_id=book_id, member_id=member_id, status="active").first()',
  ]);
  const service = file('holds/service.py', [
    'def place_hold(book_id, member_id):',
    '    existing = find_active_hold(book_id, member_id)',
    '    if existing:',
    '        return existing',
  ]);

  it('a service with no signal of its own that calls a function a kept file defines is kept', () => {
    const { kept, stats } = filterDiff([repo, service]);
    expect(kept.map((k) => k.file.newPath)).toEqual(['holds/repository.py', 'holds/service.py']);
    expect(stats.dropped).toBe(0);
  });

  it('alone, or as a test of that code, it is still dropped', () => {
    expect(filterDiff([service]).kept).toEqual([]);
    const spec = file('tests/test_holds.py', ['    hold = find_active_hold("b1", "m1")']);
    expect(filterDiff([repo, spec]).kept.map((k) => k.file.newPath)).toEqual(['holds/repository.py']);
  });
});
