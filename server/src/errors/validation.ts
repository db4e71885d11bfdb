import type { z } from 'zod';
import { AppError } from './app-error.ts';

interface IssueLike {
  path: PropertyKey[];
  message: string;
  code?: string;
}

/** VALIDATION_FAILED naming each field and what is wrong with it. */
export function validationError(issues: readonly IssueLike[]): AppError {
  const described = issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(input)', message: issue.message, code: issue.code }));
  const summary = described.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
  return new AppError('VALIDATION_FAILED', `Invalid input. ${summary}`, { issues: described });
}

/**
 * Use-cases validate their own input with the same schemas the API uses, so every
 * entry point (API, CLI, jobs) gets the same rules and the same typed error.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error.issues);
  return result.data;
}
