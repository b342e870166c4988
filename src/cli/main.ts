/**
 * `concdbg review [FILE.diff | -] [--format text|json|markdown|sarif] [--no-llm] [--fail-on none|low|medium|high] [--root DIR] [--dry-run]`
 *
 * Exit codes: 0 no finding at or above --fail-on; 1 some finding at or above it; 2 bad usage or unreadable input
 * (one line on stderr, never a stack trace).
 */
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isProbablyDiff, looksBinary } from '../diff/parse.js';
import { review } from '../engine/review.js';
import { formatJson } from '../format/json.js';
import { formatMarkdown } from '../format/markdown.js';
import { formatSarif } from '../format/sarif.js';
import { formatText } from '../format/text.js';
import { SEVERITIES, severityRank, type Severity } from '../types.js';
import { llmSetup } from './llm.js';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const FORMATS = ['text', 'json', 'markdown', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

export const USAGE = `Usage: concdbg review [FILE.diff | -] [options]

Reviews a unified diff (as \`git diff\` prints it) for concurrency hazards.

Options:
  --format text|json|markdown|sarif   output format (default: text)
  --fail-on none|low|medium|high      exit 1 when a finding is at or above this severity (default: high)
  --root DIR                          read whole files of the new revision from DIR for context
  --no-llm                            offline diagnosis only, even with ANTHROPIC_API_KEY set
  --dry-run                           print the LLM requests that would be sent, send nothing
  -h, --help                          show this help
  -v, --version                       show the version

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 bad usage or unreadable input.
Example: git diff main... | concdbg review - --format markdown`;

class UsageError extends Error {}

export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`concdbg: ${message.split('\n')[0]}\n`);
    if (err instanceof UsageError) io.stderr.write('Run `concdbg --help` for usage.\n');
    return 2;
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'text' },
        'fail-on': { type: 'string', default: 'high' },
        root: { type: 'string' },
        'no-llm': { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    io.stdout.write(`${await version()}\n`);
    return 0;
  }
  const [command, file, ...rest] = positionals;
  if (command !== 'review') throw new UsageError(command ? `unknown command "${command}"` : 'missing command: review');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  const format = values.format as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')} (got "${values.format}")`);
  const failOn = values['fail-on'];
  if (failOn !== 'none' && !SEVERITIES.includes(failOn as Severity)) {
    throw new UsageError(`--fail-on must be one of none, ${SEVERITIES.join(', ')} (got "${failOn}")`);
  }
  if (values.root !== undefined) {
    const s = await stat(values.root).catch(() => undefined);
    if (!s?.isDirectory()) throw new UsageError(`--root ${values.root} is not a directory`);
  }

  const input = await readInput(file ?? '-', io);
  if (input.length > 0 && looksBinary(input)) throw new Error(`${file ?? 'stdin'} is binary, not a unified diff`);
  const text = input.toString('utf8');
  if (text.trim() !== '' && !isProbablyDiff(text)) {
    throw new Error(`${file ?? 'stdin'} is not a unified diff (expected "diff --git" or "---"/"+++"/"@@" headers)`);
  }

  const llm = llmSetup({ env: io.env, noLlm: values['no-llm'], dryRun: values['dry-run'] });
  const result = await review(input, { root: values.root, diagnose: llm.diagnose });
  for (const w of result.warnings) io.stderr.write(`concdbg: warning: ${w}\n`);
  for (const n of llm.notices) io.stderr.write(`concdbg: ${n}\n`);

  if (values['dry-run']) {
    io.stdout.write(`${llm.dryRun(result)}\n`);
    return 0;
  }

  const color = format === 'text' && Boolean(io.stdout.isTTY) && !io.env.NO_COLOR;
  const out =
    format === 'json'
      ? formatJson(result)
      : format === 'markdown'
        ? formatMarkdown(result)
        : format === 'sarif'
          ? formatSarif(result, await version())
          : formatText(result, { color });
  io.stdout.write(out.endsWith('\n') ? out : `${out}\n`);

  if (failOn === 'none') return 0;
  const threshold = severityRank(failOn as Severity);
  return result.findings.some((f) => severityRank(f.severity) >= threshold) ? 1 : 0;
}

async function readInput(file: string, io: Io): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    const s = await stat(file);
    if (s.isDirectory()) throw new Error(`${file} is a directory, not a diff file`);
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`cannot read ${file}: no such file`);
    if (code === 'EACCES') throw new Error(`cannot read ${file}: permission denied`);
    throw err;
  }
}

async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
