/**
 * Token estimates without a tokenizer: ceil(characters / 4), the usual rule of thumb for English
 * and code with Claude's tokenizers. It is used to rank and cut candidates to the budget before
 * anything is sent, and by the benchmark; the real counts come back in the API's `usage`.
 */
import type { DiffFile } from '../diff/types.js';

export const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** What a request is made of, for estimates (see request.ts). */
export interface RequestParts {
  system: ReadonlyArray<{ text: string }>;
  /** Every user/assistant message text, concatenated. */
  messages: ReadonlyArray<{ content: string | ReadonlyArray<{ type: string; text?: string }> }>;
  /** JSON schema of the structured output (counts as input). */
  schema?: unknown;
}

export interface TokenEstimate {
  /** System prompt + variant + schema: identical across reviews, served from the prompt cache after the first. */
  static: number;
  /** Candidates and code regions of this review. */
  dynamic: number;
  total: number;
}

/** Estimated input tokens of a request, split into the cacheable static part and the per-review part. */
export function estimateRequestTokens(req: RequestParts): TokenEstimate {
  const stat =
    req.system.reduce((n, b) => n + estimateTokens(b.text), 0) + (req.schema === undefined ? 0 : estimateTokens(JSON.stringify(req.schema)));
  let dynamic = 0;
  for (const m of req.messages) {
    if (typeof m.content === 'string') dynamic += estimateTokens(m.content);
    else for (const b of m.content) dynamic += estimateTokens(b.text ?? '');
  }
  return { static: stat, dynamic, total: stat + dynamic };
}

/**
 * The naive baseline for the benchmark: tokens of every file's whole patch, as reviewers that paste
 * the full diff send (lockfiles, docs and generated files included). Accepts raw diff text or parsed files.
 */
export function naiveBaselineTokens(diff: string | readonly DiffFile[]): number {
  if (typeof diff === 'string') return estimateTokens(diff);
  let chars = 0;
  for (const f of diff) {
    chars += `diff --git a/${f.oldPath ?? f.newPath} b/${f.newPath ?? f.oldPath}\n`.length;
    for (const h of f.hunks) {
      chars += `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@ ${h.section}\n`.length;
      for (const l of h.lines) chars += l.text.length + 2;
    }
  }
  return Math.ceil(chars / CHARS_PER_TOKEN);
}
