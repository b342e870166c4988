/**
 * Renders a Finding's interleaving as a Mermaid sequenceDiagram: the two
 * actors as participants A and B, the shared resource as R, one message per
 * step ("Result:" lines become a note).
 */
import type { Candidate, Finding } from '../types.js';
import { actorsOf } from './common.js';

/** Replace what Mermaid's sequence syntax chokes on in free text. */
export function mermaidText(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/;/g, ',')
    .replace(/#/g, '＃')
    .replace(/["`]/g, "'")
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(/%%/g, '% %')
    .replace(/\s+/g, ' ')
    .trim();
}

function resourceOf(f: Finding, c?: Candidate): string {
  const entity = c?.entity ?? '';
  const facts = c?.facts ?? {};
  const kind =
    f.failureMode === 'message_ordering' || c?.variant === 'queue'
      ? 'queue'
      : f.failureMode === 'eventual_consistency' && /cache|redis/i.test(`${entity} ${facts.staleSource ?? ''} ${f.explanation}`)
        ? 'cache'
        : /stripe|mailer|sms|api|http|fetch/i.test(`${facts.externalCall ?? ''}`)
          ? 'external API'
          : f.failureMode === 'async_ordering' || (f.failureMode === 'deadlock' && /mutex|\.mu\b/i.test(f.explanation))
            ? 'shared state'
            : 'database';
  const name = facts.queue ?? facts.table ?? entity;
  return name ? `${name} (${kind})` : kind;
}

/** Which participant a step belongs to, from its leading "T3 request A (line 14):" label. */
function speaker(step: string, a: string, b: string): 'A' | 'B' | 'AB' | null {
  const head = step.split(':')[0] ?? '';
  const hasA = head.includes(a);
  const hasB = head.includes(b);
  if (hasA && hasB) return 'AB';
  if (hasA) return 'A';
  if (hasB) return 'B';
  if (/\bA\b|\b1\b/.test(head)) return 'A';
  if (/\bB\b|\b2\b/.test(head)) return 'B';
  return null;
}

export function sequenceDiagram(f: Finding, c?: Candidate): string {
  const fromCandidate = c ? actorsOf(c) : undefined;
  // Actor names: from the candidate, else from the first two step labels.
  const labels = f.interleaving.map((s) => /^T\d+\s+(.+?)(?:\s+\(line \d+\))?:/.exec(s)?.[1]).filter((s): s is string => Boolean(s));
  const a = fromCandidate?.a ?? labels[0] ?? 'actor A';
  // The second participant is whoever else speaks (a replica or cache in a stale read), else the candidate's B.
  const other = labels.find((l) => !l.includes(a));
  const b = fromCandidate && (other === undefined || other.includes(fromCandidate.b)) ? fromCandidate.b : (other ?? 'actor B');
  const out = ['sequenceDiagram', `  participant A as ${mermaidText(a)}`, `  participant B as ${mermaidText(b)}`, `  participant R as ${mermaidText(resourceOf(f, c))}`];
  for (const step of f.interleaving) {
    const m = /^(T\d+)\s+[^:]*?(?:\s+\((line \d+)\))?:\s*(.*)$/.exec(step);
    if (!m) {
      out.push(`  Note over A,R: ${mermaidText(step) || '…'}`);
      continue;
    }
    const [, t, line, body] = m;
    const text = mermaidText(`${t}${line ? ` ${line}` : ''}: ${body ?? ''}`);
    const who = speaker(step, a, b);
    if (who === 'A') out.push(`  A->>R: ${text}`);
    else if (who === 'B') out.push(`  B->>R: ${text}`);
    else if (who === 'AB') out.push(`  Note over A,B: ${text}`);
    else out.push(`  Note over B,R: ${text}`);
  }
  return out.join('\n');
}
