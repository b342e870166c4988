import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './run.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'concdbg-cli-'));

describe('bad usage and unreadable input exit 2 with one line and no stack trace', () => {
  const cases: Array<{ name: string; args: string[]; stdin?: Buffer | string; message: RegExp }> = [
    { name: 'no command', args: [], message: /missing command: review/ },
    { name: 'unknown command', args: ['audit'], message: /unknown command "audit"/ },
    { name: 'unknown flag', args: ['review', '--colour'], message: /colour/ },
    { name: 'bad format', args: ['review', '--format', 'xml', '-'], message: /--format must be one of text, json, markdown, sarif/ },
    { name: 'bad fail-on', args: ['review', '--fail-on', 'critical', '-'], message: /--fail-on must be one of none, low, medium, high/ },
    { name: 'missing file', args: ['review', path.join(tmp, 'nope.diff')], message: /cannot read .*nope\.diff: no such file/ },
    { name: 'directory instead of file', args: ['review', tmp], message: /is a directory/ },
    { name: 'root is not a directory', args: ['review', '--root', path.join(tmp, 'nope'), '-'], message: /--root .* is not a directory/ },
    { name: 'binary input', args: ['review', '-'], stdin: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2]), message: /binary, not a unified diff/ },
    { name: 'text that is not a diff', args: ['review', '-'], stdin: 'hello\nworld\n', message: /not a unified diff/ },
    { name: 'extra argument', args: ['review', 'a.diff', 'b.diff'], message: /unexpected argument "b.diff"/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await cli(c.args, { stdin: c.stdin });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(c.message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});

describe('help, version and empty input', () => {
  it('--help prints usage and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('concdbg review [FILE.diff | -]');
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an empty diff is reviewed as "nothing changed" and exits 0', async () => {
    const r = await cli(['review', '-', '--format', 'json'], { stdin: '' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 1, findings: [], stats: { files: 0 } });
  });

  it('a truncated hunk is reviewed as far as it is valid, with a warning on stderr', async () => {
    const diff = ['diff --git a/src/a.ts b/src/a.ts', '--- a/src/a.ts', '+++ b/src/a.ts', '@@ -1,2 +1,9 @@', ' import { db } from "./db";', '+export async function f() {', '+  await db.query("SELECT 1");', ''].join('\n');
    writeFileSync(path.join(tmp, 'trunc.diff'), diff);
    const r = await cli(['review', path.join(tmp, 'trunc.diff'), '--format', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*src\/a\.ts/);
    expect(JSON.parse(r.stdout).stats.hunks).toBe(1);
  });
});
