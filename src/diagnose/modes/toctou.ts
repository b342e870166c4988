/** Check-then-act race: a read decides whether to act, and a concurrent actor acts in between. */
import {
  calleeOf,
  camel,
  code,
  constraintName,
  countRows,
  fenced,
  keyList,
  pascal,
  singular,
  snake,
  spyOn,
  concurrentTest,
  type Ctx,
  type ModeText,
} from '../common.js';

const EXTERNAL = /\b(stripe|paypal|braintree|adyen|mailer|mail|email|sms|twilio|sendgrid|ses|slack|fetch|axios|http|client|api|webhook|requests)\b/i;

export function diagnose(x: Ctx): ModeText {
  const { c } = x;
  const check = x.ev('check', 0);
  const acts = c.evidence.filter((e) => e.role === 'act');
  const act = acts[0] ?? x.ev('act', -1);
  const keyLine = x.ev('key');
  const checkCall = x.callOn(check, 'checkCall', 'the existence check');
  const actCall = x.callOn(act, 'actCall', 'the write');
  const actCalls = acts.map((e) => calleeOf(e.text)).filter((s): s is string => Boolean(s));
  const external = x.fact('externalCall', actCalls.find((a) => EXTERNAL.test(a)) ?? (EXTERNAL.test(actCall) ? actCall : ''));
  const idemKey = x.fact('idempotencyKey', keyLine ? keyLine.text.trim() : '');
  const windowText = x.fact('window', '');
  const keys = keyList(x, `the same ${singular(x.table)}`);
  const keyTuple = x.keyColumns.length ? `(${keys})` : 'the business key';
  const existingIndex = x.fact('existingIndex', '');
  const isolation = x.fact('isolation', 'READ COMMITTED');
  const thing = x.thing;

  const schemaNote =
    existingIndex && existingIndex !== 'none'
      ? `The schema only has a ${existingIndex} on ${keyTuple}, so the database accepts the second write.`
      : `No unique constraint on ${keyTuple} backs the check, so the database accepts the second write.`;
  const keyNote = idemKey
    ? ` The idempotency key is built per call (${keyLine ? x.cite(keyLine) : code(idemKey)}), so two calls a few milliseconds apart carry different keys and ${external || 'the downstream API'} cannot recognise the duplicate either.`
    : '';

  const explanation = [
    `This is a check-then-act race (toctou) on ${code(x.entity)} in ${x.fnLabel}. ${x.cite(check)} decides whether to act, and ${acts.length > 1 ? acts.map((e) => x.cite(e)).join(', then ') : x.cite(act)} acts on that answer. Between the two there is at least one database or network round-trip, and a second ${x.actors.kind} running the same code for ${keys} in that gap gets the same "not there yet" answer. ${schemaNote}${keyNote}`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update: nothing reads a value and writes back a computed one; the damage is a duplicated act (${actCall}), not an overwritten value.`,
    `- Not phantom_read: ${checkCall} looks up one exact key ${keyTuple}, not a range or an aggregate such as max() that a new row can enter; a unique constraint on that key closes this race, which it could not for a range.`,
    `- Not write_skew: the check and the act are about the same ${thing} key; write skew needs an invariant over several rows with each ${x.actors.kind} writing a different row.`,
    `- A transaction alone does not make it safe: at ${isolation} ${checkCall} takes no lock on a row that does not exist yet, so both ${x.actors.kind}s still pass it.`,
  ].join('\n');

  const interleaving: string[] = [];
  let t = 0;
  interleaving.push(x.step(t++, 'a', check, `${checkCall} for ${keys} → nothing found, the check passes`));
  interleaving.push(x.step(t++, 'b', check, `runs ${checkCall} for ${keys} too → nothing found (${x.actors.a} has not written yet)`));
  const actList = acts.length > 0 ? acts : act ? [act] : [];
  if (actList.length === 0) actList.push({ line: c.endLine, text: actCall, role: 'act' });
  for (const e of actList) {
    const call = x.callOn(e, '__none', actCall);
    const isExt = external !== '' && call === external;
    interleaving.push(x.step(t++, 'a', e, `${call}${isExt && idemKey ? ' with its own idempotency key' : ''} succeeds`));
    interleaving.push(
      x.step(
        t++,
        'b',
        e,
        isExt
          ? `${call}${idemKey ? ' with a different key' : ''} succeeds too: a second external effect`
          : `${call} succeeds too${existingIndex ? ` (only a ${existingIndex} on ${keyTuple})` : ''}`,
      ),
    );
  }
  if (actList.length === 1) {
    interleaving.push(x.step(t++, 'a', undefined, `commits: one ${thing} for ${keys}`));
    interleaving.push(x.step(t++, 'b', undefined, `commits too: nothing on ${keyTuple} rejects a second ${thing} for the same key`));
  }
  interleaving.push(`Result: two ${external ? `${external} effects` : `${thing} writes`} for ${keys}, where the check at line ${check?.line ?? c.line} was meant to allow one.`);

  const n = 10;
  const missingTest = concurrentTest(x, {
    should: `performs ${actCall} exactly once`,
    n,
    setup: external
      ? {
          js: `const externalCall = ${spyOn(x, external)}; // count the real external calls`,
          python: `# patch ${external} with unittest.mock.patch and count its calls`,
        }
      : {},
    assert: {
      js: [
        `// exactly one ${x.actors.kind} wins; the others report a duplicate instead of acting`,
        `expect(${countRows(x)}).toBe(1);`,
        external ? `expect(externalCall).toHaveBeenCalledTimes(1);` : '',
        `expect(results.filter((r) => r.status === 'rejected' && !String(r.reason).match(/duplicate|unavailable|already/i))).toHaveLength(0);`,
      ]
        .filter(Boolean)
        .join('\n'),
      python: [`assert ${countRows(x)} == 1`, `unexpected = [r for r in results if isinstance(r, Exception) and "already" not in str(r).lower()]`, 'assert unexpected == []'].join('\n'),
      go: `for err := range errs {\n\tif err != nil && !errors.Is(err, ErrAlreadyExists) {\n\t\tt.Errorf("unexpected error: %v", err)\n\t}\n}\nvar count int\nif err := ${countRows(x)}; err != nil {\n\tt.Fatal(err)\n}\nif count != 1 {\n\tt.Fatalf("want exactly 1 ${thing} for the same key, got %d", count)\n}`,
      ruby: `expect(${countRows(x)}).to eq(1)\nexpect(results.grep(StandardError).reject { |e| e.is_a?(ActiveRecord::RecordNotUnique) }).to be_empty`,
      sql: countRows(x),
    },
  });

  const fix = buildFix(x, { actCall, checkCall, external, idemKey, windowText, thing });

  const whatNotToDo = [
    windowText
      ? `Don't widen the ${windowText} window: the race is the gap between ${checkCall} and ${actCall}, which no window closes.`
      : `Don't add a second ${checkCall} right before ${actCall}: two checks race exactly like one.`,
    `Don't put a Redis or in-process lock in front of ${checkCall}: it does not span every instance reliably, expires under load, and the database still accepts the duplicate.`,
    `Don't wrap ${checkCall} and ${actCall} in a transaction at ${isolation} and call it fixed: nothing locks a row that does not exist yet.`,
    `Don't retry on the unique violation: it means another ${x.actors.kind} already won; return its result (or "already done").`,
    idemKey
      ? `Don't build the idempotency key from the clock or randomness (${code(idemKey)}): a retry or double-click must produce the same key.`
      : `Don't use SELECT … FOR UPDATE for the check: when the ${thing} is new there is no row to lock.`,
  ];

  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

interface FixArgs {
  actCall: string;
  checkCall: string;
  external: string;
  idemKey: string;
  windowText: string;
  thing: string;
}

function buildFix(x: Ctx, a: FixArgs): string {
  const useKeyColumn = a.idemKey !== '' || a.windowText !== '' || x.keyColumns.length === 0;
  const uniqueCols = useKeyColumn ? ['idempotency_key'] : x.keyColumns.map(snake);
  // Columns written by the claiming INSERT: the business key plus the idempotency key.
  const cols = useKeyColumn ? [...x.keyColumns.map(snake), 'idempotency_key'] : uniqueCols;
  const idx = useKeyColumn ? `${snake(x.table)}_idempotency_key_key` : constraintName(x, 'key');
  const ddl = [
    useKeyColumn ? `ALTER TABLE ${x.table} ADD COLUMN idempotency_key text;` : '',
    `CREATE UNIQUE INDEX CONCURRENTLY ${idx} ON ${x.table} (${uniqueCols.join(', ')});`,
  ]
    .filter(Boolean)
    .join('\n');
  const intro = `Make the database the arbiter: a unique constraint on (${uniqueCols.join(', ')}) and insert-then-process instead of check-then-act. The ${x.actors.kind} whose INSERT wins goes on to ${a.actCall}; the loser gets "already exists" and returns the winner's result. ${a.checkCall} goes away.`;
  const camelCols = cols.map(camel);
  const obj = camelCols.join(', ');
  let codeBlock = '';
  const isUpdate = /(update|save)/i.test(a.actCall) && !/(create|insert|add)/i.test(a.actCall) && !useKeyColumn;
  if (isUpdate) return [
    `Make the database the arbiter: declare (${cols.join(', ')}) unique and just attempt ${a.actCall}; the second ${x.actors.kind} gets a unique violation, which you map to the domain error. ${a.checkCall} goes away.`,
    fenced('sql', ddl),
    fenced(x.fence, updateCode(x, a.actCall, cols)),
  ].join('\n\n');
  switch (x.fam) {
    case 'js': {
      const accessor = camel(x.model.charAt(0).toLowerCase() + x.model.slice(1));
      if (x.orm === 'prisma') {
        codeBlock = `// schema.prisma: @@unique([${uniqueCols.map(camel).join(', ')}]) on model ${x.model}
try {
  const claimed = await prisma.${accessor}.create({ data: { ${obj}, status: 'pending' } });
  // we own the key: now do the work${a.external ? ` (${a.external} with idempotencyKey: claimed.idempotencyKey)` : ''}
} catch (err) {
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
    return { status: 'duplicate' }; // another request holds this key
  }
  throw err;
}`;
      } else if (x.orm === 'knex') {
        codeBlock = `const [claimed] = await db('${x.table}')
  .insert({ ${cols.map((k) => `${k}: ${camel(k)}`).join(', ')}, status: 'pending' })
  .onConflict([${uniqueCols.map((k) => `'${k}'`).join(', ')}])
  .ignore()
  .returning('id');
if (!claimed) return { status: 'duplicate' };`;
      } else if (x.orm === 'sequelize') {
        codeBlock = `try {
  await ${x.model}.create({ ${obj}, status: 'pending' });
} catch (err) {
  if (err instanceof UniqueConstraintError) return { status: 'duplicate' };
  throw err;
}`;
      } else if (x.orm === 'typeorm') {
        codeBlock = `const res = await dataSource.createQueryBuilder().insert().into(${x.model})
  .values({ ${obj}, status: 'pending' }).orIgnore().returning('id').execute();
if (res.raw.length === 0) return { status: 'duplicate' };`;
      } else if (x.orm === 'mongoose') {
        codeBlock = `// ${x.model}Schema.index({ ${uniqueCols.map((k) => `${camel(k)}: 1`).join(', ')} }, { unique: true })
try {
  await ${x.model}.create({ ${obj}, status: 'pending' });
} catch (err) {
  if ((err as { code?: number }).code === 11000) return { status: 'duplicate' };
  throw err;
}`;
      } else {
        codeBlock = `const { rows } = await db.query(
  \`INSERT INTO ${x.table} (${cols.join(', ')}, status) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}, 'pending')
   ON CONFLICT (${uniqueCols.join(', ')}) DO NOTHING RETURNING id\`,
  [${obj}],
);
if (rows.length === 0) return { status: 'duplicate' }; // another request owns this key`;
      }
      if (a.external) {
        codeBlock += `\n\nawait ${a.external}({ /* … */ }, { idempotencyKey }); // the same key on every retry of this action`;
      }
      break;
    }
    case 'python':
      if (x.orm === 'sqlalchemy') {
        codeBlock = `from sqlalchemy.dialects.postgresql import insert

claimed = session.execute(
    insert(${x.model}).values(${cols.map((k) => `${k}=${k}`).join(', ')}, status="pending")
    .on_conflict_do_nothing(index_elements=[${uniqueCols.map((k) => `"${k}"`).join(', ')}])
    .returning(${x.model}.id)
).scalar_one_or_none()
if claimed is None:
    raise AlreadyDone()`;
      } else {
        const fields = cols.map((k) => k.replace(/_id$/, ''));
        const uniqueFields = uniqueCols.map((k) => k.replace(/_id$/, ''));
        codeBlock = `# models.py
class Meta:
    constraints = [models.UniqueConstraint(fields=[${uniqueFields.map((f) => `"${f}"`).join(', ')}], name="${idx}")]

# services.py: insert first, inside its own atomic block
from django.db import IntegrityError, transaction

try:
    with transaction.atomic():
        ${x.model}.objects.create(${fields.map((f) => `${f}=${f}`).join(', ')})
except IntegrityError:
    raise AlreadyDone()  # another request won; do not act again`;
      }
      if (a.external) codeBlock += `\n\n${a.external}(..., idempotency_key=idempotency_key)  # the same key on every retry`;
      break;
    case 'ruby':
      codeBlock = `# db/migrate/xxxx_add_unique_${idx}.rb
add_index :${x.table}, [${uniqueCols.map((k) => `:${k}`).join(', ')}], unique: true, algorithm: :concurrently

# insert first; the unique index decides who acts
begin
  ${x.model}.create!(${cols.map((k) => `${k}: ${k}`).join(', ')})
rescue ActiveRecord::RecordNotUnique
  return :already_done
end`;
      break;
    case 'go':
      codeBlock = `var id int64
err := tx.QueryRowContext(ctx, \`
	INSERT INTO ${x.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})
	ON CONFLICT (${uniqueCols.join(', ')}) DO NOTHING
	RETURNING id\`, ${camelCols.join(', ')}).Scan(&id)
if errors.Is(err, sql.ErrNoRows) {
	return ErrAlreadyExists // another request owns this key
}
if err != nil {
	return err
}`;
      break;
    default:
      codeBlock = `INSERT INTO ${x.table} (${cols.join(', ')}) VALUES (…)
ON CONFLICT (${uniqueCols.join(', ')}) DO NOTHING
RETURNING id; -- no row back: someone else already did it`;
  }
  if (useKeyColumn && x.fam !== 'sql') {
    const parts = [...x.keyColumns.map((k) => (x.fam === 'js' ? '${' + camel(k) + '}' : '{' + snake(k) + '}')), x.fam === 'js' ? '${requestId}' : '{request_id}'];
    const keyExpr = x.fam === 'js' ? '`' + parts.join(':') + '`' : x.fam === 'go' ? `fmt.Sprintf("${parts.map(() => '%v').join(':')}", ${[...x.keyColumns.map(camel), 'requestID'].join(', ')})` : x.fam === 'ruby' ? '"' + parts.map((p) => '#' + p).join(':') + '"' : 'f"' + parts.join(':') + '"';
    const comment = x.fam === 'python' || x.fam === 'ruby' ? '#' : '//';
    const decl = x.fam === 'js' ? `const idempotencyKey = ${keyExpr};` : x.fam === 'go' ? `idempotencyKey := ${keyExpr}` : `idempotency_key = ${keyExpr}`;
    codeBlock = `${comment} deterministic: the client sends one request id per user action and reuses it on retries\n${decl}\n\n${codeBlock}`;
  }
  const parts = [intro, fenced('sql', ddl), fenced(x.fam === 'sql' ? 'sql' : x.fence, codeBlock)];
  if (a.external) {
    parts.push(
      `Pass that deterministic idempotency key to ${a.external} (built from ${keyList(x, 'the business key')} and a request id the client sends once per action${a.idemKey ? `, not the per-call ${code(a.idemKey.replace(/^.*?=\s*/, '').replace(/;$/, ''))}` : ''}), so even two calls that get through are one charge/effect downstream.`,
    );
  }
  return parts.join('\n\n');
}

function updateCode(x: Ctx, actCall: string, cols: string[]): string {
  const err = `${pascal(singular(cols[0] ?? 'key'))}UnavailableError`;
  switch (x.fam) {
    case 'js':
      if (x.orm === 'prisma')
        return `// schema.prisma: ${cols.map(camel).join(', ')} String? @unique (on the normalized value)
try {
  return await ${actCall}({ /* same where/data as today */ });
} catch (err) {
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') throw new ${err}(${camel(cols[0] ?? 'key')});
  throw err;
}`;
      return `try {
  return await ${actCall}(/* same arguments as today */);
} catch (err) {
  if ((err as { code?: string }).code === '23505') throw new ${err}(${camel(cols[0] ?? 'key')}); // unique_violation
  throw err;
}`;
    case 'python':
      return `from django.db import IntegrityError, transaction

try:
    with transaction.atomic():
        ${actCall}(...)  # same arguments as today
except IntegrityError:
    raise ${err}()`;
    case 'ruby':
      return `begin
  ${actCall}(...) # same arguments as today
rescue ActiveRecord::RecordNotUnique
  raise ${err}
end`;
    case 'go':
      return `_, err := ${actCall}(ctx, /* same arguments as today */)
var pgErr *pgconn.PgError
if errors.As(err, &pgErr) && pgErr.Code == "23505" {
	return ${err}
}`;
    default:
      return `-- let the unique index reject the second writer (SQLSTATE 23505) and map it to "unavailable"`;
  }
}
