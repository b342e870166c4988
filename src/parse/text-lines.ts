/**
 * A file's text with its line starts: line numbers for offsets, and line ranges as slices of the one text, so
 * the spans of a file share its characters instead of each holding a copy.
 */
export class TextLines {
  private readonly starts: Uint32Array;

  constructor(readonly text: string) {
    let count = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
    this.starts = new Uint32Array(count);
    let n = 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts[n++] = i + 1;
  }

  static of(lines: readonly string[]): TextLines {
    return new TextLines(lines.join('\n'));
  }

  get count(): number {
    return this.starts.length;
  }

  /** 1-based line holding `offset`. */
  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  /** Offset where 1-based `line` starts (the text's length past the last line). */
  startOf(line: number): number {
    return line - 1 < this.starts.length ? this.starts[Math.max(0, line - 1)]! : this.text.length;
  }

  /** Lines `from`..`to` (1-based, inclusive) joined with "\n", without the last line's newline. */
  slice(from: number, to: number): string {
    const end = to < this.starts.length ? this.starts[to]! - 1 : this.text.length;
    return this.text.slice(this.startOf(from), Math.max(this.startOf(from), end));
  }
}
