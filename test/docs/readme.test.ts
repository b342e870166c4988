/** README blocks that are output of the code must match the code (regenerate with `npm run docs`). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeBlocks } from '../../src/docs/readme.js';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

function block(name: string): string | undefined {
  return new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme)?.[1];
}

describe('README', () => {
  it('shows the example finding exactly as the CLI prints it, and the settings table as the schema defines it', async () => {
    const blocks = await readmeBlocks();
    expect(block('example'), 'README example is stale: run npm run docs').toBe(blocks.example);
    expect(block('settings'), 'README settings table is stale: run npm run docs').toBe(blocks.settings);
  });

  it('names the two setup commands', () => {
    expect(readme).toContain('npm ci && npx concdbg review examples/duplicate-charge.diff');
    expect(readme).toMatch(/^npm test\b/m);
  });
});
