/**
 * Relevance filter: which files of a diff are worth parsing and running detectors on.
 *
 * A file is kept when it is code (or SQL) whose added and context lines show a concurrency signal
 * (database access, queues, async/concurrent code, SQL, locks, transactions, schema changes), or when
 * it is a migration. Everything else is dropped with a reason, counted in FilterStats.droppedBy.
 *
 * The rules are tables of regular expressions, one list per signal, compiled once into one
 * alternation per signal. Every pattern is written to run in linear time: no nested quantifiers,
 * and any "keyword ... keyword" gap is bounded.
 */
import type { FilterStats, Language } from '../types.js';
import type { DiffFile } from './types.js';

export type Signal = 'database' | 'queue' | 'async' | 'sql' | 'lock' | 'transaction' | 'migration';

export const SIGNALS: readonly Signal[] = ['database', 'queue', 'async', 'sql', 'lock', 'transaction', 'migration'];

export interface Classification {
  relevant: boolean;
  /** Why: the drop reason (a FilterStats.droppedBy key) or, when kept, the signals found. */
  reason: string;
  language: Language;
  signals: Signal[];
}

export interface KeptFile {
  file: DiffFile;
  language: Language;
  signals: Signal[];
}

/** Drop reasons, also the keys of FilterStats.droppedBy. */
export const DROP_REASONS = [
  'deleted',
  'binary',
  'no content change',
  'lockfile',
  'vendored',
  'generated',
  'minified',
  'docs',
  'not code',
  'no concurrency signal',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

// ---------------------------------------------------------------------------------------------
// Languages

const EXTENSION_LANGUAGE: Record<string, Language> = {
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'tsx',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  py: 'python',
  go: 'go',
  rb: 'ruby',
  sql: 'sql',
};

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function extensionOf(path: string): string {
  const base = baseName(path);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** The language of a path, from its extension; 'other' for anything that is not code concdbg reads. */
export function languageOf(path: string): Language {
  return EXTENSION_LANGUAGE[extensionOf(path)] ?? 'other';
}

// ---------------------------------------------------------------------------------------------
// Drop rules on paths

const LOCKFILES = new Set([
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lockb',
  'Gemfile.lock',
  'poetry.lock',
  'go.sum',
  'Cargo.lock',
  'composer.lock',
  'uv.lock',
  'Pipfile.lock',
]);

const VENDORED_PATH = /(?:^|\/)(?:vendor|node_modules|third_party)\//;

const GENERATED_PATH = [
  /(?:^|\/)(?:generated|__generated__)\//,
  /\.pb\.go$/,
  /_pb2(?:_grpc)?\.pyi?$/,
  /\.generated\.[^/]+$/,
];

/** A "generated, do not edit" banner as code generators write it (Go's convention and its cousins). */
const GENERATED_BANNER = /^\s*(?:\/\/|#|\/\*+|\*)\s*(?:Code generated\b[^\n]{0,200}\bDO NOT EDIT|@generated\b)/;

const MINIFIED_PATH = /\.min\.(?:js|mjs|cjs)$/;
/** A line longer than this in a JavaScript file with few lines shown marks a minified bundle. */
const MINIFIED_LINE_LENGTH = 1000;
const MINIFIED_MAX_LINES = 20;

const DOC_EXTENSIONS = new Set(['md', 'markdown', 'mdx', 'rst', 'txt', 'adoc']);
const DOCS_PATH = /(?:^|\/)docs?\//;

const MIGRATION_PATH = /(?:^|\/)(?:migrations?|migrate)\//i;

/** Schema files that are not code but declare the unique constraints detectors rely on (Prisma). */
const SCHEMA_FILE = /\.prisma$/;

// ---------------------------------------------------------------------------------------------
// Signal rules on the hunk text (added and context lines)

/**
 * One list per signal. Each entry is a regular expression tested against the text the diff shows
 * of a file (added and context lines joined with "\n"). A file has a signal when any entry matches.
 */
export const SIGNAL_RULES: Record<Signal, RegExp[]> = {
  sql: [
    /\bSELECT\b[\s\S]{0,400}?\bFROM\b/, // SELECT … FROM
    /\bINSERT\s+INTO\b/,
    /\bUPDATE\s+[\w."`[\]]{1,128}\s+SET\b/,
    /\bDELETE\s+FROM\b/,
    /\bMERGE\s+INTO\b/,
    /\bON\s+CONFLICT\b/,
    /["'`]\s*(?:select|insert\s+into|update\s+[\w."`]{1,128}\s+set|delete\s+from|with\s+\w+\s+as\s*\()\s/i, // SQL in a string
    /\bsql`/, // sql`…` tagged templates (postgres.js, slonik, Prisma.sql, drizzle sql)
    /\$(?:queryRaw|executeRaw)(?:Unsafe)?\b/,
  ],
  database: [
    // Prisma
    /\bprisma\.\w+\.(?:findFirst|findFirstOrThrow|findUnique|findUniqueOrThrow|findMany|create|createMany|update|updateMany|upsert|delete|deleteMany|count|aggregate|groupBy)\b/,
    /\.\w+\.(?:findFirst|findUnique|findMany|upsert|createMany|updateMany)\s*\(/,
    /\$transaction\b/,
    /@prisma\/client\b/,
    // TypeORM
    /\bgetRepository\b/,
    /\bRepository<\w/,
    /\bcreateQueryBuilder\b/,
    /\bmanager\.transaction\b/,
    /\.(?:save|findOne|findOneBy|findOneOrFail|findBy|findAndCount)\s*\(/,
    /\bfrom\s+['"]typeorm['"]/,
    // Sequelize (Model.findOne, Model.create, …; capitalised model names, not Object/Promise/Array)
    /\b(?!Object\b|Promise\b|Array\b|Math\b|JSON\b|Date\b|Reflect\b)[A-Z]\w*\.(?:findOne|findAll|findByPk|findOrCreate|findAndCountAll|create|bulkCreate|update|upsert|increment|decrement|destroy)\s*\(/,
    /\bsequelize\.(?:transaction|query)\b/,
    // Knex
    /\bknex\s*[.(]/,
    /\btrx\b/,
    /\.(?:insert|where|whereIn|returning|forUpdate|increment)\s*\(/,
    // Drizzle
    /\bdb\.(?:select|insert|update|delete|transaction|query|execute)\b/,
    // Mongoose / MongoDB
    /\.(?:findOneAndUpdate|findOneAndDelete|findByIdAndUpdate|findById|updateOne|updateMany|insertOne|insertMany|deleteOne|bulkWrite)\s*\(/,
    /\bmongoose\b/,
    // node-postgres, mysql, sqlite drivers
    /\b(?:pool|client|db|conn|connection|pg|tx|trx)\.(?:query|execute|one|oneOrNone|many|none|any)\s*\(/,
    // Django ORM
    /\.objects\.(?:get|filter|exclude|create|get_or_create|update_or_create|update|select_for_update|bulk_create|all|exists|count)\s*\(/,
    /\bF\(\s*["']/,
    /\.(?:select_for_update|get_or_create|update_or_create)\s*\(/,
    /\bfrom\s+django\.db\b/,
    /\bmodels\.Model\b/,
    // Read/write routing (Django routers, replica settings): decides which reads can be stale
    /\bdef\s+db_for_(?:read|write)\b/,
    /\bDATABASE_ROUTERS\b/,
    /\.using\(\s*["'][\w-]+["']\s*\)/,
    // Payment and other APIs that take idempotency keys: duplicate effects live here
    /\bidempotency[_-]?key\b/i,
    // SQLAlchemy
    /\bsession\.(?:query|execute|add|add_all|commit|flush|scalar|scalars|get|merge|delete|begin|refresh)\b/,
    /(?<![\w.])(?:select|insert|update|delete)\(\s*[A-Z]\w*/,
    /\.with_for_update\s*\(/,
    /\bsqlalchemy\b/,
    // ActiveRecord
    /\.(?:find_by|find_or_create_by|create_or_find_by|find_or_initialize_by|update|save|lock|create|destroy|increment|decrement|update_columns?)!/,
    /\.(?:find_by|find_or_create_by|create_or_find_by|with_lock|where|update_all|update_columns|increment|pluck)\b/,
    // non-bang writes: `record.update(prefs: …)` / `update prefs: …`, `update_column(:f, v)`, a bare `record.save`
    /\.update(?:_attributes?)?(?:\(\s*|\s+)\w+:\s/,
    /\.update_(?:column|attribute)\(?\s*:\w+\s*,/,
    /\.save\s*$/m,
    // a model's own writes: `save!` / `update!(f: …)` / `update_column(:f, v)` with an implicit receiver
    /^\s*(?:self\.)?(?:save!?\s*$|update!\(|update_columns?\(|update_attribute\()/m,
    /\bActiveRecord::/,
    /<\s*ApplicationRecord\b/,
    // model scopes: queries the rest of the app builds on (`scope :overlapping, ->(a, b) { where(...) }`)
    /^\s*scope\s+:\w+\s*,/m,
    // Go database/sql, pgx, sqlx, gorm
    /\.(?:Query|QueryRow|Exec|Prepare|NamedExec|Get|Select)(?:Context)?\(\s*(?:ctx\b|context\.|"|`)/,
    /\.(?:BeginTx|Begin)\(/,
    /\btx\.\w+\(/,
    /\*sql\.(?:DB|Tx|Rows|Row|Conn)\b/,
    /\b(?:pgx|pgxpool|sqlx|gorm)\b/,
    // GORM chains: methods that take a pointer to a model (`Create(&in)`, `Model(&Hive{})`, `Find(&rows)`)
    /\.(?:Create|Save|Find|First|Take|Last|Model|Updates|Delete|FirstOrCreate|Scan)\(\s*&\w/,
    /["']database\/sql["']/,
    // Redis as a data store
    /\b\w*(?:redis|rdb|cache)\w*\.(?:get|set|incr|incrby|hset|hget|setnx|eval|watch|multi)\s*\(/i,
    // Framework caches filled and cleared around database writes (Rails.cache, Django's cache)
    /\b(?:Rails\.cache|cache)\.(?:fetch|delete|write|delete_matched|get_or_set|set_many|delete_many)\b/,
    // Search indexes read as data (Searchkick, elasticsearch-model, Chewy, django-elasticsearch-dsl): they lag the database
    /\b(?:searchkick|Searchkick|__elasticsearch__|Chewy::Index)\b/,
    /\b[A-Z]\w*(?:\.__elasticsearch__)?\.search\(/,
  ],
  queue: [
    // BullMQ / Bull
    /\bnew\s+(?:Queue|Worker|QueueEvents|FlowProducer|QueueScheduler)\s*[(<]/,
    /\bbullmq\b/,
    /\b\w*[qQ]ueue\.(?:add|addBulk|process)\s*\(/,
    /\.add\(\s*['"`][\w:.-]{1,64}['"`]\s*,/,
    /\bjob\.(?:data|id|name|attemptsMade|updateProgress|moveToFailed|moveToCompleted|remove|retry|opts)\b/,
    // amqplib / RabbitMQ
    /\b(?:channel|ch|chan)\.(?:ack|nack|reject|consume|publish|sendToQueue|assertQueue|assertExchange|prefetch|bindQueue)\s*\(/,
    /\bamqplib\b/,
    // kafkajs and Kafka clients
    /\bkafka\.(?:consumer|producer)\s*\(/,
    /\beach(?:Message|Batch)\b/,
    /\b(?:consumer|producer)\.(?:run|send|subscribe|commitOffsets|seek)\s*\(/,
    /\b(?:kafkajs|sarama|confluent_kafka|kafka-go)\b/,
    // SQS
    /\b(?:ReceiveMessage|DeleteMessage|SendMessage|ChangeMessageVisibility)(?:Batch)?(?:Command|Input)?\b/,
    /\bsqs\.\w+/i,
    /\b(?:receive_message|delete_message|send_message)\s*\(/,
    // Celery
    /@(?:\w+\.)?task\b/,
    /@shared_task\b/,
    /\.(?:delay|apply_async)\s*\(/,
    // Sidekiq and ActiveJob
    /\binclude\s+Sidekiq::(?:Job|Worker)\b/,
    /\.perform_(?:async|in|at|later|now)\b/,
    /\bApplicationJob\b/,
    /\bActiveJob\b/,
    // Redis streams and pub/sub
    /\.(?:xadd|xreadgroup|xack|xclaim|xautoclaim|xgroup|publish|subscribe|psubscribe)\s*\(/i,
    // Outbox, NATS, Pub/Sub
    /\boutbox\b/i,
    /\bnats\.\w/,
    /\bpubsub\b/i,
  ],
  async: [
    /\b(?:async|await)\b/,
    /\bPromise\.(?:all|allSettled|race|any|resolve|reject)\b/,
    /\bnew\s+Promise\b/,
    /\.then\s*\(/,
    /\b(?:setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/,
    /\bprocess\.nextTick\b/,
    /\b(?:worker_threads|Atomics)\b/,
    // Go
    /\bgo\s+func\b/,
    /^\s*go\s+[\w.]{1,128}\(/m,
    /\bchan\s+[\w*[\]]/,
    /\bsync\.(?:Mutex|RWMutex|WaitGroup|Once|Map|Cond)\b/,
    /\berrgroup\b/,
    /\batomic\.(?:Add|Load|Store|CompareAndSwap|Swap)\w*\(/,
    // Python
    /\b(?:threading|asyncio|multiprocessing|gevent|trio|anyio)\b/,
    /\bconcurrent\.futures\b/,
    /\b(?:Thread|ThreadPoolExecutor|ProcessPoolExecutor)\s*\(/,
    // Ruby
    /\bThread\.new\b/,
    /\bConcurrent::/,
    /\bMutex\.new\b/,
    /\bQueue\.new\b/,
  ],
  lock: [
    /\b(?:lock|locks|locked|locking|unlock|mutex|mutexes|advisory|semaphore)\b/i,
    /Mutex\b/,
    /\bR?Lock\s*\(/,
    /\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b/i,
    /\b(?:select_for_update|with_for_update|forUpdate|with_lock)\b/,
    /\block!/,
    /\bpg_(?:try_)?advisory_(?:xact_)?lock\w*/i,
    /\bGET_LOCK\s*\(/i,
    /\b(?:redlock|setnx)\b/i,
    /['"]NX['"]|\bnx:\s*true\b|\bNX:\s*true\b/,
  ],
  transaction: [
    /\bBEGIN\b/,
    /\b(?:COMMIT|ROLLBACK|SAVEPOINT)\b/,
    /\btransaction\b/i,
    /\bBeginTx\b|\.Begin\(\)/,
    /\batomic\b/,
    /\bFOR\s+UPDATE\b/i,
    /\bSERIALIZABLE\b|\bREPEATABLE\s+READ\b|\bisolation[_ ]?level\b/i,
    /\.(?:commit|Commit|rollback|Rollback)\s*\(/,
  ],
  migration: [
    /\bCREATE\s+(?:UNIQUE\s+)?INDEX\b/i,
    /\b(?:CREATE|ALTER)\s+TABLE\b/i,
    /\bEXCLUDE\s+USING\b/i,
    /\badd_index\b|\bcreate_table\b|\badd_column\b/,
    /\bUniqueConstraint\b|\bunique_together\b|\bunique=True\b/,
    /@@unique\b|@unique\b/,
    /\bunique:\s*true\b/,
    /\bmigrations\.\w+\(/,
  ],
};

/**
 * The tables compiled once: per signal, one alternation for each distinct set of flags
 * (most rules have none, so most signals are a single regular expression).
 */
const COMPILED: ReadonlyArray<readonly [Signal, RegExp]> = SIGNALS.flatMap((signal) => {
  const byFlags = new Map<string, string[]>();
  for (const rule of SIGNAL_RULES[signal]) {
    const sources = byFlags.get(rule.flags) ?? [];
    sources.push(`(?:${rule.source})`);
    byFlags.set(rule.flags, sources);
  }
  return [...byFlags].map(([flags, sources]) => [signal, new RegExp(sources.join('|'), flags)] as const);
});

/** Signals whose rules match the text. */
export function signalsIn(text: string): Signal[] {
  const found = new Set<Signal>();
  for (const [signal, re] of COMPILED) {
    if (found.has(signal)) continue;
    if (re.test(text)) found.add(signal);
  }
  // SQL statements are database access.
  if (found.has('sql')) found.add('database');
  return SIGNALS.filter((s) => found.has(s));
}

// ---------------------------------------------------------------------------------------------
// Classification

/** Section headers, added and context lines of every hunk, joined with "\n" (lineCount and longest: of the lines). */
function shownText(file: DiffFile): { text: string; lineCount: number; longest: number } {
  const parts: string[] = [];
  let longest = 0;
  let lineCount = 0;
  for (const h of file.hunks) {
    // The section header names the enclosing class or function (`class Booking < ApplicationRecord`):
    // a hunk inside a model or a transaction is database code even when its own lines do not say so.
    if (h.section) parts.push(h.section);
    for (const l of h.lines) {
      if (l.kind === 'del') continue;
      parts.push(l.text);
      lineCount++;
      if (l.text.length > longest) longest = l.text.length;
    }
  }
  return { text: parts.join('\n'), lineCount, longest };
}

function hasGeneratedBanner(file: DiffFile): boolean {
  for (const h of file.hunks) {
    for (const l of h.lines) {
      if (l.kind === 'add' && l.text.length < 400 && GENERATED_BANNER.test(l.text)) return true;
    }
  }
  return false;
}

function drop(reason: DropReason, language: Language): Classification {
  return { relevant: false, reason, language, signals: [] };
}

/** Decides whether one file of a diff is worth the detectors' time, and why. */
export function classifyFile(file: DiffFile): Classification {
  const path = file.newPath ?? file.oldPath ?? '';
  const language = languageOf(path);
  const base = baseName(path);

  if (file.status === 'deleted' || file.newPath === null) return drop('deleted', language);
  if (file.binary) return drop('binary', language);
  if (file.status === 'mode-only' || file.hunks.length === 0) return drop('no content change', language);
  if (LOCKFILES.has(base)) return drop('lockfile', language);
  if (VENDORED_PATH.test(path)) return drop('vendored', language);
  if (GENERATED_PATH.some((re) => re.test(path)) || hasGeneratedBanner(file)) return drop('generated', language);

  const shown = shownText(file);
  if (
    MINIFIED_PATH.test(path) ||
    (language === 'javascript' && shown.longest > MINIFIED_LINE_LENGTH && shown.lineCount <= MINIFIED_MAX_LINES)
  ) {
    return drop('minified', language);
  }
  if (DOC_EXTENSIONS.has(extensionOf(path)) || DOCS_PATH.test(path)) return drop('docs', language);
  if (language === 'other') {
    if (SCHEMA_FILE.test(path)) return { relevant: true, reason: 'schema (migration)', language, signals: ['migration'] };
    return drop('not code', language);
  }

  const signals = signalsIn(shown.text);
  // Migrations and SQL files carry the constraints (unique, exclusion) that detectors need to stay quiet.
  if (MIGRATION_PATH.test(path) || language === 'sql') {
    if (!signals.includes('migration')) signals.push('migration');
    if (language === 'sql' && !signals.includes('sql')) signals.push('sql', 'database');
    const ordered = SIGNALS.filter((s) => signals.includes(s));
    return { relevant: true, reason: `migration (${ordered.join(', ')})`, language, signals: ordered };
  }
  if (signals.length === 0) return drop('no concurrency signal', language);
  return { relevant: true, reason: `signals: ${signals.join(', ')}`, language, signals };
}

/** Keeps the files worth reviewing, with their language and signals, and counts what was dropped and why. */
export function filterDiff(files: DiffFile[]): { kept: KeptFile[]; stats: FilterStats } {
  const classes = files.map(classifyFile);
  // A file with no signal of its own that calls a function a kept file of the diff defines (a service calling the
  // diff's own repository or store) is kept too: the check and the act of a hazard are often split between the two.
  // The kept files' definitions are read only when some file could be kept that way.
  const candidate = (c: Classification, file: DiffFile) => !c.relevant && c.reason === 'no concurrency signal' && !TEST_PATH.test(file.newPath ?? '');
  const defined = classes.some((c, i) => candidate(c, files[i]!)) ? definedNames(files.filter((_, i) => classes[i]!.relevant)) : new Set<string>();
  const kept: KeptFile[] = [];
  const droppedBy: Record<string, number> = {};
  let dropped = 0;
  files.forEach((file, i) => {
    let c = classes[i]!;
    if (candidate(c, file) && defined.size > 0 && callsAny(shownText(file).text, defined)) {
      c = { relevant: true, reason: 'calls database code of the diff', language: c.language, signals: ['database'] };
    }
    if (c.relevant) {
      kept.push({ file, language: c.language, signals: c.signals });
    } else {
      dropped++;
      droppedBy[c.reason] = (droppedBy[c.reason] ?? 0) + 1;
    }
  });
  return { kept, stats: { kept: kept.length, dropped, droppedBy } };
}

/** Tests call the code under test by design: that alone does not make them worth reviewing. */
const TEST_PATH = /(?:^|\/)(?:__tests__|tests?|spec|specs|e2e)\/|\.(?:test|spec)\.[cm]?[jt]sx?$|_test\.go$|(?:^|\/)test_[^/]*\.py$|_spec\.rb$|_test\.rb$/;

/** Names too common to tie one file to another (`render(`, `handle(`, `map(`). */
const GENERIC_NAMES = new Set('constructor toString render init main handle call then catch finally filter reduce push split join format parse String Number Boolean Error Date Promise require import print println Printf Sprintf Errorf'.split(' '));

/** Functions and methods the files define (names of four characters or more), from what their hunks show. */
function definedNames(files: readonly DiffFile[]): Set<string> {
  const names = new Set<string>();
  const DEFS = [
    /\bdef\s+(?:self\.)?([A-Za-z_]\w{3,}[?!]?)/g,
    /\bfunction\s*\*?\s*([A-Za-z_$][\w$]{3,})/g,
    /\bfunc\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w{3,})\s*\(/g,
    /\b(?:const|let|var)\s+([A-Za-z_$][\w$]{3,})\s*=\s*(?:async\s*)?(?:\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>/g,
    /^[ \t]+(?:(?:public|private|protected|static|readonly|async|override)\s+)*([A-Za-z_$][\w$]{3,})\s*(?:<[^>\n]*>)?\([^)\n]*\)\s*(?::\s*[^{;\n]+)?\{/gm,
  ];
  for (const f of files) {
    const text = shownText(f).text;
    for (const re of DEFS) for (const m of text.matchAll(re)) if (!GENERIC_NAMES.has(m[1]!) && !JS_KEYWORDS.has(m[1]!)) names.add(m[1]!);
  }
  return names;
}

const JS_KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'function', 'await', 'typeof', 'super', 'elif', 'else']);

/** Whether `text` calls one of `names` (`repo.findActiveHold(`, `s.repo.MarkDispatched(`, `find_open_claim(`). */
function callsAny(text: string, names: ReadonlySet<string>): boolean {
  for (const m of text.matchAll(/([A-Za-z_$][\w$]{3,}[?!]?)\s*\(/g)) if (names.has(m[1]!)) return true;
  return false;
}
