import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, globToRegExp, parseSettings, pathFilter } from '../../src/app/settings.js';
import { settingsReference } from '../../src/app/settings-doc.js';

const table: Array<{ name: string; input: string | null; valid: boolean; errorContains?: string; line?: number }> = [
  { name: 'no file', input: null, valid: true },
  { name: 'empty file', input: '', valid: true },
  { name: 'comments only', input: '# nothing\n', valid: true },
  { name: 'full file', input: 'paths:\n  include: ["src/**"]\n  exclude: ["**/*.test.ts"]\nlanguages: [typescript, sql]\nmodes: [toctou, lost_update]\nminConfidence: 0.7\ngate: medium\ndrafts: true\nautoReview:\n  onOpen: true\n  onPush: false\nfocus: database\nllm:\n  enabled: false\n  maxInputTokens: 5000\n', valid: true },
  { name: 'unknown top-level key', input: 'gate: high\ngates: low\n', valid: false, errorContains: 'unknown key "gates"', line: 2 },
  { name: 'unknown nested key', input: 'paths:\n  include: ["a/**"]\n  inclde: ["b"]\n', valid: false, errorContains: 'paths.inclde: unknown key', line: 3 },
  { name: 'bad gate value', input: 'drafts: false\ngate: urgent\n', valid: false, errorContains: 'gate', line: 2 },
  { name: 'confidence above 1', input: 'minConfidence: 3\n', valid: false, errorContains: 'minConfidence', line: 1 },
  { name: 'unknown mode', input: 'modes:\n  - toctou\n  - races\n', valid: false, errorContains: 'modes.1', line: 3 },
  { name: 'wrong type', input: 'drafts: "yes"\n', valid: false, errorContains: 'drafts', line: 1 },
  { name: 'not YAML', input: 'gate: [high\n', valid: false, errorContains: 'not valid YAML' },
  { name: 'top level is a list', input: '- gate\n', valid: false, errorContains: '(top level)' },
  { name: 'unknown focus', input: 'focus: databse\n', valid: false, errorContains: 'focus', line: 1 },
  { name: 'llm budget too small', input: 'llm:\n  maxInputTokens: 10\n', valid: false, errorContains: 'llm.maxInputTokens', line: 2 },
  { name: 'duplicate key', input: 'gate: high\ngate: low\n', valid: false, errorContains: 'not valid YAML' },
];

describe('parseSettings', () => {
  it.each(table)('$name', ({ input, valid, errorContains, line }) => {
    const r = parseSettings(input);
    expect(r.ok).toBe(valid);
    if (!r.ok) {
      expect(r.error).toContain(errorContains);
      expect(r.error).toContain('.github/concdbg.yml');
      if (line !== undefined) expect(r.line).toBe(line);
    }
  });

  it('gives the documented defaults', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ gate: 'high', minConfidence: 0.5, drafts: false, autoReview: { onOpen: true, onPush: true }, llm: { enabled: true } });
    const r = parseSettings('gate: low\n');
    expect(r.ok && r.settings.paths.include).toEqual(['**']);
  });
});

describe('path filter', () => {
  it.each([
    ['src/**', 'src/a/b.ts', true],
    ['src/**', 'lib/a.ts', false],
    ['**/*.sql', 'db/m/001.sql', true],
    ['*.sql', 'db/m/001.sql', true],
    ['src/*.ts', 'src/a/b.ts', false],
    ['src/{api,jobs}/**', 'src/jobs/x.py', true],
    ['src/{api,jobs}/**', 'src/web/x.py', false],
  ])('%s matches %s: %s', (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected);
  });

  it('applies include, exclude and languages', () => {
    const r = parseSettings('paths:\n  include: ["src/**"]\n  exclude: ["**/*.test.ts"]\nlanguages: [typescript]\n');
    if (!r.ok) throw new Error(r.error);
    const keep = pathFilter(r.settings);
    expect(keep('src/api/charge.ts')).toBe(true);
    expect(keep('src/api/charge.test.ts')).toBe(false);
    expect(keep('src/jobs/worker.py')).toBe(false);
    expect(keep('scripts/x.ts')).toBe(false);
  });
});

describe('settings reference', () => {
  it('documents every key of the schema', () => {
    const doc = settingsReference();
    for (const key of ['paths.include', 'paths.exclude', 'languages', 'modes', 'minConfidence', 'gate', 'drafts', 'autoReview.onOpen', 'autoReview.onPush', 'focus', 'llm.enabled', 'llm.maxInputTokens']) {
      expect(doc).toContain(`| \`${key}\` |`);
    }
    expect(doc).toContain('`"high"`');
  });
});
