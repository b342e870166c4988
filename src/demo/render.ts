/**
 * Turns what the App posted on the fake GitHub into text a person reads in a terminal: the check
 * run, the review with each inline comment under the code lines it is anchored on, and the sticky
 * summary comment. Markdown is printed as-is; hidden HTML markers (invisible on GitHub) are left out.
 */
import type { FakeCheckRun, FakeFile, FakeIssueComment, FakePull, FakeReview } from '../testing/fake-github.js';

export interface Style {
  heading(s: string): string;
  dim(s: string): string;
  bad(s: string): string;
  good(s: string): string;
}

export const plainStyle: Style = { heading: (s) => s, dim: (s) => s, bad: (s) => s, good: (s) => s };

export interface Posted {
  pull: FakePull;
  checkRuns: FakeCheckRun[];
  reviews: FakeReview[];
  comments: FakeIssueComment[];
}

/** Drops `<!-- … -->` markers, which GitHub does not show, and the blank lines they leave. */
export function withoutHiddenMarkers(markdown: string): string {
  return markdown
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Right-side (new) line numbers of a patch and their text, with the +/space prefix kept. */
export function rightSideLines(patch: string | undefined): Map<number, string> {
  const lines = new Map<number, string>();
  if (!patch) return lines;
  let line = 0;
  let inHunk = false;
  for (const l of patch.split('\n')) {
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(l);
    if (h) {
      line = Number(h[1]);
      inHunk = true;
      continue;
    }
    if (!inHunk || l.startsWith('-') || l.startsWith('\\')) continue;
    lines.set(line++, l === '' ? ' ' : l);
  }
  return lines;
}

const rule = (title: string, style: Style) => style.heading(`── ${title} ${'─'.repeat(Math.max(3, 72 - title.length))}`);
const indent = (text: string, by = '  ') => text.split('\n').map((l) => (l ? by + l : l)).join('\n');

function codeExcerpt(file: FakeFile | undefined, start: number, end: number, style: Style): string {
  const lines = rightSideLines(file?.patch);
  const out: string[] = [];
  const width = String(end).length;
  for (let n = start; n <= end; n++) {
    const text = lines.get(n);
    if (text === undefined) continue;
    out.push(style.dim(`${String(n).padStart(width)} │ ${text}`));
  }
  return out.join('\n');
}

function conclusionText(run: FakeCheckRun, style: Style): string {
  const c = run.conclusion ?? '(none)';
  return c === 'failure' ? style.bad(c) : c === 'success' ? style.good(c) : c;
}

export function renderPosted(p: Posted, style: Style = plainStyle): string {
  const out: string[] = [];
  const files = p.pull.files;
  out.push(rule(`Pull request ${p.pull.repo}#${p.pull.number} at ${p.pull.headSha.slice(0, 7)}`, style));
  for (const f of files) out.push(`  ${f.status.padEnd(8)} ${f.filename} (+${f.additions} −${f.deletions})`);
  out.push('');

  for (const run of p.checkRuns) {
    out.push(rule(`Check run "${run.name}"`, style));
    out.push(`  status:     ${run.status}`);
    out.push(`  conclusion: ${conclusionText(run, style)}`);
    if (run.output?.title) out.push(`  title:      ${run.output.title}`);
    if (run.annotations.length) out.push(`  annotations: ${run.annotations.length}`);
    if (run.output?.summary) out.push('', indent(withoutHiddenMarkers(run.output.summary)));
    out.push('');
  }
  if (!p.checkRuns.length) out.push(rule('No check run was posted', style), '');

  for (const review of p.reviews) {
    out.push(rule(`Review by ${review.user.login} (${review.event}), ${review.comments.length} inline comment${review.comments.length === 1 ? '' : 's'}`, style));
    const body = withoutHiddenMarkers(review.body);
    if (body) out.push('', indent(body));
    out.push('');
    review.comments.forEach((c, i) => {
      const start = c.start_line ?? c.line;
      const where = start === c.line ? `${c.path}:${c.line}` : `${c.path}:${start}-${c.line}`;
      out.push(rule(`Inline comment ${i + 1}/${review.comments.length} on ${where}`, style));
      const code = codeExcerpt(files.find((f) => f.filename === c.path), start, c.line, style);
      if (code) out.push(indent(code), '');
      out.push(indent(withoutHiddenMarkers(c.body)), '');
    });
  }
  if (!p.reviews.length) out.push(rule('No review was posted (nothing to comment on inline)', style), '');

  for (const c of p.comments) {
    out.push(rule(`PR comment by ${c.user.login} (sticky summary)`, style));
    out.push('', indent(withoutHiddenMarkers(c.body)), '');
  }
  return out.join('\n');
}
