/**
 * Every environment variable the app reads, validated once at start with zod. A missing or
 * invalid variable stops the app with ONE line naming it and what to set; values are never echoed
 * (they may be secrets).
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { llmConfigFromEnv, LlmConfigError, type LlmConfig } from '../llm/index.js';
import { DEFAULT_DATABASE_URL, parseDatabaseUrl } from '../store/index.js';

const int = (name: string, def: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))
    .optional()
    .transform((v) => v ?? def);

export const envSchema = z.object({
  /** GitHub App id. Absent: `npm start` offers Probot's manifest flow to register the app. */
  APP_ID: z.string().trim().regex(/^\d+$/, 'APP_ID must be the numeric id of your GitHub App (its settings page, "App ID")').optional(),
  /** The app's private key (PEM), or PRIVATE_KEY_PATH to a file holding it. */
  PRIVATE_KEY: z.string().optional(),
  PRIVATE_KEY_PATH: z.string().optional(),
  /** The webhook secret set in the GitHub App's settings. */
  WEBHOOK_SECRET: z.string().optional(),
  /** HTTP port (default 3000). */
  PORT: int('PORT', 3000, 0, 65535),
  /** Address to listen on (default: Probot's, localhost). */
  HOST: z.string().trim().min(1).optional(),
  /** A smee.io channel that forwards webhooks to a development machine. */
  WEBHOOK_PROXY_URL: z.url({ protocol: /^https?$/, error: 'WEBHOOK_PROXY_URL must be an http(s) URL such as https://smee.io/abc123' }).optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { error: 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent' }).optional(),
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'LOG_FORMAT must be json or pretty' }).optional(),
  /** GitHub Enterprise Server host (and port), e.g. github.example.com. */
  GHE_HOST: z.string().trim().regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'GHE_HOST must be a host name with an optional port, without a scheme (e.g. github.example.com)').optional(),
  GHE_PROTOCOL: z.enum(['http', 'https'], { error: 'GHE_PROTOCOL must be http or https' }).optional(),
  /** sqlite:PATH (default sqlite:./concdbg.sqlite) or postgres://… for several replicas. */
  DATABASE_URL: z.string().trim().optional().transform((v) => v || DEFAULT_DATABASE_URL),
  /** 0 = webhook-only replica (no review worker in this process). Default 1. */
  CONCDBG_WORKER: z.enum(['0', '1'], { error: 'CONCDBG_WORKER must be 0 (webhooks only) or 1 (also run the review worker)' }).optional().transform((v) => v !== '0'),
  /** Review jobs this process runs at once (default 2). */
  CONCDBG_WORKER_CONCURRENCY: int('CONCDBG_WORKER_CONCURRENCY', 2, 1, 64),
  /** Lease of a review job in ms; a dead worker's job is taken over after it (default 30000). */
  CONCDBG_LEASE_MS: int('CONCDBG_LEASE_MS', 30_000, 1_000, 600_000),
  /** Attempts per job before it fails for good (default 5). */
  CONCDBG_MAX_ATTEMPTS: int('CONCDBG_MAX_ATTEMPTS', 5, 1, 50),
  /** How often an idle worker looks for a job, ms (default 500). */
  CONCDBG_POLL_MS: int('CONCDBG_POLL_MS', 500, 10, 60_000),
  /** Test hook: the worker exits the process right after this step (e.g. review-post). Never set in production. */
  CONCDBG_TEST_CRASH_AFTER: z.string().trim().optional(),
});

export type AppEnv = z.output<typeof envSchema> & { llm: LlmConfig | null; privateKey?: string };

export class EnvError extends Error {
  override name = 'EnvError';
}

/** Validates the environment; throws EnvError with one line naming the variable. */
export function loadEnv(env: Record<string, string | undefined>): AppEnv {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new EnvError(issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`);
  }
  const e = parsed.data;
  try {
    parseDatabaseUrl(e.DATABASE_URL);
  } catch (err) {
    throw new EnvError((err as Error).message);
  }
  let llm: LlmConfig | null;
  try {
    llm = llmConfigFromEnv(env);
  } catch (err) {
    if (err instanceof LlmConfigError) throw new EnvError(err.message);
    throw err;
  }
  if (e.GHE_PROTOCOL && !e.GHE_HOST) throw new EnvError('GHE_PROTOCOL is set without GHE_HOST: set GHE_HOST to your GitHub Enterprise host, or unset GHE_PROTOCOL');
  if (!e.APP_ID) return { ...e, llm }; // Probot's manifest flow registers the app and writes the rest.

  if (!e.PRIVATE_KEY && !e.PRIVATE_KEY_PATH) {
    throw new EnvError('PRIVATE_KEY is missing: set PRIVATE_KEY to the app\'s private key (PEM) or PRIVATE_KEY_PATH to the .pem file downloaded from the app\'s settings');
  }
  if (!e.PRIVATE_KEY && e.PRIVATE_KEY_PATH && !existsSync(e.PRIVATE_KEY_PATH)) {
    throw new EnvError('PRIVATE_KEY_PATH names a file that does not exist: set it to the .pem file downloaded from the app\'s settings');
  }
  if (e.PRIVATE_KEY && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(e.PRIVATE_KEY.replace(/\\n/g, '\n'))) {
    throw new EnvError('PRIVATE_KEY is not a PEM private key: set it to the contents of the .pem file (or use PRIVATE_KEY_PATH)');
  }
  if (!e.WEBHOOK_SECRET) {
    throw new EnvError('WEBHOOK_SECRET is missing: set it to the webhook secret from the GitHub App\'s settings (the same value GitHub signs deliveries with)');
  }
  return { ...e, llm };
}
