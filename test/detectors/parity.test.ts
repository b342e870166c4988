/**
 * Every detector file is registered, documented and tested, and every "Incorrect" example in its doc
 * really fires while every "Correct" example stays quiet.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectors } from '../../src/detectors/index.js';
import type { Detector } from '../../src/detectors/types.js';
import { review } from '../../src/engine/review.js';
import { newFilesDiff } from './tester.js';

const root = path.resolve(import.meta.dirname, '../..');
const registry = detectors as Record<string, Detector>;
const files = readdirSync(path.join(root, 'src/detectors'))
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'types.ts')
  .map((f) => f.replace(/\.ts$/, ''));

const FENCE_EXT: Record<string, string> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', python: 'py', py: 'py', go: 'go', ruby: 'rb', rb: 'rb', sql: 'sql' };

/** Code blocks that follow a line containing **Incorrect** or **Correct** (until the next such marker). */
function examples(doc: string): Array<{ kind: 'incorrect' | 'correct'; ext: string; code: string }> {
  const out: Array<{ kind: 'incorrect' | 'correct'; ext: string; code: string }> = [];
  let kind: 'incorrect' | 'correct' | undefined;
  const re = /\*\*(Incorrect|Correct)\*\*|```(\w+)\n([\s\S]*?)```/g;
  for (const m of doc.matchAll(re)) {
    if (m[1]) kind = m[1] === 'Incorrect' ? 'incorrect' : 'correct';
    else if (kind && m[2] && FENCE_EXT[m[2]]) out.push({ kind, ext: FENCE_EXT[m[2]]!, code: m[3]! });
  }
  return out;
}

describe('detector parity', () => {
  it('has at least one detector per failure mode', () => {
    const modes = new Set(Object.values(registry).map((d) => d.meta.failureMode));
    expect([...modes].sort()).toEqual(
      ['async_ordering', 'deadlock', 'eventual_consistency', 'lost_update', 'message_ordering', 'phantom_read', 'toctou', 'write_skew'],
    );
  });

  it('registry is alphabetical and every file is registered under its own id', () => {
    const keys = Object.keys(registry);
    expect(keys).toEqual([...keys].sort());
    expect(keys.sort()).toEqual([...files].sort());
    for (const [key, d] of Object.entries(registry)) expect(d.meta.id).toBe(key);
  });

  for (const id of files) {
    describe(id, () => {
      const d = registry[id];
      it('has a doc, a table test and a docs path in its meta', () => {
        expect(d, `${id} is not registered`).toBeDefined();
        expect(d!.meta.docs).toBe(`docs/detectors/${id}.md`);
        expect(existsSync(path.join(root, d!.meta.docs)), `missing ${d!.meta.docs}`).toBe(true);
        expect(existsSync(path.join(root, `test/detectors/${id}.test.ts`)), `missing test/detectors/${id}.test.ts`).toBe(true);
      });

      it('fires on every Incorrect example in its doc and stays quiet on every Correct one', async () => {
        const doc = readFileSync(path.join(root, `docs/detectors/${id}.md`), 'utf8');
        const ex = examples(doc);
        expect(ex.some((e) => e.kind === 'incorrect'), 'the doc needs an **Incorrect** example').toBe(true);
        for (const [i, e] of ex.entries()) {
          if (e.ext === 'sql') continue; // DDL in docs illustrates the fix
          const file = `example${i}.${e.ext}`;
          const out = await review(newFilesDiff([{ path: file, code: e.code }]), { detectors: [d!] });
          const fired = out.candidates.filter((c) => c.detector === id).length;
          if (e.kind === 'incorrect') expect(fired, `Incorrect example ${i} should fire`).toBeGreaterThan(0);
          else expect(fired, `Correct example ${i} should stay quiet`).toBe(0);
        }
      });
    });
  }
});
