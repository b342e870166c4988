// Regenerates the README blocks that are output of the code: the example finding and the settings table.
// Run through `npm run docs` (it builds first). test/docs/readme.test.ts fails when they drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { readmeBlocks } from '../dist/docs/readme.js';

const path = new URL('../README.md', import.meta.url);
let text = readFileSync(path, 'utf8');
for (const [name, body] of Object.entries(await readmeBlocks())) {
  const re = new RegExp(`<!-- ${name}:start -->[\\s\\S]*?<!-- ${name}:end -->`);
  if (!re.test(text)) throw new Error(`README.md has no ${name} block`);
  text = text.replace(re, () => `<!-- ${name}:start -->\n${body}\n<!-- ${name}:end -->`);
}
writeFileSync(path, text);
console.log('README.md updated');
