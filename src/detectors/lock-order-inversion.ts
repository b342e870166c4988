/**
 * lock-order-inversion (deadlock)
 *
 * Rule 1, rows locked in input order: inside a transaction, a loop over caller-ordered input (a
 * parameter of the function or of its enclosing function, or the request body) takes a row lock keyed
 * by the loop variable (`SELECT … FOR UPDATE`, `.forUpdate()`, `select_for_update()`, `lock!`,
 * `LOCK.UPDATE`, `pessimistic_write`, `pg_advisory_xact_lock`) or updates the row. Each iteration keeps
 * the locks it took, so two calls with overlapping keys in different orders wait on each other.
 * Quiet when the input is sorted in the function (`.sort(`, `sorted(`, `sort.Slice`, `sort_by`), when
 * the loop runs outside a transaction, or when the collection comes from a query (its order is the
 * query's).
 *
 * Rule 2, opposite lock order on two paths: a changed function takes lock B while holding lock A
 * (Go `a.mu.Lock()` then `b.mu.Lock()`, Python nested `with a_lock:` / `async with`, JS async-mutex
 * `acquire()` / `runExclusive`, advisory locks with literal keys), and some function of the diff takes
 * B then A. Lock names are canonical: a receiver's mutex is named after its type (`s.mu` in
 * `func (s *Session)` is `Session.mu`, `s.hub.mu` is `Hub.mu` through the struct field's type,
 * `sub.mu` for `sub` ranging over `[]*Session` is `Session.mu`). Row locks inside a transaction count
 * too, named after their model or table (ActiveRecord `x.lock!` / `with_lock` / `Model.lock.find`, with
 * `x` resolved through `x = Model.…` or an association `x = owner.credit_wallet`; Django
 * `select_for_update`, SQLAlchemy `with_for_update`, SQL `FOR UPDATE`, knex `forUpdate`, TypeORM
 * `pessimistic_write`, Sequelize `LOCK.UPDATE`). A model named only by a variable (`schedule`) matches one whose
 * name ends the same way (`DriverSchedule`). Plain SQL `UPDATE t SET` rows count as locks too, but only against a
 * path with an explicit lock in the opposite order; so do ORM updates by a filter (knex `.where(…).update(`, TypeORM
 * `manager.update(E, …)`, Prisma `updateMany`, Django `objects.filter(…).update(`) in a function with an explicit lock. The finding goes on the path whose lock lines the diff
 * adds (both files on a tie). Quiet with one lock, or the same order on every path.
 * A lock taken inside a helper counts when the path calls it while holding another (`r.mu.Lock()` then
 * `r.hub.countSent()`, whose body locks `h.mu`): helpers resolve by Go receiver type (struct fields, or
 * composite literals when the struct is not shown), `self`/`this`, a variable named after a class of the
 * diff, or a method name only one function has; followed three calls deep. Ruby `synchronize` blocks count.
 * Advisory keys keep a constant bound to a placeholder (`[NS_ORDER, id]` -> `advisory(NS_ORDER,?)`), and a short
 * helper taking a transaction-scoped advisory lock leaves it held by its caller. Python keyed locks of a collection
 * (`self._item_locks[k]`) are one lock kind; a shared lock taken around one, while another method takes the shared
 * lock inside a block the diff does not show about the same item, is reported too (hiddenOuterReports).
 *
 * Rule 3, a transaction waiting on itself: inside a transaction on a handle X (`client` after BEGIN, a
 * `$transaction` / `transaction` callback parameter, Go `tx` from BeginTx), after X locked or updated
 * rows of a table, the same table's rows are updated or locked, keyed by a value the lock used, through
 * another connection before X commits: the pool X came from, a module-level pool/db/knex/prisma, an
 * injected repository inside an ORM transaction callback, or a helper of the diff that writes through
 * such a pool and is not passed X. Quiet for pool reads, inserts, other tables, helpers given X, and
 * writes after COMMIT.
 *
 * Methods of a class whose head the diff does not show (a hunk region) are read from their shown heads: a row-locking
 * helper method, and a callback's method parameters as caller input.
 *
 * Rule 4, two rows of one table in argument order: inside a transaction, two rows of the same model/table are
 * locked one after the other, keyed by different caller-supplied values (ivars, parameters, `params[:x]`).
 * Quiet when the function sorts the keys (`sort`, `sorted`, `min`/`max`, ORDER BY / `.order(`). Go gorm rows count
 * Two reference fields of one loaded record (`t.fromId`, `t.toId`) count as caller-ordered keys (mirrored records).
 * (`tx.Clauses(clause.Locking{…}).First(&from, fromID)`, the model from the variable's declared struct type).
 *
 * Rule 4b, Go: the same mutex field of two values of one type nested in argument order, or of the receiver and a
 * peer of its type ranged over (`for _, p := range r.peers { p.mu.Lock() }` under `r.mu`); quiet for children.
 *
 * Rule 5, Go channel under a mutex: a method blocks on a channel field (a send, buffered or not: a full buffer
 * blocks too; a receive from an unbuffered one) or a WaitGroup's Wait while it (or a same-type caller) holds a mutex
 * of its type, and the method on the other side of the channel takes that mutex (itself or through a same-type
 * helper). Quiet for receives from buffered channels, `select` with `default`, and channels whose `make` the diff
 * does not show.
 *
 * Loops whose only locking is a plain UPDATE per item (the row lock is implicit) are left alone: atomic
 * per-item updates in a transaction are also the usual fix for lost updates, and flagging them would be
 * noisy. They are kept as a known miss in the table test.
 *
 * Confidence: 0.9 for mutexes taken in opposite orders; 0.85 for explicit row locks in a loop over
 * input, row locks in opposite orders, and a second-connection write in the function; 0.8 for advisory
 * locks and a second-connection write inside a helper.
 */
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import type { EvidenceLine } from '../types.js';
import {
  cleanFacts,
  codeLine,
  displayName,
  enclosing,
  entityOfReceiver,
  escapeRe,
  familyOf,
  innermostFirst,
  loopsOf,
  mentions,
  paramsOf,
  shownRange,
  sqlTables,
  statementAt,
  testFrameworkHint,
  normEntity,
  sameEntity,
  stripComments,
  TRANSACTION,
  viewOf,
  blockEnd,
  splitTop,
  type Family,
  type FnView,
} from './lib/state.js';

const LOOP_LOCK =
  /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\.forUpdate\(|\bselect_for_update\b|\bwith_for_update\b|\block!|\.lock\.find\b|\.lock\(\)\.|\bLOCK\.UPDATE\b|lock:\s*(?:true|\w+\.LOCK)|pessimistic_write|setLock\(\s*['"]pessimistic|pg_advisory_xact_lock|pg_advisory_lock|GET_LOCK\(/i;
const LOOP_UPDATE =
  /\bUPDATE\s+["`]?\w+["`]?\s+SET\b|\.(?:update|updateMany|increment|decrement|update!|update_all|increment!|decrement!|update_columns?)\s*\(|\.(?:increment|decrement)!?\b/;
/** Transaction markers; `with_lock` is left out because it opens (and commits) its own transaction per row. */
const TX = /\btransaction\b|\$transaction\b|\bBEGIN\b|\batomic\b|\bBeginTx\b|\bBegin\(\)|\.begin\(|\bWithTransaction\b|\.Transaction\(|\bRunInTx\b/;
const INPUT = /\b(?:req|request)\.(?:body|data|json)|\bpayload\b|\bjob\.data\b|\bmsg\.|\bparams\[/;

function rowLoopReports(ctx: DetectorContext, v: FnView, seen: Set<number>): DetectorReport[] {
  const { file } = ctx;
  const outerFns = enclosing(file, v.fn);
  const outerCode = outerFns.map((f) => f.text).join('\n');
  const inTx = TX.test(v.code) || TX.test(outerCode);
  if (!inTx) return [];
  const params = new Set<string>(paramsOf(v));
  for (const f of outerFns) {
    const ov = viewOf(file, f);
    if (ov) for (const p of paramsOf(ov)) params.add(p);
  }
  const reports: DetectorReport[] = [];
  for (const loop of loopsOf(v)) {
    if (seen.has(loop.line)) continue;
    const root = /^(?:await\s+)?(?:this\.|self\.|@)?([A-Za-z_$][\w$]*)/.exec(loop.collection)?.[1];
    if (!root) continue;
    const direct = params.has(root) && /^[\w$]+(?:\.[\w$]+|\[['"]\w+['"]\])*$/.test(loop.collection) && !/^(?:this|self)\b/.test(loop.collection);
    if (!direct && !INPUT.test(loop.collection)) continue;
    if (/sort|order_by|orderBy|ORDER BY/i.test(loop.collection)) continue;
    const sortedRe = new RegExp(`(?<![\\w$])${escapeRe(root)}\\b[^\\n;]{0,120}\\bsort|sort[\\w.]*\\(\\s*(?:&)?${escapeRe(root)}\\b|sorted\\(\\s*${escapeRe(root)}\\b`, 'i');
    if (sortedRe.test(v.code) || sortedRe.test(outerCode)) continue;

    const locks: Array<{ line: number; end: number; explicit: boolean; text: string }> = [];
    for (let l = loop.line + 1; l <= loop.endLine; l++) {
      const t = codeLine(v, l);
      const explicit = LOOP_LOCK.test(t);
      if (!explicit && !LOOP_UPDATE.test(t)) continue;
      // The statement around the marker must be keyed by the loop variable.
      let from = l;
      for (let k = l; k >= Math.max(loop.line + 1, l - 4); k--) {
        if (/^\s*(?:await\b|return\b|const\b|let\b|var\b|[\w$.]+\s*(?:=|:=)|if\b|\w+,\s*err|_,|[\w$.]+\()/.test(codeLine(v, k))) {
          from = k;
          break;
        }
      }
      const stmt = statementAt(v, from, 10);
      if (!loop.vars.some((x) => mentions(stmt.text, x))) continue;
      if (/^\s*(?:await\s+)?[\w$.]+\.(?:create|insert|createMany|bulkCreate|add)\(/.test(codeLine(v, from))) continue;
      locks.push({ line: explicit ? l : from, end: Math.max(stmt.endLine, l), explicit, text: stmt.text });
      l = Math.max(l, stmt.endLine);
    }
    // Plain UPDATEs lock rows too, but atomic per-item updates in a transaction are also the usual fix for
    // lost updates: without an explicit lock in the loop, stay quiet (precision first).
    const explicit = locks.some((x) => x.explicit);
    if (!explicit) continue;
    const first = locks[0]!;
    const last = locks[locks.length - 1]!;
    const range = shownRange(file, v.fn, loop.line, last.end);
    if (!range) continue;
    seen.add(loop.line);
    const table = tableOf(first.text, file);
    const loopVar = loop.vars[loop.vars.length - 1] ?? loop.vars[0] ?? 'item';
    const keyM = new RegExp(`["'\`]?(\\w+)["'\`]?\\s*(?::|=>|=)\\s*${escapeRe(loopVar)}(?:\\.(\\w+)|\\[['"](\\w+)['"]\\])?`).exec(first.text);
    const sortKey = keyM ? (keyM[2] ?? keyM[3] ?? keyM[1]) : undefined;
    const evidence: EvidenceLine[] = [
      { role: 'loop', line: loop.line, text: v.text(loop.line) },
      { role: 'lock-a', line: first.line, text: v.text(first.line) },
    ];
    if (last !== first) evidence.push({ role: 'lock-b', line: last.line, text: v.text(last.line) });
    const name = displayName(file, v.fn);
    const kind = /advisory|GET_LOCK/i.test(first.text) ? 'advisory' : 'row';
    reports.push({
      line: range.line,
      endLine: range.endLine,
      functionName: name,
      confidence: 0.85,
      title: `${name} locks ${table ? `${table} rows` : 'rows'} one by one in the order of ${loop.collection}; another call with the same keys in a different order deadlocks`,
      entity: table ? `${table} rows` : `rows keyed by ${loopVar}`,
      evidence,
      variant: 'database',
      facts: cleanFacts({
        table,
        lockKind: kind,
        collection: loop.collection,
        sortKey,
        keyColumns: keyM?.[1],
        lockA: `${table ?? 'the'} row for the first ${loopVar}`,
        lockB: `${table ?? 'the'} row for the next ${loopVar}`,
        inTransaction: 'yes',
        actor: 'transaction',
        testFramework: testFrameworkHint(ctx.files, v.family),
      }),
    });
  }
  return reports;
}

function tableOf(stmt: string, file: SourceFile): string | undefined {
  const sql = sqlTables(stmt);
  if (sql.read[0] ?? sql.written[0]) return sql.read[0] ?? sql.written[0];
  const m = /([\w$.]+(?:\(\s*['"]\w+['"]\s*\))?)(?:\.\w+(?:\([^)]{0,200}\))?){0,4}?\.(?:forUpdate|select_for_update|with_for_update|lock|update|findOne|findUnique|get|find|increment|decrement|where)\b/.exec(stmt);
  if (m) return entityOfReceiver(m[1]!, file.text);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Lock order across paths

interface Edge {
  file: SourceFile;
  fn: FunctionSpan;
  a: string;
  b: string;
  lineA: number;
  lineB: number;
  kind: 'mutex' | 'advisory' | 'row';
  read: boolean;
  labelA?: string;
  labelB?: string;
  /** The helper the path calls while holding lock a, which takes lock b. */
  via?: string;
  /** One of the two row locks is a plain UPDATE's (implicit): such an edge pairs only with an explicit one. */
  implicit?: boolean;
}

interface GoTypes {
  fields: Map<string, Map<string, string>>;
}

const goTypesCache = new WeakMap<readonly SourceFile[], GoTypes>();

function cachedGoTypes(files: readonly SourceFile[]): GoTypes {
  let t = goTypesCache.get(files);
  if (!t) goTypesCache.set(files, (t = goTypes(files)));
  return t;
}

function goTypes(files: readonly SourceFile[]): GoTypes {
  const fields = new Map<string, Map<string, string>>();
  for (const f of files) {
    if (f.language !== 'go') continue;
    let current: Map<string, string> | undefined;
    for (const line of f.lines) {
      const start = /^\s*type\s+(\w+)\s+struct\s*\{/.exec(line);
      if (start) {
        current = new Map();
        fields.set(start[1]!, current);
        continue;
      }
      if (!current) continue;
      if (/^\s*\}/.test(line)) {
        current = undefined;
        continue;
      }
      const fm = /^\s*(\w+(?:\s*,\s*\w+)*)\s+([^\s`]+)/.exec(line);
      if (fm) for (const n of fm[1]!.split(',')) current.set(n.trim(), fm[2]!);
    }
  }
  // A struct whose declaration the diff does not show: its fields' types from composite literals
  // (`&Hub{rooms: make(map[string]*Room)}`, `Hub{log: &Journal{}}`), kept when no declaration says otherwise.
  for (const f of files) {
    if (f.language !== 'go') continue;
    for (const line of f.lines) {
      if (!line.includes('{') || !line.includes(':')) continue;
      const lit = /\b([A-Z]\w*)\{(.*)$/.exec(line);
      if (!lit) continue;
      for (const m of lit[2]!.matchAll(/(?:^|[,{]\s*)(\w+):\s*(?:make\(\s*((?:map\[[^\]\s]*\]|\[\])\*?[\w.]+)|&([A-Z][\w.]*)\{|((?:map\[[^\]\s]*\]|\[\])\*?[\w.]+)\{)/g)) {
        const type = m[2] ?? (m[3] ? `*${m[3]}` : m[4]);
        if (!type) continue;
        let known = fields.get(lit[1]!);
        if (!known) fields.set(lit[1]!, (known = new Map()));
        if (!known.has(m[1]!)) known.set(m[1]!, type);
      }
    }
  }
  return { fields };
}

/** The named type inside a Go type expression: `*Hub` -> Hub, `map[string][]*Session` element -> Session. */
function baseType(t: string | undefined, element = false): string | undefined {
  if (!t) return undefined;
  let s = t.trim();
  if (element) {
    const map = /^map\[[^\]]*\](.*)$/.exec(s);
    if (map) s = map[1]!;
    else s = s.replace(/^\[\d*\]/, '');
  }
  s = s.replace(/^\*+/, '');
  const m = /^(?:\w+\.)?([A-Za-z_]\w*)$/.exec(s);
  return m?.[1];
}

function goVarTypes(v: FnView, types: GoTypes): Map<string, string> {
  const vars = new Map<string, string>();
  const recv = /^\s*func\s*\(\s*(\w+)\s+\*?(\w+)\s*\)/.exec(v.code);
  if (recv) vars.set(recv[1]!, recv[2]!);
  const sig = /^\s*func\s*(?:\([^)]*\)\s*)?\w*\s*\(([^)]*)\)/.exec(v.code)?.[1] ?? '';
  let pending: string[] = [];
  for (const part of sig.split(',')) {
    const p = part.trim().split(/\s+/);
    if (p.length === 1 && p[0]) pending.push(p[0]);
    else if (p.length >= 2) {
      const t = baseType(p.slice(1).join(' '));
      for (const n of [...pending, p[0]!]) if (t) vars.set(n, t);
      pending = [];
    }
  }
  for (const m of v.code.matchAll(/(\w+)\s*:=\s*&?(\w+)\s*\{/g)) vars.set(m[1]!, m[2]!);
  for (const m of v.code.matchAll(/var\s+(\w+)\s+\*?(\w+)/g)) vars.set(m[1]!, m[2]!);
  for (const m of v.code.matchAll(/for\s+(?:\w+\s*,\s*)?(\w+)\s*:=\s*range\s+([\w.]+)(?:\[[^\]]*\])?/g)) {
    const t = goExprType(m[2]!, vars, types, true, /\[[^\]]*\]\s*\{?\s*$/.test(m[0]) || /\]$/.test(m[0]));
    if (t) vars.set(m[1]!, t);
  }
  return vars;
}

/** Type of `a.b.c` (its element type when `element`). */
function goExprType(expr: string, vars: Map<string, string>, types: GoTypes, element = false, indexed = false): string | undefined {
  const parts = expr.split('.');
  let t = vars.get(parts[0]!);
  let raw: string | undefined = t;
  for (const p of parts.slice(1)) {
    if (!t) return undefined;
    raw = types.fields.get(t)?.get(p);
    t = baseType(raw);
  }
  if (element) {
    // range over x.byTopic[topic] -> element of the map value (a slice) -> its element.
    let inner = raw;
    if (indexed && inner) inner = /^map\[[^\]]*\](.*)$/.exec(inner)?.[1] ?? inner.replace(/^\[\d*\]/, '');
    return baseType(inner, true);
  }
  return t;
}

function canonicalGo(expr: string, vars: Map<string, string>, types: GoTypes): string {
  const parts = expr.split('.');
  if (parts.length === 1) return expr;
  const owner = goExprType(parts.slice(0, -1).join('.'), vars, types);
  if (owner) return `${owner}.${parts[parts.length - 1]}`;
  return expr;
}

function ownerClass(fn: FunctionSpan): string | undefined {
  const m = /^(\w+)\.\w+$/.exec(fn.name);
  return m?.[1];
}

function advisoryKey(arg: string, bound: string[] = []): string {
  // A placeholder bound to a constant (`pg_advisory_xact_lock($1, $2)` with `[LOCK_NS_ORDER, id]`) keeps the
  // constant: two namespaces are two locks. Other bound values stay `?`.
  let n = 0;
  const key = arg.replace(/\s+/g, '').replace(/\$(\d+)|\?|%s|:\w+/g, (_, d: string | undefined) => {
    const val = bound[d ? Number(d) - 1 : n++];
    return val !== undefined && ADVISORY_CONST.test(val) ? val : '?';
  });
  return `advisory(${key})`;
}

/** A constant lock namespace or key: `LOCK_NS`, `Locks.ORDER`, `42`, `'order'`. */
const ADVISORY_CONST = /^(?:(?:[\w$]+\.)?[A-Z][A-Z0-9_]*|\d+|'[^']*'|"[^"]*")$/;

/** The values a query binds (`query('…', [a, b])`, `execute("…", (a, b))`), when the statement shows them. */
function boundValues(stmt: string): string[] {
  // An array or tuple after the SQL string, else the call's remaining arguments (Go `tx.Exec(ctx, "…", ns, id)`).
  const m = /['"`]\s*,\s*[[(]([^\])\n]{0,200})[\])]/.exec(stmt) ?? /['"`]\s*,\s*([^()[\]\n]{1,200}?)\s*\)/.exec(stmt);
  return m ? splitTop(m[1]!).map((x) => x.trim()) : [];
}

/** Transaction-scoped advisory locks a short helper of the diff takes (`lockOrder(client, id)`), by the helper's name. */
const advisoryHelperCache = new WeakMap<readonly SourceFile[], Map<string, string[]>>();

function advisoryHelpers(files: readonly SourceFile[]): Map<string, string[]> {
  let out = advisoryHelperCache.get(files);
  if (out) return out;
  out = new Map();
  const names = new Map<string, number>();
  for (const f of files) {
    if (!ADVISORY_WORD.test(f.text)) continue;
    for (const fn of f.functions) {
      if (fn.name === '<hunk>' || fn.endLine - fn.startLine > 30 || !ADVISORY_WORD.test(fn.text)) continue;
      // A session lock released inside the helper is not held by the caller.
      if (/advisory_unlock|RELEASE_LOCK/i.test(fn.text)) continue;
      const v = viewOf(f, fn);
      if (!v) continue;
      const keys: string[] = [];
      for (let l = fn.startLine; l <= fn.endLine; l++) {
        const t = codeLine(v, l);
        for (const a of t.matchAll(/pg_advisory(?:_xact)?_lock\(([^)]{1,120})\)|GET_LOCK\(([^,)]{1,120})/gi)) keys.push(advisoryKey((a[1] ?? a[2])!, boundValues(statementAt(v, l, 6).text)));
      }
      if (keys.length === 0) continue;
      const name = fn.name.slice(fn.name.lastIndexOf('.') + 1);
      names.set(name, (names.get(name) ?? 0) + 1);
      out.set(name, keys);
    }
  }
  // A name two helpers share stays unresolved.
  for (const [n, c] of names) if (c > 1) out.delete(n);
  advisoryHelperCache.set(files, out);
  return out;
}

const LOCK_WORD = /lock|mutex|semaphore|acquire|runExclusive|advisory|FOR\s+(?:NO\s+KEY\s+)?UPDATE|forUpdate|forNoKeyUpdate|select_for_update|with_for_update|pessimistic/i;

// ---------------------------------------------------------------------------------------------
// Row locks held together (ORM and SQL), for the opposite-order rule

/** A statement that takes a row lock (a marker on one of its lines). */
const ROW_LOCK_LINE =
  /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\.for(?:NoKey)?Update\(|\bselect_for_update\b|\bwith_for_update\b|\block!|\bwith_lock\b|\.lock\b(?![!?])|\bLOCK\.UPDATE\b|lock:\s*(?:true|\w+\.LOCK|\{\s*mode:\s*['"]pessimistic_write)|setLock\(\s*['"]pessimistic_write|clause\.Locking\{/;
const ROW_LOCK_OTHER =
  /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\.for(?:NoKey)?Update\(|\bselect_for_update\b|\bwith_for_update\b|\bLOCK\.UPDATE\b|lock:\s*(?:true|\w+\.LOCK|\{\s*mode:\s*['"]pessimistic_write)|setLock\(\s*['"]pessimistic_write|clause\.Locking\{/;
const COMMIT = /\.Commit\(\)|\.commit\(\s*\)|\.commitTransaction\(|\.query\(\s*['"`](?:COMMIT|END)\b|\bCOMMIT\s*['"`]\s*\)/i;
const STMT_START = /^\s*(?:await\b|return\b|const\b|let\b|var\b|[\w$.@]+\s*(?:=|:=)|if\b|\w+,\s*\w+\s*:?=|_,|[\w$.@:]+[.(]|[A-Z]\w*\.|lock!|with_lock)/;

interface RowLock {
  key: string;
  label: string;
  line: number;
  until: number;
  /** The line the locking statement starts on. */
  from?: number;
  /** Taken by a plain `UPDATE … SET` (the row lock is implicit), not an explicit lock. */
  implicit?: boolean;
}

/** A plain SQL `UPDATE t SET`: it takes the row's lock and keeps it until the transaction ends. */
const IMPLICIT_UPDATE = /\bUPDATE\s+["`]?\w+["`]?\s+(?:AS\s+\w+\s+)?SET\b/i;
/** A transaction opened through a wrapper (`withTransaction(`, `runInTransaction(`, `with_transaction(`). */
const TX_WRAPPER = /\w(?:T|_t)ransaction\s*\(/;

/** `credit_wallet` / `CreditWallet` -> CreditWallet. */
function camel(name: string): string {
  return name.replace(/^@/, '').replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The class a Ruby/Python method belongs to: the nearest `class X` above it, else the file's name (Rails convention). */
function classOf(file: SourceFile, line: number): string {
  for (let l = line - 1; l >= 1; l--) {
    const m = /^\s*class\s+([A-Z][\w:]*)/.exec(file.lines[l - 1] ?? '');
    if (m) return m[1]!.split('::').pop()!;
  }
  const base = /([\w-]+)\.\w+$/.exec(file.path)?.[1] ?? 'self';
  return camel(base.replace(/-/g, '_'));
}

/**
 * The model a Ruby/Python receiver holds: `self` -> the class; a local or ivar assigned from `Model.…`
 * or from an association (`customer.credit_wallet`) -> that model; otherwise the name itself.
 */
function modelOfHolder(v: FnView, file: SourceFile, expr: string, before: number): string {
  const e = expr.replace(/^self\./, '');
  if (expr === 'self' || e === '') return classOf(file, v.fn.startLine);
  const parts = e.split('.');
  if (parts.length === 1) {
    const name = parts[0]!.replace(/^@/, '');
    const re = new RegExp(`^\\s*@?${escapeRe(name)}\\s*=\\s*(.+)$`);
    for (let l = before - 1; l >= v.fn.startLine; l--) {
      const m = re.exec(codeLine(v, l));
      if (!m) continue;
      const rhs = m[1]!.trim();
      const model = /^([A-Z]\w*)(?:\.|::)/.exec(rhs);
      if (model) return model[1]!;
      const assoc = /([a-z_]\w*)(?:\.(?:find|find_by!?|first!?|last!?|take!?|lock|where)\b[^.]*)*\s*$/.exec(rhs.replace(/\([^()]*\)/g, ''));
      if (assoc && !/^(?:find|find_by|first|last|take|lock|where|new|build|create)$/.test(assoc[1]!)) return camel(assoc[1]!);
      break;
    }
    return camel(name);
  }
  return camel(parts[parts.length - 1]!);
}

/** The table or model a locking statement names. */
function lockedEntity(v: FnView, file: SourceFile, stmt: string, line: number): string | undefined {
  const sql = sqlTables(stmt).read[0];
  if (sql && /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b/i.test(stmt)) return sql;
  if (v.family === 'ruby') {
    let m = /(?:^|[^\w@.:])((?:@|self\.)?[a-z_]\w*(?:\.[a-z_]\w*)*)\.(?:lock!|with_lock\b)/.exec(stmt);
    if (m) return modelOfHolder(v, file, m[1]!, line);
    if (/^\s*(?:lock!|with_lock\b)/.test(stmt)) return classOf(file, v.fn.startLine);
    m = /\b([A-Z]\w*)(?:\.\w+(?:\([^()\n]{0,200}\))?){0,4}\.(?:lock\b(?![!?])|with_lock\b)/.exec(stmt);
    if (m && !/Mutex|Monitor|Lock|Redis|Cache|Thread/.test(m[1]!)) return m[1];
    return undefined;
  }
  if (v.family === 'python') {
    const m = /\b([A-Z]\w*)\.objects\b/.exec(stmt) ?? /\b(?:query|select|get)\(\s*([A-Z]\w*)/.exec(stmt);
    return m?.[1];
  }
  if (v.family === 'go') {
    const m = /\.Model\(\s*&?([A-Z]\w*)\{/.exec(stmt) ?? /\.(?:First|Find|Take|Last)\(\s*&([\w.]+)/.exec(stmt);
    const name = m?.[1];
    // gorm `First(&from, id)`: the model is the variable's declared type (`var from, to Station`, `from := Station{}`).
    if (name && /^[a-z_]\w*$/.test(name)) return goVarModel(v, name, line) ?? name;
    return name;
  }
  const typed =
    /\b(?:findOne|findOneOrFail|findOneBy|find|findBy|createQueryBuilder|getRepository|findByPk|findAll)\(\s*([A-Z]\w*)\b/.exec(stmt) ??
    /\b([A-Z]\w*)\.(?:findByPk|findOne|findAll|findOrCreate|findUnique|findFirst|query|createQueryBuilder)\(/.exec(stmt);
  if (typed) return typed[1];
  return tableOf(stmt, file);
}

/** The nearest top-level Go `func` header above `line` inside the span (a span can run over several functions of a hunk). */
function goFuncAbove(v: FnView, line: number): string | undefined {
  for (let l = line; l >= v.fn.startLine; l--) {
    const m = /^func\s*(?:\([^)]*\)\s*)?([A-Za-z_]\w*)/.exec(codeLine(v, l));
    if (m) return m[1];
  }
  return undefined;
}

/** The struct type a Go local is declared with, searching back from `before` (`var a, b T`, `a := T{}`, `var a T`). */
function goVarModel(v: FnView, name: string, before: number): string | undefined {
  const n = escapeRe(name);
  const decl = new RegExp(`\\bvar\\s+(?:\\w+\\s*,\\s*)*${n}\\s*(?:,\\s*\\w+\\s*)*\\*?(?:\\w+\\.)?([A-Z]\\w*)\\b`);
  const short = new RegExp(`(?:^|[\\s,])${n}\\s*:=\\s*&?(?:\\w+\\.)?([A-Z]\\w*)\\{`);
  for (let l = before; l >= v.fn.startLine; l--) {
    const t = codeLine(v, l);
    if (!t.includes(name)) continue;
    const m = decl.exec(t) ?? short.exec(t);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * A statement read as one line: a chain broken over lines (`trx('t')\n  .where(…)\n  .forUpdate()`) joined, and
 * TypeScript type arguments on a call (`trx<Row>('t')`, `repo.findOne<Tab>(`) dropped.
 */
function chainText(stmt: string, family: Family): string {
  const joined = stmt.replace(/[ \t]*\n\s*(?=\.\w)/g, '');
  return family === 'js' && joined.includes('>(') ? joined.replace(/<[A-Z][\w$.]*(?:\[\])?(?:\s*,\s*[A-Z][\w$.]*(?:\[\])?)*>(?=\()/g, '') : joined;
}

/** ORM writes by a filter or key that take the rows' locks without saying so. */
const ORM_IMPLICIT_UPDATE = /\.(?:update|updateMany|increment|decrement|delete|deleteMany|del)\s*\(/;

/** The line a statement around `l` starts on: a chain's continuation line (`.forUpdate()` under `trx('t')`) does not. */
function stmtStartOf(v: FnView, l: number): number {
  for (let k = l; k >= Math.max(v.fn.startLine, l - 8); k--) {
    if (STMT_START.test(codeLine(v, k)) && !/^\s*\./.test(codeLine(v, k))) return k;
  }
  return l;
}

/**
 * The table or model an ORM update names: knex `trx('t')…update(`, TypeORM `manager.update(Entity, …)`, Prisma
 * `tx.model.updateMany(`, Sequelize `Model.update(`, Django `Model.objects.filter(…).update(`. Undefined for a
 * record's own `save`-like update or a receiver that names nothing.
 */
function updatedEntity(stmt: string, file: SourceFile, family: Family): string | undefined {
  if (family === 'python') {
    const m = /\b([A-Z]\w*)\.objects\b[^\n]*\.(?:update|delete)\(/.exec(stmt);
    return m?.[1];
  }
  const typed =
    /\.(?:update|updateMany|increment|decrement|delete)\(\s*([A-Z]\w*)\s*,/.exec(stmt) ??
    /(?:^|[^\w$.])([A-Z]\w*)\.(?:update|destroy|increment|decrement)\(/.exec(stmt);
  if (typed) return typed[1];
  const m = /([\w$.]+\(\s*['"]\w+['"]\s*\)|\b(?:prisma|tx|trx|this\.prisma)\.[a-z]\w*)(?:\.\w+(?:\([^)]{0,200}\))?){0,4}?\.(?:update|updateMany|increment|decrement|delete|deleteMany|del)\s*\(/.exec(stmt);
  return m ? entityOfReceiver(m[1]!, file.text) : undefined;
}

/** Row locks a function takes inside a transaction, in order, each held until its block (or the function) ends. */
function rowLocksOf(file: SourceFile, v: FnView, skip: (l: number) => boolean, anyTx = false, implicit = false): RowLock[] {
  const outer = enclosing(file, v.fn).map((f) => f.text).join('\n');
  const wrapped = TX_WRAPPER.test(v.code) || TX_WRAPPER.test(outer);
  if (!anyTx && !wrapped && !TRANSACTION.test(v.code) && !TRANSACTION.test(outer)) return [];
  // Plain UPDATEs count only for the opposite-order rule, and only where the SQL is in this function's code.
  const updates = implicit && v.family !== 'ruby' && IMPLICIT_UPDATE.test(v.code);
  // ORM updates by a filter (`trx('t').where(…).update(…)`, `manager.update(Entity, …)`, `Model.objects.filter(…).update(`)
  // lock the rows they touch just the same; only next to an explicit lock in the function.
  const ormUpdates = implicit && (v.family === 'js' || v.family === 'python') && ORM_IMPLICIT_UPDATE.test(v.code) && ROW_LOCK_OTHER.test(v.code);
  const out: RowLock[] = [];
  let lastEnd = 0;
  for (let l = v.fn.startLine; l <= v.fn.endLine; l++) {
    if (skip(l)) continue;
    const t = codeLine(v, l);
    if (updates && !ROW_LOCK_LINE.test(t) && IMPLICIT_UPDATE.test(t)) {
      const table = sqlTables(t).written[0];
      if (table) out.push({ key: `${normEntity(table)} row`, label: `${table} row`, line: l, until: closeLine(v, l, COMMIT), from: l, implicit: true });
      continue;
    }
    if (ormUpdates && ORM_IMPLICIT_UPDATE.test(t) && !ROW_LOCK_LINE.test(t) && !IMPLICIT_UPDATE.test(t)) {
      const from = stmtStartOf(v, l);
      const stmt = chainText(statementAt(v, from, 14).text, v.family);
      const entity = updatedEntity(stmt, file, v.family);
      if (entity) out.push({ key: `${normEntity(entity)} row`, label: `${entity} row`, line: l, until: closeLine(v, l, COMMIT), from, implicit: true });
      continue;
    }
    if (!ROW_LOCK_LINE.test(t) || /\bFOR\s+SHARE\b|\block_version\b/i.test(t)) continue;
    // `.lock` / `lock!` / `with_lock` are ActiveRecord's; elsewhere `.lock(` is a mutex (the mutex rule's).
    if (v.family !== 'ruby' && !ROW_LOCK_OTHER.test(t)) continue;
    let from = stmtStartOf(v, l);
    if (from <= lastEnd && from !== l) from = l;
    let stmt = statementAt(v, from, 14);
    if (stmt.endLine < l) stmt = statementAt(v, l, 14);
    // A chain broken over lines (`trx('t')\n  .where(…)\n  .forUpdate()`) reads as one.
    const entity = lockedEntity(v, file, chainText(stmt.text, v.family), l);
    lastEnd = Math.max(stmt.endLine, l);
    if (!entity) continue;
    // Held until the `with_lock` block ends, or the transaction commits (else to the function's end).
    const until = /\bwith_lock\b/.test(t) ? blockEnd(v, l) : closeLine(v, l, COMMIT);
    out.push({ key: `${normEntity(entity)} row`, label: `${entity} row`, line: l, until, from: Math.min(from, l) });
  }
  return out;
}
/** Implied by every pg_advisory…_lock( / GET_LOCK( match (case-insensitive like it). */
const ADVISORY_WORD = /pg_advisory|GET_LOCK/i;

/** Display name of a lock key on an edge (row locks are keyed by their normalised entity). */
function label(e: Edge, which: 'a' | 'b'): string {
  return (which === 'a' ? e.labelA : e.labelB) ?? e[which];
}

/** What one path does with locks: its own edges, the locks it takes, and the calls it makes (with the locks then held). */
interface PathLocks {
  file: SourceFile;
  fn: FunctionSpan;
  edges: Edge[];
  acquires: Array<{ name: string; read: boolean; kind: Edge['kind'] }>;
  calls: Array<{ keys: string[]; name: string; line: number; held: Array<{ name: string; line: number; read: boolean }> }>;
}

const NO_PATH = { edges: [], acquires: [], calls: [] } as unknown as PathLocks;

/** Calls that take or release the lock itself, or are language keywords: never a helper that locks. */
const NOT_LOCK_HELPER =
  /^(?:R?Lock|R?Unlock|TryR?Lock|acquire|release|runExclusive|synchronize|mon_synchronize|lock|unlock|waitForUnlock|isLocked|if|for|while|switch|with|return|catch|function|await|async|new|typeof|super|go|defer|len|cap|append|make|delete|copy|panic|print|println|range|elif|not|and|or|in|is|lambda|assert|raise|yield|puts|require|import)$/;

/** The key a function is called by: Go `Hub.join` (its receiver type) or `join`; elsewhere its name (`Catalog.add`). */
function fnKey(fn: FunctionSpan, family: Family): string {
  if (family === 'go') {
    const head = fn.text.slice(0, 300);
    const m = /^\s*func\s*\(\s*\w*\s*\*?([A-Za-z_]\w*)(?:\[[^\]]*\])?\s*\)\s*(\w+)/.exec(head);
    if (m) return `${m[1]}.${m[2]}`;
  }
  return fn.name;
}

/** Classes (Python, JS, Ruby) a family of the diff's files declares, by name. */
const classCache = new WeakMap<readonly SourceFile[], Map<Family, Set<string>>>();

function classesOf(files: readonly SourceFile[], family: Family): Set<string> {
  let byFam = classCache.get(files);
  if (!byFam) {
    byFam = new Map();
    classCache.set(files, byFam);
  }
  let set = byFam.get(family);
  if (set) return set;
  set = new Set();
  for (const f of files) {
    if (familyOf(f.language) !== family) continue;
    for (const line of f.lines) {
      if (!line.includes('class')) continue;
      const m = /^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Z]\w*)/.exec(line);
      if (m) set.add(m[1]!);
    }
  }
  byFam.set(family, set);
  return set;
}

/** The class a JS method sits in (for `this.x` inside an arrow-function field or a callback). */
function jsClassAt(file: SourceFile, line: number): string | undefined {
  for (let l = line - 1; l >= Math.max(1, line - 400); l--) {
    const m = /^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Z]\w*)/.exec(file.lines[l - 1] ?? '');
    if (m) return m[1];
  }
  return undefined;
}

function edgesOf(file: SourceFile, fn: FunctionSpan, types: GoTypes, files: readonly SourceFile[] = [file]): PathLocks {
  const v = viewOf(file, fn);
  if (!v) return NO_PATH;
  // Every acquire below needs one of these words on its line (Lock()/Unlock(), a lock/mutex/semaphore name,
  // acquire(), runExclusive(), synchronize, pg_advisory…/GET_LOCK): a function without any of them holds no lock.
  if (!LOCK_WORD.test(v.code) && !IMPLICIT_UPDATE.test(v.code)) return NO_PATH;
  const family = v.family;
  const edges: Edge[] = [];
  const acquires: PathLocks['acquires'] = [];
  const calls: PathLocks['calls'] = [];
  const held: Array<{ name: string; line: number; until: number; read: boolean; implicit?: boolean }> = [];
  const vars = family === 'go' ? goVarTypes(v, types) : new Map<string, string>();
  let cls = ownerClass(fn);
  if (!cls && family === 'js' && /\bthis\./.test(v.code)) cls = jsClassAt(file, fn.startLine);
  if (!cls && family === 'ruby' && /@\w/.test(v.code)) cls = classOf(file, fn.startLine);
  const classes = family === 'go' ? undefined : classesOf(files, family);
  /** `level.lock` / `self.garage._lock`: a lock of an object held in a variable named after a class of the diff. */
  const viaClass = (owner: string): string | undefined => {
    const c = camel(owner.replace(/^_+/, ''));
    return classes?.has(c) ? c : undefined;
  };
  const canonical = (expr: string): string => {
    if (family === 'go') return canonicalGo(expr, vars, types);
    const self = /^(?:this\.|self\.|@)([\w$]+)$/.exec(expr);
    if (self) return cls ? `${cls}.${self[1]}` : expr;
    const parts = expr.split('.');
    if (parts.length >= 2) {
      const c = viaClass(parts[parts.length - 2]!);
      if (c) return `${c}.${parts[parts.length - 1]}`;
    }
    return expr;
  };
  /** The keys a call may resolve to: `Hub.broadcast`, `Catalog.reindex`, `flush`, or any method of that name (`*.x`). */
  const callKeys = (recv: string, name: string): string[] => {
    // A bare call is a function, except in Ruby where it is a method of self.
    if (!recv) return family === 'ruby' && cls ? [`${cls}.${name}`, name] : [name];
    if (family === 'go') {
      const t = goExprType(recv, vars, types);
      return t ? [`${t}.${name}`] : [`*.${name}`];
    }
    if (/^(?:this|self|@)$/.test(recv) || recv === '') return cls ? [`${cls}.${name}`, name] : [name];
    const c = viaClass(recv.split('.').pop()!);
    return c ? [`${c}.${name}`] : [`*.${name}`];
  };
  const acquire = (name: string, line: number, until: number, read: boolean, kind: Edge['kind'], implicit = false) => {
    // An UPDATE of a row the path already holds takes nothing new.
    if (implicit && held.some((h) => h.name === name && h.until >= line)) return;
    for (const h of held) {
      if (h.until < line) continue;
      if (h.name !== name && (kind === 'row') === h.name.endsWith(' row')) {
        const imp = implicit || h.implicit ? { implicit: true } : {};
        edges.push({ file, fn, a: h.name, b: name, lineA: h.line, lineB: line, kind, read: read && h.read, labelA: labels.get(h.name), labelB: labels.get(name), ...imp });
      }
    }
    held.push({ name, line, until, read, implicit });
    acquires.push({ name, read, kind });
  };
  const CALL_RE = family === 'ruby' ? /(?:^|[^\w$.:@])((?:@?\w+\.){0,3})([A-Za-z_]\w*[!?]?)(?=\s*\(|\s+[\w@:"'[]|\s*$)/g : /(?:^|[^\w$.])((?:[\w$]+\.){0,3})([A-Za-z_$][\w$]*)\s*\(/g;
  const recordCalls = (t: string, line: number) => {
    if (family !== 'ruby' && !t.includes('(')) return;
    if (family === 'go' && /^\s*(?:go|defer)\s/.test(t)) return; // a goroutine does not run under this lock; a deferred call runs late
    for (const c of t.matchAll(CALL_RE)) {
      const name = c[2]!;
      if (NOT_LOCK_HELPER.test(name)) continue;
      const recv = (c[1] ?? '').replace(/\.$/, '');
      const now = held.filter((h) => h.until >= line && h.line <= line && !h.name.endsWith(' row'));
      calls.push({ keys: callKeys(recv, name), name, line, held: now.map((h) => ({ name: h.name, line: h.line, read: h.read })) });
    }
  };
  const release = (name: string, line: number) => {
    for (const h of held) if (h.name === name && h.until >= line) h.until = line - 1;
  };
  // Nested functions are their own paths; skip their lines. A hunk region keeps only lines outside every function.
  const hunk = fn.name === '<hunk>';
  const nested = file.functions.filter((g) =>
    hunk
      ? g !== fn && g.name !== '<hunk>' && g.startLine <= fn.endLine && g.endLine >= fn.startLine
      : g !== fn && g.startLine > fn.startLine && g.endLine <= fn.endLine && family !== 'js',
  );
  const skip = (l: number) => nested.some((g) => g.startLine <= l && l <= g.endLine);
  const advisory = ADVISORY_WORD.test(v.code);
  const helperLocks = advisoryHelpers(files);
  const fnName = fn.name.slice(fn.name.lastIndexOf('.') + 1);
  const rows = rowLocksOf(file, v, skip, false, true);
  const labels = new Map<string, string>();
  let r = 0;
  for (let l = fn.startLine; l <= fn.endLine; l++) {
    if (skip(l)) continue;
    while (r < rows.length && rows[r]!.line === l) {
      const row = rows[r++]!;
      labels.set(row.key, row.label);
      acquire(row.key, l, row.until, false, 'row', row.implicit);
    }
    const t = codeLine(v, l);
    if (!t.trim()) continue;
    let m: RegExpExecArray | null;
    if (advisory) {
      for (const a of t.matchAll(/pg_advisory(?:_xact)?_lock\(([^)]{1,120})\)|GET_LOCK\(([^,)]{1,120})/gi)) {
        acquire(advisoryKey((a[1] ?? a[2])!, boundValues(statementAt(v, l, 6).text)), l, fn.endLine, false, 'advisory');
      }
    }
    // A helper that takes a transaction-scoped advisory lock (`await lockOrder(client, id)`): the caller holds it
    // from the call to the end of its transaction.
    if (helperLocks.size && t.includes('(')) {
      for (const c of t.matchAll(/(?:^|[^\w$.])(?:(?:this|self|[a-z]\w{0,2})\.)?([A-Za-z_$][\w$]*)\s*\(/g)) {
        const keys = helperLocks.get(c[1]!);
        if (!keys || c[1] === fnName) continue;
        for (const k of keys) acquire(k, l, fn.endLine, false, 'advisory');
      }
    }
    // Literal prefilters: each pattern below contains the tested text.
    if (family === 'go') {
      if (!t.includes('ock()')) {
        recordCalls(t, l);
        continue;
      }
      if ((m = /^\s*defer\s+([\w.]+)\.R?Unlock\(\)/.exec(t))) continue;
      for (const a of t.matchAll(/([\w.]+)\.(R?Lock|R?Unlock)\(\)/g)) {
        const name = canonical(a[1]!);
        if (/Unlock/.test(a[2]!)) release(name, l);
        else acquire(name, l, fn.endLine, a[2] === 'RLock', 'mutex');
      }
    } else if (family === 'python') {
      if (t.includes('with') && (m = /^\s*(?:async\s+)?with\s+(.+?):\s*$/.exec(t))) {
        const end = blockEnd(v, l);
        for (const item of splitTop(m[1]!)) {
          const e = item.trim().replace(/\s+as\s+\w+$/, '').replace(/\(\)$/, '');
          if (!/lock|mutex|semaphore/i.test(e)) continue;
          if (/^[\w.]+$/.test(e)) acquire(canonical(e), l, end, false, 'mutex');
          else {
            // One lock of a collection (`self._locks[key]`, `self._locks.get(key)`): every key's lock is one kind.
            const keyed = keyedLock(e);
            if (keyed) acquire(`${canonical(keyed.base)}[]`, l, end, false, 'mutex');
          }
        }
      }
      if (t.includes('.acquire()')) for (const a of t.matchAll(/([\w.]+)\.acquire\(\)/g)) if (/lock|mutex/i.test(a[1]!)) acquire(canonical(a[1]!), l, fn.endLine, false, 'mutex');
      if (t.includes('.release()')) for (const a of t.matchAll(/([\w.]+)\.release\(\)/g)) release(canonical(a[1]!), l);
    } else if (family === 'js') {
      if (t.includes('.runExclusive(')) for (const a of t.matchAll(/([\w$.]+)\.runExclusive\(/g)) acquire(canonical(a[1]!), l, blockEnd(v, l), false, 'mutex');
      if (t.includes('.acquire(') || t.includes('.lock(')) for (const a of t.matchAll(/(?:const|let)\s+(\w+)\s*=\s*await\s+([\w$.]+)\.(?:acquire|lock)\(\s*\)/g)) {
        const name = canonical(a[2]!);
        const rel = new RegExp(`\\b${escapeRe(a[1]!)}\\(\\)`);
        let until = fn.endLine;
        for (let k = l + 1; k <= fn.endLine; k++) {
          if (rel.test(codeLine(v, k))) {
            // A release in a finally block runs at the end of the try: the lock is held until then.
            until = k;
            break;
          }
        }
        acquire(name, l, until, false, 'mutex');
      }
    } else if (family === 'ruby') {
      // `@mutex.synchronize do … end` / `LOCK.synchronize { … }`: held for the block.
      if (t.includes('synchronize')) {
        for (const a of t.matchAll(/((?:@|self\.)?[\w]+(?:\.[\w]+)*)\.(?:mon_)?synchronize\b/g)) {
          if (/lock|mutex|monitor|sync|guard/i.test(a[1]!)) acquire(canonical(a[1]!.replace(/^self\./, '@')), l, blockEnd(v, l), false, 'mutex');
        }
      }
    }
    if (family !== 'go') recordCalls(t, l);
  }
  return { file, fn, edges, acquires, calls };
}

/** `self._locks[key]` / `self._locks.get(key)` / `self._locks.setdefault(key, Lock())` -> base `self._locks`, key `key`. */
function keyedLock(e: string): { base: string; key: string } | undefined {
  const m = /^([\w.]+)(?:\[([^\]]{1,80})\]|\.(?:get|setdefault)\(([^,()]{1,80})(?:,[^\n]{0,80})?\))$/.exec(e);
  if (!m || !/locks|mutexes|semaphores/i.test(m[1]!.split('.').pop()!)) return undefined;
  return { base: m[1]!, key: (m[2] ?? m[3])!.trim() };
}

const edgeCache = new WeakMap<readonly SourceFile[], Edge[]>();

function allEdges(files: readonly SourceFile[]): Edge[] {
  let edges = edgeCache.get(files);
  if (edges) return edges;
  edges = [];
  const types = cachedGoTypes(files);
  const paths: Array<{ fam: Family; p: PathLocks }> = [];
  const byKey = new Map<string, PathLocks[]>();
  for (const f of files) {
    const fam = familyOf(f.language);
    if (fam === 'other') continue;
    if (!/UPDATE\s+["`]?\w+["`]?\s+SET\b|Lock\(|with\s|acquire|runExclusive|synchronize|advisory|GET_LOCK|lock!|with_lock|\.lock\b|FOR\s+(?:NO\s+KEY\s+)?UPDATE|forUpdate|select_for_update|with_for_update|pessimistic|LOCK\.UPDATE|lock:|clause\.Locking/i.test(f.text)) continue;
    for (const fn of f.functions) {
      if (fn.endLine - fn.startLine > 400) continue;
      const p = edgesOf(f, fn, types, files);
      if (p === NO_PATH) continue;
      edges.push(...p.edges);
      paths.push({ fam, p });
      if (fn.name === '<hunk>') continue;
      const key = `${fam}:${fnKey(fn, fam)}`;
      byKey.set(key, [...(byKey.get(key) ?? []), p]);
    }
  }
  if (paths.some((x) => x.p.calls.some((c) => c.held.length > 0))) edges.push(...callEdges(files, paths, byKey));
  edgeCache.set(files, edges);
  return edges;
}

/**
 * Locks taken inside a helper the path calls while it holds a lock: `l.mu.Lock()` then `l.hub.record()`, whose
 * body locks `h.mu`, holds Level.mu while taking Hub.mu. Helpers resolve by receiver type (Go), `self`/`this`
 * (same class), a variable named after a class of the diff, or a method name that only one function has; their
 * own helper calls are followed three levels deep.
 */
function callEdges(files: readonly SourceFile[], paths: Array<{ fam: Family; p: PathLocks }>, byKey: Map<string, PathLocks[]>): Edge[] {
  // Methods by bare name, over every function of the diff (a name two functions share stays unresolved).
  const methods = new Map<string, string[]>();
  for (const f of files) {
    const fam = familyOf(f.language);
    if (fam === 'other') continue;
    for (const fn of f.functions) {
      if (fn.name === '<hunk>') continue;
      const key = fnKey(fn, fam);
      const name = key.slice(key.lastIndexOf('.') + 1);
      const k = `${fam}:${name}`;
      methods.set(k, [...(methods.get(k) ?? []), `${fam}:${key}`]);
    }
  }
  const resolve = (fam: Family, keys: string[]): PathLocks[] => {
    for (const k of keys) {
      if (k.startsWith('*.')) {
        const all = methods.get(`${fam}:${k.slice(2)}`);
        if (all && all.length === 1) return byKey.get(all[0]!) ?? [];
        continue;
      }
      const hit = byKey.get(`${fam}:${k}`);
      if (hit) return hit;
    }
    return [];
  };
  const memo = new Map<PathLocks, PathLocks['acquires']>();
  const taken = (fam: Family, p: PathLocks, depth: number, seen: Set<PathLocks>): PathLocks['acquires'] => {
    const hit = memo.get(p);
    if (hit) return hit;
    const out = p.acquires.filter((a) => a.kind !== 'row');
    if (depth > 0) {
      seen.add(p);
      for (const c of p.calls) for (const q of resolve(fam, c.keys)) if (!seen.has(q)) out.push(...taken(fam, q, depth - 1, seen));
    }
    if (depth === 3) memo.set(p, out);
    return out;
  };
  const out: Edge[] = [];
  for (const { fam, p } of paths) {
    for (const c of p.calls) {
      if (c.held.length === 0) continue;
      const callees = resolve(fam, c.keys);
      if (callees.length === 0) continue;
      for (const q of callees) {
        if (q === p) continue;
        for (const a of taken(fam, q, 3, new Set([p]))) {
          for (const h of c.held) {
            if (h.name === a.name || out.some((e) => e.a === h.name && e.b === a.name && e.lineB === c.line && e.fn === p.fn)) continue;
            out.push({ file: p.file, fn: p.fn, a: h.name, b: a.name, lineA: h.line, lineB: c.line, kind: a.kind === 'advisory' ? 'advisory' : 'mutex', read: h.read && a.read, via: c.name });
          }
        }
      }
    }
  }
  return out;
}

function orderReports(ctx: DetectorContext, family: Family): DetectorReport[] {
  const { file } = ctx;
  const edges = allEdges(ctx.files);
  if (edges.length === 0) return [];
  const changed = new Set(ctx.changedFunctions);
  const reports: DetectorReport[] = [];
  const seenPairs = new Set<string>();
  for (const e of edges) {
    if (e.file !== file || !changed.has(e.fn)) continue;
    const other = edges.find((o) => sameLock(o, 'a', e, 'b') && sameLock(o, 'b', e, 'a') && o.fn !== e.fn && !(o.read && e.read) && !(o.implicit && e.implicit));
    if (!other) continue;
    const pair = [e.a, e.b].sort().join('|');
    if (seenPairs.has(pair)) continue;
    // Report each inversion on the path the diff adds more of (its lock lines are new); on a tie, once on
    // the earlier of the two paths when both are in this file, and on both paths when they are in two files.
    const mine = addedLocks(e);
    const theirs = otherChanged(other) ? addedLocks(other) : -1;
    if (theirs > mine) continue;
    // Two files that the diff changes as much: each gets the finding (each path needs the fix or the review).
    if (theirs === mine && other.file === file && changed.has(other.fn) && other.fn.startLine < e.fn.startLine) continue;
    const range = shownRange(file, e.fn, Math.min(e.lineA, e.lineB), Math.max(e.lineA, e.lineB));
    if (!range) continue;
    seenPairs.add(pair);
    const text = (l: number) => (file.lines[l - 1] ?? '').trim();
    const otherText = (l: number) => (other.file.lines[l - 1] ?? '').trim();
    const evidence: EvidenceLine[] = [
      { role: 'lock-a', line: e.lineA, text: text(e.lineA) },
      { role: 'lock-b', line: e.lineB, text: text(e.lineB) },
    ];
    const name = pathName(file, e.fn, e.lineA);
    const otherName = pathName(other.file, other.fn, other.lineA);
    const [la, lb] = [label(e, 'a'), label(e, 'b')];
    reports.push({
      line: range.line,
      endLine: range.endLine,
      functionName: name,
      confidence: e.kind === 'advisory' ? 0.8 : e.kind === 'row' ? 0.85 : 0.9,
      title: `${name} takes ${la} then ${lb}${e.via ? ` (inside ${e.via}())` : ''}; ${otherName} takes ${label(other, 'a')} then ${label(other, 'b')}${other.via ? ` (inside ${other.via}())` : ''}`,
      entity: `${la} and ${lb}`,
      evidence,
      variant: e.kind === 'mutex' ? 'async' : 'database',
      facts: cleanFacts({
        lockA: la,
        lockB: lb,
        otherFunction: otherName,
        otherFile: other.file === file ? undefined : other.file.path,
        otherLine: String(other.lineA),
        otherLockA: otherText(other.lineA),
        otherLockB: otherText(other.lineB),
        via: e.via,
        lockKind: e.kind,
        actor: family === 'go' ? 'goroutine' : family === 'js' ? 'task' : 'task',
        testFramework: testFrameworkHint(ctx.files, family),
      }),
    });
  }
  return reports;
}

/**
 * Python: a changed function holds a lock (`self._lock`) and then takes one lock of a keyed collection
 * (`self._item_locks[key]`), and another method of the diff takes the first lock nested inside a block whose
 * opening line the diff does not show, on lines about the same kind of item (`item_no`, `item.x`). Per-item code
 * takes its item's lock first and the shared lock inside it; the new path takes them the other way round.
 */
function hiddenOuterReports(ctx: DetectorContext): DetectorReport[] {
  const { file } = ctx;
  if (familyOf(file.language) !== 'python' || file.whole || !file.text.includes('with')) return [];
  const changed = new Set(ctx.changedFunctions);
  const edges = allEdges(ctx.files);
  const reports: DetectorReport[] = [];
  const done = new Set<string>();
  const indent = (t: string) => /^[ \t]*/.exec(t)![0].replace(/\t/g, '    ').length;
  for (const e of edges) {
    if (e.file !== file || e.kind !== 'mutex' || !e.b.endsWith('[]') || e.a.endsWith('[]') || !changed.has(e.fn) || !file.added.has(e.lineB)) continue;
    if (done.has(e.a + e.b) || edges.some((o) => o.fn !== e.fn && sameLock(o, 'a', e, 'b') && sameLock(o, 'b', e, 'a'))) continue;
    // The kind of item: the collection's stem (`_item_locks` -> item) and the key's root (`item.number` -> item).
    const stem = e.b.slice(0, -2).split('.').pop()!.replace(/^_+/, '').replace(/_?(?:locks|mutexes|semaphores)$/i, '');
    const keyRoot = /\[\s*([A-Za-z_]\w*)|\.(?:get|setdefault)\(\s*([A-Za-z_]\w*)/.exec(file.lines[e.lineB - 1] ?? '');
    const words = [stem, keyRoot?.[1] ?? keyRoot?.[2] ?? ''].filter((w) => w.length >= 3 && !/^(?:self|key|keys|name|lock|id)$/.test(w));
    if (words.length === 0) continue;
    const wordRe = new RegExp(`\\b(?:${words.map(escapeRe).join('|')})\\w*`);
    const attr = e.a.split('.').pop()!;
    const withA = new RegExp(`^\\s*(?:async\\s+)?with\\s+(?:[^:\\n]*,\\s*)?self\\.${escapeRe(attr)}\\s*(?:,[^:\\n]*)?:\\s*$`);
    // The method body's indentation: the first line under a shown `def` of the file.
    let body = -1;
    for (let l = 1; l < file.lines.length && body < 0; l++) {
      if (/^\s*(?:async\s+)?def\s/.test(file.lines[l - 1]!) && file.shown.has(l + 1)) body = indent(file.lines[l]!);
    }
    if (body < 0) continue;
    for (let l = 1; l <= file.lines.length; l++) {
      if (!file.shown.has(l) || (l >= e.fn.startLine && l <= e.fn.endLine)) continue;
      const t = file.lines[l - 1]!;
      if (!t.includes(attr) || !withA.test(t)) continue;
      const ind = indent(t);
      if (ind <= body) continue;
      // The block around this `with` opens above what the diff shows.
      let k = l - 1;
      while (k >= 1 && file.shown.has(k) && (!file.lines[k - 1]!.trim() || indent(file.lines[k - 1]!) >= ind)) k--;
      if (k >= 1 && file.shown.has(k)) continue;
      let end = l;
      while (end < file.lines.length && file.shown.has(end + 1)) end++;
      if (!wordRe.test(file.lines.slice(k, end).join('\n'))) continue;
      const range = shownRange(file, e.fn, e.lineA, e.lineB);
      if (!range) break;
      done.add(e.a + e.b);
      const name = displayName(file, e.fn);
      const other = file.functions.find((g) => g.name !== '<hunk>' && g.startLine <= l && l <= g.endLine);
      const otherName = other ? displayName(file, other) : `${classOf(file, l)} (line ${l})`;
      const [la, lb] = [e.a, e.b.replace(/\[\]$/, '[…]')];
      reports.push({
        line: range.line,
        endLine: range.endLine,
        functionName: name,
        confidence: 0.7,
        title: `${name} holds ${la} and then takes ${lb}; ${otherName} takes ${la} inside a block the diff does not show, working on the same ${words[0]}: per-${words[0]} code holds its lock first, so the two orders wait on each other`,
        entity: `${la} and ${lb}`,
        evidence: [
          { role: 'lock-a', line: e.lineA, text: (file.lines[e.lineA - 1] ?? '').trim() },
          { role: 'lock-b', line: e.lineB, text: (file.lines[e.lineB - 1] ?? '').trim() },
        ],
        variant: 'async',
        facts: cleanFacts({
          lockA: la,
          lockB: lb,
          otherFunction: otherName,
          otherLine: String(l),
          otherLockA: t.trim(),
          lockKind: 'mutex',
          actor: 'task',
          testFramework: testFrameworkHint(ctx.files, 'python'),
        }),
      });
      break;
    }
  }
  return reports;
}

/** Words of a row lock's model or table: `DriverSchedule row` / `driver_schedules row` -> [driver, schedule]. */
function entityWords(lbl: string): string[] {
  const words = lbl.replace(/ row$/, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  if (words.length) words[words.length - 1] = normEntity(words[words.length - 1]);
  return words;
}

/**
 * Two edges' locks are the same: the same key, or for row locks one model naming the other by its last words
 * (`schedule.with_lock` on a record handed in as `schedule` is the `DriverSchedule` another path loads through
 * `ride.driver_schedule`).
 */
function sameLock(x: Edge, wx: 'a' | 'b', y: Edge, wy: 'a' | 'b'): boolean {
  if (x[wx] === y[wy]) return true;
  if (x.kind !== 'row' || y.kind !== 'row' || !x[wx].endsWith(' row') || !y[wy].endsWith(' row')) return false;
  const p = entityWords(label(x, wx));
  const q = entityWords(label(y, wy));
  const [short, long] = p.length <= q.length ? [p, q] : [q, p];
  if (short.length === 0 || short.length === long.length || short.join('').length < 4) return false;
  return short.every((w, i) => long[long.length - short.length + i] === w);
}

/** How many of an edge's two lock lines the diff adds. */
function addedLocks(e: Edge): number {
  return (e.file.added.has(e.lineA) ? 1 : 0) + (e.file.added.has(e.lineB) ? 1 : 0);
}

/** A function's name, or for a hunk region (a method whose head the diff does not show) its class and line. */
function pathName(file: SourceFile, fn: FunctionSpan, line: number): string {
  const name = displayName(file, fn);
  if (name !== '<hunk>') return name;
  const fam = familyOf(file.language);
  return fam === 'ruby' || fam === 'python' ? `${classOf(file, fn.startLine)} (line ${line})` : `${file.path}:${line}`;
}

function otherChanged(e: Edge): boolean {
  for (let l = e.fn.startLine; l <= e.fn.endLine; l++) if (e.file.added.has(l)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// A transaction waiting on itself through a second connection

interface TxRegion {
  /** The transaction's handle (`client` after `BEGIN`, the `trx`/`tx` callback parameter, Go's `tx`). */
  handle: string;
  /** Where the handle came from (`pool` in `pool.connect()`, `s.db` in `s.db.BeginTx`), when shown. */
  source?: string;
  start: number;
  end: number;
  /** The transaction is a callback (`$transaction(async (tx) => …)`, `dataSource.transaction(async (manager) => …)`). */
  callback?: boolean;
}

/** Transactions a function opens, with their handle and the lines they stay open. */
function txRegions(v: FnView): TxRegion[] {
  const out: TxRegion[] = [];
  for (let l = v.fn.startLine; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    let m: RegExpExecArray | null;
    if (v.family === 'js') {
      if ((m = /([\w$]+(?:\.[\w$]+)?)\.query\(\s*['"`](?:BEGIN|START\s+TRANSACTION)\b/i.exec(t))) {
        const handle = m[1]!;
        const src = new RegExp(`\\b${escapeRe(handle)}\\s*=\\s*await\\s+([\\w$.]+)\\.connect\\(`).exec(v.code)?.[1];
        out.push({ handle, source: src, start: l, end: closeLine(v, l, new RegExp(`\\b${escapeRe(handle)}\\.query\\(\\s*['"\`](?:COMMIT|END)\\b`, 'i')) });
      } else if ((m = /([\w$.]+)\.(?:\$transaction|transaction)\(\s*(?:async\s*)?(?:\(\s*([\w$]+)[^)]*\)|([\w$]+)|function\s*\w*\s*\(\s*([\w$]+))/.exec(t))) {
        const handle = m[2] ?? m[3] ?? m[4];
        if (handle) out.push({ handle, source: m[1], start: l, end: blockEnd(v, l), callback: true });
      } else if ((m = /(?:const|let)\s+([\w$]+)\s*=\s*await\s+([\w$.]+)\.transaction\(\s*\)/.exec(t))) {
        out.push({ handle: m[1]!, source: m[2], start: l, end: closeLine(v, l, new RegExp(`\\b${escapeRe(m[1]!)}\\.commit\\(`)) });
      }
    } else if (v.family === 'go') {
      if ((m = /\b(\w+)\s*,\s*\w+\s*:?=\s*([\w.]+)\.(?:BeginTx|Begin|BeginTxx|Beginx|BeginTxx)\(/.exec(t) ?? /\b(\w+)\s*:=\s*([\w.]+)\.Begin\(\)/.exec(t))) {
        out.push({ handle: m[1]!, source: m[2], start: l, end: closeLine(v, l, new RegExp(`\\b${escapeRe(m[1]!)}\\.Commit\\(`)) });
      } else if ((m = /([\w.]+)\.Transaction\(\s*func\s*\(\s*(\w+)/.exec(t))) {
        out.push({ handle: m[2]!, source: m[1], start: l, end: blockEnd(v, l), callback: true });
      }
    }
  }
  return out;
}

function closeLine(v: FnView, from: number, re: RegExp): number {
  for (let l = from + 1; l <= v.fn.endLine; l++) if (re.test(codeLine(v, l))) return l;
  return v.fn.endLine;
}

/** Last segment of a receiver path: `this.pool` -> pool, `s.db` -> db. */
function lastSeg(expr: string): string {
  return expr.split('.').pop() ?? expr;
}

const POOLISH = /^(?:pool|db|knex|prisma|sql|pg|database|dataSource|sequelize|conn|connection|primary|writer|master|DB|Pool)$/;
const SQL_ROW_WRITE = /\b(?:UPDATE\s+["`]?\w+["`]?(?:\s+AS\s+\w+)?\s+SET|DELETE\s+FROM)\b|\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b/i;
const ORM_ROW_WRITE = /\.(?:update|updateMany|updateOne|delete|deleteMany|destroy|increment|decrement|upsert|del)\s*\(|\.forUpdate\(|pessimistic_write/;

/** Identifiers of a statement outside its string literals (the keys it binds), minus connection words. */
function argNames(stmt: string, drop: readonly string[]): Set<string> {
  const open = stmt.indexOf('(');
  const code = stmt.slice(open + 1).replace(/`[^`]*`|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, ' ');
  const out = new Set<string>();
  // Values only: object keys (`id:`) and property names (`.id`) are not the statement's keys.
  for (const m of code.matchAll(/(?<![\w$.])[A-Za-z_$][\w$]*(?![\w$])(?!\s*:(?!=))/g)) {
    const n = m[0];
    if (/^(?:await|const|let|var|return|query|execute|Exec\w*|Query\w*|ctx|context|err|nil|null|undefined|true|false|this|self|new|Date|now|lock|mode|transaction)$/.test(n) || drop.includes(n)) continue;
    out.add(n);
  }
  return out;
}

/** The root receiver of a statement's first call: `pool` in `await pool.query(`, `s.db` in `s.db.ExecContext(`, `knex` in `knex('t')`. */
function receiverOf(stmt: string): string | undefined {
  const m = /^\s*(?:(?:const|let|var)\s+[^=]{1,120}=\s*|[\w$,\s]{1,80}:?=\s*|return\s+|if\s+[^;{]{0,80};\s*)?(?:await\s+)?([\w$]+(?:\.[\w$]+)*)\s*(?:\.[\w$]+)?\s*\(/.exec(stmt);
  if (!m) return undefined;
  const path = m[1]!.split('.');
  // `pool.query` -> pool; `this.pool.query` -> this.pool; `prisma.doc.update` -> prisma.
  if (path[0] === 'this' || path[0] === 'self' || (path.length > 2 && path[0]!.length <= 2)) return path.slice(0, 2).join('.');
  return path[0];
}

interface HelperWrite {
  name: string;
  entity: string;
  via: string;
}

const helperCache = new WeakMap<readonly SourceFile[], Map<string, HelperWrite[]>>();

/** Row writes a helper of the diff makes through a module-level pool/db (not through a parameter). */
function helperWrites(files: readonly SourceFile[], name: string): HelperWrite[] {
  let byName = helperCache.get(files);
  if (!byName) {
    byName = new Map();
    helperCache.set(files, byName);
  }
  const hit = byName.get(name);
  if (hit) return hit;
  const out: HelperWrite[] = [];
  const head = new RegExp(`^\\s*(?:export\\s+)?(?:(?:public|private|protected|static|async|default)\\s+)*(?:function\\s*\\*?\\s*)?${escapeRe(name)}\\s*(?:<[^>]{0,80}>)?\\s*\\(|^\\s*(?:export\\s+)?(?:const|let)\\s+${escapeRe(name)}\\s*=\\s*(?:async\\s*)?\\(|^\\s*func\\s*(?:\\([^)]*\\)\\s*)?${escapeRe(name)}\\s*\\(`);
  for (const f of files) {
    const fam = familyOf(f.language);
    if (fam !== 'js' && fam !== 'go') continue;
    for (let i = 0; i < f.lines.length; i++) {
      if (!f.lines[i] || !head.test(f.lines[i]!)) continue;
      // The body: until the braces opened on the head close (at most 80 lines).
      let depth = 0;
      let opened = false;
      let end = i;
      for (let k = i; k < Math.min(f.lines.length, i + 80); k++) {
        for (const ch of f.lines[k]!) {
          if (ch === '{') {
            depth++;
            opened = true;
          } else if (ch === '}') depth--;
        }
        end = k;
        if (opened && depth <= 0) break;
      }
      const body = stripComments(f.lines.slice(i, end + 1).join('\n'), fam);
      const params = new Set<string>();
      const sig = /\(([^)]*)\)/.exec(body)?.[1] ?? '';
      for (const p of sig.split(',')) {
        const n = /^\s*(?:\.\.\.)?([\w$]+)/.exec(p)?.[1];
        if (n) params.add(n);
      }
      const lines = body.split('\n');
      for (let k = 1; k < lines.length; k++) {
        const t = lines[k]!;
        if (!/\(/.test(t)) continue;
        const stmt = lines.slice(k, k + 8).join('\n');
        const recv = receiverOf(t);
        if (!recv || params.has(recv.split('.')[0]!) || !POOLISH.test(lastSeg(recv))) continue;
        const first = stmt.slice(0, 400);
        const sql = SQL_ROW_WRITE.test(first) ? sqlTables(first) : undefined;
        const entity = sql ? (sql.written[0] ?? sql.read[0]) : ORM_ROW_WRITE.test(t) ? entityOfReceiver(t.replace(/^\s*(?:await\s+)?/, '').replace(/\.(?:update|updateMany|updateOne|delete|deleteMany|destroy|increment|decrement|upsert|del)\s*\(.*$/, '')) : undefined;
        if (entity) out.push({ name, entity, via: recv });
      }
    }
  }
  byName.set(name, out);
  return out;
}

/**
 * Inside a transaction on connection X, after X locked or wrote rows of a table, the flow writes the same
 * table's rows through another connection (the pool X came from, or a helper that uses the pool) before X
 * commits. The second connection waits for X's row lock, and X waits for the flow: it hangs (the database
 * cannot see the cycle, it runs through the application).
 */
function crossConnectionReports(ctx: DetectorContext, v: FnView): DetectorReport[] {
  if (v.family !== 'js' && v.family !== 'go') return [];
  const { file } = ctx;
  const reports: DetectorReport[] = [];
  for (const tx of txRegions(v)) {
    const held: Array<{ entity: string; line: number; names: Set<string> }> = [];
    const isTx = (recv: string) => recv === tx.handle || recv.split('.')[0] === tx.handle;
    const drop = [tx.handle, ...(tx.source ? [tx.source, lastSeg(tx.source)] : [])];
    for (let l = tx.start + 1; l <= tx.end; l++) {
      const t = codeLine(v, l);
      if (!t.includes('(') || !STMT_START.test(t)) continue;
      const stmt = statementAt(v, l, 14);
      const recv = receiverOf(stmt.text);
      if (!recv) continue;
      const head = stmt.text.slice(0, 600);
      if (isTx(recv)) {
        const sql = SQL_ROW_WRITE.test(head) ? sqlTables(head) : undefined;
        const entity = sql ? (sql.written[0] ?? sql.read[0]) : ORM_ROW_WRITE.test(head) ? ormEntity(head, file) : undefined;
        if (entity) held.push({ entity, line: lineOf(v, l, stmt.endLine, SQL_ROW_WRITE) ?? l, names: argNames(stmt.text, drop) });
        continue;
      }
      if (held.length === 0) continue;
      const names = argNames(stmt.text, drop);
      const keyed = (h: { names: Set<string> }) => h.names.size === 0 || [...h.names].some((n) => names.has(n));
      let hit: { lock: (typeof held)[number]; via: string; helper?: string } | undefined;
      // Another connection: the pool the transaction came from, a module-level pool/db/client, or (inside an ORM
      // transaction callback) a repository injected into the class, which runs on the data source's pool.
      const seg = lastSeg(recv);
      const other = (tx.source !== undefined && seg === lastSeg(tx.source)) || POOLISH.test(seg) || (tx.callback && /(?:Repo|Repository)$/.test(seg));
      if (other && (SQL_ROW_WRITE.test(head) || ORM_ROW_WRITE.test(head))) {
        const sql = SQL_ROW_WRITE.test(head) ? sqlTables(head) : undefined;
        const entity = sql ? (sql.written[0] ?? sql.read[0]) : ormEntity(head, file);
        const lock = entity ? held.find((h) => sameEntity(h.entity, entity) && keyed(h)) : undefined;
        if (lock) hit = { lock, via: recv };
      }
      if (!hit) {
        // A helper called without the transaction's handle, whose body writes the rows through the pool.
        for (const c of stmt.text.matchAll(/(?:^|[^\w$.])(?:this\.|self\.|[a-z]\w{0,2}\.)?([A-Za-z_$][\w$]*)\s*\(/g)) {
          const name = c[1]!;
          if (/^(?:if|for|while|switch|await|return|function|catch)$/.test(name) || mentions(stmt.text, tx.handle)) continue;
          for (const w of helperWrites(ctx.files, name)) {
            const lock = held.find((h) => sameEntity(h.entity, w.entity) && keyed(h));
            if (lock) {
              hit = { lock, via: w.via, helper: name };
              break;
            }
          }
          if (hit) break;
        }
      }
      if (!hit) continue;
      const range = shownRange(file, v.fn, hit.lock.line, stmt.endLine);
      if (!range) continue;
      const name = displayName(file, v.fn);
      const table = hit.lock.entity;
      const through = hit.helper ? `${hit.helper}(), which writes it through ${hit.via}` : hit.via;
      reports.push({
        line: range.line,
        endLine: range.endLine,
        functionName: name,
        confidence: hit.helper ? 0.8 : 0.85,
        title: `${name} locks ${table} rows on its transaction (${tx.handle}), then writes the same rows through ${through} on another connection before committing: the request waits on itself`,
        entity: `${table} rows`,
        evidence: [
          { role: 'lock-a', line: hit.lock.line, text: v.text(hit.lock.line) },
          { role: 'lock-b', line: l, text: v.text(l) },
        ],
        variant: 'database',
        facts: cleanFacts({
          pattern: 'self-wait',
          handle: tx.handle,
          via: through,
          table,
          lockKind: 'row',
          lockA: `${table} row locked by the transaction on ${tx.handle}`,
          lockB: `${table} row written through ${hit.via} (another connection)`,
          inTransaction: 'yes',
          actor: 'request',
          testFramework: testFrameworkHint(ctx.files, v.family),
        }),
      });
      break;
    }
  }
  return reports;
}

/** The model or table an ORM statement names: `manager.findOne(Account, …)`, `tx.wallet.update`, `this.accountRepo.update`. */
function ormEntity(stmt: string, file: SourceFile): string | undefined {
  const typed =
    /\b(?:findOne|findOneOrFail|findOneBy|find|findBy|update|delete|increment|decrement|createQueryBuilder|getRepository)\(\s*([A-Z]\w*)\b/.exec(stmt) ??
    /\b([A-Z]\w*)\.(?:findByPk|findOne|findAll|update|destroy|increment|decrement)\(/.exec(stmt);
  return typed?.[1] ?? tableOf(stmt, file);
}

/** The line of a statement (from..to) that matches `re`, if any. */
function lineOf(v: FnView, from: number, to: number, re: RegExp): number | undefined {
  for (let l = from; l <= to; l++) if (re.test(codeLine(v, l))) return l;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Two rows of one table locked one after the other in argument order

/** Words that are never a lock's key value. */
const NOT_KEY = /^(?:lock|find|find_by|where|get|first|take|filter|select_for_update|with_for_update|objects|query|execute|exec|await|return|self|this|nil|None|null|true|false|True|False|id|pk|params|end|do|new)$/;

/** The values a locking statement is keyed by (input-like names: ivars, `params[:x]`, parameters). */
function lockKeyNames(v: FnView, line: number, stmt: string, inputs: Set<string>): Set<string> {
  let text = stmt;
  // `to.lock!` / `to.with_lock`: the key is where `to` came from (`to = Model.find(@to_id)`).
  const holder = /(?:^|[^\w@.])(@?[a-z_]\w*)\.(?:lock!|with_lock\b|reload\(\s*lock:)/.exec(stmt);
  if (holder) {
    const re = new RegExp(`^\\s*${escapeRe(holder[1]!)}\\s*=\\s*(.+)$`);
    for (let l = line - 1; l >= v.fn.startLine; l--) {
      const m = re.exec(codeLine(v, l));
      if (m) {
        text = m[1]!;
        break;
      }
    }
    // A record handed in (an ivar set outside this method, a parameter): the record itself is the caller's value.
    if (text === stmt) return holder[1]!.startsWith('@') || inputs.has(holder[1]!) ? new Set([holder[1]!]) : new Set();
  }
  const out = new Set<string>();
  const clean = text.replace(/`[^`]*`|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, ' ');
  for (const m of clean.matchAll(/\bparams\[\s*:?['"]?(\w+)/g)) out.add(`params.${m[1]}`);
  for (const m of clean.matchAll(/(?<![\w$.:@])(@?[A-Za-z_$][\w$]*)((?:\.[A-Za-z_$][\w$]*){0,3})(?![\w$.])(?!\s*(?:\(|<|:(?!:)|=(?!=)))/g)) {
    const n = m[1]!;
    if (NOT_KEY.test(n.replace(/^@/, ''))) continue;
    const chain = m[2] ?? '';
    if (n.startsWith('@') || inputs.has(n)) out.add(chain && /^[a-z_$]/i.test(n) && !/^(?:this|self)$/.test(n) ? `${n}${chain}` : n);
    // A field of a row the function loaded (`src.account_id`, `resv.boat_id`): the key comes from the data, not the
    // caller, but its order against the other key still follows the call's direction.
    else if (chain && /^[a-z_]/.test(n) && !/^(?:this|self|req|request|ctx|context|opts|options|config|settings|process|env|window|document|console|Math|JSON|Date)$/.test(n) && !/\.(?:length|size|count)$/.test(chain)) out.add(`~${n}${chain}`);
  }
  for (const m of clean.matchAll(/\bself\.([a-z_]\w*)(?!\s*\()/g)) out.add(`@${m[1]}`);
  return out;
}

/** Attribute reads that say nothing about a record's type. */
const GENERIC_FIELD = /^(?:id|lock!?|with_lock|reload|save!?|update!?|update_columns?|destroy!?|present\?|nil\?|blank\?|persisted\?|errors|class|to_s|valid\?|attributes|touch)$/;

/**
 * Ruby: two records the method did not load (ivars set elsewhere, parameters) locked back to back with `lock!`:
 * one model when the method reads at least two of the same attributes off both (`a.seat`, `b.seat`) — the two
 * values of one type a caller can pass in either order.
 */
function sameShapeHolders(v: FnView, file: SourceFile, la: number, lb: number, inputs: Set<string>): boolean {
  if (v.family !== 'ruby') return false;
  const holderAt = (l: number) => /(?:^|[^\w@.])(@?[a-z_]\w*)\.(?:lock!|reload\(\s*lock:)/.exec(codeLine(v, l))?.[1];
  const ha = holderAt(la);
  const hb = holderAt(lb);
  if (!ha || !hb || ha === hb) return false;
  const unloaded = (h: string) => {
    if (!h.startsWith('@') && !inputs.has(h)) return false;
    const re = new RegExp(`^\\s*${escapeRe(h)}\\s*=[^=]`);
    for (let l = v.fn.startLine; l <= v.fn.endLine; l++) if (re.test(codeLine(v, l))) return false;
    return true;
  };
  if (!unloaded(ha) || !unloaded(hb)) return false;
  const fields = (h: string) => {
    const out = new Set<string>();
    const re = new RegExp(`(?<![\\w@])${escapeRe(h)}\\.([a-z_]\\w*[!?]?)`, 'g');
    for (const m of v.code.matchAll(re)) if (!GENERIC_FIELD.test(m[1]!)) out.add(m[1]!);
    return out;
  };
  const fb = fields(hb);
  return [...fields(ha)].filter((f) => fb.has(f)).length >= 2;
}

/**
 * Inside one transaction, two rows of the same table are locked one after the other, each keyed by a different
 * caller-supplied value (`Model.lock.find(@from_id)` then `Model.lock.find(@to_id)`, `select_for_update().get(pk=a)`
 * then `get(pk=b)`, two `SELECT … FOR UPDATE` by `$1` values): a call with the two values swapped locks them in
 * the opposite order. Quiet when the function sorts the keys or locks both in one ordered statement.
 */
function pairLockReports(ctx: DetectorContext, v: FnView): DetectorReport[] {
  const { file } = ctx;
  if (!ROW_LOCK_LINE.test(v.code)) return [];
  if (/\bsort|\bsorted\(|\bminmax\b|\bmin\(|\bmax\(|\.min\b|\.max\b|\bORDER\s+BY\b|\border(?:_by|By)?\(/i.test(v.code)) return [];
  const rows = rowLocksOf(file, v, () => false);
  if (rows.length < 2) return [];
  const inputs = callerInputs(file, v);
  const loops = loopsOf(v);
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const a = rows[i]!;
      const b = rows[j]!;
      if ((a.key !== b.key && !sameShapeHolders(v, file, a.line, b.line, inputs)) || a.line === b.line || a.until < b.line) continue;
      if (loops.some((lp) => lp.line < a.line && b.line <= lp.endLine)) continue;
      const sa = statementAt(v, a.line, 6).text;
      const sb = statementAt(v, b.line, 6).text;
      // A key read off a row one of the two locks loads (`parent_id` of the child locked first) follows the data's
      // hierarchy, the same order on every call: only a row loaded elsewhere (a reservation, a transfer) counts.
      const lhs = (st: string) => /^[^=]*?(?==(?!=))/.exec(st)?.[0] ?? '';
      const loadedByPair = (k: string) => {
        const root = /^~([\w$]+)/.exec(k)?.[1];
        if (!root) return false;
        const re = new RegExp(`(?<![\\w$.])${escapeRe(root)}(?![\\w$])`);
        return re.test(lhs(sa)) || re.test(lhs(sb));
      };
      const ka = new Set([...lockKeyNames(v, a.line, sa, inputs)].filter((k) => !loadedByPair(k)));
      const kb = new Set([...lockKeyNames(v, b.line, sb, inputs)].filter((k) => !loadedByPair(k)));
      if (ka.size === 0 || kb.size === 0) continue;
      if (![...ka].some((k) => !kb.has(k)) || ![...kb].some((k) => !ka.has(k))) continue;
      if (!file.added.has(a.line) && !file.added.has(b.line)) continue;
      const range = shownRange(file, v.fn, a.line, b.line);
      if (!range) continue;
      const name = v.family === 'go' ? goFuncAbove(v, a.line) ?? displayName(file, v.fn) : displayName(file, v.fn);
      // Two handed-in records: name the model the transaction is opened on (`Seat.transaction do`), if any.
      if (a.key !== b.key) {
        const txModel = /\b([A-Z]\w*)\.transaction\b/.exec(v.code)?.[1];
        const label = txModel && txModel !== 'ActiveRecord' ? `${txModel} row` : 'record';
        a.label = label;
        b.label = label;
      }
      const [x, y] = [[...ka].find((k) => !kb.has(k))!, [...kb].find((k) => !ka.has(k))!];
      // At least one side keyed by the caller's input; a derived key (`~row.field`) alone is not enough.
      // Unless the two are a pair of references on one record (`t.fromId`, `t.toId`): their order is the record's direction.
      if ([...ka, ...kb].every((k) => k.startsWith('~')) && !pairOfOneRecord(x, y)) continue;
      return [argumentOrderReport(ctx, v, { range, name, a, b, label: a.label, x: x.replace(/^[@~]/, ''), y: y.replace(/^[@~]/, ''), confidence: 0.8 })];
    }
  }
  return [];
}

/** Which of a helper's parameters key the row lock it takes (`lockRow(trx, id)` -> {1}); undefined when it takes none. */
const lockHelperCache = new WeakMap<readonly SourceFile[], Map<string, { keys: number[]; label: string } | null>>();

function lockHelper(files: readonly SourceFile[], name: string): { keys: number[]; label: string } | undefined {
  let byName = lockHelperCache.get(files);
  if (!byName) {
    byName = new Map();
    lockHelperCache.set(files, byName);
  }
  if (byName.has(name)) return byName.get(name) ?? undefined;
  let found: { keys: number[]; label: string } | null = null;
  for (const f of files) {
    if (found) break;
    // A method whose class the diff does not show has no span of its own (it sits in a hunk region): its head does.
    const spans = f.functions.some((fn) => fn.name === name || fn.name.endsWith(`.${name}`)) ? f.functions : shownMethod(f, name);
    for (const fn of spans) {
      // A class's method (`Service.lockRow`) answers to its bare name.
      if ((fn.name !== name && !fn.name.endsWith(`.${name}`)) || !ROW_LOCK_OTHER.test(fn.text)) continue;
      const hv = viewOf(f, fn);
      if (!hv || /\bFOR\s+SHARE\b|\bORDER\s+BY\b|\border(?:_by|By)?\(|\bsort/i.test(hv.code)) continue;
      const params = paramsOf(hv);
      const rows = rowLocksOf(f, hv, () => false, true);
      if (rows.length !== 1) continue;
      const stmt = statementAt(hv, rows[0]!.from ?? rows[0]!.line, 14).text;
      const keys = lockKeyNames(hv, rows[0]!.line, stmt, new Set(params));
      // A parameter passed as a shorthand property (`where: { id }`) keys the lock too.
      const shorthand = (p: string) => new RegExp(`[{,]\\s*${escapeRe(p)}\\s*[,}]`).test(stmt);
      const idx = params.map((p, i) => (keys.has(p) || shorthand(p) ? i : -1)).filter((i) => i >= 0);
      if (idx.length) found = { keys: idx, label: rows[0]!.label };
      break;
    }
  }
  byName.set(name, found);
  return found ?? undefined;
}

const METHOD_HEAD: Partial<Record<Family, RegExp>> = {
  js: /^\s*(?:(?:public|private|protected|static|override|async)\s+)*(?:function\s+)?([A-Za-z_$][\w$]*)\s*(?:<[^>()]{0,200}>)?\s*\(/,
  python: /^\s*(?:async\s+)?def\s+(\w+)\s*\(/,
  go: /^func\s*(?:\([^)]*\)\s*)?(\w+)\s*(?:\[[^\]]*\])?\s*\(/,
};
const NOT_METHOD = /^(?:if|for|while|switch|catch|return|await|function|new|typeof|super|else|do|try)$/;

/** The span of a method head on `line` (its block by braces, or by indentation in Python), if the line opens one. */
function spanAt(file: SourceFile, line: number, family: Family): FunctionSpan | undefined {
  const re = METHOD_HEAD[family];
  const head = file.lines[line - 1] ?? '';
  const m = re?.exec(head);
  if (!m || NOT_METHOD.test(m[1]!)) return undefined;
  let end = line;
  if (family === 'python') {
    const indent = (x: string) => x.length - x.trimStart().length;
    const base = indent(head);
    for (let l = line + 1; l <= file.lines.length && l <= line + 400; l++) {
      const t = file.lines[l - 1]!;
      if (t.trim() === '') continue;
      if (indent(t) <= base) break;
      end = l;
    }
  } else {
    // The body's braces; the signature (up to a few lines) must end in `{` and the block must close in view.
    let depth = 0;
    let opened = false;
    end = 0;
    for (let l = line; l <= file.lines.length && l <= line + 400; l++) {
      const t = file.lines[l - 1]!.replace(/`[^`]*`|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|\/\/.*$/g, '');
      if (!opened && l > line + 6) return undefined;
      for (const ch of t) {
        if (ch === '{') {
          depth++;
          opened = true;
        } else if (ch === '}') depth--;
      }
      if (!file.shown.has(l)) return undefined;
      if (opened && depth <= 0) {
        end = l;
        break;
      }
    }
    if (!end || end === line) return undefined;
  }
  return { name: m[1]!, startLine: line, endLine: end, async: /\basync\b/.test(head), text: file.lines.slice(line - 1, end).join('\n') };
}

/** A method named `name` whose head the diff shows inside a hunk region (its class opening is not shown). */
function shownMethod(file: SourceFile, name: string): FunctionSpan[] {
  const fam = familyOf(file.language);
  if (!METHOD_HEAD[fam] || !file.text.includes(name)) return [];
  for (let l = 1; l <= file.lines.length; l++) {
    const t = file.lines[l - 1]!;
    if (!t.includes(name) || !file.shown.has(l)) continue;
    const span = spanAt(file, l, fam);
    if (span && span.name === name) return [span];
  }
  return [];
}

/**
 * The caller's values a function sees: its parameters and those of the functions around it, including a method
 * whose head the diff shows but whose class it does not (the parser leaves such a method inside a hunk region).
 */
function callerInputs(file: SourceFile, v: FnView): Set<string> {
  const inputs = new Set<string>(paramsOf(v));
  const outer = enclosing(file, v.fn);
  for (const f of outer) {
    const ov = viewOf(file, f);
    if (ov) for (const p of paramsOf(ov)) inputs.add(p);
  }
  const head = outer.length === 0 ? methodAround(file, v) : undefined;
  const hv = head && viewOf(file, head);
  if (hv) for (const p of paramsOf(hv)) inputs.add(p);
  return inputs;
}

/** A callback's method when the parser has no span for it: the nearest shown method head above whose block holds it. */
function methodAround(file: SourceFile, v: FnView): FunctionSpan | undefined {
  if ((v.family !== 'js' && v.family !== 'python') || METHOD_HEAD[v.family]!.test(file.lines[v.fn.startLine - 1] ?? '')) return undefined;
  for (let l = v.fn.startLine - 1; l >= Math.max(1, v.fn.startLine - 40) && file.shown.has(l); l--) {
    const span = spanAt(file, l, v.family);
    if (span) return span.endLine >= v.fn.endLine ? span : undefined;
  }
  return undefined;
}

/** A readable name for the path: the function's, or the shown method head around a callback. */
function pathLabel(file: SourceFile, v: FnView): string {
  const name = displayName(file, v.fn);
  if (name !== '<hunk>' && name !== '<anonymous>' && !name.endsWith('callback')) return name;
  return (enclosing(file, v.fn).length === 0 ? methodAround(file, v)?.name : undefined) ?? name;
}

/**
 * Inside one transaction, a helper that row-locks by its argument (`lockRow(trx, fromId)`) is called twice with
 * two different caller-supplied keys, one after the other: a call with the two swapped locks the rows in the
 * opposite order. Quiet when the caller sorts the keys first.
 */
function helperPairReports(ctx: DetectorContext, v: FnView, seen: Set<number>): DetectorReport[] {
  const { file } = ctx;
  if (v.family !== 'js' && v.family !== 'python' && v.family !== 'go') return [];
  const outer = enclosing(file, v.fn).map((f) => f.text).join('\n');
  if (!TRANSACTION.test(v.code) && !TRANSACTION.test(outer)) return [];
  if (/\bsort|\bsorted\(|\bminmax\b|\bmin\(|\bmax\(|\.min\b|\.max\b/i.test(v.code)) return [];
  const inputs = callerInputs(file, v);
  const calls: Array<{ name: string; line: number; args: string[] }> = [];
  for (let l = v.fn.startLine + 1; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    const m = /(?:^|[\s=(,])(?:await\s+)?(?:this\.|self\.)?([A-Za-z_$][\w$]*)\(([^()]*)\)/.exec(t);
    if (!m || m[1] === v.fn.name || /^(?:if|for|while|switch|return|func|function)$/.test(m[1]!)) continue;
    calls.push({ name: m[1]!, line: l, args: splitTop(m[2]!).map((a) => a.trim()) });
  }
  if (calls.length < 2) return [];
  const loops = loopsOf(v);
  for (let i = 0; i < calls.length; i++) {
    for (let j = i + 1; j < calls.length; j++) {
      const a = calls[i]!;
      const b = calls[j]!;
      if (a.name !== b.name || a.args.length !== b.args.length) continue;
      if (seen.has(a.line) || loops.some((lp) => lp.line < a.line && b.line <= lp.endLine)) continue;
      const h = lockHelper(ctx.files, a.name);
      if (!h) continue;
      const diff = h.keys.filter((k) => a.args[k] !== undefined && a.args[k] !== b.args[k]);
      if (diff.length === 0) continue;
      const root = (x: string) => /^[A-Za-z_$][\w$]*/.exec(x)?.[0] ?? '';
      if (!diff.some((k) => inputs.has(root(a.args[k]!)) || inputs.has(root(b.args[k]!)) || pairOfOneRecord(a.args[k]!, b.args[k]!))) continue;
      if (!file.added.has(a.line) && !file.added.has(b.line)) continue;
      const range = shownRange(file, v.fn, a.line, b.line);
      if (!range) continue;
      seen.add(a.line);
      const name = v.family === 'go' ? goFuncAbove(v, a.line) ?? displayName(file, v.fn) : pathLabel(file, v);
      const [x, y] = [a.args[diff[0]!]!, b.args[diff[0]!]!];
      return [argumentOrderReport(ctx, v, { range, name, a, b, label: h.label, x, y, via: a.name, confidence: 0.75 })];
    }
  }
  return [];
}

/**
 * Two keys read off one record, two different reference fields (`transfer.fromAccountId`, `transfer.toAccountId`):
 * the record names a pair whose roles another record (or call) can hold the other way round, so locking in field
 * order follows the record's direction. Not its own id, nor a hierarchy link (parent, root), whose order is fixed.
 */
function pairOfOneRecord(x: string, y: string): boolean {
  const re = /^~?@?([A-Za-z_$][\w$]*)\.([A-Za-z_$][\w$]*)$/;
  const mx = re.exec(x);
  const my = re.exec(y);
  if (!mx || !my || mx[1] !== my[1] || mx[2] === my[2] || /^(?:this|self)$/.test(mx[1]!)) return false;
  const hier = /^(?:id|pk|_id|uuid|key)$|parent|root|ancestor|child|owner|tenant/i;
  return !hier.test(mx[2]!) && !hier.test(my[2]!);
}

/**
 * The report for two rows of one kind locked one after the other in the order the caller's arguments give
 * (`x`, then `y`): a call with the two swapped locks them in the opposite order.
 */
function argumentOrderReport(
  ctx: DetectorContext,
  v: FnView,
  o: { range: { line: number; endLine: number }; name: string; a: { line: number }; b: { line: number }; label: string; x: string; y: string; via?: string; confidence: number },
): DetectorReport {
  const { range, name, a, b, label, x, y, via } = o;
  return {
    line: range.line,
    endLine: range.endLine,
    functionName: name,
    confidence: o.confidence,
    title: `${name} locks the ${label} for ${x}${via ? ` (through ${via})` : ''} and then the one for ${y}, in argument order: a call with the two swapped locks them in the opposite order and deadlocks`,
    entity: `${label}s`,
    evidence: [
      { role: 'lock-a', line: a.line, text: v.text(a.line) },
      { role: 'lock-b', line: b.line, text: v.text(b.line) },
    ],
    variant: 'database',
    facts: cleanFacts({
      lockA: `${label} for ${x}`,
      lockB: `${label} for ${y}`,
      lockKind: 'row',
      sortKey: 'id',
      inTransaction: 'yes',
      actor: 'transaction',
      testFramework: testFrameworkHint(ctx.files, v.family),
    }),
  };
}

/**
 * The element type of a Go slice field declared in the diff (`peers []*Node`), when the struct around it is not shown
 * (a hunk opening inside the declaration); one answer only.
 */
function sliceFieldType(files: readonly SourceFile[], field: string): string | undefined {
  if (!/^\w+$/.test(field)) return undefined;
  const re = new RegExp(`^\\s*${field}\\s+\\[\\]\\*?(?:\\w+\\.)?([A-Z]\\w*)\\s*(?:\`[^\`]*\`\\s*)?(?://.*)?$`);
  let found: string | undefined;
  for (const f of files) {
    if (f.language !== 'go') continue;
    for (const line of f.lines) {
      if (!line.includes(field)) continue;
      const m = re.exec(line);
      if (!m) continue;
      if (found && found !== m[1]) return undefined;
      found = m[1];
    }
  }
  return found;
}

/** Go parameter (and receiver) names with their types: `func (a *T) F(b, c *T, n int)` -> a:T, b:T, c:T, n:int. */
function goParamTypes(v: FnView): Map<string, string> {
  const out = new Map<string, string>();
  const head = /(?:^|\n)\s*func\s*(?:\(\s*(\w+)\s+\*?([\w.]+)\s*\)\s*)?\w*\s*\(([^)]*)\)/.exec(v.code.slice(0, 400));
  if (!head) return out;
  if (head[1]) out.set(head[1], head[2]!);
  let pending: string[] = [];
  for (const part of head[3]!.split(',')) {
    const m = /^\s*(\w+)(?:\s+(?:\*|\[\])?([\w.]+))?\s*$/.exec(part);
    if (!m) {
      pending = [];
      continue;
    }
    pending.push(m[1]!);
    if (m[2]) {
      for (const n of pending) out.set(n, m[2]);
      pending = [];
    }
  }
  return out;
}

/**
 * Go: the same mutex field of two values of one type (`from.mu.Lock()` then `to.mu.Lock()`, both parameters, or
 * the receiver and a parameter) is locked one after the other in argument order, the first still held: a call
 * with the two swapped takes them in the opposite order and both goroutines block forever. Quiet when the
 * function orders the two (`if a.id < b.id`), or holds another lock first (a coordinator).
 */
function goPairMutexReports(ctx: DetectorContext, v: FnView, seen: Set<number>): DetectorReport[] {
  const { file } = ctx;
  if (v.family !== 'go' || !v.code.includes('.Lock()')) return [];
  const types = goParamTypes(v);
  // A local looked up by a parameter (`a, ok := b.items[aID]`, `c := s.get(cID)`): two such locals from the same
  // collection are two values of one element type, keyed by the caller's arguments.
  const keyOf = new Map<string, string>();
  if (types.size >= 2) {
    for (let l = v.fn.startLine + 1; l <= v.fn.endLine; l++) {
      const t = codeLine(v, l);
      if (!t.includes(':=') && !t.includes('=')) continue;
      const m = /^\s*([A-Za-z_]\w*)(?:\s*,\s*\w+)?\s*:?=\s*([A-Za-z_][\w.]*)(?:\[\s*(\w+)\s*\]|\(\s*(\w+)\s*\))\s*$/.exec(t);
      if (!m || types.has(m[1]!)) continue;
      const key = m[3] ?? m[4]!;
      if (!types.has(key)) continue;
      types.set(m[1]!, `${m[3] ? '[]' : 'fn:'}${m[2]}`);
      keyOf.set(m[1]!, key);
    }
  }
  // A value ranged over a collection of the same type (`for _, p := range s.peers`) is another instance: locked
  // while this one's lock is held, it waits on a peer that does the same from its side. A parent's walk down to
  // its children is a fixed (hierarchical) order and stays quiet.
  const ranged = new Map<string, string>();
  if (v.code.includes('range')) {
    const vars = goVarTypes(v, cachedGoTypes(ctx.files));
    for (const m of v.code.matchAll(/\bfor\s+(?:\w+\s*,\s*)?(\w+)\s*:=\s*range\s+([\w.]+)\s*\{/g)) {
      const t = vars.get(m[1]!) ?? sliceFieldType(ctx.files, m[2]!.split('.').pop()!);
      if (!t || types.has(m[1]!) || /child|kid|descend|leaf|leaves|subtree|^subs?$/i.test(m[2]!.split('.').pop()!)) continue;
      types.set(m[1]!, t);
      ranged.set(m[1]!, m[2]!);
    }
  }
  if (types.size < 2) return [];
  const locks: Array<{ root: string; path: string; line: number }> = [];
  for (let l = v.fn.startLine + 1; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.includes('.Lock()')) continue;
    const m = /^\s*([A-Za-z_]\w*)((?:\.\w+)*)\.Lock\(\)\s*$/.exec(t);
    if (!m) {
      locks.push({ root: '', path: '', line: l });
      continue;
    }
    locks.push({ root: m[1]!, path: m[2]!, line: l });
  }
  for (let i = 0; i + 1 < locks.length; i++) {
    const a = locks[i]!;
    const b = locks[i + 1]!;
    // Another lock taken first (a coordinator) serialises the pair.
    if (i > 0) break;
    if (!a.root || !b.root || a.root === b.root || a.path !== b.path) continue;
    const ta = types.get(a.root);
    if (!ta || ta !== types.get(b.root)) continue;
    const unlockA = new RegExp(`^\\s*${escapeRe(a.root + a.path)}\\.Unlock\\(\\)`);
    let released = false;
    for (let l = a.line + 1; l < b.line; l++) if (unlockA.test(codeLine(v, l))) released = true;
    if (released) continue;
    // Ordered by a key or an address: `if a.ID < b.ID`, `uintptr(unsafe.Pointer(a)) < …`, sort.
    const ra = escapeRe(a.root);
    const rb = escapeRe(b.root);
    // One comparison, not two conditions joined (`len(a.x) > 0 && b.ok()`).
    const cmp = (x: string, y: string) => `\\b${x}\\b[^\\n<>&|]{0,80}[<>]=?[^\\n<>&|-]{0,80}\\b${y}\\b`;
    const ka = escapeRe(keyOf.get(a.root) ?? a.root);
    const kb = escapeRe(keyOf.get(b.root) ?? b.root);
    const ordered = new RegExp(`${cmp(ra, rb)}|${cmp(rb, ra)}|${cmp(ka, kb)}|${cmp(kb, ka)}`);
    if (/\bsort\.|\bslices\.Sort|\bcmp\.Compare/.test(v.code) || ordered.test(v.code)) continue;
    if (!file.added.has(a.line) && !file.added.has(b.line)) continue;
    if (seen.has(a.line)) continue;
    const range = shownRange(file, v.fn, a.line, b.line);
    if (!range) continue;
    seen.add(a.line);
    const name = goFuncAbove(v, a.line) ?? displayName(file, v.fn);
    const lockName = (r: string) => `${r}${a.path}`;
    const peers = ranged.get(b.root) ?? ranged.get(a.root);
    const kind = ta.startsWith('[]') ? `two entries of ${ta.slice(2)}` : ta.startsWith('fn:') ? `two results of ${ta.slice(3)}` : `two ${ta.replace(/^\*/, '')} values`;
    const title = peers
      ? `${name} holds ${lockName(a.root)} and then locks ${lockName(b.root)}, another ${ta.replace(/^\*/, '')} from ${peers}: two of them doing this towards each other each hold their own lock and wait for the other's, and both goroutines block forever`
      : `${name} locks ${lockName(a.root)} and then ${lockName(b.root)} (${kind}) in argument order: a call with the two swapped locks them in the opposite order and both goroutines block forever`;
    return [
      {
        line: range.line,
        endLine: range.endLine,
        functionName: name,
        confidence: 0.8,
        title,
        entity: `${ta}${a.path}`,
        evidence: [
          { role: 'lock-a', line: a.line, text: v.text(a.line) },
          { role: 'lock-b', line: b.line, text: v.text(b.line) },
        ],
        variant: 'async',
        facts: cleanFacts({
          lockA: lockName(a.root),
          lockB: lockName(b.root),
          lockKind: 'mutex',
          sortKey: 'id',
          actor: 'goroutine',
          testFramework: testFrameworkHint(ctx.files, v.family),
        }),
      },
    ];
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Go: blocking on a channel while holding a mutex the other side needs

interface GoFnInfo {
  file: SourceFile;
  fn: FunctionSpan;
  recvType?: string;
  recvVar?: string;
  /** Mutexes taken (canonical `Type.field`), with the lines they are held. */
  held: Array<{ name: string; line: number; until: number }>;
  /** Blocking channel operations on receiver fields: sends, receives (`<-x.ch`, `range x.ch`), `x.wg.Wait()`. */
  ops: Array<{ chan: string; kind: 'send' | 'recv' | 'wait'; line: number; text: string }>;
  /** Same-receiver method calls (`d.helper(`), with their line. */
  calls: Array<{ name: string; line: number }>;
}

const goInfoCache = new WeakMap<readonly SourceFile[], GoFnInfo[]>();

function goFnInfos(files: readonly SourceFile[]): GoFnInfo[] {
  const hit = goInfoCache.get(files);
  if (hit) return hit;
  const out: GoFnInfo[] = [];
  for (const f of files) {
    if (f.language !== 'go' || !f.lines.some((x) => x.includes('<-') || x.includes('.Wait()'))) continue;
    for (const fn of f.functions) {
      if (fn.name === '<hunk>' || fn.endLine - fn.startLine > 400) continue;
      const v = viewOf(f, fn);
      if (!v) continue;
      const recv = /^\s*func\s*\(\s*(\w+)\s+\*?(\w+)\s*\)/.exec(v.code);
      if (!recv) continue;
      const [rv, rt] = [recv[1]!, recv[2]!];
      const info: GoFnInfo = { file: f, fn, recvType: rt, recvVar: rv, held: [], ops: [], calls: [] };
      const fieldRe = new RegExp(`^${escapeRe(rv)}\\.(\\w+)$`);
      const callRe = new RegExp(`(?<![\\w.])${escapeRe(rv)}\\.(\\w+)\\(`, 'g');
      const field = (expr: string): string | undefined => {
        const m = fieldRe.exec(expr);
        return m ? `${rt}.${m[1]}` : undefined;
      };
      // Nested function literals run elsewhere (a goroutine, a callback): their lines are not this path's.
      const nested = f.functions.filter((g) => g !== fn && g.startLine > fn.startLine && g.endLine <= fn.endLine);
      let selectDefault: Array<[number, number]> = [];
      for (let l = fn.startLine + 1; l <= fn.endLine; l++) {
        if (nested.some((g) => g.startLine <= l && l <= g.endLine)) continue;
        const t = codeLine(v, l);
        if (/^\s*go\s/.test(t)) continue;
        if (/^\s*select\s*\{/.test(t)) {
          const end = blockEnd(v, l);
          for (let k = l + 1; k <= end; k++) if (/^\s*default\s*:/.test(codeLine(v, k))) selectDefault.push([l, end]);
        }
        let m: RegExpExecArray | null;
        if (t.includes('ock()')) {
          if ((m = /^\s*defer\s+([\w.]+)\.Unlock\(\)/.exec(t))) continue;
          for (const a of t.matchAll(/([\w.]+)\.(Lock|Unlock)\(\)/g)) {
            const name = field(a[1]!);
            if (!name) continue;
            if (a[2] === 'Unlock') {
              for (const h of info.held) if (h.name === name && h.until >= l) h.until = l - 1;
            } else info.held.push({ name, line: l, until: fn.endLine });
          }
        }
        const inSelectDefault = selectDefault.some(([a, b]) => a < l && l <= b);
        if (t.includes('<-') && !inSelectDefault) {
          if ((m = /^\s*(?:case\s+)?([\w.]+)\s*<-/.exec(t))) {
            const c = field(m[1]!);
            if (c) info.ops.push({ chan: c, kind: 'send', line: l, text: t.trim() });
          }
          for (const r of t.matchAll(/<-\s*([\w.]+)/g)) {
            const c = field(r[1]!);
            if (c) info.ops.push({ chan: c, kind: 'recv', line: l, text: t.trim() });
          }
        }
        if (t.includes('range') && (m = /\brange\s+([\w.]+)\s*\{/.exec(t))) {
          const c = field(m[1]!);
          if (c) info.ops.push({ chan: c, kind: 'recv', line: l, text: t.trim() });
        }
        if (t.includes('.Wait()') && (m = /([\w.]+)\.Wait\(\)/.exec(t))) {
          const c = field(m[1]!);
          if (c) info.ops.push({ chan: c, kind: 'wait', line: l, text: t.trim() });
        }
        if (t.includes('.Done()') && (m = /([\w.]+)\.Done\(\)/.exec(t))) {
          const c = field(m[1]!);
          if (c) info.ops.push({ chan: c, kind: 'recv', line: l, text: t.trim() }); // the counterpart of Wait
        }
        for (const c of t.includes(`${rv}.`) ? t.matchAll(callRe) : []) {
          if (!/^(?:R?Lock|R?Unlock|Wait|Done|Add)$/.test(c[1]!)) info.calls.push({ name: c[1]!, line: l });
        }
      }
      if (info.held.length || info.ops.length || info.calls.length) out.push(info);
    }
  }
  goInfoCache.set(files, out);
  return out;
}

/**
 * How a channel field is made in the diff: `field: make(chan T)` / `x.field = make(chan T)` (no capacity, or 0) is
 * unbuffered, `make(chan T, n)` buffered; undefined when the diff shows no `make` for it.
 */
function chanBuffering(files: readonly SourceFile[], chan: string): 'unbuffered' | 'buffered' | undefined {
  const fieldName = chan.slice(chan.indexOf('.') + 1);
  const re = new RegExp(`(?:^|[\\s{,.])${escapeRe(fieldName)}\\s*(?::|=)\\s*make\\(\\s*(?:chan|<-chan|chan<-)\\s*[^,()]*(?:\\([^()]*\\))?[^,()]*(,|\\))`);
  let unbuffered = false;
  for (const f of files) {
    if (f.language !== 'go') continue;
    for (const line of f.lines) {
      if (!line.includes('make(') || !line.includes(fieldName)) continue;
      const m = re.exec(line);
      if (!m) continue;
      // `make(chan T, 0)` is unbuffered too.
      if (m[1] === ',' && !/,\s*0\s*\)/.test(line)) return 'buffered';
      unbuffered = true;
    }
  }
  return unbuffered ? 'unbuffered' : undefined;
}

/**
 * A method blocks on an unbuffered channel send or receive (or a WaitGroup's Wait) while it holds a mutex
 * (itself, or its caller of the same type: `Submit` locks `d.mu` and calls `d.dispatchLocked()`, which sends
 * on `d.assign`), and the goroutine on the other side of that channel takes the same mutex (itself or in a
 * method it calls). Once that side waits for the mutex it never reaches the channel, and the holder never
 * stops waiting for it.
 */
function chanUnderLockReports(ctx: DetectorContext): DetectorReport[] {
  const { file } = ctx;
  if (file.language !== 'go' || !file.lines.some((x) => x.includes('<-') || x.includes('.Wait()'))) return [];
  const infos = goFnInfos(ctx.files);
  if (infos.length === 0) return [];
  const byName = (type: string | undefined, name: string) => infos.filter((i) => i.recvType === type && fnKey(i.fn, 'go') === `${type}.${name}`);
  /** Mutexes a method takes, itself or through same-type helpers (two levels). */
  const takes = (i: GoFnInfo, depth = 0, seen = new Set<GoFnInfo>()): Set<string> => {
    const out = new Set(i.held.map((h) => h.name));
    seen.add(i);
    if (depth < 2) for (const c of i.calls) for (const j of byName(i.recvType, c.name)) if (!seen.has(j)) for (const n of takes(j, depth + 1, seen)) out.add(n);
    return out;
  };
  const changed = new Set(ctx.changedFunctions);
  const reports: DetectorReport[] = [];
  const done = new Set<number>();
  for (const i of infos) {
    if (i.file !== file) continue;
    for (const op of i.ops) {
      if (op.kind === 'recv' && /\.Done\(\)/.test(op.text)) continue;
      if (done.has(op.line)) continue;
      // The mutex held at the op: taken in this method, or by a same-type caller that calls it while holding one.
      let holder: { name: string; fn: string; line: number } | undefined;
      const own = i.held.find((h) => h.line < op.line && op.line <= h.until);
      if (own) holder = { name: own.name, fn: displayName(file, i.fn), line: own.line };
      else {
        const me = fnKey(i.fn, 'go').split('.').pop()!;
        for (const c of infos) {
          if (c.recvType !== i.recvType || c === i) continue;
          const call = c.calls.find((k) => k.name === me && c.held.some((h) => h.line < k.line && k.line <= h.until));
          if (call) {
            const h = c.held.find((x) => x.line < call.line && call.line <= x.until)!;
            holder = { name: h.name, fn: displayName(c.file, c.fn), line: h.line };
            break;
          }
        }
      }
      if (!holder) continue;
      // A buffered channel blocks a sender too, once the buffer is full (the receiver stuck on the mutex drains
      // nothing): sends count on a channel made either way; receives only on an unbuffered one.
      const buffering = op.kind === 'wait' ? 'unbuffered' : chanBuffering(ctx.files, op.chan);
      if (!buffering || (buffering === 'buffered' && op.kind !== 'send')) continue;
      // The other side: a method of the diff doing the opposite operation on the channel that takes the mutex.
      const want = op.kind === 'send' ? 'recv' : op.kind === 'recv' ? 'send' : 'recv';
      const other = infos.find((o) => o !== i && o.ops.some((x) => x.chan === op.chan && x.kind === want && (op.kind !== 'wait' || /\.Done\(\)/.test(x.text))) && takes(o).has(holder!.name));
      if (!other) continue;
      if (!changed.has(i.fn) && !i.file.added.has(op.line)) continue;
      const range = shownRange(file, i.fn, op.line, op.line);
      if (!range) continue;
      done.add(op.line);
      const name = displayName(file, i.fn);
      const otherName = displayName(other.file, other.fn);
      const what =
        op.kind === 'send'
          ? buffering === 'buffered'
            ? `sends on ${op.chan} (blocking once its buffer is full)`
            : `sends on the unbuffered ${op.chan}`
          : op.kind === 'recv'
            ? `receives from the unbuffered ${op.chan}`
            : `waits on ${op.chan}`;
      reports.push({
        line: range.line,
        endLine: range.endLine,
        functionName: name,
        confidence: buffering === 'buffered' ? 0.75 : 0.8,
        title: `${name} ${what} while ${holder.fn === name ? 'it holds' : `${holder.fn} holds`} ${holder.name}, and ${otherName}, the other side, takes ${holder.name}: each waits for the other`,
        entity: `${holder.name} and ${op.chan}`,
        evidence: [
          ...(holder.fn === name ? [{ role: 'lock-a', line: holder.line, text: (file.lines[holder.line - 1] ?? '').trim() }] : []),
          { role: 'lock-b', line: op.line, text: op.text },
        ],
        variant: 'async',
        facts: cleanFacts({
          pattern: 'channel-under-lock',
          lockA: holder.name,
          lockB: op.chan,
          otherFunction: otherName,
          otherFile: other.file === file ? undefined : other.file.path,
          lockKind: 'mutex',
          actor: 'goroutine',
          testFramework: testFrameworkHint(ctx.files, 'go'),
        }),
      });
    }
  }
  return reports;
}

function detect(ctx: DetectorContext): DetectorReport[] {
  const family = familyOf(ctx.file.language);
  if (family === 'other') return [];
  const reports: DetectorReport[] = [];
  const seen = new Set<number>();
  const seenTx = new Set<number>();
  const seenPair = new Set<number>();
  for (const fn of innermostFirst(ctx.changedFunctions)) {
    const v = viewOf(ctx.file, fn);
    if (v) reports.push(...rowLoopReports(ctx, v, seen));
    if (v) reports.push(...pairLockReports(ctx, v));
    if (v) reports.push(...helperPairReports(ctx, v, seenPair));
    if (v) reports.push(...goPairMutexReports(ctx, v, seenPair));
    if (v) {
      for (const r of crossConnectionReports(ctx, v)) {
        // A hunk region around a function sees the same transaction: report it once, on the innermost.
        if (seenTx.has(r.line)) continue;
        seenTx.add(r.line);
        reports.push(r);
      }
    }
  }
  reports.push(...orderReports(ctx, family));
  if (family === 'python') reports.push(...hiddenOuterReports(ctx));
  if (family === 'go') reports.push(...chanUnderLockReports(ctx));
  return reports;
}

export default createDetector(
  {
    id: 'lock-order-inversion',
    failureMode: 'deadlock',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'Locks (rows, mutexes, advisory locks) are taken in an order that differs between two paths or follows caller-ordered input.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/lock-order-inversion.md',
  },
  detect,
);
