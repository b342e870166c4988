/** Terminal output: grouped by file, with the code lines, coloured on a TTY. */
import pc from 'picocolors';
import type { EngineOutput } from '../engine/review.js';
import { FAILURE_MODE_NAMES, type Finding, type Severity } from '../types.js';

export function formatText(result: Pick<EngineOutput, 'findings' | 'stats' | 'files'>, opts: { color: boolean }): string {
  const c = pc.createColors(opts.color);
  const sev: Record<Severity, (s: string) => string> = { high: c.red, medium: c.yellow, low: c.cyan };
  const out: string[] = [];
  const byFile = new Map<string, Finding[]>();
  for (const f of result.findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);

  for (const [file, findings] of byFile) {
    out.push(c.bold(c.underline(file)));
    const lines = result.files.find((s) => s.path === file)?.lines ?? [];
    for (const f of findings) {
      out.push('');
      out.push(`  ${sev[f.severity](f.severity.toUpperCase())} ${c.bold(f.failureMode)} (${FAILURE_MODE_NAMES[f.failureMode]}) ${c.dim(`lines ${f.line}-${f.endLine} · id ${f.id}`)}`);
      out.push(`  ${c.bold(f.title)}`);
      const width = String(f.endLine).length;
      for (let n = f.line; n <= f.endLine && n - f.line < 12; n++) {
        out.push(`  ${c.dim(String(n).padStart(width))} ${c.dim('|')} ${lines[n - 1] ?? ''}`);
      }
      out.push('', indent(f.explanation, 2));
      if (f.interleaving.length) out.push('', `  ${c.bold('How it breaks:')}`, ...f.interleaving.map((s) => `    ${s}`));
      out.push('', `  ${c.bold('Fix:')}`, indent(f.fix, 4));
      if (f.whatNotToDo.length) out.push('', `  ${c.bold('What not to do:')}`, ...f.whatNotToDo.map((w) => `    - ${w}`));
      out.push('', `  ${c.bold('Test that would have caught it:')}`, indent(f.missingTest, 4));
    }
    out.push('');
  }
  const s = result.stats;
  const total = result.findings.length;
  out.push(
    c.dim(
      `${total === 0 ? 'No concurrency hazards found' : `${total} finding${total === 1 ? '' : 's'}`} · ${s.relevantFiles}/${s.files} files relevant · ${s.hunks} hunks · ${s.candidates} candidates · ${s.ms} ms`,
    ),
  );
  return out.join('\n');
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');
}
