/**
 * max-plus-one (phantom_read): the next number in a sequence is derived from the rows that exist now
 * (`MAX(position) + 1`, `_max`, `aggregate(Max(...))`, `.maximum(:position)`, `ORDER BY seq DESC LIMIT 1`, `count + 1`)
 * and inserted. Two writers read the same maximum before either inserts; the row each inserts is a phantom for the
 * other's read, so both insert the same number.
 *
 * Rule: in a changed function, a max / last-by-order / count read on entity E (scoped by columns S) is followed, in the
 * same function, by `+ 1` and then an insert into E.
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
} from './lib/checks.js';
import { normColumn } from './lib/sql.js';
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
        const insert = info.ops.find((o) => o.start > read.end && o.kind === 'insert' && sameEntity(o.entity, read.entity));
        if (!insert) continue;
        const between = info.code.slice(read.start, insert.end);
        const plusOne = /\+\s*1\b(?!\s*[\d.])|\+=\s*1\b|\.succ\b|\bnext\s*\(/.exec(between);
        if (!plusOne) continue;
        if (read.kind === 'count' && !read.vars.some((v) => new RegExp(String.raw`\b${v.replace(/\$/g, '\\$')}\b[^\n;]{0,40}\+\s*1\b`).test(between))) continue;
        const column = read.maxColumn ?? (read.kind === 'count' ? guessSeqColumn(insert.writeColumns) : undefined);
        const scope = keyColumns(read.whereColumns);
        if (column && (uniqueCovers(ctx.schema, read.entity, [...scope, column], ctx.files))) continue;
        if (!column && uniqueCovers(ctx.schema, read.entity, [...scope, ...insert.writeColumns], ctx.files)) continue;
        if (!touchesAdded(ctx.file, read.line, insert.line)) continue;
        const decl = declarationOf(ctx.files, read.entity);
        let confidence = decl && !decl.schemaless ? 0.9 : 0.75;
        if (read.kind === 'count') confidence -= 0.1;
        const plusLine = info.idx.line(read.start + plusOne.index);
        const ev = [evidence(info, read.line, 'range-check')];
        if (plusLine > read.endLine && plusLine < insert.line) ev.push(evidence(info, plusLine, 'range-check'));
        ev.push(evidence(info, insert.line, 'insert'));
        const colNorm = column ? normColumn(column) : '';
        const index = decl?.indexes.find((ix) => ix.some((c) => normColumn(c) === colNorm));
        const facts: Record<string, string> = {
          pattern: 'max-plus-one',
          rangeCall: read.call,
          insertCall: insert.call,
          orm: read.orm,
        };
        if (column) facts.column = column;
        if (scope.length) {
          facts.scopeColumn = scope.join(', ');
          facts.keyColumns = [...scope, ...(column ? [column] : [])].join(', ');
        }
        if (/^[a-z_]+$/.test(read.entity) && /_|s$/.test(read.entity)) facts.table = read.entity;
        else facts.model = read.entity;
        if (index) facts.existingIndex = 'non-unique index';
        reports.push({
          line: read.line,
          endLine: insert.line,
          functionName: info.fn.name,
          entity: read.entity,
          evidence: ev,
          facts,
          title: `${info.fn.name} reads the ${read.kind === 'count' ? 'row count' : `highest ${column ?? 'value'}`} of ${read.entity}${scope.length ? ` per ${scope.join(', ')}` : ''} with ${read.call} and inserts ${read.kind === 'count' ? 'count' : 'max'} + 1: concurrent inserts get the same ${column ?? 'number'}`,
          confidence: Math.round(confidence * 100) / 100,
          variant: 'database',
        });
      }
    }
    return dedupe(reports);
  },
);

function guessSeqColumn(cols: readonly string[]): string | undefined {
  return cols.find((c) => /(?:position|seq|sequence|number|num|no|index|order|rank|version|counter)$/i.test(c));
}
