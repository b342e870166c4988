import type { ReviewResult } from '../types.js';
import { findingMarkdown } from './finding-markdown.js';

export function formatMarkdown(result: ReviewResult): string {
  const { findings, stats } = result;
  const head = `## concdbg: ${findings.length === 0 ? 'no concurrency hazards found' : `${findings.length} concurrency hazard${findings.length === 1 ? '' : 's'}`}`;
  const scope = `Reviewed ${stats.relevantFiles} of ${stats.files} files (${stats.hunks} hunks); ${stats.candidates} candidates.`;
  return [head, scope, ...findings.map((f) => findingMarkdown(f, { location: true }))].join('\n\n') + '\n';
}
