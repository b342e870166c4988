import { describe, expect, it } from 'vitest';
import {
  annotationsOf, batches, findingBody, findingIdIn, MAX_BODY, reviewBody, SUMMARY_MARKER, summaryComment, verdict, type ReviewOutcome,
} from '../../src/app/render.js';
import type { Severity } from '../../src/types.js';
import { finding } from './support/fixtures.js';

describe('verdict (the gate)', () => {
  const high = finding({ id: 'h', severity: 'high' });
  const med = finding({ id: 'm', severity: 'medium' });
  const low = finding({ id: 'l', severity: 'low' });
  it.each<{ outcome: ReviewOutcome; findings: ReturnType<typeof finding>[]; dismissed?: string[]; gate: Severity | 'none'; want: string }>([
    { outcome: 'reviewed', findings: [], gate: 'high', want: 'success' },
    { outcome: 'reviewed', findings: [high], gate: 'high', want: 'failure' },
    { outcome: 'reviewed', findings: [med, low], gate: 'high', want: 'success' },
    { outcome: 'reviewed', findings: [med], gate: 'medium', want: 'failure' },
    { outcome: 'reviewed', findings: [low], gate: 'low', want: 'failure' },
    { outcome: 'reviewed', findings: [high], gate: 'none', want: 'success' },
    { outcome: 'reviewed', findings: [high], dismissed: ['h'], gate: 'high', want: 'success' },
    { outcome: 'partial', findings: [], gate: 'high', want: 'neutral' },
    { outcome: 'partial', findings: [high], gate: 'high', want: 'failure' },
    { outcome: 'skipped', findings: [], gate: 'high', want: 'neutral' },
    { outcome: 'superseded', findings: [high], gate: 'high', want: 'neutral' },
    { outcome: 'failed', findings: [], gate: 'high', want: 'neutral' },
    { outcome: 'bad_settings', findings: [], gate: 'high', want: 'neutral' },
  ])('$outcome with $findings.length findings, gate $gate → $want', ({ outcome, findings, dismissed = [], gate, want }) => {
    expect(verdict(outcome, findings, new Set(dismissed), gate).conclusion).toBe(want);
  });
});

describe('finding comment', () => {
  it('carries the mode, the diagram, the steps, the test, the fix, the ignore hint and the marker', () => {
    const f = finding({ id: 'abc123' });
    const body = findingBody(f);
    expect(body).toContain('check-then-act race (`toctou`)');
    expect(body).toContain('```mermaid\nsequenceDiagram');
    expect(body).toContain('participant A as request A');
    expect(body).toContain('A->>R: T0: SELECT finds no charge');
    expect(body).toContain('1. T0 request A: SELECT finds no charge');
    expect(body).toContain('<details><summary>The test that would have caught it</summary>');
    expect(body).toContain('**Fix**');
    expect(body).toContain("- Don't widen the window.");
    expect(body).toContain('/concdbg ignore abc123 <reason>');
    expect(findingIdIn(body)).toBe('abc123');
  });

  it('stays under GitHub\'s size limit and keeps its marker', () => {
    const body = findingBody(finding({ id: 'big', explanation: 'x'.repeat(100_000) }));
    expect(body.length).toBeLessThanOrEqual(MAX_BODY);
    expect(findingIdIn(body)).toBe('big');
  });

  it('review body holds the job marker and the findings that could not be placed', () => {
    const body = reviewBody({ jobKey: 'o/r#1@sha/pull_request', headSha: 'abcdef0123', inline: [finding({ id: 'a' })], inBody: [finding({ id: 'b', line: 500 })] });
    expect(body).toContain('<!-- concdbg:job=o/r#1@sha/pull_request -->');
    expect(body).toContain('found 2 concurrency hazards');
    expect(body).toContain('src/api/charge.ts:500');
    expect(body).toContain('<!-- concdbg:finding=b -->');
  });
});

describe('sticky summary', () => {
  it('lists findings with status, resolved ones and skipped files, with the marker', () => {
    const s = summaryComment({
      headSha: 'abcdef0', conclusion: 'failure',
      findings: [{ finding: finding({ id: 'n1' }), status: 'new' }, { finding: finding({ id: 'd1' }), status: 'dismissed' }],
      resolved: ['old1'], skipped: [{ path: 'big.ts', reason: 'patch omitted' }],
    });
    expect(s).toContain('1 open finding at abcdef0');
    expect(s).toContain('| new |');
    expect(s).toContain('| dismissed |');
    expect(s).toContain('**Resolved since the last review:** `old1`');
    expect(s).toContain('`big.ts`: patch omitted');
    expect(s.endsWith(SUMMARY_MARKER)).toBe(true);
  });

  it('is shortened above 65,000 characters and keeps its marker', () => {
    const findings = Array.from({ length: 800 }, (_, i) => ({ finding: finding({ id: `id${i}`, title: 't'.repeat(200) }), status: 'new' as const }));
    const s = summaryComment({ headSha: 'abc', conclusion: 'failure', findings, resolved: [], skipped: [] });
    expect(s.length).toBeLessThanOrEqual(MAX_BODY);
    expect(s).toContain('shortened');
    expect(s).toContain(SUMMARY_MARKER);
  });
});

describe('annotations', () => {
  it('go out in batches of at most 50, dismissed findings left out', () => {
    const fs = Array.from({ length: 123 }, (_, i) => finding({ id: `x${i}`, line: i + 1, endLine: i + 1 }));
    const anns = annotationsOf(fs, new Set(['x0', 'x1', 'x2']));
    expect(anns).toHaveLength(120);
    expect(batches(anns).map((b) => b.length)).toEqual([50, 50, 20]);
    expect(anns[0]).toMatchObject({ path: 'src/api/charge.ts', start_line: 4, end_line: 4, annotation_level: 'failure' });
  });
});
