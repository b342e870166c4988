import { sql, type Kysely, type Migration } from 'kysely';

/**
 * A counter of its own for the daily LLM budget. The reporting counters
 * (input_tokens, output_tokens) say what reviews used; budget_tokens holds what
 * is reserved for requests in flight plus what finished requests really used
 * (input + output), so a reservation never mixes with the figures reported.
 */
export function budgetTokens(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`ALTER TABLE usage_counters ADD COLUMN budget_tokens BIGINT NOT NULL DEFAULT 0`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`ALTER TABLE usage_counters DROP COLUMN budget_tokens`.execute(db);
    },
  };
}
