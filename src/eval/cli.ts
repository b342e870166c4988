/**
 * `npm run eval -- DIR [--min-recall R] [--min-mode M] [--max-false-alarms N] [--json]`
 * Prints a line per case and the scores; exits 1 below the targets, 2 on bad input.
 */
import { parseArgs } from 'node:util';
import { evaluate, summarize, type CaseResult } from './score.js';

function line(r: CaseResult): string {
  const got = r.findings.map((f) => `${f.failureMode}@${f.file}:${f.line}-${f.endLine}`).join(', ') || 'nothing';
  if (r.expect.kind === 'clean') return `${r.falseAlarms === 0 ? 'ok  ' : 'FAIL'} ${r.name} clean: ${r.falseAlarms === 0 ? 'quiet' : `false alarm: ${got}`}`;
  const want = `${r.expect.failure_mode}@${r.expect.file}:${r.expect.lines?.join('-')}`;
  const status = r.found ? (r.modeRight ? 'ok  ' : 'MODE') : 'MISS';
  return `${status} ${r.name} want ${want}; got ${got}`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'min-recall': { type: 'string', default: '0.9' },
      'min-mode': { type: 'string', default: '0.85' },
      'max-false-alarms': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = positionals[0];
  if (!dir) {
    process.stderr.write('usage: npm run eval -- DIR [--min-recall 0.9] [--min-mode 0.85] [--max-false-alarms 0] [--json]\n');
    return 2;
  }
  const results = await evaluate(dir, values.json ? undefined : (r) => process.stdout.write(`${line(r)}\n`));
  if (results.length === 0) {
    process.stderr.write(`eval: no cases (NNN-slug/pr.diff + expect.json) in ${dir}\n`);
    return 2;
  }
  const s = summarize(results);
  const minRecall = Number(values['min-recall']);
  const minMode = Number(values['min-mode']);
  const maxFalse = Number(values['max-false-alarms']);
  const pass = s.recall >= minRecall && s.modeAccuracy >= minMode && s.falseAlarms <= maxFalse;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...s, pass, cases: results.map((r) => ({ name: r.name, found: r.found, modeRight: r.modeRight, falseAlarms: r.falseAlarms })) }, null, 2)}\n`);
  } else {
    process.stdout.write(
      `\nrecall ${s.recall.toFixed(2)} (${s.found}/${s.bugs}, target ≥ ${minRecall}) · mode right ${s.modeAccuracy.toFixed(2)} (${s.modeRight}/${s.found}, target ≥ ${minMode})\n` +
        `false alarms ${s.falseAlarms} on ${s.clean} clean cases (target ≤ ${maxFalse}) · ${pass ? 'PASS' : 'FAIL'}\n`,
    );
  }
  return pass ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`eval: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
