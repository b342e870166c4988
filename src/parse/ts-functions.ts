/**
 * Functions of TypeScript and JavaScript files, from the TypeScript compiler's parser: error-tolerant like
 * tree-sitter, and about three times faster on TS/JS (see `npm run bench`), which matters on large diffs.
 */
import { createRequire } from 'node:module';
import type ts from 'typescript';
import type { Language } from '../types.js';
import type { FunctionSpan } from './types.js';
import { TextLines } from './text-lines.js';

// Loaded on first use with require(): an ESM import makes Node scan the whole 9 MB compiler for named exports.
let compiler: typeof ts | undefined;
function tsc(): typeof ts {
  compiler ??= createRequire(import.meta.url)('typescript') as typeof ts;
  return compiler;
}

const FAMILY = new Set<Language>(['typescript', 'tsx', 'javascript']);

export function isTsFamily(lang: Language): boolean {
  return FAMILY.has(lang);
}

/**
 * Functions in source order, outermost first. The tree is built without parent pointers (setting them costs a
 * second pass over every node); the walk keeps its own ancestor stack for the names.
 */
export function findTsFunctions(lang: Language, source: TextLines): FunctionSpan[] {
  if (!FAMILY.has(lang)) return [];
  const ts = tsc();
  const kind = lang === 'typescript' ? ts.ScriptKind.TS : lang === 'tsx' ? ts.ScriptKind.TSX : ts.ScriptKind.JSX;
  const sf = ts.createSourceFile('file', source.text, { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone }, false, kind);
  const out: FunctionSpan[] = [];
  const ancestors: ts.Node[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunction(ts, node)) {
      const startLine = source.lineAt(node.getStart(sf));
      const endLine = source.lineAt(node.end);
      out.push({
        name: functionName(ts, node, sf, ancestors),
        startLine,
        endLine,
        async: node.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) ?? false,
        text: source.slice(startLine, endLine),
      });
    }
    ancestors.push(node);
    ts.forEachChild(node, visit);
    ancestors.pop();
  };
  visit(sf);
  return out;
}

let functionKinds: Set<ts.SyntaxKind> | undefined;

/** A function-like node with a body (declarations without one are overload signatures). */
function isFunction(ts: typeof import('typescript'), node: ts.Node): node is ts.FunctionLikeDeclaration {
  const k = ts.SyntaxKind;
  functionKinds ??= new Set([k.FunctionDeclaration, k.FunctionExpression, k.ArrowFunction, k.MethodDeclaration, k.Constructor, k.GetAccessor, k.SetAccessor]);
  return functionKinds.has(node.kind) && (node as ts.FunctionLikeDeclaration).body !== undefined;
}

/** The declared name (Class.method for methods), the variable or property it is assigned to, or the call it is passed to. */
function functionName(ts: typeof import('typescript'), node: ts.FunctionLikeDeclaration, sf: ts.SourceFile, ancestors: readonly ts.Node[]): string {
  const parent = ancestors[ancestors.length - 1];
  if (ts.isConstructorDeclaration(node)) return `${className(ts, ancestors) ?? '<class>'}.constructor`;
  if (node.name && !ts.isComputedPropertyName(node.name)) {
    const own = node.name.getText(sf);
    const owner = parent && ts.isClassLike(parent) ? className(ts, ancestors) : undefined;
    return owner ? `${owner}.${own}` : own;
  }
  if (!parent) return '<anonymous>';
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(sf);
  }
  if (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) return parent.left.getText(sf);
  if (ts.isCallExpression(parent)) {
    const first = parent.arguments[0];
    const route = first && first !== node && ts.isStringLiteralLike(first) ? first.getText(sf) : '';
    return `${parent.expression.getText(sf)}(${route}) callback`;
  }
  return '<anonymous>';
}

/** The name of the innermost class among the ancestors. */
function className(ts: typeof import('typescript'), ancestors: readonly ts.Node[]): string | undefined {
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const a = ancestors[i]!;
    if (ts.isClassLike(a)) return a.name?.text;
  }
  return undefined;
}
