/** The README blocks generated from the code, so the docs cannot drift from it (see scripts/update-readme.mjs). */
import { readFile } from 'node:fs/promises';
import { settingsReference } from '../app/settings-doc.js';
import { review } from '../engine/review.js';
import { findingMarkdown } from '../format/finding-markdown.js';

const EXAMPLE = new URL('../../examples/duplicate-charge.diff', import.meta.url);

export async function readmeBlocks(): Promise<Record<'example' | 'settings', string>> {
  const { findings } = await review(await readFile(EXAMPLE));
  const example = [
    '## What a finding looks like',
    '',
    '`npx concdbg review examples/duplicate-charge.diff --format markdown` on the duplicate-charge example (a dedup',
    '`SELECT` in front of a Stripe charge and an `INSERT`, with a `Date.now()` idempotency key) prints the finding below;',
    `the App posts the same body as an inline comment on the lines it names.`,
    '',
    ...findings.map((f) => findingMarkdown(f, { location: true })),
  ].join('\n');
  return { example, settings: settingsReference().trim() };
}
