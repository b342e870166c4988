/**
 * Table tests for detectors, in the manner of ESLint's RuleTester: `valid` cases must stay quiet,
 * `invalid` cases must fire with the given mode and line, `todo` cases are known misses kept visible.
 * Each case's code becomes a new file in a diff (every line added), optionally beside other files
 * (a migration, the other path of a deadlock), and goes through the real engine.
 */
import { describe, expect, it } from 'vitest';
import { review } from '../../src/engine/review.js';
import type { Detector } from '../../src/detectors/types.js';
import { FAILURE_MODES, type FailureMode } from '../../src/types.js';

export interface CaseFile {
  path: string;
  code: string;
}

export interface TableCase {
  name: string;
  /** Path of the file under test; its language comes from the extension. */
  path: string;
  code: string;
  /** Other files in the same diff. */
  extra?: CaseFile[];
}

export interface InvalidCase extends TableCase {
  /** Expected findings of this detector: mode and the line that must lie within [line, endLine]. */
  errors: Array<{ mode: FailureMode; line: number }>;
}

export interface Table {
  valid: TableCase[];
  invalid: InvalidCase[];
  /** Should fire but does not yet (known misses): asserted to stay quiet, so a fix shows up as a failure to move it. */
  todo?: TableCase[];
}

/** Renders files as a `git diff` of new files. */
export function newFilesDiff(files: CaseFile[]): string {
  return files
    .map(({ path, code }) => {
      const lines = code.replace(/\n$/, '').split('\n');
      return [
        `diff --git a/${path} b/${path}`,
        'new file mode 100644',
        'index 0000000..1111111',
        '--- /dev/null',
        `+++ b/${path}`,
        `@@ -0,0 +1,${lines.length} @@`,
        ...lines.map((l) => `+${l}`),
      ].join('\n');
    })
    .join('\n')
    .concat('\n');
}

async function run(detector: Detector, c: TableCase) {
  const diff = newFilesDiff([{ path: c.path, code: c.code }, ...(c.extra ?? [])]);
  const out = await review(diff, { detectors: [detector] });
  return out.candidates.filter((f) => f.file === c.path && f.detector === detector.meta.id);
}

export function runTable(detector: Detector, table: Table): void {
  const names = [...table.valid, ...table.invalid, ...(table.todo ?? [])].map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`duplicate case name: ${dup}`);
  for (const c of table.invalid) {
    if (c.errors.length === 0) throw new Error(`invalid case "${c.name}" expects no finding`);
    for (const e of c.errors) if (!FAILURE_MODES.includes(e.mode)) throw new Error(`unknown mode ${e.mode} in "${c.name}"`);
  }

  describe(detector.meta.id, () => {
    describe('valid', () => {
      for (const c of table.valid) {
        it(c.name, async () => {
          expect(await run(detector, c)).toEqual([]);
        });
      }
    });
    describe('invalid', () => {
      for (const c of table.invalid) {
        it(c.name, async () => {
          const found = await run(detector, c);
          const got = found.map((f) => ({ mode: f.failureMode, line: f.line, endLine: f.endLine }));
          for (const e of c.errors) {
            expect(got, `expected ${e.mode} covering line ${e.line}`).toContainEqual(
              expect.objectContaining({ mode: e.mode }),
            );
            expect(got.some((g) => g.mode === e.mode && g.line <= e.line && e.line <= g.endLine), JSON.stringify(got)).toBe(true);
          }
          expect(found).toHaveLength(c.errors.length);
        });
      }
    });
    if (table.todo?.length) {
      describe('todo (known misses)', () => {
        for (const c of table.todo!) {
          it(c.name, async () => {
            expect(await run(detector, c)).toEqual([]);
          });
        }
      });
    }
  });
}
