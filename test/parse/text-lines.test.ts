import { describe, expect, it } from 'vitest';
import { TextLines } from '../../src/parse/text-lines.js';

describe('TextLines', () => {
  const lines = ['a', '', 'ccc', 'dd'];
  const src = TextLines.of(lines);

  it('slices line ranges exactly as joining the lines would', () => {
    for (let from = 1; from <= lines.length; from++) {
      for (let to = from; to <= lines.length; to++) expect(src.slice(from, to)).toBe(lines.slice(from - 1, to).join('\n'));
    }
  });

  it('maps offsets to 1-based lines (a newline belongs to the line it ends)', () => {
    const text = src.text;
    for (let i = 0; i < text.length; i++) expect(src.lineAt(i)).toBe(text.slice(0, i).split('\n').length);
    expect(src.count).toBe(4);
  });

  it('keeps a trailing empty line and clamps ranges past the end', () => {
    const t = new TextLines('x\n');
    expect(t.count).toBe(2);
    expect(t.slice(1, 2)).toBe('x\n');
    expect(t.slice(2, 5)).toBe('');
    expect(new TextLines('').slice(1, 1)).toBe('');
  });
});
