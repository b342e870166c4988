/**
 * check-then-insert (toctou): a read decides whether to write, and nothing in the database stops two requests from
 * both passing the read.
 *
 * Rule: in one changed function, a read of entity E by key columns K (SELECT / findFirst / findOne / findUnique /
 * exists() / exists? / count / filter().first() / find_by / QueryRow ... Scan) is tested by an `if` that leaves when a
 * row is found (return / raise / throw / next) or that acts only when none is found, and the act is
 *   - an INSERT / create / save of a new E whose columns include some of K, or
 *   - an update of another E row that writes a column of K ("claim a handle": look it up, then write it elsewhere),
 * optionally preceded by a side effect (charge, email, SMS, enqueue, external API) between the check and the write.
 * The read and the insert may each be made through a short function of the review, placed at the call site
 * (`current = active_entry(g, m)`, `found, err := s.repo.ByTag(ctx, tag)`, `s.repo.Insert(ctx, b)`; see
 * `helperCallOps`); Python inserts may be a model built and then `session.add`ed. ActiveRecord reads and inserts
 * through one record's association are keyed by its foreign key (`parentKey`), and the check may be a model
 * predicate (`@court.occupied?`) raised on in the function or in a short guard method (`rubyPredicateChecks`).
 *
 * State guards on a loaded row (`stateGuardsIn`): a row is loaded (ORM find / get_or_create, a raw SELECT scanned into
 * locals, or a repository / store getter `s.GetTicket(ctx, id)`), an `if` tests one of its fields and leaves (or acts
 * inside the `if`), and the code then writes that same field on the same row with no condition on it (`UPDATE t SET
 * state = 'held' WHERE id = $1`, `filter(pk=x.pk).update(flag=now)`, `update({ where: { id }, data: { field } })`,
 * `x.update!(field: ...)`, `x.field = ...; x.save()`), with something riding on passing the guard (another column
 * written, another write, a side effect). Quiet when the write's WHERE holds the field (a conditional update) or a
 * version column, when a lock precedes the guard, when the new value is computed from the old one (lost_update), when
 * another column written with it is computed from its own old value and nothing else rides on the guard before the
 * write (lost_update too), and when a count / sum over E filtered on the guarded field decides the write as well
 * (write_skew: aggregate-check-then-write). The guard may test a state predicate (`approved?`, `isPending()`,
 * `is_open()`, `IsOpen()`: the state column, or a column named after it), may sit in a short guard helper of the
 * same file called as a statement before the write (`ensure_releasable!`, `this.assertOpen(x);`), and the record may
 * come from the caller (a parameter, a Ruby instance variable) when the write goes through the object itself.
 * Confidence 0.7 (0.75 with a side effect between the guard and the write).
 *
 * A recency / dedup window counts as an existence check of the same key, not as a range: `created_at > NOW() -
 * INTERVAL '5 minutes'`, Prisma `createdAt: { gt: since }` with `since = new Date(Date.now() - ...)`, Django
 * `created_at__gte=timezone.now() - timedelta(minutes=5)`, Rails `5.minutes.ago..`, Go `time.Now().Add(-d)`: every
 * range comparison bounds one column by a value relative to now (see `recencyWindow`). Such a check is reported here
 * (toctou, fact `window`), with the window column left out of K; range-check-then-insert leaves it alone. A range
 * with two bounds from parameters (overlap, BETWEEN, `&&`) stays phantom_read's.
 *
 * A per-call idempotency key (Date.now(), uuid, random; see `perCallKeys`) passed to the side effect or the act of a
 * finding is folded into it (evidence role 'key', fact `idempotencyKey`); nondeterministic-idempotency-key then stays
 * quiet about that key.
 *
 * Quiet when: a unique constraint in the diff covers K on E; the act is an upsert (ON CONFLICT, skipDuplicates,
 * INSERT IGNORE, upsert, get_or_create); the function handles a unique violation (P2002, IntegrityError, 23505,
 * RecordNotUnique, ER_DUP_ENTRY, ...), which means a constraint decides; a row / advisory lock is taken before the
 * check, or the transaction is SERIALIZABLE; the check is a range predicate other than a recency window
 * (phantom_read's detector) or a threshold comparison (write_skew's detector); K is only the primary key; the check
 * just loads a row and bails when it is missing (`if (!user) throw NotFound`).
 *
 * Confidence: 0.9 when the diff declares E (model / table) and no unique constraint on K (a plain index is reported
 * as `existingIndex`); 0.75 when E's declaration is not in the diff (a constraint may exist elsewhere); minus 0.1
 * when the written columns are unknown (`create(**data)`, `save(entity)`).
 */
import type { Chain, DbOp } from './lib/sql.js';
import { argKeys, boundVars, callName, familyOf, findChains, matchBracket, normColumn, stringEnd } from './lib/sql.js';
import {
  aRowOf,
  actRegion,
  addedInstances,
  analyzedFunctions,
  appAggregates,
  functionsByName,
  declarationOf,
  dedupe,
  evidence,
  findGate,
  guardsOf,
  helperAggregates,
  analyze,
  ifStatements,
  isPrimaryKeyOnly,
  keyColumns,
  lineText,
  opsIn,
  overlap,
  sameEntity,
  touchesAdded,
  uniqueCovers,
  type FnInfo,
  type Gate,
  type IfStatement,
} from './lib/checks.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';

const SIDE_EFFECT = /\b(?:stripe|paypal|braintree|adyen|mailer|mail|sendMail|send_mail|sendEmail|send_email|email|sms|twilio|sendgrid|ses|slack|charge|charges|payment|payments|refund|enqueue|publish|perform_async|perform_later|deliver_later|deliver_now|delay|apply_async|fetch|axios|requests|httpx|webhook)\b[\w.]*\s*\(/i;

/** Ruby mail delivery without brackets: `Mailer.receipt(order).deliver_now`. */
const DELIVERY = /\b[A-Z]\w*Mailer\.\w+(?:\([^)\n]*\))?\.deliver_(?:now|later)!?(?![\w(])/;

export default createDetector(
  {
    id: 'check-then-insert',
    failureMode: 'toctou',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'A read (SELECT / findFirst / exists, or a dedup window such as created_at > now() - 5 minutes) decides whether to insert or claim a key, with no unique constraint, upsert or lock behind it.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/check-then-insert.md',
  },
  (ctx) => dedupe([...analyzedFunctions(ctx), ...joinedHunkRegions(ctx)].flatMap((info) => checkThenInsertIn(ctx, info))),
);

/** A line that opens a function: the start of a parsed function rather than a hunk region inside one. */
const FUNCTION_HEAD = /^\s*(?:export\s+)?(?:async\s+)?(?:def|function|func|fn)\b|^\s*(?:public|private|protected|static)\b[^=]*\(/;

/**
 * Two hunks of one function whose header the diff does not show (same section name, only unseen lines between
 * them) become two regions; the check can sit in the first and the insert in the second (`if member.has_x(...):
 * return` added above a `with transaction.atomic():` block the second hunk edits). Their union, analysed as one.
 */
function joinedHunkRegions(ctx: DetectorContext): FnInfo[] {
  const spans = ctx.changedFunctions;
  if (spans.length < 2) return [];
  const out: FnInfo[] = [];
  const sorted = [...spans].sort((a, b) => a.startLine - b.startLine);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const a = sorted[i]!;
    const b = sorted[i + 1]!;
    if (a.name !== b.name || a.name === '<hunk>' || b.startLine <= a.endLine || b.startLine - a.endLine > 8) continue;
    const lines = ctx.file.lines;
    if (FUNCTION_HEAD.test(lines[a.startLine - 1] ?? '') || FUNCTION_HEAD.test(lines[b.startLine - 1] ?? '')) continue;
    let gapBlank = true;
    for (let l = a.endLine + 1; l < b.startLine && gapBlank; l++) gapBlank = (lines[l - 1] ?? '').trim() === '';
    if (!gapBlank) continue;
    const text = lines.slice(a.startLine - 1, b.endLine).join('\n');
    out.push(analyze(ctx.file, { name: a.name, startLine: a.startLine, endLine: b.endLine, async: a.async || b.async, text }));
  }
  return out;
}

const reportCache = new WeakMap<FnInfo, DetectorReport[]>();

/**
 * The check-then-insert reports of one analysed function (not deduplicated across nested spans). Exported so that
 * nondeterministic-idempotency-key can stay quiet about a key this detector already folds into a finding.
 */
export function checkThenInsertIn(ctx: DetectorContext, info: FnInfo): DetectorReport[] {
  // Analysed functions belong to one review's files, so one answer per function serves both detectors.
  const hit = reportCache.get(info);
  if (hit) return hit;
  const reports: DetectorReport[] = [];
  reportCache.set(info, reports);
  const guards = guardsOf(info, ctx);
  if (guards.serializable || guards.uniqueViolation) return reports;
  let keyUses: KeyUse[] | undefined;
  // An existence test made through a short helper of the review that returns a count (`hasPermit(...)` returning
  // `n > 0`, `def taken?(...) = where(...).count.positive?`): the helper's read, placed at the call site.
  const viaHelper = info.code.includes('(') ? helperAggregates(ctx, info).filter((o) => o.kind === 'count') : [];
  // Reads and inserts made through a short function of the review (`current = active_entry(g, m)`,
  // `existing, err := s.repo.FindBySerial(ctx, serial)`, `s.repo.Create(ctx, dev)`), placed at the call site.
  const viaCall = helperCallOps(ctx, info);
  const preds = rubyPredicateChecks(ctx, info);
  const presetGates = new Map<DbOp, Gate>(preds.map((p) => [p.op, p.gate]));
  const checks = [...info.ops, ...viaHelper, ...viaCall.filter((o) => o.kind !== 'insert'), ...preds.map((p) => p.op)];
  const acts = [...viaCall.filter((o) => o.kind === 'insert'), ...addedInstances(info)];
  for (const check of checks) {
    if (!['find', 'exists', 'count', 'list'].includes(check.kind) || check.lock) continue;
    if (check.kind === 'list' && check.vars.length === 0) continue;
    // A range predicate belongs to phantom_read, unless it is a recency window on one column ("in the last 5 minutes").
    // (Looked for on every check: some ORMs' range operators, e.g. TypeORM MoreThan() in `where`, do not set `range`.)
    const win = recencyWindow(info, check);
    if (check.range && !win) continue;
    const winNorm = win ? normColumn(win.column) : '';
    const keys = keyColumns([...check.whereColumns, ...parentKey(check)]).filter((c) => !win || normColumn(c) !== winNorm);
    if (keys.length === 0 || isPrimaryKeyOnly(keys)) continue;
    if (guards.lockLine !== undefined && guards.lockLine <= check.line) continue;
    const gate = presetGates.get(check) ?? findGate(info, check);
    if (!gate || gate.polarity === 'threshold') continue;
    const act = findAct(info, check, keys, actRegion(info, gate, 'missing'), acts);
    if (!act) continue;
    const cols = act.kind === 'insert' ? keys : overlap(keys, act.writeColumns);
    if (uniqueCovers(ctx.schema, check.entity, cols, ctx.files)) continue;
    if (!touchesAdded(ctx.file, check.line, act.line)) continue;
    const side = sideEffectBetween(info, gate.line, act.line);
    // Prisma's findUnique only accepts unique fields, findByPk the primary key: the insert cannot duplicate the
    // key, so only a side effect between the check and the insert can run twice.
    if (/\.(?:findUnique|findUniqueOrThrow|findByPk|findById)$/.test(check.call) && !side) continue;
    const decl = declarationOf(ctx.files, check.entity);
    let confidence = decl && !decl.schemaless ? 0.9 : 0.75;
    if (act.writeColumns.length === 0) confidence -= 0.1;
    const keyNorm = new Set(keys.map(normColumn));
    const index = decl?.indexes.find((ix) => ix.some((c) => keyNorm.has(normColumn(c))));
    // A per-call idempotency key handed to the side effect or the act between the check and the write.
    keyUses ??= perCallKeys(info);
    const key = keyUses.find((k) => k.callLine >= check.line && k.callLine <= act.endLine);
    const ev = [evidence(info, check.line, 'check')];
    if (key) ev.unshift(evidence(info, key.builtLine, 'key'));
    if (side) ev.push(evidence(info, side.line, 'act'));
    ev.push(evidence(info, act.line, 'act'));
    ev.sort((a, b) => a.line - b.line);
    const claim = act.kind === 'update';
    const facts: Record<string, string> = {
      checkCall: check.call,
      actCall: act.call,
      keyColumns: (claim ? cols : keys).join(', '),
      orm: check.orm,
      inTransaction: /\btransaction\b|\batomic\b|BeginTx|\.begin\(|Begin\(/i.test(info.code) ? 'yes' : 'no',
    };
    if (/^[a-z_]+$/.test(check.entity) && /_|s$/.test(check.entity)) facts.table = check.entity;
    else facts.model = check.entity;
    facts.existingIndex = index ? 'non-unique index' : 'none';
    if (side) facts.externalCall = side.call;
    if (win?.window) facts.window = win.window;
    if (key) facts.idempotencyKey = key.expr;
    const checkLabel = opLabel(info, check);
    const actLabel = opLabel(info, act);
    const keysText = keys.join(', ');
    let title: string;
    if (claim) title = `${info.name} checks ${check.entity}.${cols.join(', ')} with ${checkLabel} and then writes it with ${actLabel}: two requests can claim the same value`;
    else if (win)
      title = `${info.name} dedups on ${aRowOf(check.entity)} with the same ${keysText} ${win.window ? `in the last ${win.window}` : `in a recent window (${win.column})`} (${checkLabel}), then ${side ? `calls ${side.call} and ` : ''}inserts with ${actLabel}: two concurrent requests both pass the check${key ? `, and the idempotency key is new per call (${key.source})` : ''}`;
    else title = `${info.name} checks for ${aRowOf(check.entity)} with the same ${keysText} with ${checkLabel} and then inserts with ${actLabel}${side ? ` after ${side.call}` : ''}: nothing unique stops a second insert`;
    reports.push({
      line: check.line,
      endLine: act.line,
      functionName: info.name,
      entity: check.entity,
      evidence: ev,
      facts,
      title,
      confidence: Math.round(confidence * 100) / 100,
      variant: side ? 'distributed' : 'database',
    });
  }
  reports.push(...stateGuardsIn(ctx, info, (keyUses ??= perCallKeys(info))));
  return reports;
}

// ---------------------------------------------------------------------------------------------------------------
// State guards on a loaded row

interface LoadedRow {
  variable: string;
  line: number;
  /** The loading call as written: "prisma.invoice.findFirst", "s.Get". */
  call: string;
  /** The DB op that loaded it, when the load is a recognised statement; else a repository / store getter. */
  op?: DbOp;
  /** Identifier arguments of a getter call (`shiftID` in `s.Get(ctx, shiftID)`). */
  args: string[];
  /** For raw SQL scanned into locals (`Scan(&status)`): the scanned variable is the column itself. */
  scanned?: boolean;
  /**
   * A record this function did not load (a parameter, a Ruby instance variable set by the constructor, a loop
   * variable): only writes through the object itself (`@order.update!`, `repo.save(order)`) count for it.
   */
  implicit?: boolean;
}

/** `sh, err := s.Get(ctx, id)`, `const order = await this.orders.findById(id)`, `inv = repo.load(inv_id)`. */
const GETTER = /^\s*(?:const|let|var)?\s*\{?\s*([A-Za-z_$][\w$]*)(?:\s*,\s*[\w$]+)?\s*\}?\s*(?::\s*[\w.<>[\]| ]+)?:?=\s*(?:await\s+)?((?:[\w$]+\.){1,3}(?:[Gg]et|[Ff]ind|[Ll]oad|[Ff]etch|[Ll]ookup|[Rr]ead)\w*|(?:get|find|load|fetch|lookup)_?[A-Z]\w*|(?:get|find|load|fetch|lookup)_[a-z]\w*)\s*\(([^\n]*)\)/;
const NOT_KEYS = new Set(['ctx', 'context', 'r', 'req', 'request', 'self', 'this', 'tx', 'trx', 'db', 'session', 'conn', 'client', 'true', 'false', 'nil', 'null', 'None']);

function loadedRows(info: FnInfo): LoadedRow[] {
  const out: LoadedRow[] = [];
  const fam = familyOf(info.lang);
  for (const op of info.ops) {
    const raw = info.code[op.start] === '"' || info.code[op.start] === "'" || info.code[op.start] === '`';
    // `SELECT id, status FROM t` reads as an existence check too; scanned into a row it is a load.
    if (op.kind !== 'find' && op.kind !== 'getOrCreate' && !(op.kind === 'exists' && raw && fam === 'go')) continue;
    const args = valueIdents(info.bare.slice(op.start, op.end));
    if (fam === 'go' && raw) {
      // `Scan(&state)`: the local is the column; `Scan(&t.ID, &t.State)`: the struct is the loaded row.
      const structs = new Set([...info.code.slice(op.start, op.end).matchAll(/&([A-Za-z_]\w*)\.\w+/g)].map((m) => m[1]!));
      for (const v of structs) out.push({ variable: v, line: op.line, call: op.call, op, args });
      if (structs.size === 0) for (const v of op.vars) if (v !== 'err') out.push({ variable: v, line: op.line, call: op.call, op, args: [], scanned: true });
      continue;
    }
    const v = op.vars.find((x) => x !== '_' && x !== 'err' && x !== 'created');
    if (v) out.push({ variable: v, line: op.line, call: op.call, op, args });
  }
  for (let l = info.fn.startLine; l <= info.fn.endLine; l++) {
    const bareLine = info.bareLines[l - info.fn.startLine] ?? '';
    if (bareLine.length > 400 || !/(?:get|find|load|fetch|lookup|read)/i.test(bareLine)) continue;
    const m = GETTER.exec(bareLine);
    if (!m || out.some((r) => r.line === l)) continue;
    const args = [...m[3]!.matchAll(/(?<![\w$.'"])([A-Za-z_$][\w$]*)(?![\w$(])/g)].map((x) => x[1]!).filter((a) => !NOT_KEYS.has(a));
    if (args.length === 0) continue;
    out.push({ variable: m[1]!, line: l, call: m[2]!, args });
  }
  return out;
}

/** Identifiers used as values in a call's text (`taskId` in `{ where: { id: taskId } }`), not keys, calls or receivers. */
function valueIdents(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<![\w$.'"@:])([A-Za-z_$][\w$]*)(?![\w$])(?!\s*[:=(.])/g)) {
    const w = m[1]!;
    if (!NOT_KEYS.has(w) && !/^(?:await|new|where|data|true|false|null|undefined|None|nil|and|or|not|in|is)$/.test(w)) out.add(w);
  }
  return [...out];
}

const OPTIMISTIC = /StaleObjectError|\block_version\b|OptimisticLock|VersionColumn|@Version\b|StaleDataError|version_id_col/;

function wordRe(word: string): RegExp {
  return new RegExp(String.raw`(?<![\w$.])@?${word.replace(/\$/g, '\\$')}(?![\w$])`);
}

/** Columns `if` tests on a loaded row: `v.status`, `v.AssigneeID.Valid`, `v&.paid_at`; a scanned local is its own column. */
function testedFields(cond: string, row: LoadedRow): string[] {
  if (row.scanned) return wordRe(row.variable).test(cond) ? [row.variable] : [];
  const v = row.variable.replace(/\$/g, '\\$');
  const out: string[] = [];
  for (const m of cond.matchAll(new RegExp(String.raw`(?<![\w$.])@?(?:self\.|this\.)?${v}\s*(?:\?\.|&\.|\.)\s*([A-Za-z_]\w*)(\?|\s*\(\s*\))?`, 'g'))) {
    const f = m[1]!;
    if (/^(?:id|pk|ID|Id)$/.test(f)) continue;
    // A state predicate: Ruby `approved?` (an enum helper or a method), `isPending()`, `is_open()`, `IsOpen()`.
    const pred = m[2] === '?' || (m[2] && /^(?:is|Is|has|Has)_?[A-Za-z]/.test(f));
    out.push(pred ? PREDICATE + f : f);
  }
  return out;
}

/** Marks a tested predicate (`?approved`) among tested fields. */
const PREDICATE = '?';
/** Columns that hold a record's state, which a state predicate (`approved?`, `isPending()`) reads. */
const STATE_COLUMN = /^(?:status|state|stage|phase|lifecycle|workflow_?state)$|(?:_status|_state|Status|State)$/;

/**
 * The written columns that a tested field or predicate is about: the same column, or for a predicate
 * (`approved?`, `isPaid()`) a state column (`status`) or a column named after it (`paid_at`, `paid`).
 */
function matchedColumns(tested: readonly string[], written: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of tested) {
    if (t.startsWith(PREDICATE)) {
      const stem = normColumn(t.slice(1).replace(/^(?:is|Is|has|Has)_?(?=[A-Za-z])/, ''));
      for (const c of written) if (STATE_COLUMN.test(c) || (stem.length >= 3 && normColumn(c).startsWith(stem))) out.add(c);
    } else for (const c of written) if (normColumn(c) === normColumn(t)) out.add(c);
  }
  return [...out];
}

/**
 * check-then-act on a loaded row's state: a row is loaded, an `if` tests one of its state fields (`status`,
 * `assignee_id`, `granted_at`) and leaves (or acts inside the `if`), and the act writes that same field on the same
 * row with no condition on it (`UPDATE t SET status = 'assigned' WHERE id = $1`, `filter(pk=x.pk).update(flag=now)`,
 * `update({ where: { id }, data: { status } })`, `x.update!(status: ...)`). Two requests both load the old state,
 * both pass, both act. Quiet when the write re-checks the field (it is in the WHERE: a conditional update), when a
 * version column guards the write, and when the new value is computed from the old one (lost_update's
 * read-modify-write).
 */
function stateGuardsIn(ctx: DetectorContext, info: FnInfo, keyUses: KeyUse[]): DetectorReport[] {
  const out: DetectorReport[] = [];
  const guards = guardsOf(info);
  // Optimistic locking handled by the ORM (Rails lock_version, TypeORM @VersionColumn, Hibernate-style @Version).
  if (OPTIMISTIC.test(info.code)) return out;
  const updates = [
    ...info.ops.filter((o) => o.kind === 'update' || (o.kind === 'insert' && /\.save\(\s*[\w$]+\s*\)\s*$/.test(info.code.slice(o.start, o.end)))),
    ...info.loose,
    ...helperUpdateCalls(ctx, info),
  ].sort((a, b) => a.start - b.start);
  if (updates.length === 0) return out;
  const rows = loadedRows(info);
  // Records written through the object but not loaded here (a parameter, `@order` set by the constructor).
  for (const act of updates) {
    const v = act.instance ?? (act.kind === 'insert' ? /\.save\(\s*([\w$]+)\s*\)\s*$/.exec(info.code.slice(act.start, act.end))?.[1] : undefined);
    if (v && v !== 'self' && v !== 'this' && !rows.some((r) => r.variable === v)) rows.push({ variable: v, line: info.fn.startLine, call: 'a record loaded by the caller', args: [], implicit: true });
  }
  if (rows.length === 0) return out;
  const ifs = [...ifStatements(info, info.fn.startLine, info.fn.endLine), ...helperGuards(ctx, info)];
  for (const act of updates) {
    if (act.lock) continue;
    const actText = info.code.slice(act.start, act.end);
    for (const row of rows) {
      if (row.line >= act.line) continue;
      // The update must target the loaded row.
      const savedVar = act.kind === 'insert' ? /\.save\(\s*([\w$]+)\s*\)\s*$/.exec(actText)?.[1] : undefined;
      const viaInstance = act.instance === row.variable || savedVar === row.variable;
      if (act.kind === 'insert' && !viaInstance) continue;
      if (row.implicit) {
        if (!viaInstance) continue;
      } else if (row.op) {
        if (!viaInstance && !sameEntity(row.op.entity, act.entity)) continue;
        if (!viaInstance && !row.scanned && !wordRe(row.variable).test(actText) && !(isPrimaryKeyOnly(act.whereColumns) && row.args.some((a) => wordRe(a).test(actText)))) continue;
        if (row.scanned && !isPrimaryKeyOnly(act.whereColumns)) continue;
      } else {
        if (!isPrimaryKeyOnly(act.whereColumns)) continue;
        if (!row.args.some((a) => wordRe(a).test(actText)) && !wordRe(row.variable).test(actText)) continue;
      }
      // Columns the act writes: its own list, or `row.f = ...` assignments before `row.save()`.
      let written = act.writeColumns;
      if ((written.length === 0 || savedVar) && viaInstance) {
        const between = info.code.slice(info.idx.offsetOf(row.line + 1), act.start);
        written = [...between.matchAll(new RegExp(String.raw`(?<![\w$.])${row.variable.replace(/\$/g, '\\$')}\.(\w+)\s*=(?!=)`, 'g'))].map((m) => m[1]!);
      }
      if (written.length === 0) continue;
      const whereNorm = new Set(act.whereColumns.map(normColumn));
      if (act.whereColumns.some((c) => /^(?:version|lock_?version|row_?version|updated_?at|etag)$/i.test(c))) continue;
      let guard = ifs.find((g) => {
        if (g.line <= row.line || g.line >= act.line) return false;
        if (g.bails ? act.line <= g.body[1] : act.line > g.body[1] || act.line <= g.line) return false;
        return matchedColumns(testedFields(g.condition, row), written).length > 0;
      });
      // The state test sits in the load's filter (`findOne({ where: { code, usedAt: IsNull() } })`, `.where(M.used_at.is_(None))`,
      // `filter_by(status='open')`) and the function leaves when no row matched (`if (!row) throw`), then writes that
      // filtered column on the row with no condition: the same check-then-act, the check folded into the read.
      let filtered: string[] = [];
      if (!guard && row.op && !row.implicit && !row.scanned && (viaInstance || isPrimaryKeyOnly(act.whereColumns))) {
        const loadText = info.code.slice(row.op.start, row.op.end);
        filtered = written.filter((c) => !/^(?:id|pk)$/i.test(c) && row.op!.whereColumns.some((w) => normColumn(w) === normColumn(c)) && filtersOnState(loadText, c));
        if (filtered.length > 0) {
          const absent = absentTest(row.variable);
          guard = ifs.find((g) => g.line >= row.line && g.line < act.line && g.bails && act.line > g.body[1] && absent.test(g.condition));
        }
      }
      if (!guard) continue;
      const fields = filtered.length > 0 ? filtered : matchedColumns(testedFields(guard.condition, row), written);
      // A conditional update (the field in the WHERE) is the safe form.
      if (fields.some((f) => whereNorm.has(normColumn(f)))) continue;
      // The new value computed from the old one is a read-modify-write (lost_update), not a guard.
      const stmtText = act.instance || savedVar ? info.code.slice(info.idx.offsetOf(guard.body[1] + 1), act.end) : actText;
      if (fields.some((f) => new RegExp(String.raw`(?<![\w$.])${row.variable.replace(/\$/g, '\\$')}\s*\.\s*${f}\b(?!\s*=[^=])`).test(stmtText))) continue;
      if (guards.lockLine !== undefined && guards.lockLine <= guard.line) continue;
      if (!touchesAdded(ctx.file, guard.line, act.line)) continue;
      // A count / sum over the rows of the same entity, filtered on the guarded field, decides the write too
      // (`if count(scheduled) - 1 < MIN: raise` before `a.status = 'dropped'`): the invariant spans several rows,
      // which is aggregate-check-then-write's (write_skew), not a transition on this one row.
      const fieldNormSet = new Set(fields.map(normColumn));
      if (
        [...info.ops, ...helperAggregates(ctx, info), ...appAggregates(info)].some(
          (o) =>
            (o.kind === 'count' || o.kind === 'sum') &&
            o.line > guard.line &&
            o.line < act.line &&
            sameEntity(o.entity, act.entity || row.op?.entity || '') &&
            [...o.whereColumns, ...(o.scopes ?? [])].some((c) => fieldNormSet.has(normColumn(c))) &&
            findGate(info, o)?.polarity === 'threshold',
        )
      )
        continue;
      const side = sideEffectBetween(info, guard.line, act.line);
      // Something rides on passing the guard: another column set with it (the claimant, an amount), another write, or
      // a side effect. Flipping one flag twice to the same value (`verified_at = now()`) is left alone.
      const fieldNorm = new Set(fields.map(normColumn));
      const horizon = Math.min(info.fn.endLine, act.endLine + 10);
      const consequence =
        written.some((c) => !fieldNorm.has(normColumn(c)) && !/^(?:updated_?at|modified_?at|updated|modified)$/i.test(c)) ||
        info.ops.some((o) => o !== act && o.line > guard.line && o.line <= horizon && (o.kind === 'insert' || o.kind === 'update' || o.kind === 'upsert' || o.kind === 'delete')) ||
        side !== undefined ||
        sideEffectBetween(info, act.line - 1, horizon + 1) !== undefined;
      if (!consequence) continue;
      // Another column written back as a value computed from its own old value (`balance: capped` with `capped =
      // prev + accrual`, `prev = row.balance`), and nothing else riding on the guard before the write (no side
      // effect, no other write): the harm is the overwritten total, a lost update (read-modify-write's), not a
      // transition applied twice.
      if (
        !side &&
        !info.ops.some((o) => o !== act && o.line > guard.line && o.line < act.line && (o.kind === 'insert' || o.kind === 'update' || o.kind === 'upsert' || o.kind === 'delete')) &&
        written.some((c) => !fieldNorm.has(normColumn(c)) && computedFromOwn(info, row, act, c, guard.body[1]))
      )
        continue;
      const key = keyUses.find((k) => k.callLine >= guard.line && k.callLine <= act.endLine);
      const ev = row.implicit ? [] : [evidence(info, row.line, 'check')];
      if (guard.line !== row.line || row.implicit) ev.push(evidence(info, guard.line, 'check'));
      if (key) ev.push(evidence(info, key.builtLine, 'key'));
      if (side) ev.push(evidence(info, side.line, 'act'));
      ev.push(evidence(info, act.line, 'act'));
      ev.sort((a, b) => a.line - b.line);
      const entity = act.entity || row.op?.entity || row.variable;
      const facts: Record<string, string> = {
        // The fix is a conditional update on this row (or a row lock), not a unique constraint.
        pattern: 'state-guard',
        checkCall: row.call,
        actCall: opLabel(info, act),
        keyColumns: fields.join(', '),
        orm: act.orm,
        inTransaction: /\btransaction\b|\batomic\b|BeginTx|\.begin\(|Begin\(/i.test(info.code) ? 'yes' : 'no',
      };
      if (/^[a-z_]+$/.test(entity) && /_|s$/.test(entity)) facts.table = entity;
      else facts.model = entity;
      if (side) facts.externalCall = side.call;
      if (key) facts.idempotencyKey = key.expr;
      // What the guard tested: the field itself, or a state predicate (`tranche.approved?`, `task.isOpen()`).
      const preds = testedFields(guard.condition, row).filter((t) => t.startsWith(PREDICATE) && matchedColumns([t], written).length > 0);
      const fieldText = preds.length > 0 ? `${preds.map((p) => `${row.variable}.${p.slice(1)}${familyOf(info.lang) === 'ruby' ? '?' : '()'}`).join(', ')} (${fields.join(', ')})` : fields.map((f) => (row.scanned ? f : `${row.variable}.${f}`)).join(', ');
      if (preds.length > 0) facts.predicate = preds.map((p) => p.slice(1)).join(', ');
      out.push({
        line: guard.line,
        endLine: act.line,
        functionName: info.name,
        entity,
        evidence: ev,
        facts,
        title: `${info.name} checks ${fieldText} on ${row.implicit ? 'a record it did not load itself' : 'the loaded row'}, then ${side ? `calls ${side.call} and ` : ''}writes ${fields.join(', ')} with ${opLabel(info, act)} without re-checking it: two concurrent requests both see the old state and both act${key ? `, with a new idempotency key per call (${key.source})` : ''}`,
        confidence: side ? 0.75 : 0.7,
        variant: side ? 'distributed' : 'database',
      });
      break;
    }
  }
  return out;
}

/**
 * The load filters `col` on a fixed state: null / a boolean / a literal (`usedAt: IsNull()`, `status: 'open'`,
 * `M.used_at.is_(None)`, `status == "open"`, `used_at: nil`, `used_at IS NULL`), not on a caller's value.
 */
function filtersOnState(loadText: string, col: string): boolean {
  const c = col.replace(/\$/g, '\\$');
  return new RegExp(
    String.raw`(?<![\w$])['"]?${c}['"]?\s*(?::|=>|==|=|\bIS\b)\s*(?:IsNull\(\s*\)|null\b|None\b|nil\b|NULL\b|true\b|false\b|True\b|False\b|['"]|:[a-z])|(?<![\w$])${c}\s*\.\s*(?:is_|isnot)\s*\(`,
    'i',
  ).test(loadText);
}

/** An `if` that tests the loaded row is missing: `!row`, `row == null`, `row is None`, `not row`, `row.nil?`, `row == nil`. */
function absentTest(v: string): RegExp {
  const e = v.replace(/\$/g, '\\$');
  return new RegExp(String.raw`(?:!\s*${e}(?![\w$.])|(?<![\w$.])${e}\s*(?:===?|is)\s*(?:null|undefined|None|nil)\b|\bnot\s+${e}(?![\w$.])|(?<![\w$.])${e}\.nil\?)`);
}

/** Helpers longer than this are not looked into for guards. */
const GUARD_HELPER_LINES = 30;

/** A guard helper's failure propagates to its caller: it raises / throws, or (Go) returns an error. */
const PROPAGATES = /\b(?:raise|throw|fail|abort|panic)\b|\breturn\s+(?:[\w.]*Err\w*|errors\.New|fmt\.Errorf|\w+Error\b)/;

const shortFnCache = new WeakMap<SourceFile, Map<string, FunctionSpan[]>>();

/** The file's short functions by their last name segment (`ensure_releasable!` for `DisburseTranche#ensure_releasable!`). */
function shortFunctions(file: SourceFile): Map<string, FunctionSpan[]> {
  const hit = shortFnCache.get(file);
  if (hit) return hit;
  const byName = new Map<string, FunctionSpan[]>();
  for (const f of file.functions) {
    if (f.endLine - f.startLine > GUARD_HELPER_LINES) continue;
    const n = /([A-Za-z_$][\w$]*[?!]?)$/.exec(f.name)?.[1];
    if (n) byName.set(n, [...(byName.get(n) ?? []), f]);
  }
  shortFnCache.set(file, byName);
  return byName;
}

/**
 * Guards that a function runs through a helper of the same file, as `if`s at the call: a call statement
 * (`ensure_releasable!`, `self._check_open(order)`, `this.assertPending(task);`, `if err := ensureOpen(t); err != nil`)
 * to a short function whose bailing `if`s raise / throw (or return an error). The helper's conditions are rewritten
 * in the caller's names (parameters replaced by the call's arguments; instance variables stay as they are).
 */
function helperGuards(ctx: DetectorContext, info: FnInfo): IfStatement[] {
  const fam = familyOf(info.lang);
  const out: IfStatement[] = [];
  let byName: Map<string, FunctionSpan[]> | undefined;
  for (let l = info.fn.startLine + 1; l <= info.fn.endLine; l++) {
    const t = info.bareLines[l - info.fn.startLine] ?? '';
    if (t.length > 300 || !/\w\s*(?:[!?]\s*$|\(|$)/.test(t)) continue;
    const m =
      fam === 'ruby'
        ? /^\s*(?:self\.)?([a-z_]\w*[!?]?)\s*(?:\(([^()]*)\))?\s*$/.exec(t)
        : fam === 'python'
          ? /^\s*(?:self\.|cls\.)?([a-z_]\w*)\(([^()]*)\)\s*$/.exec(t)
          : fam === 'js'
            ? /^\s*(?:await\s+)?(?:this\.)?([A-Za-z_$][\w$]*)\(([^()]*)\);?\s*$/.exec(t)
            : /^\s*(?:if\s+)?(?:err\s*:?=\s*)?(?:\w+\.)?([A-Za-z_]\w*)\(([^()]*)\)\s*(?:;\s*err\s*!=\s*nil\s*\{)?\s*$/.exec(t);
    if (!m || /^(?:end|else|begin|super|return|yield|raise|next|break|retry|redo|private|protected|public|loop)$/.test(m[1]!)) continue;
    byName ??= shortFunctions(ctx.file);
    const helper = byName.get(m[1]!)?.find((f) => f.startLine > info.fn.endLine || f.endLine < info.fn.startLine);
    if (!helper) continue;
    const h = analyze(ctx.file, helper);
    // Parameters of the helper, mapped to the call's arguments.
    const params = (/\(([^()]*)\)\s*(?:->[^:]*)?:?\s*(?:[\w.*[\]<>| ]*)?\{?\s*$/.exec(h.bareLines[0] ?? '')?.[1] ?? /\(([^()]*)\)/.exec((h.bareLines[0] ?? '').replace(/^\s*func\s*\([^()]*\)/, ''))?.[1] ?? '')
      .split(',')
      .map((p) => /^\s*(?:\*\*?)?([A-Za-z_$][\w$]*)/.exec(p)?.[1] ?? '')
      .filter((p) => p && p !== 'self' && p !== 'cls');
    const args = (m[2] ?? '').split(',').map((a) => a.trim());
    const rename = new Map<string, string>();
    params.forEach((p, k) => {
      const a = /^@?[A-Za-z_$][\w$]*$/.test(args[k] ?? '') ? args[k]! : undefined;
      if (a && a !== p) rename.set(p, a);
    });
    for (const g of ifStatements(h, helper.startLine + 1, helper.endLine)) {
      if (!g.bails) continue;
      const body = h.bareLines.slice(g.line - helper.startLine, g.body[1] - helper.startLine + 1).join('\n');
      if (!PROPAGATES.test(body)) continue;
      let condition = g.condition;
      for (const [p, a] of rename) condition = condition.replace(new RegExp(String.raw`(?<![\w$.@])${p.replace(/\$/g, '\\$')}(?![\w$])`, 'g'), a);
      out.push({ line: l, condition, condStart: -1, body: [l, l], bails: true });
    }
  }
  return out;
}

/**
 * Whether `act` writes `column` with a value computed in application code from the row's own old value of it:
 * `update!(balance: row.balance + n)`, `row.balance = row.balance - n`, or through locals (`prev = row.balance`,
 * `next = [prev + n, cap].min`, `update!(balance: next)`), with arithmetic somewhere on the way. Raw SQL is left out
 * (its values are placeholders).
 */
function computedFromOwn(info: FnInfo, row: LoadedRow, act: DbOp, column: string, from: number): boolean {
  if (row.scanned) return false;
  const first = info.code[act.start];
  if (first === '"' || first === "'" || first === '`') return false;
  const colNorm = normColumn(column);
  const esc = (w: string) => w.replace(/[$]/g, '\\$');
  const v = esc(row.variable);
  const start = info.idx.offsetOf(from + 1);
  const scope = info.code.slice(Math.min(start, act.start), act.end);
  // The value written: `column: expr` / `column => expr` / `column=expr` in the call, or `row.column = expr` before it.
  const col = esc(column);
  const value =
    new RegExp(String.raw`(?<![\w$.])['"]?${col}['"]?\s*(?::(?!:)|=>|=(?![=>]))\s*([^,\n)}]{1,200})`).exec(info.code.slice(act.start, act.end))?.[1] ??
    new RegExp(String.raw`(?<![\w$.])@?${v}\.${col}\s*=(?![=~])\s*([^\n;]{1,200})`).exec(scope)?.[1];
  if (!value) return false;
  const own = new RegExp(String.raw`(?<![\w$.])@?${v}\s*(?:\?\.|&\.|\.)\s*(\w+)`, 'g');
  const before = info.code.slice(0, act.start);
  let arith = false;
  const seen = new Set<string>();
  let frontier = [value];
  for (let depth = 0; depth < 4 && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const text of frontier) {
      const bare = text.replace(/(["'`])(?:(?!\1).)*\1/g, '""');
      if (/[-+*/]|\b(?:min|max|clamp|sum)\b/.test(bare)) arith = true;
      for (const m of bare.matchAll(own)) if (normColumn(m[1]!) === colNorm && arith) return true;
      for (const m of bare.matchAll(own)) if (normColumn(m[1]!) === colNorm) return arith || /[-+*/]|\b(?:min|max)\b/.test(bare);
      // Locals the value is computed from: their last assignment before the write.
      for (const m of bare.matchAll(/(?<![\w$.@:])([A-Za-z_][\w$]*)(?![\w$(])/g)) {
        const name = m[1]!;
        if (seen.has(name) || name === row.variable) continue;
        seen.add(name);
        let rhs: string | undefined;
        for (const a of before.matchAll(new RegExp(String.raw`(?:^|\n)[ \t]*(?:const\s+|let\s+|var\s+)?${esc(name)}\s*(?::\s*[\w.<>[\]| ]+)?:?=(?![=>~])[ \t]*([^\n;]{1,200})`, 'g'))) rhs = a[1];
        if (rhs !== undefined) next.push(rhs);
      }
    }
    frontier = next;
  }
  return false;
}

/** `SELECT … FROM charges` / `INSERT INTO charges` for raw SQL run through a generic `query` call, else the call. */
function opLabel(info: FnInfo, op: DbOp): string {
  const first = info.code[op.start];
  if (first !== '"' && first !== "'" && first !== '`') return op.call;
  if (op.kind === 'insert') return `INSERT INTO ${op.entity}`;
  if (op.kind === 'update') return `UPDATE ${op.entity}`;
  return `SELECT … FROM ${op.entity}`;
}

function findAct(info: FnInfo, check: DbOp, keys: string[], regions: Array<[number, number]>, extra: readonly DbOp[] = []): DbOp | undefined {
  for (const [from, to] of regions) {
    const inRegion = extra.length ? [...opsIn(info, from, to), ...extra.filter((o) => o.line >= from && o.line <= to)].sort((a, b) => a.start - b.start) : opsIn(info, from, to);
    for (const op of inRegion) {
      if (op.start <= check.start || !sameEntity(op.entity, check.entity)) continue;
      if (op.kind === 'insert') {
        if (op.writeColumns.length > 0 && overlap(keys, [...op.writeColumns, ...parentKey(op)]).length === 0) continue;
        return op;
      }
      if (op.kind === 'update') {
        // Claiming a key on another row: the update writes a checked column, and is not the checked row itself.
        if (op.instance && check.vars.includes(op.instance)) continue;
        if (overlap(keys, op.writeColumns).length === 0) continue;
        if (overlap(keys, op.whereColumns).length > 0) continue;
        return op;
      }
    }
  }
  return undefined;
}

/**
 * ActiveRecord through an association of a record (`@desk.bookings.active.exists?`, `@desk.bookings.create!(...)`):
 * the association scopes the read and the insert by the owner's foreign key (`desk_id`).
 */
function parentKey(op: DbOp): string[] {
  if ((op.orm !== 'activerecord' && op.orm !== 'django') || !op.parent) return [];
  const owner = op.parent.replace(/^@/, '').replace(/^(?:current|the|my)_/, '');
  if (!/^[a-z_]\w*$/.test(owner) || /^(?:self|klass|scope|relation|base)$/.test(owner)) return [];
  return [`${owner}_id`];
}

function sideEffectBetween(info: FnInfo, from: number, to: number): { line: number; call: string } | undefined {
  for (let l = from + 1; l < to; l++) {
    const t = lineText(info, l);
    const m = SIDE_EFFECT.exec(t) ?? DELIVERY.exec(t);
    if (m && !/\b(?:prisma|objects|db|trx|knex|session)\b/.test(t)) return { line: l, call: m[0].replace(/\s*\($/, '') };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Reads and inserts through a short function of the review

const helperOpCache = new WeakMap<FunctionSpan, DbOp | null>();

/** A count turned into a yes / no: compared with 0 or 1 (`> 0`, `>= 1`, `!== 0`, `!= 0`), `bool(n)`, `positive?`, `nonzero?`. */
const COUNT_AS_EXISTS = /(?:>\s*0|>=\s*1|!==?\s*0)(?![\w.])|\bbool\(|\.(?:positive|nonzero)\?/;

const LOCKS = /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+SHARE\b|select_for_update|with_for_update|\.lock!|\block\(|advisory/i;

/**
 * The one statement a short helper runs and hands back: a row read (find / exists, or a latest row by order:
 * `order_by('-joined_at').first()`, which reads one row rather than a number) or an insert. Python / JS / Go must
 * `return` it; Ruby returns its last expression. Helpers that lock are left out (the caller's check is then safe).
 */
function helperOp(file: SourceFile, fn: FunctionSpan): DbOp | undefined {
  const hit = helperOpCache.get(fn);
  if (hit !== undefined) return hit ?? undefined;
  const h = analyze(file, fn);
  let op: DbOp | undefined = h.ops.length === 1 ? h.ops[0] : undefined;
  if (op && op.kind === 'max' && /(?:^|\.)(?:first|last|take|First|Last|Take)$/.test(op.call)) op = { ...op, kind: 'find', maxColumn: undefined };
  // A count handed back as "is there one" (`return count > 0`, `return n > 0, err`, `count.positive?`): an existence test.
  if (op && op.kind === 'count' && COUNT_AS_EXISTS.test(h.bare)) op = { ...op, kind: 'exists' };
  if (op && !['find', 'exists', 'insert'].includes(op.kind)) op = undefined;
  if (op && (op.lock || LOCKS.test(h.code))) op = undefined;
  if (op && familyOf(h.lang) !== 'ruby' && !/\breturn\b/.test(h.bare)) op = undefined;
  // An insert that spreads what the caller passes (`create({ data: { ...data, status: 'waiting' } })`,
  // `objects.create(**fields, state='new')`): the call site's keys are written too.
  if (op && op.kind === 'insert' && /(?:\.\.\.|\*\*)\s*[A-Za-z_$]/.test(h.code.slice(op.start, op.end))) spreadingInserts.add(op);
  helperOpCache.set(fn, op ?? null);
  return op;
}

/** Helper inserts whose written columns include a spread of the helper's argument. */
const spreadingInserts = new WeakSet<DbOp>();

const callOpsCache = new WeakMap<FnInfo, DbOp[]>();

/**
 * Reads and inserts made by calling a short function of the review: `current = active_entry(garden, member.pk)`,
 * `existing, err := s.repo.FindBySerial(ctx, serial)`, `await this.repo.insertDevice(dev)`, each as the helper's op
 * placed at the call site and bound to what the call is assigned to. The receiver may be anything (a repository, a
 * store, `self`); the callers still require the same entity and key columns on the check and the insert.
 */
function helperCallOps(ctx: DetectorContext, info: FnInfo): DbOp[] {
  const hit = callOpsCache.get(info);
  if (hit) return hit;
  const out: DbOp[] = [];
  callOpsCache.set(info, out);
  const fam = familyOf(info.lang);
  for (const { m, name, at, open, close, found: op } of reviewHelperCalls(ctx, info, helperOp)) {
    // A relation read through `self` in a model method (`self.loans.filter(...)`) is keyed by the call's receiver
    // (`member.has_borrowed(...)`).
    const receiver = /([A-Za-z_$@][\w$]*)\s*\.\s*[A-Za-z_$][\w$]*[?!]?\s*\($/.exec(m[0])?.[1];
    const parent = op.parent === 'self' && receiver && receiver !== 'self' ? receiver : op.parent;
    // An insert helper that passes its argument through (`create({ data })`, `Create(ctx, dev)`): the columns are
    // the keys the call site writes (`repo.create({ animalId, adopterId, ... })`).
    const writeColumns =
      op.kind === 'insert' && (op.writeColumns.length === 0 || spreadingInserts.has(op))
        ? [...new Set([...op.writeColumns, ...argKeys(info.code.slice(open + 1, close), fam)])]
        : op.writeColumns;
    out.push({
      ...op,
      parent,
      writeColumns,
      call: `${name}()`,
      start: at,
      end: close + 1,
      line: info.idx.line(at),
      endLine: info.idx.line(close),
      vars: boundVars(info.code, at, fam).filter((v) => v !== 'err' && v !== '_'),
    });
  }
  return out;
}

/**
 * Calls in `info` to short functions of the review (any receiver: a repository, a store, `self`), other than itself
 * and functions nested in it, each with what `resolve` makes of the first function of that name it accepts and
 * where the call's arguments open and close.
 */
function* reviewHelperCalls<T>(
  ctx: DetectorContext,
  info: FnInfo,
  resolve: (file: SourceFile, fn: FunctionSpan) => T | undefined,
): Generator<{ m: RegExpMatchArray; name: string; at: number; open: number; close: number; found: T }> {
  if (!info.bare.includes('(')) return;
  const byName = functionsByName(ctx.files);
  if (byName.size === 0) return;
  const fam = familyOf(info.lang);
  const own = /([A-Za-z_$][\w$]*[?!]?)$/.exec(info.fn.name)?.[1];
  for (const m of info.bare.matchAll(/(?<![\w$])(?:[A-Za-z_$@][\w$]*\s*\.\s*){0,3}([A-Za-z_$][\w$]*[?!]?)\s*\(/g)) {
    const name = m[1]!;
    if (name === own) continue;
    const cands = byName.get(name);
    if (!cands) continue;
    const at = m.index ?? 0;
    if (/(?:\bdef|\bfunction|\bfunc|\basync|\)|\bfn)\s*$/.test(info.bare.slice(Math.max(0, at - 12), at))) continue;
    let found: T | undefined;
    for (const c of cands) {
      if (c.fn === info.fn || (c.file === ctx.file && c.fn.startLine >= info.fn.startLine && c.fn.endLine <= info.fn.endLine)) continue;
      found = resolve(c.file, c.fn);
      if (found !== undefined) break;
    }
    if (found === undefined) continue;
    const open = at + m[0].length - 1;
    const close = matchBracket(info.code, open, fam);
    if (close < 0) continue;
    yield { m, name, at, open, close, found };
  }
}

const helperUpdatesCache = new WeakMap<FunctionSpan, DbOp[]>();

/**
 * The row updates a short write helper of the review runs (`MarkShipped(ctx, id, carrier)` running `UPDATE orders
 * SET status = 'shipped', carrier = $2 WHERE id = $1`, a repository method `markPaid(id)` running `update({ where:
 * { id }, data: { paidAt } })`). A helper that reads, locks, runs at SERIALIZABLE or checks a version decides for
 * itself and is left out; a conditional update keeps its condition in `whereColumns` (the caller's guard then stays
 * quiet).
 */
function helperUpdates(file: SourceFile, fn: FunctionSpan): DbOp[] {
  const hit = helperUpdatesCache.get(fn);
  if (hit) return hit;
  const h = analyze(file, fn);
  let out: DbOp[] = [];
  if (
    h.ops.length > 0 &&
    h.ops.length <= 4 &&
    h.ops.every((o) => o.kind === 'update' || o.kind === 'insert') &&
    !LOCKS.test(h.code) &&
    !OPTIMISTIC.test(h.code) &&
    !/\bSERIALIZABLE\b|\bSerializable\b|REPEATABLE\s+READ|RepeatableRead/.test(h.code)
  )
    out = h.ops.filter((o) => o.kind === 'update' && !o.lock && !o.atomic && o.writeColumns.length > 0 && o.whereColumns.length > 0);
  helperUpdatesCache.set(fn, out);
  return out;
}

const updateCallsCache = new WeakMap<FnInfo, DbOp[]>();

/**
 * Row updates made by calling a short write helper of the review (`s.repo.MarkDispatched(ctx, id, truckID)`), each
 * placed at the call site (its text is the call, so the loaded row's key must be among the arguments).
 */
function helperUpdateCalls(ctx: DetectorContext, info: FnInfo): DbOp[] {
  const hit = updateCallsCache.get(info);
  if (hit) return hit;
  const out: DbOp[] = [];
  updateCallsCache.set(info, out);
  const updates = (file: SourceFile, fn: FunctionSpan) => {
    const ops = helperUpdates(file, fn);
    return ops.length > 0 ? ops : undefined;
  };
  for (const { name, at, close, found: ops } of reviewHelperCalls(ctx, info, updates)) {
    for (const op of ops)
      out.push({ ...op, call: `${name}()`, start: at, end: close + 1, line: info.idx.line(at), endLine: info.idx.line(close), vars: [], instance: undefined });
  }
  return out;
}

/** Ruby: `raise X if @rec.pred?` / `return ... unless cond` (group 1 the keyword, group 2 the condition). */
const RB_POSTFIX = /^\s*(?:raise|fail|return|next|throw|head|render|redirect_to)\b[^\n]*?\s(if|unless)\s+(.+?)\s*$/;
/** A predicate on a record: `@tool.on_loan?`, `!desk.taken?`, `tool.loans.open.exists?`. */
const RB_PRED = /^(!\s*)?(@?[a-z_]\w*)\.([a-z_]\w*\?)$/;
const EXISTENCE_PRED = /^(?:exists\?|any\?|present\?|none\?|empty\?|blank\?|nil\?)$/;

/**
 * The row read behind a Ruby predicate method of the review (`def on_loan? = current_loan.present?`, `def
 * current_loan = loans.open.order(:checked_out_at).last`), followed through up to three short methods that hand the
 * answer on; with whether the predicate is true when no row is found.
 */
function rubyPredicateRead(ctx: DetectorContext, name: string, depth: number): { op: DbOp; whenMissing: boolean } | undefined {
  if (depth > 3) return undefined;
  for (const c of functionsByName(ctx.files).get(name) ?? []) {
    if (familyOf(c.file.language) !== 'ruby') continue;
    const h = analyze(c.file, c.fn);
    if (LOCKS.test(h.code)) continue;
    if (h.ops.length === 1) {
      let op = h.ops[0]!;
      if (op.kind === 'max' && /(?:^|\.)(?:first|last|take)$/.test(op.call)) op = { ...op, kind: 'find', maxColumn: undefined };
      if (!['find', 'exists', 'list'].includes(op.kind)) continue;
      // `def taken? = bookings.active.none?`: true when nothing is found.
      return { op, whenMissing: /\.(?:none\?|empty\?|blank\?)\s*$/.test(h.bare.trimEnd().split('\n').slice(-2, -1)[0] ?? '') };
    }
    if (h.ops.length > 0) continue;
    // One expression that asks whether another method found something: `current_loan.present?`, `!hold.nil?`.
    const body = h.bareLines.slice(1).map((l) => l.trim()).filter((l) => l && l !== 'end');
    const single = body.length === 1 ? body[0]! : /=\s*(.+)$/.exec(h.bareLines[0] ?? '')?.[1]?.trim();
    const m = single ? /^(!\s*)?(?:self\.)?([a-z_]\w*[?]?)\.(present\?|any\?|exists\?|nil\?|blank\?|none\?|empty\?)$/.exec(single) : null;
    if (!m) continue;
    const inner = rubyPredicateRead(ctx, m[2]!, depth + 1);
    if (!inner) continue;
    const missing = /^(?:nil\?|blank\?|none\?|empty\?)$/.test(m[3]!) !== Boolean(m[1]);
    return { op: inner.op, whenMissing: missing };
  }
  return undefined;
}

/**
 * Ruby existence checks made through a predicate method of the review on a record (`raise NotAvailable if
 * @tool.on_loan?`), in the function itself or in a short guard method of the same file called as a statement
 * (`ensure_lendable!`): a read of the record's association (`loans.open.order(:checked_out_at).last`) placed at
 * the guard, scoped by the record's foreign key, with the gate of the postfix `raise` / `return`.
 */
function rubyPredicateChecks(ctx: DetectorContext, info: FnInfo): Array<{ op: DbOp; gate: Gate }> {
  const out: Array<{ op: DbOp; gate: Gate }> = [];
  if (familyOf(info.lang) !== 'ruby') return out;
  const consider = (line: number, bareLine: string, text: string) => {
    const post = RB_POSTFIX.exec(bareLine);
    if (!post) return;
    const pm = RB_PRED.exec(post[2]!.trim());
    if (!pm || EXISTENCE_PRED.test(pm[3]!)) return;
    const read = rubyPredicateRead(ctx, pm[3]!, 0);
    if (!read) return;
    const foundBails = (post[1] === 'if') !== Boolean(pm[1]) !== read.whenMissing;
    if (!foundBails) return;
    const start = info.idx.offsetOf(line);
    const op: DbOp = { ...read.op, kind: read.op.kind === 'list' ? 'exists' : read.op.kind, parent: read.op.parent ?? pm[2]!, call: `${pm[2]}.${pm[3]}`, start, end: start + (info.lines[line - info.fn.startLine]?.length ?? 0), line, endLine: line, vars: [] };
    out.push({ op, gate: { line, polarity: 'found', bails: true, body: [line, line], condition: text.trim() } });
  };
  let byName: Map<string, FunctionSpan[]> | undefined;
  for (let l = info.fn.startLine + 1; l <= info.fn.endLine; l++) {
    const t = info.bareLines[l - info.fn.startLine] ?? '';
    if (t.length > 300) continue;
    if (t.includes('?')) consider(l, t, lineText(info, l));
    // A guard method of the same file called as a statement: its postfix guards, at the call.
    const call = /^\s*(?:self\.)?([a-z_]\w*[!?]?)\s*(?:\(\s*\))?\s*$/.exec(t);
    if (!call || /^(?:end|else|begin|super|return|yield|raise|next|break|retry|redo|private|protected|public|loop)$/.test(call[1]!)) continue;
    byName ??= shortFunctions(ctx.file);
    const helper = byName.get(call[1]!)?.find((f) => f.startLine > info.fn.endLine || f.endLine < info.fn.startLine);
    if (!helper) continue;
    const h = analyze(ctx.file, helper);
    for (let k = 1; k < h.bareLines.length; k++) {
      const u = h.bareLines[k]!;
      if (u.length <= 300 && u.includes('?')) consider(l, u, u);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Recency windows

export interface RecencyWindow {
  /** The column bounded relative to now, e.g. "created_at". */
  column: string;
  /** The window in words when it can be read, e.g. "5 minutes"; "" otherwise. */
  window: string;
}

/** Markers of a two-sided range or an overlap: never a recency window. */
const TWO_SIDED = /\bbetween\b|&&|\boverlaps?\b|\b\w*range\s*\(|__range\b|__overlap\b|__contained_by\b|\$overlap\b|\bwhereBetween\b|\bBetween\(/i;

/** A bound that starts with "now" (optionally minus a duration): SQL, JS, Python, Ruby, Go. */
const NOW_START = /^\(?\s*(?:now\(\)|current_timestamp\b|current_date\b|localtimestamp\b|sysdate\(\)|getdate\(\)|utc_timestamp\(\)|statement_timestamp\(\)|clock_timestamp\(\)|transaction_timestamp\(\)|datetime\(\s*'now'|date_sub\(\s*(?:now|current_timestamp|utc_timestamp)|dateadd\(|timestampadd\(|new Date\(\s*(?:\)|Date\.now\(\))|Date\.now\(\)|sub(?:Seconds|Minutes|Hours|Days|Weeks|Months)\(|sub\(\s*new Date\(|dayjs\(\)|moment\(\)|DateTime\.(?:now|utc|local)\(\)|Temporal\.Now\b|timezone\.now\(\)|(?:datetime\.)?datetime\.(?:now|utcnow)\(|datetime\.(?:now|utcnow)\(|utcnow\(\)|func\.now\(\)|date\.today\(\)|\d+(?:\.\d+)?\.(?:seconds?|minutes?|hours?|days?|weeks?|months?)\.ago\b|(?:Time|DateTime)\.(?:current|now|zone\.now)\b|Date\.(?:current|today)\b|time\.Now\(\))/i;

/** "now" anywhere in an expression (for the right-hand side of a local assignment). */
const NOW_ANY = /\bnow\(\)|\bcurrent_timestamp\b|\bDate\.now\(\)|\bnew Date\(\s*\)|\bsub(?:Seconds|Minutes|Hours|Days|Weeks|Months)\(|\bdayjs\(\)|\bmoment\(\)|\bDateTime\.(?:now|utc|local)\(\)|\btimezone\.now\(\)|\b(?:datetime\.)?(?:now|utcnow)\(|\.ago\b|\b(?:Time|DateTime)\.(?:current|now|zone\.now)\b|\btime\.Now\(\)/i;

const PLACEHOLDER = /^(?:\$\d+|\?|%s|%\(\w+\)s|:\w+|@\w+)/;

/**
 * Whether the range predicate of `check` is a recency / dedup window: every range comparison in the statement bounds
 * the same single column by a value relative to now (`created_at > NOW() - INTERVAL '5 minutes'`,
 * `createdAt: { gte: since }` with `since = new Date(Date.now() - ...)`, `created_at__gte=timezone.now() -
 * timedelta(minutes=5)`, `where(created_at: 5.minutes.ago..)`, `created_at > $3` with a now-relative argument).
 * An overlap (BETWEEN, `&&`, OVERLAPS, tstzrange), bounds on two columns, or a bound taken from a parameter is not.
 */
export function recencyWindow(info: FnInfo, check: DbOp): RecencyWindow | undefined {
  const text = info.code.slice(check.start, Math.min(check.end, check.start + 4000));
  if (TWO_SIDED.test(text)) return undefined;
  const comps = rangeComparisons(text, familyOf(info.lang) === 'ruby');
  if (comps.length === 0) return undefined;
  const column = comps[0]!.column;
  if (comps.some((c) => normColumn(c.column) !== normColumn(column))) return undefined;
  const before = info.code.slice(Math.max(0, check.start - 20_000), check.start);
  const nowVars = nowRelativeLocals(before);
  const args = argumentsText(text);
  let window = '';
  for (const c of comps) {
    const bound = text.slice(c.boundAt, c.boundAt + 160).replace(/^\s+/, '');
    let source: string | undefined;
    if (NOW_START.test(bound)) source = bound;
    else if (PLACEHOLDER.test(bound)) {
      // `created_at > $3`, `created_at > ?` with the now-relative value among the arguments.
      if (NOW_ANY.test(args)) source = args;
      else source = [...nowVars.entries()].find(([v]) => wordIn(args, v))?.[1];
    } else {
      const ident = /^([A-Za-z_$@][\w$]*)(?![\w$(.])/.exec(bound)?.[1];
      if (ident) source = nowVars.get(ident.replace(/^@/, ''));
    }
    if (source === undefined) return undefined;
    window ||= windowText(source);
  }
  return { column, window };
}

interface Comparison {
  column: string;
  /** Offset (in the statement text) where the bound expression starts. */
  boundAt: number;
}

/** Range comparisons in a statement, across SQL and ORM spellings, with the compared column and the bound's offset. */
function rangeComparisons(text: string, ruby: boolean): Comparison[] {
  const out = new Map<number, Comparison>();
  const add = (column: string, boundAt: number) => {
    if (!out.has(boundAt) && !/^(?:and|or|not|where|select|from|now|interval|null)$/i.test(column)) out.set(boundAt, { column, boundAt });
  };
  const end = (m: RegExpMatchArray) => (m.index ?? 0) + m[0].length;
  // SQL and SQLAlchemy / Ruby strings: `created_at > NOW() - ...`, `Charge.created_at >= since`, `"created_at > ?"`.
  for (const m of text.matchAll(/(?<![\w$])(?:[A-Za-z_]\w*\.)?([A-Za-z_]\w*)["`]?\s*(<=|>=|<|>)(?![=>])\s*/g)) add(m[1]!, end(m));
  // Prisma / Sequelize / Mongoose: `createdAt: { gte: x }`, `[Op.gt]: x`, `$gte: x` (the column is the enclosing key).
  for (const m of text.matchAll(/(?:\[\s*Op\.|\$|(?<![\w$.]))(gt|gte|lt|lte)\]?\s*:(?!:)\s*/g)) {
    const head = text.slice(Math.max(0, (m.index ?? 0) - 300), m.index ?? 0);
    const cols = [...head.matchAll(/([\w$]+)['"]?\s*:\s*\{/g)];
    const col = cols[cols.length - 1]?.[1];
    if (col) add(col, end(m));
  }
  // Django: `created_at__gte=...`.
  for (const m of text.matchAll(/\b(\w+?)__(?:gt|gte|lt|lte)\s*=(?!=)\s*/g)) add(m[1]!, end(m));
  // Knex: `.where('created_at', '>', x)`.
  for (const m of text.matchAll(/\(\s*['"`](?:\w+\.)?(\w+)['"`]\s*,\s*['"`](?:<=|>=|<|>)['"`]\s*,\s*/g)) add(m[1]!, end(m));
  // Drizzle: `gte(charges.createdAt, x)`.
  for (const m of text.matchAll(/\b(?:gt|gte|lt|lte)\(\s*\w+\.(\w+)\s*,\s*/g)) add(m[1]!, end(m));
  // TypeORM: `createdAt: MoreThan(x)`.
  for (const m of text.matchAll(/([\w$]+)\s*:\s*(?:MoreThan|MoreThanOrEqual|LessThan|LessThanOrEqual)\(\s*/g)) add(m[1]!, end(m));
  // ActiveRecord ranges: `created_at: 5.minutes.ago..` / `created_at: (Time.current - 1.hour)..`.
  if (ruby) for (const m of text.matchAll(/(\w+):\s*(?=[^,)\n]{1,80}?\.\.)/g)) add(m[1]!, end(m));
  return [...out.values()];
}

/** Locals assigned from a now-relative expression before the check: name → right-hand side. */
function nowRelativeLocals(code: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of code.matchAll(/(?:^|[\s;(])(?:const\s+|let\s+|var\s+)?@?([A-Za-z_$][\w$]*)\s*(?::\s*[\w.<>[\]|]+\s*)?:?=(?![=>])\s*([^\n;]{1,200})/gm)) {
    if (NOW_ANY.test(m[2]!)) out.set(m[1]!, m[2]!);
    else out.delete(m[1]!);
  }
  return out;
}

/** The statement's text after its first string literal (the bound arguments of a raw query). */
function argumentsText(text: string): string {
  const q = /["'`]/.exec(text);
  if (!q) return text;
  const close = text.indexOf(q[0], (q.index ?? 0) + 1);
  return close < 0 ? '' : text.slice(close + 1);
}

const UNITS: Array<[string, number]> = [
  ['week', 604_800_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** The window of a now-relative expression in words ("5 minutes"), or "" when it cannot be read. */
export function windowText(expr: string): string {
  const unit = (u: string) => u.toLowerCase().replace(/s$/, '').replace(/^min$/, 'minute').replace(/^sec$/, 'second');
  let m = /interval\s*'\s*(\d+)\s*([a-z]+)\s*'/i.exec(expr) ?? /interval\s+'?(\d+)'?\s+([a-z]+)/i.exec(expr);
  if (m) return plural(Number(m[1]), unit(m[2]!));
  m = /timedelta\(\s*(seconds|minutes|hours|days|weeks)\s*=\s*(\d+)\s*\)/.exec(expr);
  if (m) return plural(Number(m[2]), unit(m[1]!));
  m = /\b(\d+)\.(seconds?|minutes?|hours?|days?|weeks?|months?)\b/.exec(expr);
  if (m) return plural(Number(m[1]), unit(m[2]!));
  m = /\bsub(Seconds|Minutes|Hours|Days|Weeks|Months)\([^,]*,\s*(\d+)\s*\)/.exec(expr);
  if (m) return plural(Number(m[2]), unit(m[1]!));
  m = /\.subtract\(\s*(\d+)\s*,\s*['"](\w+?)s?['"]/.exec(expr);
  if (m) return plural(Number(m[1]), unit(m[2]!));
  m = /-\s*(\d+)\s*\*\s*time\.(Second|Minute|Hour)\b/.exec(expr);
  if (m) return plural(Number(m[1]), unit(m[2]!));
  // Milliseconds: `Date.now() - 5 * 60 * 1000`, `Date.now() - 300_000`.
  m = /Date\.now\(\)\s*-\s*([\d_]+(?:\s*\*\s*[\d_]+)*)/.exec(expr);
  if (m) {
    const ms = m[1]!.split('*').reduce((p, n) => p * Number(n.replace(/_/g, '').trim()), 1);
    for (const [u, size] of UNITS) if (ms >= size && ms % size === 0) return plural(ms / size, u);
  }
  return '';
}

function wordIn(text: string, word: string): boolean {
  return new RegExp(String.raw`(?<![\w$.])${word.replace(/\$/g, '\\$')}(?![\w$])`).test(text);
}

// ---------------------------------------------------------------------------------------------------------------
// Per-call idempotency keys (shared with nondeterministic-idempotency-key)

/** A value passed as an idempotency / dedup key that is built from the clock or randomness on every call. */
export interface KeyUse {
  /** The key's name where it is passed: idempotencyKey, Idempotency-Key, jobId, idempotency_key, ... */
  keyName: string;
  /** The non-deterministic expression, e.g. "`${userId}-${productId}-${Date.now()}`". */
  expr: string;
  /** The clock / randomness call in it, e.g. "Date.now()", "uuid.uuid4()". */
  source: string;
  /** Line where the key is built, line where it is passed, line of the call it is passed to. */
  builtLine: number;
  keyLine: number;
  callLine: number;
  /** The call the key is passed to, e.g. "stripe.paymentIntents.create" ("" when not found). */
  call: string;
  /** Whether the expression itself (not a local variable) is non-deterministic. */
  direct: boolean;
  /** A queue / job id rather than an external API's idempotency key. */
  queue: boolean;
}

const KEY_NAMES = String.raw`idempotency[_-]?key|idempotencyKey|IdempotencyKey|jobId|job_id|JobID|dedup(?:e|lication)?[_-]?(?:key|id)|deduplicationId|DeduplicationId|MessageDeduplicationId|dedupKey|dedupeKey`;
const KEY = new RegExp(String.raw`\b(${KEY_NAMES})\b['"]?\s*(?:\]\s*)?(?:=>|:(?![:=])|=(?![=>]))|['"](Idempotency-Key|X-Idempotency-Key|Idempotency_Key)['"]\s*(?:\]\s*)?(?:=>|:(?!:)|=(?!=)|,)`, 'gi');
/** JS shorthand property: `{ idempotencyKey }`, `{ amount }, { idempotencyKey, stripeAccount }`. */
const KEY_SHORTHAND = new RegExp(String.raw`[{,]\s*(${KEY_NAMES})\s*(?=[,}])`, 'gi');

export const NONDET = /\bDate\.now\(\)|\bnew Date\(\s*\)|\bperformance\.now\(\)|\btime\.time(?:_ns)?\(\)|\bdatetime\.(?:now|utcnow)\(|\btimezone\.now\(\)|\buuid\.uuid[14]\(\)|\buuid[14]\(\)|\buuidv[147]\(\)|\buuid\(\)|\bv4\(\)|\brandomUUID\(\)|\bcrypto\.randomBytes\(|\bMath\.random\(\)|\bSecureRandom\.\w+|\bnanoid\(\)|\bcuid2?\(\)|\bulid\(\)|\buuid\.New(?:String)?\(\)|\btime\.Now\(\)|\bTime\.(?:now|current)\b|\bDateTime\.now\b|\bsecrets\.token_\w+\(|\brandom\.\w+\(|\bObjectId\(\)|\bDate\.current\b|\bTime\.zone\.now\b|(?<![\w$])(?:this|self|s|svc|[a-z]\w*(?:[Cc]lock|[Ss]ervice|[Ss]vc))(?:\.(?:clock|Clock))?\.(?:now|Now)\(\)/;

const keyCache = new WeakMap<FnInfo, KeyUse[]>();

/**
 * Idempotency / dedup keys of one function that are new on every call: a value passed as `idempotencyKey` /
 * `idempotency_key` / an `Idempotency-Key` header / `jobId` / `deduplicationId` ... built from the clock or randomness,
 * directly or through a local variable. A local declaration (`const idempotencyKey = ...`) is not itself a use; a key
 * stored in the database by this function before it is passed on is reused by retries and is left out.
 */
export function perCallKeys(info: FnInfo): KeyUse[] {
  const hit = keyCache.get(info);
  if (hit) return hit;
  const out: KeyUse[] = [];
  keyCache.set(info, out);
  if (!/idempot|jobid|job_id|dedup/i.test(info.code)) return out;
  const fam = familyOf(info.lang);
  const chains = findChains(info.code, info.lang);
  const uses: Array<{ name: string; at: number; value: string }> = [];
  for (const m of info.code.matchAll(KEY)) {
    const at = m.index ?? 0;
    const name = m[1] ?? m[2]!;
    // `const idempotencyKey = ...` / `idempotency_key = ...` at the start of a statement declares a local; the use
    // is where it is passed on. `params.IdempotencyKey = ...` (a field of the request) is a use.
    const lineHead = info.code.slice(info.code.lastIndexOf('\n', at - 1) + 1, at);
    if (m[1] && /(?:const|let|var)\s+$/.test(lineHead)) continue;
    if (m[1] && /=\s*$/.test(m[0]) && /^\s*$/.test(lineHead) && !insideArgs(chains, at)) continue;
    uses.push({ name, at, value: exprAt(info.code, at + m[0].length, fam).trim() });
  }
  if (fam === 'js') for (const m of info.code.matchAll(KEY_SHORTHAND)) uses.push({ name: m[1]!, at: (m.index ?? 0) + m[0].indexOf(m[1]!), value: m[1]! });
  uses.sort((a, b) => a.at - b.at);
  for (const use of uses) {
    const value = use.value;
    if (!value || /^(?:=|undefined|None|nil|null)$/.test(value)) continue;
    const keyLine = info.idx.line(use.at);
    let builtLine = keyLine;
    let direct = true;
    let expr = value;
    if (!NONDET.test(value)) {
      // Through a local variable: `const key = `${id}-${Date.now()}``.
      const ident = /^(?:\w+\.String\(\s*)?([A-Za-z_$][\w$]*)\s*\)?$/.exec(value)?.[1] ?? /\$\{\s*([A-Za-z_$][\w$]*)\s*\}/.exec(value)?.[1] ?? /^str\(\s*([A-Za-z_]\w*)\s*\)$/.exec(value)?.[1];
      if (!ident) continue;
      const asg = lastAssignment(info.code, ident, use.at);
      if (!asg || !NONDET.test(asg.rhs)) continue;
      builtLine = info.idx.line(asg.at);
      direct = false;
      expr = asg.rhs.trim().replace(/;$/, '');
      // A key stored by this function before use is reused by retries: not per call.
      const stored = new RegExp(String.raw`(?<![\w$])${ident.replace(/\$/g, '\\$')}(?![\w$])`);
      if (info.ops.some((op) => (op.kind === 'insert' || op.kind === 'update' || op.kind === 'upsert') && op.start < use.at && stored.test(info.code.slice(op.start, op.end)))) continue;
    }
    // The call the key is passed to.
    const enclosing = chains.filter((c) => insideArgs([c], use.at)).sort((a, b) => b.start - a.start);
    const callChain = enclosing.find((c) => !/^(?:String|str|dict|headers|stripe\.String|aws\.String)$/.test(callName(c)));
    const call = callChain ? callName(callChain).replace(/\.String$/, '') : '';
    const callLine = callChain ? info.idx.line(callChain.start) : keyLine;
    const queue = /^(?:jobId|job_id|JobID)$/i.test(use.name) || /dedup/i.test(use.name) || /\b(?:queue|add|addBulk|enqueue|perform|send_message|sendMessage|publish|apply_async)\b/i.test(call);
    if (out.some((k) => k.keyLine === keyLine && k.builtLine === builtLine)) continue;
    out.push({
      keyName: use.name,
      expr: expr.length > 120 ? expr.slice(0, 117) + '...' : expr,
      source: NONDET.exec(expr)?.[0] ?? 'a per-call value',
      builtLine,
      keyLine,
      callLine,
      call,
      direct,
      queue,
    });
  }
  return out;
}

function insideArgs(chains: readonly Chain[], at: number): boolean {
  return chains.some((c) => c.segments.some((s) => s.argsAt !== undefined && s.argsAt <= at && at <= s.argsAt + (s.args ?? '').length));
}

/** The expression starting at `i`, up to a `,`, `}` / `)` / `]` closing an outer bracket, `;` or a line end at depth 0. */
function exprAt(code: string, i: number, fam: ReturnType<typeof familyOf>): string {
  let depth = 0;
  let j = i;
  for (; j < code.length && j < i + 400; j++) {
    const c = code[j]!;
    if (c === '"' || c === "'" || (c === '`' && fam !== 'js')) {
      j = stringEnd(code, j, fam) - 1;
      continue;
    }
    if (c === '`') {
      const end = code.indexOf('`', j + 1);
      j = end < 0 ? code.length : end;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && (c === ',' || c === ';' || c === '\n')) break;
  }
  return code.slice(i, j);
}

function lastAssignment(code: string, ident: string, before: number): { rhs: string; at: number } | undefined {
  const re = new RegExp(String.raw`(?:^|[\s;(])(?:const|let|var)?\s*${ident.replace(/\$/g, '\\$')}\s*(?::\s*[\w.<>[\]|]+\s*)?:?=(?![=>])\s*`, 'gm');
  let found: { rhs: string; at: number } | undefined;
  for (const m of code.slice(0, before).matchAll(re)) {
    const start = (m.index ?? 0) + m[0].length;
    const nl = code.indexOf('\n', start);
    found = { rhs: code.slice(start, nl < 0 ? code.length : nl), at: (m.index ?? 0) + m[0].length - 1 };
  }
  return found;
}
