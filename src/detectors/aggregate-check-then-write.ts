/**
 * aggregate-check-then-write (write_skew): an invariant over several rows ("at least one active pickup location",
 * "at least min_on_duty people not on leave", "spending this month stays under the limit") is checked with an
 * aggregate, then enforced by writing a single row. Two transactions read the same set, each writes a different row,
 * neither write conflicts with the other, and together they break the invariant.
 *
 * Rule: in a changed function, a count / sum read on entity E (directly, or through a short helper of the review that
 * returns it: `if _admin_count(session, org_id) <= 1:`; see `helperAggregates`; or computed in application code over a
 * list read: `rows.reduce((s, r) => s + r.x, 0)`, `sum(r.x for r in rows)`, `rows.sum(&:x)`, a Go range loop; see
 * `appAggregates`) (or an exists read on E's other rows) is tested by an `if` (directly, or by handing the aggregate
 * — a field of the row / struct several aggregates were read into — to a predicate: `if !ratioOK(st.Guides-1, n)`),
 * and the branch that proceeds (after a bailing `if`, inside the `if`, or in its `else` / `elif` chain) updates an
 * existing row of E so that the invariant moves: the update writes a column (or, in ActiveRecord, a scope's namesake
 * such as `active`) that the check filters on, or the column a sum adds up (`SUM(percent)` then `SET percent = $2`)
 * — through the query builder, raw SQL, or a loaded object (`location.update!`, `x.status = ...; x.save()`, a
 * SQLAlchemy attribute assignment `card.spent = Card.spent + amount`).
 * Also a row loaded by a call whose summed / filtered attribute is assigned, then committed (`assignedRow`), and a Rails
 * validation over the model's other rows whose own-row `update!` moves the record into the set (`validatedOwnWrite`).
 *
 * Quiet when: a lock is taken before the aggregate (parent row FOR UPDATE, `forUpdate()`, `select_for_update()`,
 * `lock!` / `with_lock`, advisory lock, LOCK TABLE); the transaction is SERIALIZABLE (or REPEATABLE READ with its
 * retry, which we do not second-guess); the update is computed in the database *and* re-checks the bound in its own
 * WHERE (`SET uses = uses + 1 WHERE uses < max_uses`); the act inserts rather than updates.
 *
 * Distinction from phantom_read (docs/detectors/aggregate-check-then-write.md): when the write that follows the
 * aggregate is an INSERT into the counted set (count < capacity, then create one more), the conflict is the new row
 * itself, a phantom for the other transaction's predicate: range-check-then-insert reports it as phantom_read.
 * write_skew is an invariant over a set of rows enforced by updating a different, existing row of the set.
 *
 * Confidence: 0.85 for a count / sum compared with a bound and an update of a row of the set; 0.75 for an aggregate
 * without a bound; 0.7 when the read is an exists over the other rows of the set (`where.not(id: ...)`,
 * `exclude(pk=...)`, `id <> $1`).
 */
import {
  analyzedFunctions,
  appAggregates,
  dedupe,
  evidence,
  findGate,
  guardsOf,
  helperAggregates,
  keyColumns,
  lineText,
  lockedBefore,
  locksOrUnique,
  modelOfFile,
  ownRowUpdates,
  uniqueCovers,
  validationOf,
  type FnInfo,
  type Gate,
  opsIn,
  readTables,
  sameEntity,
  touchesAdded,
} from './lib/checks.js';
import { normColumn, type DbOp } from './lib/sql.js';
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';

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
  // A sum moves when the summed column of one of its rows is written (`SUM(percent)`, then `SET percent = $2`).
  const filtered = new Set([...check.whereColumns, ...(check.scopes ?? []), ...(check.kind === 'sum' && check.sumColumn ? [check.sumColumn] : [])].map(normColumn));
  if (written.some((c) => filtered.has(normColumn(c)))) return true;
  // Rails enums define one scope per value (`enum status: { confirmed: 0, withdrawn: 1 }` gives `.confirmed`): a count
  // through such a scope moves when the row's status / state column is set to another value (`update!(status: :withdrawn)`).
  return (check.scopes?.length ?? 0) > 0 && act.orm === 'activerecord' && written.some((c) => /^(?:status|state|\w+_(?:status|state))$/i.test(c));
}

/**
 * An update computed in the database (`x = x + $1`, `F('x') + 1`, `Model.x + amount`) still writes one row only: it
 * keeps that row's arithmetic right but cannot see a sibling row's concurrent write. It is the safe form only when it
 * re-checks the bound itself (a range predicate in its WHERE, or a condition on the column it writes) on the column
 * the check is about: a debit guarded by `balance >= ?` that also lowers the summed `value_usd` re-checks the row's
 * balance, not the sum over the set.
 */
function conditionalWrite(act: DbOp, check: DbOp): boolean {
  const where = new Set(act.whereColumns.map(normColumn));
  const guarded = act.writeColumns.filter((c) => where.has(normColumn(c))).map(normColumn);
  if (check.kind === 'sum' && check.sumColumn && act.range && act.rangeColumns?.length) {
    const sum = normColumn(check.sumColumn);
    if (act.writeColumns.some((c) => normColumn(c) === sum)) return act.rangeColumns.some((c) => normColumn(c) === sum) || guarded.includes(sum);
  }
  if (act.range) return true;
  return guarded.length > 0;
}

const SAVE_AFTER = /\.(?:commit|flush|save|saveAndFlush|persist)\s*\(|\.save!?\b|\bsave!?\s*$/m;

/**
 * A row loaded by a call (`stall = get_stall(session, id)`, `row = await repo.findOne(...)`, not a constructor) whose
 * attribute is assigned in the proceeding branch and then saved or committed (`stall.power_amps = amps`, then
 * `session.commit()`): an update of one row. It must write the column the sum adds up, or one the check filters on.
 */
function assignedRow(info: FnInfo, check: DbOp, regions: Array<[number, number]>): DbOp | undefined {
  const cols = new Set([...check.whereColumns, ...(check.kind === 'sum' && check.sumColumn ? [check.sumColumn] : [])].map(normColumn));
  cols.delete('id');
  if (cols.size === 0) return undefined;
  for (const [from, to] of regions) {
    for (let l = Math.max(from, check.endLine + 1); l <= to; l++) {
      const m = /^\s*(?:self\.|this\.)?([a-z_$][\w$]*)\.([A-Za-z_$][\w$]*)\s*=(?!=)/.exec(info.bareLines[l - info.fn.startLine] ?? '');
      if (!m || !cols.has(normColumn(m[2]!))) continue;
      const inst = m[1]!;
      // Loaded before the check by a call that is not a constructor.
      const before = info.code.slice(0, check.start);
      if (!new RegExp(String.raw`(?:^|\n)\s*(?:const|let|var)?\s*${inst.replace(/\$/g, '\\$')}\s*=\s*(?:await\s+)?(?:[\w$]+\.)*[a-z_$][\w$]*\(`).test(before)) continue;
      if (!SAVE_AFTER.test(info.code.slice(info.idx.offsetOf(l + 1)))) continue;
      return { ...check, kind: 'update', line: l, endLine: l, start: info.idx.offsetOf(l), end: info.idx.offsetOf(l + 1), call: `${inst}.${m[2]} = ...`, instance: inst, writeColumns: [m[2]!], whereColumns: ['id'], atomic: false, range: false, lock: false, vars: [] };
    }
  }
  return undefined;
}

/**
 * A Rails validation (`validate :single_driver_per_trip`) that adds an error when the model's *other* rows of the set
 * are found (`trip.participants.driver.where.not(id: id)`, then `errors.add(...) if others.exists?`), in a model whose
 * own instance method updates its row into that set (`update!(role: :driver)`: the value is the scope's namesake, or
 * the column is one the read filters on). The validation runs inside that update, and two records that each update
 * their own row both pass it.
 */
function validatedOwnWrite(ctx: DetectorContext, info: FnInfo, check: DbOp, gate: Gate): DetectorReport | undefined {
  if (gate.polarity === 'missing' || !/\berrors\b/.test(lineText(info, gate.line) + gate.condition)) return undefined;
  if (!OTHER_ROWS.test(info.code.slice(check.start, check.end))) return undefined;
  const filtered = new Set(check.whereColumns.map(normColumn));
  filtered.delete('id');
  const scopes = new Set(check.scopes ?? []);
  const write = ownRowUpdates(ctx.file).find(
    (w) => (w.line < info.fn.startLine || w.line > info.fn.endLine) && (w.values.some((v) => scopes.has(v)) || w.columns.some((c) => filtered.has(normColumn(c)))),
  );
  if (!write) return undefined;
  // A lock, or a unique index the update runs into (rescued as RecordNotUnique), makes the rule hold.
  if (locksOrUnique(ctx.file.text)) return undefined;
  const model = modelOfFile(ctx.file);
  const keys = [...check.whereColumns.filter((c) => !/^(?:id|pk)$/i.test(c)), ...(check.parent ? [`${check.parent.replace(/^[@:]+/, '')}_id`] : [])];
  if (model && uniqueCovers(ctx.schema, model, keys, ctx.files)) return undefined;
  if (!touchesAdded(ctx.file, check.line, gate.line)) return undefined;
  const facts: Record<string, string> = {
    checkCall: check.call,
    writeCall: `${write.call} (line ${write.line}; the validation runs inside it)`,
    orm: check.orm,
    isolation: 'read committed',
    inTransaction: 'no',
    model: model ?? check.entity,
  };
  if (keys.length) facts.keyColumns = keys.join(', ');
  if (check.parent) facts.parentTable = check.parent.replace(/^[@:]+/, '') + 's';
  facts.invariant = `no other ${model ?? check.entity} row of the set checked in \`${gate.condition.slice(0, 80)}\``;
  return {
    line: check.line,
    endLine: Math.max(check.line, gate.line),
    functionName: info.name,
    entity: model ?? check.entity,
    evidence: [evidence(info, check.line, 'check'), ...(gate.line !== check.line ? [evidence(info, gate.line, 'check')] : [])],
    facts,
    title: `${info.name} validates that no other row of the set exists with ${check.call}, while ${write.call} updates only the record's own row: two concurrent updates both pass the validation`,
    confidence: 0.7,
    variant: 'database',
  };
}

const OTHER_ROWS = /\.not\(\s*(?:id|pk)\b|\bexclude\(\s*(?:pk|id)\b|\bid\s*:\s*\{\s*not\b|\bid\s*(?:<>|!=)|\bNOT\s*:\s*\{\s*id\b|whereNot\(\s*['"]?id\b|\bid\s*:\s*\{\s*\$ne\b|\[Op\.ne\]/i;

export default createDetector(
  {
    id: 'aggregate-check-then-write',
    failureMode: 'write_skew',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'A count / sum over several rows decides an update of one row of that set, with no lock on the checked set and no SERIALIZABLE.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/aggregate-check-then-write.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const guards = guardsOf(info, ctx);
      if (guards.serializable) continue;
      const validation = validationOf(info);
      for (const check of [...info.ops, ...helperAggregates(ctx, info), ...appAggregates(info)]) {
        if (!['count', 'sum', 'exists', 'list'].includes(check.kind) || check.lock) continue;
        // A Rails validation may build the "other rows" relation and test it on the next line (`others.exists?`).
        if (check.kind === 'list' && (validation === undefined || check.vars.length === 0)) continue;
        // An exists read counts only when it looks at the *other* rows of the set ("another active one exists").
        if ((check.kind === 'exists' || check.kind === 'list') && !OTHER_ROWS.test(info.code.slice(check.start, check.end))) continue;
        const gate = findGate(info, check);
        if (!gate) continue;
        if (validation !== undefined) {
          const v = validatedOwnWrite(ctx, info, check, gate);
          if (v) reports.push(v);
          continue;
        }
        if (check.kind === 'list') continue;
        const aggregate = check.kind === 'count' || check.kind === 'sum';
        const regions: Array<[number, number]> = gate.bails ? [[gate.body[1] + 1, info.fn.endLine]] : [[gate.line, gate.body[1]]];
        if (!gate.bails && gate.elseBody) regions.push(gate.elseBody);
        let act: DbOp | undefined;
        // A count / sum over a join (or with a subquery) reads the joined table's rows too.
        const tables = readTables(info, check);
        for (const op of regions.flatMap(([from, to]) => opsIn(info, from, to))) {
          if (op.start <= check.start || !tables.some((t) => sameEntity(op.entity, t))) continue;
          if (op.kind === 'update' && !(op.atomic && conditionalWrite(op, check)) && changesMembership(info.code, check, op)) {
            act = op;
            break;
          }
          // Deleting one loaded row of the counted set (`session.delete(row)`, `row.destroy()`) moves it out of the set:
          // a count / sum kept above a minimum by removing one's own row (only for a bounded aggregate, below).
          if (op.kind === 'delete' && op.instance && (check.kind === 'count' || check.kind === 'sum')) {
            act = op;
            break;
          }
        }
        // A loaded row whose attribute is assigned and then committed (`stall.amps = amps; session.commit()`).
        act ??= assignedRow(info, check, regions);
        if (!act) continue;
        // A lock before the read protects it, unless it holds only the row the act writes (its own row, not the set).
        if (lockedBefore(info, check.line, act)) continue;
        // An update of a row of the set needs an aggregate bound, or an exists over "other" rows.
        if (!aggregate && gate.polarity === 'threshold') continue;
        if (act.kind === 'delete' && gate.polarity !== 'threshold') continue;
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
        let confidence = aggregate ? 0.85 : 0.7;
        if (gate.polarity !== 'threshold' && aggregate) confidence = 0.75;
        const ev = [evidence(info, check.line, 'check')];
        if (gate.line !== check.line) ev.push(evidence(info, gate.line, 'check'));
        ev.push(evidence(info, act.line, 'write'));
        reports.push({
          line: check.line,
          endLine: act.line,
          functionName: info.name,
          entity: sameEntity(act.entity, check.entity) ? check.entity : act.entity,
          evidence: ev,
          facts,
          title: `${info.name} checks ${check.kind === 'sum' ? 'a sum' : check.kind === 'count' ? 'a count' : 'the other rows'} over ${check.entity} with ${check.call}, then updates one row with ${act.call}: two concurrent calls both pass the check`,
          confidence,
          variant: 'database',
        });
      }
    }
    return dedupe(reports);
  },
);
