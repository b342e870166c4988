/** Upgrading a database made by an earlier release: later migrations apply on top and keep the data. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, sql, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { migrationProvider } from '../../src/store/migrations/index.js';

describe('migrations', () => {
  it('002-budget-tokens adds the budget counter to a 001 database, keeping its usage rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concdbg-migrate-'));
    try {
      const file = join(dir, 'db.sqlite');
      const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
      const { error } = await new Migrator({ db: old, provider: migrationProvider('sqlite') }).migrateTo('001-initial');
      expect(error).toBeUndefined();
      await sql`INSERT INTO usage_counters (installation_id, day, input_tokens, output_tokens, reviews) VALUES (4, '2025-03-01', 1200, 300, 2)`.execute(old);
      await old.destroy();

      const store = await openStore(`sqlite:${file}`);
      try {
        expect(await store.getUsage(4, '2025-03-01')).toEqual({ installationId: 4, day: '2025-03-01', inputTokens: 1200, outputTokens: 300, reviews: 2, budgetTokens: 0 });
        expect(await store.reserveUsage(4, '2025-03-01', 'budgetTokens', 500, 500)).toBe(true);
        expect((await store.getUsage(4, '2025-03-01')).budgetTokens).toBe(500);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
