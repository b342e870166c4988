import type { Migration, MigrationProvider } from 'kysely';
import { initialSchema } from './001-initial.js';
import { budgetTokens } from './002-budget-tokens.js';
import { enqueueFunction } from './003-enqueue-function.js';

export type StoreDialect = 'sqlite' | 'postgres';

/**
 * Migrations as code, applied by Kysely's Migrator (which keeps its own
 * bookkeeping table and, on PostgreSQL, an advisory lock so replicas starting
 * together migrate once). Names sort in the order they apply: add
 * "002-…" next, never edit a migration that has shipped.
 */
export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '001-initial': initialSchema(dialect),
        '002-budget-tokens': budgetTokens(),
        '003-enqueue-function': enqueueFunction(dialect),
      };
    },
  };
}
