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
  analyzedFunctions,
  declarationOf,
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
import { argKeys, familyOf, matchBracket, normColumn, normEntity, type DbOp } from './lib/sql.js';
import type { SourceFile } from '../parse/types.js';
import { createDetector, type DetectorReport } from './types.js';

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
      const guards = guardsOf(info);
      if (guards.serializable || guards.uniqueViolation) continue;
      for (const read of info.ops) {
        if (read.kind !== 'max' && read.kind !== 'count') continue;
        if (read.lock || (guards.lockLine !== undefined && guards.lockLine <= read.line)) continue;
        if (read.kind === 'count' && (read.vars.length === 0 || findGate(info, read))) continue;
        // The act: an insert into E, or (for a maximum) the number written onto an existing row of E: an update of
        // it (`update({ where: { id }, data: { number } })`, `inv.update!(number: n)`, `x.number = n; x.save()`) or a
        // model method writing its own record (`update!(sequence: last + 1)`, `self.number = n; save!`).
        const act = info.ops.find((o) => (o.start > read.end || (o.start < read.start && o.end >= read.end)) && o.kind === 'insert' && sameEntity(o.entity, read.entity)) ?? (read.kind === 'max' && read.maxColumn ? numberedRow(ctx.file, info, read) : undefined);
        if (!act) continue;
        const between = info.code.slice(read.start, act.end);
        const plusOne = /\+\s*1\b(?!\s*[\d.])|\+=\s*1\b|\.succ\b|\bnext\s*\(/.exec(between);
        if (!plusOne) continue;
        if (read.kind === 'count' && !read.vars.some((v) => new RegExp(String.raw`\b${v.replace(/\$/g, '\\$')}\b[^\n;]{0,40}\+\s*1\b`).test(between))) continue;
        const column = read.maxColumn ?? (read.kind === 'count' ? guessSeqColumn(act.writeColumns) : undefined);
        const scope = keyColumns(read.whereColumns);
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
          functionName: info.fn.name,
          entity: read.entity,
          evidence: ev,
          facts,
          title: `${info.fn.name} reads the ${read.kind === 'count' ? 'row count' : `highest ${column ?? 'value'}`} of ${read.entity}${scope.length ? ` per ${scope.join(', ')}` : ''} with ${read.call} and ${onRow ? `writes ${what} + 1 onto a row with ${act.call}` : `inserts ${what} + 1`}: concurrent ${onRow ? 'writers' : 'inserts'} get the same ${column ?? 'number'}`,
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

function guessSeqColumn(cols: readonly string[]): string | undefined {
  return cols.find((c) => /(?:position|seq|sequence|number|num|no|index|order|rank|version|counter)$/i.test(c));
}
