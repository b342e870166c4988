/**
 * Finds the functions of a file: TypeScript and JavaScript with the TypeScript compiler's parser, Python, Go and
 * Ruby with tree-sitter (WASM grammars from `tree-sitter-wasms`). Both parsers are error-tolerant, so code rebuilt
 * from hunks (with blank gaps) still yields the functions it shows.
 */
import { createRequire } from 'node:module';
import { Language as TsLanguage, Parser, Query, type Node } from 'web-tree-sitter';
import type { Language } from '../types.js';
import { TextLines } from './text-lines.js';
import { findTsFunctions, isTsFamily } from './ts-functions.js';
import type { FunctionSpan } from './types.js';

const require = createRequire(import.meta.url);

const GRAMMAR: Partial<Record<Language, string>> = {
  typescript: 'typescript',
  tsx: 'tsx',
  javascript: 'javascript',
  python: 'python',
  go: 'go',
  ruby: 'ruby',
};

/** Node types that open a function scope, per grammar. */
const FUNCTION_TYPES: Record<string, readonly string[]> = {
  typescript: ['function_declaration', 'function_expression', 'arrow_function', 'method_definition', 'generator_function_declaration', 'function'],
  tsx: ['function_declaration', 'function_expression', 'arrow_function', 'method_definition', 'generator_function_declaration', 'function'],
  javascript: ['function_declaration', 'function_expression', 'arrow_function', 'method_definition', 'generator_function_declaration', 'function'],
  python: ['function_definition'],
  go: ['function_declaration', 'method_declaration', 'func_literal'],
  ruby: ['method', 'singleton_method'],
};

let initPromise: Promise<void> | undefined;
const languages = new Map<string, Promise<TsLanguage>>();

async function parserFor(lang: Language): Promise<Parser | undefined> {
  const grammar = GRAMMAR[lang];
  if (!grammar) return undefined;
  initPromise ??= Parser.init();
  await initPromise;
  let language = languages.get(grammar);
  if (!language) {
    language = TsLanguage.load(require.resolve(`tree-sitter-wasms/out/tree-sitter-${grammar}.wasm`));
    languages.set(grammar, language);
  }
  const parser = new Parser();
  parser.setLanguage(await language);
  return parser;
}

const parsers = new Map<Language, Promise<Parser | undefined>>();
const queries = new Map<string, Query>();

/**
 * One query capturing every function node: matching runs inside the WASM module, far cheaper than walking the tree
 * from JS. For Python it also captures the names and the classes, so no node is visited from JS at all.
 */
function functionQuery(parser: Parser, grammar: string): Query {
  let q = queries.get(grammar);
  if (!q) {
    const source =
      grammar === 'python'
        ? '(function_definition name: (identifier) @fn.name) @fn (class_definition name: (identifier) @class.name) @class'
        : `[${FUNCTION_TYPES[grammar]!.map((t) => `(${t})`).join(' ')}] @fn`;
    q = new Query(parser.language!, source);
    queries.set(grammar, q);
  }
  return q;
}

function cachedParser(lang: Language): Promise<Parser | undefined> {
  let p = parsers.get(lang);
  if (!p) {
    p = parserFor(lang);
    parsers.set(lang, p);
  }
  return p;
}

/** Files larger than this are parsed by hunk regions only (see findFunctions). */
const MAX_PARSE_CHARS = 4_000_000;

/**
 * Lists the functions in `lines` (lines[0] is line 1), outermost first in source order; `source` is the same text
 * joined, when the caller has it. Returns [] for languages without a grammar.
 */
export async function findFunctions(lang: Language, lines: readonly string[], source = TextLines.of(lines)): Promise<FunctionSpan[]> {
  if (isTsFamily(lang)) return findTsFunctions(lang, source).sort(bySpan);
  const parser = await cachedParser(lang);
  const grammar = GRAMMAR[lang];
  if (!parser || !grammar) return [];
  const query = functionQuery(parser, grammar);
  const spans: FunctionSpan[] = [];
  // Parse in chunks so one huge file never holds a giant tree: chunk borders fall on blank lines
  // between top-level code, which the rebuilt-from-hunks text has plenty of.
  for (const [from, to] of chunks(lines, MAX_PARSE_CHARS)) {
    const tree = parser.parse(from === 0 && to >= source.count ? source.text : source.slice(from + 1, to));
    if (!tree) continue;
    try {
      const captures = query.captures(tree.rootNode);
      if (grammar === 'python') spans.push(...pythonSpans(captures, from, lines, source));
      else {
        for (const { node } of captures) {
          const startLine = node.startPosition.row + 1 + from;
          const endLine = node.endPosition.row + 1 + from;
          spans.push({ name: functionName(node), startLine, endLine, async: isAsync(node), text: source.slice(startLine, endLine) });
        }
      }
    } finally {
      tree.delete();
    }
  }
  return spans.sort(bySpan);
}

const bySpan = (a: FunctionSpan, b: FunctionSpan) => a.startLine - b.startLine || b.endLine - a.endLine;

/** Python spans from the query's captures (in document order): names from `@fn.name`, owners from enclosing `@class`. */
function pythonSpans(captures: ReturnType<Query['captures']>, from: number, lines: readonly string[], source: TextLines): FunctionSpan[] {
  const spans: FunctionSpan[] = [];
  const classes: Array<{ end: number; name: string }> = [];
  let last: FunctionSpan | undefined;
  for (const { name, node } of captures) {
    if (name === 'class') {
      classes.push({ end: node.endIndex, name: '' });
    } else if (name === 'class.name') {
      const cls = classes[classes.length - 1];
      if (cls) cls.name = node.text;
    } else if (name === 'fn') {
      const start = node.startIndex;
      while (classes.length > 0 && classes[classes.length - 1]!.end <= start) classes.pop();
      const startLine = node.startPosition.row + 1 + from;
      const endLine = node.endPosition.row + 1 + from;
      last = { name: '<anonymous>', startLine, endLine, async: /^\s*async\b/.test(lines[startLine - 1] ?? ''), text: source.slice(startLine, endLine) };
      spans.push(last);
    } else if (name === 'fn.name' && last) {
      const owner = classes[classes.length - 1]?.name;
      last.name = owner ? `${owner}.${node.text}` : node.text;
    }
  }
  return spans;
}

function* chunks(lines: readonly string[], maxChars: number): Generator<[number, number]> {
  let start = 0;
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    size += (lines[i]?.length ?? 0) + 1;
    if (size >= maxChars && (lines[i] ?? '') === '' && !/^\s/.test(lines[i + 1] ?? ' ')) {
      yield [start, i + 1];
      start = i + 1;
      size = 0;
    }
  }
  if (start < lines.length) yield [start, lines.length];
}

function isAsync(node: Node): boolean {
  for (let i = 0; i < node.childCount; i++) {
    const child = node.child(i);
    if (child?.type === 'async') return true;
    if (child && child.type !== 'async' && child.isNamed) break;
  }
  // Python: `async def` puts the keyword as the first child; Go/Ruby have no async functions.
  return /^async\b/.test(node.text);
}

/** A readable name: the declared name, the variable an arrow function is assigned to, or the call it is passed to. */
function functionName(node: Node): string {
  const own = node.childForFieldName('name');
  if (own) {
    const owner = enclosingClassName(node);
    return owner ? `${owner}.${own.text}` : own.text;
  }
  const parent = node.parent;
  if (!parent) return '<anonymous>';
  if (parent.type === 'variable_declarator' || parent.type === 'assignment_expression' || parent.type === 'pair' || parent.type === 'public_field_definition') {
    const target = parent.childForFieldName('name') ?? parent.childForFieldName('left') ?? parent.childForFieldName('key');
    if (target) return target.text;
  }
  if (parent.type === 'arguments' || parent.type === 'argument_list') {
    const call = parent.parent;
    const callee = call?.childForFieldName('function');
    const firstArg = parent.namedChildren[0];
    if (callee) {
      const route = firstArg && firstArg.type === 'string' && firstArg.id !== node.id ? ` ${firstArg.text}` : '';
      return `${callee.text}(${route.trim()}) callback`;
    }
  }
  return '<anonymous>';
}

function enclosingClassName(node: Node): string | undefined {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === 'class_declaration' || p.type === 'class_definition' || p.type === 'class' || p.type === 'module') {
      return p.childForFieldName('name')?.text;
    }
    if (p.type === 'method_declaration') return undefined;
  }
  return undefined;
}
