import { describe, expect, it } from 'vitest';
import { collectSchema, hasUnique } from '../../src/parse/schema.js';
import type { SourceFile } from '../../src/parse/types.js';

const file = (path: string, text: string) => ({ path, lines: text.split('\n') }) as unknown as SourceFile;

describe('collectSchema', () => {
  it('a Prisma model mapped to its own plural keeps its constraints under both names (and terminates)', () => {
    const facts = collectSchema([
      file(
        'prisma/schema.prisma',
        `model Review {
  id      Int    @id
  roomId  Int
  author  String
  @@unique([roomId, author])
  @@map("reviews")
}`,
      ),
    ]);
    expect(hasUnique(facts, 'reviews', ['roomid', 'author'])).toBe(true);
    expect(hasUnique(facts, 'Review', ['roomid', 'author'])).toBe(true);
    expect(hasUnique(facts, 'reviews', ['author'])).toBe(false);
  });

  it('reads unique indexes, table constraints and exclusion constraints from SQL', () => {
    const facts = collectSchema([
      file(
        'migrations/001.sql',
        `CREATE TABLE bookings (id bigserial PRIMARY KEY, room_id int, during tstzrange,
  EXCLUDE USING gist (room_id WITH =, during WITH &&));
CREATE UNIQUE INDEX seats_event_row ON seats (event_id, row_no);`,
      ),
    ]);
    expect(hasUnique(facts, 'seats', ['event_id', 'row_no'])).toBe(true);
    expect(facts.exclusion.has('bookings')).toBe(true);
  });
});
