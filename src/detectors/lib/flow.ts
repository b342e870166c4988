/**
 * Helpers for the async-ordering and message-ordering detectors ("flow"): a comment/string-aware scanner,
 * function bodies with line maps, call-chain parsing for JS/TS statements, and vocabularies that classify
 * calls (database writes, broker publishes, external side effects, replies, acks).
 *
 * Generic pieces that other detector areas could share: `scanCode` (comment stripping and string masking
 * for TS/JS, Python, Go and Ruby), `bodyOf` / `Body` (function text with offset → line mapping), `closeOf`
 * (bracket matching on masked text), `parseChain` (a JS call chain), `ormOf` (data-access library from imports),
 * `isTestPath`.
 *
 * Every regular expression here runs on one line or one bounded statement and has no nested unbounded
 * quantifiers, so the cost is linear in the input.
 */
import type { FunctionSpan, SourceFile } from '../../parse/types.js';
import type { Language } from '../../types.js';
import type { DetectorReport } from '../types.js';
import { recentFiles } from './cache.js';

export type Family = 'js' | 'python' | 'go' | 'ruby' | 'other';

export function familyOf(lang: Language): Family {
  if (lang === 'typescript' || lang === 'tsx' || lang === 'javascript') return 'js';
  if (lang === 'python' || lang === 'go' || lang === 'ruby') return lang;
  return 'other';
}

/** Test and fixture files: the detectors here leave them alone (mocks call handlers in odd orders on purpose). */
export function isTestPath(path: string): boolean {
  return /(?:^|\/)(?:__tests__|__mocks__|tests?|spec|specs|e2e|fixtures?)\/|\.(?:test|spec)\.[cm]?[jt]sx?$|_test\.go$|(?:^|\/)test_[^/]*\.py$|_spec\.rb$|_test\.rb$|(?:^|\/)conftest\.py$/.test(
    path,
  );
}

// ------------------------------------------------------------------ scanning

export interface Scanned {
  /** Source with comments replaced by spaces (strings kept). lines[0] is line 1. */
  code: string[];
  /** Like `code`, with string and regex literal contents replaced by spaces too (quotes kept). */
  masked: string[];
}

const scanCache = recentFiles<Scanned>();

export function scanned(file: SourceFile): Scanned {
  let s = scanCache.get(file);
  if (!s) {
    s = scanCode(file.lines, familyOf(file.language));
    scanCache.set(file, s);
  }
  return s;
}

const WS = /\s/;
const WORDISH = /[\w$)\]]/;
const REGEX_BEFORE = /[(,=:[!&|?{};+\-*%<>~^]/;
const WORD = /\w/;

function blanked(s: string): string {
  return s.indexOf('\n') < 0 ? ' '.repeat(s.length) : s.replace(/[^\n]/g, ' ');
}

/**
 * One linear pass over the text: comments become spaces in both outputs, string contents become spaces in
 * `masked`. Newlines are kept, so line numbers stay true.
 */
export function scanCode(lines: readonly string[], fam: Family): Scanned {
  const text = lines.join('\n');
  const code: string[] = [];
  const masked: string[] = [];
  const hash = fam === 'python' || fam === 'ruby';
  const slashes = fam === 'js' || fam === 'go' || fam === 'other';
  const n = text.length;
  const plain = (a: number, b: number) => {
    if (b <= a) return;
    const s = text.slice(a, b);
    code.push(s);
    masked.push(s);
  };
  const keep = plain;
  const keepCode = (a: number, b: number) => {
    if (b <= a) return;
    const s = text.slice(a, b);
    code.push(s);
    masked.push(blanked(s));
  };
  const drop = (a: number, b: number) => {
    if (b <= a) return;
    const s = blanked(text.slice(a, b));
    code.push(s);
    masked.push(s);
  };
  // Plain code runs from `run` to the current index; `lastSignificant` is the last non-blank character
  // before `run` (or the closing quote of a literal), derived lazily for regex-literal detection.
  let run = 0;
  let lastBeforeRun = '';
  const lastSignificant = (i: number): string => {
    for (let k = i - 1; k >= run; k--) {
      const ch = text[k]!;
      if (!WS.test(ch)) return WORDISH.test(ch) ? 'a' : ch;
    }
    return lastBeforeRun;
  };
  let i = 0;
  while (i < n) {
    const cc = text.charCodeAt(i);
    // Only / # " ' ` can start a comment or a literal.
    if (cc !== 47 && cc !== 35 && cc !== 34 && cc !== 39 && cc !== 96) {
      i++;
      continue;
    }
    const ch = text[i]!;
    const next = text[i + 1] ?? '';
    // line comments
    if ((slashes && ch === '/' && next === '/') || (hash && ch === '#')) {
      plain(run, i);
      let j = text.indexOf('\n', i);
      if (j < 0) j = n;
      drop(i, j);
      lastBeforeRun = lastSignificant(i);
      i = run = j;
      continue;
    }
    // block comments
    if (slashes && ch === '/' && next === '*') {
      plain(run, i);
      lastBeforeRun = lastSignificant(i);
      let j = text.indexOf('*/', i + 2);
      j = j < 0 ? n : j + 2;
      drop(i, j);
      i = run = j;
      continue;
    }
    // Python triple-quoted strings
    if (fam === 'python' && (ch === '"' || ch === "'") && next === ch && text[i + 2] === ch) {
      plain(run, i);
      const q = ch;
      keep(i, i + 3);
      let j = i + 3;
      while (j < n && !(text[j] === q && text[j + 1] === q && text[j + 2] === q)) {
        if (text[j] === '\\') j++;
        if (j < n) j++;
      }
      j = Math.min(j, n);
      keepCode(i + 3, j);
      const close = Math.min(j + 3, n);
      keep(j, close);
      lastBeforeRun = q;
      i = run = close;
      continue;
    }
    // template literals (JS) and raw strings (Go) may span lines
    if ((fam === 'js' || fam === 'go') && ch === '`') {
      plain(run, i);
      keep(i, i + 1);
      let j = i + 1;
      while (j < n && text[j] !== '`') {
        if (fam === 'js' && text[j] === '\\') j++;
        if (j < n) j++;
      }
      j = Math.min(j, n);
      keepCode(i + 1, j);
      if (j < n) {
        keep(j, j + 1);
        j++;
      }
      lastBeforeRun = '`';
      i = run = j;
      continue;
    }
    // ordinary strings end at their quote or at the end of the line
    if (ch === '"' || (ch === "'" && !(fam === 'ruby' && WORD.test(text[i - 1] ?? '')))) {
      plain(run, i);
      keep(i, i + 1);
      const q = ch;
      let j = i + 1;
      while (j < n && text[j] !== q && text[j] !== '\n') {
        if (text[j] === '\\') j++;
        if (j < n && text[j] !== '\n') j++;
      }
      keepCode(i + 1, j);
      if (j < n && text[j] === q) {
        keep(j, j + 1);
        j++;
      }
      lastBeforeRun = q;
      i = run = j;
      continue;
    }
    // JS regex literals: a slash where an operand is expected
    if (fam === 'js' && ch === '/') {
      const last = lastSignificant(i);
      if (last === '' || REGEX_BEFORE.test(last)) {
        let j = i + 1;
        let inClass = false;
        let ok = false;
        while (j < n && text[j] !== '\n') {
          const c = text[j]!;
          if (c === '\\') j++;
          else if (c === '[') inClass = true;
          else if (c === ']') inClass = false;
          else if (c === '/' && !inClass) {
            ok = true;
            break;
          }
          j++;
        }
        if (ok) {
          plain(run, i);
          keep(i, i + 1);
          keepCode(i + 1, j);
          keep(j, j + 1);
          lastBeforeRun = '/';
              i = run = j + 1;
          continue;
        }
      }
    }
    i++;
  }
  plain(run, n);
  return { code: code.join('').split('\n'), masked: masked.join('').split('\n') };
}

// ------------------------------------------------------------------ bodies

/** A function's lines joined, with a map from offsets to 1-based lines. */
export interface Body {
  span: FunctionSpan;
  startLine: number;
  endLine: number;
  /** Masked text (comments and string contents blanked). */
  masked: string;
  /** Code text (comments blanked, strings kept). */
  code: string;
  /** Offset of the start of each line, index 0 = startLine. */
  lineStarts: number[];
}

const bodyCache = recentFiles<Map<FunctionSpan, Body>>();

/** The body of a changed function, built once per file and span (several detectors read the same bodies). */
export function bodyOf(file: SourceFile, span: FunctionSpan): Body {
  let perFile = bodyCache.get(file);
  if (!perFile) {
    perFile = new Map();
    bodyCache.set(file, perFile);
  }
  let b = perFile.get(span);
  if (!b) {
    b = buildBody(file, span);
    perFile.set(span, b);
  }
  return b;
}

function buildBody(file: SourceFile, span: FunctionSpan): Body {
  const s = scanned(file);
  const startLine = span.startLine;
  const endLine = Math.min(span.endLine, file.lines.length);
  const m = s.masked.slice(startLine - 1, endLine);
  const c = s.code.slice(startLine - 1, endLine);
  const lineStarts: number[] = [];
  let off = 0;
  for (const l of m) {
    lineStarts.push(off);
    off += l.length + 1;
  }
  return { span, startLine, endLine, masked: m.join('\n'), code: c.join('\n'), lineStarts };
}

export function lineAt(b: Body, offset: number): number {
  let lo = 0;
  let hi = b.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (b.lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return b.startLine + lo;
}

export function offsetOf(b: Body, line: number): number {
  return b.lineStarts[line - b.startLine] ?? b.masked.length;
}

/** Masked text of one line of the body. */
export function maskedLine(b: Body, line: number): string {
  const start = offsetOf(b, line);
  const end = b.masked.indexOf('\n', start);
  return b.masked.slice(start, end < 0 ? undefined : end);
}

export function codeLine(b: Body, line: number): string {
  const start = offsetOf(b, line);
  const end = b.code.indexOf('\n', start);
  return b.code.slice(start, end < 0 ? undefined : end);
}

const OPEN: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** Index of the bracket closing the one at `open` in masked text, or -1 (bounded to 40k chars). */
export function closeOf(text: string, open: number): number {
  const o = text[open];
  const c = o ? OPEN[o] : undefined;
  if (!o || !c) return -1;
  let depth = 0;
  const limit = Math.min(text.length, open + 40_000);
  for (let i = open; i < limit; i++) {
    const ch = text[i];
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return ch === c ? i : -1;
    }
  }
  return -1;
}

/** The innermost parsed function containing lines `line` to `endLine`. */
export function innermost(file: SourceFile, line: number, endLine = line): FunctionSpan | undefined {
  let best: FunctionSpan | undefined;
  for (const f of file.functions) {
    if (f.startLine <= line && endLine <= f.endLine) {
      if (!best || f.endLine - f.startLine < best.endLine - best.startLine) best = f;
    }
  }
  return best;
}

/** Functions to scan: changed functions of at most `maxLines` lines. */
export function scanTargets(file: SourceFile, changed: readonly FunctionSpan[], maxLines = 400): FunctionSpan[] {
  return changed.filter((f) => f.endLine - f.startLine <= maxLines);
}

/** Whole-file code text (comments blanked), for file-level signals such as imports. */
export function fileCode(file: SourceFile): string {
  return joined(file).code;
}

// ------------------------------------------------------------------ JS call chains

export interface ChainCall {
  /** Dotted path before the call's parenthesis, e.g. "prisma.user.update" or "where". */
  path: string;
  name: string;
  open: number;
  close: number;
}

export interface Chain {
  start: number;
  end: number;
  /** First identifier of the chain, after `this.` (e.g. "repo", "prisma", "db"). */
  root: string;
  calls: ChainCall[];
  /** The text of the whole chain (masked). */
  text: string;
}

const IDENT = /[A-Za-z_$][\w$]*/y;

/**
 * Parses `a.b(...).c(...)` at `start` in masked JS text. Returns undefined when there is no call.
 * Whitespace and newlines between links are allowed (`\n  .then(...)`).
 */
export function parseChain(text: string, start: number): Chain | undefined {
  let i = start;
  const calls: ChainCall[] = [];
  let path: string[] = [];
  let root = '';
  const skipWs = (k: number) => {
    while (k < text.length && /\s/.test(text[k]!)) k++;
    return k;
  };
  for (let guard = 0; guard < 200; guard++) {
    IDENT.lastIndex = i;
    const m = IDENT.exec(text);
    if (!m) break;
    const id = m[0];
    if (!root && id !== 'this') root = id;
    path.push(id);
    i = m.index + id.length;
    // type arguments: save<Feedback>(
    if (text[i] === '<') {
      const gt = text.indexOf('>', i);
      if (gt > 0 && gt - i < 80 && text[gt + 1] === '(') i = gt + 1;
    }
    while (text[i] === '!') i++;
    if (text[i] === '(') {
      const close = closeOf(text, i);
      if (close < 0) return undefined;
      calls.push({ path: path.join('.'), name: id, open: i, close });
      path = [];
      i = close + 1;
      while (text[i] === '!') i++;
      // computed access after a call: foo()[0]
      const j = skipWs(i);
      if (text[j] === '.' || (text[j] === '?' && text[j + 1] === '.')) {
        i = text[j] === '?' ? j + 2 : j + 1;
        continue;
      }
      break;
    }
    if (text[i] === '.' || (text[i] === '?' && text[i + 1] === '.')) {
      i += text[i] === '?' ? 2 : 1;
      continue;
    }
    if (text[i] === '`' && calls.length === 0) {
      // tagged template: sql`INSERT ...`
      const close = text.indexOf('`', i + 1);
      if (close < 0) return undefined;
      calls.push({ path: path.join('.'), name: id, open: i, close });
      i = close + 1;
      break;
    }
    break;
  }
  if (calls.length === 0) return undefined;
  return { start, end: i, root, calls, text: text.slice(start, i) };
}

const JS_KEYWORDS = new Set(
  'await return const let var if else for while do switch case default break continue throw try catch finally new typeof delete void yield function class export import async in of instanceof super'.split(
    ' ',
  ),
);

export interface Statement {
  line: number;
  endLine: number;
  chain: Chain;
  /** What follows the chain: ";", "\n", "}", "=", ... (first non-blank char after it). */
  after: string;
}

/**
 * Expression statements of a JS body that are a bare call chain (`repo.save(x);`), with the line where
 * each starts. Lines inside brackets of a previous statement (arguments, array literals) are not starts.
 */
export function bareCalls(b: Body): Statement[] {
  const out: Statement[] = [];
  const text = b.masked;
  let prevEnd = '{';
  for (let k = 0; k < b.lineStarts.length; k++) {
    const line = b.startLine + k;
    const raw = maskedLine(b, line);
    const trimmed = raw.trim();
    if (!trimmed) continue;
    const startsStatement = k > 0 && /[;{})]$|^$|\belse$|\btry$|\bdo$/.test(prevEnd);
    prevEnd = trimmed;
    if (!startsStatement) continue;
    const first = /^[A-Za-z_$][\w$]*/.exec(trimmed)?.[0];
    if (!first || JS_KEYWORDS.has(first)) continue;
    const start = offsetOf(b, line) + raw.indexOf(trimmed);
    const chain = parseChain(text, start);
    if (!chain) continue;
    let j = chain.end;
    while (j < text.length && (text[j] === ' ' || text[j] === '\t')) j++;
    const after = text[j] === '\n' || j >= text.length ? '\n' : text[j]!;
    out.push({ line, endLine: lineAt(b, Math.max(chain.start, chain.end - 1)), chain, after });
  }
  return out;
}

export function isBare(s: Statement): boolean {
  return s.after === ';' || s.after === '\n' || s.after === '}';
}

export function handledChain(c: Chain): boolean {
  return c.calls.some((k) => k.name === 'then' || k.name === 'catch' || k.name === 'finally' || k.name === 'subscribe' || k.name === 'pipe');
}

// ------------------------------------------------------------------ vocabularies

const DB_ROOT = /^(?:\w*(?:repo|Repo|repository|Repository|prisma|Prisma|knex|Knex|trx|Trx|em|entityManager|EntityManager|manager|Manager|pool|Pool|sequelize|queryRunner|dataSource|DataSource|dao|Dao|DAO)\w*|db|Db|DB|\w+Db|\w+DB|tx|conn|connection|client|pg|mysql|sql|database|model|\w+Model|\w+Collection|collection|orm)$/;

const DB_WRITE_METHODS = new Set(
  'save insert insertMany insertOne update updateOne updateMany upsert create createMany delete deleteOne deleteMany destroy remove bulkCreate bulkWrite increment decrement findOneAndUpdate findByIdAndUpdate findOneAndDelete findByIdAndDelete findOneAndReplace replaceOne persistAndFlush softDelete softRemove restore del'.split(
    ' ',
  ),
);
const SQL_METHODS = new Set('query execute exec none one oneOrNone any many manyOrNone result run raw unsafe'.split(' '));
/** Sync builders on repositories/managers: TypeORM repo.create/merge, knex.raw in a select. */
const REPO_SYNC = new Set(['create', 'merge']);
const TX_METHODS = new Set(['transaction', '$transaction']);

export const SQL_WRITE = /\b(?:insert\s+into|update\s+[\w".]+\s+set|delete\s+from|merge\s+into|upsert)\b/i;

export interface CallClass {
  kind: 'db-write' | 'transaction' | 'publish' | 'enqueue' | 'side-effect' | 'cache-write';
  /** The call as a readable string, e.g. "repo.save" or "db('orders').update". */
  call: string;
  /** The table or model it touches, when visible. */
  entity?: string;
  orm?: string;
}

function chainLabel(c: Chain): string {
  return c.calls.map((k) => k.path).join('(…).') + '';
}

function argText(codeText: string, call: ChainCall): string {
  return codeText.slice(call.open + 1, call.close);
}

/**
 * Classifies a JS call chain as a write, publish or external side effect; undefined for anything else.
 * `code` is the code text (strings kept) aligned with the masked text the chain was parsed from.
 */
export function classifyJsChain(c: Chain, code: string, opts: { ormInFile?: boolean } = {}): CallClass | undefined {
  const last = c.calls[c.calls.length - 1]!;
  const first = c.calls[0]!;
  const segs = first.path.split('.').filter((s) => s !== 'this');
  const rootName = segs[0] ?? c.root;
  const label = chainLabel(c);
  const names = c.calls.map((k) => k.name);
  const hasSql = (k: ChainCall) => SQL_WRITE.test(argText(code, k));

  // prisma.<model>.<write>(...)
  if (/^prisma$|Prisma$|^tx$|^trx$/.test(rootName) && segs.length === 3 && DB_WRITE_METHODS.has(last.name) && c.calls.length === 1) {
    return { kind: 'db-write', call: label, entity: segs[1], orm: 'prisma' };
  }
  // transactions whose callback nobody awaits
  if (c.calls.length === 1 && TX_METHODS.has(last.name) && DB_ROOT.test(rootName)) return { kind: 'transaction', call: label };
  // raw SQL: db.query("INSERT ..."), sql`UPDATE ...`
  for (const k of c.calls) {
    if ((SQL_METHODS.has(k.name) && DB_ROOT.test(rootName)) || (k.name === 'sql' && k === first && code[k.open] === '`')) {
      if (hasSql(k)) {
        const table = /\b(?:insert\s+into|update|delete\s+from|merge\s+into)\s+["`]?([\w.]+)/i.exec(argText(code, k))?.[1];
        return { kind: 'db-write', call: label, entity: table, orm: 'sql' };
      }
    }
  }
  // knex('table')...update(), db.insert(table).values() (drizzle)
  if (/^(?:knex|db|trx|tx|database)$/.test(rootName) && segs.length === 1) {
    const table = /^\s*['"`]([\w.]+)['"`]/.exec(argText(code, first))?.[1];
    const w = names.slice(1).find((nm) => /^(?:insert|update|del|delete|increment|decrement|upsert|merge)$/.test(nm));
    if (table && w) return { kind: 'db-write', call: label, entity: table, orm: 'knex' };
  }
  if (DB_ROOT.test(rootName) && segs.length === 2 && /^(?:insert|update|delete)$/.test(first.name) && c.calls.length > 1) {
    return { kind: 'db-write', call: label, entity: /^\s*([\w$.]+)/.exec(argText(code, first))?.[1], orm: 'drizzle' };
  }
  // repo.save(x), this.userRepository.update(...), em.persistAndFlush(x)
  if (c.calls.length === 1 && segs.length >= 2 && DB_WRITE_METHODS.has(last.name)) {
    const recv = segs[segs.length - 2]!;
    if (DB_ROOT.test(recv) && !(REPO_SYNC.has(last.name) && /repo|Repo|manager|Manager|^em$/.test(recv))) {
      return { kind: 'db-write', call: label, entity: recv.replace(/Repo(?:sitory)?$|Model$|Collection$/, '') || recv };
    }
    // Sequelize / Mongoose / TypeORM active record: User.create(...), Order.update(...)
    if (segs.length === 2 && /^[A-Z][a-z]\w*$/.test(recv) && !/^(?:Object|Array|Promise|Math|JSON|Date|Reflect|Number|String|Map|Set|Buffer|Symbol)$/.test(recv) && /^(?:create|update|destroy|bulkCreate|insertMany|updateOne|updateMany|deleteOne|deleteMany|findOneAndUpdate|findByIdAndUpdate|increment|decrement|upsert|save|insert|delete)$/.test(last.name) && opts.ormInFile) {
      return { kind: 'db-write', call: label, entity: recv };
    }
    // instance.save() / instance.destroy() with an ORM in the file
    if (/^(?:save|destroy|reload|remove|softRemove|increment|decrement)$/.test(last.name) && opts.ormInFile && !/^(?:ctx|context|canvas|g|doc|pdf|form|editor|state|this)$/.test(recv)) {
      return { kind: 'db-write', call: label, entity: recv };
    }
  }
  // brokers and queues
  const recv = segs.length >= 2 ? segs[segs.length - 2]! : rootName;
  if (c.calls.length <= 2 && /queue|Queue|^jobs?$|Jobs$/.test(recv) && /^(?:add|addBulk|enqueue|push|send|sendMessage|publish)$/.test(first.name)) {
    return { kind: 'enqueue', call: label, entity: recv };
  }
  if (/producer|Producer|publisher|Publisher|eventBus|EventBus|^bus$|kafka|Kafka|^sns$|snsClient|pubsub|PubSub|nats|^nc$|^js$|eventBridge|EventBridge|^topic$/.test(recv) && /^(?:send|sendBatch|publish|produce|emit|putEvents|publishMessage)$/.test(last.name)) {
    return { kind: 'publish', call: label, entity: recv };
  }
  if (/^(?:pubsub|pubSubClient)$/.test(rootName) && names.includes('publishMessage')) return { kind: 'publish', call: label };
  // external side effects: SMS, email, payments, HTTP writes
  if (/sms|Sms|SMS|twilio|Twilio|mail|Mail|email|Email|ses|sendgrid|sgMail|resend|postmark|transporter|stripe|Stripe|payments?|Payments?|notif|Notif|push|webhook|Webhook|slack|Slack/.test(first.path) && /^(?:send\w*|create|post|notify\w*|deliver\w*|charge|capture|refund|transfer|dispatch)$/.test(last.name)) {
    return { kind: 'side-effect', call: label, entity: segs[0] };
  }
  if (/^(?:send(?:Email|Mail|Sms|SMS|Text|Push|Notification|Webhook)\w*|notify\w*|deliver\w*|charge\w*)$/.test(first.name) && segs.length === 1) {
    return { kind: 'side-effect', call: label };
  }
  if (/^(?:axios|got|ky|superagent|request|httpClient|http)$/.test(rootName) && /^(?:post|put|patch|delete)$/.test(first.name) && segs.length === 2) {
    return { kind: 'side-effect', call: label };
  }
  if (rootName === 'fetch' && segs.length === 1 && /method\s*:\s*['"](?:POST|PUT|PATCH|DELETE)['"]/i.test(argText(code, first))) {
    return { kind: 'side-effect', call: 'fetch' };
  }
  if (/^(?:redis|redisClient|ioredis)$/i.test(recv) && /^(?:set|setex|del|hset|hdel|incr|incrby|decr|expire|lpush|rpush|sadd|srem|zadd|xadd|publish)$/.test(last.name)) {
    return { kind: 'cache-write', call: label, entity: recv };
  }
  return undefined;
}

/** Whether the file uses an ORM whose instances have async save()/destroy() (Sequelize, Mongoose, TypeORM, MikroORM, Objection). */
export function jsOrmInFile(file: SourceFile): boolean {
  let v = ormInFileCache.get(file);
  if (v === undefined) {
    v = JS_ORM_IMPORT.test(fileCode(file));
    ormInFileCache.set(file, v);
  }
  return v;
}
const ormInFileCache = new WeakMap<SourceFile, boolean>();
const JS_ORM_IMPORT =
  /\bfrom\s+['"](?:sequelize|mongoose|typeorm|@mikro-orm\/\w+|objection)['"]|require\(\s*['"](?:sequelize|mongoose|typeorm|objection)['"]\)|\bBaseEntity\b|\bgetRepository\b|\bsequelize\b|\bmongoose\b|require\(\s*['"][./]*models?['"]\)|from\s+['"][./]*models?['"]/;

/** The data-access library named by the file's imports, if any. */
export function ormOf(file: SourceFile): string | undefined {
  if (ormCache.has(file)) return ormCache.get(file);
  const t = fileCode(file);
  let found: string | undefined;
  for (const [re, name] of ORM_IMPORTS) {
    if (re.test(t)) {
      found = name;
      break;
    }
  }
  ormCache.set(file, found);
  return found;
}
const ormCache = new WeakMap<SourceFile, string | undefined>();
const ORM_IMPORTS: Array<[RegExp, string]> = [
  [/@prisma\/client|\bprisma\.\w+\.\w+\(/, 'prisma'],
  [/['"]typeorm['"]|getRepository|AppDataSource/, 'typeorm'],
  [/['"]sequelize['"]|\bsequelize\b/, 'sequelize'],
  [/['"]mongoose['"]/, 'mongoose'],
  [/['"]drizzle-orm/, 'drizzle'],
  [/['"]knex['"]|\btrx\(['"]|\bknex\(/, 'knex'],
  [/['"]pg['"]|\bpool\.query\(/, 'pg'],
  [/['"]bullmq['"]/, 'bullmq'],
  [/from\s+django|\.objects\./, 'django'],
  [/sqlalchemy/, 'sqlalchemy'],
  [/ApplicationRecord|ActiveRecord|\.update!\(|\.find_by/, 'activerecord'],
  [/"database\/sql"/, 'database/sql'],
  [/jackc\/pgx/, 'pgx'],
  [/gorm\.io/, 'gorm'],
];

// ------------------------------------------------------------------ replies

/** A JS reply: res.json(...), reply.code(201).send(...), ctx.body = ..., return new Response(...). */
export const JS_REPLY =
  /\b(?:res|reply|response|resp)\s*\.\s*(?:status|code|send|json|sendStatus|end|redirect|render|sendFile|jsonp)\s*\(|\bctx\.(?:body|status)\s*=|\breturn\s+(?:new\s+Response\b|Response\.json\b|NextResponse\.\w+|c\.(?:json|text|body)\b|h\.response\b)/;

/** HTTP status of a reply line, when written. */
export function replyStatus(line: string): number | undefined {
  const m = /(?:status|code|sendStatus)\s*\(\s*(\d{3})|ctx\.status\s*=\s*(\d{3})|status\s*:\s*(\d{3})/.exec(line);
  const s = m?.[1] ?? m?.[2] ?? m?.[3];
  return s ? Number(s) : undefined;
}

// ------------------------------------------------------------------ reports

/** Keeps one report per start line (the most confident), so nested spans do not repeat a finding. */
export function dedupe(reports: DetectorReport[]): DetectorReport[] {
  const best = new Map<string, DetectorReport>();
  // Between equals, the report named after a parsed function beats the one on a `<hunk>` region around it.
  const unnamed = (r: DetectorReport) => (!r.functionName || r.functionName.startsWith('<') ? 1 : 0);
  for (const r of reports) {
    const key = `${r.line}`;
    const prev = best.get(key);
    if (!prev || r.confidence > prev.confidence || (r.confidence === prev.confidence && unnamed(r) < unnamed(prev))) best.set(key, r);
  }
  return [...best.values()];
}

/** The trimmed source text of a line (for evidence). */
export function textOf(file: SourceFile, line: number): string {
  return (file.lines[line - 1] ?? '').trim();
}

export function shownAll(file: SourceFile, ...lines: number[]): boolean {
  return lines.every((l) => file.shown.has(l));
}

/** Indentation width of a raw line (tabs count as 4). */
export function indentOf(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === ' ') n++;
    else if (ch === '\t') n += 4;
    else break;
  }
  return n;
}

/** For indentation languages: the last line of the block opened by `line` (its deeper-indented successors). */
export function blockEnd(lines: readonly string[], line: number, limit: number): number {
  const base = indentOf(lines[line - 1] ?? '');
  let end = line;
  for (let l = line + 1; l <= limit; l++) {
    const t = lines[l - 1] ?? '';
    if (!t.trim()) continue;
    if (indentOf(t) <= base) break;
    end = l;
  }
  return end;
}

// ------------------------------------------------------------------ consumers (message ordering)

export interface ConsumerInfo {
  broker: string;
  /** Consumer, worker or job name. */
  consumer: string;
  queue?: string;
  /** Retry policy in words, e.g. "attempts: 5"; undefined when the code shows retries are off. */
  retries?: string;
  /** Whether redelivery is certain (explicit retries or an at-least-once broker) rather than only possible. */
  retriesExplicit: boolean;
  messageId?: string;
}

/** Facts about the whole diff, computed once per `files` array (they were rescanned per consumer). */
interface DiffFacts {
  /** BullMQ `attempts: N` anywhere in the diff. */
  attempts: RegExpExecArray | null;
  deterministicJobId: boolean;
}
const diffFactsCache = new WeakMap<readonly SourceFile[], DiffFacts>();

function diffFacts(files: readonly SourceFile[]): DiffFacts {
  let f = diffFactsCache.get(files);
  if (!f) {
    const all = files.map((x) => fileCode(x)).join('\n');
    f = { attempts: /\battempts\s*:\s*(\d+)/.exec(all), deterministicJobId: JOB_ID.test(all) };
    diffFactsCache.set(files, f);
  }
  return f;
}

/**
 * Whether `span` is a queue job, worker processor or message consumer, and on which broker.
 * Looks at the registration around the function (new Worker(...), .process(, eachMessage, .consume(,
 * Celery/Dramatiq decorators, Sidekiq/ActiveJob classes) and at handler-like names in worker folders.
 */
/**
 * The decorator lines right above a Python `def` (a multi-line `@shared_task(\n  bind=True,\n …)` included),
 * joined into one line each; '' when there are none.
 */
function pyDecorators(code: readonly string[], defLine: number): string {
  let top = defLine;
  for (let k = defLine - 1; k >= Math.max(1, defLine - 20); k--) {
    const t = code[k - 1] ?? '';
    if (/^\s*@/.test(t)) top = k;
    else if (/^\s+\S|^\s*\)/.test(t) && !/^\s*(?:def|class|async\s+def)\b/.test(t)) continue;
    else break;
  }
  if (top === defLine) return '';
  return code.slice(top - 1, defLine - 1).join(' ').replace(/\s+/g, ' ').replace(/\s*@/g, '\n@').trim();
}

export function consumerOf(file: SourceFile, span: FunctionSpan, files: readonly SourceFile[]): ConsumerInfo | undefined {
  const fam = familyOf(file.language);
  const code = scanned(file).code;
  const before = code.slice(Math.max(0, span.startLine - 4), span.startLine).join('\n');
  const workerPath = /(?:^|\/)(?:workers?|consumers?|jobs?|queues?|subscribers?|listeners?|processors?|tasks?)(?:\/|\.|_)/i.test(file.path);
  if (fam === 'js') {
    const reg = /new\s+Worker\b|\.process\(\s*(?:['"][^'"]*['"]\s*,\s*)?(?:\d+\s*,\s*)?(?:async\b|function|\()|\beachMessage\b|\beachBatch\b|\.consume\(|Consumer\.create\(|handleMessage\b|@Process\(|@Processor\(|@EventPattern\(|@MessagePattern\(|\.on\(\s*['"]message['"]|\.subscribe\(/.exec(before);
    const handlerName = /^(?:\w+\.)?(?:handle\w*|process\w*|on[A-Z]\w*|consume\w*|perform)$/.test(span.name) && workerPath;
    if (!reg && !handlerName) return undefined;
    const r = reg?.[0] ?? '';
    const broker = /Worker|\.process|@Process/.test(r) ? 'bullmq' : /each(?:Message|Batch)/.test(r) || /\beach(?:Message|Batch)\b/.test(before) ? 'kafka' : /consume/.test(r) ? 'rabbitmq' : /Consumer\.create|handleMessage/.test(r) ? 'sqs' : /message|subscribe/.test(r) ? 'pubsub' : guessBroker(fileCode(file));
    const decl = /(?:const|let|var)\s+([\w$]+)\s*=\s*new\s+Worker\b[^(]*\(\s*['"`]([^'"`]+)['"`]?/.exec(before + '\n' + (code[span.startLine - 1] ?? ''));
    const queue = decl?.[2] ?? /new\s+Worker\b[^(]*\(\s*['"`]([^'"`]+)/.exec(before)?.[1];
    const consumer = decl?.[1] ?? (span.name.includes('callback') || span.name === '<anonymous>' ? (queue ? `${queue} worker` : 'consumer') : span.name);
    let retries: string | undefined;
    let explicit = false;
    if (broker === 'bullmq') {
      const a = diffFacts(files).attempts;
      if (a && Number(a[1]) > 1) {
        retries = `attempts: ${a[1]}`;
        explicit = true;
      } else retries = 'at-least-once (stalled jobs are processed again)';
    } else retries = 'at-least-once delivery';
    return { broker, consumer, queue, retries, retriesExplicit: explicit || broker !== 'bullmq', messageId: broker === 'bullmq' ? 'job.id' : undefined };
  }
  if (fam === 'python') {
    const dec = /@(?:[\w.]*\.)?(task|shared_task|actor|job|subscriber|consumer)\b([^\n]*)/.exec(pyDecorators(code, span.startLine) || before);
    const handlerName = /^(?:\w+\.)?(?:handle_\w*|process_\w*|on_\w*message\w*|consume\w*|callback)$/.test(span.name) && workerPath;
    if (!dec && !handlerName) return undefined;
    const fileText = fileCode(file);
    const broker = /celery|shared_task|\.task\b/.test(dec?.[0] ?? '') || /celery/.test(fileText) ? 'celery' : /dramatiq|actor/.test(dec?.[0] ?? '') ? 'dramatiq' : guessBroker(fileText);
    const fnText = code.slice(span.startLine - 1, span.endLine).join('\n');
    const retrySig = /autoretry_for|max_retries\s*=\s*[1-9]|self\.retry\(|retry_backoff|acks_late\s*=\s*True|retry_kwargs|max_retries/.exec((dec?.[0] ?? '') + '\n' + fnText);
    if (broker === 'celery' || broker === 'dramatiq') {
      if (!retrySig && broker === 'celery') return { broker, consumer: span.name, retries: undefined, retriesExplicit: false };
      return { broker, consumer: span.name, retries: retrySig?.[0] ?? 'dramatiq default retries', retriesExplicit: true };
    }
    return { broker, consumer: span.name, retries: 'at-least-once delivery', retriesExplicit: true };
  }
  if (fam === 'ruby') {
    const t = fileCode(file);
    if (!/^\s*def\s+(?:self\.)?(?:perform|consume|work|call|handle)\b/.test(code[span.startLine - 1] ?? '')) return undefined;
    const sidekiq = /include\s+Sidekiq::(?:Job|Worker)\b/.test(t);
    const activejob = /<\s*(?:ApplicationJob|ActiveJob::Base)\b/.test(t);
    const other = /include\s+Shoryuken::Worker|<\s*(?:Karafka::BaseConsumer|ApplicationConsumer)\b|include\s+Sneakers::Worker/.exec(t);
    if (!sidekiq && !activejob && !other) return undefined;
    const cls = /class\s+([\w:]+)/.exec(t)?.[1] ?? span.name;
    const opt = /sidekiq_options\b[^\n]*\bretry:\s*(\w+)/.exec(t);
    if (sidekiq) {
      if (opt && /^(?:false|0)$/.test(opt[1]!)) return { broker: 'sidekiq', consumer: cls, retries: undefined, retriesExplicit: false };
      return { broker: 'sidekiq', consumer: cls, retries: opt ? `retry: ${opt[1]}` : 'Sidekiq default (25 retries)', retriesExplicit: true };
    }
    if (activejob) {
      const r = /retry_on\b[^\n]*/.exec(t)?.[0];
      return { broker: 'activejob', consumer: cls, retries: r ?? 'the queue adapter redelivers failed jobs', retriesExplicit: Boolean(r) };
    }
    return { broker: /Karafka/.test(other![0]) ? 'kafka' : /Shoryuken/.test(other![0]) ? 'sqs' : 'rabbitmq', consumer: cls, retries: 'at-least-once delivery', retriesExplicit: true };
  }
  return undefined;
}

function guessBroker(text: string): string {
  if (/bullmq|['"]bull['"]/.test(text)) return 'bullmq';
  if (/kafka/i.test(text)) return 'kafka';
  if (/amqp|rabbit|pika|bunny/i.test(text)) return 'rabbitmq';
  if (/sqs/i.test(text)) return 'sqs';
  if (/pubsub|PubSub/.test(text)) return 'pubsub';
  if (/celery/.test(text)) return 'celery';
  if (/sidekiq/i.test(text)) return 'sidekiq';
  return 'queue';
}

/** Whether the function is a webhook receiver (route, name or path says so). */
export function isWebhookHandler(file: SourceFile, span: FunctionSpan): boolean {
  const header = (scanned(file).code[span.startLine - 1] ?? '') + ' ' + span.name;
  return /webhook|\/hooks?\b/i.test(header) || (/webhook/i.test(file.path) && /\b(?:req|request|ctx|event)\b/.test(header));
}

/** External, non-idempotent side effects, per language family (one line). */
export const SIDE_EFFECT: Record<Family, RegExp> = {
  js: /\b(?:[\w$]*(?:sms|Sms|SMS|twilio|Twilio|mail|Mail|mailer|Mailer|email|Email|ses|sendgrid|sgMail|resend|postmark|transporter|stripe|Stripe|payment|Payment|payments|notifier|Notifier|push|Push|slack|Slack)[\w$]*)(?:\.[\w$]+)*\.(?:send\w*|create|post|notify\w*|deliver\w*|charge|capture|refund|transfer|dispatch)\s*\(|\b(?:send(?:Email|Mail|Sms|SMS|Text|Push|Notification)\w*|notify[A-Z]\w*|charge[A-Z]\w*)\s*\(|\b(?:axios|got|ky)\.(?:post|put|patch)\s*\(|\bfetch\s*\([^)]*method\s*:\s*['"](?:POST|PUT|PATCH)/,
  python: /\b(?:send_mail|send_mass_mail|send_sms|send_email|send_text|send_push|send_notification|notify_\w+|charge_\w+)\s*\(|\b[\w.]*(?:sms|twilio|mail|mailer|email|ses|sendgrid|stripe|payment|payments|notifier|push|slack)[\w.]*\.(?:send\w*|create|post|notify\w*|deliver\w*|charge|capture|refund)\s*\(|\b(?:requests|httpx|session|client)\.(?:post|put|patch)\s*\(|EmailMessage\([^)]*\)\.send\(/i,
  ruby: /\b\w*Mailer\.\w+[^\n]*\.deliver(?:_now|_later)?!?\b|\b(?:Twilio|SmsClient|Sms|SMS|Stripe|HTTParty|Faraday|Net::HTTP|RestClient|Slack|Notifier|PushClient)\b[\w:.]*\.(?:\w+\.)*(?:create|post|put|send\w*|deliver\w*|notify\w*|charge)\b|\b(?:send_sms|send_email|send_text|notify_\w+|charge!?)\s*[\(\s]/,
  go: /\b\w*(?:sms|SMS|mail|Mail|email|Email|stripe|Stripe|notifier|Notifier|push|Push)\w*\.(?:Send\w*|Create|Post|Notify\w*|Deliver\w*|Charge)\(|\bhttp\.Post\(/,
  other: /(?!)/,
};

/** Database writes, per family (one line). */
export const DB_WRITE_LINE: Record<Family, RegExp> = {
  js: /\b(?:insert\s+into|update\s+[\w".]+\s+set|delete\s+from)\b|\.(?:save|insert|insertMany|insertOne|update|updateOne|updateMany|upsert|create|createMany|delete|deleteMany|destroy|bulkCreate|increment|decrement|findOneAndUpdate|persistAndFlush)\s*\(/i,
  python: /\b(?:insert\s+into|update\s+[\w".]+\s+set|delete\s+from)\b|\.(?:save|update|create|bulk_create|delete|update_or_create|get_or_create)\s*\(|\bsession\.(?:add|merge|commit|execute)\s*\(/i,
  ruby: /\.(?:update!?|update_columns?|update_attribute|update_all|save!?|create!?|insert_all!?|upsert_all|increment!|touch|destroy!?)\b/,
  go: /\b(?:Exec|ExecContext|Create|Save|Updates?|Insert)\s*\(/,
  other: /(?!)/,
};

/** Claims and idempotency signals that make a consumer safe to run twice. */
export const DEDUP =
  /skipDuplicates|on\s+conflict|onConflict|\bon_conflict|ignore_conflicts\s*=\s*True|get_or_create|create_or_find_by|insert_all[^\n]*unique_by|\bupsert\b|setnx|\bSET\b[^\n]*\bNX\b|['"]NX['"]|\bnx\s*:\s*true|idempoten|Idempotency-Key|(?<![a-z])processed_?\w{0,30}?(?:messages?|events?|jobs?|webhooks?|deliver(?:y|ies))\b|\binbox\b|with_advisory_lock|\.lock\(\s*['"`]?\w*:/i;

/** A deterministic BullMQ jobId somewhere in the diff (enqueuing twice is then a no-op). */
export function deterministicJobId(files: readonly SourceFile[]): boolean {
  return diffFacts(files).deterministicJobId;
}
const JOB_ID =
  /\bjobId\s*:\s*(?![^,\n}]*(?:uuid|randomUUID|Date\.now|nanoid|Math\.random|cuid\(|ulid\())[^,\n}]+/;

// ------------------------------------------------------------------ whole-file JS statements

interface Joined {
  masked: string;
  code: string;
  starts: number[];
}
const joinedCache = recentFiles<Joined>();

function joined(file: SourceFile): Joined {
  let j = joinedCache.get(file);
  if (!j) {
    const s = scanned(file);
    const starts: number[] = [];
    let off = 0;
    for (const l of s.masked) {
      starts.push(off);
      off += l.length + 1;
    }
    j = { masked: s.masked.join('\n'), code: s.code.join('\n'), starts };
    joinedCache.set(file, j);
  }
  return j;
}

/**
 * Classifies the call a JS line starts with (after `await`, `return`, `const x = await`, …):
 * a database write, a publish, a side effect; undefined for anything else.
 */
export function jsCallAt(file: SourceFile, line: number): CallClass | undefined {
  return jsStatementAt(file, line)?.cls;
}

/** A JS statement that starts with a call chain on `line`: the chain, the line it ends on, its classification. */
export interface JsStatement {
  line: number;
  endLine: number;
  chain: Chain;
  /** Code text of the chain (strings kept, comments blanked). */
  text: string;
  cls?: CallClass;
}

/**
 * Like `jsCallAt`, with the statement's extent: `await trx('t')\n  .where(…)\n  .increment(…)` on its first
 * line gives the whole chain and the line of its last call.
 */
export function jsStatementAt(file: SourceFile, line: number): JsStatement | undefined {
  const j = joined(file);
  const start = j.starts[line - 1];
  if (start === undefined) return undefined;
  const text = j.masked.slice(start, j.starts[line] ?? undefined);
  const m = /^\s*(?:(?:const|let|var)\s+[^=]+=\s*)?(?:[\w$.[\]]+\s*=\s*)?(?:return\s+)?(?:await\s+)?(?:void\s+)?/.exec(text);
  const at = start + (m ? m[0].length : 0);
  const chain = parseChain(j.masked, at);
  if (!chain) return undefined;
  const endOff = Math.max(chain.start, chain.end - 1);
  let lo = line - 1;
  let hi = j.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (j.starts[mid]! <= endOff) lo = mid;
    else hi = mid - 1;
  }
  return { line, endLine: lo + 1, chain, text: j.code.slice(chain.start, chain.end), cls: classifyJsChain(chain, j.code, { ormInFile: jsOrmInFile(file) }) };
}

/** A database write on `line`, by language: JS through the call classifier, others by line patterns. */
export function isDbWriteLine(file: SourceFile, line: number): boolean {
  const fam = familyOf(file.language);
  if (fam === 'js') {
    const c = jsCallAt(file, line);
    if (c) return c.kind === 'db-write' || c.kind === 'transaction';
    return SQL_WRITE.test(scanned(file).code[line - 1] ?? '');
  }
  return DB_WRITE_LINE[fam].test(scanned(file).code[line - 1] ?? '');
}
