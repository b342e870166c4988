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
 *
 * Quiet when: a unique constraint in the diff covers K on E; the act is an upsert (ON CONFLICT, skipDuplicates,
 * INSERT IGNORE, upsert, get_or_create); the function handles a unique violation (P2002, IntegrityError, 23505,
 * RecordNotUnique, ER_DUP_ENTRY, ...), which means a constraint decides; a row / advisory lock is taken before the
 * check, or the transaction is SERIALIZABLE; the check is a range predicate (phantom_read's detector) or a threshold
 * comparison (write_skew's detector); K is only the primary key; the check just loads a row and bails when it is
 * missing (`if (!user) throw NotFound`).
 *
 * Confidence: 0.9 when the diff declares E (model / table) and no unique constraint on K (a plain index is reported
 * as `existingIndex`); 0.75 when E's declaration is not in the diff (a constraint may exist elsewhere); minus 0.1
 * when the written columns are unknown (`create(**data)`, `save(entity)`).
 */
import type { DbOp } from './lib/sql.js';
import { normColumn } from './lib/sql.js';
import {
  aRowOf,
  actRegion,
  analyzedFunctions,
  declarationOf,
  dedupe,
  evidence,
  findGate,
  guardsOf,
  isPrimaryKeyOnly,
  keyColumns,
  lineText,
  opsIn,
  overlap,
  sameEntity,
  touchesAdded,
  uniqueCovers,
  type FnInfo,
} from './lib/checks.js';
import { createDetector, type DetectorReport } from './types.js';

const SIDE_EFFECT = /\b(?:stripe|paypal|braintree|adyen|mailer|mail|sendMail|send_mail|sendEmail|send_email|email|sms|twilio|sendgrid|ses|slack|charge|charges|payment|payments|refund|enqueue|publish|perform_async|perform_later|deliver_later|deliver_now|delay|apply_async|fetch|axios|requests|httpx|webhook)\b[\w.]*\s*\(/i;

export default createDetector(
  {
    id: 'check-then-insert',
    failureMode: 'toctou',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'A read (SELECT / findFirst / exists) decides whether to insert or claim a key, with no unique constraint, upsert or lock behind it.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/check-then-insert.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const guards = guardsOf(info);
      if (guards.serializable || guards.uniqueViolation) continue;
      for (const check of info.ops) {
        if (!['find', 'exists', 'count', 'list'].includes(check.kind) || check.lock || check.range) continue;
        if (check.kind === 'list' && check.vars.length === 0) continue;
        const keys = keyColumns(check.whereColumns);
        if (keys.length === 0 || isPrimaryKeyOnly(keys)) continue;
        if (guards.lockLine !== undefined && guards.lockLine <= check.line) continue;
        const gate = findGate(info, check);
        if (!gate || gate.polarity === 'threshold') continue;
        const act = findAct(info, check, keys, actRegion(info, gate, 'missing'));
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
        const ev = [evidence(info, check.line, 'check')];
        if (side) ev.push(evidence(info, side.line, 'act'));
        ev.push(evidence(info, act.line, 'act'));
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
        reports.push({
          line: check.line,
          endLine: act.line,
          functionName: info.fn.name,
          entity: check.entity,
          evidence: ev,
          facts,
          title: claim
            ? `${info.fn.name} checks ${check.entity}.${cols.join(', ')} with ${check.call} and then writes it with ${act.call}: two requests can claim the same value`
            : `${info.fn.name} checks for ${aRowOf(check.entity)} with the same ${keys.join(', ')} with ${check.call} and then inserts with ${act.call}${side ? ` after ${side.call}` : ''}: nothing unique stops a second insert`,
          confidence: Math.round(confidence * 100) / 100,
          variant: side ? 'distributed' : 'database',
        });
      }
    }
    return dedupe(reports);
  },
);

function findAct(info: FnInfo, check: DbOp, keys: string[], regions: Array<[number, number]>): DbOp | undefined {
  for (const [from, to] of regions) {
    for (const op of opsIn(info, from, to)) {
      if (op.start <= check.start || !sameEntity(op.entity, check.entity)) continue;
      if (op.kind === 'insert') {
        if (op.writeColumns.length > 0 && overlap(keys, op.writeColumns).length === 0) continue;
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

function sideEffectBetween(info: FnInfo, from: number, to: number): { line: number; call: string } | undefined {
  for (let l = from + 1; l < to; l++) {
    const t = lineText(info, l);
    const m = SIDE_EFFECT.exec(t);
    if (m && !/\b(?:prisma|objects|db|trx|knex|session)\b/.test(t)) return { line: l, call: m[0].replace(/\s*\($/, '') };
  }
  return undefined;
}
