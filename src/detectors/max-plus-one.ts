/**
 * max-plus-one (phantom_read): the next number in a sequence is derived from the rows that exist now
 * (`MAX(position) + 1`, `_max`, `aggregate(Max(...))`, `.maximum(:position)`, `ORDER BY seq DESC LIMIT 1`, `count + 1`)
 * and inserted. Two writers read the same maximum before either inserts; the row each inserts is a phantom for the
 * other's read, so both insert the same number.
 *
 * Rule: in a changed function, a max / last-by-order / count read on entity E (scoped by columns S) is followed, in the
 * same function, by `+ 1` and then an insert into E, or (for a maximum) a write of the column onto an existing row of
 * E: an update of it, or in a model method of E its own record (`update!(sequence: last + 1)`, `self.n = m; save!`).
 * Ruby maxima include `.maximum(:c)`, `.order(c: :desc).first`, `.order(:c).last`, `.pluck(:c).max`.
 * The `+ 1` must apply to what the read returned (`plusOneOnRead`): a latest row read only as an existence check is
 * not a sequence. The read may be a short helper of the review that returns max + 1 (`nextNumberCalls`).
 *
 * Quiet when: a unique constraint in the diff covers (S, column) or the column on E (the duplicate is rejected);
 * a lock is taken before the read (parent row FOR UPDATE, advisory lock, LOCK TABLE, select_for_update, lock!);
 * the transaction is SERIALIZABLE; the function handles a unique violation (retry on conflict); the count read
 * gates the insert through an `if` (that is a limit check, left to aggregate-check-then-write).
 *
 * Confidence: 0.9 when the diff declares E without a unique constraint on the column (a plain index is noted), 0.75
 * when E's declaration is not in the diff; count + 1 (instead of max + 1) lowers it by 0.1.
 */
import {
  addedInstances,
  analyze,
  analyzedFunctions,
  declarationOf,
  functionsByName,
  dedupe,
  evidence,
  findGate,
  guardsOf,
  keyColumns,
  sameEntity,
  touchesAdded,
  uniqueCovers,
  type FnInfo,
} from './lib/checks.js';
import { argKeys, boundVars, familyOf, matchBracket, normColumn, normEntity, type DbOp } from './lib/sql.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';

export default createDetector(
  {
    id: 'max-plus-one',
    failureMode: 'phantom_read',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'MAX(seq) + 1 (or last-by-order + 1, count + 1) read, then inserted, with no unique constraint, lock or SERIALIZABLE.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/max-plus-one.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const guards = guardsOf(info, ctx);
      if (guards.serializable || guards.uniqueViolation) continue;
      // A number handed back by a short helper of the review that reads the maximum and adds one
      // (`number = await next_number(session, show_id)` with `return (await s.execute(select(func.max(...)))).scalar() + 1`).
      const viaHelper = nextNumberCalls(ctx, info);
      const added = addedInstances(info);
      for (const read of viaHelper.length ? [...info.ops, ...viaHelper] : info.ops) {
        if (read.kind !== 'max' && read.kind !== 'count') continue;
        const fromHelper = viaHelper.includes(read);
        if (read.lock || (guards.lockLine !== undefined && guards.lockLine <= read.line)) continue;
        if (read.kind === 'count' && (read.vars.length === 0 || findGate(info, read))) continue;
        // The act: an insert into E, or (for a maximum) the number written onto an existing row of E: an update of
        // it (`update({ where: { id }, data: { number } })`, `inv.update!(number: n)`, `x.number = n; x.save()`) or a
        // model method writing its own record (`update!(sequence: last + 1)`, `self.number = n; save!`).
        const insertOf = (o: DbOp) => (o.start > read.end || (o.start < read.start && o.end >= read.end)) && o.kind === 'insert' && sameEntity(o.entity, read.entity);
        const act =
          info.ops.find(insertOf) ??
          added.find(insertOf) ??
          (read.kind === 'max' && read.maxColumn && !fromHelper ? numberedRow(ctx.file, info, read) : undefined) ??
          (!fromHelper ? createCallbackWrite(ctx.file, info, read) : undefined);
        if (!act) continue;
        const between = info.code.slice(read.start, act.end);
        // Through a helper, the `+ 1` is in the helper; the number it returns must reach the insert.
        const plusOne = fromHelper ? (read.vars.some((v) => new RegExp(String.raw`(?<![\w$.])${v.replace(/\$/g, '\\$')}(?![\w$])`).test(info.code.slice(read.end, act.end))) ? { index: 0 } : undefined) : plusOneOnRead(info, read, between);
        if (!plusOne) continue;
        if (read.kind === 'count' && !fromHelper && !read.vars.some((v) => new RegExp(String.raw`\b${v.replace(/\$/g, '\\$')}\b[^\n;]{0,40}\+\s*1\b`).test(between))) continue;
        const column = read.maxColumn ?? (read.kind === 'count' ? guessSeqColumn(act.writeColumns) : undefined);
        // An association read (`show.episodes.maximum(:number)`) is scoped by the owner's foreign key too.
        const owner = read.orm === 'activerecord' && read.parent && /^@?[a-z_]\w*$/.test(read.parent) && read.parent !== 'self' ? [`${read.parent.replace(/^@/, '')}_id`] : [];
        const scope = keyColumns([...read.whereColumns, ...owner]);
        if (column && (uniqueCovers(ctx.schema, read.entity, [...scope, column], ctx.files))) continue;
        if (!column && uniqueCovers(ctx.schema, read.entity, [...scope, ...act.writeColumns], ctx.files)) continue;
        if (!touchesAdded(ctx.file, read.line, act.line)) continue;
        const decl = declarationOf(ctx.files, read.entity);
        let confidence = decl && !decl.schemaless ? 0.9 : 0.75;
        if (read.kind === 'count') confidence -= 0.1;
        const plusLine = info.idx.line(read.start + plusOne.index);
        const onRow = act.kind === 'update';
        const ev = [evidence(info, read.line, 'range-check')];
        if (plusLine > read.endLine && plusLine < act.line) ev.push(evidence(info, plusLine, 'range-check'));
        ev.push(evidence(info, act.line, onRow ? 'write' : 'insert'));
        const colNorm = column ? normColumn(column) : '';
        const index = decl?.indexes.find((ix) => ix.some((c) => normColumn(c) === colNorm));
        const facts: Record<string, string> = {
          pattern: 'max-plus-one',
          rangeCall: read.call,
          insertCall: act.call,
          orm: read.orm,
        };
        if (onRow) facts.writesExistingRow = 'yes';
        if (column) facts.column = column;
        if (scope.length) {
          facts.scopeColumn = scope.join(', ');
          facts.keyColumns = [...scope, ...(column ? [column] : [])].join(', ');
        }
        if (/^[a-z_]+$/.test(read.entity) && /_|s$/.test(read.entity)) facts.table = read.entity;
        else facts.model = read.entity;
        if (index) facts.existingIndex = 'non-unique index';
        const what = read.kind === 'count' ? 'count' : 'max';
        reports.push({
          line: read.line,
          endLine: act.line,
          functionName: info.name,
          entity: read.entity,
          evidence: ev,
          facts,
          title: `${info.name} reads the ${read.kind === 'count' ? 'row count' : `highest ${column ?? 'value'}`} of ${read.entity}${scope.length ? ` per ${scope.join(', ')}` : ''} with ${read.call} and ${onRow ? `writes ${what} + 1 onto a row with ${act.call}` : `inserts ${what} + 1`}: concurrent ${onRow ? 'writers' : 'inserts'} get the same ${column ?? 'number'}`,
          confidence: Math.round(confidence * 100) / 100,
          variant: 'database',
        });
      }
    }
    return dedupe(reports);
  },
);

/**
 * The write that puts the number read by `read` onto an existing row of the same entity: an update op on that
 * entity (or on a record loaded from it) writing the column, directly or through `x.col = ...` before `x.save()`;
 * or, in a model method of that entity (Ruby / Python), a write of its own record: `update!(col: ...)`,
 * `update_columns(col: ...)`, `self.col = ...` / `self.col = ...; self.save()`.
 */
function numberedRow(file: SourceFile, info: FnInfo, read: DbOp): DbOp | undefined {
  const col = normColumn(read.maxColumn!);
  for (const o of info.ops) {
    if (o.start <= read.end || o.kind !== 'update' || !sameEntity(o.entity, read.entity)) continue;
    let written = o.writeColumns;
    if (written.length === 0 && o.instance) {
      const between = info.code.slice(read.end, o.start);
      written = [...between.matchAll(new RegExp(String.raw`(?<![\w$.])@?${o.instance.replace(/\$/g, '\\$')}\.(\w+)\s*=(?![=~])`, 'g'))].map((m) => m[1]!);
    }
    if (written.some((c) => normColumn(c) === col)) return o;
  }
  const fam = familyOf(info.lang);
  if (fam !== 'ruby' && fam !== 'python') return undefined;
  if (!info.code.includes('update') && !info.code.includes('self.')) return undefined;
  if (!ownModel(file, info, read.entity)) return undefined;
  const rest = info.code.slice(read.end);
  const base = read.end;
  // `update!(sequence: last + 1, ...)` / `update_columns(...)` on the implicit receiver (or `self.`).
  const call = fam === 'ruby' ? /(?<![\w$.@:])(?:self\.)?(update!?|update_columns|update_attribute|assign_attributes)\s*\(/g : /(?<![\w.])self\.(save|update)\s*\(/g;
  for (const m of rest.matchAll(call)) {
    const open = base + (m.index ?? 0) + m[0].length - 1;
    const close = matchBracket(info.code, open, fam);
    if (close < 0) continue;
    const args = info.code.slice(open + 1, close);
    let written = m[1] === 'update_attribute' ? [/^\s*[:'"](\w+)/.exec(args)?.[1] ?? ''] : argKeys(args, fam);
    if (m[1] === 'save' || (fam === 'python' && m[1] === 'update')) {
      // Django: `self.number = n` then `self.save()`; `update_fields=[...]` names them too.
      written = [...info.code.slice(read.end, open).matchAll(/(?<![\w.])self\.(\w+)\s*=(?!=)/g)].map((x) => x[1]!);
    }
    if (!written.some((c) => normColumn(c) === col)) continue;
    const start = base + (m.index ?? 0);
    return { ...read, kind: 'update', call: m[0].replace(/\s*\($/, ''), start, end: close + 1, line: info.idx.line(start), endLine: info.idx.line(close), whereColumns: ['id'], writeColumns: written, vars: [], instance: 'self', maxColumn: undefined };
  }
  // Ruby `self.sequence = last + 1` then `save!` / `save`.
  if (fam === 'ruby') {
    const asg = new RegExp(String.raw`(?<![\w$.@])self\.(\w+)\s*=(?![=~])`, 'g');
    for (const m of rest.matchAll(asg)) {
      if (normColumn(m[1]!) !== col) continue;
      const after = rest.slice((m.index ?? 0) + m[0].length);
      const save = /(?<![\w$.@:])(?:self\.)?save!?(?![\w?])/.exec(after);
      if (!save) continue;
      const start = base + (m.index ?? 0);
      const end = base + (m.index ?? 0) + m[0].length + (save.index ?? 0) + save[0].length;
      return { ...read, kind: 'update', call: `self.${m[1]} = …; ${save[0]}`, start, end, line: info.idx.line(start), endLine: info.idx.line(end - 1), whereColumns: ['id'], writeColumns: [m[1]!], vars: [], instance: 'self', maxColumn: undefined };
    }
  }
  return undefined;
}

/**
 * Ruby: a model method of E registered as a create callback (`before_create :assign_number`, `before_validation
 * :assign_number, on: :create`, `around_create`, `before_save`) that assigns the read's number to its own record
 * (`self.number = last + 1`): Rails inserts the record right after the callback, so that insert is the act.
 */
function createCallbackWrite(file: SourceFile, info: FnInfo, read: DbOp): DbOp | undefined {
  if (familyOf(info.lang) !== 'ruby' || !info.code.includes('self.')) return undefined;
  const name = /([a-z_]\w*[?!]?)$/.exec(info.fn.name)?.[1];
  if (!name || !file.text.includes(name)) return undefined;
  const esc = name.replace(/[?!]/g, '\\$&');
  const registered = new RegExp(String.raw`^[ \t]*(before_create|around_create|before_save|before_validation)\s+[^\n]*?:${esc}(?![\w?!])([^\n]*)`, 'm').exec(file.text);
  if (!registered || (registered[1] === 'before_validation' && /\bon:\s*:update\b/.test(registered[2]!))) return undefined;
  if (!ownModel(file, info, read.entity)) return undefined;
  const rest = info.code.slice(read.end);
  const want = read.maxColumn ? normColumn(read.maxColumn) : undefined;
  for (const m of rest.matchAll(/(?<![\w$.@])self\.(\w+)\s*=(?![=~])([^\n]*)/g)) {
    if (want ? normColumn(m[1]!) !== want : !PLUS_ONE_TEST.test(m[2]!)) continue;
    const start = read.end + (m.index ?? 0);
    const end = start + m[0].length;
    return { ...read, kind: 'insert', call: `${registered[1]} :${name}`, start, end, line: info.idx.line(start), endLine: info.idx.line(end - 1), whereColumns: [], writeColumns: [m[1]!], vars: [], maxColumn: undefined };
  }
  return undefined;
}

const PLUS_ONE_TEST = /\+\s*1\b(?!\s*[\d.])|\.succ\b/;

/** Whether the function is a method of `entity`'s own model: the enclosing class, or a Rails model file named after it. */
function ownModel(file: SourceFile, info: FnInfo, entity: string): boolean {
  const target = normEntity(entity);
  for (let l = info.fn.startLine; l >= 1 && l > info.fn.startLine - 400; l--) {
    const c = /^\s*class\s+([A-Z][\w:]*)/.exec(file.lines[l - 1] ?? '');
    if (c) return normEntity(c[1]!) === target;
  }
  const base = /(?:^|\/)models\/(?:[\w/]*\/)?(\w+)\.(?:rb|py)$/.exec(file.path)?.[1];
  return base !== undefined && normEntity(base) === target;
}

const nextCache = new WeakMap<FunctionSpan, DbOp | null>();

/** The max / count read of a short helper that returns it plus one (`return int(result.scalar_one()) + 1`). */
function nextNumberOf(file: SourceFile, fn: FunctionSpan): DbOp | undefined {
  const hit = nextCache.get(fn);
  if (hit !== undefined) return hit ?? undefined;
  const h = analyze(file, fn);
  const read = h.ops.length === 1 && (h.ops[0]!.kind === 'max' || h.ops[0]!.kind === 'count') && !h.ops[0]!.lock ? h.ops[0]! : undefined;
  const fam = familyOf(h.lang);
  let ok = false;
  if (read && (fam === 'ruby' || /\breturn\b/.test(h.bare)) && !/\bFOR\s+UPDATE\b|select_for_update|with_for_update|\block!|advisory/i.test(h.code)) {
    const plus = plusOneOnRead(h, read, h.code.slice(read.start));
    // The `+ 1` is what the helper returns: on a `return` line, or (Ruby) its last expression.
    if (plus) {
      const at = read.start + plus.index;
      const lineText = h.code.slice(h.code.lastIndexOf('\n', at) + 1, h.code.indexOf('\n', at) < 0 ? h.code.length : h.code.indexOf('\n', at));
      ok = /\breturn\b/.test(lineText) || h.idx.line(at) <= read.endLine + 1 || fam === 'ruby';
    }
  }
  nextCache.set(fn, ok ? read! : null);
  return ok ? read : undefined;
}

/** Calls to short helpers of the review that return max + 1, as max reads at the call site bound to the call's target. */
function nextNumberCalls(ctx: DetectorContext, info: FnInfo): DbOp[] {
  if (!info.bare.includes('(')) return [];
  const byName = functionsByName(ctx.files);
  const fam = familyOf(info.lang);
  const own = /([A-Za-z_$][\w$]*[?!]?)$/.exec(info.fn.name)?.[1];
  const out: DbOp[] = [];
  for (const m of info.bare.matchAll(/(?<![\w$])(?:[A-Za-z_$@][\w$]*\s*\.\s*){0,3}([A-Za-z_$][\w$]*[?!]?)\s*\(/g)) {
    const name = m[1]!;
    const cands = name === own ? undefined : byName.get(name);
    if (!cands) continue;
    const at = m.index ?? 0;
    if (/(?:\bdef|\bfunction|\bfunc|\basync|\bfn)\s*$/.test(info.bare.slice(Math.max(0, at - 12), at))) continue;
    let read: DbOp | undefined;
    for (const c of cands) {
      if (c.file === ctx.file && c.fn.startLine >= info.fn.startLine && c.fn.endLine <= info.fn.endLine) continue;
      read = nextNumberOf(c.file, c.fn);
      if (read) break;
    }
    if (!read) continue;
    const close = matchBracket(info.code, at + m[0].length - 1, fam);
    if (close < 0) continue;
    const vars = boundVars(info.code, at, fam).filter((v) => v !== 'err' && v !== '_');
    if (vars.length === 0) continue;
    out.push({ ...read, call: `${name}()`, start: at, end: close + 1, line: info.idx.line(at), endLine: info.idx.line(close), vars });
  }
  return out;
}

const PLUS_ONE = /\+\s*1\b(?!\s*[\d.])|\+=\s*1\b|\.succ\b|\bnext\s*\(/g;

/**
 * The first `+ 1` after `read` (in `between`, which starts at the read) that is applied to what the read returned:
 * in the read's own statement (`(SELECT MAX(n) ...) + 1`, `.maximum(:n).to_i + 1`, `.scalar_one()) + 1`), or on a
 * line that uses a variable bound to the read, directly or through one local assigned from it (`last.position + 1`,
 * `n = row[0] or 0` then `n + 1`). A `+ 1` elsewhere in the function (another computation) does not make the read a
 * sequence: a latest row read only to test that one exists is an existence check, not max + 1.
 */
function plusOneOnRead(info: FnInfo, read: DbOp, between: string): { index: number } | undefined {
  const vars = new Set(read.vars.filter((v) => v !== 'err' && v !== '_' && /^[A-Za-z_$][\w$]*$/.test(v)));
  const esc = (v: string) => v.replace(/\$/g, '\\$');
  const uses = (text: string) => [...vars].some((v) => new RegExp(String.raw`(?<![\w$.])@?${esc(v)}(?![\w$])`).test(text));
  // One hop: locals assigned from a bound variable (`n = last.position`, `cur := max.Int64`).
  if (vars.size > 0) {
    for (const m of between.matchAll(/^[ \t]*(?:const\s+|let\s+|var\s+)?@?([A-Za-z_$][\w$]*)\s*(?::\s*[\w.<>[\]| ]+)?:?=(?![=>~])([^\n]{1,200})/gm)) {
      if (!vars.has(m[1]!) && uses(m[2]!)) vars.add(m[1]!);
    }
  }
  const stmtEnd = info.idx.offsetOf(read.endLine + 1) - read.start;
  for (const m of between.matchAll(PLUS_ONE)) {
    const at = m.index ?? 0;
    if (at < stmtEnd) return { index: at };
    const lineStart = between.lastIndexOf('\n', at) + 1;
    const lineEnd = between.indexOf('\n', at);
    if (vars.size > 0 && uses(between.slice(lineStart, lineEnd < 0 ? between.length : lineEnd))) return { index: at };
  }
  return undefined;
}

function guessSeqColumn(cols: readonly string[]): string | undefined {
  return cols.find((c) => /(?:position|seq|sequence|number|num|no|index|order|rank|version|counter)$/i.test(c));
}
