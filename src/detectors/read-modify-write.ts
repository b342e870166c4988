/**
 * read-modify-write (lost_update)
 *
 * Rule: a function reads one row (ORM `findByPk` / `findUnique` / `findOneBy` / `objects.get` /
 * `Model.find` / knex `.first()`, or a SQL `SELECT col FROM t`), computes a new value of one of its
 * fields in application code (`x.f += n`, `x.f = x.f - n`, `x.f.push(…)`, `n = x.f + 1`, `count++` after
 * `Scan(&count)`), and writes it back to the same entity (`x.save()`, `repo.save(x)`,
 * `update({ data: { f: n } })`, `UPDATE t SET f = $1` with the computed value). A concurrent writer's
 * change between the read and the write is overwritten.
 *
 * Stays quiet when the function (or its enclosing function) shows a row lock (`FOR UPDATE`,
 * `forUpdate()`, `select_for_update`, `with_for_update`, `lock!`, `with_lock`, `LOCK.UPDATE`,
 * `pessimistic_write`), a version column (`version`, `lock_version`, `@Version`), SERIALIZABLE isolation,
 * when the write is itself atomic (`f = f + $1`, `increment`, `F('f') + 1`, `$inc`, `update_counters`), or
 * when the write repeats the old value in its WHERE (compare-and-set). Values not derived from the same
 * field (a form object's fields, a value from the request) are left alone.
 *
 * JSON / hash columns merged in code and written whole (`update!(prefs: u.prefs.merge(x))`, Prisma
 * `data: { f: { ...u.f, ...patch } }`, `{**u.f, **x}` then `save()`) are the same race. The read may be
 * implicit: a request-scoped record (`current_user`, `@record`, `request.user`, `req.user`) counts as read, and
 * so does a parameter when one of its JSON/hash fields is merged and written back. A job record (a task that
 * loads the row its caller created and enqueued it for, shown in the diff) has one writer and is left alone.
 * A field copied into a local (`previous = x.f`) and computed from there (`capped = [previous + n, cap].min`) is
 * followed to the write, and so is a JSON field taken into a local as it is or decoded / copied
 * (`s = JSON.parse(t.settings); s.theme = x; …update({ settings: JSON.stringify(s) })`). Work between the read
 * and the write (a decorator calling the wrapped view, a context manager's `yield`) changes nothing.
 *
 * Ruby model methods changing their own attributes (`self.f = f + n; save!`, `update!(f: f - n)` on the record
 * itself) count too: the read is whoever loaded the record. Quiet under `with_lock` / `lock!` in the method or
 * around a caller's call, and for `attr_accessor` attributes.
 *
 * Raw SQL documents: a selected column carried through locals (`Scan(&raw)` → `json.Unmarshal(raw, &m)` →
 * `m[k]++` → `json.Marshal(m)`), changed, and bound to that column's own placeholder in `UPDATE t SET col = $n`.
 *
 * Key-value stores: a value read from a key (Redis `get` / `hget`, Memcached, a cache, a loader handed the client,
 * DynamoDB `GetCommand` / `get_item`), changed from its old value in code, and `set` / `hset` / put back to the same
 * key (a MULTI around the write alone does not help). Quiet under WATCH, a Lua script, a lock, `NX` / `XX`, `cas`,
 * a DynamoDB `ConditionExpression`, or when the value written is not computed from the one read.
 *
 * Through short methods of the same class: a sibling reading one key and returning it (the read) and a sibling
 * writing one key from its parameters (the write), keys compared with the caller's arguments in place of the
 * parameters; a sibling returning attributes of a record the object holds (`[@r.count, @r.total]`) unpacked into
 * locals, and values computed from them written by a sibling that sets those attributes from its parameters
 * (`@r.update_columns(count: count, …)`) or directly (`@r.update!(count: count + 1)`).
 *
 * Through another object's loader: a record loaded by a `load` / `get…` / `fetch…` method (or any method of a
 * `repo` / `store` / `dao`) of another object or file, a field changed in code, and the record handed back to a
 * save-like method of the same object (`this.quotas.save(id, q)`, `s.repo.SaveStats(ctx, tx, st)`) or the field
 * written with arithmetic on its old value. Quiet when the loader is named for a lock, or the diff shows it
 * locking / the saver checking a version or writing atomically.
 *
 * Confidence: 0.9 when the read and the write name the same table/model and field (SQL, or an explicit
 * `update` of the field); 0.85 for `save()` of the read object after an arithmetic on its field; 0.7 for
 * a JSON/array/dict field mutated in place and saved; 0.8 for a key-value read-modify-write.
 */
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';
import type { EvidenceLine } from '../types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import {
  ATOMIC_UPDATE,
  ROW_LOCK,
  SERIALIZABLE,
  TRANSACTION,
  VERSION_CHECK,
  cleanFacts,
  displayName,
  innermostFirst,
  codeLine,
  enclosing,
  entityOfReceiver,
  escapeRe,
  mentions,
  ormOf,
  paramsOf,
  sameEntity,
  shownRange,
  splitTop,
  sqlTables,
  statementAt,
  testFrameworkHint,
  viewOf,
  type FnView,
} from './lib/state.js';

interface Read {
  holder: string;
  entity: string;
  line: number;
  call: string;
  /** SQL reads: selected columns (lower-case, `*` for all). */
  columns?: string[];
  /**
   * No read in the function: a record the request already holds (`current_user`, `@account`, `request.user`,
   * `req.user`), or a parameter (`param`: only a JSON/hash field merged and written back counts).
   */
  implicit?: 'request' | 'param';
  /**
   * Loaded through a method of a repository / store object (`await this.quotas.load(id)`, `s.repo.Stats(ctx, tx, id)`):
   * the receiver (`this.quotas.`), whose save-like methods write the record back. The entity is not known.
   */
  loader?: string;
}

interface Hit {
  read: Read;
  field: string;
  computeLine?: number;
  writeLine: number;
  writeEnd: number;
  writeCall: string;
  confidence: number;
  delta?: string;
  json?: boolean;
  /** A key-value store (Redis, Memcached, a cache) or DynamoDB item rather than a database row. */
  store?: 'kv' | 'dynamo';
}

const JS_READ =
  /(?:const|let|var)\s+(\[\s*[\w$]+\s*(?:,\s*[\w$]+\s*)?\]|[\w$]+)\s*(?::\s*[\w<>[\], |]{1,80})?=\s*(?:await\s+)?(.{1,200}?)\.(findByPk|findOne|findOneBy|findOneOrFail|findOneByOrFail|findUnique|findUniqueOrThrow|findFirst|findFirstOrThrow|findById|findOrCreate|findOrBuild|first)\s*\(/;
const PY_READ =
  /^\s*\(?\s*(\w+)\s*(?:,\s*\w+\s*\)?)?\s*(?::\s*[\w[\], |]{1,80})?=\s*(?:await\s+)?(.{1,200}?)\.(get|first|last|one|one_or_none|scalar_one|scalar_one_or_none|get_or_404|first_or_404|earliest|latest|get_or_create|aget|afirst|alast|aget_or_create)\(/;
const GO_READ = /\.(First|Take|Last|FirstOrCreate|FirstOrInit)\(\s*&(\w+)\s*[,)]/;
const PY_GET404 = /^\s*(\w+)\s*=\s*get_object_or_404\(\s*([A-Z]\w*)/;
const PY_SESSION_GET = /^\s*(\w+)\s*=\s*(?:await\s+)?(?:self\.)?(?:db\.)?session\.get\(\s*([A-Z]\w*)/;
const RB_READ = /^\s*(@?\w+)\s*=\s*([A-Z][\w:]*(?:\.\w+(?:\([^)\n]{0,200}\))?){0,4}?)\.(find_or_create_by!?|find_or_initialize_by|create_or_find_by!?|find|find_by!?|first!?|last!?|take!?)(?![\w!])/;

/** Ruby: a local loaded through a belongs_to / has_one association (`station = @dock.station`, `acct = order.account`). */
const RB_ASSOC_READ = /^\s*(@?[a-z_]\w*)\s*=\s*(@?[a-z_]\w*(?:\.[a-z_]\w*){0,2})\.([a-z_]\w*)\s*$/;
/** Method names that are not associations (plain values, request plumbing, collections' helpers). */
const RB_NOT_ASSOC = /^(?:to_\w+|id|count|size|length|first|last|params|new|dup|clone|reload|presence|strip|downcase|upcase|name|title|email|status|state|now|current|today|call)$/;

function camel(s: string): string {
  return s.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function ormReads(v: FnView, fileText: string): Read[] {
  const reads: Read[] = [];
  for (let i = 0; i < v.codeLines.length; i++) {
    const t = v.codeLines[i]!;
    const line = v.fn.startLine + i;
    let m: RegExpExecArray | null;
    if (v.family === 'js' && /\.(?:find\w*|first)\s*\(/.test(t) && (m = JS_READ.exec(t))) {
      const entity = entityOfReceiver(m[2]!, fileText);
      if (entity) reads.push({ holder: m[1]!.replace(/[[\]\s]/g, '').split(',')[0]!, entity, line, call: `${m[2]!.replace(/^await\s+/, '').trim()}.${m[3]}` });
    } else if (v.family === 'python') {
      if ((m = PY_GET404.exec(t)) || (m = PY_SESSION_GET.exec(t))) reads.push({ holder: m[1]!, entity: m[2]!, line, call: t.trim().replace(/^\w+\s*=\s*/, '').slice(0, 80) });
      else if ((m = PY_READ.exec(t)) && /objects|query|session|select/.test(m[2]!)) {
        const entity = entityOfReceiver(m[2]!) ?? /\b([A-Z]\w*)\b/.exec(m[2]!)?.[1];
        if (entity) reads.push({ holder: m[1]!, entity, line, call: `${m[2]!.trim()}.${m[3]}` });
      }
    } else if (v.family === 'go' && t.includes('(&') && (m = GO_READ.exec(t))) {
      // GORM: `db.Where(…).First(&usage)` fills a struct declared in the function (`var usage Usage`).
      const holder = m[2]!;
      const decl = new RegExp(`\\bvar\\s+${escapeRe(holder)}\\s+\\*?(?:\\w+\\.)?([A-Z]\\w*)|\\b${escapeRe(holder)}\\s*:=\\s*&?(?:\\w+\\.)?([A-Z]\\w*)\\s*\\{`).exec(v.code);
      const entity = decl ? (decl[1] ?? decl[2])! : holder;
      reads.push({ holder, entity, line, call: `${m[1]}(&${holder})` });
    } else if (v.family === 'ruby' && (m = RB_READ.exec(t))) {
      reads.push({ holder: m[1]!, entity: /^([A-Z]\w*)/.exec(m[2]!)![1]!, line, call: `${m[2]}.${m[3]}` });
    } else if (v.family === 'ruby' && t.includes('.') && (m = RB_ASSOC_READ.exec(t)) && !RB_NOT_ASSOC.test(m[3]!)) {
      // A record loaded through an association of a record the function holds: `station = @dock.station`.
      reads.push({ holder: m[1]!, entity: camel(m[3]!), line, call: `${m[2]}.${m[3]}` });
    }
  }
  return reads;
}

/** Holders that are records loaded before the function runs: the signed-in user, a before_action's `@record`. */
const REQUEST_HOLDER: Record<string, RegExp> = {
  ruby: /(?<![\w@.:])(current_[a-z]\w*|@[a-z]\w*|Current\.[a-z]\w*)\.\w/g,
  python: /(?<![\w.])((?:self\.)?request\.user)\.\w/g,
  js: /(?<![\w$.])((?:req|request)\.user|ctx\.state\.user|res\.locals\.user)\.\w/g,
};

/** Parameters that are never records (request plumbing, plain input). */
const NOT_A_RECORD = /^(?:ctx|context|req|request|res|response|reply|params|body|data|input|payload|args|kwargs|options|opts|config|event|job|task|msg|message|info|self|cls|next|done|tx|trx|session|db|conn|cur|cursor|client|logger)$/;

/**
 * Records the function changes without reading them itself: request-scoped holders (any shape) and
 * parameters (JSON/hash merges only, checked in ormHit). A holder assigned in the function is left to the
 * explicit reads.
 */
function implicitReads(v: FnView, explicit: Read[]): Read[] {
  const out: Read[] = [];
  const seen = new Set(explicit.map((r) => r.holder));
  const re = REQUEST_HOLDER[v.family];
  const body = v.codeLines.slice(1).join('\n');
  const add = (holder: string, implicit: 'request' | 'param') => {
    if (seen.has(holder)) return;
    seen.add(holder);
    if (new RegExp(`^\\s*(?:const|let|var)?\\s*${escapeRe(holder)}\\s*(?::[^=\\n]{1,80})?=[^=]`, 'm').test(body)) return;
    const entity = holder.replace(/^.*[.@]/, '').replace(/^current_/, '');
    out.push({ holder, entity, line: v.fn.startLine, call: holder, implicit });
  };
  if (re) for (const m of body.matchAll(re)) add(m[1]!, 'request');
  for (const p of paramsOf(v)) if (!NOT_A_RECORD.test(p) && body.includes(`${p}.`)) add(p, 'param');
  return out;
}

/** SQL reads: `SELECT cols FROM t`, with the names that receive the row (Scan targets, the bound variable, fetchone). */
function sqlReads(v: FnView): Read[] {
  const reads: Read[] = [];
  const re = /\bSELECT\s+([\w\s,."`*()]{1,300}?)\s+FROM\s+["`]?(?:\w+\.)?([A-Za-z_]\w*)/gi;
  for (const m of v.code.matchAll(re)) {
    const line = v.lineAt(m.index!);
    const cols = m[1]!.split(',').map((c) => c.trim().replace(/["`]/g, '').split(/\s+/).pop()!.split('.').pop()!.toLowerCase());
    if (cols.some((c) => /\(/.test(c))) continue; // aggregates are another detector's business
    // The statement holding the SELECT: from the line that starts it to the end of the call.
    let start = line;
    for (let l = line; l >= Math.max(v.fn.startLine, line - 3); l--) {
      if (/(?:=|:=|\bif\b|await|return|execute|query|Query|Exec|QueryRow|fetch)/.test(codeLine(v, l))) {
        start = l;
        break;
      }
    }
    const stmt = statementAt(v, start, 10);
    const holders = new Set<string>();
    for (const s of stmt.text.matchAll(/\.Scan\(([^)]{1,200})\)/g)) for (const h of s[1]!.matchAll(/&([\w.]+)/g)) holders.add(h[1]!.split('.')[0]!);
    // sqlx: `db.GetContext(ctx, &dest, "SELECT …", id)` fills the struct named first.
    if (v.family === 'go') for (const s of stmt.text.matchAll(/\.(?:Get|GetContext)\(\s*(?:\w*[cC]tx\s*,\s*)?&(\w+)\s*,/g)) holders.add(s[1]!);
    const bound = /(?:const|let|var)?\s*(?:\{\s*rows\s*:\s*\[\s*([\w$]+)\s*\]\s*\}|\[\s*([\w$]+)\s*\]|([\w$]+))\s*(?::=|=)\s*(?:await\s+)?[\w$.]+\.(?:query|execute|one|oneOrNone|get|first|raw|QueryRow\w*|fetchrow|fetchval|fetchone)/.exec(stmt.text);
    if (bound) holders.add((bound[1] ?? bound[2] ?? bound[3])!);
    // Python DB-API: the next lines fetch the row.
    for (let l = stmt.endLine + 1; l <= Math.min(v.fn.endLine, stmt.endLine + 3); l++) {
      const fl = codeLine(v, l);
      // The literal call is needed for a match: test it before the pattern (its lazy head backtracks on long lines).
      const f = /\.(?:fetchone|fetchrow|fetchval|one|scalar)\(/.test(fl) ? /^\s*\(?\s*([\w, ]+?)\s*,?\s*\)?\s*=\s*(?:await\s+)?\w+\.(?:fetchone|fetchrow|fetchval|one|scalar)\(/.exec(fl) : null;
      if (f) for (const h of f[1]!.split(',')) if (h.trim()) holders.add(h.trim());
    }
    for (const h of holders) reads.push({ holder: h, entity: m[2]!, line, call: `SELECT ${m[1]!.trim()} FROM ${m[2]}`, columns: cols });
  }
  return reads;
}

function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function sameField(a: string, b: string): boolean {
  return a.replace(/_/g, '').toLowerCase() === b.replace(/_/g, '').toLowerCase();
}

const PLACEHOLDER = /^(?:\$\d+|\?|%s|:\w+|@\w+|%\(\w+\)s|\$\{[^}]{1,80}\}|#\{[^}]{1,80}\})$/;

/** ORM object read: find a compute on holder.field and the write-back after it. */
function ormHit(v: FnView, r: Read, fileText: string): Hit | undefined {
  const h = escapeRe(r.holder);
  const derived = new Map<string, { field: string; line: number; json: boolean }>();
  // Parameters count as records only when a JSON/hash field of theirs is merged and written back.
  const jsonOnly = r.implicit === 'param';
  const reassign = new RegExp(`^\\s*(?:const|let|var)?\\s*${h}\\s*=[^=]`);
  const compound = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\s*(?:\\+=|-=|\\*=|/=|\\+\\+|--)`);
  const selfLeft = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\s*=\\s*[^=;\\n]{0,200}?(?<![\\w$.])${h}\\.(\\w+)\\s*[-+*/]`);
  const selfRight = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\s*=\\s*[^=;\\n]{0,200}?[-+*/]\\s*(?<![\\w$.])${h}\\.(\\w+)\\b`);
  const spread = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\s*=\\s*\\{\\s*\\.\\.\\.${h}\\.(\\w+)`);
  const mutate = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\.(?:push|append|extend|unshift|splice|concat|update|add|insert)\\(`);
  // In-place changes of a hash/dict/object field: `x.f.merge!(…)`, `x.f.store(k, v)`, `x.f.setdefault(…)`,
  // `Object.assign(x.f, …)`, `delete x.f[k]`.
  const mutateHash = new RegExp(
    `(?<![\\w$.])${h}\\.(\\w+)\\.(?:merge!|deep_merge!|reverse_merge!|store|setdefault|pop)\\(|(?<![\\w$.])${h}\\.(\\w+)\\s*\\|=(?!=)|\\bObject\\.assign\\(\\s*${h}\\.(\\w+)\\s*,|\\bdelete\\s+${h}\\.(\\w+)[.[]`,
  );
  // A JSON / hash field merged into a new value: `x.f.merge(…)`, `{ ...x.f, … }`, `{**x.f, …}`, `dict(x.f, …)`,
  // `Object.assign({}, x.f, …)`, `x.f | changes`.
  const mergeExpr = new RegExp(
    `(?<![\\w$.])${h}\\.(\\w+)(?:\\s*(?:\\|\\||\\?\\?|\\bor\\b)\\s*\\{\\s*\\}\\s*\\))?\\.(?:merge|deep_merge|reverse_merge|except|without)\\b(?!!)` +
      `|(?:\\.\\.\\.|\\*\\*|\\bdict\\(|\\bObject\\.assign\\(\\s*\\{\\s*\\}\\s*,)\\s*\\(?\\s*${h}\\.(\\w+)\\b(?!\\s*[.(\\[])` +
      `|(?<![\\w$.])${h}\\.(\\w+)\\s*\\|\\s*(?![|=])`,
  );
  const assignTo = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\s*=[^=]`);
  const shovel = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\s*<<`);
  const indexSet = new RegExp(`(?<![\\w$.])${h}\\.(\\w+)\\[(?:[^[\\]\\n]|\\[[^\\]\\n]{0,40}\\]){1,80}\\]\\s*=[^=]`);
  const derive = new RegExp(`^\\s*(?:const|let|var)?\\s*([\\w$]+)\\s*:?=\\s*[^=;\\n]{0,200}?(?:(?<![\\w$.])${h}\\.(\\w+)\\s*[-+*/]|[-+*/]\\s*${h}\\.(\\w+)\\b|Math\\.(?:max|min)\\([^)]{0,120}${h}\\.(\\w+))`);
  const inlineRe = new RegExp(`\\b(\\w+)\\s*(?::|=>|=)\\s*[^,;\\n{:]{0,120}?(?<![\\w$.])${h}\\.(\\w+)\\s*[-+*/]`);
  const holderDot = `${r.holder}.`;
  // A plain copy of the field into a local (`previous = employee.balance`), to be followed through arithmetic.
  const aliasRe = jsonOnly
    ? undefined
    : new RegExp(`^\\s*(?:const|let|var)?\\s*([\\w$]+)\\s*(?::\\s*[\\w<>[\\]., |]{1,60})?\\s*:?=\\s*(?:(?:Number|parseFloat|parseInt|BigInt|Decimal|int|float)\\(\\s*)?${h}\\.(\\w+)\\s*\\)?(?:\\.to_[ifd])?\\s*;?\\s*$`);
  const aliases = new Map<string, { field: string; line: number }>();
  // A JSON / list / hash field taken into a local as it is (`tags = post.tags`) or as a copy / decoded document
  // (`JSON.parse(row.settings)`, `json.loads(u.prefs)`, `dict(u.prefs)`, `u.prefs.copy()`), to be changed there.
  const docRe = new RegExp(
    `^\\s*(?:const|let|var)?\\s*([\\w$]+)\\s*(?::[^=\\n]{1,60})?:?=\\s*(?:(JSON\\.parse|json\\.loads|orjson\\.loads|dict|list|structuredClone|(?:copy\\.)?deepcopy)\\(\\s*)?${h}\\.(\\w+)\\b(\\.(?:copy|dup|deep_dup|clone)\\(\\))?(?!\\s*(?:[-+*/(.\\[<]|=))`,
  );
  const docs = new Map<string, { field: string; line: number; inPlace: boolean }>();
  for (let l = r.line + 1; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.includes(r.holder)) continue;
    // Reassigning the holder ends its story.
    if (reassign.test(t)) break;
    if (!t.includes(holderDot)) continue;
    let field: string | undefined;
    let json = false;
    let m: RegExpExecArray | null;
    const merged = mergeExpr.exec(t);
    const mergedField = merged ? (merged[1] ?? merged[2] ?? merged[3]) : undefined;
    if ((m = compound.exec(t))) field = m[1];
    else if ((m = selfLeft.exec(t)) && m[1] === m[2]) field = m[1];
    else if ((m = selfRight.exec(t)) && m[1] === m[2] && !(mergedField === m[1])) field = m[1];
    else if ((m = spread.exec(t)) && m[1] === m[2]) [field, json] = [m[1], true];
    else if ((m = mutateHash.exec(t))) [field, json] = [(m[1] ?? m[2] ?? m[3] ?? m[4])!, true];
    else if ((m = mutate.exec(t)) && !(v.family === 'python' && /\.add\($/.test(m[0]))) [field, json] = [m[1], !jsonOnly || /\.update\($/.test(m[0])];
    else if ((m = shovel.exec(t)) && v.family === 'ruby') [field, json] = [m[1], true];
    else if ((m = indexSet.exec(t))) [field, json] = [m[1], true];
    else if (mergedField && (m = assignTo.exec(t)) && m[1] === mergedField) [field, json] = [mergedField, true];
    if (jsonOnly && !json) field = undefined;
    const al = aliasRe?.exec(t);
    if (al && al[1] !== r.holder && !aliases.has(al[1]!)) aliases.set(al[1]!, { field: al[2]!, line: l });
    const dc = docRe.exec(t);
    if (dc && dc[1] !== r.holder && !docs.has(dc[1]!)) docs.set(dc[1]!, { field: dc[3]!, line: l, inPlace: !dc[2] && !dc[4] });
    // A local derived from the field by arithmetic: `const next = event.seatsSold + qty`.
    const d = derive.exec(t);
    if (d && d[1] !== r.holder && !jsonOnly) derived.set(d[1]!, { field: (d[2] ?? d[3] ?? d[4])!, line: l, json: false });
    // … or by a merge: `merged = user.prefs.merge(changes)`.
    const dm = mergedField && !field ? localAssign(t) : undefined;
    if (dm && dm !== r.holder) derived.set(dm, { field: mergedField!, line: l, json: true });

    if (field) {
      const w = findWrite(v, r, l + 1, field, undefined, fileText);
      if (w) return { read: r, field, computeLine: l, ...w, confidence: json ? 0.7 : w.confidence, json, delta: json ? undefined : deltaOf(t) };
    }
    // A write of the field in the same statement: update({ data: { f: x.f + n } }) / update!(f: x.f - n).
    const inline = jsonOnly ? null : inlineRe.exec(t);
    if (inline && sameField(inline[1]!, inline[2]!) && isWriteStart(v, l)) {
      const w = findWrite(v, r, startOfStatement(v, l), inline[2]!, undefined, fileText, true);
      if (w) return { read: r, field: inline[2]!, computeLine: l, ...w, delta: deltaOf(t) };
    }
    // A merged field written in the same statement: update!(prefs: user.prefs.merge(x)) / data: { prefs: { ...user.prefs, ...x } }.
    if (mergedField && !field && !dm) {
      const w = inlineMergeWrite(v, r, l, mergedField, fileText);
      if (w) return { read: r, field: mergedField, computeLine: l, ...w, confidence: 0.7, json: true };
    }
  }
  for (const [name, d] of docs) {
    const changed = docMutation(v, name, d.line + 1, d.inPlace);
    if (changed === undefined) continue;
    // Changed in place: saving the record writes it. A copy must be put back (`u.prefs = prefs`, `update(prefs: prefs)`).
    const w = (d.inPlace ? findWrite(v, r, changed + 1, d.field, undefined, fileText) : undefined) ?? findWrite(v, r, changed + 1, d.field, name, fileText);
    if (w) return { read: r, field: d.field, computeLine: changed, ...w, confidence: 0.7, json: true };
  }
  for (const [name, a] of aliases) followAlias(v, name, a, derived);
  for (const [name, a] of aliases) {
    // The copy itself written back with arithmetic: `update!(balance: previous - amount)`.
    const w = findWrite(v, r, a.line + 1, a.field, name, fileText, false, true);
    if (w) return { read: r, field: a.field, computeLine: a.line, ...w, delta: deltaOf(codeLine(v, w.writeLine)) };
  }
  for (const [name, d] of derived) {
    const w = findWrite(v, r, d.line + 1, d.field, name, fileText);
    if (w) return { read: r, field: d.field, computeLine: d.line, ...w, confidence: d.json ? 0.7 : w.confidence, json: d.json, delta: d.json ? undefined : deltaOf(codeLine(v, d.line)) };
  }
  return undefined;
}

/**
 * Locals computed from a plain copy of the field: `capped = [previous + accrual, cap].min`, `previous += n`,
 * and locals computed from those in turn (`final = clamp(total)`). Added to `derived` with the field they carry.
 */
function followAlias(v: FnView, alias: string, a: { field: string; line: number }, derived: Map<string, { field: string; line: number; json: boolean }>): void {
  const e = escapeRe(alias);
  const reassign = new RegExp(`^\\s*(?:const|let|var)?\\s*${e}\\s*=[^=]`);
  const selfArith = new RegExp(`^\\s*${e}\\s*(?:\\+=|-=|\\*=|/=|\\+\\+|--|=\\s*${e}\\s*[-+*/])`);
  const arith = new RegExp(`(?<![\\w$.])${e}\\s*[-+*/](?![=/*])|[-+*/]\\s*${e}(?![\\w$])|\\b(?:Math\\.)?(?:max|min|clamp)\\([^)]{0,120}(?<![\\w$.])${e}(?![\\w$])`);
  const tainted: string[] = [];
  for (let l = a.line + 1; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (t.includes(alias)) {
      if (selfArith.test(t)) {
        if (!derived.has(alias)) derived.set(alias, { field: a.field, line: l, json: false });
        tainted.push(alias);
        continue;
      }
      if (reassign.test(t)) break;
    }
    const local = localAssign(t);
    if (!local || local === alias || derived.has(local)) continue;
    const rhs = t.slice(t.indexOf('=') + 1);
    if ((rhs.includes(alias) && arith.test(rhs)) || tainted.some((n) => mentions(rhs, n))) {
      derived.set(local, { field: a.field, line: l, json: false });
      tainted.push(local);
    }
  }
}

/**
 * The first line after `from` that changes the document held in `name` in place: a key set or bumped, an element
 * pushed / appended / removed, a key deleted, `Object.assign(name, …)`; for a copy also a property set
 * (`doc.theme = t`). A plain alias leaves out Django's related-manager calls (`add` / `set` / `remove`).
 */
function docMutation(v: FnView, name: string, from: number, inPlace: boolean): number | undefined {
  const n = escapeRe(name);
  const methods = inPlace && v.family === 'python' ? 'append|extend|insert|pop|setdefault|update|discard' : 'push|unshift|splice|append|extend|insert|add|remove|discard|pop|setdefault|update|merge!|store|delete|set';
  const re = new RegExp(
    `(?<![\\w$.])${n}(?:\\[[^\\]\\n]{1,60}\\])+\\s*(?:=(?![=>])|\\+=|-=|\\+\\+|--|\\|\\|=|\\?\\?=)` +
      `|(?<![\\w$.])${n}(?:\\.[\\w$]+|\\[[^\\]\\n]{1,60}\\]){0,3}\\.(?:${methods})\\(` +
      `|\\bdelete\\s+${n}[.[]|\\bdel\\s+${n}\\[|\\bObject\\.assign\\(\\s*${n}\\s*,` +
      (inPlace ? '' : `|(?<![\\w$.])${n}(?:\\.[\\w$]+){1,3}\\s*(?:=(?![=>])|\\+=|-=|\\+\\+|--)`),
  );
  const reassign = new RegExp(`^\\s*(?:const|let|var)?\\s*${n}\\s*=[^=]`);
  for (let l = from; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.includes(name)) continue;
    if (re.test(t)) return l;
    if (reassign.test(t)) return undefined;
  }
  return undefined;
}

/** `name = …` / `const name = …` at the start of a line: the local assigned, if any. */
function localAssign(t: string): string | undefined {
  return /^\s*(?:const|let|var)?\s*([\w$]+)\s*(?::[^=\n]{1,80})?=(?![=>])/.exec(t)?.[1];
}

/** The update statement around `line` that writes `field` with a merge of the holder's own field. */
function inlineMergeWrite(v: FnView, r: Read, line: number, field: string, fileText: string): Omit<Hit, 'read' | 'field' | 'computeLine'> | undefined {
  // The nearest statement at or above the line that spans it and calls a write.
  let start = -1;
  let stmt = { text: '', endLine: 0 };
  for (let l = line; l >= Math.max(v.fn.startLine, line - 10); l--) {
    if (!/\.(?:update\w*|set|update_columns?|update_attributes?)\b|\.update!/.test(codeLine(v, l))) continue;
    const st = statementAt(v, l, 16);
    if (st.endLine >= line) [start, stmt] = [l, st];
    break;
  }
  if (start < 0) return undefined;
  const f = `(?:${escapeRe(field)}|${escapeRe(snake(field))})`;
  // The field is the key of the value: `f: …`, `"f" => …`, `f=…`, or `update_column(:f, …)`.
  if (!new RegExp(`(?:\\b${f}["'\`]?\\s*(?::|=>|=)(?!=)|[:"'\`]${f}["'\`]?\\s*,)`).test(stmt.text)) return undefined;
  if (ATOMIC_UPDATE.test(stmt.text) || VERSION_CHECK.test(stmt.text) || casGuard(stmt.text, field)) return undefined;
  const entity = writeEntity(stmt.text, fileText);
  if (entity && !sameEntity(entity, r.entity)) return undefined;
  if (!entity && !mentions(stmt.text, r.holder)) return undefined;
  const call = /([\w$.@]+)\.(update_columns?|update_attributes?|update!?|updateOne|set)\b/.exec(stmt.text);
  return { writeLine: start, writeEnd: stmt.endLine, writeCall: call ? `${call[1]}.${call[2]}` : 'update', confidence: 0.7 };
}

function deltaOf(t: string): string | undefined {
  const m = /(?:\+=|-=|[-+])\s*([\w$.]+)/.exec(t.replace(/\+\+|--/, '+= 1'));
  return m?.[1];
}

function startOfStatement(v: FnView, line: number): number {
  for (let l = line; l >= Math.max(v.fn.startLine, line - 8); l--) {
    if (/\b(?:await|update|save|Exec|execute|query)\b|\.update|\.filter\(/.test(codeLine(v, l)) && /^\s*(?:await\b|return\b|const\b|let\b|var\b|\w[\w.]*\s*(?:=|:=)|[\w.]+\()/.test(codeLine(v, l))) return l;
  }
  return line;
}

function isWriteStart(v: FnView, line: number): boolean {
  const s = startOfStatement(v, line);
  return /\.(?:update|updateOne|update_all|update!|update_columns?|update_attribute|set)\b|\bUPDATE\b/.test(statementAt(v, s, 14).text);
}

const SAVE_OF = (h: string) =>
  new RegExp(
    `(?<![\\w$.])${h}\\.(?:save!?|asave|save_changes|put|persist|update!?|update_attributes?!?|update_columns?)\\b|\\.(?:save|persist|merge|saveAndFlush|Save)\\(\\s*&?${h}\\b|\\bsession\\.(?:commit|flush)\\(|\\bdb\\.session\\.commit\\(`,
  );

/** The write-back of `field` (or of the local `derived` computed from it) after `from`. */
function findWrite(
  v: FnView,
  r: Read,
  from: number,
  field: string,
  derived: string | undefined,
  fileText: string,
  inline = false,
  arith = false,
): Omit<Hit, 'read' | 'field' | 'computeLine'> | undefined {
  const h = escapeRe(r.holder);
  const saveOf = SAVE_OF(h);
  const assignBack = !derived
    ? undefined
    : arith
      ? new RegExp(`(?<![\\w$.])${h}\\.${escapeRe(field)}\\s*=\\s*[^=;\\n]{0,120}?(?:(?<![\\w$.])${escapeRe(derived)}\\s*[-+*/]|[-+*/]\\s*${escapeRe(derived)}(?![\\w$]))`)
      : new RegExp(`(?<![\\w$.])${h}\\.${escapeRe(field)}\\s*=\\s*${escapeRe(derived)}\\s*;?\\s*$`);
  for (let l = from; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.trim()) continue;
    // The local assigned back to the field (`user.prefs = merged`), then the object saved.
    if (assignBack?.test(t)) return findWrite(v, r, l + 1, field, undefined, fileText);
    if (!/save|update|UPDATE|persist|merge|commit|flush|\bset\(|\.put\b/i.test(t) && !(r.loader !== undefined && SAVER_HINT.test(t)) && !(l > from && /^\s*$/.test(t))) {
      // Multi-line statements: the write marker may sit on a later line of a statement starting here.
      if (!/^\s*(?:await\b|return\b|const\b|let\b|var\b|[\w$.]+\s*(?:=|:=)|_,|if\b|\w+,\s*err)/.test(t) || !/save|update|UPDATE|persist/i.test(codeLine(v, l + 1) + codeLine(v, l + 2))) continue;
    }
    const stmt = statementAt(v, l, 14);
    // The record handed back to a save-like method of the object it was loaded from: `this.quotas.save(id, quota)`.
    if (!derived && !inline && r.loader !== undefined) {
      const sv = saverCall(stmt.text, r.loader, r.holder);
      if (sv) return { writeLine: l, writeEnd: stmt.endLine, writeCall: sv, confidence: 0.8 };
    }
    // save() of the object itself.
    if (!derived && !inline && saveOf.test(t)) {
      if (ATOMIC_UPDATE.test(stmt.text)) return undefined;
      const call = (saveOf.exec(t)![0] ?? '').replace(/\($/, '');
      return { writeLine: l, writeEnd: stmt.endLine, writeCall: call, confidence: 0.85 };
    }
    // An explicit update of the field: ORM update / knex update / SQL UPDATE.
    const isUpdate =
      /\.(?:update|updateOne|updateMany|update_all|update!|update_columns?|update_attribute|set)\s*\(|\bUPDATE\s+["`]?\w+["`]?\s+SET\b/i.test(stmt.text) ||
      (v.family === 'ruby' && /\.(?:update!?|update_columns?|update_attribute)[ \t]+:?\w/.test(stmt.text));
    if (!isUpdate || !/(?:await|return|\.|=|\()/.test(t)) continue;
    if (!/^\s*(?:await\b|return\b|const\b|let\b|var\b|[\w$.]+\s*(?:=|:=)|[\w$.@]+[.(]|_,|if\b|\w+,\s*err)/.test(t)) continue;
    const value = derived
      ? arith
        ? `(?:(?<![\\w$.])${escapeRe(derived)}\\s*[-+*/]|[-+*/]\\s*${escapeRe(derived)}(?![\\w$]))`
        : `(?<![\\w$.])${escapeRe(derived)}(?![\\w$])`
      : `(?<![\\w$.])${h}\\.${escapeRe(field)}\\s*[-+*/]`;
    const fieldRe = `(?:${escapeRe(field)}|${escapeRe(snake(field))})`;
    const sets =
      new RegExp(`\\b${fieldRe}\\b["'\`]?\\s*(?::|=>|=)\\s*[^,;\\n}]{0,120}?${value}`, 'i').test(stmt.text) ||
      new RegExp(`[:"'\`]${fieldRe}["'\`]?\\s*,\\s*[^,;\\n)]{0,120}?${value}`, 'i').test(stmt.text);
    const sqlSet = new RegExp(`\\bUPDATE\\s+["\`]?(\\w+)["\`]?\\s+SET\\s+[^;]{0,300}?\\b${fieldRe}\\s*=\\s*(\\$\\d+|\\?|%s|:\\w+|@\\w+|%\\(\\w+\\)s|\\$\\{[^}]{1,80}\\})`, 'i').exec(stmt.text);
    const sqlArg = sqlSet && new RegExp(value).test(stmt.text.slice(stmt.text.search(/\bUPDATE\b/i)));
    if (!sets && !sqlArg) continue;
    if (ATOMIC_UPDATE.test(stmt.text) || VERSION_CHECK.test(stmt.text)) return undefined;
    if (casGuard(stmt.text, field)) return undefined;
    const entity = sqlSet?.[1] ?? writeEntity(stmt.text, fileText);
    if (entity && r.loader === undefined && !sameEntity(entity, r.entity)) continue;
    if (!entity && !mentions(stmt.text, r.holder)) continue;
    const call = /([\w$.]+(?:\([^)]{0,60}\))?(?:\.\w+(?:\([^)]{0,60}\))?){0,3})\.(?:update|updateOne|updateMany|update_all|update!|set)\s*\(/.exec(stmt.text)?.[0]?.replace(/\($/, '') ?? (sqlSet ? `UPDATE ${sqlSet[1]} SET ${field}` : 'update');
    return { writeLine: l, writeEnd: stmt.endLine, writeCall: call, confidence: 0.9 };
  }
  return undefined;
}

// ------------------------------------------------------------------ records through a repository's load / save

/** The first word of a method name, lower-case: `loadPair` / `LoadPair` / `load_pair` -> load. */
function verbOf(name: string): string {
  return (/^_*([A-Za-z][a-z]*)/.exec(name)?.[1] ?? '').toLowerCase();
}
/** Verbs of a method that reads a record: `load`, `getStats`, `FetchAccount`, `find_by_card`. */
const READ_VERB = new Set(['load', 'get', 'fetch', 'find', 'read', 'lookup', 'retrieve', 'select']);
/** Receivers that are repositories / stores, whose methods read without a verb (`s.repo.GradeStats(…)`). */
const REPO_RECEIVER = /(?:repo|repository|store|storage|dao|gateway|queries)\.$/i;
/** Methods that do something other than read (build, compute, write, lock, count, list). */
const NOT_A_LOADER = new Set(
  'save update set put insert create delete remove add new build make compute calc calculate apply send publish enqueue emit lock acquire claim reserve incr decr increment decrement to from parse format validate check is has count list all begin start commit with upsert merge render map filter sum total'.split(' '),
);
/** Verbs of a method that writes a record back. */
const SAVER_VERB = '(?:[Ss]ave|[Ss]tore|[Pp]ut|[Pp]ersist|[Ww]rite|[Uu]pdate|[Uu]psert|[Ss]et|[Rr]eplace)';
const SAVER_HINT = /(?:save|store|put|persist|write|update|upsert|set|replace)\w*\s*\(/i;

/**
 * A save-like call on `recv` (the loader's receiver) with the record itself among its arguments:
 * `this.quotas.save(id, quota)`, `s.repo.SaveStats(ctx, tx, stats)`, `store.put(&acct)`. Returns the call.
 */
function saverCall(stmt: string, recv: string, holder: string): string | undefined {
  if (!stmt.includes(holder)) return undefined;
  const re = new RegExp(`(?<![\\w$.@])${escapeRe(recv)}(${SAVER_VERB}\\w*)\\s*\\(`, 'g');
  for (const m of stmt.matchAll(re)) {
    const args = callArgs(stmt, m.index! + m[0].length - 1) ?? [];
    if (args.some((a) => a.replace(/^[&*]\s*/, '') === holder)) return `${recv}${m[1]}`;
  }
  return undefined;
}

/** A function defined in the files of the review, by its own name (the last part of `Class.method`). */
const definedIndex = new WeakMap<readonly SourceFile[], Map<string, Array<{ file: SourceFile; fn: FunctionSpan }>>>();

/**
 * Views of the review's functions (up to 60 lines) named `name`. The index holds spans only; views are built on
 * lookup, so the review does not keep a masked copy of every function alive.
 */
function definedAs(files: readonly SourceFile[], name: string): FnView[] {
  let idx = definedIndex.get(files);
  if (!idx) {
    idx = new Map();
    for (const file of files) {
      for (const fn of file.functions) {
        if (fn.endLine - fn.startLine > 60) continue;
        const n = fn.name.slice(Math.max(fn.name.lastIndexOf('.'), fn.name.lastIndexOf('#')) + 1);
        const list = idx.get(n);
        if (list) list.push({ file, fn });
        else idx.set(n, [{ file, fn }]);
      }
    }
    definedIndex.set(files, idx);
  }
  return (idx.get(name) ?? []).flatMap(({ file, fn }) => viewOf(file, fn) ?? []);
}

const LOADER_LHS =
  /^\s*(?:(?:const|let|var)\s+)?(\[\s*[\w$]+\s*(?:,\s*[\w$]+\s*){0,3}\]|[A-Za-z_$@][\w$]*)(?:\s*,\s*(?:err|_|error|ok)\b)?\s*(?::\s*[^=\n]{1,80})?(?::=|=)(?![=>])\s*(await\s+)?((?:(?:this|self|@?[A-Za-z_$][\w$]*)\.){0,3})([A-Za-z_$][\w$]*)\s*\(/;

/**
 * Records loaded through a method of a repository / store object, or a loader function, defined elsewhere:
 * `const quota = await this.quotas.load(card)`, `const [a, b] = await this.loadPair(x, y)`,
 * `stats, err := s.repo.GradeStats(ctx, tx, id)`. Quiet when the loader, where the diff shows it, locks the row
 * (or is named for it), guards a store read, and when the loader takes a transaction in a file that locks rows.
 */
function loaderReads(ctx: DetectorContext, v: FnView, explicit: Read[]): Read[] {
  const out: Read[] = [];
  const seen = new Set(explicit.map((r) => r.holder));
  for (let i = 1; i < v.codeLines.length; i++) {
    const t = v.codeLines[i]!;
    if (!t.includes('(') || !t.includes('=')) continue;
    const m = LOADER_LHS.exec(t);
    if (!m) continue;
    const recv = m[3] ?? '';
    const name = m[4]!;
    const verb = verbOf(name);
    if (NOT_A_LOADER.has(verb) || /lock|forupdate|exclusive/i.test(name) || !(READ_VERB.has(verb) || (REPO_RECEIVER.test(recv) && /^[A-Z]/.test(name) === (v.family === 'go')))) continue;
    // JS: an unawaited call is an in-memory map or a computation, not a store.
    if (v.family === 'js' && !m[2]) continue;
    if (/^(?:Object|Array|Map|JSON|Math|Promise|Reflect|os|env|process|request|req|res|response|params|ctx|context|http|url|config|settings)\.$/.test(recv) || /(?:^|\.)(?:headers|params|query|body|cookies|session|form|args|environ|env|config|options|cache|map|dict)\.$/i.test(recv)) continue;
    const line = v.fn.startLine + i;
    const stmt = statementAt(v, line, 8).text;
    const args = callArgs(stmt, stmt.indexOf(m[0].slice(m[0].lastIndexOf(name))) + name.length) ?? [];
    const defs = definedAs(ctx.files, name);
    if (defs.some((d) => ROW_LOCK.test(d.code) || SERIALIZABLE.test(d.code) || KV_GUARD.test(d.code))) continue;
    if (args.some((a) => /^(?:tx|trx|txn|manager|em|session)$/.test(a)) && defs.length === 0 && ROW_LOCK.test(ctx.file.text)) continue;
    const holders = m[1]!.replace(/[[\]\s]/g, '').split(',').filter((h) => h && !/^(?:err|_|error|ok)$/.test(h));
    for (const holder of holders) {
      if (seen.has(holder)) continue;
      seen.add(holder);
      out.push({ holder, entity: holder, line, call: `${recv}${name}`, loader: recv });
    }
  }
  return out;
}

/** A save-like method of the review whose write is guarded (version check, compare-and-set, atomic, conditional). */
function guardedSaver(ctx: DetectorContext, writeCall: string): boolean {
  const name = /([\w$]+)$/.exec(writeCall)?.[1];
  if (!name) return false;
  return definedAs(ctx.files, name).some((d) => VERSION_CHECK.test(d.code) || ATOMIC_UPDATE.test(d.code) || KV_GUARD.test(d.code) || ROW_LOCK.test(d.code) || /['"](?:NX|XX)['"]/.test(d.code));
}

/** The old value repeated in the write's WHERE: a compare-and-set that fails when someone else wrote first. */
function casGuard(stmt: string, field: string): boolean {
  const f = `(?:${escapeRe(field)}|${escapeRe(snake(field))})`;
  return (
    new RegExp(`\\bwhere\\s*:\\s*\\{[^}]{0,300}\\b${f}\\b`, 'i').test(stmt) ||
    new RegExp(`\\bWHERE\\b[^;"'\`]{0,300}\\b${f}\\s*=`, 'i').test(stmt) ||
    new RegExp(`\\.(?:filter|where)\\([^)]{0,300}\\b${f}\\b`).test(stmt)
  );
}

function writeEntity(stmt: string, fileText: string): string | undefined {
  const m = /([\w$.]+(?:\(\s*['"]\w+['"]\s*\))?)(?:\.(?:where|filter|filter_by|objects)\b(?:\([^)]{0,200}\))?){0,3}\.(?:update|updateOne|updateMany|update_all|set)\s*\(/.exec(stmt);
  if (m) {
    const e = entityOfReceiver(m[1]!, fileText) ?? entityOfReceiver(stmt.slice(0, m.index! + m[1]!.length), fileText);
    if (e) return e;
  }
  const drizzle = /\.update\(\s*(\w+)\s*\)\s*\.set\(/.exec(stmt);
  if (drizzle) return drizzle[1];
  return sqlTables(stmt).written[0];
}

/** SQL read + SQL write of the same table and column, with the new value computed in code. */
function sqlHit(v: FnView, r: Read): Hit | undefined {
  const h = escapeRe(r.holder);
  let computeLine: number | undefined;
  let delta: string | undefined;
  const re = /\bUPDATE\s+["`]?(?:\w+\.)?([A-Za-z_]\w*)["`]?\s+SET\s+([^;]{1,400}?)(?:\bWHERE\b([^;"'`]{0,300})|["'`]|$)/gi;
  for (const m of v.code.matchAll(re)) {
    const line = v.lineAt(m.index!);
    if (line <= r.line || !sameEntity(m[1], r.entity)) continue;
    const where = m[3] ?? '';
    for (const assign of m[2]!.split(',')) {
      const a = /^\s*["`]?(\w+)["`]?\s*=\s*(.+?)\s*$/.exec(assign);
      if (!a || !PLACEHOLDER.test(a[2]!)) continue;
      const col = a[1]!.toLowerCase();
      if (!r.columns!.includes(col) && !r.columns!.includes('*')) continue;
      if (new RegExp(`\\b${col}\\s*=`, 'i').test(where) || VERSION_CHECK.test(where)) continue;
      // The computed value: arithmetic on the holder between the read and the write, or in the write's arguments.
      const arith = new RegExp(`(?<![\\w$.])${h}(?:\\.\\w+|\\[[^\\]]{1,40}\\]){0,4}\\s*(?:\\+\\+|--|\\+=|-=|\\*=)|(?<![\\w$.])${h}(?:\\.\\w+|\\[[^\\]]{1,40}\\]){0,4}\\s*[-+*]\\s*[\\w$(]|=\\s*[\\w$.]+\\s*[-+]\\s*(?<![\\w$.])${h}\\b`);
      for (let l = r.line; l <= line + 6 && l <= v.fn.endLine; l++) {
        const t = codeLine(v, l);
        if (t.includes(r.holder) && arith.test(t) && !/\bSELECT\b/i.test(t)) {
          computeLine = l;
          delta = deltaOf(t);
          break;
        }
      }
      if (computeLine === undefined) return undefined;
      const stmtStart = startOfStatement(v, line);
      const stmt = statementAt(v, stmtStart, 12);
      return {
        read: r,
        field: col,
        computeLine,
        writeLine: stmtStart,
        writeEnd: Math.max(stmt.endLine, line),
        writeCall: `UPDATE ${m[1]} SET ${col} = ${a[2]}`,
        confidence: 0.9,
        delta,
      };
    }
  }
  return undefined;
}

/**
 * A column read by SQL, carried through locals (decoded: `json.Unmarshal(raw, &m)`, `JSON.parse(row.col)`,
 * `json.loads(raw)`), changed in code (`m[k]++`, `doc.tags.push(t)`, `d[k] = d.get(k, 0) + 1`) and bound whole
 * (re-encoded) to the placeholder of `UPDATE t SET col = $n`: every key a concurrent writer changed in between is
 * overwritten. Only the argument bound to the column's own placeholder counts.
 */
function sqlFlowHit(v: FnView, r: Read): Hit | undefined {
  if (!/\bUPDATE\b/i.test(v.code)) return undefined;
  for (const { table, line, col, placeholder, stmtStart, stmt, value } of setBindings(v, CAST_BINDING)) {
    if (line <= r.line || !sameEntity(table, r.entity)) continue;
    if (!r.columns!.includes(col) && !r.columns!.includes('*')) continue;
    if (value === undefined) continue;
    // Follow the value read through the locals computed from it, up to the write.
    const tainted = [r.holder];
    let named = new RegExp(`(?<![\\w$.@])(?:${tokenRe(tainted)})(?![\\w$])`);
    let changed: number | undefined;
    for (let l = r.line + 1; l < stmtStart; l++) {
      const t = codeLine(v, l);
      if (!named.test(t)) continue;
      if (changed === undefined && !/\bSELECT\b/i.test(t) && modifiesFrom(t, tainted)) changed = l;
      const grow: string[] = [];
      const as = KV_LHS.exec(t);
      if (as && named.test(as[2]!)) grow.push(...lhsNames(as[1]!));
      if (v.family === 'go') for (const g of t.matchAll(/&([A-Za-z_]\w*)/g)) grow.push(g[1]!);
      const fresh = grow.filter((n) => !tainted.includes(n) && !/^(?:ctx|context|tx|db|rows|row_count|n)$/.test(n));
      if (fresh.length) {
        tainted.push(...fresh);
        named = new RegExp(`(?<![\\w$.@])(?:${tokenRe(tainted)})(?![\\w$])`);
      }
    }
    if (changed === undefined || !named.test(value)) continue;
    return {
      read: r,
      field: col,
      computeLine: changed,
      writeLine: stmtStart,
      writeEnd: Math.max(stmt.endLine, line),
      writeCall: `UPDATE ${table} SET ${col} = ${placeholder}`,
      confidence: 0.75,
      json: true,
    };
  }
  return undefined;
}

/** `col = <placeholder>` in a SET list, optionally cast (`CAST($1 AS jsonb)`, `$1::jsonb`). */
const CAST_BINDING = /^\s*["`]?(\w+)["`]?\s*=\s*(?:CAST\(\s*)?(\$\d+|\?|%s|:\w+|@\w+|%\(\w+\)s|\$\{[^}]{1,80}\})(?:\s*::\s*\w+|\s+AS\s+\w+\s*\))?\s*$/i;
/** `col = <placeholder>` in a SET list, plain. */
const PLAIN_BINDING = /^\s*["`]?(\w+)["`]?\s*=\s*(\$\d+|\?|%s|:\w+|@\w+|%\(\w+\)s|\$\{[^}]{1,80}\})\s*$/i;

interface SetBinding {
  table: string;
  /** Line of the UPDATE. */
  line: number;
  /** Column (lower-case) set from a placeholder, not compared in the WHERE. */
  col: string;
  placeholder: string;
  stmtStart: number;
  stmt: { text: string; endLine: number };
  /** The argument bound to the placeholder, when it can be matched. */
  value: string | undefined;
}

/**
 * Every `UPDATE t SET col = <placeholder>` of the function without a version check, whose WHERE does not compare
 * `col` itself, with the argument bound to that placeholder (`binding` matches one assignment of the SET list).
 */
function* setBindings(v: FnView, binding: RegExp): Generator<SetBinding> {
  const re = /\bUPDATE\s+["`]?(?:\w+\.)?([A-Za-z_]\w*)["`]?\s+SET\s+([^;]{1,400}?)(?:\bWHERE\b([^;"'`]{0,300})|["'`]|$)/gi;
  for (const m of v.code.matchAll(re)) {
    const line = v.lineAt(m.index!);
    const where = m[3] ?? '';
    if (VERSION_CHECK.test(where)) continue;
    const setAt = m[0].indexOf(m[2]!);
    let offset = 0;
    for (const assign of m[2]!.split(',')) {
      const prefix = m[0].slice(0, setAt + offset);
      offset += assign.length + 1;
      const a = binding.exec(assign);
      if (!a) continue;
      const col = a[1]!.toLowerCase();
      if (new RegExp(`\\b${col}\\s*=`, 'i').test(where)) continue;
      const stmtStart = startOfStatement(v, line);
      const stmt = statementAt(v, stmtStart, 14);
      yield { table: m[1]!, line, col, placeholder: a[2]!, stmtStart, stmt, value: boundValue(stmt.text, a[2]!, m[0], prefix) };
    }
  }
}

/**
 * A record loaded through a helper call (`acct, err := s.AccountFor(ctx, id)`, `const acct = await repo.load(id)`),
 * one of its fields changed in code (`left := acct.Balance - amount`) and bound to the placeholder of
 * `UPDATE t SET balance = $1`, the column named like the field: a concurrent change between the load and the
 * write is overwritten. Quiet when the load passes a transaction handle and the file locks rows (`FOR UPDATE`).
 */
function loadedFlowHit(v: FnView, fileText: string): Hit | undefined {
  if (!/\bUPDATE\b/i.test(v.code) || !/\bSET\b/i.test(v.code)) return undefined;
  for (const { table, line, col, placeholder, stmtStart, stmt, value: bound } of setBindings(v, PLAIN_BINDING)) {
    const value = bound?.trim();
    if (!value) continue;
    // `holder.Field op …` / `… op holder.Field` with the field named like the column.
    const arith = (t: string) => {
      for (const f of t.matchAll(/(?<![\w$.@])([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?![\w$(])/g)) {
        if (!sameField(f[2]!, col) || NOT_A_RECORD.test(f[1]!)) continue;
        const at = f.index!;
        const after = t.slice(at + f[0].length);
        const before = t.slice(0, at);
        if (/^\s*[-+*/](?![=/*>])/.test(after) || /[-+*/]\s*\(?\s*$/.test(before)) return f[1];
      }
      return undefined;
    };
    let holder = arith(value);
    let computeLine = holder ? stmtStart : undefined;
    if (!holder && /^[A-Za-z_$][\w$]*$/.test(value)) {
      const def = new RegExp(`^\\s*(?:(?:const|let|var)\\s+)?${escapeRe(value)}\\s*(?::\\s*[^=\\n]{1,60})?(?::=|=)(?![=>])(.*)$`);
      for (let l = stmtStart - 1; l > v.fn.startLine && !holder; l--) {
        const dm = def.exec(codeLine(v, l));
        if (dm && (holder = arith(dm[1]!))) computeLine = l;
      }
    }
    if (!holder || computeLine === undefined) continue;
    // The holder comes from a call before the change (not built locally, not a parameter).
    const load = new RegExp(`^\\s*(?:(?:const|let|var)\\s+)?${escapeRe(holder)}\\s*(?:,\\s*\\w+\\s*)?(?::\\s*[^=\\n]{1,60})?(?::=|=)(?![=>])\\s*(?:await\\s+)?[\\w$.]+\\(([^\\n]*)$`);
    let readLine: number | undefined;
    let args = '';
    for (let l = computeLine - 1; l > v.fn.startLine; l--) {
      const lm = load.exec(codeLine(v, l));
      if (lm) {
        readLine = l;
        args = lm[1]!;
        break;
      }
    }
    if (readLine === undefined) continue;
    if (/\b(?:tx|trx|txn)\b/.test(args) && ROW_LOCK.test(fileText)) continue;
    return {
      read: { holder, entity: table, line: readLine, call: codeLine(v, readLine).trim().slice(0, 80), columns: [col] },
      field: col,
      computeLine,
      writeLine: stmtStart,
      writeEnd: Math.max(stmt.endLine, line),
      writeCall: `UPDATE ${table} SET ${col} = ${placeholder}`,
      confidence: 0.75,
      delta: deltaOf(codeLine(v, computeLine)),
    };
  }
  return undefined;
}

/**
 * The argument bound to `placeholder` in the statement running `sql` (`$2` -> the second argument after the
 * query string, `?` / `%s` by position, a template hole is its own expression). Undefined when it cannot be told.
 */
function boundValue(stmt: string, placeholder: string, sql: string, prefix: string): string | undefined {
  const hole = /^\$\{([^}]{1,80})\}$/.exec(placeholder);
  if (hole) return hole[1];
  const at = stmt.indexOf(sql.slice(0, 40));
  if (at < 0) return undefined;
  // The string holding the SQL: from the quote before UPDATE to the same quote after it.
  const before = stmt.slice(0, at);
  const qi = Math.max(before.lastIndexOf('"'), before.lastIndexOf("'"), before.lastIndexOf('`'));
  if (qi < 0) return undefined;
  const q = stmt[qi]!;
  let close = stmt.indexOf(q, at);
  if (close < 0) return undefined;
  while (stmt[close + 1] === q) close++;
  const sqlText = stmt.slice(qi + 1, close);
  let args = topArgs(stmt.slice(close + 1));
  if (args.length === 1 && /^[[(]/.test(args[0]!)) {
    const inner = callArgs(args[0]!, 0);
    if (inner) args = inner;
  }
  if (args.length === 0) return undefined;
  let index: number;
  const n = /^\$(\d+)$/.exec(placeholder);
  if (n) index = Number(n[1]) - 1;
  else if (placeholder === '?' || placeholder === '%s') {
    // Position among the statement's placeholders of that kind: those before this assignment are bound first.
    const upTo = sqlText.indexOf(sql.slice(0, 40));
    if (upTo < 0) return undefined;
    index = (sqlText.slice(0, upTo) + prefix).split(placeholder).length - 1;
  } else {
    // Named parameters: the argument that names it (`{ prefs: … }`, `prefs=…`, `"prefs": …`).
    const name = placeholder.replace(/^[:@]|^%\(|\)s$/g, '');
    const named = args.join(',').match(new RegExp(`["']?\\b${escapeRe(name)}\\b["']?\\s*(?::|=>|=)(?!=)\\s*([^,}\\n]{1,120})`));
    return named?.[1];
  }
  return index >= 0 && index < args.length ? args[index] : undefined;
}

/** Top-level comma-separated expressions from the start of `text` up to the bracket that closes the call. */
function topArgs(text: string): string[] {
  return (callArgs(`(${text.slice(0, 2000)})`, 0) ?? []).filter((a) => a !== '');
}

// ------------------------------------------------------------------ key-value stores

/** A write to a key-value store somewhere in the function (cheap pre-check before the per-line work). */
const KV_WRITE_HINT = /\.(?:h?set|hSet|setex|setEx|psetex|pSetEx|hmset|hmSet|write|Set|HSet|HMSet|SetEX|SetEx|put_item|putItem|update_item|updateItem)\s*\(|\b(?:Put|Update)(?:Item)?Command\b|\.(?:put|update)\(\s*\{/;
/** Ways to make the read and the write one atomic step: WATCH/MULTI, a Lua script, a lock, a conditional write. */
const KV_GUARD =
  /\.watch\(|\bWATCH\b|\.Watch\(|\.eval(?:sha)?\(|\.Eval(?:Sha)?\(|\bEVAL(?:SHA)?\b|\bdefineCommand\b|\bregister_script\b|\bredlock\b|\bRedlock\b|\.lock\(|\bLock\(|\bmutex\b|\bMutex\b|\.acquire\(|\bwithLock\b|\brunExclusive\b|\bConditionExpression\b|\bcondition_expression\b|\.cas\(|\.gets\(|\bSetNX\b|\.setnx\(|\bTxPipelined\b|\.transaction\(\s*[\w$]+\s*,/;
/** Names a key-value client goes by (a helper that takes one reads from the store). */
const KV_CLIENT = /(?:^|[._@$])(?:redis\w*|\w*Redis|valkey|keydb|memcache\w*|\w*Memcache\w*|dalli|kv|\w+Kv|rdb|mc|REDIS|KV)$/;
/** Receivers whose `get` / `set` reach a shared store (strict names, or any awaited client in JS / Python). */
const KV_RECEIVER = /(?:^|[._@$])(?:redis\w*|\w*Redis|valkey|keydb|memcache\w*|\w*Memcache\w*|dalli|kv|\w+Kv|rdb|mc|cache|\w*Cache|client|\w*Client|store|\w*Store|r|REDIS|KV|CACHE)$/;

interface KvRead {
  line: number;
  names: string[];
  /** Key arguments as written (direct reads: the key and, for hashes, the field). */
  key: string[];
  /** Read through a helper that takes the client: compare identifiers of the key arguments only. */
  helper: boolean;
  dynamo: boolean;
  call: string;
}

/** Arguments of the call whose `(` is at `open` in `text` (top-level commas; strings are skipped). */
function callArgs(text: string, open: number): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = open; i < text.length && i < open + 2000; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      cur += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      depth++;
      if (depth === 1) continue;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        if (cur.trim()) out.push(cur.trim());
        return out;
      }
    } else if (c === ',' && depth === 1) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  return undefined;
}

/** Identifier paths and string literal contents of a key expression (`statsKey(a.b, c)` -> a.b, c). */
function keyTokens(expr: string, idsOnly: boolean): string {
  const toks: string[] = [];
  for (const m of expr.matchAll(/(["'`])((?:\\.|(?!\1)[^\\\n]){0,200})\1|([A-Za-z_$@][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(\s*\()?/g)) {
    if (m[2] !== undefined) {
      if (idsOnly) {
        // Template literal holes are identifiers too.
        for (const h of m[2].matchAll(/\$\{\s*([\w$.]+)\s*\}|#\{\s*([\w$.@]+)\s*\}|\{\s*([\w.]+)\s*\}/g)) toks.push((h[1] ?? h[2] ?? h[3])!);
      } else toks.push(m[2].replace(/\$\{\s*([\w$.]+)\s*\}|#\{\s*([\w$.@]+)\s*\}|\{(\w*)\}/g, '{$1$2$3}'));
      continue;
    }
    if (m[4] || /^(?:ctx|context|this|self|await|f|str|String|fmt\.Sprintf)$/.test(m[3]!)) continue;
    toks.push(m[3]!);
  }
  return (idsOnly ? [...new Set(toks)].sort() : toks).join('|');
}

const KV_LHS = /^\s*(?:(?:const|let|var)\s+)?(\{[^}]{1,160}\}|\[[^\]]{1,160}\]|[\w$@]+(?:\s*,\s*[\w$@]+){0,3})\s*(?::\s*[^=\n]{1,80})?(?::=|=)(?![=>])\s*(.*)$/;

function lhsNames(lhs: string): string[] {
  return [...lhs.matchAll(/[A-Za-z_$@][\w$]*/g)].map((m) => m[0]).filter((n) => !/^(?:err|_|error|ok)$/.test(n));
}

/** Reads of one key from a key-value store: `raw = await redis.get(k)`, `JSON.parse(await redis.get(k))`, a helper given the client, a DynamoDB get, a sibling method reading one key (`sib`). */
function kvReads(v: FnView, sib?: Siblings): KvRead[] {
  const out: KvRead[] = [];
  for (let i = 0; i < v.codeLines.length; i++) {
    const t = v.codeLines[i]!;
    if (sib && (SELF_CALL.test(t) || (v.family === 'ruby' && RB_BARE_CALL_AT.test(t)))) {
      const m = KV_LHS.exec(t);
      const line = v.fn.startLine + i;
      const read = m ? siblingKvRead(sib, statementAt(v, line, 8).text, v.family) : undefined;
      if (read) {
        const names = lhsNames(m![1]!);
        if (names.length > 0) {
          out.push({ line, names, key: read.key, helper: false, dynamo: false, call: read.call });
          continue;
        }
      }
    }
    if (!/\.(?:get|hget|hGet|hgetall|hGetAll|hmget|hmGet|read|fetch|Get|HGet|HGetAll|get_item|getItem)\s*\(|\bGet(?:Item)?Command\b|\(\s*(?:this\.|self\.)?[\w$]*(?:redis|Redis|valkey|memcache|kv|Kv|rdb|REDIS)\w*\s*,/.test(t)) continue;
    const m = KV_LHS.exec(t);
    if (!m) continue;
    const line = v.fn.startLine + i;
    const stmt = statementAt(v, line, 8).text;
    const rhs = stmt.slice(stmt.indexOf(m[2]!.slice(0, 20)));
    const names = lhsNames(m[1]!);
    if (names.length === 0) continue;
    const awaited = /\bawait\b/.test(rhs);
    // DynamoDB: GetCommand / GetItemCommand / DocumentClient get({ TableName, Key }) / boto3 get_item(Key=…).
    const dyn = /\bGet(?:Item)?Command\s*\(|\.get_item\s*\(|\.getItem\s*\(|\.get\(\s*\{[^}]{0,200}\bTableName\b/.exec(rhs);
    if (dyn) {
      out.push({ line, names, key: [], helper: false, dynamo: true, call: dyn[0].replace(/\s*\($/, '').replace(/^\./, '') });
      continue;
    }
    // Direct: client.get(key) / client.hget(key, field) / Go client.Get(ctx, key).
    const d = /([\w$.@]+(?:\(\))?)\.(get|hget|hGet|hgetall|hGetAll|hmget|hmGet|read|fetch|Get|HGet|HGetAll)\s*\(/.exec(rhs);
    if (d) {
      const recv = d[1]!.replace(/\(\)$/, '');
      const go = v.family === 'go';
      if (go ? !/^(?:Get|HGet|HGetAll)$/.test(d[2]!) : /^(?:Get|HGet|HGetAll)$/.test(d[2]!)) continue;
      if (d[2] === 'read' && !/cache/i.test(recv)) continue;
      // Ruby `Rails.cache.fetch(key) { seed }` reads (and fills) the cache; elsewhere `fetch` is a Hash / HTTP call.
      if (d[2] === 'fetch' && (v.family !== 'ruby' || !/cache/i.test(recv))) continue;
      if (!KV_RECEIVER.test(recv) && !(recv.endsWith('.json') && KV_RECEIVER.test(recv.slice(0, -5)))) continue;
      // JS and Python in-memory maps are not awaited; strict client names may be synchronous (redis-py, redis-rb).
      if ((v.family === 'js' && !awaited) || (v.family === 'python' && !awaited && !KV_CLIENT.test(recv) && !/cache/i.test(recv))) continue;
      let args = callArgs(rhs, d.index! + d[0].length - 1);
      if (!args || args.length === 0) continue;
      if (go) {
        if (!/^(?:ctx|context\.\w+\(\)|\w*[cC]tx)$/.test(args[0]!)) continue;
        args = args.slice(1);
      }
      out.push({ line, names, key: args.slice(0, d[2]!.toLowerCase() === 'hget' ? 2 : 1), helper: false, dynamo: false, call: `${recv}.${d[2]}` });
      continue;
    }
    // A helper handed the client: `stats = await loadStats(redis, season, player)`.
    const h = /(?:^|[^\w$.])((?:this\.|self\.)?[\w$]+)\s*\(\s*((?:this\.|self\.)?[\w$]+)\s*,/.exec(rhs);
    if (h && /^(?:this\.|self\.)?(?:get|load|fetch|read|find)/i.test(h[1]!) && KV_CLIENT.test(h[2]!)) {
      const args = callArgs(rhs, h.index! + h[0].indexOf('('));
      if (!args || args.length < 2) continue;
      out.push({ line, names, key: args.slice(1), helper: true, dynamo: false, call: h[1]! });
    }
  }
  return out;
}

/** A write of one key: `client.set(k, v)` / `hset(k, f, v)` / `setex(k, ttl, v)` / a DynamoDB put or update. */
interface KvWrite {
  line: number;
  endLine: number;
  key: string[];
  value: string;
  call: string;
  dynamo: boolean;
  stmt: string;
}

function kvWriteAt(v: FnView, line: number): KvWrite | undefined {
  const t = codeLine(v, line);
  if (!KV_WRITE_HINT.test(t)) return undefined;
  const stmt = statementAt(v, line, 14);
  const dyn = /\b(?:Put|Update)(?:Item)?Command\s*\(|\.(?:put_item|putItem|update_item|updateItem)\s*\(|\.(?:put|update)\(\s*\{/.exec(t);
  if (dyn) {
    const text = stmt.text.slice(stmt.text.indexOf(dyn[0]));
    if (!/\b(?:TableName|Item|Key)\b/.test(text)) return undefined;
    return { line, endLine: stmt.endLine, key: [], value: text, call: dyn[0].replace(/\s*\($/, '').replace(/^\./, ''), dynamo: true, stmt: text };
  }
  const m = /([\w$.@]*(?:\([^()\n]{0,40}\))?)\.(set|hset|hSet|hmset|hmSet|setex|setEx|psetex|pSetEx|write|Set|HSet|HMSet|SetEX|SetEx)\s*\(/.exec(t);
  if (!m) return undefined;
  const go = v.family === 'go';
  if (go !== /^[A-Z]/.test(m[2]!)) return undefined;
  if (m[2] === 'write' && !/cache/i.test(m[1]!)) return undefined;
  const text = stmt.text.slice(stmt.text.indexOf(m[0]));
  let args = callArgs(text, m[0].length - 1);
  if (!args || args.length < 2) return undefined;
  if (go) args = args.slice(1);
  const op = m[2]!.toLowerCase();
  let key: string[];
  let value: string;
  if (op === 'hset' && args.length >= 3) [key, value] = [args.slice(0, 2), args.slice(2).join(', ')];
  else if (op === 'setex' || op === 'psetex') [key, value] = [args.slice(0, 1), args.slice(2).join(', ')];
  else [key, value] = [args.slice(0, 1), args.slice(1).join(', ')];
  let recv = /([\w$@]+)\s*$/.exec(m[1]!.replace(/\([^()\n]{0,40}\)$/, ''))?.[1];
  // A chained call (`await redis\n  .multi()\n  .set(…)`): the client starts the chain a few lines up.
  for (let l = line - 1; !recv && l >= Math.max(v.fn.startLine, line - 6); l--) {
    const up = codeLine(v, l);
    if (/^\s*\./.test(up)) continue;
    recv = /^\s*(?:return\s+)?(?:await\s+)?([\w$@]+)/.exec(up)?.[1] ?? '';
  }
  return { line, endLine: stmt.endLine, key, value, call: recv ? `${recv}.${m[2]}` : m[2]!, dynamo: false, stmt: text };
}

function tokenRe(names: readonly string[]): string {
  return names.map(escapeRe).join('|');
}

/** A change computed from the value read: arithmetic on it, `+=`, `x.f++`, an element pushed / added / removed, a key set. */
function modifiesFrom(text: string, names: readonly string[]): boolean {
  const n = `(?:${tokenRe(names)})`;
  const path = `(?<![\\w$.@])${n}(?:\\.[\\w$]+(?:\\([^()\\n]{0,60}\\))?|\\[[^\\]\\n]{1,60}\\]){0,4}`;
  return new RegExp(
    `${path}\\s*(?:[-+*/](?![=/*>])|\\+=|-=|\\*=|/=|\\|=|\\+\\+|--|<<)` +
      `|(?:^|[^\\w$.])[-+*/]\\s*\\(?${n}(?![\\w$])` +
      `|(?:Number|parseInt|parseFloat|int|float|Decimal|BigInt|Integer|Float|strconv\\.Atoi)\\(\\s*${n}\\b[^()\\n]{0,40}\\)\\s*[-+*/](?![=/*>])` +
      `|${path}\\.(?:push|unshift|splice|append|extend|insert|add|remove|discard|delete|pop|setdefault|concat|merge!|store)\\(` +
      `|${path}\\[[^\\]\\n]{1,60}\\]\\s*=(?!=)|\\bdelete\\s+${n}[.[]|\\b(?:Math\\.)?(?:max|min)\\([^)\\n]{0,80}${path}\\s*[-+*/]`,
  ).test(text);
}

/** A call of a method on the same object: `this.load(id)`, `self._get(k)`. */
const SELF_CALL = /(?:^|[^\w$.])(?:this|self)\.[A-Za-z_$][\w$]*\s*\(/;
const SELF_CALL_AT = /(?:^|[^\w$.])(?:this|self)\.([A-Za-z_$][\w$]*)\s*\(/;
/** Ruby: a method of the same class called without a receiver, its result assigned (`stats = fetch(route)`). */
const RB_BARE_CALL_AT = /^\s*@?[a-z_]\w*\s*=\s*([a-z_]\w*[!?]?)\s*\(/;

/** Short methods of the class a function belongs to, by name (spans named `Class.method`). */
type Siblings = (name: string) => FnView | undefined;

const siblingIndex = new WeakMap<SourceFile, Map<string, Map<string, FunctionSpan>>>();

function siblingsOf(file: SourceFile, fn: FunctionSpan): Siblings | undefined {
  const dot = fn.name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  let byClass = siblingIndex.get(file);
  if (!byClass) {
    byClass = new Map();
    for (const f of file.functions) {
      const d = f.name.lastIndexOf('.');
      if (d <= 0 || f.endLine - f.startLine > 20) continue;
      const cls = f.name.slice(0, d);
      let m = byClass.get(cls);
      if (!m) byClass.set(cls, (m = new Map()));
      if (!m.has(f.name.slice(d + 1))) m.set(f.name.slice(d + 1), f);
    }
    siblingIndex.set(file, byClass);
  }
  const methods = byClass.get(fn.name.slice(0, dot));
  if (!methods) return undefined;
  return (name) => {
    const f = methods.get(name);
    return f && f !== fn ? viewOf(file, f) : undefined;
  };
}

/** `expr` with the helper's parameters replaced by the caller's arguments. */
function substArgs(expr: string, params: readonly string[], args: readonly string[]): string {
  let out = expr;
  params.forEach((p, i) => {
    const a = args[i];
    if (a === undefined || !out.includes(p)) return;
    const arg = /^[\w$.]+$/.test(a) ? a : `(${a})`;
    out = out.replace(new RegExp(`(?<![\\w$.])${escapeRe(p)}(?![\\w$])`, 'g'), () => arg);
  });
  return out;
}

interface SiblingKv {
  params: string[];
  read?: { key: string[]; call: string };
  write?: KvWrite;
}
const siblingKvCache = new WeakMap<FnView, SiblingKv | null>();

/**
 * What a short sibling method does with the store: reads one key and returns it (`const raw = await
 * this.redis.get(this.key(id)); return raw ? JSON.parse(raw) : null`), or writes one key from its parameters
 * (`await this.redis.set(this.key(id), JSON.stringify(state))`). Methods doing both, or guarded, are neither.
 */
function siblingKv(hv: FnView): SiblingKv | null {
  if (siblingKvCache.has(hv)) return siblingKvCache.get(hv)!;
  let out: SiblingKv | null = null;
  if (hv.codeLines.length <= 12 && !KV_GUARD.test(hv.code)) {
    const params = paramsOf(hv);
    const reads = kvReads(hv).filter((r) => !r.dynamo && !r.helper);
    const writes: KvWrite[] = [];
    for (let l = hv.fn.startLine + 1; l <= hv.fn.endLine; l++) {
      const w = kvWriteAt(hv, l);
      if (w) writes.push(w);
    }
    // Ruby: the method's last expression is the read itself (`Rails.cache.read(key(id)) || seed(r)`).
    if (reads.length === 0 && writes.length === 0 && hv.family === 'ruby') {
      const last = hv.codeLines.filter((l) => l.trim() !== '' && !/^\s*end\b/.test(l)).pop() ?? '';
      const d = /^\s*(?:return\s+)?([\w$.@]+)\.(get|read|fetch|hget)\s*\(/.exec(last);
      const args = d && KV_RECEIVER.test(d[1]!) && (/cache/i.test(d[1]!) || /^h?get$/.test(d[2]!)) ? callArgs(last, d[0].length - 1) : undefined;
      if (args && args.length > 0) out = { params, read: { key: args.slice(0, d![2] === 'hget' ? 2 : 1), call: `${d![1]}.${d![2]}` } };
    }
    if (reads.length === 1 && writes.length === 0) {
      const r = reads[0]!;
      // the value read is what the method returns (also after a guard: `if (raw) return JSON.parse(raw)`)
      const ret = new RegExp(`(?:^\\s*|^\\s*if\\b[^\n]{0,120}?\\)\\s*)return\\b[^\\n]*(?<![\\w$.@])(?:${tokenRe(r.names)})(?![\\w$])`, 'm');
      if (ret.test(hv.code)) out = { params, read: { key: r.key, call: `${hv.family === 'python' ? 'self' : 'this'}.${hv.fn.name.slice(hv.fn.name.lastIndexOf('.') + 1)}` } };
    } else if (reads.length === 0 && writes.length === 1 && params.some((p) => new RegExp(`(?<![\\w$.])${escapeRe(p)}(?![\\w$])`).test(writes[0]!.value))) {
      out = { params, write: writes[0]! };
    }
  }
  siblingKvCache.set(hv, out);
  return out;
}

/** A read through a sibling method: `const cur = (await this.load(id)) ?? {…}` -> the key it reads, in the caller's terms. */
function siblingKvRead(sib: Siblings, stmt: string, family?: string): { key: string[]; call: string } | undefined {
  const m = SELF_CALL_AT.exec(stmt) ?? (family === 'ruby' ? RB_BARE_CALL_AT.exec(stmt) : null);
  if (!m) return undefined;
  const hv = sib(m[1]!);
  const info = hv ? siblingKv(hv) : null;
  if (!info?.read) return undefined;
  const args = callArgs(stmt, m.index! + m[0].length - 1) ?? [];
  return { key: info.read.key.map((k) => substArgs(k, info.params, args)), call: info.read.call };
}

/** A write through a sibling method: `await this.save(id, next)` -> the key and value it writes, in the caller's terms. */
function siblingKvWrite(v: FnView, sib: Siblings, line: number): KvWrite | undefined {
  const t = codeLine(v, line);
  const m = SELF_CALL_AT.exec(t);
  if (!m) return undefined;
  const hv = sib(m[1]!);
  const info = hv ? siblingKv(hv) : null;
  if (!info?.write) return undefined;
  const stmt = statementAt(v, line, 8);
  const args = callArgs(stmt.text, stmt.text.indexOf(m[0]) + m[0].length - 1) ?? [];
  const w = info.write;
  return { ...w, line, endLine: stmt.endLine, key: w.key.map((k) => substArgs(k, info.params, args)), value: substArgs(w.value, info.params, args), call: `${m[0].includes('self.') ? 'self' : 'this'}.${m[1]}` };
}

/**
 * The written key names the id through the value written (`keyFor(next.stationId)` after reading `keyFor(stationId)`,
 * `next` carried from the value read): each key part equal, or the read's identifier taken as a field of a local
 * carrying the value read (`next.<id>` / `next.<…>.<id>` for a read of `<id>` / `x.<id>`).
 */
function keyFromValue(readKey: string, writeKey: string, tainted: readonly string[]): boolean {
  const a = keyTokens(readKey, false).split('|');
  const b = keyTokens(writeKey, false).split('|');
  if (a.length !== b.length || a.join('') === '') return false;
  let viaValue = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const dot = b[i]!.indexOf('.');
    if (dot <= 0 || !tainted.includes(b[i]!.slice(0, dot))) return false;
    const last = a[i]!.slice(a[i]!.lastIndexOf('.') + 1);
    if (!/^[A-Za-z_$][\w$]*$/.test(last) || b[i]!.slice(b[i]!.lastIndexOf('.') + 1) !== last) return false;
    viaValue = true;
  }
  return viaValue;
}

/** Key-value read-modify-write: the value read from a key is changed in code and written back to the same key. */
function kvHits(v: FnView, sib?: Siblings): Hit[] {
  if (KV_GUARD.test(v.code)) return [];
  if (!KV_WRITE_HINT.test(v.code) && !(sib && SELF_CALL.test(v.code))) return [];
  const hits: Hit[] = [];
  for (const r of kvReads(v, sib)) {
    const tainted = [...r.names];
    let named = new RegExp(`(?<![\\w$.@])(?:${tokenRe(tainted)})(?![\\w$])`);
    const taint = (n: string) => {
      if (tainted.includes(n)) return;
      tainted.push(n);
      named = new RegExp(`(?<![\\w$.@])(?:${tokenRe(tainted)})(?![\\w$])`);
    };
    let changed: number | undefined;
    for (let l = r.line + 1; l <= v.fn.endLine; l++) {
      const t = codeLine(v, l);
      if (!t.trim()) continue;
      const w = kvWriteAt(v, l) ?? (sib && SELF_CALL.test(t) ? siblingKvWrite(v, sib, l) : undefined);
      if (w) {
        const sameKey = r.dynamo
          ? w.dynamo
          : !w.dynamo &&
            (r.helper
              ? keyTokens(r.key.join(','), true) !== '' && keyTokens(r.key.join(','), true) === keyTokens(w.key.join(','), true)
              : r.key.every((k, i) => (i > 0 && i >= w.key.length) || keyTokens(k, false) === keyTokens(w.key[i] ?? '', false) || keyFromValue(k, w.key[i] ?? '', tainted)));
        if (sameKey && named.test(w.value)) {
          // Conditional or exclusive writes (`SET k v NX`, `XX`, `nx=True`) fail instead of overwriting.
          if (/['"](?:NX|XX|nx|xx)['"]|\b(?:nx|xx|NX|XX)\s*[:=]\s*(?:true|True)\b/.test(w.stmt)) break;
          const change = changed ?? (modifiesFrom(w.value, tainted) ? l : undefined);
          if (change !== undefined) {
            hits.push({
              read: { holder: r.names[0]!, entity: r.dynamo ? 'item' : r.helper ? `${r.call}(${r.key.join(', ')})` : `key ${r.key.join(' ')}`, line: r.line, call: r.call },
              field: 'value',
              computeLine: change,
              writeLine: w.line,
              writeEnd: w.endLine,
              writeCall: w.call,
              confidence: 0.8,
              store: r.dynamo ? 'dynamo' : 'kv',
            });
          }
          break;
        }
      }
      if (!tainted.some((n) => t.includes(n))) {
        // An object / array literal built over several lines from the value: `const next = {\n  n: cur.n + 1,\n}`.
        const o = /[{[(]\s*$/.test(t) ? KV_LHS.exec(t) : null;
        if (o && named.test(statementAt(v, l, 14).text)) for (const n of lhsNames(o[1]!)) taint(n);
        continue;
      }
      if (changed === undefined && modifiesFrom(t, tainted)) changed = l;
      // Locals computed from the value carry it: `stats = JSON.parse(raw)`, `item = resp['Item']`, Go `json.Unmarshal(raw, &s)`.
      const a = KV_LHS.exec(t);
      if (a && named.test(a[2]!)) for (const n of lhsNames(a[1]!)) taint(n);

      if (v.family === 'go' && named.test(t)) for (const g of t.matchAll(/&([A-Za-z_]\w*)/g)) taint(g[1]!);
    }
  }
  return hits;
}

/**
 * Whether the row read is a job record: the function is a background task (Celery `.delay` / `.apply_async`,
 * ActiveJob `perform_later`, Sidekiq `perform_async`), it loads the row by a parameter, and the diff shows the
 * caller creating a row of that model and enqueuing this task for it. Such a row has one writer at a time.
 */
function ownRowOfTask(files: readonly SourceFile[], file: SourceFile, fn: FunctionSpan, v: FnView, r: Read): boolean {
  const params = paramsOf(v);
  if (!params.some((p) => mentions(r.call, p) || mentions(codeLine(v, r.line), p))) return false;
  const parts = fn.name.split(/[.#]/);
  const names = [parts.pop()!];
  if (v.family === 'ruby' && names[0] === 'perform') {
    if (parts.length) names.push(parts.pop()!);
    else for (let i = fn.startLine - 1; i >= 1; i--) {
      const c = /^\s*class\s+([A-Z][\w:]*)/.exec(file.lines[i - 1] ?? '');
      if (c) {
        names.push(c[1]!.split('::').pop()!);
        break;
      }
    }
  }
  const enqueue = new RegExp(
    `\\b(?:${names.map(escapeRe).join('|')})\\.(?:delay|apply_async|perform_later|perform_async|set\\([^)]{0,80}\\)\\.perform_later)\\(\\s*(?:args\\s*=\\s*)?[[(]?\\s*([A-Za-z_]\\w*)(?:\\.(?:id|pk))?\\s*[,)\\]]`,
  );
  for (const f of files) {
    for (let i = 0; i < f.lines.length; i++) {
      const line = f.lines[i]!;
      if (!line.includes(names[0]!) && !names.slice(1).some((n) => line.includes(n))) continue;
      const m = enqueue.exec(line);
      if (!m) continue;
      const created = new RegExp(`^\\s*${escapeRe(m[1]!)}\\s*=\\s*(?:await\\s+)?([\\w.]{1,120}?)\\.(?:create!?|new)\\(`);
      for (let j = i - 1; j >= Math.max(0, i - 15); j--) {
        const c = created.exec(f.lines[j]!);
        if (c) {
          if (sameEntity(entityOfReceiver(c[1]!) ?? c[1], r.entity)) return true;
          break;
        }
      }
    }
  }
  return false;
}

// ------------------------------------------------------------------ record fields through sibling helpers

/** An instance field holding a record: `@recipe`, `self.order`, `this.account`. */
const OWN_HOLDER = /^(@[a-z_]\w*|self\.[a-z_]\w*|this\.[A-Za-z_$][\w$]*)\.([A-Za-z_]\w*)$/;

/** The attributes a short reader method returns: `[@r.count.to_i, @r.total.to_i]`, `return self.acct.balance`. */
function readerFields(hv: FnView): { holder: string; fields: string[] } | undefined {
  const body = hv.codeLines.slice(1).map((l) => l.trim()).filter((l) => l && !/^(?:end|\})$/.test(l));
  if (body.length === 0 || body.length > 3) return undefined;
  let expr = body[body.length - 1]!.replace(/;$/, '');
  if (hv.family === 'ruby') expr = expr.replace(/^return\s+/, '');
  else if (/^return\s/.test(expr)) expr = expr.slice(7);
  else return undefined;
  expr = expr.trim().replace(/^[[(]\s*([\s\S]*?)\s*[\])]$/, '$1');
  let holder: string | undefined;
  const fields: string[] = [];
  for (const part of splitTop(expr)) {
    const item = part
      .trim()
      .replace(/^(?:Number|int|float|Integer|Float|BigDecimal|Decimal|parseInt|parseFloat)\(\s*([^()]+?)\s*(?:,\s*\d+\s*)?\)$/, '$1')
      .replace(/\.(?:to_i|to_f|to_d|to_r)$|\s*(?:\|\||\?\?|\bor\b)\s*0$/, '');
    const m = OWN_HOLDER.exec(item);
    if (!m || (holder && holder !== m[1])) return undefined;
    holder = m[1]!;
    fields.push(m[2]!);
  }
  return holder ? { holder, fields } : undefined;
}

/** The attributes a short writer method sets on `holder` from its parameters (`@r.update_columns(count: count, …)`), by parameter. */
function writerFields(hv: FnView, holder: string): Map<number, string> | undefined {
  if (hv.codeLines.length > 14 || !hv.code.includes(holder) || ROW_LOCK.test(hv.code) || ATOMIC_UPDATE.test(hv.code)) return undefined;
  const h = escapeRe(holder);
  if (!new RegExp(`${h}\\.(?:update\\w*!?|save!?|save_changes|set|assign_attributes)\\b|\\b(?:save|update)\\(\\s*${h}\\b`).test(hv.code)) return undefined;
  const params = paramsOf(hv);
  const out = new Map<number, string>();
  params.forEach((p, i) => {
    const e = escapeRe(p);
    // `f: p` / `f=p` (a keyword or hash entry) or `holder.f = p`, the parameter alone as the value
    const m = new RegExp(`(?<![\\w$])([A-Za-z_]\\w*)\\s*(?::|=(?![=>]))\\s*${e}\\s*(?=[,)}\\n;]|$)`, 'm').exec(hv.code.slice(hv.codeLines[0]!.length));
    if (m) out.set(i, m[1]!);
  });
  return out.size > 0 ? out : undefined;
}

const LOCALS_FROM_CALL = /^\s*(?:(?:const|let|var)\s+)?[[(]?\s*([A-Za-z_$][\w$]*(?:\s*,\s*[A-Za-z_$][\w$]*){0,5})\s*[\])]?\s*=\s*(?:await\s+)?(?:self\.|this\.)?([A-Za-z_$][\w$]*)\s*(?:\(\s*\))?\s*;?\s*$/;

/**
 * A record's attributes read through one short method of the same class (`count, total = current`, returning
 * `[@recipe.count, @recipe.total]`) and values computed from them written back through another
 * (`write(count + 1, total + score)`, which does `@recipe.update_columns(count: count, total: total)`), or
 * written directly (`@recipe.update!(count: count + 1)`).
 */
function siblingRecordHit(ctx: DetectorContext, v: FnView, sib: Siblings): Hit | undefined {
  for (let l = v.fn.startLine + 1; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    const m = t.includes('=') ? LOCALS_FROM_CALL.exec(t) : null;
    if (!m) continue;
    const rv = sib(m[2]!);
    const reader = rv ? readerFields(rv) : undefined;
    if (!reader || ROW_LOCK.test(rv!.code)) continue;
    const locals = m[1]!.split(',').map((x) => x.trim());
    // local -> field, and the holder's own fields read directly
    const fieldOf = new Map<string, string>();
    locals.forEach((n, i) => reader.fields[i] !== undefined && fieldOf.set(n, reader.fields[i]!));
    if (fieldOf.size === 0) continue;
    const computedFrom = (expr: string, field: string): boolean => {
      for (const [n, f] of fieldOf) {
        if (f !== field) continue;
        const e = escapeRe(n);
        if (new RegExp(`(?<![\\w$.@])${e}\\s*[-+*/](?![=/*>])|[-+*/]\\s*\\(?${e}(?![\\w$])`).test(expr)) return true;
      }
      return false;
    };
    for (let w = l + 1; w <= v.fn.endLine; w++) {
      const wt = codeLine(v, w);
      if (!/[-+*/]/.test(statementAt(v, w, 8).text)) continue;
      // through a writer method
      const c = /(?:^|[^\w$.@])(?:self\.|this\.)?([A-Za-z_$][\w$]*)\s*\(/.exec(wt);
      const wv = c && c[1] !== m[2] ? sib(c[1]!) : undefined;
      const byParam = wv ? writerFields(wv, reader.holder) : undefined;
      if (byParam) {
        const stmt = statementAt(v, w, 8);
        const args = callArgs(stmt.text, stmt.text.indexOf(c![0]) + c![0].length - 1) ?? [];
        for (const [i, field] of byParam) {
          if (args[i] !== undefined && computedFrom(args[i]!, field)) {
            return { read: { holder: reader.holder, entity: reader.holder.replace(/^(?:@|self\.|this\.)/, ''), line: l, call: m[2]!, implicit: 'request' }, field, computeLine: l, writeLine: w, writeEnd: stmt.endLine, writeCall: c![1]!, confidence: 0.8, delta: deltaOf(args[i]!) };
          }
        }
      }
      // directly: `@r.update!(f: n + 1)`
      if (wt.includes(reader.holder) && /\.update\w*!?\s*\(?/.test(wt)) {
        const stmt = statementAt(v, w, 8);
        for (const p of stmt.text.matchAll(/(?<![\w$])([A-Za-z_]\w*)\s*(?::|=(?![=>]))\s*([^,)}\n]{1,120})/g)) {
          if (reader.fields.includes(p[1]!) && computedFrom(p[2]!, p[1]!)) {
            return { read: { holder: reader.holder, entity: reader.holder.replace(/^(?:@|self\.|this\.)/, ''), line: l, call: m[2]!, implicit: 'request' }, field: p[1]!, computeLine: l, writeLine: w, writeEnd: stmt.endLine, writeCall: /\.(update\w*!?)/.exec(wt)![1]!, confidence: 0.8, delta: deltaOf(p[2]!) };
          }
        }
      }
    }
  }
  void ctx;
  return undefined;
}

/** A Ruby persistence model: ActiveRecord, Sequel or Mongoid (by its class, its DSL, or its place in a Rails app). */
const RB_MODEL_CLASS = /^\s*class\s+([A-Z]\w*)\s*<\s*(?:ApplicationRecord|ActiveRecord::Base|Sequel::Model\b|\w*Record\b)|^\s*include\s+Mongoid::Document\b/m;
const RB_MODEL_DSL = /^\s*(?:has_many|has_one|belongs_to|has_and_belongs_to_many|validates?|validates_\w+|scope|before_save|after_save|before_validation|after_commit|enum)\b/m;

/**
 * A Ruby array / hash attribute changed in memory: copied (`ids = f.dup`, `ids = f - [x]`, `ids = f | [x]`) or
 * changed in place (`f << x`, `self.f |= [x]`, `f.delete(x)`, `f.push(x)`). `copy` names the local holding the copy.
 */
function collectionChange(t: string): { field: string; copy?: string } | undefined {
  if (!t.includes('[') && !t.includes('<<') && !t.includes('.')) return undefined;
  let m = /^\s*([a-z_]\w*)\s*=\s*(?:self\.)?([a-z_]\w*)(?:\.(?:dup|clone|deep_dup|to_a)\b|\s*[-+|&]\s*\[|\s*\.(?:push|merge|union|difference|without|excluding|reject|select)\b)/.exec(t);
  if (m && m[1] !== m[2]) return { field: m[2]!, copy: m[1]! };
  m = /^\s*self\.([a-z_]\w*)\s*(?:[|&]=|[-+]=\s*\[)|^\s*(?:self\.)?([a-z_]\w*)\s*(?:<<\s*\S|\.(?:push|delete|append|concat|uniq!|merge!|store)\b)/.exec(t);
  if (m) return { field: (m[1] ?? m[2])! };
  return undefined;
}

/**
 * Ruby model methods that change their own attributes from the loaded value and save: `self.f = f + n` /
 * `self.f += n` then `save!`, or `update!(f: f - n)` with an implicit (or explicit `self`) receiver. Each caller
 * loaded the record at some point; concurrent callers each write back their own stale total. Quiet under a lock in
 * the method or around its call (`with_lock { x.m(…) }`), for `attr_accessor` fields and class methods.
 */
function modelSelfHit(ctx: DetectorContext, v: FnView, fileText: string): Hit | undefined {
  if (v.family !== 'ruby' || !/\bdef\s/.test(v.code) || (!v.code.includes('self.') && !v.code.includes('update') && !/<<|\.(?:delete|push|append|concat|store|merge!)\(/.test(v.code))) return undefined;
  const cls = RB_MODEL_CLASS.exec(fileText);
  if (!cls && !/(?:^|\/)models\//.test(ctx.file.path) && !RB_MODEL_DSL.test(fileText)) return undefined;
  const base = /([a-z_]\w*)\.rb$/.exec(ctx.file.path)?.[1] ?? 'record';
  const model = cls?.[1] ?? /^\s*class\s+([A-Z]\w*)/m.exec(fileText)?.[1] ?? camel(base).replace(/^./, (c) => c.toUpperCase());
  const virtual = (f: string) => new RegExp(`\\battr_(?:accessor|writer)\\b[^\\n]*:${f}\\b`).test(fileText);
  const attr = (f: string) => `(?:self\\.|(?<![\\w@.:]))${f}(?![\\w!?(])`;
  const own = (l: number, field: string, writeLine: number, writeEnd: number, writeCall: string, t: string): Hit => ({
    read: { holder: 'self', entity: model, line: l, call: 'self', implicit: 'request' },
    field,
    computeLine: l,
    writeLine,
    writeEnd,
    writeCall,
    confidence: 0.8,
    delta: deltaOf(t),
  });
  for (let d = v.fn.startLine; d <= v.fn.endLine; d++) {
    const dm = /^(\s*)def\s+([a-z_]\w*[!?]?)/.exec(codeLine(v, d));
    if (!dm) continue;
    const indent = dm[1]!.length;
    const method = dm[2]!;
    let end = v.fn.endLine;
    for (let e = d + 1; e <= v.fn.endLine; e++) {
      const m = /^(\s*)(?:end\b|def\s)/.exec(codeLine(v, e));
      if (m && m[1]!.length <= indent) {
        end = e;
        break;
      }
    }
    const body = Array.from({ length: end - d }, (_, i) => codeLine(v, d + i)).join('\n');
    const association = (f: string) => new RegExp(`^\\s*(?:has_many|has_and_belongs_to_many|has_one|embeds_many)\\s+:${f}\\b`, 'm').test(fileText);
    if (ROW_LOCK.test(body)) continue;
    // Locals shadowing the attribute name make the bare name a local, not the attribute.
    const local = (f: string) => new RegExp(`^\\s*${f}\\s*=[^=]`, 'm').test(body);
    // Method parameters (`def m(f, …)` / `def m(f:, …)`) are not the attribute either.
    const sig = codeLine(v, d).slice(dm[0].length);
    const param = (f: string) => new RegExp(`[(,\\s]\\*{0,2}&?${f}\\b(?!\\s*[.(])`).test(sig);
    let hit: Hit | undefined;
    for (let l = d + 1; l < end && !hit; l++) {
      const t = codeLine(v, l);
      const coll = collectionChange(t);
      if (coll && !virtual(coll.field) && !local(coll.field) && !association(coll.field)) {
        for (let w = l + 1; w < end && !hit; w++) {
          const wt = codeLine(v, w);
          if (coll.copy) {
            // the changed copy written back: `update!(f: copy)` / `self.f = copy` (then save)
            const um = /^\s*(?:self\.)?(update!?|update_columns?|update_attributes!?|update_attribute|assign_attributes)[\s(]/.exec(wt);
            if (um && new RegExp(`\\b${coll.field}:\\s*${coll.copy}\\b|:${coll.field}\\s*,\\s*${coll.copy}\\b`).test(statementAt(v, w, 8).text)) {
              hit = { ...own(l, coll.field, w, statementAt(v, w, 8).endLine, um[1]!, t), json: true };
            } else if (new RegExp(`^\\s*self\\.${coll.field}\\s*=\\s*${coll.copy}\\b`).test(wt)) {
              for (let x = w + 1; x < end && !hit; x++) {
                const sm = /^\s*(?:self\.)?(save!?)(?![\w:])/.exec(codeLine(v, x));
                if (sm) hit = { ...own(l, coll.field, x, x, sm[1]!, t), json: true };
              }
            }
          } else {
            const sm = /^\s*(?:self\.)?(save!?|update!?|update_attributes!?)(?![\w:])/.exec(wt);
            if (sm) hit = { ...own(l, coll.field, w, w, sm[1]!, t), json: true };
          }
        }
        if (hit) break;
      }
      if (!/[-+*/]/.test(t)) continue;
      let field: string | undefined;
      let m: RegExpExecArray | null;
      // A local computed from the attribute (`left = f - n`) and written back (`update!(f: left)` / `self.f = left; save!`).
      if ((m = /^\s*([a-z_]\w*)\s*=\s*(?![=~])(.*)$/.exec(t))) {
        const copy = m[1]!;
        const cm = /^\s*\(?\s*(?:self\.)?([a-z_]\w*)\s*[-+*/]\s*[\w@(.]|[-+*/]\s*(?:self\.)?([a-z_]\w*)\s*\)?\s*$/.exec(m[2]!);
        const f = cm ? (cm[1] ?? cm[2])! : undefined;
        if (f && f !== copy && !virtual(f) && !local(f) && !param(f) && !association(f)) {
          for (let w = l + 1; w < end && !hit; w++) {
            const wt = codeLine(v, w);
            const um = /^\s*(?:self\.)?(update!?|update_columns?|update_attributes!?|update_attribute)[\s(]/.exec(wt);
            if (um && new RegExp(`\\b${f}:\\s*${copy}\\b(?![.(\\[])|:${f}\\s*,\\s*${copy}\\b(?![.(\\[])`).test(statementAt(v, w, 8).text)) {
              hit = own(l, f, w, statementAt(v, w, 8).endLine, um[1]!, t);
            } else if (new RegExp(`^\\s*self\\.${f}\\s*=\\s*${copy}\\s*$`).test(wt)) {
              for (let x = w + 1; x < end && !hit; x++) {
                const sm = /^\s*(?:self\.)?(save!?)(?![\w:])/.exec(codeLine(v, x));
                if (sm) hit = own(l, f, x, x, sm[1]!, t);
              }
            }
          }
          if (hit) break;
        }
      }
      if ((m = /^\s*self\.([a-z_]\w*)\s*[-+*/]=\s*\S/.exec(t))) field = m[1];
      else if ((m = /^\s*self\.([a-z_]\w*)\s*=\s*(?!=)(.*)$/.exec(t))) {
        const f = m[1]!;
        if (new RegExp(`^\\s*(?:\\(\\s*)?${attr(f)}\\s*[-+*/]|[-+*/]\\s*${attr(f)}\\s*\\)?\\s*$`).test(m[2]!)) field = f;
      }
      if (field) {
        if (virtual(field) || local(field)) continue;
        for (let w = l + 1; w < end; w++) {
          const sm = /^\s*(?:self\.)?(save!?|update!?|update_attributes!?)(?![\w:])/.exec(codeLine(v, w));
          if (sm) {
            hit = own(l, field, w, w, sm[1]!, t);
            break;
          }
        }
        continue;
      }
      // update!(f: f + n) / update_column(:f, f + n) with the record itself as the receiver.
      const um = /^\s*(?:self\.)?(update!?|update_columns?|update_attributes!?|update_attribute)[\s(]/.exec(t);
      if (!um) continue;
      const stmt = statementAt(v, l, 8);
      const pair = /\b([a-z_]\w*):\s*(?:self\.)?([a-z_]\w*)\s*[-+*/]|:([a-z_]\w*)\s*,\s*(?:self\.)?([a-z_]\w*)\s*[-+*/]/.exec(stmt.text);
      const f = pair ? (pair[1] ?? pair[3]) : undefined;
      if (!f || f !== (pair![2] ?? pair![4]) || virtual(f) || local(f)) continue;
      hit = own(l, f, l, stmt.endLine, um[1]!, t);
    }
    if (!hit) continue;
    // A caller holding a row lock around the call serialises it.
    const call = new RegExp(`\\.${escapeRe(method)}(?![\\w!?])`);
    const locked = ctx.files.some((f) =>
      f.lines.some((line, i) => line.includes(method) && call.test(line) && (ROW_LOCK.test(f.lines.slice(Math.max(0, i - 6), i + 1).join('\n')) || SERIALIZABLE.test(f.lines.slice(Math.max(0, i - 6), i + 1).join('\n')))),
    );
    if (!locked) return hit;
  }
  return undefined;
}

/** Calls that compute rather than read a record (builtins and numeric helpers). */
const PY_NOT_A_GETTER = /^(?:len|int|float|str|Decimal|round|sum|max|min|abs|bool|list|dict|set|tuple|sorted|quantize|now|copy|deepcopy)$/;

/**
 * Python: a total computed from a value the object reads about a record (`new = self.balance(member) + earned`) and
 * handed to a writer that stores it blindly (`def _store(self, member, value): M.objects.filter(pk=member.pk)
 * .update(f=value)`), or stored directly with such an update. `filter().update()` with a precomputed value is an
 * overwrite, not an atomic change; quiet when the writer uses `F()`, a lock or a version / old-value filter.
 */
function pyComputedTotalHit(ctx: DetectorContext, v: FnView): Hit | undefined {
  if (v.family !== 'python' || !v.code.includes('self.') || !/[-+]/.test(v.code)) return undefined;
  const params = paramsOf(v);
  for (let l = v.fn.startLine + 1; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.includes('self.')) continue;
    const m = /^\s*([a-z_]\w*)\s*=\s*(?:await\s+)?self\.([a-z_]\w*)\(\s*([a-z_]\w*)\s*[,)][^\n]*?[-+]\s*[\w(]/.exec(t);
    if (!m || PY_NOT_A_GETTER.test(m[2]!) || NOT_A_RECORD.test(m[3]!) || !params.includes(m[3]!)) continue;
    const [, local, getter, rec] = m as unknown as [string, string, string, string];
    const used = new RegExp(`(?<![\\w.])${escapeRe(local)}(?![\\w(])`);
    for (let w = l + 1; w <= v.fn.endLine; w++) {
      const wt = codeLine(v, w);
      if (!used.test(wt)) continue;
      if (new RegExp(`^\\s*${escapeRe(local)}\\s*=[^=]`).test(wt)) break;
      const c = /^\s*(?:await\s+)?self\.([a-z_]\w*)\(/.exec(wt);
      if (!c) continue;
      const stmt = statementAt(v, w, 6);
      const args = callArgs(stmt.text, stmt.text.indexOf(c[0]) + c[0].length - 1) ?? [];
      const recAt = args.findIndex((a) => a === rec || a.endsWith(`=${rec}`));
      const valAt = args.findIndex((a) => a === local || a.endsWith(`=${local}`));
      if (recAt < 0 || valAt < 0) continue;
      for (const hv of definedAs(ctx.files, c[1]!)) {
        if (hv.family !== 'python' || hv.codeLines.length > 12 || ROW_LOCK.test(hv.code) || /\bF\(|\bversion\b/.test(hv.code)) continue;
        const hp = paramsOf(hv).filter((p) => p !== 'self' && p !== 'cls');
        const prec = hp[recAt];
        const pval = hp[valAt];
        if (!prec || !pval) continue;
        const u = new RegExp(`([A-Z]\\w*)\\.objects\\.filter\\([^)\\n]{0,120}\\b${escapeRe(prec)}\\b[^)\\n]{0,40}\\)\\.update\\(([^\\n]{0,300})`).exec(hv.code);
        const f = u ? new RegExp(`(?:^|[(,\\s])(\\w+)\\s*=\\s*${escapeRe(pval)}\\s*[,)]`).exec(u[2]!) : null;
        if (!u || !f) continue;
        return {
          read: { holder: rec, entity: u[1]!, line: l, call: `self.${getter}(${rec})` },
          field: f[1]!,
          computeLine: l,
          writeLine: w,
          writeEnd: stmt.endLine,
          writeCall: `self.${c[1]}`,
          confidence: 0.8,
          delta: deltaOf(t),
        };
      }
    }
  }
  return undefined;
}

function detect(ctx: DetectorContext): DetectorReport[] {
  const { file } = ctx;
  const fileText = file.text;
  const reports: DetectorReport[] = [];
  const seen = new Set<string>();
  for (const fn of innermostFirst(ctx.changedFunctions)) {
    const v = viewOf(file, fn);
    const name = displayName(file, fn);
    if (!v) continue;
    const outer = enclosing(file, fn).map((f) => f.text).join('\n');
    if (ROW_LOCK.test(v.code) || SERIALIZABLE.test(v.code) || ROW_LOCK.test(outer) || SERIALIZABLE.test(outer)) continue;
    if (/\block_version\b|@Version\b|\bVersionColumn\b|\bversion\s*[:=]\s*[\w$.]+\.version\b/.test(v.code)) continue;
    const hits: Hit[] = [];
    const explicit = ormReads(v, fileText);
    for (const r of [...explicit, ...implicitReads(v, explicit)]) {
      const hit = ormHit(v, r, fileText);
      if (hit) hits.push(hit);
    }
    if (hits.length === 0) {
      // Records loaded through a repository / store method: one finding per load.
      const done = new Set<number>();
      for (const r of loaderReads(ctx, v, explicit)) {
        if (done.has(r.line)) continue;
        const hit = ormHit(v, r, fileText);
        if (hit && !guardedSaver(ctx, hit.writeCall)) {
          // A loader the diff shows reading a key-value store: report it as a key's read-modify-write.
          const name = r.call.slice(r.loader!.length);
          if (definedAs(ctx.files, name).some((d) => kvReads(d).some((k) => !k.dynamo))) {
            Object.assign(hit, { store: 'kv', read: { ...r, entity: `${r.call}(${callArgs(v.text(r.line), v.text(r.line).indexOf(name) + name.length)?.join(', ') ?? ''})` } });
          }
          hits.push(hit);
          done.add(r.line);
        }
      }
    }
    for (const r of sqlReads(v)) {
      const hit = sqlHit(v, r) ?? sqlFlowHit(v, r);
      if (hit) hits.push(hit);
    }
    hits.push(...kvHits(v, siblingsOf(file, fn)));
    if (hits.length === 0) {
      const loaded = loadedFlowHit(v, fileText);
      if (loaded) hits.push(loaded);
    }
    if (hits.length === 0) {
      const own = modelSelfHit(ctx, v, fileText);
      if (own) hits.push(own);
    }
    if (hits.length === 0) {
      const total = pyComputedTotalHit(ctx, v);
      if (total) hits.push(total);
    }
    if (hits.length === 0) {
      const sib = siblingsOf(file, fn);
      const viaHelpers = sib ? siblingRecordHit(ctx, v, sib) : undefined;
      if (viaHelpers) hits.push(viaHelpers);
    }
    for (const hit of hits) {
      const key = `${hit.read.line}:${hit.writeLine}`;
      if (seen.has(key)) continue;
      // A row created for one task and handed to it by id has that task as its only writer (retries run one after another).
      // (Remembered as seen, so an enclosing span does not report it again.)
      if (!hit.read.implicit && ownRowOfTask(ctx.files, file, fn, v, hit.read)) {
        seen.add(key);
        continue;
      }
      const readLine = hit.read.implicit ? (hit.computeLine ?? hit.writeLine) : hit.read.line;
      const range = shownRange(file, fn, readLine, hit.writeEnd);
      if (!range) continue;
      seen.add(key);
      const evidence: EvidenceLine[] = [{ role: 'read', line: readLine, text: v.text(readLine) }];
      if (hit.computeLine !== undefined && hit.computeLine !== readLine && hit.computeLine !== hit.writeLine) {
        evidence.push({ role: 'compute', line: hit.computeLine, text: v.text(hit.computeLine) });
      }
      evidence.push({ role: 'write', line: hit.writeLine, text: v.text(hit.writeLine) });
      const inTx = TRANSACTION.test(v.code) || TRANSACTION.test(outer);
      const entity = hit.read.entity;
      // SQL reads name tables; a lower-case singular (`current_user` → user) is a model
      const isTable = Boolean(hit.read.columns) || /^[a-z_]+s$/.test(entity);
      const guard = new RegExp(`${escapeRe(hit.read.holder)}\\.${escapeRe(hit.field)}\\s*[-+]\\s*[\\w$.]+\\s*>=?\\s*[\\w$.]+`).exec(v.code)?.[0];
      if (hit.store) {
        const what = hit.store === 'dynamo' ? `a DynamoDB item (${hit.read.call})` : hit.read.entity;
        reports.push({
          line: range.line,
          endLine: range.endLine,
          functionName: name,
          confidence: hit.confidence,
          title: `${name} reads ${what}, changes the value in code and writes it back with ${hit.writeCall}: a concurrent change to the same key between the read and the write is overwritten`,
          entity: hit.read.entity,
          evidence,
          variant: 'database',
          facts: cleanFacts({
            table: hit.store === 'dynamo' ? 'item' : 'key',
            column: 'value',
            store: hit.store === 'dynamo' ? 'dynamodb' : 'key-value',
            key: hit.read.entity.replace(/^key /, ''),
            readCall: hit.read.call,
            writeCall: hit.writeCall,
            inTransaction: 'no',
            testFramework: testFrameworkHint(ctx.files, v.family),
            actor: 'request',
          }),
        });
        continue;
      }
      reports.push({
        line: range.line,
        endLine: range.endLine,
        functionName: name,
        confidence: hit.confidence,
        title: `${name} reads ${entity}.${hit.field}, ${hit.json ? 'changes it in memory' : 'computes the new value in code'} and writes it back with ${hit.writeCall}`,
        entity: `${entity}.${hit.field}`,
        evidence,
        variant: 'database',
        facts: cleanFacts({
          table: isTable ? entity : undefined,
          model: isTable ? undefined : entity,
          column: hit.field,
          readCall: hit.read.call,
          writeCall: hit.writeCall,
          // a JSON / hash / list field changed in memory: the fix merges in the database, not an arithmetic SET
          shape: hit.json ? 'json' : undefined,
          delta: hit.json ? undefined : hit.delta,
          guard,
          orm: hit.read.columns ? (v.family === 'go' ? ormOf(v.code, 'go') : v.family === 'js' ? 'pg' : undefined) : ormOf(fileText, v.family),
          inTransaction: inTx ? 'yes' : 'no',
          isolation: 'read committed',
          idColumn: 'id',
          testFramework: testFrameworkHint(ctx.files, v.family),
          actor: 'request',
        }),
      });
    }
  }
  return reports;
}

export default createDetector(
  {
    id: 'read-modify-write',
    failureMode: 'lost_update',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'A row field is read, changed in application code and written back without a lock, version check or atomic update.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/read-modify-write.md',
  },
  detect,
);

