import type { z } from 'zod';
import { experimentSpecSchema, type ExperimentSpec } from './experiment-spec';
import { crossFieldIssues, type SpecIssue } from './tasks';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: SpecIssue[] };

/** Turns zod issues into `{ field, message }` pairs with dotted field paths. */
function toSpecIssues(error: z.ZodError, prefix = ''): SpecIssue[] {
  return error.issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: base === '' ? key : `${base}.${key}`,
        message: `unknown field '${key}'`,
      }));
    }
    return [{ field: base === '' ? '(root)' : base, message: issue.message }];
  });
}

/** Parses with a zod schema and reports failures as field issues. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): ParseResult<z.output<S>> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: toSpecIssues(result.error, prefix) };
}

/** Full validation of an experiment spec: schema, defaults, then the cross-field rules. */
export function parseExperimentSpec(input: unknown): ParseResult<ExperimentSpec> {
  const parsed = parseWith(experimentSpecSchema, input);
  if (!parsed.ok) return parsed;
  const issues = crossFieldIssues(parsed.value);
  return issues.length > 0 ? { ok: false, issues } : parsed;
}

/** Formats issues for a log line or a CLI message. */
export function formatIssues(issues: readonly SpecIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}
