import { z } from 'zod';
import type { CodeCase } from '../db/tables.ts';

/** How an offer's codes are written: what an upload is checked against. */
export interface CodeRules {
  case: CodeCase;
  minLength: number;
  maxLength: number;
  /** Every character a code may contain (after the case is applied). */
  characters: string;
}

export const DEFAULT_CODE_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export const codeRulesSchema = z
  .strictObject({
    case: z.enum(['upper', 'lower', 'preserve']).default('upper').describe('upper/lower: codes are converted on upload; preserve: kept as written. Codes are unique regardless of case.'),
    minLength: z.number().int().min(1).max(128).default(4),
    maxLength: z.number().int().min(1).max(128).default(64),
    characters: z
      .string()
      .min(2)
      .max(256)
      .refine((value) => new Set(value).size === [...value].length, 'must not repeat a character')
      .refine((value) => !/[\s,;"\p{Cc}]/u.test(value), 'must not contain whitespace, commas, semicolons, quotes or control characters')
      .default(DEFAULT_CODE_CHARACTERS)
      .describe('Every character a code may contain, after the case is applied.'),
  })
  .refine((rules) => rules.maxLength >= rules.minLength, { path: ['maxLength'], message: 'must not be less than minLength' });

export type CodeRejectReason =
  | 'EMPTY_CODE'
  | 'TOO_SHORT'
  | 'TOO_LONG'
  | 'INVALID_CHARACTERS'
  | 'INVALID_EXPIRY'
  | 'EXPIRY_IN_PAST'
  | 'TOO_MANY_COLUMNS'
  | 'ROW_TOO_LONG'
  | 'MALFORMED_ROW'
  | 'DUPLICATE_IN_FILE'
  | 'ALREADY_EXISTS';

/** Reasons in a reject report and what each means (docs/partner-guide.md lists them). */
export const REJECT_REASONS: Record<CodeRejectReason, string> = {
  EMPTY_CODE: 'The row has no code.',
  TOO_SHORT: 'The code is shorter than the offer allows.',
  TOO_LONG: 'The code is longer than the offer allows.',
  INVALID_CHARACTERS: 'The code contains characters the offer does not allow.',
  INVALID_EXPIRY: 'expires_at is not a date (2027-01-31) or an ISO 8601 date-time with an offset.',
  EXPIRY_IN_PAST: 'expires_at has already passed.',
  TOO_MANY_COLUMNS: 'Without a header row a line holds at most two columns: code and expires_at.',
  ROW_TOO_LONG: 'The row is far longer than any code could be.',
  MALFORMED_ROW: 'The row is not valid CSV (a stray or unclosed quote).',
  DUPLICATE_IN_FILE: 'The same code appears earlier in this file.',
  ALREADY_EXISTS: 'The partner already has this code (in this or another offer, in any state).',
};

export type CodeCheck = { ok: true; code: string } | { ok: false; reason: CodeRejectReason; detail: string };

/** Compiles an offer's rules into a checker for one code at a time. */
export function codeChecker(rules: CodeRules): (raw: string) => CodeCheck {
  const allowed = new Set(rules.characters);
  const convert = rules.case === 'upper' ? (s: string) => s.toUpperCase() : rules.case === 'lower' ? (s: string) => s.toLowerCase() : (s: string) => s;
  return (raw) => {
    const code = convert(raw.trim());
    if (code === '') return { ok: false, reason: 'EMPTY_CODE', detail: 'empty code' };
    const chars = [...code];
    if (chars.length < rules.minLength) return { ok: false, reason: 'TOO_SHORT', detail: `${chars.length} characters; at least ${rules.minLength}` };
    if (chars.length > rules.maxLength) return { ok: false, reason: 'TOO_LONG', detail: `${chars.length} characters; at most ${rules.maxLength}` };
    const bad = chars.find((char) => !allowed.has(char));
    if (bad !== undefined) return { ok: false, reason: 'INVALID_CHARACTERS', detail: `character ${JSON.stringify(bad)} is not allowed` };
    return { ok: true, code };
  };
}
