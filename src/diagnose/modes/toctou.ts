/**
 * Check-then-act race: a read decides whether to act, and a concurrent actor acts in between.
 *
 * Two patterns:
 * - check-then-act (evidence 'check' + 'act', optional 'key'): a lookup of one key (SELECT / findFirst / exists(),
 *   or a dedup window such as `created_at > NOW() - INTERVAL '5 minutes'`, fact `window`) gates an insert, a claim
 *   or an external call. A per-call idempotency key (fact `idempotencyKey`, role 'key') makes the external call
 *   unable to dedupe either.
 * - nondeterministic-key (fact `pattern`, or 'key' evidence without a 'check'): an idempotency key / jobId built
 *   from the clock or randomness on every call; the provider's or queue's own check cannot match a retry.
 * - state-guard (fact `pattern`): a field of a loaded row is checked in code, then written by an update whose WHERE
 *   names only the row; the fix moves the check into the write (a conditional update) or locks the row.
 */
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
  const pattern = x.fact('pattern', '');
  if (pattern === 'state-guard') return stateGuard(x);
  const keyOnly = pattern === 'nondeterministic-key' || (x.ev('key') !== undefined && x.ev('check') === undefined);
  return keyOnly ? nondeterministicKey(x) : checkThenAct(x);
}

/** The clock / randomness call in a key expression, e.g. "Date.now()". */
const NONDET = /Date\.now\(\)|new Date\(\s*\)|performance\.now\(\)|time\.time(?:_ns)?\(\)|datetime\.(?:now|utcnow)\([^)]*\)|timezone\.now\(\)|uuid\.uuid[14]\(\)|uuid[14]\(\)|uuidv[147]\(\)|uuid\(\)|v4\(\)|randomUUID\(\)|crypto\.randomBytes\([^)]*\)|Math\.random\(\)|SecureRandom\.\w+|nanoid\(\)|cuid2?\(\)|ulid\(\)|uuid\.New(?:String)?\(\)|time\.Now\(\)(?:\.\w+\(\))?|Time\.(?:now|current)|DateTime\.now|secrets\.token_\w+\([^)]*\)|random\.\w+\([^)]*\)|ObjectId\(\)/;

function sourceOf(expr: string): string {
  return NONDET.exec(expr)?.[0] ?? 'a per-call value';
}

/** The key expression without a leading declaration: "`${a}-${Date.now()}`". */
function keyExpr(idemKey: string): string {
  return idemKey.replace(/^\s*(?:(?:const|let|var)\s+)?[\w$.]+\s*:?=\s*/, '').replace(/[;,]\s*$/, '').trim();
}

// ---------------------------------------------------------------------------------------------------------------
// check-then-act

function checkThenAct(x: Ctx): ModeText {
  const { c } = x;
  const check = x.ev('check', 0);
  const acts = c.evidence.filter((e) => e.role === 'act');
  const write = acts[acts.length - 1] ?? x.ev('act', -1);
  const keyLine = x.ev('key');
  const checkCall = x.callOn(check, 'checkCall', 'the existence check');
  const actCall = x.callOn(write, 'actCall', 'the write');
  const actCalls = acts.map((e) => calleeOf(e.text)).filter((s): s is string => Boolean(s));
  const external = x.fact('externalCall', actCalls.find((a) => EXTERNAL.test(a)) ?? (EXTERNAL.test(actCall) ? actCall : ''));
  const idemKey = keyExpr(x.fact('idempotencyKey', keyLine ? keyLine.text.trim() : ''));
  const windowText = x.fact('window', '');
  const keys = keyList(x, `the same ${singular(x.table)}`);
  const keyTuple = x.keyColumns.length ? `(${keys})` : 'the business key';
  const existingIndex = x.fact('existingIndex', '');
  const isolation = x.fact('isolation', 'READ COMMITTED');
  const thing = x.thing;
  const predicate = windowPredicate(check?.text ?? '', windowText);
  const k = x.actors.kind;

  const schemaNote =
    existingIndex && existingIndex !== 'none'
      ? `The schema only has a ${existingIndex} on ${keyTuple}, so the database accepts the second write.`
      : `No unique constraint on ${keyTuple} backs the check, so the database accepts the second write.`;
  const keyNote = idemKey
    ? ` The idempotency key is built per call (${keyLine ? x.cite(keyLine) : code(idemKey)}), so two ${k}s a few milliseconds apart send ${external || 'the downstream API'} different keys and it cannot recognise the duplicate either.`
    : '';
  const checkWhat = windowText
    ? `is a dedup check (is there already ${aOrAn(thing)} ${thing} for the same ${keys} in the last ${windowText}?)`
    : 'decides whether to act';
  const actsText = acts.length > 1 ? acts.map((e) => x.cite(e)).join(', then ') : x.cite(write);
  const gap = external
    ? `The row the check looks for is only written at ${x.at(write)}, after the ${external} round-trip, so a second ${k} for the same ${keys} arriving in that gap (a double-click, a network retry, another instance behind the load balancer) gets the same "nothing there" answer and acts again.`
    : `Between the two there is at least one database or network round-trip, and a second ${k} running the same code for ${keys} in that gap gets the same "not there yet" answer.`;
  const windowNote = windowText
    ? ` The ${windowText} window does not narrow that gap: it only sets how far back the check looks, and no window can see ${aOrAn(thing)} ${thing} that has not been inserted yet.`
    : '';

  const explanation = [
    `This is a check-then-act race (toctou) on ${code(x.entity)} in ${x.fnLabel}. ${cap(x.cite(check))} ${checkWhat}, and ${actsText} ${acts.length > 1 ? 'act' : 'acts'} on that answer. ${gap}${windowNote} ${schemaNote}${keyNote}`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update: nothing reads a value and writes back a computed one; the damage is a duplicated act (${external ? `a second ${external} and a second ${thing}` : actCall}), not an overwritten value.`,
    windowText
      ? `- Not phantom_read: ${predicate} is a recency window, one bound relative to now, asking whether a duplicate of the same ${keyTuple} exists; it is not an overlap with a range the caller asks for. A unique constraint on a deterministic idempotency key closes it; an exclusion constraint or SERIALIZABLE is not the fix${external ? ` (and would not undo a ${external} already made)` : ''}.`
      : `- Not phantom_read: ${checkCall} looks up one exact key ${keyTuple}, not a range or an aggregate such as max() that a new row can enter; a unique constraint on that key closes this race, which it could not for a range.`,
    `- Not write_skew: the check and the act are about the same ${thing} key; write skew needs an invariant over several rows with each ${k} writing a different row.`,
    `- A transaction alone does not make it safe: at ${isolation} ${checkCall} takes no lock on a row that does not exist yet, so both ${k}s still pass it.`,
  ].join('\n');

  const interleaving: string[] = [];
  let t = 0;
  const window = windowText ? ` in the last ${windowText}` : '';
  interleaving.push(x.step(t++, 'a', check, `${checkCall} for ${keys}${window} → nothing found, the check passes`));
  interleaving.push(x.step(t++, 'b', check, `${checkCall} for the same ${keys} → nothing found (${x.actors.a} has not written yet): both pass the check`));
  const actList = acts.length > 0 ? acts : write ? [write] : [];
  if (actList.length === 0) actList.push({ line: c.endLine, text: actCall, role: 'act' });
  for (const e of actList) {
    const call = e === write ? actCall : x.callOn(e, '__none', actCall);
    const isExt = external !== '' && call === external;
    if (isExt) {
      const noun = effectNoun(call);
      interleaving.push(x.step(t++, 'a', e, idemKey ? `${call} with idempotency key ${code(idemKey)} → ${noun} 1` : `${call} succeeds → ${noun} 1`));
      interleaving.push(
        x.step(t++, 'b', e, idemKey ? `${call} with a different key (${sourceOf(idemKey)} has moved on by a few ms), so it is not deduplicated → ${noun} 2` : `${call} succeeds too → ${noun} 2`),
      );
    } else {
      interleaving.push(x.step(t++, 'a', e, `${call} succeeds`));
      interleaving.push(x.step(t++, 'b', e, `${call} succeeds too: nothing unique on ${keyTuple} rejects it${existingIndex && existingIndex !== 'none' ? ` (only a ${existingIndex})` : ''}`));
    }
  }
  if (actList.length === 1) {
    interleaving.push(x.step(t++, 'a', undefined, `commits: one ${thing} for ${keys}`));
    interleaving.push(x.step(t++, 'b', undefined, `commits too: nothing on ${keyTuple} rejects a second ${thing} for the same key`));
  }
  interleaving.push(
    `Result: ${external ? `two ${effectNoun(external)}s through ${external} and two ${x.table} rows` : `two ${thing} writes`} for the same ${keys}, where the check at line ${check?.line ?? c.line} was meant to allow one.`,
  );

  const n = 10;
  const missingTest = concurrentTest(x, {
    should: external ? `calls ${external} once for ${n} identical requests` : `performs ${actCall} exactly once`,
    n,
    setup: external
      ? {
          js: [
            `// a fake ${external}: counts calls, never reaches the provider (${external.split('.')[0]} and db: the clients ${c.file} imports)`,
            `const externalCall = ${spyOn(x, external)}${external.includes('.') ? `.mockResolvedValue({ id: 'fake-1' } as never)` : ''};`,
            idemKey ? `// after the fix, pass the same requestId to every call: one user action, retried or double-clicked` : '',
          ]
            .filter(Boolean)
            .join('\n'),
          python: `# patch ${external} with unittest.mock.patch and count its calls`,
        }
      : {},
    assert: {
      js: [
        `// exactly one ${k} wins; the others report a duplicate instead of acting`,
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

  const gapText = external ? `${checkCall} and ${actCall} (a ${external} round-trip)` : `${checkCall} and ${actCall}`;
  const options = [
    windowText
      ? `Don't widen the ${windowText} window: the race is the gap between ${gapText}, which no window closes; a longer window only blocks legitimate repeats.`
      : `Don't add a second ${checkCall} right before ${actCall}: two checks race exactly like one.`,
    `Don't put a Redis or in-process lock in front of ${checkCall}: it does not span every instance reliably, expires under load, and the database still accepts the duplicate.`,
    `Don't use SELECT … FOR UPDATE for the check: when the ${thing} is new there is no row to lock, and locking would serialize every ${k}; the unique index is non-blocking and correct.`,
    `Don't retry on the unique violation: it means another ${k} already won; return its result (or "already in progress").`,
    idemKey
      ? `Don't generate the idempotency key on the server per call (${code(idemKey)}): only a key the client sends once per action, and again on every retry, turns a retry into the same ${external ? effectNoun(external) : 'write'}.`
      : `Don't wrap ${checkCall} and ${actCall} in a transaction at ${isolation} and call it fixed: nothing locks a row that does not exist yet.`,
  ];
  // At most five; the transaction note gives way to the window and key notes above.
  const whatNotToDo = options.slice(0, 5);

  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

/** The window predicate as written (`created_at > NOW() - INTERVAL '5 minutes'`), else "the 5 minutes window". */
function windowPredicate(text: string, windowText: string): string {
  const m =
    /\b([A-Za-z_]\w*\s*>=?\s*(?:NOW\(\)|CURRENT_TIMESTAMP)\s*-\s*INTERVAL\s*'[^']*')/i.exec(text) ??
    /\b(\w+__gte?\s*=\s*[\w.]+\(\)\s*-\s*timedelta\([^)]*\))/.exec(text) ??
    /\b(\w+\s*:\s*\{\s*gte?\s*:\s*[^}]{1,60}\})/.exec(text) ??
    /\b(\w+:\s*\d+\.\w+\.ago\s*\.\.)/.exec(text);
  return m ? code(m[1]!) : `the ${windowText} window`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** What one external call does, in words: "charge", "email", "SMS", else "effect". */
function effectNoun(call: string): string {
  if (/stripe|paypal|braintree|adyen|payment|charge|refund|transfer|payout/i.test(call)) return 'charge';
  if (/mail|sendgrid|\bses\b|postmark/i.test(call)) return 'email';
  if (/sms|twilio/i.test(call)) return 'SMS';
  return 'effect';
}

function aOrAn(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

// ---------------------------------------------------------------------------------------------------------------
// nondeterministic-key

function nondeterministicKey(x: Ctx): ModeText {
  const { c } = x;
  const built = x.ev('key', 0);
  const keyEvs = c.evidence.filter((e) => e.role === 'key');
  const passed = keyEvs[keyEvs.length - 1] ?? built;
  const actEv = x.ev('act', -1);
  const expr = keyExpr(x.fact('idempotencyKey', built?.text ?? 'the key'));
  const source = sourceOf(expr);
  const keyName = x.fact('keyName', 'idempotencyKey');
  const call = x.fact('actCall', x.fact('externalCall', actEv ? (calleeOf(actEv.text) ?? 'the external call') : 'the external call'));
  const queue = c.variant === 'queue' || /^(?:jobId|job_id|JobID)$|dedup/i.test(keyName);
  const k = x.actors.kind;
  const who = queue ? 'the queue' : providerOf(call);
  const noun = queue ? 'job' : effectNoun(call);
  const effect = queue ? 'runs the job twice' : `acts a second time (a second ${noun})`;

  const explanation = [
    `This is a check-then-act race (toctou) hidden in an idempotency key: in ${x.fnLabel}, ${x.cite(built)} builds the ${code(keyName)} that ${who} uses to recognise a repeated ${queue ? 'job' : 'request'} (passed to ${call}${actEv ? ` at ${x.at(actEv)}` : ''}) from ${code(source)}, so it is different on every call${passed && passed !== built ? ` (see ${x.at(passed)})` : ''}. An idempotency key only works when a retry of the same action sends the same key: ${who} checks "have I seen this key?" and ${queue ? 'ignores the second add' : 'returns the first result'} instead of acting again. When attempt 1 times out after ${who} already acted (or the user double-clicks, or the ${queue ? 'job is enqueued again' : 'request is retried by a client or a proxy'}), the retry builds a new key, ${who} finds nothing under it and ${effect}.`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update: nothing is read and written back; the damage is a repeated action, not an overwritten value.`,
    `- Not phantom_read: there is no range or aggregate; the duplicate check is ${who} looking up one exact key, and it fails only because the key changes on every call.`,
    `- Not write_skew: one action per key, no invariant over several rows.`,
    `- Not message_ordering: the order in which the two attempts arrive does not matter; with a stable key the second one is a no-op whatever the order.`,
  ].join('\n');

  const at = actEv ?? passed;
  const interleaving = [
    x.step(0, 'a', built, `builds the key from ${source} → ${code(sample(expr, 1))}`),
    x.step(1, 'a', at, `${call} with that key → ${who} acts (${noun} 1)`),
    x.step(2, 'a', undefined, queue ? `the ${k} fails or times out after the add (a dropped connection, a restarted pod), so the client retries the whole action` : `the response is lost or times out (a slow provider, a dropped connection, a restarted pod), so the caller sees a failure and retries`),
    x.step(3, 'b', built, `the retry of the same action builds the key again → ${code(sample(expr, 2))}: ${source} has moved on, a different key`),
    x.step(4, 'b', at, `${call} with the new key → ${who} has never seen it and acts again (${noun} 2)`),
    x.step(5, 'b', undefined, `succeeds; the caller believes one action happened`),
    `Result: two ${queue ? 'runs of the job' : `${noun}s through ${call}`} for one user action; ${who} could not match them because the keys differ.`,
  ];

  const stable = stableKey(expr, x.fam, queue);
  const missingTest = concurrentTest(x, {
    should: `sends one ${keyName} for one action retried`,
    n: 2,
    setup: {
      js: [
        `// a fake ${call}: records every call, never reaches ${queue ? 'the queue' : 'the provider'}`,
        `const externalCall = ${spyOn(x, call)}${call.includes('.') ? `.mockResolvedValue({ id: 'fake-1' } as never)` : ''};`,
        `// the same action twice (a double click, a retry): after the fix, pass the same requestId to both calls`,
      ].join('\n'),
      python: `calls = patch("${x.c.file.replace(/\.py$/, '').replace(/\//g, '.')}.${call}").start()  # records every call\n# the same action twice: after the fix, pass the same request_id to both calls`,
      ruby: `keys = [] # the ${keyName} of every call\nallow(${pascalPath(call)}).to receive(:${call.split('.').pop()}) { |*args| keys << args.last.to_s; double(id: "fake-1") }`,
      go: `fake := &recordingClient{} // records the ${keyName} of every call; wire it in place of ${call}`,
    },
    imports: { python: 'from unittest.mock import patch' },
    assert: {
      js: [
        `// both attempts carry the same key, so ${who} acts once`,
        `const keys = externalCall.mock.calls.map((args) => JSON.stringify(args[args.length - 1]));`,
        `expect(keys).toHaveLength(2);`,
        `expect(new Set(keys).size).toBe(1);`,
      ].join('\n'),
      python: `keys = {str(call.kwargs.get("${keyName}")) for call in calls.call_args_list}\nassert calls.call_count == 2\nassert len(keys) == 1  # one action, one key\npatch.stopall()`,
      ruby: `expect(keys.size).to eq(2)\nexpect(keys.uniq.size).to eq(1) # one action, one key`,
      go: `keys := fake.Keys()\nif len(keys) != 2 || keys[0] != keys[1] {\n\tt.Fatalf("want the same ${keyName} on both attempts, got %v", keys)\n}`,
    },
  });

  // The race is in the key, not in the database: a recording fake of the external call is the whole fixture.
  const test = missingTest.replace(/\n\/\/ Run against a real database[^\n]*/, '\n// No database needed: the bug is the key, so a fake that records the keys it receives is enough.');
  const comment = x.fam === 'python' || x.fam === 'ruby' ? '#' : '//';
  const identName = /^[A-Za-z_][\w]*$/.test(keyName) && !/^[A-Z]/.test(keyName);
  const varName = identName ? keyName : x.fam === 'js' || x.fam === 'go' ? 'idempotencyKey' : 'idempotency_key';
  const rid = x.fam === 'js' ? 'requestId' : x.fam === 'go' ? 'requestID' : 'request_id';
  const decl = x.fam === 'js' ? `const ${varName} = ${stable};` : x.fam === 'go' ? `${varName} := ${stable}` : `${varName} = ${stable}`;
  const pass =
    x.fam === 'js'
      ? `await ${call}(/* same arguments as today */ ${/^[A-Za-z_$][\w$]*$/.test(keyName) ? (keyName === varName ? `{ ${varName} }` : `{ ${keyName}: ${varName} }`) : `{ headers: { '${keyName}': ${varName} } }`});`
      : x.fam === 'python'
        ? `${call}(..., ${/^[a-z_]+$/.test(keyName) ? keyName : 'idempotency_key'}=${varName})  # same arguments as today`
        : x.fam === 'ruby'
          ? `${call}(..., { ${/^[a-z_]+$/.test(keyName) ? keyName : 'idempotency_key'}: ${varName} }) # same arguments as today`
          : `params.${keyName === 'IdempotencyKey' ? 'IdempotencyKey' : pascal(keyName)} = stripe.String(${varName}) // same request as today`;
  const fixCode = [
    queue
      ? `${comment} the key names the job, not the moment: the same logical job always gets the same id`
      : `${comment} ${rid}: created by the client once per user action (when the button is clicked) and sent again on every retry`,
    decl,
    pass,
  ].join('\n');
  const fix = [
    queue
      ? `Derive ${code(keyName)} from what makes the job unique (the record and the event it is about), not from ${code(source)}: enqueuing the same job twice then collapses into one.`
      : `Derive the key from the action, not from the call: a request id the client generates once per action and resends on every retry (or the id of the order / invoice being paid, when one action per record is the rule). Reuse it on retries and pass the same key to ${call}.`,
    fenced(x.fence, fixCode),
    queue
      ? `A queue forgets a job id once the job is removed, so make the worker idempotent as well: it records the key first and acts only when the insert wins.`
      : `Record the key on your side too, before calling out: insert it first and let a unique constraint decide, so a retry that reaches your own database returns the first attempt's result instead of calling ${call} again.`,
    fenced(
      'sql',
      queue
        ? `CREATE TABLE processed_jobs (\n  job_id text PRIMARY KEY,\n  processed_at timestamptz NOT NULL DEFAULT now()\n);\n\n-- in the worker, before acting: no row back means this job already ran\nINSERT INTO processed_jobs (job_id) VALUES ($1)\nON CONFLICT (job_id) DO NOTHING\nRETURNING job_id;`
        : `CREATE TABLE idempotency_keys (\n  key text PRIMARY KEY,\n  response jsonb,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n\n-- per attempt: no row back means the key was seen before; return the stored response instead of acting\nINSERT INTO idempotency_keys (key) VALUES ($1)\nON CONFLICT (key) DO NOTHING\nRETURNING key;`,
    ),
  ].join('\n\n');

  const whatNotToDo = [
    `Don't build the key from the clock, a counter or randomness (${code(expr)}), not even rounded to the second: two attempts of one action must produce the same key, and two different actions must not.`,
    `Don't generate the key on the server per call: it has to come from the action (a request id the client sends again on retry) or from the record it is about.`,
    `Don't fix it with longer timeouts or fewer retries: retries are how clients recover from a lost response; they are safe only when they repeat the key.`,
    `Don't put a "same ${queue ? 'job' : 'amount'} in the last N minutes" check in front of ${call}: that check races with itself (two attempts both pass it) and blocks legitimate repeats.`,
    queue
      ? `Don't rely on the job id alone: once the job is removed (completed jobs are usually cleaned up) the same id can be added again, so the worker has to be idempotent too.`
      : `Don't accept the client's request id unchecked: require it, validate its format, and scope it to the user (\`user:requestId\`) so one user cannot replay another's key.`,
  ];

  return { explanation, interleaving, missingTest: test, fix, whatNotToDo };
}

/** An illustration of the key's value on attempt n: the per-call part replaced by a changing number. */
function sample(expr: string, n: number): string {
  const value = n === 1 ? '1745923215000' : '1745923215047';
  const uuid = n === 1 ? '3f2a…' : '9c41…';
  const isClock = /now|time|Date/i.test(sourceOf(expr));
  if (!/[`{]/.test(expr)) return isClock ? value : uuid;
  let s = expr.replace(/^`|`$/g, '').replace(/^f?["']|["']$/g, '');
  s = s.replace(/\$\{[^}]*\}|#\{[^}]*\}|\{[^}]*\}/g, (part) => (NONDET.test(part) ? (isClock ? value : uuid) : `<${part.replace(/^[$#]?\{\s*|\s*\}$/g, '')}>`));
  if (NONDET.test(s)) s = s.replace(NONDET, isClock ? value : uuid);
  return s.length > 80 ? s.slice(0, 77) + '…' : s;
}

/** The key expression with its per-call part replaced by the client's request id (or, for jobs, dropped). */
function stableKey(expr: string, fam: Ctx['fam'], queue: boolean): string {
  const rid = fam === 'js' ? 'requestId' : fam === 'go' ? 'requestID' : 'request_id';
  if (fam === 'js' && /^`[\s\S]*`$/.test(expr)) {
    const replaced = expr.replace(/([-:_/.]?)\$\{[^}]*\}/g, (part, sep: string) => (NONDET.test(part) ? (queue ? '' : `${sep}\${${rid}}`) : part));
    return /\$\{/.test(replaced) ? replaced : `\`\${${rid}}\``;
  }
  if ((fam === 'python' && /^f["']/.test(expr)) || (fam === 'ruby' && /^"[\s\S]*#\{/.test(expr))) {
    const open = fam === 'python' ? '{' : '#{';
    const re = fam === 'python' ? /([-:_/.]?)\{[^}]*\}/g : /([-:_/.]?)#\{[^}]*\}/g;
    const replaced = expr.replace(re, (part, sep: string) => (NONDET.test(part) ? (queue ? '' : `${sep}${open}${rid}}`) : part));
    return /\{/.test(replaced) ? replaced : rid;
  }
  return rid;
}

const PROVIDERS: Array<[RegExp, string]> = [
  [/stripe/i, 'Stripe'],
  [/paypal/i, 'PayPal'],
  [/adyen/i, 'Adyen'],
  [/braintree/i, 'Braintree'],
  [/twilio/i, 'Twilio'],
  [/sendgrid/i, 'SendGrid'],
  [/postmark/i, 'Postmark'],
];

/** "Stripe" for `stripe.paymentIntents.create`, else "the API behind <call>". */
function providerOf(call: string): string {
  return PROVIDERS.find(([re]) => re.test(call))?.[1] ?? `the API behind ${call}`;
}

/** `Stripe::PaymentIntent` for a Ruby call `Stripe::PaymentIntent.create`. */
function pascalPath(call: string): string {
  const i = call.lastIndexOf('.');
  return i < 0 ? call : call.slice(0, i);
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
    useKeyColumn && a.external && x.fam === 'js' ? `ALTER TABLE ${x.table} ADD COLUMN status text NOT NULL DEFAULT 'completed';` : '',
    `CREATE UNIQUE INDEX CONCURRENTLY ${idx} ON ${x.table} (${uniqueCols.join(', ')});`,
  ]
    .filter(Boolean)
    .join('\n');
  const intro = `Make the database the arbiter: a unique constraint on (${uniqueCols.join(', ')}) and insert-then-process instead of check-then-act. The ${x.actors.kind} whose INSERT wins goes on to ${a.external || a.actCall}; the loser gets "already exists" and returns the winner's result. ${a.checkCall} goes away.`;
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
        codeBlock = `${a.external ? '// 1. claim the key: the unique index lets exactly one request through\n' : ''}const { rows } = await db.query(
  \`INSERT INTO ${x.table} (${cols.join(', ')}, status) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}, 'pending')
   ON CONFLICT (${uniqueCols.join(', ')}) DO NOTHING RETURNING id\`,
  [${obj}],
);
if (rows.length === 0) return { status: 'duplicate' }; // another request owns this key`;
      }
      if (a.external) {
        codeBlock += `\n\n${x.orm === 'pg' || x.orm === '' ? '// 2. only the winner calls out, with the same key on every retry of this action\n' : ''}const result = await ${a.external}({ /* … */ }, { idempotencyKey });`;
        if (x.orm === 'pg' || x.orm === '')
          codeBlock += `\n\n// 3. record the outcome on the claimed row\nawait db.query('UPDATE ${x.table} SET status = $1 WHERE id = $2', ['completed', rows[0].id]);`;
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
      `Pass that deterministic idempotency key to ${a.external} (built from ${keyList(x, 'the business key')} and a request id the client sends once per action${a.idemKey ? `, not the per-call ${code(a.idemKey)}` : ''}), so even two calls that get through are one ${effectNoun(a.external)} downstream: defense in depth, the unique index on your side and the provider's idempotency on theirs. The client creates the request id when the user acts (not on retry); reject a request without one.`,
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

// ---------------------------------------------------------------------------------------------------------------
// state-guard: a loaded row's field checked in code, then written unconditionally

function stateGuard(x: Ctx): ModeText {
  const { c } = x;
  const checks = c.evidence.filter((e) => e.role === 'check');
  const load = checks[0];
  const guard = checks[checks.length - 1] ?? load;
  const acts = c.evidence.filter((e) => e.role === 'act');
  const write = acts[acts.length - 1];
  const k = x.actors.kind;
  const fields = x.keyColumns.length ? x.keyColumns : ['status'];
  const fieldList = fields.map(code).join(', ');
  const holds = fields.length > 1 ? 'hold' : 'holds';
  const checkCall = x.fact('checkCall', 'the load');
  const actCall = x.fact('actCall', x.callOn(write, '__none', 'the update'));
  const external = x.fact('externalCall', '');
  const idemKey = keyExpr(x.fact('idempotencyKey', ''));
  const inTx = x.fact('inTransaction', 'no') === 'yes';
  const thing = x.thing;
  const rides = external ? `each calling ${external}` : `each applying what the check was meant to allow once`;

  const explanation = [
    `This is a check-then-act race (toctou) on the state of one ${thing} in ${x.fnLabel}. ${cap(x.cite(load))} loads the row${guard && guard !== load ? ` and ${x.cite(guard)} checks ${fieldList} in application code` : `, and the code checks ${fieldList}`}; ${x.cite(write)} then writes ${fieldList} with ${actCall}, whose WHERE names the row but not the state that was checked. Two ${k}s for the same ${thing} both load it while ${fieldList} still ${holds} the old value, both pass the check and both write, ${rides}; the second write lands on a row whose state has already changed and nothing notices.${idemKey ? ` The idempotency key is built per call (${code(idemKey)}), so ${external || 'the downstream API'} cannot recognise the second call either.` : ''}`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update: the new value of ${fieldList} is not computed from the old one; the harm is that a transition meant to happen once happens twice.`,
    `- Not write_skew: both ${k}s read and write the same row, not an invariant spread over several rows.`,
    `- Not phantom_read: the row already exists, so no new row enters a range, and a unique constraint cannot help: nothing is inserted.`,
    inTx
      ? `- The surrounding transaction does not make it safe: at READ COMMITTED ${checkCall} is a plain read that takes no lock, so both transactions see the old state.`
      : `- Wrapping it in a transaction alone would not make it safe: at READ COMMITTED ${checkCall} takes no lock.`,
  ].join('\n');

  const interleaving: string[] = [];
  let t = 0;
  interleaving.push(x.step(t++, 'a', load, `${checkCall} → ${fieldList} still ${holds} the value the check wants`));
  interleaving.push(x.step(t++, 'b', load, `${checkCall} → the same old value (${x.actors.a} has not written yet)`));
  interleaving.push(x.step(t++, 'both', guard, `the check on ${fieldList} passes for both`));
  for (const e of acts.filter((a) => a !== write)) {
    const call = x.callOn(e, '__none', external || 'the side effect');
    interleaving.push(x.step(t++, 'a', e, `${call} runs`));
    interleaving.push(x.step(t++, 'b', e, `${call} runs again`));
  }
  interleaving.push(x.step(t++, 'a', write, `${actCall} writes ${fieldList}: one row updated`));
  interleaving.push(x.step(t++, 'b', write, `${actCall} writes ${fieldList} again: its WHERE matches the row by id, the old state is not re-checked, one row updated`));
  interleaving.push(`Result: the transition guarded at line ${guard?.line ?? c.line} ran twice for one ${thing}${external ? `, with two ${effectNoun(external)}s through ${external}` : ''}, and the second ${k} overwrote the first one's result.`);

  const n = 10;
  const missingTest = concurrentTest(x, {
    should: `lets exactly one of ${n} concurrent calls through the ${fields.join('/')} check`,
    n,
    setup: external
      ? { js: `const externalCall = ${spyOn(x, external)}${external.includes('.') ? `.mockResolvedValue({ id: 'fake-1' } as never)` : ''};`, python: `# patch ${external} with unittest.mock.patch and count its calls` }
      : {},
    assert: {
      js: [
        `// one call wins the transition; the others are told it already happened`,
        `expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);`,
        external ? `expect(externalCall).toHaveBeenCalledTimes(1);` : '',
      ]
        .filter(Boolean)
        .join('\n'),
      python: `assert len([r for r in results if not isinstance(r, Exception)]) == 1`,
      go: `ok := 0\nfor err := range errs {\n\tif err == nil {\n\t\tok++\n\t}\n}\nif ok != 1 {\n\tt.Fatalf("want exactly 1 call through the ${fields.join('/')} check, got %d", ok)\n}`,
      ruby: `expect(results.count { |r| !r.is_a?(StandardError) }).to eq(1)`,
      sql: `-- run the two sessions' statements interleaved as above and count the successful UPDATEs`,
    },
  });

  const fix = [
    `Move the check into the write: a conditional update that names the expected ${fieldList} in its WHERE and reports how many rows it changed. Exactly one ${k} changes the row; the others change nothing and return "already done" (or 409). ${external ? `Claim the transition first (set an in-progress state conditionally), then call ${external} with an idempotency key derived from the ${thing}'s id, then record the result.` : `${checkCall} can stay for the error message, but it no longer decides.`}`,
    fenced(x.fence, conditionalUpdate(x, fields)),
    `Where several statements must see the same state, lock the row instead: ${lockHint(x)} inside the transaction, before the check.`,
  ].join('\n\n');

  const whatNotToDo = [
    `Don't re-read ${fieldList} right before ${actCall}: two checks race exactly like one.`,
    `Don't add a unique index: the row already exists and nothing is inserted, so there is nothing for it to reject.`,
    `Don't rely on ${inTx ? 'the' : 'a'} transaction at READ COMMITTED without a row lock: the plain read locks nothing.`,
    `Don't serialize with an in-process mutex or a Redis lock: other instances do not see the former, and the latter expires under load while the write still goes through unconditionally.`,
    external ? `Don't call ${external} before the conditional update has claimed the transition: a call made by the ${k} that then loses cannot be taken back.` : `Don't ignore the affected-row count: a conditional update that changes nothing is the signal that another ${k} got there first.`,
  ];

  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

/** The guarded write as a conditional update with an affected-rows check, in the file's ORM. */
function conditionalUpdate(x: Ctx, fields: string[]): string {
  const f = fields[0]!;
  // SQL: every guarded field is written; the first one (the state) is re-checked in the WHERE.
  const sets = fields.map((g, i) => `${snake(g)} = $${i + 2}`).join(', ');
  const guardArg = `$${fields.length + 2}`;
  const nexts = fields.map((g) => `next${pascal(g)}`).join(', ');
  const accessor = camel(x.model.charAt(0).toLowerCase() + x.model.slice(1));
  switch (x.fam) {
    case 'js':
      if (x.orm === 'prisma')
        return `const { count } = await prisma.${accessor}.updateMany({
  where: { id, ${camel(f)}: expected${pascal(f)} }, // the state the check required
  data: { ${camel(f)}: next${pascal(f)} },
});
if (count === 0) throw new ConflictError('${x.thing} already changed');`;
      if (x.orm === 'typeorm')
        return `const res = await repo.update({ id, ${camel(f)}: expected${pascal(f)} }, { ${camel(f)}: next${pascal(f)} });
if (res.affected === 0) throw new ConflictError('${x.thing} already changed');`;
      if (x.orm === 'mongoose')
        return `const doc = await ${x.model}.findOneAndUpdate({ _id: id, ${camel(f)}: expected${pascal(f)} }, { $set: { ${camel(f)}: next${pascal(f)} } }, { new: true });
if (!doc) throw new ConflictError('${x.thing} already changed');`;
      return `const { rowCount } = await db.query(
  'UPDATE ${x.table} SET ${sets} WHERE id = $1 AND ${snake(f)} = ${guardArg}',
  [id, ${nexts}, expected${pascal(f)}],
);
if (rowCount === 0) throw new ConflictError('${x.thing} already changed');`;
    case 'python':
      if (x.orm === 'sqlalchemy')
        return `result = session.execute(
    update(${x.model})
    .where(${x.model}.id == ${snake(x.thing)}_id, ${x.model}.${snake(f)} == expected_${snake(f)})
    .values(${snake(f)}=next_${snake(f)})
)
if result.rowcount == 0:
    raise AlreadyChanged(${snake(x.thing)}_id)`;
      return `updated = ${x.model}.objects.filter(pk=${snake(x.thing)}_id, ${snake(f)}=expected_${snake(f)}).update(${snake(f)}=next_${snake(f)})
if updated == 0:
    raise AlreadyChanged(${snake(x.thing)}_id)`;
    case 'ruby':
      return `changed = ${x.model}.where(id: id, ${snake(f)}: expected_${snake(f)}).update_all(${snake(f)}: next_${snake(f)}, updated_at: Time.current)
raise AlreadyChanged if changed.zero?`;
    case 'go':
      return `res, err := db.ExecContext(ctx,
	\`UPDATE ${x.table} SET ${sets} WHERE id = $1 AND ${snake(f)} = ${guardArg}\`,
	id, ${nexts}, expected${pascal(f)})
if err != nil {
	return err
}
if n, _ := res.RowsAffected(); n == 0 {
	return ErrAlreadyChanged
}`;
    default:
      return `UPDATE ${x.table} SET ${sets} WHERE id = $1 AND ${snake(f)} = ${guardArg}; -- 0 rows: another session got there first`;
  }
}

function lockHint(x: Ctx): string {
  switch (x.fam) {
    case 'python':
      return x.orm === 'sqlalchemy' ? '`select(...).with_for_update()`' : '`select_for_update()` in `transaction.atomic()`';
    case 'ruby':
      return '`record.lock!` (or `with_lock`)';
    default:
      return '`SELECT … FOR UPDATE`';
  }
}
