import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAILURE_MODES } from '../../src/types.js';
import { cli } from './run.js';

const example = path.resolve(import.meta.dirname, '../../examples/duplicate-charge.diff');
const fixed = path.resolve(import.meta.dirname, '../../examples/duplicate-charge-fixed.diff');

const FINDING_KEYS = ['confidence', 'endLine', 'explanation', 'failureMode', 'file', 'fix', 'id', 'interleaving', 'line', 'missingTest', 'severity', 'source', 'title', 'whatNotToDo'];
const STATS_KEYS = ['bytes', 'candidates', 'files', 'hunks', 'llmInputTokens', 'llmOutputTokens', 'ms', 'relevantFiles'];

describe('the duplicate-charge example', () => {
  it('json: names toctou on the check and the insert, with the contract fields', async () => {
    const r = await cli(['review', example, '--format', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(['findings', 'stats', 'version']);
    expect(out.version).toBe(1);
    for (const k of STATS_KEYS) expect(typeof out.stats[k]).toBe('number');
    const toctou = out.findings.filter((f: { failureMode: string }) => f.failureMode === 'toctou');
    expect(toctou.length).toBeGreaterThan(0);
    const f = toctou[0];
    for (const k of FINDING_KEYS) expect(f).toHaveProperty(k);
    expect(f.file).toBe('src/api/charge.ts');
    // The SELECT (line 8-11) and the INSERT (line 20-23) are the hazard's key statements.
    expect(f.line).toBeLessThanOrEqual(12);
    expect(f.endLine).toBeGreaterThanOrEqual(8);
    expect(f.severity).toBe('high');
    expect(f.source).toBe('heuristic');
    expect(f.id).toMatch(/^[0-9a-f]{12}$/);
    expect(f.explanation).toMatch(/charges/);
    expect(f.missingTest).toMatch(/Promise\.all/);
    expect(f.missingTest).toMatch(/chargeCustomer/);
    expect(f.fix).toMatch(/UNIQUE|ON CONFLICT/i);
    expect(f.interleaving.length).toBeGreaterThanOrEqual(4);
  });

  it('ids are stable across runs', async () => {
    const a = JSON.parse((await cli(['review', example, '--format', 'json'])).stdout);
    const b = JSON.parse((await cli(['review', example, '--format', 'json'])).stdout);
    expect(a.findings.map((f: { id: string }) => f.id)).toEqual(b.findings.map((f: { id: string }) => f.id));
  });

  it('--fail-on none exits 0 even with findings', async () => {
    expect((await cli(['review', example, '--fail-on', 'none', '--format', 'json'])).code).toBe(0);
  });

  it('reads the diff from stdin with -', async () => {
    const { readFileSync } = await import('node:fs');
    const r = await cli(['review', '-', '--format', 'json'], { stdin: readFileSync(example) });
    expect(JSON.parse(r.stdout).findings.length).toBeGreaterThan(0);
  });

  it('markdown: a Mermaid sequence diagram, the steps as text, the test in a collapsible block', async () => {
    const r = await cli(['review', example, '--format', 'markdown']);
    expect(r.stdout).toContain('```mermaid\nsequenceDiagram');
    expect(r.stdout).toMatch(/\n1\. /);
    expect(r.stdout).toContain('<details><summary>The test that would have caught it</summary>');
    expect(r.stdout).toContain('/concdbg ignore ');
  });

  it('sarif: 2.1.0 with one rule per failure mode and results pointing at the diff lines', async () => {
    const r = await cli(['review', example, '--format', 'sarif']);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe('concdbg');
    expect(run.tool.driver.rules.map((x: { id: string }) => x.id)).toEqual([...FAILURE_MODES]);
    for (const rule of run.tool.driver.rules) expect(rule.help.text.length).toBeGreaterThan(20);
    const result = run.results.find((x: { ruleId: string }) => x.ruleId === 'toctou');
    expect(result.level).toBe('error');
    expect(result.locations[0].physicalLocation.artifactLocation.uri).toBe('src/api/charge.ts');
    expect(result.partialFingerprints.concdbgFindingId).toMatch(/^[0-9a-f]{12}$/);
  });

  it('text: grouped by file with the code lines; coloured only on a TTY', async () => {
    const plain = await cli(['review', example]);
    expect(plain.stdout).toContain('src/api/charge.ts');
    expect(plain.stdout).toMatch(/\d+ \| .*SELECT id FROM charges/);
    expect(plain.stdout).not.toMatch(/\u001b\[/);
    const tty = await cli(['review', example], { tty: true });
    expect(tty.stdout).toMatch(/\u001b\[/);
    const noColor = await cli(['review', example], { tty: true, env: { NO_COLOR: '1' } });
    expect(noColor.stdout).not.toMatch(/\u001b\[/);
  });
});

describe('the fixed twin (unique index + insert-then-process)', () => {
  it('is quiet and exits 0', async () => {
    const r = await cli(['review', fixed, '--format', 'json']);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
    expect(r.code).toBe(0);
  });
});
