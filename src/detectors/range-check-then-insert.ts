/**
 * range-check-then-insert (phantom_read): "no row overlaps this window" is read with a range predicate, then a row is
 * inserted into that window. Row locks cannot lock rows that do not exist yet, so under READ COMMITTED (and under
 * snapshot isolation) two transactions both see an empty range and both insert: each new row is a phantom for the
 * other's read.
 *
 * Rule: in a changed function, an EXISTS / count / find / list read on entity E whose predicate is a range
 * (`<`, `>`, BETWEEN, `&&`, OVERLAPS, Prisma `lt`/`gt`, Django `__lt`/`__gte`/`__range`/`__overlap`, Knex
 * `where(col, '<', ..)` / whereBetween, Drizzle `lt()`/`gt()`, SQLAlchemy `Model.col < x`, ActiveRecord
 * `where("starts_at < ?")` / `"tsrange(...) && ..."`, Arel `t[:starts_at].lt(x)` or Ruby ranges) is tested by an `if` that
 * leaves when a row is found (or acts only when none is), and the act inserts into E. The read may be built by a short
 * helper and read at the call site (`if overlapping_bookings.exists?`; see `helperReads`), or run by a short helper that
 * returns whether it found a row (`if await _slot_taken(...)`, `return clash is not None` / `!!row` / `exists, err`; see
 * `helperPredicates`). An ActiveRecord scope of the review with a range predicate, or one named for a range
 * (`overlapping(a, b)`) whose definition is not in the diff, makes a range read (`withRangeScope`). A model instance
 * built and then passed to `session.add(x)` is an insert (`addedInstances`).
 * A Rails custom validation (`validate :room_is_free`) that adds an error when such a read finds a row is the check,
 * and the INSERT `save` makes right after it is the act, when the review creates the record (`validationInsert`).
 *
 * Not a range in this sense: a recency / dedup window, where every range comparison bounds one column by a value
 * relative to now (`created_at > NOW() - INTERVAL '5 minutes'`, `createdAt: { gt: since }` with `since` computed from
 * Date.now(), `created_at__gte=timezone.now() - timedelta(...)`, `5.minutes.ago..`). That is an existence check for a
 * duplicate of the same key, fixed by a unique constraint on a deterministic key: check-then-insert reports it as
 * toctou (`recencyWindow` in check-then-insert.ts). A phantom needs a requested range: two bounds from parameters
 * (`starts_at < $end AND ends_at > $start`), BETWEEN, `&&` / tstzrange overlaps.
 *
 * Second rule (pattern `count-in-range`): a count / sum over a predicate on E (any predicate: a scope, a parent's
 * association, a time window, a range) is compared with a bound other than zero (`count < capacity`,
 * `sent >= MAX_PER_HOUR`, `spent + amount > budget`), and the code then inserts a row into E that joins the counted
 * set: after a bailing `if`, inside the `if` / `else`, or with a value decided by the comparison
 * (`status = taken < capacity ? :confirmed : :waitlisted`, a Go `if` that sets a variable) that the insert writes.
 * Every concurrent transaction counts the rows that exist before any of them inserts; the new rows are phantoms to
 * the others' counts and the limit holds only for sequential requests. A recency window counts here too (a rate
 * limit "3 per hour" is a count, not an existence check).
 *
 * Quiet when: the diff declares an exclusion constraint on E (EXCLUDE USING gist), or the function handles an
 * exclusion violation (23P01) (first rule); a lock is taken before the read (the parent row FOR UPDATE, an advisory
 * lock, LOCK TABLE, select_for_update, lock!, with_lock); the transaction is SERIALIZABLE; the act updates an existing
 * row instead of inserting (aggregate-check-then-write reports that as write_skew); the inserted row shares no
 * scope column with the count (a row of another set).
 *
 * Confidence: 0.85; 0.75 when the read is a count compared with zero rather than an EXISTS / find; 0.8 for a count
 * or sum under a bound.
 */
import {
  actRegion,
  addedInstances,
  analyzedFunctions,
  appAggregates,
  dedupe,
  evidence,
  findGate,
  lineText,
  findTernary,
  guardsOf,
  hasExclusion,
  helperAggregates,
  helperPredicates,
  helperInserts,
  helperReads,
  helperRowReads,
  keyColumns,
  handlesExclusion,
  modelOfFile,
  railsModelCreated,
  sameEntity,
  validationOf,
  touchesAdded,
  type FnInfo,
  withRangeScope,
  type Gate,
} from './lib/checks.js';
import { normColumn, type DbOp } from './lib/sql.js';
import { recencyWindow } from './check-then-insert.js';
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';

export default createDetector(
  {
    id: 'range-check-then-insert',
    failureMode: 'phantom_read',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: "A 'no rows in this range' read (overlap check), or a count under a limit, gates an insert into the set it read, with no exclusion constraint, lock or SERIALIZABLE.",
    defaultSeverity: 'high',
    docs: 'docs/detectors/range-check-then-insert.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const guards = guardsOf(info, ctx);
      if (guards.serializable) continue;
      reports.push(...countUnderLimit(ctx, info));
      if (guards.exclusionViolation) continue;
      // The range read may be built by a short helper and read at the call site (`if overlapping_bookings.exists?`).
      // Or by a predicate helper that answers whether the range is taken (`if await _slot_taken(...)`; see `helperPredicates`).
      // An ActiveRecord read through a range scope of the review (`bookings.overlapping(a, b).exists?`) is a range read.
      const scoped = (o: DbOp) => (o.orm === 'activerecord' && !o.range ? withRangeScope(ctx.files, o, info.code) : o);
      // Or by a helper that hands back the row it found (`const clash = await findClash(tx, ...)`; see `helperRowReads`).
      const viaHelper = new Map([...helperReads(ctx, info), ...helperPredicates(ctx, info), ...helperRowReads(ctx, info)].map((h) => [scoped(h.op), h]));
      const reads = [...info.ops.map(scoped), ...viaHelper.keys()];
      // The insert may be made by a short helper too (`return insertBooking(tx, {...})`; see `helperInserts`).
      const inserts = [...info.ops, ...addedInstances(info), ...helperInserts(ctx, info)];
      for (const check of reads) {
        if (!['find', 'exists', 'count', 'list'].includes(check.kind) || !check.range || check.lock) continue;
        if (check.kind === 'list' && check.vars.length === 0) continue;
        // "A row for this key in the last 5 minutes" is an existence check, not a range others overlap: toctou's.
        const helper = viaHelper.get(check);
        if (helper ? recencyWindow(helper.helper, helper.inner) : recencyWindow(info, check)) continue;
        if (guards.lockLine !== undefined && guards.lockLine <= check.line) continue;
        if (hasExclusion(ctx.schema, check.entity)) continue;
        let gate = findGate(info, check);
        if (!gate || gate.polarity === 'threshold') continue;
        // A helper that answers "is it free?": its truthy result means no row was found.
        if (helper?.negated) gate = { ...gate, polarity: gate.polarity === 'found' ? 'missing' : 'found' };
        const insert = actRegion(info, gate, 'missing')
          .flatMap(([from, to]) => inserts.filter((o) => o.line >= from && o.line <= to))
          .find((o) => o.start > check.start && o.kind === 'insert' && sameEntity(o.entity, check.entity));
        if (!insert) {
          const v = validationInsert(ctx, info, check, gate);
          if (v) reports.push(v);
          continue;
        }
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
          functionName: info.name,
          entity: check.entity,
          evidence: [evidence(info, check.line, 'range-check'), evidence(info, insert.line, 'insert')],
          facts,
          title: `${info.name} checks that no ${check.entity} row${scope.length ? ` for the same ${scope.join(', ')}` : ''} overlaps the range${rangeCols.length ? ` (${rangeCols.join(', ')})` : ''}, then inserts one: a concurrent insert into the same range is not seen`,
          confidence: check.kind === 'count' ? 0.75 : 0.85,
          variant: 'database',
        });
      }
    }
    return dedupe(reports);
  },
);

/**
 * A Rails validation of the model (`validate :room_is_free`) that adds an error when a range read of the model's own
 * rows finds one (`errors.add(...) if clash.exists?`): `save` runs it right before the INSERT, so the insert is the
 * act, made wherever the review creates the record (`band.room_bookings.new(...)` then `save`, `RoomBooking.create!`).
 */
function validationInsert(ctx: DetectorContext, info: FnInfo, check: DbOp, gate: Gate): DetectorReport | undefined {
  const options = validationOf(info);
  if (options === undefined || /\bon:\s*:update\b/.test(options)) return undefined;
  if (gate.polarity !== 'found' || !gate.bails || !/\berrors\b/.test(lineText(info, gate.line) + gate.condition)) return undefined;
  const model = modelOfFile(ctx.file);
  if (!model || !sameEntity(model, check.entity)) return undefined;
  if (!railsModelCreated(ctx.files, model) || handlesExclusion(ctx.files)) return undefined;
  if (!touchesAdded(ctx.file, check.line, gate.line)) return undefined;
  const rangeCols = check.rangeColumns ?? [];
  const rangeNorm = new Set(rangeCols.map(normColumn));
  // `where.not(id: id)` leaves the record itself out: not a scope.
  const scope = keyColumns(check.whereColumns).filter((c) => !rangeNorm.has(normColumn(c)) && !/^(?:id|pk)$/i.test(c));
  const facts: Record<string, string> = {
    pattern: 'no-overlap',
    rangeCall: check.call,
    insertCall: 'save (the validation runs just before the INSERT)',
    orm: check.orm,
    isolation: 'read committed',
    model: check.entity,
    inTransaction: 'no',
  };
  if (rangeCols.length) facts.rangeColumns = rangeCols.join(', ');
  if (scope.length) facts.scopeColumn = scope.join(', ');
  return {
    line: check.line,
    endLine: Math.max(check.line, gate.line),
    functionName: info.name,
    entity: check.entity,
    evidence: [evidence(info, check.line, 'range-check'), ...(gate.line !== check.line ? [evidence(info, gate.line, 'range-check')] : [])],
    facts,
    title: `${info.name} validates that no ${check.entity} row${scope.length ? ` for the same ${scope.join(', ')}` : ''} overlaps the range${rangeCols.length ? ` (${rangeCols.join(', ')})` : ''}, then save inserts one: a concurrent save into the same range passes the same validation`,
    confidence: 0.8,
    variant: 'database',
  };
}

/** Variables assigned in lines [from, to]: `status = ...`, `status := ...`, `let status = ...`. */
function assignedIn(info: FnInfo, from: number, to: number): string[] {
  const out: string[] = [];
  for (let l = from; l <= to; l++) {
    const m = /^\s*(?:const|let|var)?\s*@?([A-Za-z_$][\w$]*)\s*:?=(?!=)/.exec(info.bareLines[l - info.fn.startLine] ?? '');
    if (m) out.push(m[1]!);
  }
  return out;
}

function mentions(text: string, word: string): boolean {
  return new RegExp(String.raw`(?<![\w$.])@?${word.replace(/\$/g, '\\$')}(?![\w$])`).test(text);
}

/** The insert into `check`'s set that the limit comparison `gate` lets through, if any. */
function insertUnderLimit(info: FnInfo, check: DbOp, gate: Gate): DbOp | undefined {
  // A get-or-create (`update_or_create`, `find_or_create_by`, `findOrCreate`) inserts the row when it is missing: it joins the set too.
  const candidates = info.ops.filter((o) => o.start > check.start && (o.kind === 'insert' || o.kind === 'getOrCreate') && sameEntity(o.entity, check.entity));
  if (candidates.length === 0) return undefined;
  const inRegion = (o: DbOp, [from, to]: [number, number]) => o.line >= from && o.line <= to;
  let regions: Array<[number, number]>;
  let decided: string[] = [];
  if (gate.assigned !== undefined) {
    // A conditional expression: inline in the insert, or assigning a value the insert writes.
    regions = [];
    decided = gate.assigned ? [gate.assigned] : [];
    const inline = candidates.find((o) => o.line <= gate.line && gate.line <= o.endLine);
    if (inline) return inline;
  } else if (gate.bails) regions = [[gate.body[1] + 1, info.fn.endLine]];
  else {
    regions = [[gate.line, gate.body[1]]];
    if (gate.elseBody) regions.push(gate.elseBody);
    // `if taken < capacity { status = "confirmed" }`: the branches decide a value written by a later insert.
    decided = assignedIn(info, gate.body[0] + 1, gate.body[1]).concat(gate.elseBody ? assignedIn(info, gate.elseBody[0], gate.elseBody[1]) : []);
  }
  const after = gate.elseBody ? gate.elseBody[1] : gate.body[1];
  for (const o of candidates) {
    if (regions.some((r) => inRegion(o, r))) return o;
    if (o.line > after && decided.some((v) => mentions(info.code.slice(o.start, o.end), v))) return o;
  }
  return undefined;
}

/**
 * count-in-range: a count / sum over E compared with a limit gates an insert into E that joins the counted set.
 * Every request counts the rows that exist before the others insert: the new rows are phantoms to those counts.
 */
function countUnderLimit(ctx: DetectorContext, info: FnInfo): DetectorReport[] {
  const file = ctx.file;
  const out: DetectorReport[] = [];
  const guards = guardsOf(info);
  // The count may be read through a short helper of the review (`if count_attendees(event_id) >= cap`).
  for (const check of [...info.ops, ...helperAggregates(ctx, info), ...appAggregates(info)]) {
    if ((check.kind !== 'count' && check.kind !== 'sum') || check.lock) continue;
    if (guards.lockLine !== undefined && guards.lockLine <= check.line) continue;
    let gate = findGate(info, check);
    if (gate && gate.polarity !== 'threshold') continue;
    gate ??= findTernary(info, check);
    if (!gate) continue;
    const insert = insertUnderLimit(info, check, gate);
    if (!insert) continue;
    if (!touchesAdded(file, check.line, insert.line)) continue;
    // The new row must join the counted set: the same association parent, and a shared scope column when both sides name columns.
    if (check.parent && insert.parent && check.parent !== insert.parent) continue;
    const rangeCols = check.rangeColumns ?? [];
    const rangeNorm = new Set(rangeCols.map(normColumn));
    const scope = keyColumns(check.whereColumns).filter((c) => !rangeNorm.has(normColumn(c)));
    const written = new Set(insert.writeColumns.map(normColumn));
    if (scope.length > 0 && written.size > 0 && !scope.some((c) => written.has(normColumn(c))) && !(check.parent && check.parent === insert.parent)) continue;
    const facts: Record<string, string> = {
      pattern: 'count-in-range',
      rangeCall: check.call,
      insertCall: insert.call,
      orm: check.orm,
      isolation: 'read committed',
      inTransaction: /\btransaction\b|\batomic\b|BeginTx|\.begin\(|Begin\(/i.test(info.code) ? 'yes' : 'no',
    };
    if (rangeCols.length) facts.rangeColumns = rangeCols.join(', ');
    if (scope.length) facts.scopeColumn = scope.join(', ');
    else if (check.parent) facts.scopeColumn = `${check.parent.replace(/^[@:]+|^current_/g, '')}_id`;
    if (/^[a-z_]+$/.test(check.entity) && /_|s$/.test(check.entity)) facts.table = check.entity;
    else facts.model = check.entity;
    const ev = [evidence(info, check.line, 'range-check')];
    if (gate.line !== check.line) ev.push(evidence(info, gate.line, 'range-check'));
    ev.push(evidence(info, insert.line, 'insert'));
    const bound = gate.bound ? ` against ${gate.bound.slice(0, 60)}` : '';
    out.push({
      line: check.line,
      endLine: Math.max(insert.line, gate.line),
      functionName: info.name,
      entity: check.entity,
      evidence: ev,
      facts,
      title: `${info.name} ${check.kind === 'sum' ? 'sums' : 'counts'} the ${check.entity} rows${scope.length ? ` for the same ${scope.join(', ')}` : ''} with ${check.call}, compares the result${bound}, then inserts another one with ${insert.call}: concurrent requests all count the rows that exist before any of them inserts`,
      confidence: 0.8,
      variant: 'database',
    });
  }
  return out;
}
