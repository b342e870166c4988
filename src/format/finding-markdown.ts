/** One finding as GitHub-flavoured Markdown: the CLI's markdown output and the App's comments share it. */
import { fenceOf } from '../diagnose/common.js';
import { sequenceDiagram } from '../diagnose/mermaid.js';
import { languageOf } from '../diff/relevance.js';
import { FAILURE_MODE_NAMES, type FailureMode, type Finding } from '../types.js';

export type DiagramFn = (f: Finding) => string;

export interface FindingMarkdownOptions {
  /** Put file and lines in the first line (the CLI does; an inline comment sits on the lines already). */
  location?: boolean;
  /** Renders the interleaving as a Mermaid sequence diagram (the diagnosis layer's renderer by default). */
  diagram?: DiagramFn;
}


export function modeLabel(mode: FailureMode): string {
  return `${FAILURE_MODE_NAMES[mode]} (\`${mode}\`)`;
}

export function findingMarkdown(f: Finding, opts: FindingMarkdownOptions = {}): string {
  const lang = fenceOf(languageOf(f.file));
  const where = opts.location ? ` · \`${f.file}:${f.line}${f.endLine !== f.line ? `-${f.endLine}` : ''}\`` : '';
  const parts = [`**concdbg · ${modeLabel(f.failureMode)} · ${f.severity}**${where} — ${f.title}`, '', f.explanation.trim()];
  if (f.interleaving.length) {
    const chart = (opts.diagram ?? sequenceDiagram)(f);
    parts.push('', '**How it breaks**');
    if (chart) parts.push('', '```mermaid', chart, '```');
    parts.push('', '<details><summary>The interleaving, step by step</summary>', '', ...f.interleaving.map((s, i) => `${i + 1}. ${s}`), '', '</details>');
  }
  if (f.missingTest.trim()) parts.push('', '<details><summary>The test that would have caught it</summary>', '', fence(f.missingTest, lang), '', '</details>');
  if (f.fix.trim()) parts.push('', '**Fix**', '', f.fix.trim());
  if (f.whatNotToDo.length) parts.push('', '**What not to do**', '', ...f.whatNotToDo.map((w) => `- ${w}`));
  if (f.disputed) parts.push('', `> The LLM disputes this finding: ${f.disputed.llmView}`);
  parts.push(
    '',
    `<sub>Finding \`${f.id}\` · ${f.source === 'llm' ? 'LLM diagnosis' : 'detector'} · confidence ${f.confidence.toFixed(2)}. Not a problem here? Reply \`/concdbg ignore ${f.id} <reason>\`.</sub>`,
  );
  return parts.join('\n');
}

/** Wraps code in a fence unless it already carries one. */
function fence(text: string, lang: string): string {
  const t = text.trim();
  return t.includes('```') ? t : `\`\`\`${lang}\n${t}\n\`\`\``;
}
