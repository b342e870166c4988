/**
 * Scores the offline engine on a folder of labeled cases (`NNN-slug/pr.diff` + `expect.json`).
 * A bug case is found when a finding lies on its file within its lines ± 3; the mode is right when one of
 * those findings has the labeled mode; any finding on a clean case is a false alarm.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { review } from '../engine/review.js';
import { FAILURE_MODES, type Finding } from '../types.js';

const Expect = z.object({
  kind: z.enum(['bug', 'clean']),
  failure_mode: z.enum([...FAILURE_MODES, 'none']),
  file: z.string().nullable(),
  lines: z.tuple([z.number().int(), z.number().int()]).nullable(),
  title: z.string().optional(),
});
type Expect = z.infer<typeof Expect>;

export interface CaseResult {
  name: string;
  expect: Expect;
  findings: Finding[];
  found: boolean;
  modeRight: boolean;
  falseAlarms: number;
}

export interface Score {
  bugs: number;
  found: number;
  modeRight: number;
  clean: number;
  falseAlarms: number;
  recall: number;
  modeAccuracy: number;
}

const SLACK = 3;

export function scoreCase(name: string, expect: Expect, findings: Finding[]): CaseResult {
  if (expect.kind === 'clean') {
    return { name, expect, findings, found: false, modeRight: false, falseAlarms: findings.length };
  }
  const [start, end] = expect.lines ?? [0, 0];
  const hits = findings.filter((f) => f.file === expect.file && f.line <= end + SLACK && f.endLine >= start - SLACK);
  return {
    name,
    expect,
    findings,
    found: hits.length > 0,
    modeRight: hits.some((f) => f.failureMode === expect.failure_mode),
    falseAlarms: 0,
  };
}

export function summarize(results: CaseResult[]): Score {
  const bugs = results.filter((r) => r.expect.kind === 'bug');
  const found = bugs.filter((r) => r.found).length;
  const modeRight = bugs.filter((r) => r.found && r.modeRight).length;
  return {
    bugs: bugs.length,
    found,
    modeRight,
    clean: results.length - bugs.length,
    falseAlarms: results.reduce((n, r) => n + r.falseAlarms, 0),
    recall: bugs.length ? found / bugs.length : 1,
    modeAccuracy: found ? modeRight / found : 1,
  };
}

export async function evaluate(dir: string, onCase?: (r: CaseResult) => void): Promise<CaseResult[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const results: CaseResult[] = [];
  for (const name of entries) {
    const caseDir = path.join(dir, name);
    let expect: Expect;
    let diff: Buffer;
    try {
      expect = Expect.parse(JSON.parse(await readFile(path.join(caseDir, 'expect.json'), 'utf8')));
      diff = await readFile(path.join(caseDir, 'pr.diff'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // not a case folder
      throw new Error(`${name}: ${err instanceof z.ZodError ? 'expect.json does not match the label format' : (err as Error).message}`);
    }
    const { findings } = await review(diff);
    const r = scoreCase(name, expect, findings);
    results.push(r);
    onCase?.(r);
  }
  return results;
}

