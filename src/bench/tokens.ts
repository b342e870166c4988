/**
 * LLM input tokens in dry-run mode over a folder of labeled cases, against the naive baseline of sending every
 * file's whole patch. Also checks that every bug case's labeled lines lie inside what would be sent.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { review } from '../engine/review.js';
import { dryRun, naiveBaselineTokens } from '../llm/index.js';

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
  for (const name of names) {
    const diff = await readFile(path.join(dir, name, 'pr.diff'), 'utf8').catch(() => undefined);
    if (diff === undefined) continue;
    const expect = JSON.parse(await readFile(path.join(dir, name, 'expect.json'), 'utf8')) as {
      kind: string;
      file: string | null;
      lines: [number, number] | null;
    };
    const out = await review(diff);
    const plan = dryRun({ candidates: out.candidates, files: out.files, config: {} });
    const naive = naiveBaselineTokens(diff);
    const sent = plan.requests.reduce((n, r) => n + r.estimate.dynamic, 0);
    const total = plan.requests.reduce((n, r) => n + r.estimate.total, 0);
    let hazard = '—';
    if (expect.kind === 'bug' && expect.file && expect.lines) {
      bugs++;
      const [a, b] = expect.lines;
      const inside = plan.requests.some((r) => r.regions.some((g) => g.file === expect.file && g.startLine <= b && g.endLine >= a));
      if (inside) covered++;
      hazard = inside ? 'yes' : 'NO';
    }
    naiveSum += naive;
    sentSum += sent;
    ratioSum += sent / naive;
    console.log(`| ${name} | ${naive} | ${sent} | ${total} | ${((100 * sent) / naive).toFixed(0)} % | ${hazard} |`);
  }
  console.log(
    `\nTotal: ${sentSum} of ${naiveSum} naive tokens (${((100 * sentSum) / naiveSum).toFixed(1)} %); mean per case ${((100 * ratioSum) / names.length).toFixed(1)} %; ` +
      `bug hazards inside what is sent: ${covered}/${bugs}. Target: ≤ 25 % of naive on average, every hazard sent.\n` +
      'The static system prompt and variant (cached after the first review) are counted in "sent + cached prompt" only.\n',
  );
}
