/**
 * Repository settings: `.github/concdbg.yml`, read from the pull request's **base** branch so a
 * PR cannot loosen its own gate. One zod schema, strict about unknown keys; every field carries
 * a description (the README's settings reference is generated from it by `settings-doc.ts`).
 * A bad file never crashes a job: `parseSettings` returns the error with its line, and the job
 * reports it in the check run (neutral).
 */
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { FAILURE_MODES, SEVERITIES, VARIANTS, type FailureMode, type Language } from '../types.js';

export const SETTINGS_PATH = '.github/concdbg.yml';

export const SETTINGS_LANGUAGES = ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby', 'sql'] as const;

export const settingsSchema = z
  .strictObject({
    /** Which files are reviewed. */
    paths: z
      .strictObject({
        /** Globs of files to review (`**` any folders, `*` within one name). */
        include: z.array(z.string().min(1)).default(['**']).describe('Globs of files to review (`**` matches any folders, `*` anything within one name).'),
        /** Globs of files never reviewed; wins over include. */
        exclude: z.array(z.string().min(1)).default([]).describe('Globs of files never reviewed; wins over `include`.'),
      })
      .default({ include: ['**'], exclude: [] })
      .describe('Which files are reviewed.'),
    /** Languages to review; absent means all supported. */
    languages: z
      .array(z.enum(SETTINGS_LANGUAGES))
      .min(1)
      .optional()
      .describe(`Languages to review (${SETTINGS_LANGUAGES.join(', ')}); absent means all.`),
    /** Failure modes to report; absent means all eight. */
    modes: z
      .array(z.enum(FAILURE_MODES))
      .min(1)
      .optional()
      .describe(`Failure modes to report (${FAILURE_MODES.join(', ')}); absent means all eight.`),
    /** Findings below this confidence (0..1) are not reported. */
    minConfidence: z.number().min(0).max(1).default(0.5).describe('Findings below this confidence (0 to 1) are not reported.'),
    /** The check run fails when a finding not dismissed is at or above this severity; `none` never fails. */
    gate: z
      .enum([...SEVERITIES, 'none'])
      .default('high')
      .describe('The `concdbg` check fails when a finding that is not dismissed is at or above this severity (`low`, `medium`, `high`); `none` never fails.'),
    /** Review draft pull requests too. */
    drafts: z.boolean().default(false).describe('Review draft pull requests too (otherwise they are reviewed when marked ready).'),
    /** When reviews start by themselves. */
    autoReview: z
      .strictObject({
        /** Review when a PR is opened, reopened or marked ready. */
        onOpen: z.boolean().default(true).describe('Review when a PR is opened, reopened or marked ready for review.'),
        /** Review every push to the PR. */
        onPush: z.boolean().default(true).describe('Review every push to the PR.'),
      })
      .default({ onOpen: true, onPush: true })
      .describe('When reviews start without a `/concdbg` command.'),
    /** Diagnosis focus: one of the four variants; absent lets the findings choose. */
    focus: z
      .enum(VARIANTS)
      .optional()
      .describe(`Diagnosis focus (${VARIANTS.join(', ')}); absent lets each review choose. \`/concdbg mode X\` overrides it for one review.`),
    /** LLM diagnosis. */
    llm: z
      .strictObject({
        /** Use the LLM when the app has ANTHROPIC_API_KEY; off keeps every review offline. */
        enabled: z.boolean().default(true).describe('Use the LLM when the app has `ANTHROPIC_API_KEY`; `false` keeps this repository offline (nothing is sent).'),
        /** Upper bound on input tokens per review for this repository. */
        maxInputTokens: z
          .number()
          .int()
          .min(1000)
          .max(1_000_000)
          .optional()
          .describe('Input-token budget per review for this repository (at most the app-wide budget).'),
      })
      .default({ enabled: true })
      .describe('LLM diagnosis.'),
  })
  .describe('Settings of `.github/concdbg.yml`.');

export type Settings = z.output<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});

export type SettingsResult =
  | { ok: true; settings: Settings; source: 'file' | 'default' }
  | { ok: false; error: string; line?: number; settings: Settings };

/**
 * Parses the text of `.github/concdbg.yml`. `null` (no file) gives the defaults. Errors come back
 * with a one-line message naming the key and, where known, the line; defaults are returned beside
 * them only so callers have a value to carry (the job does not review with them).
 */
export function parseSettings(text: string | null): SettingsResult {
  if (text === null) return { ok: true, settings: DEFAULT_SETTINGS, source: 'default' };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = lineCounter.linePos(e.pos[0]).line;
    return { ok: false, error: `${SETTINGS_PATH} is not valid YAML: ${firstLine(e.message)}`, line, settings: DEFAULT_SETTINGS };
  }
  const value: unknown = doc.toJS() ?? {};
  const result = settingsSchema.safeParse(value);
  if (result.success) return { ok: true, settings: result.data, source: 'file' };
  const issue = result.error.issues[0]!;
  let path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    path = [...path, issue.keys[0]!];
    message = `unknown key "${issue.keys[0]}"`;
  }
  const line = lineOf(doc, lineCounter, path);
  const where = path.length ? path.join('.') : '(top level)';
  return { ok: false, error: `${SETTINGS_PATH}: ${where}: ${message}`, ...(line ? { line } : {}), settings: DEFAULT_SETTINGS };
}

function lineOf(doc: ReturnType<typeof parseDocument>, lc: LineCounter, path: Array<string | number>): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    // For a key, point at the key itself; else at the value.
    const node = (n > 0 ? keyNode(doc, sub) : undefined) ?? (doc.getIn(sub, true) as { range?: [number, number, number] } | undefined);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lc.linePos(range[0]).line;
  }
  return undefined;
}

function keyNode(doc: ReturnType<typeof parseDocument>, path: Array<string | number>): unknown {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const items = (parent as { items?: Array<{ key?: { value?: unknown; range?: unknown } }> } | null)?.items;
  if (!Array.isArray(items)) return undefined;
  const last = path[path.length - 1];
  return items.find((p) => p?.key && typeof p.key === 'object' && p.key.value === last)?.key;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/** Turns a glob into a RegExp: `**` any folders, `*` and `?` within one path segment, `{a,b}` alternatives. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let i = 0;
  const g = glob.replace(/^\.\//, '');
  while (i < g.length) {
    const ch = g[i]!;
    if (ch === '*') {
      if (g[i + 1] === '*') {
        const slashAfter = g[i + 2] === '/';
        re += slashAfter ? '(?:.*/)?' : '.*';
        i += slashAfter ? 3 : 2;
        continue;
      }
      re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '{') {
      const end = g.indexOf('}', i);
      if (end > i) {
        re += '(?:' + g.slice(i + 1, end).split(',').map(escapeRe).join('|') + ')';
        i = end + 1;
        continue;
      }
      re += '\\{';
    } else re += escapeRe(ch);
    i++;
  }
  // A pattern without a slash matches the name in any folder ("*.sql"), as .gitignore does.
  const anchored = g.includes('/') ? re : `(?:.*/)?${re}`;
  return new RegExp(`^${anchored}$`);
}

function escapeRe(s: string): string {
  return s.replace(/[.+^$()|[\]\\]/g, '\\$&');
}

const LANGUAGE_OF_EXT: Record<string, Language> = {
  ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'tsx', js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  py: 'python', go: 'go', rb: 'ruby', sql: 'sql',
};

/** The path filter the engine gets from the settings (paths include/exclude and languages). */
export function pathFilter(settings: Settings): (path: string) => boolean {
  const include = settings.paths.include.map(globToRegExp);
  const exclude = settings.paths.exclude.map(globToRegExp);
  const languages = settings.languages ? new Set<string>(settings.languages) : undefined;
  return (path) => {
    if (!include.some((r) => r.test(path))) return false;
    if (exclude.some((r) => r.test(path))) return false;
    if (languages) {
      const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
      const lang = LANGUAGE_OF_EXT[ext];
      if (!lang || !languages.has(lang)) return false;
    }
    return true;
  };
}

export function reportedModes(settings: Settings): readonly FailureMode[] | undefined {
  return settings.modes;
}
