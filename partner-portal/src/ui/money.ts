/** How many digits a currency's minor unit has (RUB 2, JPY 0, KWD 3). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * An amount people type, in major units ("1 234,50", "1,234.50", "500"), as integer
 * minor units (123450); null when it is not an amount of this currency. The last "."
 * or "," followed by at most the currency's digits is the decimal mark.
 */
export function parseMoney(text: string, currency: string): number | null {
  const compact = text.replace(/[\s\u00a0\u202f']/g, '');
  if (compact === '') return null;
  const digits = currencyDigits(currency);
  const match = /^(\d+(?:[.,]\d{3})*|\d+)(?:[.,](\d+))?$/.exec(compact);
  if (!match) return null;
  let whole = match[1]!;
  let fraction = match[2] ?? '';
  // "1,234" with no decimals: a thousands separator.
  if (!match[2] && /[.,]/.test(whole)) whole = whole.replace(/[.,]/g, '');
  whole = whole.replace(/[.,]/g, '');
  if (fraction.length > digits) return null;
  fraction = fraction.padEnd(digits, '0');
  const minor = Number(whole) * 10 ** digits + (fraction ? Number(fraction) : 0);
  return Number.isSafeInteger(minor) ? minor : null;
}

/** Minor units as an editable amount: 123450 → "1234.50". */
export function minorToInput(minor: number | null | undefined, currency: string): string {
  if (minor === null || minor === undefined) return '';
  const digits = currencyDigits(currency);
  if (digits === 0) return String(minor);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 10 ** digits)}.${String(abs % 10 ** digits).padStart(digits, '0')}`;
}
