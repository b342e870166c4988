/**
 * Collects the uniqueness and exclusion constraints a diff declares, in SQL migrations, SQL strings and
 * ORM model declarations, so detectors can tell a check-then-insert that a constraint backs from one
 * that nothing backs.
 */
import type { SchemaFacts, SourceFile } from './types.js';

const ident = String.raw`[\`"\[]?([A-Za-z_][\w$]*)[\`"\]]?`;
const qualified = String.raw`(?:[\`"\[]?[A-Za-z_][\w$]*[\`"\]]?\.)?${ident}`;

const CREATE_UNIQUE_INDEX = new RegExp(
  String.raw`create\s+unique\s+index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?(?:${ident}\s+)?on\s+(?:only\s+)?${qualified}\s*(?:using\s+\w+\s*)?\(([^)]*)\)`,
  'gi',
);
const ALTER_ADD_UNIQUE = new RegExp(
  String.raw`alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${qualified}[\s\S]{0,200}?\bunique\s*(?:nulls\s+(?:not\s+)?distinct\s*)?\(([^)]*)\)`,
  'gi',
);
const CREATE_TABLE = new RegExp(String.raw`create\s+table\s+(?:if\s+not\s+exists\s+)?${qualified}\s*\(`, 'gi');
const EXCLUDE = new RegExp(String.raw`(?:alter\s+table\s+(?:only\s+)?${qualified}[\s\S]{0,200}?|create\s+table\s+(?:if\s+not\s+exists\s+)?${qualified}[\s\S]*?)\bexclude\s+using\b`, 'gi');

function cols(list: string): string[] {
  return list
    .split(',')
    .map((c) => c.trim().replace(/[`"\[\]:']/g, '').split(/\s+/)[0]!.toLowerCase())
    .filter(Boolean);
}

function add(facts: SchemaFacts, table: string | undefined, columns: string[]): void {
  if (!table || columns.length === 0) return;
  const key = table.toLowerCase();
  const list = facts.unique.get(key) ?? [];
  list.push(columns);
  facts.unique.set(key, list);
  // Models are often named in the singular (Charge) and their tables in the plural (charges).
  const singular = key.replace(/ies$/, 'y').replace(/s$/, '');
  if (singular !== key) {
    const alias = facts.unique.get(singular) ?? [];
    alias.push(columns);
    facts.unique.set(singular, alias);
  }
}

/** Everything the diff shows of a file, joined, for declaration scanning. */
function shownText(file: SourceFile): string {
  return file.lines.join('\n');
}

export function collectSchema(files: readonly SourceFile[]): SchemaFacts {
  const facts: SchemaFacts = { unique: new Map(), exclusion: new Set() };
  for (const file of files) {
    const text = shownText(file);
    if (!/unique|exclude|primary\s+key/i.test(text)) continue;
    for (const m of text.matchAll(CREATE_UNIQUE_INDEX)) add(facts, m[2], cols(m[3] ?? ''));
    for (const m of text.matchAll(ALTER_ADD_UNIQUE)) add(facts, m[1], cols(m[2] ?? ''));
    for (const m of text.matchAll(EXCLUDE)) {
      const table = m[1] ?? m[2];
      if (table) facts.exclusion.add(table.toLowerCase());
    }
    scanCreateTables(text, facts);
    scanModels(text, facts);
  }
  return facts;
}

/** Table-level `UNIQUE (a, b)`, `PRIMARY KEY (a, b)` and column-level `col type UNIQUE` inside CREATE TABLE. */
function scanCreateTables(text: string, facts: SchemaFacts): void {
  for (const m of text.matchAll(CREATE_TABLE)) {
    const table = m[1];
    const body = balanced(text, (m.index ?? 0) + m[0].length - 1);
    for (const u of body.matchAll(/\b(?:unique|primary\s+key)\s*\(([^)]*)\)/gi)) add(facts, table, cols(u[1] ?? ''));
    for (const line of body.split(/,\s*\n|\n/)) {
      const c = /^\s*[`"]?([A-Za-z_]\w*)[`"]?\s+[^,]*\b(?:unique|primary\s+key)\b/i.exec(line);
      if (c && !/^\s*(?:constraint|unique|primary|exclude)\b/i.test(line)) add(facts, table, [c[1]!.toLowerCase()]);
    }
    if (/\bexclude\s+using\b/i.test(body) && table) facts.exclusion.add(table.toLowerCase());
  }
}

function balanced(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length && i < open + 20000; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1, open + 20000);
}

/**
 * ORM declarations: Prisma `@@unique([a, b])` / `@unique`, Django `unique=True` / `UniqueConstraint(fields=[...])` /
 * `unique_together`, Rails `add_index :t, [:a, :b], unique: true`, TypeORM `@Unique([...])` / `@Column({ unique: true })`,
 * Sequelize / Mongoose `unique: true`.
 */
function scanModels(text: string, facts: SchemaFacts): void {
  // Prisma
  for (const m of text.matchAll(/model\s+(\w+)\s*\{([^}]*)\}/g)) {
    const [, model, body = ''] = m;
    for (const u of body.matchAll(/@@(?:unique|id)\s*\(\s*(?:fields:\s*)?\[([^\]]*)\]/g)) add(facts, model, cols(u[1] ?? ''));
    for (const f of body.matchAll(/^\s*(\w+)\s+\S+[^\n]*@unique\b/gm)) add(facts, model, [f[1]!.toLowerCase()]);
    const mapped = /@@map\(\s*"(\w+)"\s*\)/.exec(body)?.[1];
    // A copy: adding the mapped table also adds its singular, which is often the model's own list.
    if (mapped) for (const cs of [...(facts.unique.get(model!.toLowerCase()) ?? [])]) add(facts, mapped, cs);
  }
  // Django
  for (const m of text.matchAll(/class\s+(\w+)\s*\([^)]*Model[^)]*\)\s*:([\s\S]*?)(?=\nclass\s|\n\S|$)/g)) {
    const [, model, body = ''] = m;
    for (const f of body.matchAll(/^\s*(\w+)\s*=\s*models\.\w+\([^\n]*unique\s*=\s*True/gm)) add(facts, model, [f[1]!.toLowerCase()]);
    for (const u of body.matchAll(/UniqueConstraint\(\s*fields\s*=\s*[[(]([^\])]*)[\])]/g)) add(facts, model, cols(u[1] ?? ''));
    for (const u of body.matchAll(/unique_together\s*=\s*[[(]+\s*([^\])]*)[\])]/g)) add(facts, model, cols(u[1] ?? ''));
  }
  for (const m of text.matchAll(/migrations\.AddConstraint\(\s*model_name\s*=\s*['"](\w+)['"][\s\S]*?UniqueConstraint\(\s*fields\s*=\s*[[(]([^\])]*)[\])]/g)) {
    add(facts, m[1], cols(m[2] ?? ''));
  }
  // Rails
  for (const m of text.matchAll(/add_index\s+:(\w+)\s*,\s*(\[[^\]]*\]|:\w+)[^\n]*unique:\s*true/g)) {
    add(facts, m[1], cols((m[2] ?? '').replace(/[[\]]/g, '')));
  }
  for (const m of text.matchAll(/t\.index\s+(\[[^\]]*\]|:\w+)[^\n]*unique:\s*true/g)) {
    const table = /create_table\s+:(\w+)/.exec(text.slice(0, m.index))?.[1];
    add(facts, table, cols((m[1] ?? '').replace(/[[\]]/g, '')));
  }
  // TypeORM entity
  for (const m of text.matchAll(/@Unique\(\s*(?:['"][^'"]*['"]\s*,\s*)?\[([^\]]*)\]\s*\)[\s\S]{0,200}?class\s+(\w+)/g)) add(facts, m[2], cols(m[1] ?? ''));
  for (const m of text.matchAll(/@Column\(\s*\{[^}]*unique:\s*true[^}]*\}\s*\)\s*(\w+)/g)) {
    const cls = [...text.slice(0, m.index).matchAll(/class\s+(\w+)/g)].pop()?.[1];
    add(facts, cls, [m[1]!.toLowerCase()]);
  }
}

/** Whether `table` has a unique constraint covering exactly or within `columns` (lower-case). */
export function hasUnique(facts: SchemaFacts, table: string | undefined, columns?: readonly string[]): boolean {
  if (!table) return false;
  const sets = facts.unique.get(table.toLowerCase()) ?? facts.unique.get(table.toLowerCase().replace(/s$/, ''));
  if (!sets) return false;
  if (!columns || columns.length === 0) return true;
  const wanted = new Set(columns.map((c) => c.toLowerCase()));
  return sets.some((set) => set.every((c) => wanted.has(c)));
}
