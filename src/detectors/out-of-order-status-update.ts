/**
 * out-of-order-status-update (message_ordering)
 *
 * Rule: a queue job, message consumer or webhook handler writes a status/state column from the message
 * (the value comes from the event — `status: event.status` — or the write sits in a branch on the event's
 * type/kind/status) with no ordering guard. Jobs run concurrently and retries run late, so an older event
 * applied after a newer one moves the row's state backwards.
 *
 * Guards that keep it quiet: a conditional write on the current state (`WHERE status IN (…)`,
 * `where: { status: … }`, `.where(status: …).update_all`), a version / sequence / timestamp comparison
 * (`version <`, `occurred_at >`, Prisma `{ lt: … }`, `lock_version`), a state machine (`may_verify?`,
 * `can_transition?`, `transition_to`, AASM/state_machine events), or an explicit ordering key.
 *
 * Confidence: 0.85 when the job retries or the broker is at-least-once and the status comes from the event
 * by branch or value; 0.7 for webhook handlers (the provider retries and does not order deliveries).
 *
 * Deliberately left alone: constant status writes that are not driven by the event (`status = 'shipped'`
 * after doing the shipping), writes to the message's own bookkeeping row (`processed_at`), test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import { consumerOf, dedupe, familyOf, isTestPath, isWebhookHandler, scanTargets, scanned, textOf } from './lib/flow.js';

export default createDetector(
  {
    id: 'out-of-order-status-update',
    failureMode: 'message_ordering',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'ruby'],
    description: 'A consumer or webhook job copies the event status onto a row with no version or timestamp check.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/out-of-order-status-update.md',
  },
  (ctx) => {
    const file = ctx.file;
    if (isTestPath(file.path)) return [];
    const { code } = scanned(file);
    const fam = familyOf(file.language);
    const out: DetectorReport[] = [];
    for (const span of scanTargets(file, ctx.changedFunctions)) {
      const info = consumerOf(file, span, ctx.files);
      const webhook = !info && isWebhookHandler(file, span);
      if (!info && !webhook) continue;
      if (info && !info.retries && !webhook) continue;
      const fnLines = code.slice(span.startLine - 1, span.endLine);
      const fnText = fnLines.join('\n');
      if (GUARD.test(fnText)) continue;
      const writes: Array<{ line: number; column: string; fromEvent: boolean }> = [];
      let branch: number | undefined;
      for (let l = span.startLine + 1; l <= span.endLine; l++) {
        const t = code[l - 1] ?? '';
        if (branch === undefined && BRANCH.test(t)) branch = l;
        const w = statusWrite(t, fam) ?? statusWriteMultiline(code, l, span.endLine, fam);
        if (!w) continue;
        if (/processed|handled|received|delivered_at|sync/i.test(w.column)) continue;
        if (fam === 'ruby' && scopedUpdate(t, fnText)) continue;
        writes.push({ line: l, column: w.column, fromEvent: EVENT_VALUE.test(w.value) });
      }
      const driven = writes.filter((w) => w.fromEvent || (branch !== undefined && branch < w.line));
      if (driven.length === 0) continue;
      const first = driven[0]!;
      const last = driven[driven.length - 1]!;
      const start = branch !== undefined && branch < first.line && !first.fromEvent ? branch : first.line;
      if (![start, ...driven.map((d) => d.line)].some((l) => file.added.has(l))) continue;
      const evidence = [] as Array<{ line: number; text: string; role: string }>;
      if (start !== first.line) evidence.push({ line: start, text: textOf(file, start), role: 'status-write' });
      for (const d of driven.slice(0, 4)) evidence.push({ line: d.line, text: textOf(file, d.line), role: 'status-write' });
      const consumer = info?.consumer ?? span.name;
      const facts: Record<string, string> = {
        pattern: 'out-of-order-status',
        consumer,
        statusColumn: first.column,
        actor: webhook ? 'request' : 'job',
      };
      if (info?.broker) facts.broker = info.broker;
      if (info?.retries) facts.retries = info.retries;
      const model = /(\w+)\.(?:update|save|update_columns?|update_attribute)\b/.exec(textOf(file, first.line))?.[1];
      if (model) facts.model = model;
      out.push({
        line: start,
        endLine: last.line,
        severity: 'high',
        confidence: webhook ? 0.7 : info?.retriesExplicit ? 0.85 : 0.75,
        title: `${consumer} writes ${first.column} from each event with no version or timestamp check; a late or retried event moves it backwards`,
        functionName: span.name,
        entity: model ? `${model}.${first.column}` : first.column,
        evidence,
        facts,
        variant: webhook ? 'distributed' : 'queue',
      });
    }
    return dedupe(out);
  },
);

const GUARD =
  /\b(?:where|WHERE)\b[^\n;]*\b\w*(?:status|state)\b\s*(?:=|in\b|IN\b|<>|!=|:)|where\s*\(\s*\w*(?:status|state)\s*:|where:\s*\{[^}]*\b\w*(?:status|state|Status|State)\s*:|\b(?:version|lock_version|sequence|seq|lamport)\b\s*[<>]|[<>]=?\s*[\w.]*(?:version|sequence|seq)\b|\w*(?:_at|At|_time|Time|timestamp|Timestamp)\s*[<>]=?\s*[\w.?:$%@]|[<>]=?\s*[\w.]*(?:_at|At|timestamp|Timestamp|_time)\b(?!\s*\()|\b(?:lt|lte|gt|gte)\s*:\s*[\w.]|\bmay_\w+\?|\bcan_\w+\?|can_transition|transition_to|\baasm\b|state_machine|\.fire_\w+|allowed_transitions|TRANSITIONS\b|canTransition/;

const BRANCH =
  /\b(?:case|switch)\b[^\n]*\b(?:event|evt|payload|message|msg|data|body|params|notification|webhook|type|kind)\b|\bif\b[^\n]*\b(?:event|evt|payload|message|msg|data|body|notification)(?:\.|\[['"])(?:type|kind|event|status|state|action)\b[^\n]*(?:==|===|\bin\b)/;

const EVENT_VALUE = /\b(?:event|evt|payload|message|msg|data|body|params|notification|webhook|job\.data)\b/;

/** A write of a status/state column on one line: returns the column and the assigned value text. */
function statusWrite(t: string, fam: string): { column: string; value: string } | undefined {
  if (fam === 'ruby') {
    const m = /\.(?:update!?|update_columns?|update_attribute|assign_attributes|update_all)\s*\(?[^\n]*?\b(\w*(?:status|state))\s*:\s*([^,)\n]+)/.exec(t) ?? /\b\w+\.(\w*(?:status|state))\s*=\s*([^=\n][^\n]*)/.exec(t);
    return m ? { column: m[1]!, value: m[2]! } : undefined;
  }
  const sql = /\bset\b[^\n]*?\b(\w*(?:status|state))\s*=\s*([^,\n]+)/i.exec(t);
  if (sql && /\bupdate\b/i.test(t)) {
    // a placeholder's value is in the parameters that follow on the line
    const placeholder = /^\s*(?:\$\d+|%s|\?|:\w+|%\(\w+\)s)/.test(sql[2]!);
    return { column: sql[1]!, value: placeholder ? t.slice(sql.index + sql[0].length) : sql[2]! };
  }
  if (fam === 'python') {
    const m = /\.(?:update|update_or_create)\s*\([^\n]*?\b(\w*(?:status|state))\s*=\s*([^,)\n]+)/.exec(t) ?? /\b(?:self|\w+)\.(\w*(?:status|state))\s*=\s*([^=\n][^\n]*)/.exec(t);
    return m ? { column: m[1]!, value: m[2]! } : undefined;
  }
  const m = /\.(?:update|updateOne|updateMany|findOneAndUpdate|findByIdAndUpdate|set)\s*\(\s*[^\n]*?\b(\w*(?:status|state|Status|State))\s*:\s*([^,}\n]+)/.exec(t);
  return m ? { column: m[1]!, value: m[2]! } : undefined;
}

/** Prisma/TypeORM style `update({ where, data: {\n status: event.status } })` spread over lines. */
function statusWriteMultiline(code: string[], line: number, end: number, fam: string): { column: string; value: string } | undefined {
  if (fam !== 'js') return undefined;
  const t = code[line - 1] ?? '';
  const m =
    /^\s*(\w*(?:status|state|Status|State))\s*:\s*([^,}\n]+)/.exec(t) ??
    /\b(?:data|\$set)\s*:\s*\{[^}]*?\b(\w*(?:status|state|Status|State))\s*:\s*([^,}\n]+)/.exec(t);
  if (!m) return undefined;
  if (/\b(?:data|\$set)\s*:/.test(t) && /\.(?:update|updateOne|updateMany|upsert|findOneAndUpdate|findByIdAndUpdate)\s*\(/.test(t)) return { column: m[1]!, value: m[2]! };
  for (let l = line - 1; l >= Math.max(1, line - 6); l--) {
    const p = code[l - 1] ?? '';
    if (l === line - 1 && /\bwhere\s*:\s*\{[^}]*$/.test(p)) return undefined;
    if (/\.(?:update|updateOne|updateMany|upsert|findOneAndUpdate|findByIdAndUpdate)\s*\(|\bdata\s*:\s*\{|\$set\s*:/.test(p)) return { column: m[1]!, value: m[2]! };
  }
  void end;
  return undefined;
}

/** Chain segments that are query methods, not named scopes. */
const NOT_SCOPE = /^(?:all|unscoped|lock|none|distinct|readonly|first|last|take|find|find_by|where|not|or|and|joins|includes|preload|eager_load|order|limit|offset|select|reorder|group|having|merge|extending|current|transaction|connection)$/;

/**
 * Ruby: `update_all` on a relation narrowed by a named scope of the model (`Payout.outstanding.where(ref: r)`,
 * inline or held in a local): the scope filters on the current state, so a late event finds no row to move.
 */
function scopedUpdate(t: string, fnText: string): boolean {
  const m = /((?:@?[\w:]+)(?:\.\w+(?:\([^()\n]*\))?)*)\.update_all\b/.exec(t);
  if (!m) return false;
  let chain = m[1]!;
  const local = /^@?[a-z_]\w*$/.exec(chain);
  if (local) {
    const a = new RegExp(`^\\s*${chain.replace(/[$@]/g, '\\$&')}\\s*=\\s*([^\\n]+)$`, 'm').exec(fnText);
    if (!a) return false;
    chain = a[1]!;
  }
  const model = /^\s*[A-Z]\w*(?:::[A-Z]\w*)*((?:\.\w+(?:\([^()\n]*\))?)+)/.exec(chain);
  if (!model) return false;
  for (const seg of model[1]!.matchAll(/\.(\w+)(\()?/g)) if (!seg[2] && !NOT_SCOPE.test(seg[1]!)) return true;
  return false;
}
