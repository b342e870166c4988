/**
 * Markdown the app posts: inline comments, the review body, the sticky summary and the check
 * run's output. Pure functions of their inputs; hidden HTML markers let a retry find what an
 * earlier attempt posted.
 */
import { findingMarkdown, modeLabel, type DiagramFn } from '../format/finding-markdown.js';

export type { DiagramFn };
import { FAILURE_MODE_NAMES, severityRank, type FailureMode, type Finding, type Severity } from '../types.js';

/** GitHub's limit on comment bodies and check-run summaries is 65,536 characters; stay under it. */
export const MAX_BODY = 65_000;

export const SUMMARY_MARKER = '<!-- concdbg:summary -->';
export const jobMarker = (jobKey: string) => `<!-- concdbg:job=${jobKey} -->`;
export const findingMarker = (id: string) => `<!-- concdbg:finding=${id} -->`;

const FINDING_MARKER_RE = /<!-- concdbg:finding=([^\s>]+) -->/;

export function findingIdIn(body: string): string | undefined {
  return FINDING_MARKER_RE.exec(body)?.[1];
}

/** The body of one inline review comment (or one section of the review body). */
export function findingBody(f: Finding, diagram?: DiagramFn): string {
  let body = `${findingMarkdown(f, diagram ? { diagram } : {})}\n${findingMarker(f.id)}`;
  if (body.length > MAX_BODY) {
    // Keep the head (title, explanation) and the markers; drop the long middle.
    const tail = `\n\n…(shortened)\n\n<sub>Finding \`${f.id}\`. Reply \`/concdbg ignore ${f.id} <reason>\` to dismiss it.</sub>\n${findingMarker(f.id)}`;
    body = body.slice(0, MAX_BODY - tail.length) + tail;
  }
  return body;
}

export interface ReviewBodyInput {
  jobKey: string;
  headSha: string;
  inline: Finding[];
  inBody: Finding[];
}

/** The review's own body: a one-line tally, findings that could not be placed inline, the job marker. */
export function reviewBody(input: ReviewBodyInput, diagram?: DiagramFn): string {
  const n = input.inline.length + input.inBody.length;
  const head = `**concdbg** found ${n} concurrency hazard${n === 1 ? '' : 's'} in ${input.headSha.slice(0, 7)}.`;
  const parts = [head];
  if (input.inBody.length) {
    parts.push('', 'These could not be attached to a line of the diff:');
    for (const f of input.inBody) parts.push('', '---', '', `**${f.file}:${f.line}${f.endLine > f.line ? `-${f.endLine}` : ''}**`, '', findingBody(f, diagram));
  }
  parts.push('', jobMarker(input.jobKey));
  let body = parts.join('\n');
  if (body.length > MAX_BODY) {
    const list = input.inBody.map((f) => `- \`${f.id}\` ${f.file}:${f.line} — ${modeLabel(f.failureMode)}: ${f.title}`);
    body = [head, '', 'These could not be attached to a line of the diff (details shortened):', '', ...list].join('\n').slice(0, MAX_BODY - 200) + '\n\n' + jobMarker(input.jobKey);
  }
  return body;
}

export type FindingStatus = 'new' | 'still present' | 'dismissed';

export interface SummaryInput {
  headSha: string;
  conclusion: string;
  findings: Array<{ finding: Finding; status: FindingStatus }>;
  resolved: string[];
  skipped: Array<{ path: string; reason: string }>;
  note?: string;
}

/** The sticky summary comment: every current finding, the resolved ones, what was not reviewed. */
export function summaryComment(s: SummaryInput): string {
  const full = renderSummary(s, false);
  return full.length <= MAX_BODY ? full : renderSummary(s, true).slice(0, MAX_BODY - SUMMARY_MARKER.length - 2) + '\n' + SUMMARY_MARKER;
}

function renderSummary(s: SummaryInput, short: boolean): string {
  const open = s.findings.filter((f) => f.status !== 'dismissed');
  const lines = [
    `### concdbg: ${open.length} open finding${open.length === 1 ? '' : 's'} at ${s.headSha.slice(0, 7)} (check: ${s.conclusion})`,
    '',
  ];
  if (s.note) lines.push(s.note, '');
  if (s.findings.length) {
    if (short) {
      lines.push(`${s.findings.length} findings; the list is shortened to stay within GitHub's comment size. The check run lists them all.`, '');
      for (const { finding: f, status } of s.findings.slice(0, 200)) lines.push(`- \`${f.id}\` ${f.severity} ${f.failureMode} ${f.file}:${f.line} (${status})`);
    } else {
      lines.push('| finding | mode | severity | where | status |', '| --- | --- | --- | --- | --- |');
      for (const { finding: f, status } of s.findings) {
        lines.push(`| \`${f.id}\` ${escapeCell(f.title)} | ${f.failureMode} | ${f.severity} | \`${f.file}:${f.line}\` | ${status} |`);
      }
    }
    lines.push('');
  } else {
    lines.push('No concurrency hazards found in this revision.', '');
  }
  if (s.resolved.length) lines.push(`**Resolved since the last review:** ${s.resolved.map((id) => `\`${id}\``).join(', ')}`, '');
  if (s.skipped.length) {
    lines.push(`**Not reviewed:** ${s.skipped.length} file${s.skipped.length === 1 ? '' : 's'}`);
    for (const k of s.skipped.slice(0, short ? 20 : 200)) lines.push(`- \`${k.path}\`: ${k.reason}`);
    lines.push('');
  }
  lines.push('<sub>Commands: `/concdbg` review again · `/concdbg mode database|async|distributed|queue` · `/concdbg ignore <finding-id> <reason>` · `/concdbg help`</sub>', SUMMARY_MARKER);
  return lines.join('\n');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

// ── the check run ────────────────────────────────────────────────────────────

export type ReviewOutcome = 'reviewed' | 'partial' | 'skipped' | 'superseded' | 'failed' | 'bad_settings';

export type Gate = Severity | 'none';

export interface Verdict {
  conclusion: 'success' | 'failure' | 'neutral';
  title: string;
}

/**
 * The gate: failure when any finding not dismissed is at or above the gate severity; success only
 * when the review covered everything and found nothing at the gate; neutral otherwise.
 */
export function verdict(outcome: ReviewOutcome, findings: readonly Finding[], dismissed: ReadonlySet<string>, gate: Gate): Verdict {
  if (outcome !== 'reviewed' && outcome !== 'partial') {
    const titles: Record<typeof outcome, string> = {
      skipped: 'Skipped',
      superseded: 'Superseded by a newer push',
      failed: 'Review failed',
      bad_settings: 'Invalid .github/concdbg.yml',
    };
    return { conclusion: 'neutral', title: titles[outcome] };
  }
  const open = findings.filter((f) => !dismissed.has(f.id));
  const blocking = gate === 'none' ? [] : open.filter((f) => severityRank(f.severity) >= severityRank(gate));
  if (blocking.length) {
    return { conclusion: 'failure', title: `${blocking.length} hazard${blocking.length === 1 ? '' : 's'} at or above ${gate}` };
  }
  const tail = open.length ? `${open.length} below the gate` : 'no hazards found';
  if (outcome === 'partial') return { conclusion: 'neutral', title: `Partial review: ${tail}` };
  return { conclusion: 'success', title: open.length ? `No hazards at or above ${gate} (${tail})` : 'No concurrency hazards found' };
}

export interface CheckSummaryInput {
  filesReviewed: number;
  skipped: Array<{ path: string; reason: string }>;
  excluded?: Record<string, number>;
  findings: readonly Finding[];
  dismissed: ReadonlySet<string>;
  gate: Gate;
  inputTokens: number;
  outputTokens: number;
  notes?: string[];
  error?: string;
}

export function checkSummary(s: CheckSummaryInput): string {
  const byMode = new Map<string, number>();
  const bySource = new Map<string, number>();
  for (const f of s.findings) {
    byMode.set(f.failureMode, (byMode.get(f.failureMode) ?? 0) + 1);
    bySource.set(f.source === 'llm' ? 'LLM' : 'detector', (bySource.get(f.source === 'llm' ? 'LLM' : 'detector') ?? 0) + 1);
  }
  const lines: string[] = [];
  if (s.error) lines.push(`**${s.error}**`, '');
  lines.push(
    '| | |',
    '| --- | --- |',
    `| files reviewed | ${s.filesReviewed} |`,
    `| files skipped | ${s.skipped.length} |`,
    `| findings | ${s.findings.length}${s.dismissed.size ? ` (${s.findings.filter((f) => s.dismissed.has(f.id)).length} dismissed)` : ''} |`,
    `| by mode | ${[...byMode].map(([m, n]) => `${m}: ${n}`).join(', ') || '—'} |`,
    `| by source | ${[...bySource].map(([m, n]) => `${m}: ${n}`).join(', ') || '—'} |`,
    `| gate | ${s.gate} |`,
    `| LLM tokens | ${s.inputTokens} in, ${s.outputTokens} out |`,
  );
  if (s.excluded && Object.keys(s.excluded).length) {
    lines.push('', `Not relevant to concurrency review: ${Object.entries(s.excluded).map(([r, n]) => `${n} (${r})`).join(', ')}.`);
  }
  if (s.skipped.length) {
    lines.push('', '**Skipped files**', '');
    for (const k of s.skipped.slice(0, 100)) lines.push(`- \`${k.path}\`: ${k.reason}`);
    if (s.skipped.length > 100) lines.push(`- … and ${s.skipped.length - 100} more`);
  }
  if (s.notes?.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
  return lines.join('\n').slice(0, MAX_BODY);
}

export function checkText(findings: readonly Finding[], dismissed: ReadonlySet<string>): string | undefined {
  if (!findings.length) return undefined;
  const text = findings
    .map((f) => `- \`${f.id}\` **${f.severity}** ${modeLabel(f.failureMode)} at \`${f.file}:${f.line}\`: ${f.title}${dismissed.has(f.id) ? ' (dismissed)' : ''}`)
    .join('\n');
  return text.slice(0, MAX_BODY);
}

export function annotationsOf(findings: readonly Finding[], dismissed: ReadonlySet<string>) {
  return findings
    .filter((f) => !dismissed.has(f.id))
    .map((f) => ({
      path: f.file,
      start_line: f.line,
      end_line: Math.max(f.line, f.endLine),
      annotation_level: (f.severity === 'high' ? 'failure' : f.severity === 'medium' ? 'warning' : 'notice') as 'failure' | 'warning' | 'notice',
      title: `${FAILURE_MODE_NAMES[f.failureMode]}: ${f.title}`.slice(0, 255),
      message: `${f.explanation}\n\nFinding ${f.id}. Fix: ${f.fix}`.slice(0, 64_000),
    }));
}

/** Splits into chunks of at most `size` (GitHub takes 50 annotations per request). */
export function batches<T>(items: readonly T[], size = 50): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const HELP_TEXT = [
  '**concdbg commands** (PR author, or users with write access):',
  '',
  '- `/concdbg` — review this pull request now',
  '- `/concdbg mode database|async|distributed|queue` — review again with that diagnosis focus',
  '- `/concdbg ignore <finding-id> <reason>` — dismiss a finding; the check is evaluated again',
  '- `/concdbg help` — this message',
].join('\n');
