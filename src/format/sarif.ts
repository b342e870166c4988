/** SARIF 2.1.0 for code-scanning upload: one rule per failure mode, one result per finding. */
import { FAILURE_MODES, FAILURE_MODE_NAMES, type FailureMode, type ReviewResult, type Severity } from '../types.js';

const RULE_HELP: Record<FailureMode, { short: string; fix: string }> = {
  toctou: {
    short: 'A read decides whether to act, and another request acts in between (check-then-act).',
    fix: 'Make the act itself atomic: a unique constraint and insert-then-process, or an upsert; pass a deterministic idempotency key to external APIs.',
  },
  lost_update: {
    short: 'A value is read, changed in code and written back; a concurrent writer\'s change is overwritten.',
    fix: 'Let the database do the arithmetic (`UPDATE … SET x = x + $1`), lock the row in a transaction, or add an optimistic version column.',
  },
  write_skew: {
    short: 'An invariant over several rows is checked, then a different row is written, under READ COMMITTED or snapshot isolation.',
    fix: 'Run the transaction SERIALIZABLE with retry, lock the checked set (or its parent row), or materialise the invariant as a row or constraint.',
  },
  deadlock: {
    short: 'Two paths take the same locks in opposite orders, or hold one lock across an await of another.',
    fix: 'Take locks in one global order (sort the keys), keep transactions small, and set lock timeouts.',
  },
  async_ordering: {
    short: 'Work interleaves at await points: a floating promise, forEach(async …), shared state mutated across awaits, or a reply sent before the write lands.',
    fix: 'Await what must finish, serialise per key, and move shared state into the database with atomic operations.',
  },
  eventual_consistency: {
    short: 'A read from a replica, cache or search index right after a write is acted on (read-your-writes violated).',
    fix: 'Read from the primary in the same flow, use the row the write returned, or fix the cache invalidation order.',
  },
  phantom_read: {
    short: 'A range or predicate read (max(seq), "no rows in this range") gates an insert; a concurrent insert enters the range.',
    fix: 'A unique constraint on the derived key, a sequence or identity column, an exclusion constraint, or SERIALIZABLE with retry.',
  },
  message_ordering: {
    short: 'A consumer assumes order or exactly-once delivery: ack before work, non-idempotent effects on redelivery, out-of-order updates, commit and publish not atomic.',
    fix: 'An idempotent consumer keyed by message id (processed table with a unique key), version checks on updates, a transactional outbox.',
  },
};

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { high: 'error', medium: 'warning', low: 'note' };

export function formatSarif(result: ReviewResult, version: string): string {
  const rules = FAILURE_MODES.map((mode) => ({
    id: mode,
    name: FAILURE_MODE_NAMES[mode].replace(/[^A-Za-z]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^./, (c) => c.toUpperCase()),
    shortDescription: { text: `${FAILURE_MODE_NAMES[mode]}: ${RULE_HELP[mode].short}` },
    fullDescription: { text: RULE_HELP[mode].short },
    help: {
      text: `${RULE_HELP[mode].short} Fix: ${RULE_HELP[mode].fix}`,
      markdown: `**${FAILURE_MODE_NAMES[mode]}**: ${RULE_HELP[mode].short}\n\n**Fix:** ${RULE_HELP[mode].fix}`,
    },
    defaultConfiguration: { level: 'error' },
    properties: { tags: ['concurrency', mode] },
  }));
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'concdbg', version, rules } },
        results: result.findings.map((f) => ({
          ruleId: f.failureMode,
          ruleIndex: FAILURE_MODES.indexOf(f.failureMode),
          level: LEVEL[f.severity],
          message: {
            text: `${f.title}\n\n${f.explanation}\n\nFix: ${f.fix}`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file, uriBaseId: '%SRCROOT%' },
                region: { startLine: f.line, endLine: f.endLine },
              },
            },
          ],
          partialFingerprints: { concdbgFindingId: f.id },
          properties: { confidence: f.confidence, source: f.source, severity: f.severity },
        })),
        columnKind: 'utf16CodeUnits',
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}
