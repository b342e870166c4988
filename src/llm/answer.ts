/**
 * Parsing the model's text into diagnoses without throwing, so a malformed answer can be repaired
 * (its error sent back once) and its usage still counted. Items whose only fault is an unknown
 * failure mode are dropped on their own; any other schema fault makes the whole answer malformed.
 */
import { z } from 'zod';
import { answerSchema, diagnosisSchema, looseModeDiagnosisSchema, type Diagnosis } from './schema.js';
import { outputFormat } from './request.js';

export type ParsedAnswer =
  | { ok: true; diagnoses: Diagnosis[]; unknownModes: number }
  | { ok: false; error: string; raw: string };

const envelope = z.object({ diagnoses: z.array(z.unknown()) });

export function parseAnswer(content: string): ParsedAnswer {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (e) {
    return { ok: false, error: `not valid JSON (${e instanceof Error ? e.message : String(e)})`, raw: content };
  }
  const env = envelope.safeParse(json);
  if (!env.success) return { ok: false, error: describe(env.error, ''), raw: content };
  const diagnoses: Diagnosis[] = [];
  const errors: string[] = [];
  let unknownModes = 0;
  env.data.diagnoses.forEach((item, i) => {
    const strict = diagnosisSchema.safeParse(item);
    if (strict.success) diagnoses.push(strict.data);
    else if (looseModeDiagnosisSchema.safeParse(item).success) unknownModes++;
    else errors.push(describe(strict.error, `diagnoses.${i}.`));
  });
  if (errors.length > 0) return { ok: false, error: errors.slice(0, 5).join('; '), raw: content };
  return { ok: true, diagnoses, unknownModes };
}

function describe(error: z.ZodError, prefix: string): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${prefix}${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** output_config.format for messages.parse: the strict JSON schema of answerSchema, parsed by parseAnswer. */
export function parseableOutputFormat() {
  const base = outputFormat();
  return { type: base.type, schema: base.schema, parse: parseAnswer };
}

export type { Answer } from './schema.js';
export { answerSchema };
