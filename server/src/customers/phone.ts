import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export interface NormalisedPhone {
  e164: string;
  /** Last four digits, kept for support ("ending in 4567"). */
  hint: string;
}

/** E.164 if the number is valid, else null. `region` interprets numbers without +country. */
export function normalisePhone(input: string, region: string | null): NormalisedPhone | null {
  if (input.length > 32) return null;
  const parsed = parsePhoneNumberFromString(input, (region ?? undefined) as CountryCode | undefined);
  if (!parsed || !parsed.isValid()) return null;
  return { e164: parsed.number, hint: parsed.number.slice(-4) };
}
