/**
 * From the PR's files (as the API lists them) to what the engine and the publisher need:
 * a unified diff rebuilt from the patches, the files that could not be reviewed (and why), and an
 * index of the lines GitHub accepts review comments on (right side, per hunk).
 */
import { parseDiff } from '../diff/parse.js';
import type { PrFile, ReviewComment } from './github.js';

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface PrDiff {
  /** The unified diff of every file with a patch. */
  diff: string;
  /** Files listed without a patch, or beyond the API's limit. */
  skipped: SkippedFile[];
  reviewable: PrFile[];
}

/** The three-dot (`a/`, `b/`) unified diff of the files whose patches GitHub returned. */
export function buildPrDiff(files: readonly PrFile[], opts: { truncatedAt?: number } = {}): PrDiff {
  const parts: string[] = [];
  const skipped: SkippedFile[] = [];
  const reviewable: PrFile[] = [];
  for (const f of files) {
    if (f.status === 'removed') continue;
    if (typeof f.patch !== 'string' || f.patch.length === 0) {
      if (f.changes === 0 && f.status !== 'added') continue; // a rename or mode change without content: nothing to review
      skipped.push({ path: f.filename, reason: f.changes > 0 ? 'patch omitted by GitHub (too large or binary)' : 'no textual changes' });
      continue;
    }
    reviewable.push(f);
    const oldPath = f.status === 'added' ? null : (f.previousFilename ?? f.filename);
    parts.push(
      `diff --git a/${oldPath ?? f.filename} b/${f.filename}`,
      ...(f.status === 'added' ? ['new file mode 100644'] : []),
      `--- ${oldPath === null ? '/dev/null' : `a/${oldPath}`}`,
      `+++ b/${f.filename}`,
      f.patch.endsWith('\n') ? f.patch.slice(0, -1) : f.patch,
    );
  }
  if (opts.truncatedAt !== undefined) skipped.push({ path: '(more files)', reason: `GitHub lists at most ${opts.truncatedAt} files of a pull request` });
  return { diff: parts.length ? parts.join('\n') + '\n' : '', skipped, reviewable };
}

/** Right-side lines of each file, mapped to the index of the hunk that shows them. */
export class CommentableLines {
  private readonly byPath = new Map<string, Map<number, number>>();

  constructor(files: readonly PrFile[]) {
    for (const f of files) {
      if (typeof f.patch !== 'string') continue;
      const parsed = parseDiff(`--- a/${f.filename}\n+++ b/${f.filename}\n${f.patch}${f.patch.endsWith('\n') ? '' : '\n'}`);
      const lines = new Map<number, number>();
      parsed.files[0]?.hunks.forEach((h, hunkIndex) => {
        for (const l of h.lines) if (l.newLine !== undefined && (l.kind === 'add' || l.kind === 'ctx')) lines.set(l.newLine, hunkIndex);
      });
      this.byPath.set(f.filename, lines);
    }
  }

  hunkOf(path: string, line: number): number | undefined {
    return this.byPath.get(path)?.get(line);
  }

  /**
   * Where an inline comment for lines [line, endLine] can go: a multi-line comment when both
   * ends are right-side lines of one hunk; a single-line comment on `line` (or else `endLine`)
   * when only one end is; undefined when neither is on the diff (the finding goes into the body).
   */
  place(path: string, line: number, endLine: number): Omit<ReviewComment, 'body'> | undefined {
    const a = this.hunkOf(path, line);
    const b = endLine !== line ? this.hunkOf(path, endLine) : undefined;
    if (a !== undefined && b !== undefined && a === b && endLine > line) {
      return { path, line: endLine, side: 'RIGHT', start_line: line, start_side: 'RIGHT' };
    }
    if (a !== undefined) return { path, line, side: 'RIGHT' };
    if (b !== undefined) return { path, line: endLine, side: 'RIGHT' };
    return undefined;
  }
}
