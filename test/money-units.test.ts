import { describe, expect, it } from 'vitest';
import { formatMinor, minorDigits } from '../server/src/system/money.ts';

describe('money for people', () => {
  it("uses each currency's own minor unit", () => {
    expect([minorDigits('RUB'), minorDigits('EUR'), minorDigits('JPY'), minorDigits('KWD')]).toEqual([2, 2, 0, 3]);
  });

  it('formats minor units exactly, with thousands separators and a minus sign', () => {
    expect(formatMinor(123_456, 'RUB')).toBe('1,234.56 RUB');
    expect(formatMinor(5, 'EUR')).toBe('0.05 EUR');
    expect(formatMinor(-2_500, 'RUB')).toBe('−25.00 RUB');
    expect(formatMinor(1_500, 'JPY')).toBe('1,500 JPY');
    expect(formatMinor(1_234, 'KWD')).toBe('1.234 KWD');
    expect(formatMinor(0, 'RUB')).toBe('0.00 RUB');
    // Beyond what a double holds as cents of a float: still exact.
    expect(formatMinor(9_007_199_254_740_991, 'RUB')).toBe('90,071,992,547,409.91 RUB');
  });
});
