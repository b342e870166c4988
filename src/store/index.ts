import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationProvider, type StoreDialect } from './migrations/index.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';
import { StatementCache } from './sqlite-statements.js';
import type { Store } from './types.js';

export * from './types.js';

export const DEFAULT_DATABASE_URL = 'sqlite:./concdbg.sqlite';

const HOW_TO_SET =
  'set DATABASE_URL to sqlite:PATH (default sqlite:./concdbg.sqlite, or sqlite::memory: for tests) ' +
  'or postgres://USER:PASSWORD@HOST:PORT/DATABASE for several replicas';

export type DatabaseTarget =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; connectionString: string };

/**
 * Parse `DATABASE_URL`. `sqlite:PATH` (also `sqlite://PATH`, `sqlite::memory:`)
 * or `postgres://…` / `postgresql://…`. Throws an Error that names DATABASE_URL
 * and says what to set; the message never echoes a password.
 */
export function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  const url = databaseUrl.trim();
  if (/^sqlite:/i.test(url)) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new Error(`DATABASE_URL "sqlite:" names no file: ${HOW_TO_SET}`);
    return { kind: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    try {
      const parsed = new URL(url);
      if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw new Error('no host');
    } catch {
      throw new Error(`DATABASE_URL is not a valid PostgreSQL URL: ${HOW_TO_SET}`);
    }
    return { kind: 'postgres', connectionString: url };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  const what = url === '' ? 'is empty' : scheme ? `uses the unsupported scheme "${scheme}:"` : 'is not a database URL';
  throw new Error(`DATABASE_URL ${what}: ${HOW_TO_SET}`);
}

export interface OpenStoreOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /**
   * PostgreSQL connections opened at start and kept open while idle (default
   * 4, at most poolSize): a burst of webhooks after a quiet spell would
   * otherwise wait for new backends to start (hundreds of ms on a busy host).
   */
  poolMin?: number;
  /** SQLite busy_timeout in ms: how long a writer waits for another process's lock (default 5000). */
  busyTimeoutMs?: number;
  /** Apply pending migrations at open (default true). */
  migrate?: boolean;
}

/**
 * Open the store named by a `DATABASE_URL` and bring its schema up to date.
 *
 *   const store = await openStore(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
 *
 * SQLite is for one app process (WAL lets separate worker processes share
 * the file, but run migrations from one process first). Use PostgreSQL for
 * several replicas; they may open the store at the same time.
 */
export async function openStore(databaseUrl: string = DEFAULT_DATABASE_URL, opts: OpenStoreOptions = {}): Promise<Store> {
  const target = parseDatabaseUrl(databaseUrl);
  const opened = target.kind === 'sqlite' ? { ...openSqlite(target.path, opts), pool: null } : { ...openPostgres(target.connectionString, opts), sqlite: null };
  const db = opened.kysely;
  try {
    if (opts.migrate !== false) await migrate(db, target.kind);
    else await db.selectFrom('review_jobs').select('id').limit(1).execute();
    if (opened.pool) await warmPool(opened.pool, opened.poolMin);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new Error(`cannot open the store at ${describeTarget(target)} (DATABASE_URL): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return new SqlStore(target.kind, db, opened.sqlite);
}

function openSqlite(path: string, opts: OpenStoreOptions): { kysely: Kysely<Database>; sqlite: StatementCache } {
  const memory = path === ':memory:';
  if (!memory && !existsSync(dirname(resolve(path)))) {
    throw new Error(`DATABASE_URL names the SQLite file ${path}, but its directory does not exist: create it or ${HOW_TO_SET}`);
  }
  const sqlite = new BetterSqlite3(path);
  // busy_timeout first: switching to WAL needs a lock another process may hold.
  sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
  if (!memory) sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  const statements = new StatementCache(sqlite);
  return { kysely: new Kysely<Database>({ dialect: new SqliteDialect({ database: statements.forKysely() }) }), sqlite: statements };
}

/** BIGINT (int8) columns hold epoch ms and GitHub ids, all far below 2^53: read them as numbers. */
const INT8_OID = 20;

function openPostgres(connectionString: string, opts: OpenStoreOptions): { kysely: Kysely<Database>; pool: pg.Pool; poolMin: number } {
  const max = Math.max(1, opts.poolSize ?? 10);
  const poolMin = Math.min(max, Math.max(0, opts.poolMin ?? 4));
  const pool = new pg.Pool({
    connectionString,
    max,
    // Idle connections above `min` close after 30 s; `min` of them stay open.
    min: poolMin,
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return { kysely: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), pool, poolMin };
}

/** Open `count` connections now, in parallel, and leave them idle in the pool. */
async function warmPool(pool: pg.Pool, count: number): Promise<void> {
  // Holding `count` at once makes the pool reuse its idle ones and open the rest.
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
  for (const c of clients) c.release();
}

async function migrate(db: Kysely<Database>, dialect: StoreDialect): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  // Replicas starting together can race on creating Kysely's own bookkeeping
  // tables (CREATE TABLE IF NOT EXISTS is not atomic in PostgreSQL); the
  // migrations themselves run under Kysely's advisory lock. Retry that race.
  for (let attempt = 1; ; attempt++) {
    const { error } = await migrator.migrateToLatest();
    if (!error) return;
    if (attempt >= 3 || !/already exists|duplicate key/i.test(String((error as Error).message))) throw error;
    await new Promise((r) => setTimeout(r, 50 * attempt));
  }
}

function describeTarget(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return `sqlite:${target.path}`;
  try {
    const u = new URL(target.connectionString);
    return `postgres://${u.host}${u.pathname}`;
  } catch {
    return 'postgres';
  }
}
