import type { ReviewResult } from '../types.js';

/** The JSON contract: exactly { version, findings, stats }. */
export function formatJson(result: ReviewResult): string {
  const { version, findings, stats } = result;
  return JSON.stringify({ version, findings, stats }, null, 2);
}
