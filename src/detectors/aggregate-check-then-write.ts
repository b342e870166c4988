/**
 * aggregate-check-then-write (write_skew): an invariant over several rows ("at least one active pickup location",
 * "at least min_on_duty people not on leave", "spending this month stays under the limit") is checked with an
 * aggregate, then enforced by writing a single row. Two transactions read the same set, each writes a different row,
 * neither write conflicts with the other, and together they break the invariant.
 *
 * Rule: in a changed function, a count / sum read on entity E (or an exists read on E's other rows) is tested by an `if`,
 * and the branch that proceeds
 *   - updates a row of E so that it leaves or joins the checked set: the update writes a column (or, in
 *     ActiveRecord, a scope's namesake such as `active`) that the check filters on — through the query builder
 *     or a loaded object (`location.update!`, `x.status = ...; x.save()`), or
 *   - inserts into E when the aggregate is compared with a bound (count < limit, sum + amount <= budget).
 *
 * Quiet when: a lock is taken before the aggregate (parent row FOR UPDATE, `forUpdate()`, `select_for_update()`,
 * `lock!` / `with_lock`, advisory lock, LOCK TABLE); the transaction is SERIALIZABLE (or REPEATABLE READ with its
 * retry, which we do not second-guess); the aggregate compares with zero and the act inserts (that is an emptiness
 * check: check-then-insert / range-check-then-insert); the update is computed in the database.
 *
 * Distinction from phantom_read (docs/detectors/aggregate-check-then-write.md): phantom_read is an emptiness or
 * maximum read over a range that gates an insert into that very range; write_skew is an invariant over a set of rows
 * (a bound other than "none") enforced by writing a different, existing row, or an insert counted against a limit.
 *
 * Confidence: 0.85 for a count / sum compared with a bound and an update of a row of the counted set; 0.8 for an
 * insert under a bound; 0.7 when the read is an exists over the other rows of the set (`where.not(id: ...)`, `exclude(pk=...)`, `id <> $1`).
 */
import {
  analyzedFunctions,
  dedupe,
  evidence,
  findGate,
  guardsOf,
  keyColumns,
  opsIn,
  sameEntity,
  touchesAdded,
} from './lib/checks.js';
import { normColumn, type DbOp } from './lib/sql.js';
import { createDetector, type DetectorReport } from './types.js';

/**
 * The update must move a row in or out of the checked set: it writes a column (or an ActiveRecord scope's namesake)
 * that the check filters on. Renaming a row after counting rows does not touch the invariant.
 */
function changesMembership(code: string, check: DbOp, act: DbOp): boolean {
  let written = act.writeColumns;
  if (written.length === 0 && act.instance) {
    // `seat.assigned = false; seat.save()`
    const between = code.slice(check.end, act.start);
    written = [...between.matchAll(new RegExp(String.raw`\b${act.instance}\.(\w+)\s*=(?!=)`, 'g'))].map((m) => m[1]!);
  }
  const filtered = new Set([...check.whereColumns, ...(check.scopes ?? [])].map(normColumn));
  return written.some((c) => filtered.has(normColumn(c)));
}

const OTHER_ROWS = /\.not\(\s*(?:id|pk)\b|\bexclude\(\s*(?:pk|id)\b|\bid\s*:\s*\{\s*not\b|\bid\s*(?:<>|!=)|\bNOT\s*:\s*\{\s*id\b|whereNot\(\s*['"]?id\b|\bid\s*:\s*\{\s*\$ne\b|\[Op\.ne\]/i;

export default createDetector(
  {
    id: 'aggregate-check-then-write',
    failureMode: 'write_skew',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'A count / sum over several rows decides a write to one row (or an insert under a limit), with no lock on the checked set and no SERIALIZABLE.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/aggregate-check-then-write.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const guards = guardsOf(info);
      if (guards.serializable) continue;
      for (const check of info.ops) {
        if (!['count', 'sum', 'exists', 'list'].includes(check.kind) || check.lock) continue;
        if (check.kind === 'list') continue;
        // An exists read counts only when it looks at the *other* rows of the set ("another active one exists").
        if (check.kind === 'exists' && !OTHER_ROWS.test(info.code.slice(check.start, check.end))) continue;
        if (guards.lockLine !== undefined && guards.lockLine <= check.line) continue;
        const gate = findGate(info, check);
        if (!gate) continue;
        const aggregate = check.kind === 'count' || check.kind === 'sum';
        const regions: Array<[number, number]> = gate.bails ? [[gate.body[1] + 1, info.fn.endLine]] : [[gate.line, gate.body[1]]];
        if (!gate.bails && gate.elseBody) regions.push(gate.elseBody);
        let act: DbOp | undefined;
        for (const op of regions.flatMap(([from, to]) => opsIn(info, from, to))) {
          if (op.start <= check.start || !sameEntity(op.entity, check.entity)) continue;
          if (op.kind === 'update' && !op.atomic && changesMembership(info.code, check, op)) {
            act = op;
            break;
          }
          if (op.kind === 'insert' && gate.polarity === 'threshold' && aggregate) {
            act = op;
            break;
          }
        }
        if (!act) continue;
        // An update of a row of the set needs an aggregate bound, or an exists over "other" rows.
        if (act.kind === 'update' && !aggregate && gate.polarity === 'threshold') continue;
        if (!touchesAdded(ctx.file, check.line, act.line)) continue;
        const keys = keyColumns(check.whereColumns);
        const rangeNorm = new Set((check.rangeColumns ?? []).map(normColumn));
        const parentKey = keys.find((c) => /(?:_id|Id)$/.test(c) && !rangeNorm.has(normColumn(c)));
        const facts: Record<string, string> = {
          checkCall: check.call,
          writeCall: act.call,
          orm: check.orm,
          isolation: 'read committed',
          inTransaction: /\btransaction\b|\batomic\b|BeginTx|\.begin\(|Begin\(/i.test(info.code) ? 'yes' : 'no',
        };
        if (/^[a-z_]+$/.test(check.entity) && /_|s$/.test(check.entity)) facts.table = check.entity;
        else facts.model = check.entity;
        if (keys.length) facts.keyColumns = keys.join(', ');
        if (parentKey) facts.parentKey = parentKey;
        if (check.parent) facts.parentTable = check.parent.replace(/^current_/, '') + 's';
        const bound = gate.bound ? ` against ${gate.bound}` : '';
        facts.invariant = `${check.kind === 'sum' ? 'the sum over' : 'the number of'} ${check.entity}${keys.length ? ` (${keys.join(', ')})` : ''} checked${bound} in \`${gate.condition.slice(0, 80)}\``;
        let confidence = aggregate ? (act.kind === 'update' ? 0.85 : 0.8) : 0.7;
        if (gate.polarity !== 'threshold' && aggregate && act.kind === 'update') confidence = 0.75;
        const ev = [evidence(info, check.line, 'check')];
        if (gate.line !== check.line) ev.push(evidence(info, gate.line, 'check'));
        ev.push(evidence(info, act.line, 'write'));
        reports.push({
          line: check.line,
          endLine: act.line,
          functionName: info.fn.name,
          entity: check.entity,
          evidence: ev,
          facts,
          title: `${info.fn.name} checks ${check.kind === 'sum' ? 'a sum' : check.kind === 'count' ? 'a count' : 'the other rows'} over ${check.entity} with ${check.call}, then ${act.kind === 'update' ? 'updates one row' : 'inserts a row'} with ${act.call}: two concurrent calls both pass the check`,
          confidence,
          variant: 'database',
        });
      }
    }
    return dedupe(reports);
  },
);
