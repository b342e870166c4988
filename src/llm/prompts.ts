/**
 * Loads the prompt files shipped in the package (`prompts/` is in package.json `files`).
 * Found by walking up from this module to the directory holding prompts/system.md, so the same
 * code works from src/ (tests, tsx) and from dist/src/ (the built package).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Variant } from '../types.js';

let cachedRoot: string | undefined;

/** The directory that holds `prompts/`. */
export function promptsRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'prompts', 'system.md'))) return (cachedRoot = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('concdbg: prompts/system.md not found next to the package');
    dir = up;
  }
}

const cache = new Map<string, string>();

function load(rel: string): string {
  let text = cache.get(rel);
  if (text === undefined) {
    text = readFileSync(join(promptsRoot(), 'prompts', rel), 'utf8').trim();
    cache.set(rel, text);
  }
  return text;
}

/** The static system prompt: the method, the eight modes, the rules. */
export function systemPrompt(): string {
  return load('system.md');
}

/** The variant prompt for one of the four diagnosis variants. */
export function variantPrompt(variant: Variant): string {
  return load(`variants/${variant}.md`);
}
