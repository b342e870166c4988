/**
 * range-check-then-insert (phantom_read): "no row overlaps this window" is read with a range predicate, then a row is
 * inserted into that window. Row locks cannot lock rows that do not exist yet, so under READ COMMITTED (and under
 * snapshot isolation) two transactions both see an empty range and both insert: each new row is a phantom for the
 * other's read.
 *
 * Rule: in a changed function, an EXISTS / count / find / list read on entity E whose predicate is a range
 * (`<`, `>`, BETWEEN, `&&`, OVERLAPS, Prisma `lt`/`gt`, Django `__lt`/`__gte`/`__range`/`__overlap`, Knex
 * `where(col, '<', ..)` / whereBetween, Drizzle `lt()`/`gt()`, SQLAlchemy `Model.col < x`, ActiveRecord
 * `where("starts_at < ?")` or Ruby ranges) is tested by an `if` that leaves when a row is found (or acts only when none
 * is), and the act inserts into E.
 *
 * Not a range in this sense: a recency / dedup window, where every range comparison bounds one column by a value
 * relative to now (`created_at > NOW() - INTERVAL '5 minutes'`, `createdAt: { gt: since }` with `since` computed from
 * Date.now(), `created_at__gte=timezone.now() - timedelta(...)`, `5.minutes.ago..`). That is an existence check for a
 * duplicate of the same key, fixed by a unique constraint on a deterministic key: check-then-insert reports it as
 * toctou (`recencyWindow` in check-then-insert.ts). A phantom needs a requested range: two bounds from parameters
 * (`starts_at < $end AND ends_at > $start`), BETWEEN, `&&` / tstzrange overlaps.
 *
 * Quiet when: the diff declares an exclusion constraint on E (EXCLUDE USING gist), or the function handles an
 * exclusion violation (23P01); a lock is taken before the read (the parent row FOR UPDATE, an advisory lock,
 * LOCK TABLE, select_for_update, lock!); the transaction is SERIALIZABLE; the read compares a count with a bound
 * other than zero (a capacity / limit invariant: aggregate-check-then-write reports it as write_skew); the act
 * updates an existing row instead of inserting (write_skew too).
 *
 * Confidence: 0.85; 0.75 when the read is a count compared with zero rather than an EXISTS / find.
 */
import {
  actRegion,
  analyzedFunctions,
  dedupe,
  evidence,
  findGate,
  guardsOf,
  hasExclusion,
  keyColumns,
  opsIn,
  sameEntity,
  touchesAdded,
} from './lib/checks.js';
import { normColumn } from './lib/sql.js';
import { recencyWindow } from './check-then-insert.js';
import { createDetector, type DetectorReport } from './types.js';

export default createDetector(
  {
    id: 'range-check-then-insert',
    failureMode: 'phantom_read',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: "A 'no rows in this range' read (overlap / window check) gates an insert into that range, with no exclusion constraint, lock or SERIALIZABLE.",
    defaultSeverity: 'high',
    docs: 'docs/detectors/range-check-then-insert.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const guards = guardsOf(info);
      if (guards.serializable || guards.exclusionViolation) continue;
      for (const check of info.ops) {
        if (!['find', 'exists', 'count', 'list'].includes(check.kind) || !check.range || check.lock) continue;
        if (check.kind === 'list' && check.vars.length === 0) continue;
        // "A row for this key in the last 5 minutes" is an existence check, not a range others overlap: toctou's.
        if (recencyWindow(info, check)) continue;
        if (guards.lockLine !== undefined && guards.lockLine <= check.line) continue;
        if (hasExclusion(ctx.schema, check.entity)) continue;
        const gate = findGate(info, check);
        if (!gate || gate.polarity === 'threshold') continue;
        const insert = actRegion(info, gate, 'missing')
          .flatMap(([from, to]) => opsIn(info, from, to))
          .find((o) => o.start > check.start && o.kind === 'insert' && sameEntity(o.entity, check.entity));
        if (!insert) continue;
        if (!touchesAdded(ctx.file, check.line, insert.line)) continue;
        const rangeCols = check.rangeColumns ?? [];
        const rangeNorm = new Set(rangeCols.map(normColumn));
        const scope = keyColumns(check.whereColumns).filter((c) => !rangeNorm.has(normColumn(c)));
        const facts: Record<string, string> = {
          pattern: check.kind === 'count' ? 'count-in-range' : 'no-overlap',
          rangeCall: check.call,
          insertCall: insert.call,
          orm: check.orm,
          isolation: 'read committed',
        };
        if (rangeCols.length) facts.rangeColumns = rangeCols.join(', ');
        if (scope.length) facts.scopeColumn = scope.join(', ');
        if (/^[a-z_]+$/.test(check.entity) && /_|s$/.test(check.entity)) facts.table = check.entity;
        else facts.model = check.entity;
        facts.inTransaction = /\btransaction\b|\batomic\b|BeginTx|\.begin\(|Begin\(/i.test(info.code) ? 'yes' : 'no';
        reports.push({
          line: check.line,
          endLine: insert.line,
          functionName: info.fn.name,
          entity: check.entity,
          evidence: [evidence(info, check.line, 'range-check'), evidence(info, insert.line, 'insert')],
          facts,
          title: `${info.fn.name} checks that no ${check.entity} row${scope.length ? ` for the same ${scope.join(', ')}` : ''} overlaps the range${rangeCols.length ? ` (${rangeCols.join(', ')})` : ''}, then inserts one: a concurrent insert into the same range is not seen`,
          confidence: check.kind === 'count' ? 0.75 : 0.85,
          variant: 'database',
        });
      }
    }
    return dedupe(reports);
  },
);
