/** Write skew: an invariant over several rows is checked, then a different row is written. */
import { callWithFirst, camel, code, concurrentTest, fenced, plural, singular, snake, type Ctx, type ModeText } from '../common.js';

export function diagnose(x: Ctx): ModeText {
  const check = x.ev('check', 0);
  const write = x.ev('write', -1);
  const checkCall = x.callOn(check, 'checkCall', 'the aggregate check');
  const writeCall = x.callOn(write, 'writeCall', 'the write');
  const invariant = x.fact('invariant', `the rule checked at ${x.at(check)}`);
  const parentKey = x.fact('parentKey', '');
  const parentTable = x.fact('parentTable', parentKey ? plural(parentKey.replace(/_?id$/i, '')) : '');
  const parent = parentTable ? singular(parentTable) : 'parent';
  const isolation = x.fact('isolation', 'READ COMMITTED');
  const thing = x.thing;
  const scope = parentTable ? `the same ${parent}` : `the same set of ${x.table}`;

  const explanation = [
    `This is write skew on ${code(x.table)} in ${x.fnLabel}: the invariant (${invariant}) depends on several rows, read together by ${x.cite(check)}, but ${x.cite(write)} writes only one row. Two ${x.actors.kind}s acting on different ${x.table} rows of ${scope} each read the set before the other commits, each sees the invariant hold, and each writes its own row. The writes touch different rows, so at ${isolation} (and at REPEATABLE READ, which is snapshot isolation in PostgreSQL) nothing conflicts and both commit.`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update: no row is overwritten; each ${x.actors.kind} writes a different ${thing}, so row locks never collide and an atomic \`SET x = x + 1\` has nothing to protect.`,
    `- Not toctou: the check is not "does this one key exist"; no unique constraint can express ${invariant}.`,
    `- Not phantom_read: the rows the check counts already exist; the concurrent change updates a row inside the checked set rather than inserting a new one into a range (if the writes were inserts, it would be the phantom variant of the same problem, with the same fixes).`,
  ].join('\n');

  const interleaving = [
    x.step(0, 'a', check, `${checkCall} over ${scope} → invariant holds (say 2 rows qualify)`),
    x.step(1, 'b', check, `${checkCall} over ${scope} → same snapshot, invariant holds (A's change is not committed)`),
    x.step(2, 'a', write, `${writeCall} on its ${thing} (row 1)`),
    x.step(3, 'b', write, `${writeCall} on a different ${thing} (row 2): no row lock conflict with A`),
    x.step(4, 'a', undefined, 'COMMIT succeeds'),
    x.step(5, 'b', undefined, `COMMIT succeeds too: ${isolation} sees no conflict between different rows`),
    `Result: both changes are stored and ${invariant} no longer holds for ${scope}, though each ${x.actors.kind} checked it.`,
  ];

  const idOf = x.fam === 'python' || x.fam === 'ruby' ? `[first, second][i].id` : x.fam === 'go' ? `ids[i]` : `[first, second][i]!.id`;
  const missingTest = concurrentTest(x, {
    should: `lets only one of two changes that together break the rule succeed`,
    n: 2,
    setup: {
      js: `// seed ${scope} so that either change alone is allowed but both together break: ${invariant}\nconst [first, second] = await seedTwo${x.model}s();`,
      python: `# seed ${scope}: either change alone is allowed, both together break the rule\nfirst, second = seed_two_${snake(plural(x.model))}()`,
      ruby: `# seed ${scope}: either change alone is allowed, both together break the rule\nfirst, second = create_list(:${snake(x.model)}, 2)`,
      go: `ids := seedTwo${x.model}s(t, db) // either change alone is allowed, both together break the rule`,
    },
    call: {
      js: callWithFirst(x, idOf),
      python: callWithFirst(x, idOf),
      ruby: callWithFirst(x, idOf),
      go: `_, err := ${callWithFirst(x, idOf)}\n\t\t\t\treturn err`,
    },
    assert: {
      js: `expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1); // the second must see the first`,
      python: `assert len([r for r in results if not isinstance(r, Exception)]) == 1`,
      ruby: `expect(results.count { |r| !r.is_a?(StandardError) }).to eq(1)`,
      go: `ok := 0\nfor err := range errs {\n\tif err == nil {\n\t\tok++\n\t}\n}\nif ok != 1 {\n\tt.Fatalf("want exactly 1 successful change, got %d: the invariant is broken", ok)\n}`,
    },
  });

  const fix = buildFix(x, parentTable, parentKey, checkCall);

  const whatNotToDo = [
    `Don't lock only the row you write (${writeCall} on one ${thing}): the other ${x.actors.kind} writes a different row.`,
    `Don't switch to REPEATABLE READ: in PostgreSQL it is snapshot isolation and allows exactly this anomaly.`,
    `Don't re-run ${checkCall} after the write in application code: both ${x.actors.kind}s still see only their own uncommitted change.`,
    `Don't turn on SERIALIZABLE without a retry loop on SQLSTATE 40001: the conflict becomes a user-facing error instead of a retry.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

function buildFix(x: Ctx, parentTable: string, parentKey: string, checkCall: string): string {
  const pt = parentTable || 'the parent table';
  const pk = parentKey || 'parent_id';
  const lockSql = `SELECT id FROM ${parentTable || '<parent>'} WHERE id = $1 FOR UPDATE; -- before ${checkCall}`;
  let lockCode = '';
  switch (x.fam) {
    case 'js':
      if (x.orm === 'knex') lockCode = `await trx('${parentTable || 'parents'}').where({ id: request.${pk} }).forUpdate().first('id');`;
      else if (x.orm === 'prisma') lockCode = `await prisma.$transaction(async (tx) => {\n  await tx.$queryRaw\`SELECT id FROM ${parentTable || 'parents'} WHERE id = \${${camel(pk)}} FOR UPDATE\`;\n  // … ${checkCall} and the write, unchanged\n});`;
      else if (x.orm === 'sequelize') lockCode = `await ${singular(parentTable || 'parent').replace(/^./, (s) => s.toUpperCase())}.findByPk(${camel(pk)}, { transaction: t, lock: t.LOCK.UPDATE });`;
      else lockCode = `await client.query('BEGIN');\nawait client.query('${lockSql.split(';')[0]}', [${camel(pk)}]);\n// … ${checkCall} and the write, then COMMIT`;
      break;
    case 'python':
      lockCode =
        x.orm === 'sqlalchemy'
          ? `session.execute(select(Parent).where(Parent.id == ${pk}).with_for_update())`
          : `with transaction.atomic():\n    ${singular(parentTable || 'parent').replace(/^./, (s) => s.toUpperCase())}.objects.select_for_update().get(pk=${pk})\n    # … ${checkCall} and the write, unchanged`;
      break;
    case 'ruby':
      lockCode = `${x.model}.transaction do\n  ${parentTable ? `${singular(parentTable)}.lock!` : 'parent.lock!'} # SELECT … FOR UPDATE on the ${singular(pt)} row\n  # … ${checkCall} and the write, unchanged\nend`;
      break;
    case 'go':
      lockCode = `if _, err := tx.ExecContext(ctx, \`${lockSql.split(';')[0]}\`, ${camel(pk)}); err != nil {\n\treturn err\n}\n// … ${checkCall} and the write, unchanged`;
      break;
    default:
      lockCode = lockSql;
  }
  const retry =
    x.fam === 'js'
      ? `for (let attempt = 0; ; attempt++) {\n  try {\n    return await db.transaction(run, { isolationLevel: 'serializable' });\n  } catch (err) {\n    if ((err as { code?: string }).code !== '40001' || attempt === 4) throw err;\n  }\n}`
      : x.fam === 'python'
        ? `for attempt in range(5):\n    try:\n        with transaction.atomic():  # DATABASES[...]["OPTIONS"]["isolation_level"] = SERIALIZABLE\n            return run()\n    except OperationalError as exc:\n        if getattr(exc.__cause__, "pgcode", None) != "40001" or attempt == 4:\n            raise`
        : x.fam === 'ruby'
          ? `${x.model}.transaction(isolation: :serializable) { run }\nrescue ActiveRecord::SerializationFailure\n  retry if (attempts += 1) < 5`
          : x.fam === 'go'
            ? `tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})\n// on *pgconn.PgError with Code "40001": roll back and run the whole function again (bounded)`
            : `BEGIN ISOLATION LEVEL SERIALIZABLE; … COMMIT; -- retry the whole transaction on SQLSTATE 40001`;
  return [
    `Serialize the decisions that share the invariant. Option 1 (usually simplest): lock the one row that owns the checked set — the ${singular(pt)} row in ${pt} (via ${pk}) — with FOR UPDATE inside the transaction, before the check, so ${x.actors.kind}s for the same ${singular(pt)} run one after the other and the second counts the first's committed change.`,
    fenced(x.fence, lockCode),
    `Option 2: run the check and the write at SERIALIZABLE and retry the whole transaction on SQLSTATE 40001 (PostgreSQL's SSI detects the read-write dependency).`,
    fenced(x.fence, retry),
    `Option 3: materialise the invariant as a row or constraint the database enforces (a counter on the ${singular(pt)} updated with a guarded \`UPDATE … WHERE count > min\`, or an exclusion constraint for overlaps).`,
  ].join('\n\n');
}
