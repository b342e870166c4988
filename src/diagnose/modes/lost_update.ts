/** Lost update: read a value, compute in application code, write it back over a concurrent change. */
import { camel, code, concurrentTest, fenced, snake, type Ctx, type ModeText } from '../common.js';

/** The amount added, from facts or the compute line: `count++` → 1, `x += quantity` → quantity. */
function deltaOf(x: Ctx, text: string): string {
  if (x.has('delta')) return x.fact('delta', '1');
  if (/\+\+|--/.test(text)) return '1';
  const m = /(?:\+=|-=|[+-])\s*([A-Za-z_][\w.]*|\d+)/.exec(text);
  return m?.[1] ?? 'delta';
}

/** The column, from facts or the write/compute line: `event.seatsSold += q` → seatsSold. */
function columnOf(x: Ctx, texts: string[]): string {
  if (x.has('column')) return x.fact('column', '');
  for (const t of texts) {
    const m = /SET\s+(\w+)\s*=/i.exec(t) ?? /\.(\w+)\s*(?:\+\+|\+=|-=|=)/.exec(t) ?? /(\w+)\s*(?:\+\+|\+=|-=)/.exec(t);
    if (m?.[1]) return m[1];
  }
  return 'the counter';
}

export function diagnose(x: Ctx): ModeText {
  const { c } = x;
  const read = x.ev('read', 0);
  const compute = x.ev('compute');
  const write = x.ev('write', -1);
  const readCall = x.callOn(read, 'readCall', 'the read');
  const writeCall = x.callOn(write, 'writeCall', 'the write');
  const column = columnOf(x, [write?.text ?? '', compute?.text ?? '', read?.text ?? '']);
  const col = snake(column) === 'the_counter' ? 'value' : snake(column);
  const delta = deltaOf(x, compute?.text ?? write?.text ?? '');
  const guard = x.fact('guard', '');
  const inTx = x.fact('inTransaction', '') === 'yes' || /transaction|atomic|BeginTx|\btrx\b|\bt\b\s*\}/.test(c.evidence.map((e) => e.text).join('\n'));
  const isolation = x.fact('isolation', 'READ COMMITTED');
  const idCol = x.fact('idColumn', 'id');
  const thing = x.thing;
  // The row's id as the test knows it: a parameter named like an id, else the id column.
  const idVar = x.sig.params.find((p) => /id$/i.test(p) && !/^(user|member|customer|actor)/i.test(p)) ?? (x.fam === 'go' || x.fam === 'js' ? camel(idCol) : idCol);

  const explanation = [
    `This is a lost update on ${code(`${x.table}.${col}`)} in ${x.fnLabel}: ${x.cite(read)} reads the current value, ${compute ? `${x.cite(compute)} computes the new one in application code, and ` : ''}${x.cite(write)} writes the computed number back. Two ${x.actors.kind}s that read before either writes both compute from the same old value, and the second write silently replaces the first. ${inTx ? `The surrounding transaction does not prevent it: at ${isolation} ${readCall} is a plain read that takes no row lock.` : `The read and the write are separate statements, so nothing holds the row between them.`}${guard ? ` The guard (${code(guard)}) is evaluated on the stale value too, so it can also be passed twice.` : ''}`,
    '',
    'Why not the nearest other modes:',
    `- Not toctou: the damage is not a duplicated act behind an existence check; both writes land on the same existing ${thing} row and one overwrites the other, which a unique constraint cannot prevent.`,
    `- Not write_skew: both ${x.actors.kind}s write the same row and column (${col}); a row lock or an atomic \`SET ${col} = ${col} + …\` serialises them. Write skew is about two different rows under one invariant.`,
    `- Not phantom_read: no range or predicate is involved; the row exists before either ${x.actors.kind} starts.`,
  ].join('\n');

  const v0 = 41;
  const dNum = /^\d+$/.test(delta) ? Number(delta) : 1;
  const interleaving = [
    x.step(0, 'a', read, `${readCall} → ${col} = ${v0}`),
    x.step(1, 'b', read, `${readCall} → ${col} = ${v0} (A has not written yet)`),
    x.step(2, 'a', compute ?? write, `computes ${col} = ${v0} + ${delta} = ${v0 + dNum}${guard ? `; the guard passes` : ''}`),
    x.step(3, 'b', compute ?? write, `computes ${col} = ${v0} + ${delta} = ${v0 + dNum} from the same stale value${guard ? `; the guard passes again` : ''}`),
    x.step(4, 'a', write, `${writeCall} writes ${col} = ${v0 + dNum}`),
    x.step(5, 'b', write, `${writeCall} writes ${col} = ${v0 + dNum}, overwriting A's write`),
    `Result: two updates applied, ${col} went from ${v0} to ${v0 + dNum} instead of ${v0 + 2 * dNum}; one ${delta === '1' ? 'increment' : 'change'} is lost${guard ? ' and the bound can be exceeded' : ''}.`,
  ];

  const n = 10;
  const finalJs = `expect(after.${camel(col)}).toBe(before.${camel(col)} + ${n} * ${delta === 'delta' ? 'delta' : delta});`;
  const missingTest = concurrentTest(x, {
    should: `adds every ${delta === '1' ? 'increment' : 'change'} to ${col}`,
    n,
    setup: {
      js: `const before = await load${x.model}(); // the ${thing} row, read straight from the database`,
      python: `before = ${x.orm === 'sqlalchemy' ? `session.get(${x.model}, ${idVar})` : `${x.model}.objects.get(pk=${idVar})`}`,
      ruby: `before = ${x.model}.find(${idVar}).${col}`,
      go: `var before int\nif err := db.QueryRowContext(ctx, \`SELECT ${col} FROM ${x.table} WHERE ${idCol} = $1\`, ${idVar}).Scan(&before); err != nil {\n\tt.Fatal(err)\n}`,
    },
    call: perActorCall(x),
    assert: {
      js: `expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);\nconst after = await load${x.model}();\n${finalJs}`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []\nbefore_value = before.${col}\n${x.orm === 'sqlalchemy' ? `session.refresh(before)` : 'before.refresh_from_db()'}\nassert before.${col} == before_value + N * ${delta}`,
      ruby: `expect(results.grep(StandardError)).to be_empty\nexpect(${x.model}.find(${idVar}).${col}).to eq(before + n * ${delta})`,
      go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n}\nvar after int\nif err := db.QueryRowContext(ctx, \`SELECT ${col} FROM ${x.table} WHERE ${idCol} = $1\`, ${idVar}).Scan(&after); err != nil {\n\tt.Fatal(err)\n}\nif after != before+n*${/^\d+$/.test(delta) ? delta : 1} {\n\tt.Fatalf("${col}: want %d, got %d (lost updates)", before+n*${/^\d+$/.test(delta) ? delta : 1}, after)\n}`,
      sql: `SELECT ${col} FROM ${x.table} WHERE ${idCol} = :${idCol}; -- must equal start + ${n} * ${delta}`,
    },
  });

  const fix = buildFix(x, col, delta, guard, idCol);

  const whatNotToDo = [
    `Don't wrap ${readCall} and ${writeCall} in a transaction at ${isolation} and call it fixed: a plain read takes no lock, so both ${x.actors.kind}s still read ${v0}.`,
    `Don't add an in-process mutex around the function: other instances and workers write ${x.table} too.`,
    `Don't "retry on conflict" without a version check: without one there is no conflict to detect, the write always succeeds.`,
    `Don't repair ${col} with a periodic recount job: it hides the drift and ${guard ? 'the bound is still exceeded in between' : 'readers see wrong numbers in between'}.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

/** Same row, but a different acting user per call when the function takes one (each must count). */
function perActorCall(x: Ctx): Partial<Record<'js' | 'python' | 'go' | 'ruby', string>> {
  const ps = x.sig.params;
  if (!ps.some((p) => /^(user|member|customer|actor|account)_?id$/i.test(p))) return {};
  const vary = (fam: 'js' | 'python' | 'go' | 'ruby') =>
    ps
      .map((p) => {
        if (fam === 'go' && (p === 'ctx' || x.sig.types[p] === 'context.Context')) return 'ctx';
        if (!/^(user|member|customer|actor|account)_?id$/i.test(p)) return p;
        if (fam === 'go') return /int/.test(x.sig.types[p] ?? '') ? `${p} + ${x.sig.types[p]}(i)` : `${p} + fmt.Sprint(i)`;
        if (fam === 'js') return `\`${'${'}${p}}-${'${'}i}\``;
        if (fam === 'python') return `f"{${p}}-{i}"`;
        return `"#{${p}}-#{i}"`;
      })
      .join(', ');
  const owner = x.sig.owner;
  const callee = owner ? (x.fam === 'go' ? `s.${x.fnName}` : x.fam === 'ruby' ? `${owner}.new.${x.fnName}` : `subject.${x.fnName}`) : x.fnName;
  return {
    js: `${callee}(${vary('js')})`,
    python: `${callee}(${vary('python')})`,
    ruby: `${callee}(${vary('ruby')})`,
    go: `_, err := ${callee}(${vary('go')})\n\t\t\t\treturn err`,
  };
}

function buildFix(x: Ctx, col: string, delta: string, guard: string, idCol: string): string {
  const cCol = camel(col);
  const guardSql = guard ? ` AND ${col} + $1 <= ${guard.match(/<=?\s*([\w.]+)/)?.[1]?.replace(/^\w+\./, '') ?? 'capacity'}` : '';
  const sql = `UPDATE ${x.table} SET ${col} = ${col} + $1 WHERE ${idCol} = $2${guardSql} RETURNING ${col};`;
  const intro = `Let the database do the arithmetic in one statement: the UPDATE takes the row lock and each concurrent ${x.actors.kind} adds to the value the previous one committed, so nothing is lost${guard ? '; the bound goes into the WHERE clause and "0 rows updated" means the limit was reached' : ''}.`;
  let orm = '';
  switch (x.fam) {
    case 'js': {
      const acc = camel(x.model.charAt(0).toLowerCase() + x.model.slice(1));
      if (x.orm === 'prisma')
        orm = `await prisma.${acc}.update({\n  where: { ${camel(idCol)}${guard ? `, ${cCol}: { lte: limit - ${delta} }` : ''} },\n  data: { ${cCol}: { increment: ${delta} } },\n});`;
      else if (x.orm === 'sequelize')
        orm = `const [[, affected]] = await ${x.model}.increment('${cCol}', {\n  by: ${delta},\n  where: { ${camel(idCol)}${guard ? `, ${cCol}: { [Op.lte]: sequelize.literal('capacity - ' + ${delta}) }` : ''} },\n  transaction: t,\n});${guard ? '\nif (affected === 0) throw new SoldOutError(/* … */);' : ''}`;
      else if (x.orm === 'typeorm') orm = `await dataSource.getRepository(${x.model}).increment({ ${camel(idCol)} }, '${cCol}', ${delta});`;
      else if (x.orm === 'knex') orm = `const [row] = await db('${x.table}').where({ ${idCol} })${guard ? `.andWhereRaw('${col} + ? <= capacity', [${delta}])` : ''}.increment('${col}', ${delta}).returning('${col}');`;
      else if (x.orm === 'mongoose') orm = `await ${x.model}.updateOne({ _id: ${camel(idCol)} }, { $inc: { ${cCol}: ${delta} } });`;
      else orm = `const { rows } = await db.query(\n  '${sql}',\n  [${delta}, ${camel(idCol)}],\n);`;
      break;
    }
    case 'python':
      orm =
        x.orm === 'sqlalchemy'
          ? `session.execute(\n    update(${x.model}).where(${x.model}.${idCol} == ${idCol}).values(${col}=${x.model}.${col} + ${delta})\n)`
          : `from django.db.models import F\n\nupdated = ${x.model}.objects.filter(pk=${idCol}${guard ? `, ${col}__lte=F("capacity") - ${delta}` : ''}).update(${col}=F("${col}") + ${delta})${guard ? '\nif updated == 0:\n    raise LimitReached()' : ''}`;
      break;
    case 'ruby':
      orm = `${x.model}.update_counters(${idCol}, ${col}: ${delta}) # one UPDATE … SET ${col} = COALESCE(${col}, 0) + ${delta}\n# or, on a loaded record: record.increment!(:${col}, ${delta})`;
      break;
    case 'go':
      orm = `var ${cCol} int\nerr := tx.QueryRowContext(ctx,\n\t\`${sql}\`,\n\t${delta}, ${camel(idCol)}).Scan(&${cCol})`;
      break;
    default:
      orm = sql;
  }
  const version = `If the new value really needs application logic, use an optimistic version column instead: \`UPDATE ${x.table} SET ${col} = $1, version = version + 1 WHERE ${idCol} = $2 AND version = $3\`, and retry the read-compute-write when 0 rows were updated. Or read with \`SELECT … FOR UPDATE\` inside the same transaction.`;
  return [intro, fenced('sql', sql), fenced(x.fence, orm), version].join('\n\n');
}
