import type { Language } from '../types.js';

/** A function (or method, or top-level block) on the new side of a file. Lines are 1-based. */
export interface FunctionSpan {
  name: string;
  startLine: number;
  endLine: number;
  async: boolean;
  /** Function text, lines startLine..endLine joined with "\n". */
  text: string;
}

/** Line numbers: membership and count are all the detectors ask of them. */
export interface LineSet {
  has(line: number): boolean;
  readonly size: number;
}

/**
 * One file on the new side, as the detectors see it.
 * Without --root the text is rebuilt from the hunks: lines the diff does not show are empty strings,
 * so line numbers stay true. With --root it is the whole file read from disk.
 */
export interface SourceFile {
  path: string;
  language: Language;
  /** lines[0] is line 1. */
  lines: string[];
  /** `lines` joined with "\n" (function spans are slices of it): read this instead of joining again. */
  text: string;
  /** New-side lines the diff shows (added and context). */
  shown: LineSet;
  /** New-side lines the diff adds. */
  added: LineSet;
  /** Whether `lines` is the whole file (from --root) rather than the hunks. */
  whole: boolean;
  /** Functions found by the parser, outermost first, in source order; nested functions are listed too. */
  functions: FunctionSpan[];
}

/** Facts about the schema gathered from every file of the diff (migrations, DDL in strings, model declarations). */
export interface SchemaFacts {
  /** table/model name (lower-case) -> unique column sets (lower-case column names). */
  unique: Map<string, string[][]>;
  /** tables with an exclusion constraint (lower-case). */
  exclusion: Set<string>;
}
