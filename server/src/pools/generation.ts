import { customAlphabet } from 'nanoid';
import { z } from 'zod';
import { timestampSchema } from '../campaigns/campaign.ts';
import { AppError } from '../errors/app-error.ts';
import { humanText } from '../errors/text-schemas.ts';
import { checkCharacter } from './check-character.ts';
import type { CodeRules } from './code-rules.ts';

/** Upper case without the look-alikes 0/O and 1/I/L: 31 characters. */
export const DEFAULT_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** Refuse when the expected number of duplicate draws exceeds this (a 1% chance of any). */
const MAX_EXPECTED_COLLISIONS = 0.01;
export const MAX_GENERATED_CODES = 10_000_000;

export const generateCodesInputSchema = z.strictObject({
  count: z.number().int().min(1).max(MAX_GENERATED_CODES),
  prefix: z
    .string()
    .max(20)
    .regex(/^[A-Za-z0-9_-]*$/, 'must be letters, digits, hyphens or underscores')
    .default('')
    .describe('Fixed, public start of every code, e.g. "SUMMER-".'),
  length: z.number().int().min(4).max(32).default(10).describe('Random characters after the prefix.'),
  alphabet: z
    .string()
    .min(2)
    .max(64)
    .refine((value) => new Set(value).size === [...value].length, 'must not repeat a character')
    .refine((value) => /^[\x21-\x7e]+$/.test(value), 'must be printable ASCII without spaces')
    .default(DEFAULT_ALPHABET),
  checkCharacter: z.boolean().default(false).describe('Append a check character that catches any single mistyped character.'),
  expiresAt: timestampSchema.nullable().default(null),
  name: humanText(200).optional(),
});
export type GenerateCodesInput = z.input<typeof generateCodesInputSchema>;
export type GenerationSpec = Omit<z.output<typeof generateCodesInputSchema>, 'name' | 'expiresAt'>;

/** ln of the expected number of colliding pairs among n draws from `space` = m^length. */
function lnExpectedCollisions(n: number, alphabetSize: number, length: number): number {
  return 2 * Math.log(n) - Math.log(2) - length * Math.log(alphabetSize);
}

/**
 * Refuses a generation whose codes would likely collide with each other or with codes
 * already generated in the same format: such a space is also one where a guessed code
 * is too often a real one. Says which length would do.
 */
export function assertCodeSpace(spec: Pick<GenerationSpec, 'count' | 'alphabet' | 'length'>, existing: number): void {
  const m = spec.alphabet.length;
  const n = spec.count + existing;
  // A hair of tolerance: at the exact boundary, rounding must not refuse the length we would name.
  const fits = (length: number) => lnExpectedCollisions(n, m, length) <= Math.log(MAX_EXPECTED_COLLISIONS) + 1e-9;
  if (fits(spec.length)) return;
  let minimumLength = spec.length + 1;
  while (!fits(minimumLength)) minimumLength += 1;
  throw new AppError(
    'CODE_SPACE_TOO_SMALL',
    `${n.toLocaleString('en')} codes from ${m} characters need a random part of at least ${minimumLength} characters to keep duplicates unlikely; asked for ${spec.length}.`,
    { count: spec.count, existingInFormat: existing, alphabetSize: m, length: spec.length, minimumLength },
  );
}

/** Generated codes must also pass the offer's code rules, or they could never be redeemed as typed. */
export function generationRulesProblem(spec: GenerationSpec, rules: CodeRules): { path: 'length' | 'prefix' | 'alphabet'; message: string } | null {
  const total = spec.prefix.length + spec.length + (spec.checkCharacter ? 1 : 0);
  if (total < rules.minLength || total > rules.maxLength) {
    return { path: 'length', message: `codes would be ${total} characters long; the offer allows ${rules.minLength}-${rules.maxLength}` };
  }
  const convert = rules.case === 'upper' ? (s: string) => s.toUpperCase() : rules.case === 'lower' ? (s: string) => s.toLowerCase() : (s: string) => s;
  const allowed = new Set(rules.characters);
  const badInAlphabet = [...spec.alphabet].find((char) => !allowed.has(char));
  if (rules.case !== 'preserve' && convert(spec.alphabet) !== spec.alphabet) return { path: 'alphabet', message: `the alphabet must be in ${rules.case} case, as the offer's codes are` };
  if (badInAlphabet !== undefined) return { path: 'alphabet', message: `character ${JSON.stringify(badInAlphabet)} is not allowed by the offer's code rules` };
  if (rules.case !== 'preserve' && convert(spec.prefix) !== spec.prefix) return { path: 'prefix', message: `the prefix must be in ${rules.case} case, as the offer's codes are` };
  const badInPrefix = [...spec.prefix].find((char) => !allowed.has(char));
  if (badInPrefix !== undefined) return { path: 'prefix', message: `character ${JSON.stringify(badInPrefix)} is not allowed by the offer's code rules` };
  return null;
}

/** Codes from nanoid's custom alphabet (crypto.getRandomValues underneath, no modulo bias). */
export function codeGenerator(spec: GenerationSpec): () => string {
  const random = customAlphabet(spec.alphabet, spec.length);
  if (!spec.checkCharacter) return () => spec.prefix + random();
  return () => {
    const body = random();
    return spec.prefix + body + checkCharacter(body, spec.alphabet);
  };
}
