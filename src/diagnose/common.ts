/**
 * Helpers shared by the per-mode offline diagnoses: language families, actor
 * names, evidence citations, fact lookups with fallbacks, function signatures
 * and the concurrent-test harness per language.
 */
import type { Candidate, EvidenceLine, Language } from '../types.js';

export type Family = 'js' | 'python' | 'go' | 'ruby' | 'sql';
export type TestFramework = 'vitest' | 'jest' | 'pytest' | 'go' | 'rspec' | 'sql';

export function familyOf(lang: Language): Family {
  switch (lang) {
    case 'typescript':
    case 'tsx':
    case 'javascript':
      return 'js';
    case 'python':
      return 'python';
    case 'go':
      return 'go';
    case 'ruby':
      return 'ruby';
    default:
      return 'sql';
  }
}

/** Markdown code-fence language for the candidate's file. */
export function fenceOf(lang: Language): string {
  switch (lang) {
    case 'typescript':
    case 'tsx':
      return 'ts';
    case 'javascript':
      return 'js';
    case 'python':
      return 'python';
    case 'go':
      return 'go';
    case 'ruby':
      return 'ruby';
    case 'sql':
      return 'sql';
    default:
      return '';
  }
}

export function testFrameworkOf(c: Candidate): TestFramework {
  const hint = (c.facts.testFramework ?? '').toLowerCase();
  const fam = familyOf(c.language);
  if (fam === 'js') return hint === 'jest' ? 'jest' : 'vitest';
  if (fam === 'python') return 'pytest';
  if (fam === 'go') return 'go';
  if (fam === 'ruby') return 'rspec';
  return 'sql';
}

/** Wrap code in a fenced block. */
export function fenced(lang: string, code: string): string {
  // trimEnd removes exactly what /\s+$/ did, without its quadratic backtracking on inner whitespace runs.
  return '```' + lang + '\n' + code.trimEnd() + '\n```';
}

// ---------------------------------------------------------------- identifiers

/** Memoises a string → string function (the diagnosis converts the same few identifiers many times). */
function memo(fn: (s: string) => string): (s: string) => string {
  const cache = new Map<string, string>();
  return (s: string) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = fn(s);
      if (cache.size > 10_000) cache.clear();
      cache.set(s, v);
    }
    return v;
  };
}

export const camel = memo((s: string): string => s.replace(/[_-]+([a-zA-Z0-9])/g, (_, ch: string) => ch.toUpperCase()));

export const snake = memo((s: string): string =>
  s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-\s]+/g, '_')
    .toLowerCase(),
);

export function pascal(s: string): string {
  const c = camel(s);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** Naive singular for table names: charges → charge, categories → category. */
export function singular(s: string): string {
  if (/ies$/.test(s)) return s.slice(0, -3) + 'y';
  if (/(ss|us)$/.test(s)) return s;
  if (/(ches|shes|xes|sses)$/.test(s)) return s.slice(0, -2);
  if (/s$/.test(s)) return s.slice(0, -1);
  return s;
}

/** Naive plural: charge → charges, category → categories. */
export function plural(s: string): string {
  if (/[^aeiou]y$/.test(s)) return s.slice(0, -1) + 'ies';
  if (/(s|x|ch|sh)$/.test(s)) return s + 'es';
  return s + 's';
}

const NOT_CALLEES = new Set(['if', 'for', 'while', 'switch', 'return', 'await', 'function', 'catch', 'elif', 'def', 'func', 'new', 'typeof', 'async', 'not', 'and', 'or']);

/** The first call's callee in a line of code: `const x = await prisma.user.findFirst({` → `prisma.user.findFirst`.
 * Chained calls keep their last link: `Model.objects.filter(a=1).count()` → `Model.objects.filter(…).count`;
 * a query builder called with a table name keeps it: `trx('leave_requests')` → `trx('leave_requests')`. */
export function calleeOf(text: string): string | undefined {
  const re = /([A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*)*[?!]?)\s*(?:<[^<>()]*>)?\s*\(/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const name = m[1]!.replace(/\?\./g, '.');
    if (NOT_CALLEES.has(name)) continue;
    // Walk the chain: matching parenthesis, then `.method(`.
    let i = m.index + m[0].length;
    let chainLast = '';
    let tableArg = '';
    const firstArg = /^\s*['"`]([\w.]+)['"`]\s*\)/.exec(text.slice(i));
    if (firstArg && /^(trx|tx|db|knex|query|sql|client)$/.test(name)) tableArg = firstArg[1]!;
    for (;;) {
      let depth = 1;
      while (i < text.length && depth > 0) {
        const ch = text[i++];
        if (ch === '(') depth++;
        else if (ch === ')') depth--;
      }
      if (depth > 0) break;
      const next = /^\s*\.([A-Za-z_$][\w$]*[?!]?)\s*\(/.exec(text.slice(i));
      if (!next) break;
      chainLast = next[1]!;
      i += next[0].length;
    }
    if (tableArg) return `${name}('${tableArg}')${chainLast ? `….${chainLast}` : ''}`;
    return chainLast ? `${name}(…).${chainLast}` : name;
  }
  // Paren-less calls (Ruby): the longest dotted chain, e.g. `current_store.pickup_locations.active.count`.
  const chains = text.match(/[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*[?!]?)+/g) ?? [];
  const best = chains.filter((c) => !/^\d/.test(c)).sort((a, b) => b.length - a.length)[0];
  return best;
}

/** The SQL statement inside a line, if any, shortened: `SELECT id FROM charges WHERE …`. */
export function sqlOf(text: string): string | undefined {
  const m = /\b(SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|WITH)\b[^'"`]*/i.exec(text);
  if (!m) return undefined;
  return shorten(m[0].trim(), 90);
}

/** Callees that only run SQL: the statement says more than the call. */
export const GENERIC_SQL_RUNNER = /(^|\.)(query|execute|exec|raw|Scan|QueryRowContext|QueryContext|ExecContext|QueryRow|Query|Exec|\$queryRaw|\$executeRaw|find_by_sql|select_all)$/;

/** A short name for a SQL statement: `SELECT … FROM charges`, `INSERT INTO charges`, `UPDATE posts SET reaction_count`. */
export function sqlSummary(text: string): string | undefined {
  const sel = /\bSELECT\b[\s\S]*?\bFROM\s+([\w."]+)/i.exec(text);
  const exists = /\bEXISTS\s*\(\s*SELECT\b[\s\S]*?\bFROM\s+([\w."]+)/i.exec(text);
  if (exists) return `SELECT EXISTS (… FROM ${exists[1]} …)`;
  const ins = /\bINSERT\s+INTO\s+([\w."]+)/i.exec(text);
  if (ins) return `INSERT INTO ${ins[1]}`;
  const upd = /\bUPDATE\s+([\w."]+)\s+SET\s+(\w+)/i.exec(text);
  if (upd) return `UPDATE ${upd[1]} SET ${upd[2]}`;
  const del = /\bDELETE\s+FROM\s+([\w."]+)/i.exec(text);
  if (del) return `DELETE FROM ${del[1]}`;
  if (sel) return `SELECT … FROM ${sel[1]}`;
  return undefined;
}

export function shorten(s: string, max = 100): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1).trimEnd() + '…' : one;
}

/** Inline code span that survives backticks inside the code. */
export function code(s: string): string {
  const t = shorten(s);
  return t.includes('`') ? '`` ' + t + ' ``' : '`' + t + '`';
}

// ---------------------------------------------------------------- actors

export interface Actors {
  /** "request", "worker", "transaction", "task", "coroutine", "goroutine", "delivery". */
  kind: string;
  a: string;
  b: string;
}

export function actorsOf(c: Candidate): Actors {
  const fam = familyOf(c.language);
  const hint = (c.facts.actor ?? '').trim().toLowerCase();
  let kind: string;
  if (hint) kind = hint;
  else if (fam === 'go' && (c.variant === 'async' || /mutex|\.mu\b|Lock\(\)/.test(c.facts.lockA ?? c.entity))) kind = 'goroutine';
  else if (c.variant === 'queue') kind = 'worker';
  else if (c.variant === 'async') kind = fam === 'python' ? 'coroutine' : 'task';
  else if (c.variant === 'database' && c.facts.route === undefined && c.failureMode === 'deadlock') kind = 'transaction';
  else kind = 'request';
  if (kind === 'delivery') return { kind, a: 'delivery 1', b: 'delivery 2' };
  return { kind, a: `${kind} A`, b: `${kind} B` };
}

// ---------------------------------------------------------------- signatures

export interface Signature {
  /** Parameter names in order (receiver excluded). */
  params: string[];
  /** Go: parameter name → type. */
  types: Record<string, string>;
  async: boolean;
  /** Go method receiver type, Python/Ruby/JS class owning a method. */
  owner?: string;
  /** Whether the JS file uses CommonJS. */
  commonjs: boolean;
  /** Whether the definition was found in the file text. */
  found: boolean;
}

function splitParams(raw: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of raw) {
    if ('([{<'.includes(ch)) depth++;
    if (')]}>'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((p) => p.trim()).filter(Boolean);
}

/** Whether a JS file uses CommonJS, once per file (keyed by its lines array). */
const commonjsCache = new WeakMap<readonly string[], boolean>();
function usesCommonJs(text: readonly string[]): boolean {
  let v = commonjsCache.get(text);
  if (v === undefined) {
    v = text.some((l) => /\bmodule\.exports\b|\brequire\(/.test(l));
    commonjsCache.set(text, v);
  }
  return v;
}

/**
 * The definition patterns, one per language, written for any name: the text searched is `name + "\0" + line`
 * and the pattern refers to the name through the back-reference `\1`, so one compiled expression serves every
 * function (compiling a pattern per name cost ~0.1 ms each). The lazy `[^]*?` tries each position of the line in
 * order, as a plain search would, and `(?<=\0)` stands for the start of the line. Groups are the per-name
 * pattern's groups shifted by one.
 */
const SIGNATURE_ANY: Record<Family, RegExp> = {
  js: /^([\w$]+)\0[^]*?(?:(async)\s+)?(?:function\s*\*?\s*\1\s*(?:<[^>]*>)?\(|\1\s*[=:]\s*(?:(async)\s+)?(?:function\s*)?\(|(?<=\0)\s*(?:public |private |protected |static )*(async\s+)?\1\s*\()([^)]*)/,
  python: /^([\w$]+)\0[^]*?(async\s+)?def\s+\1\s*\(([^)]*)/,
  go: /^([\w$]+)\0[^]*?func\s*(?:\(\s*\w+\s+\*?(\w+)\s*\))?\s*\1\s*\(([^)]*)/,
  ruby: /^([\w$]+)\0[^]*?def\s+(?:self\.)?\1[!?]?\s*(?:\(([^)]*)\)|\s+([^\n#]*))?/,
  sql: /$^/,
};

/** The per-name pattern, for names that are not plain identifiers (their characters act as regex syntax). */
function signaturePattern(fam: Family, name: string): RegExp {
  const esc = name.replace(/[$]/g, '\\$');
  switch (fam) {
    case 'js':
      return new RegExp(`(?:(async)\\s+)?(?:function\\s*\\*?\\s*${esc}\\s*(?:<[^>]*>)?\\(|${esc}\\s*[=:]\\s*(?:(async)\\s+)?(?:function\\s*)?\\(|^\\s*(?:public |private |protected |static )*(async\\s+)?${esc}\\s*\\()([^)]*)`);
    case 'python':
      return new RegExp(`(async\\s+)?def\\s+${esc}\\s*\\(([^)]*)`);
    case 'go':
      return new RegExp(`func\\s*(?:\\(\\s*\\w+\\s+\\*?(\\w+)\\s*\\))?\\s*${esc}\\s*\\(([^)]*)`);
    case 'ruby':
      return new RegExp(`def\\s+(?:self\\.)?${esc}[!?]?\\s*(?:\\(([^)]*)\\)|\\s+([^\\n#]*))?`);
    default:
      return /$^/;
  }
}

/** Matches the definition of `name` on `line`; groups numbered as in the per-name pattern. */
function matchDefinition(fam: Family, name: string, line: string, fallback: () => RegExp): Array<string | undefined> | undefined {
  if (/^[\w$]+$/.test(name) && !line.includes('\0')) {
    // A plain identifier appears literally in every match: a substring test skips most lines.
    if (!line.includes(name)) return undefined;
    const m = SIGNATURE_ANY[fam].exec(name + '\0' + line);
    return m ? [m[0], ...m.slice(2)] : undefined;
  }
  return fallback().exec(line) ?? undefined;
}

/** Find the enclosing function's parameters in the file text, per language. */
export function signatureOf(c: Candidate, fileText?: string[]): Signature {
  const fam = familyOf(c.language);
  const sig: Signature = { params: [], types: {}, async: false, commonjs: false, found: false };
  const full = c.functionName ?? '';
  const parts = full.replace(/[()*]/g, '').split(/[.#:]+/).filter(Boolean);
  const name = parts[parts.length - 1] ?? '';
  if (parts.length > 1) sig.owner = parts[parts.length - 2];
  const text = fileText ?? [];
  if (fam === 'js') sig.commonjs = usesCommonJs(text);
  const evidenceAwaits = c.evidence.some((e) => /\bawait\b/.test(e.text));
  if (!name || text.length === 0) {
    sig.async = evidenceAwaits;
    return sig;
  }
  let pattern: RegExp | undefined;
  const fallback = () => (pattern ??= signaturePattern(fam, name));
  // Search backwards from the candidate's line first, then forwards through the rest of the file.
  const from = Math.min(c.line, text.length);
  for (let k = 0; k < text.length; k++) {
    const i = k < from ? from - 1 - k : k;
    const line = text[i] ?? '';
    const m = matchDefinition(fam, name, line, fallback);
    if (!m) continue;
    let raw = '';
    sig.found = true;
    if (fam === 'js') {
      sig.async = Boolean(m[1] || m[2] || m[3]) || /\basync\b/.test(line);
      raw = m[4] ?? '';
      sig.params = splitParams(raw)
        .map((p) => p.replace(/^\.\.\./, '').split(/[:=?]/)[0]!.trim())
        .filter((p) => /^[A-Za-z_$][\w$]*$/.test(p));
    } else if (fam === 'python') {
      sig.async = Boolean(m[1]);
      raw = m[2] ?? '';
      sig.params = splitParams(raw)
        .map((p) => p.replace(/^\*+/, '').split(/[:=]/)[0]!.trim())
        .filter((p) => p && p !== 'self' && p !== 'cls');
    } else if (fam === 'go') {
      if (m[1]) sig.owner = m[1];
      raw = m[2] ?? '';
      // Go groups names before a type: (ctx context.Context, postID, userID int64, kind string)
      const pending: string[] = [];
      for (const p of splitParams(raw)) {
        const [pname, ...rest] = p.split(/\s+/);
        if (!pname) continue;
        pending.push(pname);
        if (rest.length > 0) {
          for (const n of pending) sig.types[n] = rest.join(' ');
          sig.params.push(...pending);
          pending.length = 0;
        }
      }
      sig.params.push(...pending);
    } else if (fam === 'ruby') {
      raw = m[1] ?? m[2] ?? '';
      sig.params = splitParams(raw)
        .map((p) => p.replace(/^[*&]+/, '').split(/[:=]/)[0]!.trim())
        .filter(Boolean);
    }
    return sig;
  }
  sig.async = evidenceAwaits;
  return sig;
}

/** A plausible literal for a parameter, by its name (and Go type). */
export function sampleValue(param: string, fam: Family, goType?: string): string {
  const p = param.toLowerCase();
  const str = (s: string) => (fam === 'go' || fam === 'js' ? `'${s}'`.replace(/'/g, fam === 'go' ? '"' : "'") : `"${s}"`);
  if (fam === 'go') {
    if (p === 'ctx' || goType === 'context.Context') return 'ctx';
    if (goType && /^(u?int|float)/.test(goType)) return /amount|qty|quantity|count|delta|by|n$/.test(p) ? '1' : '42';
    if (goType === 'time.Time') return 'start';
    if (goType === 'bool') return 'true';
    if (goType && /^\*?[A-Z]|\./.test(goType) && !goType.includes('time.')) return goType.startsWith('*') ? `&${goType.slice(1)}{ /* the same values for every call */ }` : `${goType}{ /* the same values for every call */ }`;
    if (goType && goType !== 'string') return `${param} /* ${goType} */`;
    return str(`${param}-1`);
  }
  if (/(amount|qty|quantity|count|delta|price|cents|seats|by)$/.test(p) || p === 'n') return fam === 'js' ? '1' : '1';
  if (/email/.test(p)) return str('racer@example.com');
  if (/(id|key|code|handle|slug|name|token|sku|kind)$/.test(p)) return str(`${snake(param).replace(/_id$/, '')}-1`);
  return str(`${param}-1`);
}

// ---------------------------------------------------------------- context

export interface Ctx {
  c: Candidate;
  fam: Family;
  fence: string;
  framework: TestFramework;
  actors: Actors;
  /** Display name of the function: `chargeCustomer` or "the changed code". */
  fnLabel: string;
  /** Function name as called in the test (method name only). */
  fnName: string;
  sig: Signature;
  /** Shared state: entity or table. */
  entity: string;
  table: string;
  model: string;
  /** What one row is called in prose: the model name when known, else the singular table name. */
  thing: string;
  orm: string;
  keyColumns: string[];
  fact(key: string, fallback: string): string;
  has(key: string): boolean;
  /** First evidence line with one of the roles, else the evidence at `fallbackIndex` (negative from the end). */
  ev(roles: string | string[], fallbackIndex?: number): EvidenceLine | undefined;
  /** "line 14" or "the flagged lines". */
  at(e: EvidenceLine | undefined): string;
  /** "line 14: `const recent = …`". */
  cite(e: EvidenceLine | undefined): string;
  /** The callee on the line (or the fact), e.g. `prisma.user.findFirst`. */
  callOn(e: EvidenceLine | undefined, factKey: string, fallback: string): string;
  /** Step "T3 request A (line 14): …". */
  step(i: number, who: 'a' | 'b' | 'both' | string, e: EvidenceLine | undefined, text: string): string;
}

function entityBase(entity: string): string {
  // prisma.user → user; db.charges → charges; Order.objects → Order; `charges` → charges
  const clean = entity.replace(/[`'"]/g, '').trim();
  const parts = clean.split(/[.:\s/]+/).filter((p) => p && !/^(prisma|db|knex|trx|objects|this|self|models?)$/i.test(p));
  return parts[0] ?? clean;
}

export function makeCtx(c: Candidate, fileText?: string[]): Ctx {
  const fam = familyOf(c.language);
  const facts = c.facts ?? {};
  const fact = (key: string, fallback: string): string => {
    const v = facts[key];
    return typeof v === 'string' && v.trim() && v.trim() !== 'undefined' ? v.trim() : fallback;
  };
  const has = (key: string): boolean => fact(key, '') !== '';
  const base = entityBase(c.entity || fact('table', fact('model', 'the shared row')));
  const table = fact('table', /^[A-Z]/.test(base) || (fam === 'ruby' && !/s$/.test(base)) ? plural(snake(base)) : base);
  const modelFact = fact('model', '').replace(/^.*\./, '');
  const model = modelFact ? pascal(modelFact) : pascal(singular(table));
  const sig = signatureOf(c, fileText);
  const fnFull = c.functionName?.trim() ?? '';
  const fnName = (fnFull.replace(/[()*]/g, '').split(/[.#:]+/).filter(Boolean).pop() ?? '') || 'underTest';
  const actors = actorsOf(c);
  const evidence = c.evidence ?? [];
  const ev = (roles: string | string[], fallbackIndex?: number): EvidenceLine | undefined => {
    const list = Array.isArray(roles) ? roles : [roles];
    for (const r of list) {
      const hit = evidence.find((e) => e.role === r);
      if (hit) return hit;
    }
    if (fallbackIndex === undefined || evidence.length === 0) return undefined;
    const i = fallbackIndex < 0 ? evidence.length + fallbackIndex : fallbackIndex;
    return evidence[Math.max(0, Math.min(evidence.length - 1, i))];
  };
  const at = (e: EvidenceLine | undefined): string => (e ? `line ${e.line}` : `lines ${c.line}–${c.endLine}`);
  const cite = (e: EvidenceLine | undefined): string => (e ? `line ${e.line}: ${code(e.text)}` : `lines ${c.line}–${c.endLine}`);
  const callOn = (e: EvidenceLine | undefined, factKey: string, fallback: string): string => {
    if (has(factKey) && !GENERIC_SQL_RUNNER.test(fact(factKey, ''))) return fact(factKey, '');
    if (!e) return fact(factKey, fallback);
    const callee = calleeOf(e.text);
    const sql = sqlSummary(e.text);
    if (sql && (!callee || GENERIC_SQL_RUNNER.test(callee) || /^[A-Z_]+$/.test(callee) || e.text.toUpperCase().includes(`INTO ${callee.toUpperCase()}`) || e.text.toUpperCase().includes(`FROM ${callee.toUpperCase()}`))) return sql;
    return callee ?? sql ?? fact(factKey, fallback);
  };
  const step = (i: number, who: string, e: EvidenceLine | undefined, text: string): string => {
    const actor = who === 'a' ? actors.a : who === 'b' ? actors.b : who === 'both' ? `${actors.a} and ${actors.b}` : who;
    const where = e ? ` (line ${e.line})` : '';
    return `T${i} ${actor}${where}: ${text}`;
  };
  const keyColumns = fact('keyColumns', '')
    .split(/[,\s]+/)
    .map((k) => k.trim())
    .filter(Boolean);
  return {
    c,
    fam,
    fence: fenceOf(c.language),
    framework: testFrameworkOf(c),
    actors,
    fnLabel: fnFull ? code(fnFull) : 'the changed code',
    fnName,
    sig,
    entity: c.entity || table,
    table,
    model,
    thing: has('model') ? model : /^[A-Z]/.test(base) ? base : singular(table),
    orm: fact('orm', '').toLowerCase(),
    keyColumns,
    fact,
    has,
    ev,
    at,
    cite,
    callOn,
    step,
  };
}

// ---------------------------------------------------------------- test harness

export interface TestSpec {
  /** The `it(...)` / test description, e.g. "creates exactly one charge". */
  should: string;
  /** Number of concurrent calls. */
  n?: number;
  /** Per-family setup lines (before the race). */
  setup?: Partial<Record<Family, string>>;
  /** Per-family call expression; `i` is the index of the concurrent call. Defaults to fn(sameArgs). */
  call?: Partial<Record<Family, string>>;
  /** Per-family assertions (after all calls settled; `results` holds them). */
  assert: Partial<Record<Family, string>>;
  /** Extra imports per family. */
  imports?: Partial<Record<Family, string>>;
}

function indent(s: string, n: number): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => (l.trim() ? pad + l : l))
    .join('\n');
}

function modulePath(file: string, fam: Family): string {
  const noExt = file.replace(/\.(tsx?|jsx?|mjs|cjs|py|rb|go)$/, '');
  if (fam === 'python') return noExt.replace(/\//g, '.').replace(/\.__init__$/, '');
  return noExt;
}

/** Default argument list for the call under test: facts.args, else parameter names with sample values. */
export function callArgs(x: Ctx): string {
  if (x.has('args')) return x.fact('args', '');
  if (x.sig.params.length === 0 && !x.sig.found) return x.fam === 'python' || x.fam === 'ruby' ? '...' : '/* the same arguments for every call */';
  return x.sig.params.map((p) => (x.fam === 'go' && (p === 'ctx' || x.sig.types[p] === 'context.Context') ? 'ctx' : p)).join(', ');
}

function declareArgs(x: Ctx): string {
  if (x.has('args') || x.sig.params.length === 0) return '';
  const ps = x.sig.params;
  switch (x.fam) {
    case 'js':
      return ps.map((p) => `const ${p} = ${sampleValue(p, 'js')};`).join('\n');
    case 'python':
      return ps.map((p) => `${p} = ${sampleValue(p, 'python')}`).join('\n');
    case 'ruby':
      return ps.map((p) => `${p} = ${sampleValue(p, 'ruby')}`).join('\n');
    case 'go':
      return ps
        .filter((p) => p !== 'ctx' && x.sig.types[p] !== 'context.Context')
        .map((p) => {
          const t = x.sig.types[p];
          const v = sampleValue(p, 'go', t);
          return t && /^(u?int\d*|float\d+)$/.test(t) && t !== 'int' ? `${p} := ${t}(${v})` : `${p} := ${v}`;
        })
        .join('\n');
    default:
      return '';
  }
}

/** The callee expression in a test: `fn`, or `subject.method` for methods. */
function calleeExpr(x: Ctx): { setup: string; callee: string } {
  const owner = x.sig.owner;
  if (!owner) return { setup: '', callee: x.fnName };
  switch (x.fam) {
    case 'js':
      return { setup: `const subject = new ${owner}(/* the real dependencies, on the test database */);`, callee: `subject.${x.fnName}` };
    case 'python':
      return { setup: `subject = ${owner}()  # the real dependencies, on the test database`, callee: `subject.${x.fnName}` };
    case 'ruby':
      return { setup: '', callee: `${owner}.new.${x.fnName}` };
    case 'go':
      return { setup: `s := newTest${owner}(t) // a ${owner} wired to the test database`, callee: `s.${x.fnName}` };
    default:
      return { setup: '', callee: x.fnName };
  }
}

export function concurrentTest(x: Ctx, spec: TestSpec): string {
  const n = spec.n ?? 10;
  const fam = x.fam;
  const { setup: subjectSetup, callee } = calleeExpr(x);
  const defaultCall = `${callee}(${callArgs(x)})`;
  const call = spec.call?.[fam] ?? defaultCall;
  const setup = [subjectSetup, declareArgs(x), spec.setup?.[fam] ?? ''].filter((s) => s.trim()).join('\n');
  const assert = spec.assert[fam] ?? '';
  const file = x.c.file;
  const mod = modulePath(file, fam);
  const extra = spec.imports?.[fam] ?? '';
  const importName = x.sig.owner && fam !== 'go' ? x.sig.owner : x.fnName;

  if (fam === 'js') {
    const fw = x.framework;
    const testFile = file.replace(/^(src|lib|app)\//, 'test/').replace(/\.(tsx?|jsx?|mjs|cjs)$/, '.concurrency.test.$1');
    const depth = testFile.split('/').length - 1;
    const rel = '../'.repeat(depth) + mod;
    const head =
      fw === 'jest'
        ? `import { describe, it, expect, jest } from '@jest/globals';`
        : `import { describe, it, expect, vi } from 'vitest';`;
    const imp = x.sig.commonjs ? `const { ${importName} } = require('${rel}');` : `import { ${importName} } from '${rel}';`;
    return fenced(
      x.fence,
      `// ${testFile} (${fw})
${head}
${imp}${extra ? '\n' + extra : ''}

describe('${x.fnName} under concurrency', () => {
  it('${spec.should.replace(/'/g, "\\'")} (${n} concurrent calls)', async () => {
${indent(setup, 4)}${setup ? '\n' : ''}
    // Promise.all of real concurrent calls: a sequential loop would never interleave.
    const results = await Promise.allSettled(
      Array.from({ length: ${n} }, (_, i) => ${call}),
    );

${indent(assert, 4)}
  });
});
// Run against a real database (not mocks of ${x.table}): the race lives in the database round-trips.`,
    );
  }

  if (fam === 'python') {
    const django = x.orm === 'django';
    const testName = `test_${snake(x.fnName)}_${snake(spec.should).replace(/[^a-z0-9_]+/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '')}`;
    const imp = `from ${mod} import ${importName}`;
    if (x.sig.async) {
      return fenced(
        'python',
        `# tests/test_${snake(x.fnName)}_concurrency.py (pytest + pytest-asyncio)
import asyncio

import pytest

${imp}${extra ? '\n' + extra : ''}

N = ${n}


@pytest.mark.asyncio
async def ${testName}():
${indent(setup, 4)}${setup ? '\n' : ''}
    # asyncio.gather runs the calls concurrently: they interleave at every await.
    results = await asyncio.gather(*(${call} for i in range(N)), return_exceptions=True)

${indent(assert, 4)}`,
      );
    }
    return fenced(
      'python',
      `# tests/test_${snake(x.fnName)}_concurrency.py (pytest${django ? ' + pytest-django' : ''})
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
${django ? 'from django.db import connection\n' : ''}
${imp}${extra ? '\n' + extra : ''}

N = ${n}


${django ? '@pytest.mark.django_db(transaction=True)  # real commits: each thread has its own connection\n' : ''}def ${testName}():
${indent(setup, 4)}${setup ? '\n' : ''}
    barrier = threading.Barrier(N)  # release all threads at once

    def one_call(i):
        barrier.wait()
        try:
            return ${call}
        except Exception as exc:  # losers may raise; the assertions below decide
            return exc${django ? '\n        finally:\n            connection.close()' : ''}

    with ThreadPoolExecutor(max_workers=N) as pool:
        results = list(pool.map(one_call, range(N)))

${indent(assert, 4)}`,
    );
  }

  if (fam === 'go') {
    const pkgDir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
    const testName = `Test${pascal(x.fnName)}_${pascal(snake(spec.should).replace(/[^a-z0-9_]+/g, '_'))}`.replace(/_+$/, '');
    return fenced(
      'go',
      `// ${file.replace(/\.go$/, '')}_concurrency_test.go
func ${testName}(t *testing.T) {
	ctx := context.Background()
${indent(setup, 1).replace(/^ /gm, '\t')}${setup ? '\n' : ''}
	const n = ${n}
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start // all goroutines begin together
			errs <- func() error {
				${call.includes('return') ? call : `_, err := ${call}\n\t\t\t\treturn err`}
			}()
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)

${indent(assert, 1).replace(/^ /gm, '\t')}
}
// go test -race -count=20 -run ${testName} ./${pkgDir}/`,
    );
  }

  if (fam === 'ruby') {
    const described = x.sig.owner ?? pascal(x.fnName);
    return fenced(
      'ruby',
      `# spec/${snake(mod.replace(/^app\//, '').replace(/\//g, '__')).replace(/__/g, '/')}_concurrency_spec.rb
require "rails_helper"

RSpec.describe ${described}, "#${x.fnName} under concurrency" do
  self.use_transactional_tests = false # threads need committed rows and their own connections

  it "${spec.should.replace(/"/g, '\\"')} (${n} concurrent calls)" do
${indent(setup, 4)}${setup ? '\n' : ''}
    n = ${n}
    ready = Queue.new
    go = Queue.new
    threads = Array.new(n) do |i|
      Thread.new do
        ActiveRecord::Base.connection_pool.with_connection do
          ready << true
          go.pop # barrier: wait until every thread is ready
          begin
            ${call === defaultCall ? `${callee}(${callArgs(x)})` : call}
          rescue StandardError => e
            e
          end
        end
      end
    end
    n.times { ready.pop }
    n.times { go << true }
    results = threads.map(&:value)

${indent(assert, 4)}
  end
end`,
    );
  }

  // SQL / other: two sessions by hand.
  return fenced(
    'sql',
    `-- Two psql sessions against a scratch database, statements in this order:
-- session 1: BEGIN;
-- session 2: BEGIN;
-- session 1 and 2: run the check of lines ${x.c.line}–${x.c.endLine} on ${x.table}
-- session 1 and 2: run the write; COMMIT both
-- then assert the invariant:
${assert || `SELECT count(*) FROM ${x.table};`}`,
  );
}

// ---------------------------------------------------------------- common fix snippets

/** Count rows of the candidate's table matching the key columns, in the test's language/ORM. */
export function countRows(x: Ctx, where?: string[]): string {
  const keys = where ?? x.keyColumns;
  const t = x.table;
  const accessor = camel(singular(x.model.charAt(0).toLowerCase() + x.model.slice(1)));
  switch (x.fam) {
    case 'js': {
      const obj = keys.map((k) => camel(k)).join(', ');
      const objSnake = keys.map((k) => `${snake(k)}: ${camel(k)}`).join(', ');
      if (x.orm === 'prisma') return `await prisma.${accessor}.count({ where: { ${obj} } })`;
      if (x.orm === 'sequelize') return `await ${x.model}.count({ where: { ${obj} } })`;
      if (x.orm === 'typeorm') return `await dataSource.getRepository(${x.model}).countBy({ ${obj} })`;
      if (x.orm === 'mongoose') return `await ${x.model}.countDocuments({ ${obj} })`;
      if (x.orm === 'knex') return `Number((await db('${t}').where({ ${objSnake} }).count({ n: '*' }))[0].n)`;
      const cond = keys.map((k, i) => `${snake(k)} = $${i + 1}`).join(' AND ') || 'true';
      return `Number((await db.query('SELECT count(*) FROM ${t} WHERE ${cond}', [${keys.map(camel).join(', ')}])).rows[0].count)`;
    }
    case 'python': {
      const kw = keys.map((k) => `${snake(k).replace(/_id$/, '')}=${snake(k).replace(/_id$/, '')}`).join(', ');
      if (x.orm === 'sqlalchemy') return `session.scalar(select(func.count()).select_from(${x.model}).filter_by(${kw}))`;
      return `${x.model}.objects.filter(${kw}).count()`;
    }
    case 'ruby': {
      const kw = keys.map((k) => `${snake(k)}: ${snake(k).replace(/_id$/, '')}`).join(', ');
      return `${x.model}.where(${kw}).count`;
    }
    case 'go': {
      const cond = keys.map((k, i) => `${snake(k)} = $${i + 1}`).join(' AND ') || 'true';
      return `db.QueryRowContext(ctx, \`SELECT count(*) FROM ${t} WHERE ${cond}\`${keys.map((k) => ', ' + camel(k)).join('')}).Scan(&count)`;
    }
    default:
      return `SELECT count(*) FROM ${t}${keys.length ? ' WHERE ' + keys.map((k) => `${snake(k)} = :${snake(k)}`).join(' AND ') : ''};`;
  }
}

/** "user_id, product_id" or a generic description of the business key. */
export function keyList(x: Ctx, fallback = 'the business key'): string {
  return x.keyColumns.length ? x.keyColumns.map(snake).join(', ') : fallback;
}

/** A name for an index/constraint on the table and key columns. */
export function constraintName(x: Ctx, suffix: string): string {
  const cols = x.keyColumns.length ? x.keyColumns.map(snake).join('_') : 'key';
  return `${snake(x.table).replace(/[^a-z0-9_]/g, '_')}_${cols}_${suffix}`;
}

// ---------------------------------------------------------------- mode output

/** What each mode module writes; offline.ts adds the candidate's location, title and scores. */
export interface ModeText {
  explanation: string;
  interleaving: string[];
  missingTest: string;
  fix: string;
  whatNotToDo: string[];
}

/** A call of the function under test whose first argument is replaced (e.g. a different row per racer). */
export function callWithFirst(x: Ctx, first: string, callee?: string): string {
  const rest = x.has('args') ? x.fact('args', '').split(',').slice(1) : x.sig.params.slice(1);
  const restArgs = rest.map((p) => p.trim());
  const goFirst = x.fam === 'go' && x.sig.params[0] === 'ctx' ? ['ctx', first, ...restArgs.slice(1)] : [first, ...restArgs];
  const owner = x.sig.owner;
  const fn = callee ?? (owner ? (x.fam === 'go' ? `s.${x.fnName}` : x.fam === 'ruby' ? `${owner}.new.${x.fnName}` : `subject.${x.fnName}`) : x.fnName);
  return `${fn}(${goFirst.filter(Boolean).join(', ')})`;
}

/** Spy helper of the JS test framework: "vi" or "jest". */
export function spyLib(x: Ctx): string {
  return x.framework === 'jest' ? 'jest' : 'vi';
}

/** `vi.spyOn(stripe.paymentIntents, 'create')` for a dotted call. */
export function spyOn(x: Ctx, call: string): string {
  const i = call.lastIndexOf('.');
  if (i < 0) return `${spyLib(x)}.fn() /* inject in place of ${call} */`;
  return `${spyLib(x)}.spyOn(${call.slice(0, i)}, '${call.slice(i + 1)}')`;
}

/** A readable list: "a, b and c". */
export function andList(items: string[]): string {
  const xs = items.filter(Boolean);
  if (xs.length <= 1) return xs[0] ?? '';
  return xs.slice(0, -1).join(', ') + ' and ' + xs[xs.length - 1];
}
