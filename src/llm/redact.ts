/**
 * Secret redaction, applied to everything that leaves the machine (code regions, candidate facts
 * and evidence). Replacements keep the shape of the code (the prefix of a key, the user of a
 * connection string, the number of lines) so line numbers stay true and the model still sees
 * what kind of value was there. Replacements never contain quotes or backslashes, so redacting a
 * JSON string keeps it valid JSON.
 */

export interface Redaction {
  text: string;
  /** How many secrets were replaced. */
  count: number;
}

type Rule = { name: string; re: RegExp; replace: (m: string, ...groups: string[]) => string };

const MASK = '***';

/** Values that are code, not secrets: environment lookups, template placeholders, empty-ish values. */
function looksLikeReference(value: string): boolean {
  return /^(\$\{|\$[A-Za-z_]|%\(|%[A-Za-z_]|process\.env|os\.environ|os\.getenv|ENV\[|env\(|<[^>]*>$|\*+$|x+$)/i.test(value);
}

const SECRET_NAME = '[A-Za-z0-9_]*(?:SECRET|PASSWORD|PASSWD|PWD|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Za-z0-9_]*';

const RULES: Rule[] = [
  // PEM private key on one line (JSON/env strings with \n escapes).
  {
    name: 'private-key-inline',
    re: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[^\n]*?-----END \1PRIVATE KEY-----/g,
    replace: (_m, kind) => `-----BEGIN ${kind}PRIVATE KEY-----${MASK}-----END ${kind}PRIVATE KEY-----`,
  },
  // URLs with a password: postgres://user:pass@host -> postgres://user:***@host
  {
    name: 'url-password',
    re: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*):([^\s@/"'`]+)@/gi,
    replace: (m, head, pass) => (looksLikeReference(pass) ? m : `${head}:${MASK}@`),
  },
  // JSON Web Tokens.
  {
    name: 'jwt',
    re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g,
    replace: () => `eyJ${MASK}`,
  },
  // Authorization: Bearer <token>
  {
    name: 'bearer',
    re: /\b(Bearer|Token|Basic)(\s+)([A-Za-z0-9\-._~+/]{16,}=*)/g,
    replace: (_m, word, sp) => `${word}${sp}${MASK}`,
  },
  // Provider keys by their well-known prefixes.
  { name: 'anthropic', re: /\bsk-ant-[A-Za-z0-9_-]{8,}/g, replace: () => `sk-ant-${MASK}` },
  { name: 'openai-like', re: /\bsk-(?!ant-)(?:proj-)?[A-Za-z0-9_-]{16,}/g, replace: () => `sk-${MASK}` },
  { name: 'aws-access-key', re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, replace: (_m, p) => `${p}${MASK}` },
  { name: 'github', re: /\b(gh[pousr]_)[A-Za-z0-9]{20,}/g, replace: (_m, p) => `${p}${MASK}` },
  { name: 'github-fine-grained', re: /\bgithub_pat_[A-Za-z0-9_]{20,}/g, replace: () => `github_pat_${MASK}` },
  { name: 'slack', re: /\b(xox[abposr]-)[A-Za-z0-9-]{10,}/g, replace: (_m, p) => `${p}${MASK}` },
  { name: 'stripe', re: /\b((?:sk|rk)_(?:live|test)_)[A-Za-z0-9]{10,}/g, replace: (_m, p) => `${p}${MASK}` },
  { name: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: () => `AIza${MASK}` },
  // .env style, whole line: [export ] SECRET_NAME=value
  {
    name: 'env-line',
    re: new RegExp(`^(\\s*(?:export\\s+)?${SECRET_NAME}\\s*=\\s*)(["']?)([^\\s"'#][^"'#]*?)\\2(\\s*(?:#.*)?)$`, 'gim'),
    replace: (m, head, q, value, tail) => (looksLikeReference(value) ? m : `${head}${q}${MASK}${q}${tail}`),
  },
  // A string literal assigned to a secret-named key or variable: password: "hunter22", apiKey = 'abc…'
  {
    name: 'assigned-literal',
    re: new RegExp(`(\\b${SECRET_NAME}["']?\\s*(?::|=|:=|=>)\\s*)(["'\`])([^"'\`\\s\\\\]{8,})\\2`, 'gi'),
    replace: (m, head, q, value) => (looksLikeReference(value) ? m : `${head}${q}${MASK}${q}`),
  },
];

/** Redacts secrets in one piece of text (may span lines; line count is preserved). */
export function redactSecrets(text: string): Redaction {
  let count = 0;
  let out = redactKeyBlocks(text, () => count++);
  for (const rule of RULES) {
    out = out.replace(rule.re, (...args: unknown[]) => {
      const m = args[0] as string;
      const groups = args.slice(1).filter((a): a is string => typeof a === 'string' || a === undefined).map((a) => a ?? '');
      const r = rule.replace(m, ...groups);
      if (r !== m) count++;
      return r;
    });
  }
  return { text: out, count };
}

/** Redacts an array of lines (a file), keeping one output line per input line. */
export function redactLines(lines: readonly string[]): { lines: string[]; count: number } {
  const r = redactSecrets(lines.join('\n'));
  const out = r.text.split('\n');
  // Every rule preserves newlines; keep the invariant explicit.
  if (out.length !== lines.length) throw new Error('redaction changed the line count');
  return { lines: out, count: r.count };
}

/** Multi-line PEM blocks: the body lines become ***, BEGIN/END lines stay (so the model sees a key was there). */
function redactKeyBlocks(text: string, onHit: () => void): string {
  if (!text.includes('PRIVATE KEY-----')) return text;
  const lines = text.split('\n');
  let inside = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!inside && /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(line) && !/-----END [A-Z0-9 ]*PRIVATE KEY-----/.test(line)) {
      inside = true;
      onHit();
      // Anything after the BEGIN marker on the same line is key material.
      lines[i] = line.replace(/(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----).*$/, `$1`);
      continue;
    }
    if (inside) {
      if (/-----END [A-Z0-9 ]*PRIVATE KEY-----/.test(line)) {
        inside = false;
        lines[i] = line.replace(/^.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----)/, (_m, end: string) => `${indentOf(line)}${end}`);
      } else if (line.trim() !== '') {
        lines[i] = `${indentOf(line)}${MASK}`;
      }
    }
  }
  return lines.join('\n');
}

function indentOf(line: string): string {
  return /^\s*/.exec(line)?.[0] ?? '';
}
