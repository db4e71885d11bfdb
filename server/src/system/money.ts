/** Money for people and files: amounts are integer minor units with an ISO 4217 currency. */

/** Digits of the currency's minor unit, from ICU: RUB and EUR 2, JPY 0, KWD 3. */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Minor units as an amount for people, exactly (no floating point): 123456 RUB → "1,234.56 RUB", −500 → "−5.00 RUB". */
export function formatMinor(amountMinor: number, currency: string): string {
  const digits = minorDigits(currency);
  const sign = amountMinor < 0 ? '−' : '';
  const absolute = BigInt(Math.abs(amountMinor));
  const scale = 10n ** BigInt(digits);
  const whole = (absolute / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = digits ? `.${(absolute % scale).toString().padStart(digits, '0')}` : '';
  return `${sign}${whole}${fraction} ${currency}`;
}
