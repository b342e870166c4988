/**
 * LLM input tokens in dry-run mode over a folder of labeled cases, against the naive baseline of sending every
 * file's whole patch. Also checks that every bug case's labeled lines lie inside what would be sent.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { review } from '../engine/review.js';
import { DEFAULT_PLAN_SETTINGS, naiveBaselineTokens, planRequests } from '../llm/index.js';

export async function benchTokens(dir: string): Promise<void> {
  const names = (await readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  console.log(`## LLM input tokens, dry run over ${dir}\n`);
  if (names.length === 0) {
    console.log(`no cases in ${dir} (pass a folder of NNN-slug/pr.diff + expect.json: npm run bench -- tokens DIR)\n`);
    return;
  }
  console.log('| case | naive | sent (per review) | sent + cached prompt | ratio | hazard sent |');
  console.log('|---|---:|---:|---:|---:|---|');
  let naiveSum = 0;
  let sentSum = 0;
  let ratioSum = 0;
  let bugs = 0;
  let covered = 0;
  let withCandidates = 0;
  let ratioWithCandidates = 0;
  for (const name of names) {
    const diff = await readFile(path.join(dir, name, 'pr.diff'), 'utf8').catch(() => undefined);
    if (diff === undefined) continue;
    const expect = JSON.parse(await readFile(path.join(dir, name, 'expect.json'), 'utf8')) as {
      kind: string;
      file: string | null;
      lines: [number, number] | null;
    };
    const out = await review(diff);
    // What `--dry-run` prints (the same planner and defaults), with the regions' text for the hazard check.
    const plan = planRequests(out.candidates, out.files, DEFAULT_PLAN_SETTINGS);
    const naive = naiveBaselineTokens(diff);
    const sent = plan.requests.reduce((n, r) => n + r.estimate.dynamic, 0);
    const total = plan.requests.reduce((n, r) => n + r.estimate.total, 0);
    let hazard = '—';
    if (expect.kind === 'bug' && expect.file && expect.lines) {
      bugs++;
      const [a, b] = expect.lines;
      // A labelled line counts only when it is printed as a row (not merely inside a region's range, behind a "⋮").
      const inside = plan.requests.some((r) =>
        r.regions.some((g) => g.file === expect.file && g.startLine <= b && g.endLine >= a && printedRows(g.text).some((n) => a <= n && n <= b)),
      );
      if (inside) covered++;
      hazard = inside ? 'yes' : 'NO';
    }
    naiveSum += naive;
    sentSum += sent;
    ratioSum += sent / naive;
    if (plan.requests.length > 0) {
      withCandidates++;
      ratioWithCandidates += sent / naive;
    }
    console.log(`| ${name} | ${naive} | ${sent} | ${total} | ${((100 * sent) / naive).toFixed(0)} % | ${hazard} |`);
  }
  console.log(
    `\nTotal: ${sentSum} of ${naiveSum} naive tokens (${((100 * sentSum) / naiveSum).toFixed(1)} %); mean per case ${((100 * ratioSum) / names.length).toFixed(1)} %; ` +
      `bug hazards inside what is sent: ${covered}/${bugs}. Target: ≤ 25 % of naive on average, every hazard sent.\n` +
      `Mean over the ${withCandidates} case(s) with candidates: ${withCandidates ? ((100 * ratioWithCandidates) / withCandidates).toFixed(1) : '0.0'} %.\n` +
      'The static system prompt and variant (cached after the first review) are counted in "sent + cached prompt" only.\n',
  );
}

/** New-side line numbers of the rows a region prints ("12+ code", "12  code", "12 code"; not "⋮"). */
function printedRows(text: string): number[] {
  return text
    .split('\n')
    .map((row) => /^(\d+)(?:[+ ]|$)/.exec(row)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
}
