/**
 * `npm run demo` end to end: the real app process against the fake GitHub, run through the demo's
 * own entry function, checked on what it prints.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/demo.js';
import { rightSideLines, withoutHiddenMarkers } from '../../src/demo/render.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => { text += d.toString(); });
  return { stream, text: () => text };
}

const demoDirs = () => new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('concdbg-demo-')));

describe('npm run demo', () => {
  it('prints the failing check, the toctou inline comment on src/api/charge.ts with its Mermaid diagram, and the summary', async () => {
    const before = demoDirs();
    const out = sink();
    const err = sink();
    const code = await runDemo({ out: out.stream, err: err.stream, color: false, timeoutMs: 60_000 });
    const text = out.text();
    expect(code, err.text()).toBe(0);

    expect(text).toMatch(/Check run "concdbg"[\s\S]*status: +completed[\s\S]*conclusion: failure/);
    const inline = text.split(/(?=── Inline comment )/).filter((s) => s.startsWith('── Inline comment '));
    expect(inline.length).toBeGreaterThanOrEqual(1);
    const toctou = inline.filter((s) => /^── Inline comment \d+\/\d+ on src\/api\/charge\.ts:\d+/.test(s) && s.includes('(`toctou`)'));
    expect(toctou).toHaveLength(1);
    expect(toctou[0]).toContain('```mermaid\n');
    expect(toctou[0]).toContain('sequenceDiagram');
    // The code line the comment is anchored on is shown above it.
    expect(toctou[0]).toMatch(/\n {2}\d+ │ \+/);
    expect(text).toContain('(sticky summary)');
    // Hidden markers are not what a reader sees.
    expect(text).not.toContain('<!--');
    expect(err.text()).toMatch(/done in [\d.]+ s/);

    // Its temporary folder (SQLite file) is gone.
    const left = [...demoDirs()].filter((d) => !before.has(d));
    expect(left).toEqual([]);
  }, 90_000);

  it('fails with one clear line when the example cannot be read, and cleans up', async () => {
    const out = sink();
    const err = sink();
    const code = await runDemo({ out: out.stream, err: err.stream, color: false, diffPath: '/nonexistent/concdbg-demo.diff' });
    expect(code).toBe(1);
    expect(out.text()).toBe('');
    const lines = err.text().trim().split('\n');
    expect(lines.at(-1)).toMatch(/^concdbg demo: failed: .*no such file/);
  });

  it('stops at once when aborted (Ctrl-C)', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = sink();
    const code = await runDemo({ out: sink().stream, err: err.stream, color: false, signal: ac.signal });
    expect(code).toBe(130);
    expect(err.text()).toContain('interrupted');
  });
});

describe('demo rendering helpers', () => {
  it('maps right-side line numbers of a patch to their text, skipping removed lines', () => {
    const lines = rightSideLines('@@ -2,3 +2,4 @@ head\n a\n-b\n+c\n+d\n e');
    expect([...lines.entries()]).toEqual([[2, ' a'], [3, '+c'], [4, '+d'], [5, ' e']]);
    expect(rightSideLines(undefined).size).toBe(0);
  });

  it('drops hidden HTML markers and the blank lines they leave', () => {
    expect(withoutHiddenMarkers('<!-- concdbg:job=x -->\n**title**\n\n\n<!-- m -->\nbody')).toBe('**title**\n\nbody');
  });
});

