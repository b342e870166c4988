/** Phantom: a range/predicate read gates an insert; a concurrent insert enters the range. */
import { camel, code, concurrentTest, fenced, singular, snake, type Ctx, type ModeText } from '../common.js';

type Pattern = 'max-plus-one' | 'no-overlap' | 'count-in-range';

function patternOf(x: Ctx): Pattern {
  const p = x.fact('pattern', '') as Pattern;
  if (p) return p;
  const all = x.c.evidence.map((e) => e.text).join('\n') + x.c.title;
  if (/_max|\bmax\s*\(|MAX\(|\.maximum\(|Max\(|aggregate/i.test(all) && !/overlap|exists/i.test(all)) return 'max-plus-one';
  if (/overlap|EXISTS|\bexists\b|[<>]=?\s*\$?\w+.*[<>]=?|tstzrange|between/i.test(all)) return 'no-overlap';
  return 'count-in-range';
}

export function diagnose(x: Ctx): ModeText {
  const pattern = patternOf(x);
  const range = x.ev('range-check', 0);
  const insert = x.ev('insert', -1);
  const rangeCall = x.callOn(range, 'rangeCall', 'the range query');
  const insertCall = x.callOn(insert, 'insertCall', 'the insert');
  const scope = x.fact('scopeColumn', x.keyColumns[0] ?? '');
  const scopeText = scope ? `the same ${scope}` : `the same ${x.entity}`;
  const column = x.fact('column', pattern === 'max-plus-one' ? 'position' : 'the range');
  const [startCol, endCol] = x.fact('rangeColumns', 'starts_at, ends_at').split(/[,\s]+/).filter(Boolean);
  const isolation = x.fact('isolation', 'READ COMMITTED');
  const thing = x.thing;
  const aThing = `${/^[aeiou]/i.test(thing) ? 'an' : 'a'} ${thing}`;
  // max-plus-one may write the number onto an existing row (`update!(seq: last + 1)`) instead of inserting one.
  const ontoRow = x.fact('writesExistingRow', '') === 'yes';

  const what: Record<Pattern, string> = {
    'max-plus-one': ontoRow
      ? `${x.cite(range)} reads the current maximum ${column} over ${scopeText} and ${x.cite(insert)} writes max + 1 onto ${aThing}`
      : `${x.cite(range)} reads the current maximum ${column} over ${scopeText} and ${x.cite(insert)} inserts ${aThing} at max + 1`,
    'no-overlap': `${x.cite(range)} checks that no ${thing} of ${scopeText} overlaps the requested range, and ${x.cite(insert)} inserts one for that range`,
    'count-in-range': `${x.cite(range)} counts the ${x.table} rows in a range of ${scopeText}, and ${x.cite(insert)} inserts another one when the count allows it`,
  };

  const explanation = [
    `This is a phantom (phantom_read) in ${x.fnLabel}: ${what[pattern]}. ${ontoRow ? `The value that would change the answer is the one a concurrent ${x.actors.kind} is writing right now; it is not committed when the maximum is read, so both ${x.actors.kind}s read the same maximum and both write max + 1.` : `The row that would change the answer is the one a concurrent ${x.actors.kind} is about to insert; it does not exist when the predicate is evaluated, so both ${x.actors.kind}s see the same answer and both insert.`} At ${isolation} the predicate is never re-checked, and there is no row to lock (FOR UPDATE on an empty or partial result locks nothing that a new row would conflict with).`,
    '',
    'Why not the nearest other modes:',
    `- Not toctou: the check is not a lookup of one exact key; it is a predicate over a range of rows${pattern === 'max-plus-one' ? ` (the derived key (${scope || 'scope'}, ${column}) is what a unique constraint must protect)` : ' (overlap is not equality, so a plain unique index cannot express it)'}.`,
    `- Not write_skew: the conflicting write is a new row entering the range that was read, not an update to a different existing row of a checked set.`,
    `- Not lost_update: nothing is read and written back on one row; both inserts succeed side by side.`,
  ].join('\n');

  const v = pattern === 'max-plus-one' ? ['max = 7', `${ontoRow ? 'writes' : 'inserts'} ${column} = 8`] : pattern === 'no-overlap' ? ['no overlapping row', 'inserts its range'] : ['count = limit − 1', 'inserts one more'];
  const interleaving = [
    x.step(0, 'a', range, `${rangeCall} over ${scopeText} → ${v[0]}`),
    x.step(1, 'b', range, `${rangeCall} over ${scopeText} → ${v[0]} (A's row is not committed, so it is not in the range)`),
    x.step(2, 'a', insert, `${insertCall} ${v[1]}`),
    x.step(3, 'b', insert, `${insertCall} ${v[1]}${pattern === 'max-plus-one' ? ' as well' : ', overlapping A'}`),
    x.step(4, 'a', undefined, 'COMMIT'),
    x.step(5, 'b', undefined, `COMMIT: no constraint ${pattern === 'max-plus-one' ? `on (${scope || 'scope'}, ${column})` : 'on overlapping ranges'} rejects it`),
    pattern === 'max-plus-one'
      ? `Result: two ${x.table} rows share ${column} 8 in ${scopeText}; their order is arbitrary and later inserts keep the duplicate.`
      : pattern === 'no-overlap'
        ? `Result: two overlapping ${x.table} for ${scopeText}: a double booking.`
        : `Result: the range holds one more ${thing} than the limit allows.`,
  ];

  const n = 10;
  const missingTest = concurrentTest(x, {
    should: pattern === 'max-plus-one' ? `gives every ${thing} a distinct ${column}` : pattern === 'no-overlap' ? `accepts only one of ${n} overlapping ${x.table}` : `never exceeds the limit`,
    n,
    assert:
      pattern === 'max-plus-one'
        ? {
            js: `const positions = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.${camel(column)}] : []));\nexpect(positions).toHaveLength(${n});\nexpect(new Set(positions).size).toBe(${n}); // no duplicates`,
            python: `positions = [r.${snake(column)} for r in results if not isinstance(r, Exception)]\nassert len(positions) == N\nassert len(set(positions)) == N`,
            ruby: `positions = results.reject { |r| r.is_a?(StandardError) }.map(&:${snake(column)})\nexpect(positions.uniq.size).to eq(n)`,
            go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n}\nvar dupes int\nif err := db.QueryRowContext(ctx, \`SELECT count(*) - count(DISTINCT ${snake(column)}) FROM ${x.table} WHERE ${snake(scope || 'scope_id')} = $1\`, ${camel(scope || 'scopeID')}).Scan(&dupes); err != nil {\n\tt.Fatal(err)\n}\nif dupes != 0 {\n\tt.Fatalf("%d duplicate ${snake(column)} values", dupes)\n}`,
          }
        : {
            js: `expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);`,
            python: `assert len([r for r in results if not isinstance(r, Exception)]) == 1`,
            ruby: `expect(results.count { |r| !r.is_a?(StandardError) }).to eq(1)`,
            go: `ok := 0\nfor err := range errs {\n\tif err == nil {\n\t\tok++\n\t}\n}\nif ok != 1 {\n\tt.Fatalf("want exactly 1 accepted, got %d overlapping ${x.table}", ok)\n}`,
          },
  });

  const fix = buildFix(x, pattern, { scope, column, startCol: startCol ?? 'starts_at', endCol: endCol ?? 'ends_at', insertCall });

  const whatNotToDo = [
    `Don't add SELECT … FOR UPDATE to ${rangeCall}: PostgreSQL locks the rows it returns, not the gap a new row will fill.`,
    `Don't switch to REPEATABLE READ: in PostgreSQL it is snapshot isolation and lets both inserts commit.`,
    pattern === 'max-plus-one'
      ? `Don't move the max() into the INSERT (INSERT … SELECT max(${column}) + 1): it still reads a snapshot without the other insert.`
      : `Don't re-run ${rangeCall} after the insert and delete on conflict: both ${x.actors.kind}s may delete, or neither.`,
    `Don't retry ${insertCall} in a loop without a constraint: nothing tells you it collided.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

function buildFix(x: Ctx, p: Pattern, b: { scope: string; column: string; startCol: string; endCol: string; insertCall: string }): string {
  // The scope may be several columns ("account_id, fiscal_year"): the first is the parent, all are in the key.
  const scopes = (b.scope || 'scope_id').split(/\s*,\s*/).filter(Boolean).map(snake);
  const scope = scopes[0]!;
  const col = snake(b.column === 'the range' ? 'position' : b.column);
  if (p === 'no-overlap') {
    const ddl = `CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE ${x.table}
  ADD CONSTRAINT ${x.table}_no_overlap
  EXCLUDE USING gist (${scopes.map((c) => `${c} WITH =`).join(', ')}, tstzrange(${snake(b.startCol)}, ${snake(b.endCol)}) WITH &&)
  WHERE (status <> 'cancelled');`;
    const map =
      x.fam === 'go'
        ? `var pgErr *pgconn.PgError
if errors.As(err, &pgErr) && pgErr.Code == "23P01" { // exclusion_violation
	return nil, ErrUnavailable
}`
        : x.fam === 'python'
          ? `except IntegrityError as exc:\n    if getattr(exc.__cause__, "pgcode", None) == "23P01":  # exclusion_violation\n        raise Unavailable()\n    raise`
          : x.fam === 'ruby'
            ? `rescue ActiveRecord::StatementInvalid => e\n  raise Unavailable if e.cause.is_a?(PG::ExclusionViolation)\n  raise`
            : `} catch (err) {\n  if ((err as { code?: string }).code === '23P01') throw new UnavailableError(); // exclusion_violation\n  throw err;\n}`;
    return [
      `Let the database enforce "no overlap" with an exclusion constraint, insert directly (drop the pre-check or keep it only for a friendly message) and map the violation (SQLSTATE 23P01) to "unavailable". Two concurrent inserts for overlapping ranges cannot both commit: the second waits for the first, then fails.`,
      fenced('sql', ddl),
      fenced(x.fence, map),
      `Alternatives: lock the parent row (SELECT … FROM the ${b.scope || 'scope'} owner FOR UPDATE) before the check so bookings for it serialize, or run at SERIALIZABLE and retry on 40001.`,
    ].join('\n\n');
  }
  if (p === 'max-plus-one') {
    const alloc =
      x.fam === 'js' && x.orm === 'prisma'
        ? `await prisma.$transaction(async (tx) => {
  const parent = await tx.parent.update({ where: { id: ${camel(scope)} }, data: { next${camel('_' + col)}: { increment: 1 } } });
  return tx.${camel(x.model.charAt(0).toLowerCase() + x.model.slice(1))}.create({ data: { ${camel(scope)}, ${camel(col)}: parent.next${camel('_' + col)} - 1 /* … */ } });
});`
        : x.fam === 'python'
          ? `with transaction.atomic():\n    Parent.objects.filter(pk=${scope}).update(next_${col}=F("next_${col}") + 1)\n    ${col} = Parent.objects.values_list("next_${col}", flat=True).get(pk=${scope}) - 1\n    ${x.model}.objects.create(${scope}=${scope}, ${col}=${col})`
          : x.fam === 'go'
            ? `err := tx.QueryRowContext(ctx, \`UPDATE parents SET next_${col} = next_${col} + 1 WHERE id = $1 RETURNING next_${col} - 1\`, ${camel(scope)}).Scan(&${camel(col)})`
            : `UPDATE parents SET next_${col} = next_${col} + 1 WHERE id = $1 RETURNING next_${col} - 1; -- then INSERT with that ${col}`;
    return [
      `Back the derived key with a unique constraint, and allocate ${col} atomically instead of from max() + 1: keep a next_${col} counter on the parent row and take it with an atomic UPDATE … RETURNING in the same transaction (the row lock serializes allocations per ${b.scope || 'scope'}). A sequence/identity column works when gaps are fine.`,
      fenced('sql', `CREATE UNIQUE INDEX CONCURRENTLY ${x.table}_${scopes.join('_')}_${col}_key ON ${x.table} (${scopes.join(', ')}, ${col});`),
      fenced(x.fence, alloc),
    ].join('\n\n');
  }
  return [
    `Serialize inserts into the range: lock the parent row (${b.scope || 'the scope owner'}) FOR UPDATE before counting, or keep the count as a column on the parent and reserve with a guarded atomic update (\`UPDATE … SET used = used + 1 WHERE id = $1 AND used < limit\`), or run at SERIALIZABLE and retry on 40001.`,
    fenced('sql', `UPDATE parents SET used = used + 1 WHERE id = $1 AND used < max_allowed RETURNING used; -- 0 rows: full`),
  ].join('\n\n');
}
