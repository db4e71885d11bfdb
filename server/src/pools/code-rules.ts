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

/** Why a row is in the reject report (docs/partner-guide.md explains each). */
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
  | 'ALREADY_EXISTS'
  | 'CHECK_CHARACTER_CONFLICT';

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
