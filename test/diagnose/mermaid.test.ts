import { describe, expect, it } from 'vitest';
import { diagnoseOffline } from '../../src/diagnose/offline.js';
import { mermaidText, sequenceDiagram } from '../../src/diagnose/mermaid.js';
import type { Finding } from '../../src/types.js';
import { FIXTURES } from './fixtures.js';

function finding(name: string): { f: Finding; fx: (typeof FIXTURES)[number] } {
  const fx = FIXTURES.find((x) => x.name.startsWith(name))!;
  return { f: { id: 'x', ...diagnoseOffline(fx.candidate, { fileText: fx.fileText }) }, fx };
}

/** Message text of a diagram line: everything after the first ": ". */
function messages(d: string): string[] {
  return d
    .split('\n')
    .slice(1)
    .filter((l) => /->>|Note over/.test(l))
    .map((l) => l.slice(l.indexOf(':') + 1));
}

describe('sequenceDiagram', () => {
  it('declares A, B and the shared resource and draws one line per step', () => {
    const { f, fx } = finding('toctou ts pg');
    const d = sequenceDiagram(f, fx.candidate);
    const lines = d.split('\n');
    expect(lines[0]).toBe('sequenceDiagram');
    expect(lines[1]).toBe('  participant A as request A');
    expect(lines[2]).toBe('  participant B as request B');
    expect(lines[3]).toMatch(/^ {2}participant R as charges \((database|external API)\)$/);
    expect(lines.length).toBe(4 + f.interleaving.length);
    // The fixture is check-then-insert's report on examples/duplicate-charge.diff: the SELECT is on line 9.
    expect(d).toContain('A->>R: T0 line 9:');
    expect(d).toContain('B->>R: T1 line 9:');
    expect(lines[lines.length - 1]).toMatch(/Note over A,R: Result:/);
  });

  it('escapes characters Mermaid chokes on in every message', () => {
    for (const fx of FIXTURES) {
      const f: Finding = { id: 'x', ...diagnoseOffline(fx.candidate, { fileText: fx.fileText }) };
      const d = sequenceDiagram(f, fx.candidate);
      for (const m of messages(d)) {
        expect(m).not.toMatch(/[;#"<>`]/);
        expect(m.trim().length).toBeGreaterThan(0);
      }
      for (const l of d.split('\n').slice(1)) expect(l).toMatch(/^ {2}(participant [ABR] as .+|[AB]->>R: .+|Note over [A-Z],[A-Z]: .+)$/);
    }
  });

  it('names the resource by variant: queue for message ordering, cache for a cached stale read', () => {
    const q = finding('message_ordering ts');
    expect(sequenceDiagram(q.f, q.fx.candidate)).toContain('participant R as appointment-reminders (queue)');
    expect(sequenceDiagram(q.f, q.fx.candidate)).toContain('participant A as worker A');
    const c = finding('eventual_consistency ts');
    const d = sequenceDiagram(c.f, c.fx.candidate);
    expect(d).toContain('(cache)');
    expect(d).toContain('participant B as cache');
    expect(d).toMatch(/B->>R: T1: still holds account:\{id\}/);
  });

  it('works without the candidate, taking actors from the step labels', () => {
    const { f } = finding('deadlock go');
    const d = sequenceDiagram(f);
    expect(d).toContain('participant A as goroutine A');
    expect(d).toContain('participant B as goroutine B');
    expect(d).toMatch(/A->>R: T0 line 27: locks s\.mu/);
  });

  it('mermaidText replaces separators, comments, quotes and angle brackets', () => {
    expect(mermaidText('a; b # c "d" <e> `f`\nnext')).toBe("a, b ＃ c 'd' ‹e› 'f' next");
  });
});
