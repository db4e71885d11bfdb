import type { RouterOutputs } from '../../api.ts';
import { formatMoney } from '../../ui/format.ts';

export type Offer = RouterOutputs['offers']['get'];

/** How many digits a currency's minor unit has (RUB 2, JPY 0, KWD 3). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * "1 234,50" or "1,234.50" → minor units (123450), or null when it is not an amount.
 * The last "." or "," followed by at most the currency's digits is the decimal mark.
 */
export function parseMoney(text: string, currency: string): number | null {
  const compact = text.replace(/[\s\u00a0\u202f']/g, '');
  if (compact === '') return null;
  const digits = currencyDigits(currency);
  const match = /^(\d+(?:[.,]\d{3})*|\d+)(?:[.,](\d+))?$/.exec(compact);
  if (!match) return null;
  let whole = match[1]!;
  let fraction = match[2] ?? '';
  // "1,234" with no decimals: a thousands separator, unless the currency has 3 decimals and it is ambiguous.
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

/** "500.00 ₽ off" or "15% off". */
export function describeValue(offer: Pick<Offer, 'value' | 'currency'>): string {
  return offer.value.type === 'fixed' ? `${formatMoney(offer.value.amountMinor, offer.currency)} off` : `${offer.value.percent}% off`;
}

/** An ISO time as the value of a datetime-local input, in the browser's zone. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value (browser's zone) as an ISO time, or null when empty. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
