/**
 * Deadlock: two paths take the same locks in opposite orders, or (fact `pattern` = self-wait) one request's
 * transaction locks a row and then waits for a write to it through another connection.
 */
import { callWithFirst, code, concurrentTest, fenced, shorten, type Ctx, type ModeText } from '../common.js';

/** Lock name from a line: `s.hub.mu.Lock()` → s.hub.mu; `forUpdate()` on products → a products row. */
function lockName(text: string | undefined, fallback: string): string {
  if (!text) return fallback;
  const mu = /([\w.]+)\.(?:R?Lock|lock|acquire)\s*\(/.exec(text);
  if (mu?.[1]) return mu[1];
  const adv = /pg_advisory(?:_xact)?_lock\s*\(([^)]*)\)/i.exec(text);
  if (adv) return `advisory lock ${adv[1]}`;
  return fallback;
}

export function diagnose(x: Ctx): ModeText {
  if (x.fact('pattern', '') === 'self-wait') return selfWait(x);
  const lockA = x.ev('lock-a', 0);
  const lockB = x.ev('lock-b', -1);
  const loop = x.ev('loop');
  const kind = x.fact('lockKind', /FOR UPDATE|forUpdate|lock:|select_for_update|lock!/i.test(`${lockA?.text} ${lockB?.text}`) ? 'row' : /\bmu\b|Mutex|Lock\(\)/.test(`${lockA?.text} ${lockB?.text}`) ? 'mutex' : 'row');
  const rowLoop = kind === 'row' && (loop !== undefined || lockA === lockB || x.has('collection') || x.has('sortKey'));
  const a = x.fact('lockA', lockName(lockA?.text, rowLoop ? `the first ${x.table} row` : `the lock at ${x.at(lockA)}`));
  const b = x.fact('lockB', lockName(lockB?.text, rowLoop ? `the next ${x.table} row` : `the lock at ${x.at(lockB)}`));
  const other = x.fact('otherFunction', '');
  const otherWhere = x.has('otherFile') ? ` (${x.fact('otherFile', '')}${x.has('otherLine') ? `:${x.fact('otherLine', '')}` : ''})` : x.has('otherLine') ? ` (line ${x.fact('otherLine', '')})` : '';
  const otherPath = other ? `${code(other)}${otherWhere}` : rowLoop ? `another call of ${x.fnLabel} with the same keys in a different order` : 'the other path';
  const sortKey = x.fact('sortKey', 'id');
  const collection = x.fact('collection', 'the input');
  const symptom =
    kind === 'mutex'
      ? x.fam === 'go'
        ? 'both goroutines block forever (and every later caller of either lock queues behind them; the runtime only reports "all goroutines are asleep" if nothing else runs)'
        : 'both threads block forever'
      : 'PostgreSQL detects the cycle after deadlock_timeout and aborts one transaction with SQLSTATE 40P01 "deadlock detected"; its whole batch rolls back';

  const orderText = rowLoop
    ? `${x.cite(lockA)} takes a row lock on ${x.table} for each element of ${collection} in the order it arrives${loop ? ` (${x.cite(loop)})` : ''}, and holds every lock until the transaction ends. Two calls whose inputs overlap in a different order (A locks k1 then wants k2, B locks k2 then wants k1) wait on each other`
    : `${x.fnLabel} takes ${code(a)} (${x.at(lockA)}) and, while holding it, ${code(b)} (${x.at(lockB)}); ${otherPath} takes them in the opposite order, ${code(b)} then ${code(a)}`;

  const explanation = [
    `This is a deadlock (${kind} locks): ${orderText}. When both run at once each holds the lock the other needs: ${symptom}.`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update or write_skew: no value is computed wrongly; ${kind === 'row' ? 'the row locks are exactly what protects the data, ' : ''}the failure is that neither side can proceed.`,
    `- Not async_ordering: the hang is caused by lock acquisition order, not by which await finishes first; reordering awaits or adding awaits does not break the cycle, one consistent lock order does.`,
    `- Not toctou: nothing is checked and then acted on; both ${x.actors.kind}s are already inside their critical sections.`,
  ].join('\n');

  const k1 = rowLoop ? `${x.table} ${sortKey}=k1` : a;
  const k2 = rowLoop ? `${x.table} ${sortKey}=k2` : b;
  const interleaving = [
    x.step(0, 'a', lockA, `locks ${k1}`),
    x.step(1, 'b', rowLoop ? lockA : undefined, `locks ${k2}${other && !rowLoop ? ` in ${other}` : ''}`),
    x.step(2, 'a', lockB, `wants ${k2} → waits for ${x.actors.b}`),
    x.step(3, 'b', rowLoop ? lockB : undefined, `wants ${k1} → waits for ${x.actors.a}: a cycle`),
    kind === 'mutex'
      ? x.step(4, 'both', undefined, 'wait forever; nothing will release either lock')
      : x.step(4, 'b', undefined, `aborted by PostgreSQL: ERROR 40P01 deadlock detected, its transaction rolls back`),
    kind === 'mutex' ? x.step(5, 'every later caller', undefined, `blocks on ${a} or ${b} behind them`) : x.step(5, 'a', undefined, 'proceeds and commits after the wait'),
    kind === 'mutex' ? `Result: the process stops serving ${x.entity}; only a restart clears it.` : `Result: ${x.actors.b}'s whole batch fails after a stall and must be redone.`,
  ];

  const rowPair = kind === 'row' && !rowLoop;
  const missingTest = rowLoop ? rowLoopTest(x, collection, sortKey) : rowPair ? rowPairTest(x) : mutexTest(x, other);

  const fix = rowLoop ? rowFix(x, collection, sortKey) : rowPair ? rowPairFix(x, a, b) : mutexFix(x, a, b, other);

  const whatNotToDo = [
    kind === 'mutex'
      ? `Don't "fix" it by adding a timeout around ${code(b)}: the ordering bug stays and the timeout path is never tested.`
      : `Don't just retry the batch on 40P01 and call it fixed: the retry can deadlock again, and every retry holds locks longer.`,
    kind === 'mutex'
      ? `Don't make ${code(a)} or ${code(b)} re-entrant or recursive to get past the hang: the two paths still wait on each other.`
      : `Don't raise deadlock_timeout or statement timeouts: the cycle is still there, you only wait longer to find it.`,
    `Don't replace the locks with one global lock for ${x.entity}: it removes the deadlock by removing all concurrency.`,
    kind === 'mutex'
      ? `Don't use TryLock loops to dodge the cycle: they livelock under load and hide the ordering bug.`
      : `Don't drop FOR UPDATE to avoid the deadlock: the row locks are what prevent lost updates here.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

function rowLoopTest(x: Ctx, collection: string, sortKey: string): string {
  const items = x.sig.params[0] ?? 'items';
  const reversed = x.fam === 'python' ? `${items} if i % 2 == 0 else list(reversed(${items}))` : x.fam === 'ruby' ? `i.even? ? ${items} : ${items}.reverse` : x.fam === 'go' ? `orderFor(i, ${items})` : `i % 2 === 0 ? ${items} : [...${items}].reverse()`;
  const call = callWithFirst(x, reversed);
  return concurrentTest(x, {
    should: `applies overlapping ${collection} given in opposite orders without a deadlock`,
    n: 8,
    setup: {
      js: `// half the calls get the ${sortKey}s in reverse order, as a second producer would send them`,
      python: `# half the calls get the ${sortKey}s in reverse order, as a second producer would send them`,
      ruby: `# half the calls get the ${sortKey}s in reverse order`,
      go: `orderFor := func(i int, xs []${x.model}) []${x.model} { // odd calls reverse the order\n\tif i%2 == 0 {\n\t\treturn xs\n\t}\n\tr := append([]${x.model}(nil), xs...)\n\tslices.Reverse(r)\n\treturn r\n}`,
    },
    call: { js: call, python: call, ruby: call, go: `_, err := ${call}\n\t\t\t\treturn err` },
    assert: {
      js: `const failures = results.filter((r) => r.status === 'rejected');\nexpect(failures.map((r) => String((r as PromiseRejectedResult).reason))).not.toContainEqual(expect.stringMatching(/deadlock/i));\nexpect(failures).toHaveLength(0);`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []  # no "deadlock detected"`,
      ruby: `expect(results.grep(ActiveRecord::Deadlocked)).to be_empty`,
      go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatalf("concurrent batches failed: %v", err) // 40P01 deadlock detected\n\t}\n}`,
    },
  });
}

function rowPairTest(x: Ctx): string {
  const [p0, p1, ...rest] = x.sig.params.filter((p) => p !== 'ctx');
  if (!p0 || !p1) return mutexTest(x, '');
  const owner = x.sig.owner;
  const callee = owner ? (x.fam === 'go' ? `s.${x.fnName}` : x.fam === 'ruby' ? `${owner}.new.${x.fnName}` : `subject.${x.fnName}`) : x.fnName;
  const ctx = x.fam === 'go' && x.sig.params[0] === 'ctx' ? 'ctx, ' : '';
  const args = (a: string, b: string) => `${callee}(${ctx}${[a, b, ...rest].join(', ')})`;
  const pick = (fam: 'js' | 'python' | 'ruby' | 'go') =>
    fam === 'python'
      ? `${args(p0, p1)} if i % 2 == 0 else ${args(p1, p0)}`
      : fam === 'ruby'
        ? `i.even? ? ${args(p0, p1)} : ${args(p1, p0)}`
        : fam === 'go'
          ? `if i%2 == 0 {\n\t\t\t\t\treturn ${args(p0, p1)}\n\t\t\t\t}\n\t\t\t\treturn ${args(p1, p0)}`
          : `i % 2 === 0 ? ${args(p0, p1)} : ${args(p1, p0)}`;
  return concurrentTest(x, {
    should: `runs ${p0}→${p1} and ${p1}→${p0} at the same time without a deadlock`,
    n: 10,
    call: { js: pick('js'), python: pick('python'), ruby: pick('ruby'), go: pick('go') },
    assert: {
      js: `expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0); // no 40P01`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []  # no "deadlock detected"`,
      ruby: `expect(results.grep(ActiveRecord::Deadlocked)).to be_empty`,
      go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatalf("opposite-order calls failed: %v", err) // 40P01\n\t}\n}`,
    },
  });
}

function rowPairFix(x: Ctx, a: string, b: string): string {
  const [p0 = 'first_id', p1 = 'second_id'] = x.sig.params.filter((p) => p !== 'ctx');
  const code =
    x.fam === 'python'
      ? x.orm === 'sqlalchemy'
        ? `rows = session.execute(select(${x.model}).where(${x.model}.id.in_([${p0}, ${p1}])).order_by(${x.model}.id).with_for_update()).scalars().all()`
        : `rows = {r.pk: r for r in ${x.model}.objects.select_for_update().filter(pk__in=[${p0}, ${p1}]).order_by("pk")}`
      : x.fam === 'ruby'
        ? `rows = ${x.model}.where(id: [${p0}, ${p1}]).order(:id).lock.index_by(&:id)`
        : x.fam === 'go'
          ? `rows, err := tx.QueryContext(ctx, \`SELECT id FROM ${x.table} WHERE id = ANY($1) ORDER BY id FOR UPDATE\`, pq.Array([]int64{${p0}, ${p1}}))`
          : x.orm === 'knex'
            ? `const rows = await trx('${x.table}').whereIn('id', [${p0}, ${p1}]).orderBy('id').forUpdate();`
            : `const { rows } = await client.query('SELECT id FROM ${x.table} WHERE id = ANY($1) ORDER BY id FOR UPDATE', [[${p0}, ${p1}]]);`;
  return [
    `Lock both rows in one global order (by id), whatever the direction of the call: take ${code0(a)} and ${code0(b)} in a single statement ordered by id, then do the updates.`,
    fenced('sql', `SELECT id FROM ${x.table} WHERE id IN ($1, $2) ORDER BY id FOR UPDATE;`),
    fenced(x.fence, code),
    `Keep the transaction short and set \`lock_timeout\` so an unexpected wait fails fast.`,
  ].join('\n\n');
}

function code0(s: string): string {
  return '`' + s + '`';
}

function mutexTest(x: Ctx, other: string): string {
  const otherParts = other ? other.split(/[.#]/) : [];
  const otherCall = otherParts.length > 1 ? `${otherParts[0]!.charAt(0).toLowerCase()}${otherParts[0]!.slice(1)}.${otherParts[otherParts.length - 1]}` : other || 'otherPath';
  return concurrentTest(x, {
    should: `runs ${x.fnName} and ${otherCall} together without hanging`,
    n: 100,
    call: {
      go: `if i%2 == 0 {\n\t\t\t\t\t${x.sig.owner ? 's.' : ''}${x.fnName}(/* same arguments */)\n\t\t\t\t} else {\n\t\t\t\t\t${otherCall}(/* on the same objects */)\n\t\t\t\t}\n\t\t\t\treturn nil`,
      js: `i % 2 === 0 ? ${x.fnName}(/* same arguments */) : ${otherCall}(/* on the same objects */)`,
      python: `${x.fnName}() if i % 2 == 0 else ${otherCall}()`,
      ruby: `i.even? ? ${x.fnName} : ${otherCall}`,
    },
    assert: {
      go: `// reaching this line is the assertion: with the opposite lock order, wg.Wait() never returns\n// (go test -timeout 30s turns the hang into a failure with every goroutine's stack)`,
      js: `expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []`,
      ruby: `expect(results.grep(StandardError)).to be_empty`,
    },
  });
}

function rowFix(x: Ctx, collection: string, sortKey: string): string {
  const sorted =
    x.fam === 'js'
      ? `const ordered = [...${collection === 'the input' ? 'items' : collection}].sort((p, q) => (p.${sortKey} < q.${sortKey} ? -1 : p.${sortKey} > q.${sortKey} ? 1 : 0));\nfor (const item of ordered) { /* unchanged */ }`
      : x.fam === 'python'
        ? `for item in sorted(${collection === 'the input' ? 'items' : collection}, key=lambda it: it.${sortKey}):\n    ...  # unchanged`
        : x.fam === 'ruby'
          ? `${collection === 'the input' ? 'items' : collection}.sort_by(&:${sortKey}).each do |item|\n  # unchanged\nend`
          : x.fam === 'go'
            ? `slices.SortFunc(${collection === 'the input' ? 'items' : collection}, func(a, b Item) int { return cmp.Compare(a.${sortKey}, b.${sortKey}) })`
            : `-- sort the keys before locking`;
  return [
    `Take the row locks in one global order. Either sort ${collection} by ${sortKey} before the loop, or lock every row up front in one statement that orders them:`,
    fenced('sql', `SELECT id, ${sortKey} FROM ${x.table} WHERE ${sortKey} = ANY($1) ORDER BY ${sortKey} FOR UPDATE;`),
    fenced(x.fence, sorted),
    `Keep the transaction short (no external calls while the locks are held) and set \`SET LOCAL lock_timeout = '5s'\` so a stuck batch fails fast instead of piling up waiters.`,
  ].join('\n\n');
}

function mutexFix(x: Ctx, a: string, b: string, other: string): string {
  const body =
    x.fam === 'go'
      ? `// Never hold ${a} while taking ${b}: ${other ? `${other} takes ${b} first, so ` : ''}take ${b} first or not at all under ${a}.
func ${x.sig.owner ? `(s *${x.sig.owner}) ` : ''}${x.fnName}(/* unchanged */) {
	${b}.Lock()
	// … the part that needs ${b}
	${b}.Unlock()

	${a}.Lock()
	// … the part that needs ${a}
	${a}.Unlock()
}
// In ${other || 'the other path'}: copy what you need under ${b}, release it, then lock each ${a} on its own.`
      : `// one order everywhere: ${b} before ${a}, or release ${a} before taking ${b}`;
  return [
    `Pick one lock order for ${code(a)} and ${code(b)} and use it on every path (document it next to the fields), or avoid holding both at once: snapshot what you need under one lock, release it, then take the other.${other ? ` ${code(other)} takes ${b} then ${a}, so ${x.fnLabel} must too.` : ''}`,
    fenced(x.fence, body),
    x.fam === 'go' ? 'Run the test with `go test -race` and a `-timeout`, so a regression shows as a failing test with goroutine dumps instead of a hung service.' : 'Add a lock-order assertion in debug builds if the code grows more locks.',
  ].join('\n\n');
}

/** One request against itself: its transaction holds a row lock while it writes the row through another connection. */
function selfWait(x: Ctx): ModeText {
  const held = x.ev('lock-a', 0);
  const blocked = x.ev('lock-b', -1);
  const handle = x.fact('handle', 'the transaction');
  const via = x.fact('via', 'another connection');
  const row = `${x.table} row`;

  const explanation = [
    `This is a deadlock of one ${x.actors.kind} with itself (row locks): ${x.cite(held)} locks a ${row} inside the transaction on ${code(handle)}; before that transaction commits, ${x.cite(blocked)} writes the same row through ${via}, on a different connection from the pool. That connection waits for the row lock the transaction holds, and the transaction cannot commit until the awaited write returns: the ${x.actors.kind} waits on itself. The database sees one session idle in transaction and one waiting for a lock, not a cycle, so no deadlock is detected: the ${x.actors.kind} hangs until lock_timeout or statement_timeout (forever without one), holding two pool connections; a handful of these exhaust the pool and every ${x.actors.kind} stalls.`,
    '',
    'Why not the nearest other modes:',
    `- Not a two-path lock-order deadlock: one ${x.actors.kind} is enough, no concurrency needed; it hangs every time this path runs on a row that exists.`,
    `- Not async_ordering: the awaits are in the right order; the write goes to the wrong connection.`,
    `- Not lost_update: no value is lost; nothing completes at all.`,
  ].join('\n');

  const interleaving = [
    x.step(0, 'a', held, `locks the ${row} on ${handle} (the transaction's connection)`),
    x.step(1, 'a', blocked, `writes the same row through ${via}: a second connection, which queues behind the lock from T0`),
    x.step(2, 'a', undefined, `the transaction on ${handle} sits idle in transaction, waiting for T1 to return before it can commit`),
    x.step(3, 'a', undefined, `no 40P01: the database sees a lock wait, not a cycle, so nothing breaks it`),
    x.step(4, 'a', undefined, `after lock_timeout / statement_timeout (if set) T1 fails and the transaction rolls back; without one both connections stay checked out`),
    `Result: the ${x.actors.kind} never completes, and the pool loses two connections per attempt until it is exhausted.`,
  ];

  const missingTest = concurrentTest(x, {
    should: 'completes on an existing row; with lock_timeout set a hang fails fast',
    n: 2,
    setup: {
      js: `// the test database runs with: ALTER DATABASE test SET lock_timeout = '2s';`,
      python: `# the test database runs with: ALTER DATABASE test SET lock_timeout = '2s';`,
      go: `// the test database runs with: ALTER DATABASE test SET lock_timeout = '2s';`,
      ruby: `# the test database runs with: ALTER DATABASE test SET lock_timeout = '2s';`,
    },
    assert: {
      js: `// one call is enough to hang; each fails with 55P03 lock_not_available while the write bypasses ${handle}\nexpect(results.filter((r) => r.status === 'rejected')).toEqual([]);`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []`,
      go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatalf("the call failed (a lock timeout means it waited on its own transaction): %v", err)\n\t}\n}`,
      ruby: `expect(results.grep(StandardError)).to be_empty`,
    },
  });

  const fix = [
    `Run every statement of the transaction on its own connection: pass ${code(handle)} (the transaction client / executor) to ${via.replace(/\(\).*$/, '()')} instead of letting it reach for the pool, or give the helper an executor parameter that defaults to the pool. If the second write does not need to be atomic with the first, move it after the commit instead.`,
    fenced(
      x.fence,
      x.fam === 'go'
        ? `// before: s.db.ExecContext(ctx, ...) inside the transaction\nif _, err := tx.ExecContext(ctx, query, args...); err != nil { // the same *sql.Tx that holds the lock\n\treturn err\n}`
        : `// before: pool.query(...) inside the transaction\nawait ${handle}.query(sql, params); // the connection that holds the lock\n\n// helpers take the executor:\nasync function recordActivity(db: Queryable, id: string) { await db.query('UPDATE ... WHERE id = $1', [id]); }`,
    ),
  ].join('\n\n');

  const whatNotToDo = [
    `Don't enlarge the pool: the hang stays, it only takes more ${x.actors.kind}s to exhaust the pool.`,
    `Don't add a retry on the lock timeout: every retry hangs the same way.`,
    `Don't drop the row lock to make the second write go through: the lock is what keeps the transaction's reads and writes consistent.`,
    `Don't commit early just to let the second write in: the two writes stop being atomic, and a failure between them leaves half a change.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}
