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
  if (x.has('store')) return keyValue(x);
  if (x.fact('shape', '') === 'json') return jsonField(x);
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

// ---------------------------------------------------------------------------------------------------------------
// A JSON / hash / list field changed in memory and written back whole

function jsonField(x: Ctx): ModeText {
  const read = x.ev('read', 0);
  const compute = x.ev('compute');
  const write = x.ev('write', -1);
  const readCall = x.callOn(read, 'readCall', 'the read');
  const writeCall = x.callOn(write, 'writeCall', 'the write');
  const col = snake(x.fact('column', 'data'));
  const k = x.actors.kind;
  const explanation = [
    `This is a lost update on the JSON field ${code(`${x.table}.${col}`)} in ${x.fnLabel}: ${x.cite(read)} loads the whole value, ${compute ? `${x.cite(compute)} changes it in application code, and ` : ''}${x.cite(write)} writes the whole value back. Two ${k}s that change different keys both start from the same old document, and the second write replaces the first one's keys with the old ones: a setting saved a moment ago silently reverts. ${x.fact('inTransaction', '') === 'yes' ? 'The transaction does not prevent it: the read takes no row lock.' : 'Nothing holds the row between the read and the write.'}`,
    '',
    'Why not the nearest other modes:',
    `- Not toctou: nothing is checked before an act; the damage is one write erasing another on the same row.`,
    `- Not write_skew: both ${k}s write the same row and field, not two rows under one invariant.`,
    `- Not async_ordering: the order of the two requests does not matter, either way one change is lost; the value is rebuilt from a stale copy.`,
  ].join('\n');
  const interleaving = [
    x.step(0, 'a', read, `${readCall} → ${col} = {"email": true}`),
    x.step(1, 'b', read, `${readCall} → ${col} = {"email": true}`),
    x.step(2, 'a', compute ?? write, `adds "sms": true in memory`),
    x.step(3, 'b', compute ?? write, `adds "push": false in memory, to its own stale copy`),
    x.step(4, 'a', write, `${writeCall} writes {"email": true, "sms": true}`),
    x.step(5, 'b', write, `${writeCall} writes {"email": true, "push": false}: A's "sms" is gone`),
    `Result: both requests succeeded, but only B's key is stored; A's change was overwritten without an error.`,
  ];
  const n = 10;
  const missingTest = concurrentTest(x, {
    should: `keeps every key written by ${n} concurrent calls`,
    n,
    call: {
      js: `${x.fnName}(/* same ${x.thing}, a different key per call: */ \`key\${i}\`, true)`,
      python: `${x.fnName}(f"key{i}", True)  # same ${x.thing}, a different key per call`,
      ruby: `${x.fnName}("key#{i}", true) # same ${x.thing}, a different key per call`,
    },
    assert: {
      js: `expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);\nconst stored = await load${x.model}(); // read straight from the database\nfor (let i = 0; i < ${n}; i++) expect(stored.${camel(col)}).toHaveProperty(\`key\${i}\`);`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []\nstored = ${x.model}.objects.get(pk=${x.model.toLowerCase()}_id).${col}\nassert all(f"key{i}" in stored for i in range(N))`,
      ruby: `expect(results.grep(StandardError)).to be_empty\nexpect(${x.model}.find(id).${col}.keys).to include(*(0...n).map { |i| "key#{i}" })`,
      go: `var raw []byte\nif err := db.QueryRowContext(ctx, \`SELECT ${col} FROM ${x.table} WHERE id = $1\`, id).Scan(&raw); err != nil {\n\tt.Fatal(err)\n}\n// every goroutine's key must be present in raw`,
    },
  });
  const fix = [
    `Merge in the database, in one statement, so each ${k} adds its keys to whatever is committed at that moment: PostgreSQL \`${col} = ${col} || $1::jsonb\` (or \`jsonb_set\` for one key). The UPDATE takes the row lock, so concurrent merges apply one after the other and none is lost.`,
    fenced('sql', `UPDATE ${x.table} SET ${col} = COALESCE(${col}, '{}'::jsonb) || $1::jsonb WHERE id = $2;`),
    fenced(x.fence, jsonMerge(x, col)),
    `If the new value really depends on the old one, lock the row for the read-change-write (${x.fam === 'ruby' ? '`record.with_lock { … }`' : x.fam === 'python' ? '`select_for_update()` in `transaction.atomic()`' : '`SELECT … FOR UPDATE` in the transaction'}) or add a version column and retry when the conditional write changes 0 rows. Settings that are edited independently often belong in rows of their own (one per key, upserted).`,
  ].join('\n\n');
  const whatNotToDo = [
    `Don't re-read the ${col} just before writing it: the window shrinks, the race stays.`,
    `Don't send the whole document from the client and save it as is: that is the same race across browser tabs.`,
    `Don't wrap the read and the write in a transaction without a lock and call it fixed: at READ COMMITTED both ${k}s still read the same document.`,
    `Don't add an in-process mutex: other instances and workers write the row too.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

function jsonMerge(x: Ctx, col: string): string {
  switch (x.fam) {
    case 'ruby':
      return `${x.model}.where(id: id).update_all(["${col} = COALESCE(${col}, '{}'::jsonb) || ?::jsonb", changes.to_json])`;
    case 'python':
      return x.orm === 'sqlalchemy'
        ? `session.execute(\n    update(${x.model}).where(${x.model}.id == ${x.model.toLowerCase()}_id)\n    .values(${col}=${x.model}.${col}.op("||")(cast(changes, JSONB)))\n)`
        : `from django.db.models import F, JSONField, Value\nfrom django.db.models.expressions import CombinedExpression\n\n${x.model}.objects.filter(pk=${x.model.toLowerCase()}_id).update(\n    ${col}=CombinedExpression(F("${col}"), "||", Value(changes, JSONField()))\n)`;
    case 'go':
      return `_, err := db.ExecContext(ctx, \`UPDATE ${x.table} SET ${col} = COALESCE(${col}, '{}'::jsonb) || $1::jsonb WHERE id = $2\`, changesJSON, id)`;
    default:
      if (x.orm === 'mongoose') return `// one $set per changed key: other keys are left as they are\nawait ${x.model}.updateOne({ _id: id }, { $set: Object.fromEntries(Object.entries(changes).map(([k, v]) => [\`${camel(col)}.\${k}\`, v])) });`;
      if (x.orm === 'prisma') return `await prisma.$executeRaw\`UPDATE "${x.model}" SET "${camel(col)}" = COALESCE("${camel(col)}", '{}'::jsonb) || \${JSON.stringify(changes)}::jsonb WHERE id = \${id}\`;`;
      return `await db.query(\n  \`UPDATE ${x.table} SET ${col} = COALESCE(${col}, '{}'::jsonb) || $1::jsonb WHERE id = $2\`,\n  [JSON.stringify(changes), id],\n);`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A key-value store (Redis, Memcached, caches) or a DynamoDB item: get, change in code, put back

function keyValue(x: Ctx): ModeText {
  const read = x.ev('read', 0);
  const compute = x.ev('compute');
  const write = x.ev('write', -1);
  const dynamo = x.fact('store', '') === 'dynamodb';
  const readCall = x.fact('readCall', x.callOn(read, '__none', 'the read'));
  const writeCall = x.fact('writeCall', x.callOn(write, '__none', 'the write'));
  const key = x.fact('key', dynamo ? 'the item' : 'the key');
  const k = x.actors.kind;
  const where = dynamo ? 'the item' : `the key ${code(key)}`;
  const explanation = [
    `This is a lost update on ${where} in ${x.fnLabel}: ${x.cite(read)} reads the value, ${compute ? `${x.cite(compute)} changes it in application code, and ` : ''}${x.cite(write)} writes the whole value back with ${writeCall}. ${dynamo ? 'DynamoDB' : 'The store'} applies each command atomically, but nothing ties the write to the value that was read: two ${k}s (or workers) that read before either writes both start from the same old value, and the second write replaces the first one's change.${dynamo ? '' : ' A MULTI/pipeline around the write alone does not help: the read is outside it.'}`,
    '',
    'Why not the nearest other modes:',
    `- Not eventual_consistency: the store is not stale; both ${k}s read the latest value, it just changes before they write.`,
    `- Not toctou: nothing is checked before an act; one write erases another.`,
    `- Not async_ordering: whichever order the two writes land in, one change is lost.`,
  ].join('\n');
  const interleaving = [
    x.step(0, 'a', read, `${readCall} → value v1`),
    x.step(1, 'b', read, `${readCall} → the same v1`),
    x.step(2, 'a', compute ?? write, `applies its change: v2a`),
    x.step(3, 'b', compute ?? write, `applies its change to the same v1: v2b`),
    x.step(4, 'a', write, `${writeCall} stores v2a`),
    x.step(5, 'b', write, `${writeCall} stores v2b: A's change is gone`),
    `Result: two updates ran, the stored value holds only one of them.`,
  ];
  const n = 10;
  const missingTest = concurrentTest(x, {
    should: `applies all ${n} concurrent updates to ${dynamo ? 'the item' : 'the key'}`,
    n,
    assert: {
      js: `expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);\n// read the ${dynamo ? 'item' : 'key'} back from a real ${dynamo ? 'DynamoDB Local' : 'Redis'} and check every update is in it`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []\n# read the ${dynamo ? 'item' : 'key'} back and check every update is in it`,
      ruby: `expect(results.grep(StandardError)).to be_empty\n# read the key back and check every update is in it`,
      go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n}\n// read the key back and check every update is in it`,
    },
  });
  const fix = dynamo
    ? [
        `Let DynamoDB apply the change or refuse a stale write: an \`UpdateExpression\` with \`ADD\`/\`SET x = x + :d\` changes the attribute in place, or keep the read-change-write and make the put conditional on a version attribute, retrying on \`ConditionalCheckFailedException\`.`,
        fenced(x.fence, x.fam === 'python'
          ? `table.update_item(\n    Key=key,\n    UpdateExpression="SET version = version + :one, #v = :new",\n    ConditionExpression="version = :seen",\n    ExpressionAttributeNames={"#v": "value"},\n    ExpressionAttributeValues={":one": 1, ":new": new_value, ":seen": item["version"]},\n)`
          : `await ddb.send(new UpdateCommand({\n  TableName, Key,\n  UpdateExpression: 'SET #v = :new, version = version + :one',\n  ConditionExpression: 'version = :seen', // the version that was read\n  ExpressionAttributeNames: { '#v': 'value' },\n  ExpressionAttributeValues: { ':new': next, ':one': 1, ':seen': item.version },\n}));`),
      ].join('\n\n')
    : [
        `Make the change a single server-side operation: a native command when there is one (\`INCRBY\`, \`HINCRBY\` on a hash field, \`HSET\` of just the changed field, \`JSON.NUMINCRBY\`), otherwise a Lua script that reads, changes and writes the key inside Redis, where no other command runs in between. \`WATCH\` + \`MULTI\` with a retry loop also works.`,
        fenced(x.fence, x.fam === 'python'
          ? `bump = r.register_script("""\nlocal v = cjson.decode(redis.call('GET', KEYS[1]) or '{}')\nv[ARGV[1]] = (v[ARGV[1]] or 0) + tonumber(ARGV[2])\nredis.call('SET', KEYS[1], cjson.encode(v))\n""")\nbump(keys=[key], args=[field, delta])`
          : x.fam === 'ruby'
            ? `# one field per counter: HINCRBY is atomic\nredis.hincrby(key, field, delta)`
            : x.fam === 'go'
              ? `// one field per counter: HINCRBY is atomic\nif err := rdb.HIncrBy(ctx, key, field, delta).Err(); err != nil {\n\treturn err\n}`
              : `// keep each counter in a hash field and let Redis add: no read, no write-back\nawait redis.hincrby(key, field, delta);\n// or, for a structured value, a Lua script that GETs, changes and SETs inside Redis (redis.defineCommand / eval)`),
      ].join('\n\n');
  const whatNotToDo = [
    dynamo ? `Don't put the item back without a condition: the last writer silently wins.` : `Don't wrap only the SET in MULTI/EXEC or a pipeline: the GET before it is still outside.`,
    `Don't add an in-process mutex: other workers and instances write the same ${dynamo ? 'item' : 'key'}.`,
    `Don't shorten the gap by moving the read closer to the write: the race stays, only rarer.`,
    dynamo ? `Don't retry a failed conditional put without re-reading: it fails again or overwrites.` : `Don't use a lock with a TTL shorter than the work without fencing: an expired lock lets two writers in again.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}
