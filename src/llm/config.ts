/**
 * LLM settings, read once from the environment through one zod schema.
 * No key means no LLM: `llmConfigFromEnv` returns null and the engine diagnoses offline.
 */
import { z } from 'zod';

/**
 * Default model: the current Sonnet in @anthropic-ai/sdk 1.14.0's model list, not in the SDK's
 * deprecation table (claude-sonnet-4-5 reaches end of life on 2026-11-30, claude-opus-4-5 on 2027-01-22).
 * Sonnet rather than Opus: the method needs careful reasoning over a few short regions, and
 * reviews run on every push, so cost per review matters.
 */
export const DEFAULT_MODEL = 'claude-sonnet-5-5';

const intFromEnv = (def: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? def);

/** The environment variables the LLM layer reads (all strings, as the environment gives them). */
export const llmEnvSchema = z.object({
  /** Anthropic API key. Absent or empty: no LLM, offline diagnosis. */
  ANTHROPIC_API_KEY: z.string().trim().optional(),
  /** Base URL of the Messages API (a proxy or a local fake); the SDK's default when absent. */
  ANTHROPIC_BASE_URL: z.string().trim().pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })).optional(),
  /** Model id; default DEFAULT_MODEL. */
  CONCDBG_MODEL: z.string().trim().min(1).optional(),
  /** Per-review input-token budget (estimated, chars/4). Candidates beyond it are diagnosed offline. */
  CONCDBG_LLM_INPUT_BUDGET: intFromEnv(24_000, 1_000, 1_000_000),
  /** Per-installation daily token budget (input + output), enforced through the store. Absent: no daily cap. */
  CONCDBG_LLM_DAILY_BUDGET: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .optional(),
  /** Max output tokens per request. */
  CONCDBG_LLM_MAX_TOKENS: intFromEnv(8_192, 256, 64_000),
  /** Per-attempt timeout in milliseconds. */
  CONCDBG_LLM_TIMEOUT_MS: intFromEnv(60_000, 1_000, 600_000),
  /** Retries of 408/409/429/5xx/529 and connection errors, with the SDK's backoff. */
  CONCDBG_LLM_MAX_RETRIES: intFromEnv(2, 0, 10),
  /** LLM findings below this confidence are dropped (new) or replaced by the offline diagnosis (candidates). */
  CONCDBG_LLM_MIN_CONFIDENCE: z
    .string()
    .trim()
    .transform(Number)
    .pipe(z.number().min(0).max(1))
    .optional()
    .transform((v) => v ?? 0.5),
});

export interface LlmConfig {
  apiKey: string;
  /** undefined: the SDK's default (which itself honours ANTHROPIC_BASE_URL). */
  baseURL?: string;
  model: string;
  /** Max output tokens per request. */
  maxTokens: number;
  /** Per-review input-token budget (estimated). */
  inputTokenBudget: number;
  minConfidence: number;
  /** Per-installation daily token budget; undefined = unlimited. */
  dailyTokenBudget?: number;
  timeoutMs: number;
  maxRetries: number;
  /** Candidates per request; more are split into further requests (bounds the output size). */
  maxCandidatesPerRequest: number;
}

export class LlmConfigError extends Error {
  override name = 'LlmConfigError';
}

/**
 * Builds the LLM config from an environment (process.env or a test object).
 * Returns null when ANTHROPIC_API_KEY is absent or empty (offline). Throws LlmConfigError with one
 * readable line per bad variable; the message never contains the key.
 */
export function llmConfigFromEnv(env: Record<string, string | undefined>): LlmConfig | null {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(llmEnvSchema.shape)) {
    const v = env[key];
    // An empty variable counts as unset, as shells and .env files often leave them.
    if (v !== undefined && v.trim() !== '') picked[key] = v;
  }
  const parsed = llmEnvSchema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new LlmConfigError(`invalid LLM settings: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  if (!e.ANTHROPIC_API_KEY) return null;
  const config: LlmConfig = {
    apiKey: e.ANTHROPIC_API_KEY,
    model: e.CONCDBG_MODEL ?? DEFAULT_MODEL,
    maxTokens: e.CONCDBG_LLM_MAX_TOKENS,
    inputTokenBudget: e.CONCDBG_LLM_INPUT_BUDGET,
    minConfidence: e.CONCDBG_LLM_MIN_CONFIDENCE,
    timeoutMs: e.CONCDBG_LLM_TIMEOUT_MS,
    maxRetries: e.CONCDBG_LLM_MAX_RETRIES,
    maxCandidatesPerRequest: 8,
  };
  if (e.ANTHROPIC_BASE_URL) config.baseURL = e.ANTHROPIC_BASE_URL;
  if (e.CONCDBG_LLM_DAILY_BUDGET !== undefined) config.dailyTokenBudget = e.CONCDBG_LLM_DAILY_BUDGET;
  return config;
}
