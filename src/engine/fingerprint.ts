import { createHash } from 'node:crypto';
import type { FailureMode } from '../types.js';

/**
 * A finding's id: a hash of the file, the failure mode and the key lines' text with white space folded.
 * Line numbers are left out on purpose, so the id survives unrelated edits above the hazard.
 */
export function fingerprint(file: string, mode: FailureMode, keyLines: readonly string[]): string {
  const h = createHash('sha256');
  h.update(file);
  h.update('\0');
  h.update(mode);
  for (const line of keyLines) {
    h.update('\0');
    h.update(line.replace(/\s+/g, ' ').trim());
  }
  return h.digest('hex').slice(0, 12);
}
