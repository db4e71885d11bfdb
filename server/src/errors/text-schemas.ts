import { z } from 'zod';

/**
 * A name or label people type: trimmed, not blank, no control characters (they would
 * end up in terminals and CSV exports).
 */
export function humanText(max: number) {
  return z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters');
}
