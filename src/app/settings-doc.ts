/**
 * Prints the settings reference (a markdown table) from the zod schema of `.github/concdbg.yml`,
 * so the README never drifts from what the app accepts: `node dist/app/settings-doc.js`.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { SETTINGS_PATH, settingsSchema } from './settings.js';

interface JsonSchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JsonSchemaNode;
  properties?: Record<string, JsonSchemaNode>;
  minimum?: number;
  maximum?: number;
}

export function settingsReference(): string {
  const root = z.toJSONSchema(settingsSchema, { io: 'input' }) as JsonSchemaNode;
  const rows: string[] = ['| key | type | default | what it does |', '| --- | --- | --- | --- |'];
  const walk = (node: JsonSchemaNode, prefix: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const name = prefix ? `${prefix}.${key}` : key;
      rows.push(`| \`${name}\` | ${typeOf(child)} | ${child.default === undefined ? '—' : `\`${JSON.stringify(child.default)}\``} | ${(child.description ?? '').replace(/\|/g, '\\|')} |`);
      if (child.type === 'object') walk(child, name);
    }
  };
  walk(root, '');
  return [
    `Settings live in \`${SETTINGS_PATH}\` on the repository's default (base) branch; a pull request cannot change the settings it is reviewed with. Unknown keys are errors, reported in the \`concdbg\` check run with their line.`,
    '',
    ...rows,
    '',
  ].join('\n');
}

function typeOf(n: JsonSchemaNode): string {
  if (n.enum) return n.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'values'}`;
  if (n.type === 'number' && n.minimum !== undefined && n.maximum !== undefined) return `number ${n.minimum}–${n.maximum}`;
  return n.type ?? 'value';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(settingsReference());
}
