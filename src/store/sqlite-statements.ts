import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * better-sqlite3 compiles a statement on every `prepare` (~0.1–0.2 ms for the
 * job queries), and both Kysely's SQLite driver and the store's synchronous
 * transactions used to prepare each statement for every call. The store's SQL
 * is a small fixed set of strings (values are bound parameters), so each is
 * prepared once and reused.
 *
 * Reuse is safe because every use runs a statement to completion
 * synchronously (`all` / `run`) before anything else can touch it: Kysely's
 * SQLite driver serialises its connection, and the store's transactions are
 * synchronous. The one exception would be a streamed query (`iterate` held
 * across awaits), which the store never makes.
 */
export class StatementCache {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    readonly db: BetterSqlite3.Database,
    /** Statements kept; the least recently used one is dropped past this. */
    private readonly max = 200,
  ) {}

  prepare(sql: string): BetterSqlite3.Statement {
    const hit = this.statements.get(sql);
    if (hit) {
      // Refresh its place in the Map's order (oldest first).
      this.statements.delete(sql);
      this.statements.set(sql, hit);
      return hit;
    }
    const stmt = this.db.prepare(sql);
    this.statements.set(sql, stmt);
    if (this.statements.size > this.max) {
      const oldest = this.statements.keys().next().value as string;
      this.statements.delete(oldest);
    }
    return stmt;
  }

  get size(): number {
    return this.statements.size;
  }

  /** The database as Kysely's SqliteDialect takes it, preparing through this cache. */
  forKysely(): SqliteDatabase {
    return {
      close: () => {
        this.statements.clear();
        this.db.close();
      },
      prepare: (sql: string) => this.prepare(sql),
    };
  }
}
