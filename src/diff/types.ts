/** A parsed unified diff, as `git diff` prints it. Line numbers are 1-based. */

export type DiffLineKind = 'add' | 'del' | 'ctx';

export interface DiffLine {
  kind: DiffLineKind;
  /** The line's text without the leading marker and without the line ending. */
  text: string;
  /** Line number on the old side (del and ctx lines). */
  oldLine?: number;
  /** Line number on the new side (add and ctx lines). */
  newLine?: number;
}

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Text after the second `@@` (often the enclosing function's signature). */
  section: string;
  lines: DiffLine[];
}

export type FileStatus = 'added' | 'deleted' | 'modified' | 'renamed' | 'copied' | 'mode-only';

export interface DiffFile {
  /** Path on the old side, without the `a/` prefix; null for new files. */
  oldPath: string | null;
  /** Path on the new side, without the `b/` prefix; null for deleted files. */
  newPath: string | null;
  status: FileStatus;
  binary: boolean;
  hunks: Hunk[];
}

export interface DiffParseResult {
  files: DiffFile[];
  /** Non-fatal problems (e.g. a truncated hunk), one line each. */
  warnings: string[];
}
