/** Builders for the LLM layer's tests: source files, candidates and an offline diagnosis stub. */
import type { Candidate, Finding } from '../../src/types.js';
import type { FunctionSpan, SourceFile } from '../../src/parse/types.js';

/**
 * A SourceFile from full text. `shown` / `added` are 1-based line ranges [from, to];
 * lines not shown are blanked (as the parser does without --root) unless `whole` is true.
 */
export function sourceFile(opts: {
  path: string;
  text: string;
  shown?: Array<[number, number]>;
  added?: Array<[number, number]>;
  functions?: Array<{ name: string; startLine: number; endLine: number; async?: boolean }>;
  whole?: boolean;
}): SourceFile {
  const all = opts.text.split('\n');
  const expand = (ranges: Array<[number, number]>) => {
    const s = new Set<number>();
    for (const [a, b] of ranges) for (let n = a; n <= b; n++) s.add(n);
    return s;
  };
  const shown = expand(opts.shown ?? [[1, all.length]]);
  const added = expand(opts.added ?? []);
  const whole = opts.whole ?? false;
  const lines = whole ? all : all.map((l, i) => (shown.has(i + 1) ? l : ''));
  const functions: FunctionSpan[] = (opts.functions ?? []).map((f) => ({
    name: f.name,
    startLine: f.startLine,
    endLine: f.endLine,
    async: f.async ?? true,
    text: lines.slice(f.startLine - 1, f.endLine).join('\n'),
  }));
  return { path: opts.path, language: 'typescript', lines, text: lines.join('\n'), shown, added, whole, functions };
}

export function candidate(over: Partial<Candidate> & Pick<Candidate, 'file' | 'line' | 'endLine'>): Candidate {
  return {
    detector: 'check-then-insert',
    failureMode: 'toctou',
    language: 'typescript',
    severity: 'high',
    confidence: 0.9,
    title: 'charges checked then inserted without a unique constraint',
    entity: 'charges',
    evidence: [],
    facts: {},
    variant: 'database',
    ...over,
  };
}

/** Offline diagnosis stub: recognisable text, heuristic source. */
export function offlineStub(c: Candidate): Omit<Finding, 'id'> {
  return {
    file: c.file,
    line: c.line,
    endLine: c.endLine,
    failureMode: c.failureMode,
    severity: c.severity,
    confidence: c.confidence,
    title: `offline: ${c.title}`,
    explanation: 'offline explanation',
    interleaving: ['T0 A', 'T1 B'],
    missingTest: 'offline test',
    fix: 'offline fix',
    whatNotToDo: ['offline do-not'],
    source: 'heuristic',
  };
}

/**
 * The charge handler from the method's worked example, as a TypeScript file with a hunk that adds it.
 * Line 1-3: imports and a module constant holding a secret; line 5-27: chargeCustomer; 29-31: an
 * unrelated helper that is not in any candidate region.
 */
export const CHARGE_TS = [
  "import { db } from './db';", // 1
  "import { stripe } from './stripe';", // 2
  "const STRIPE_KEY = 'sk_live_51HxAbCdEfGhIjKlMnOpQrSt';", // 3
  '', // 4
  'export async function chargeCustomer(userId: string, amount: number, productId: string) {', // 5
  '  const idempotencyKey = `${userId}-${productId}-${Date.now()}`;', // 6
  '  const recent = await db.query(', // 7
  "    'SELECT id FROM charges WHERE user_id = $1 AND product_id = $2',", // 8
  '    [userId, productId],', // 9
  '  );', // 10
  '  if (recent.rows.length > 0) {', // 11
  "    return { status: 'duplicate' };", // 12
  '  }', // 13
  '  const conn = "postgres://billing:hunter2secret@db.internal:5432/pay";', // 14
  '  const stripeResult = await stripe.paymentIntents.create(', // 15
  '    { amount, customer: userId },', // 16
  '    { idempotencyKey },', // 17
  '  );', // 18
  '  await db.query(', // 19
  "    'INSERT INTO charges (user_id, product_id, stripe_id) VALUES ($1, $2, $3)',", // 20
  '    [userId, productId, stripeResult.id],', // 21
  '  );', // 22
  "  return { status: 'charged', chargeId: stripeResult.id };", // 23
  '}', // 24
  '', // 25
  'export function formatReceiptFooter(): string {', // 26
  "  return 'UNRELATED_FOOTER_MARKER thanks for shopping';", // 27
  '}', // 28
].join('\n');

export function chargeFile(extra?: { replaceLine?: [number, string] }): ReturnType<typeof sourceFile> {
  let text = CHARGE_TS;
  if (extra?.replaceLine) {
    const lines = text.split('\n');
    lines[extra.replaceLine[0] - 1] = extra.replaceLine[1];
    text = lines.join('\n');
  }
  return sourceFile({
    path: 'src/api/charge.ts',
    text,
    shown: [[1, 28]],
    added: [[5, 24]],
    functions: [
      { name: 'chargeCustomer', startLine: 5, endLine: 24 },
      { name: 'formatReceiptFooter', startLine: 26, endLine: 28, async: false },
    ],
  });
}

export function chargeCandidate(over: Partial<Candidate> = {}): Candidate {
  return candidate({
    file: 'src/api/charge.ts',
    line: 7,
    endLine: 22,
    functionName: 'chargeCustomer',
    evidence: [
      { line: 7, text: 'const recent = await db.query(', role: 'check' },
      { line: 19, text: 'await db.query(', role: 'act' },
    ],
    facts: { checkCall: 'db.query SELECT charges', actCall: 'db.query INSERT charges', keyColumns: 'user_id, product_id' },
    ...over,
  });
}
