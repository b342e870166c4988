/** One finding as GitHub-flavoured Markdown: used by the CLI's markdown output and by the App's comments. */
import { sequenceDiagram } from '../diagnose/mermaid.js';
import { FAILURE_MODE_NAMES, type Finding } from '../types.js';

export interface FindingMarkdownOptions {
  /** Include file and lines in the heading (the CLI does; an inline comment sits on the lines already). */
  location?: boolean;
  /** Heading level for the title (default 3). */
  level?: number;
}

export function findingMarkdown(f: Finding, opts: FindingMarkdownOptions = {}): string {
  const h = '#'.repeat(opts.level ?? 3);
  const where = opts.location ? ` — \`${f.file}:${f.line}${f.endLine !== f.line ? `-${f.endLine}` : ''}\`` : '';
  const parts = [
    `${h} ${f.title}${where}`,
    `**${FAILURE_MODE_NAMES[f.failureMode]}** (\`${f.failureMode}\`) · severity **${f.severity}** · confidence ${f.confidence.toFixed(2)} · source ${f.source}`,
    f.explanation,
  ];
  if (f.disputed) parts.push(`> **Disputed:** the LLM considers this harmless: ${f.disputed.llmView}\n> The detector's finding stands; a person decides.`);
  if (f.interleaving.length > 0) {
    parts.push('**How it breaks**', '```mermaid\n' + sequenceDiagram(f) + '\n```', f.interleaving.map((s, i) => `${i + 1}. ${s}`).join('\n'));
  }
  parts.push(
    `<details><summary>The test that would have caught it</summary>\n\n${fence(f.missingTest)}\n\n</details>`,
    `**Fix**\n\n${f.fix}`,
  );
  if (f.whatNotToDo.length > 0) parts.push(`**What not to do**\n\n${f.whatNotToDo.map((w) => `- ${w}`).join('\n')}`);
  parts.push(`<sub>Finding \`${f.id}\` · to dismiss: \`/concdbg ignore ${f.id} <reason>\`</sub>`);
  return parts.join('\n\n');
}

/** Wraps code in a fence unless it already carries one. */
function fence(code: string): string {
  return /^```/m.test(code) ? code : '```\n' + code + '\n```';
}
