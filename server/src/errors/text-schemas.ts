import { z } from 'zod';

/** No control characters (they would end up in terminals and CSV exports) and no lone UTF-16 surrogate (PostgreSQL refuses it in JSON). */
export function isPrintableText(value: string): boolean {
  return !/\p{Cc}/u.test(value) && !LONE_SURROGATE.test(value);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const PRINTABLE_TEXT = 'must not contain control characters or broken Unicode';

/** A name or label people type: trimmed, not blank, printable text. */
export function humanText(max: number) {
  return z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine(isPrintableText, PRINTABLE_TEXT);
}
