/**
 * Per-file memo for detector helpers. The engine runs every detector on one file before the next, so only
 * the last few files need their derived text (masked code, function views, database operations) kept:
 * holding them for the whole review made memory, and the garbage collector's work, grow with the diff.
 */
import type { SourceFile } from '../../parse/types.js';

/** A memo keyed by file that keeps the `capacity` most recently added files (oldest evicted first). */
export function recentFiles<T>(capacity = 4): { get(file: SourceFile): T | undefined; set(file: SourceFile, value: T): void } {
  const map = new Map<SourceFile, T>();
  return {
    get: (file) => map.get(file),
    set: (file, value) => {
      if (!map.has(file) && map.size >= capacity) map.delete(map.keys().next().value as SourceFile);
      map.set(file, value);
    },
  };
}
