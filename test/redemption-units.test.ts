import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OfferTerms } from '../server/src/offers/offer.ts';
import { checkCharacter } from '../server/src/pools/check-character.ts';
import { codeGenerator, DEFAULT_ALPHABET } from '../server/src/pools/generation.ts';
import { checkAgainst, mistypedCode, shapeOfChecked, shapesOverlap, type CheckedFormat } from '../server/src/redemptions/code-formats.ts';
import { discountOn, percentOf } from '../server/src/redemptions/redemption.ts';

const terms = (value: OfferTerms['value']): OfferTerms => ({ title: 'Offer', description: '', value, currency: 'RUB', minOrderMinor: null, termsUrl: null });

/** Percent values with at most two decimals, as the schemas allow: (0, 100]. */
const percentArb = fc.integer({ min: 1, max: 10_000 }).map((basisPoints) => basisPoints / 100);
const amountArb = fc.integer({ min: 0, max: 1_000_000_000_000 });

describe('percentOf', () => {
  it('takes the percentage of an amount in minor units, rounding half up', () => {
    const cases: [number, number, number][] = [
      [100_000, 12.5, 12_500],
      [100_004, 12.5, 12_501], // 12,500.5
      [100_003, 12.5, 12_500], // 12,500.375
      [100_005, 12.5, 12_501], // 12,500.625
      [4, 12.5, 1], // 0.5
      [3, 12.5, 0], // 0.375
      [1, 50, 1], // 0.5
      [1, 49.99, 0],
      [200, 0.25, 1], // 0.5
      [199, 0.25, 0], // 0.4975
      [0, 37.5, 0],
      [12_345, 100, 12_345],
      [300_020, 2.5, 7_501], // 7,500.5
      [123_456_789, 0.01, 12_346], // 12,345.6789
    ];
    for (const [amount, percent, expected] of cases) expect(percentOf(amount, percent), `${percent}% of ${amount}`).toBe(expected);
  });

  it('is exact for percents that binary floating point cannot hold, and for the largest amounts', () => {
    // 1.15 × 100 is 114.99999999999999 in floating point; 2.3 × 100 is 229.99999999999997.
    expect(percentOf(10_000, 1.15)).toBe(115);
    expect(percentOf(1_000_000, 2.3)).toBe(23_000);
    expect(percentOf(100, 0.07)).toBe(0); // 0.07
    expect(percentOf(10_000, 0.07)).toBe(7);
    expect(percentOf(1_000_000_000_000, 99.99)).toBe(999_900_000_000);
    // 333,299,999,999.6667: in doubles amount × percent / 100 drifts; integers do not.
    expect(percentOf(999_999_999_999, 33.33)).toBe(333_300_000_000);
    expect(percentOf(999_999_999_999, 0.01)).toBe(100_000_000); // 99,999,999.9999
    expect(percentOf(1_000_000_000_000, 100)).toBe(1_000_000_000_000);
  });

  it('is within half a minor unit of the exact value, rounding exact halves up (property)', () => {
    fc.assert(
      fc.property(amountArb, fc.integer({ min: 1, max: 10_000 }), (amount, basisPoints) => {
        const result = BigInt(percentOf(amount, basisPoints / 100));
        // 10,000 × (result − exact) lies in (−½, ½] × 10,000.
        const error = result * 10_000n - BigInt(amount) * BigInt(basisPoints);
        return error > -5_000n && error <= 5_000n;
      }),
      { numRuns: 2_000 },
    );
  });

  it('never exceeds the amount and grows with it (property)', () => {
    fc.assert(
      fc.property(amountArb, fc.integer({ min: 0, max: 1_000_000 }), percentArb, (amount, extra, percent) => {
        const result = percentOf(amount, percent);
        return Number.isSafeInteger(result) && result >= 0 && result <= amount && percentOf(amount + extra, percent) >= result;
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('discountOn', () => {
  it('gives a fixed value, never more than the order', () => {
    const fixed = terms({ type: 'fixed', amountMinor: 50_000 });
    expect(discountOn(fixed, 80_000)).toBe(50_000);
    expect(discountOn(fixed, 50_000)).toBe(50_000);
    expect(discountOn(fixed, 49_999)).toBe(49_999);
    expect(discountOn(fixed, 1)).toBe(1);
    expect(discountOn(fixed, 0)).toBe(0);
  });

  it('gives the percentage of the order, rounded half up', () => {
    const percent = terms({ type: 'percent', percent: 12.5 });
    expect(discountOn(percent, 100_004)).toBe(12_501);
    expect(discountOn(percent, 100_003)).toBe(12_500);
    expect(discountOn(percent, 0)).toBe(0);
    expect(discountOn(terms({ type: 'percent', percent: 100 }), 77_777)).toBe(77_777);
    expect(discountOn(terms({ type: 'percent', percent: 1.15 }), 10_000)).toBe(115);
  });

  it('is never negative nor more than the order, for either kind of value (property)', () => {
    const valueArb = fc.oneof(
      fc.integer({ min: 1, max: 1_000_000_000_000 }).map((amountMinor) => ({ type: 'fixed' as const, amountMinor })),
      percentArb.map((percent) => ({ type: 'percent' as const, percent })),
    );
    fc.assert(
      fc.property(valueArb, amountArb, (value, amount) => {
        const discount = discountOn(terms(value), amount);
        const bound = value.type === 'fixed' ? Math.min(value.amountMinor, amount) : amount;
        return Number.isSafeInteger(discount) && discount >= 0 && discount <= bound && (value.type !== 'fixed' || discount === bound);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('checkAgainst', () => {
  const spring: CheckedFormat = { prefix: 'SPR-', length: 8, alphabet: DEFAULT_ALPHABET };

  it("passes the partner guide's example and refuses it with a wrong last character, in any case", () => {
    expect(checkCharacter('7KQ2MX9P', DEFAULT_ALPHABET)).toBe('J');
    expect(checkAgainst(spring, 'SPR-7KQ2MX9PJ')).toBe('passes');
    expect(checkAgainst(spring, 'spr-7kq2mx9pj')).toBe('passes');
    expect(checkAgainst(spring, 'Spr-7kQ2mX9pJ')).toBe('passes');
    expect(checkAgainst(spring, 'SPR-7KQ2MX9PK')).toBe('fails');
    expect(checkAgainst(spring, 'spr-7kq2mx9pk')).toBe('fails');
    // One character of the random part changed, or two neighbours swapped (odd alphabet size).
    expect(checkAgainst(spring, 'SPR-7KQ2MX8PJ')).toBe('fails');
    expect(checkAgainst(spring, 'SPR-K7Q2MX9PJ')).toBe('fails');
  });

  it("says 'other' for a code without the format's shape: prefix, length or alphabet", () => {
    expect(checkAgainst(spring, 'SPX-7KQ2MX9PJ')).toBe('other');
    expect(checkAgainst(spring, '7KQ2MX9PJ')).toBe('other');
    expect(checkAgainst(spring, 'SPR-7KQ2MX9P')).toBe('other');
    expect(checkAgainst(spring, 'SPR-7KQ2MX9PJJ')).toBe('other');
    // 0, O, 1, I and L are not in the default alphabet.
    expect(checkAgainst(spring, 'SPR-7KQ2MX9P0')).toBe('other');
    expect(checkAgainst(spring, 'SPR-OKQ2MX9PJ')).toBe('other');
    expect(checkAgainst(spring, 'SPR-7KQ2MX9PL')).toBe('other');
    expect(checkAgainst(spring, 'SPR 7KQ2MX9PJ')).toBe('other');
    expect(checkAgainst(spring, '')).toBe('other');
  });

  it('ignores case for a lower-case alphabet and a prefix in mixed case', () => {
    const alphabet = DEFAULT_ALPHABET.toLowerCase();
    const format: CheckedFormat = { prefix: 'Sale_', length: 6, alphabet };
    const body = 'k7q2mx';
    const code = `Sale_${body}${checkCharacter(body, alphabet)}`;
    for (const typed of [code, code.toUpperCase(), code.toLowerCase()]) expect(checkAgainst(format, typed), typed).toBe('passes');
    const wrong = [...alphabet].find((char) => char !== code.at(-1))!;
    expect(checkAgainst(format, code.slice(0, -1) + wrong)).toBe('fails');
    expect(checkAgainst(format, (code.slice(0, -1) + wrong).toUpperCase())).toBe('fails');
  });

  it('works without a prefix and with digits only (the Luhn check digit)', () => {
    const luhn: CheckedFormat = { prefix: '', length: 10, alphabet: '0123456789' };
    expect(checkAgainst(luhn, '79927398713')).toBe('passes');
    expect(checkAgainst(luhn, '79927398710')).toBe('fails');
    expect(checkAgainst(luhn, '7992739871')).toBe('other');
    expect(checkAgainst(luhn, '7992739871A')).toBe('other');
  });

  it('with an alphabet that tells the cases apart, passes the exact code and never refuses another case of it (lookups ignore case)', () => {
    const alphabet = 'abcdefghjkABCDEFGHJK';
    const format: CheckedFormat = { prefix: '7-', length: 6, alphabet };
    const body = 'aBcDeF';
    const code = `7-${body}${checkCharacter(body, alphabet)}`;
    expect(checkAgainst(format, code)).toBe('passes');
    // Not refused: the lookup, which ignores case, decides.
    for (const typed of [code.toUpperCase(), code.toLowerCase()]) expect(checkAgainst(format, typed), typed).not.toBe('fails');
    const wrong = [...alphabet].find((char) => char !== code.at(-1))!;
    expect(checkAgainst(format, code.slice(0, -1) + wrong)).not.toBe('fails');
    expect(mistypedCode([format], code.toUpperCase())).toBe(false);
  });

  it('passes every generated code, in any case, and fails every single-character substitution (property)', () => {
    const alphabets = [DEFAULT_ALPHABET, DEFAULT_ALPHABET.toLowerCase(), '0123456789', 'ABCDEFGH', 'XYZ'];
    fc.assert(
      fc.property(
        fc.constantFrom(...alphabets),
        fc.constantFrom('', 'A-', 'promo_', 'X1-'),
        fc.integer({ min: 4, max: 12 }),
        fc.nat(),
        fc.nat(),
        (alphabet, prefix, length, at, pick) => {
          const code = codeGenerator({ count: 1, prefix, length, alphabet, checkCharacter: true })();
          const format = { prefix, length, alphabet };
          expect(checkAgainst(format, code)).toBe('passes');
          expect(checkAgainst(format, code.toLowerCase())).toBe('passes');
          expect(checkAgainst(format, code.toUpperCase())).toBe('passes');
          expect(mistypedCode([format], code)).toBe(false);
          const index = prefix.length + (at % (length + 1));
          const others = [...alphabet].filter((char) => char !== code[index]);
          const typo = code.slice(0, index) + others[pick % others.length] + code.slice(index + 1);
          expect(checkAgainst(format, typo)).toBe('fails');
          expect(mistypedCode([format], typo)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('mistypedCode', () => {
  const spring: CheckedFormat = { prefix: 'SPR-', length: 8, alphabet: DEFAULT_ALPHABET };
  const digits: CheckedFormat = { prefix: 'SPR-', length: 8, alphabet: '0123456789' };
  const summer: CheckedFormat = { prefix: 'SUM', length: 5, alphabet: 'ABCDEFGH' };

  it('is a mistyped code only if it fails a format of its shape and passes none', () => {
    expect(mistypedCode([], 'SPR-7KQ2MX9PK')).toBe(false);
    expect(mistypedCode([spring], 'SPR-7KQ2MX9PK')).toBe(true);
    expect(mistypedCode([spring], 'spr-7kq2mx9pk')).toBe(true);
    expect(mistypedCode([spring], 'SPR-7KQ2MX9PJ')).toBe(false);
    expect(mistypedCode([spring], 'OTHER-CODE')).toBe(false);
    // Several formats: the one of its shape decides; the others say 'other'.
    expect(mistypedCode([summer, spring], 'SPR-7KQ2MX9PK')).toBe(true);
    expect(mistypedCode([summer, spring], 'SPR-7KQ2MX9PJ')).toBe(false);
    const summerBody = 'ABHGC';
    const summerCode = `SUM${summerBody}${checkCharacter(summerBody, 'ABCDEFGH')}`;
    expect(mistypedCode([spring, summer], summerCode)).toBe(false);
    expect(mistypedCode([spring, summer], summerCode.toLowerCase())).toBe(false);
    const wrong = 'ABCDEFGH'.replace(summerCode.at(-1)!, '')[0]!;
    expect(mistypedCode([spring, summer], summerCode.slice(0, -1) + wrong)).toBe(true);
  });

  it('does not refuse a code that passes one format while failing another of the same shape', () => {
    // Digits only, so it has the shape of both formats; it passes the digit one.
    const body = '31415926';
    const code = `SPR-${body}${checkCharacter(body, '0123456789')}`;
    expect(checkAgainst(digits, code)).toBe('passes');
    const asSpring = checkAgainst(spring, code);
    // The default alphabet has 2-9 but no 0 or 1: '31415926' holds a 1, so spring says 'other'.
    expect(asSpring).toBe('other');
    const both = '23456789';
    const passesDigits = `SPR-${both}${checkCharacter(both, '0123456789')}`;
    // The default alphabet's check character of that body is Y, the digits' is 9.
    expect(passesDigits).toBe('SPR-234567899');
    expect(checkCharacter(both, DEFAULT_ALPHABET)).toBe('Y');
    expect(checkAgainst(spring, passesDigits)).toBe('fails');
    expect(checkAgainst(digits, passesDigits)).toBe('passes');
    expect(mistypedCode([spring, digits], passesDigits)).toBe(false);
    expect(mistypedCode([digits, spring], passesDigits)).toBe(false);
    expect(mistypedCode([spring], passesDigits)).toBe(true);
    // Failing both is refused; passing both is not.
    expect(mistypedCode([spring, digits], 'SPR-234567892')).toBe(true);
    expect(mistypedCode([spring, digits], 'SPR-987654324')).toBe(false);
  });
});

describe('shapesOverlap', () => {
  const checked = shapeOfChecked({ prefix: 'GIFT-', length: 8, alphabet: DEFAULT_ALPHABET });
  it('meets a shape only where one code could have both, position by position and without regard to case', () => {
    expect(shapesOverlap(checked, { prefix: 'GIFT-', length: 9, alphabet: DEFAULT_ALPHABET })).toBe(true);
    expect(shapesOverlap(checked, { prefix: 'gift-', length: 9, alphabet: DEFAULT_ALPHABET.toLowerCase() })).toBe(true);
    expect(shapesOverlap(checked, { prefix: 'GIF', length: 11, alphabet: 'T-' + DEFAULT_ALPHABET })).toBe(true);
    expect(shapesOverlap(checked, { prefix: 'GIFT-', length: 8, alphabet: DEFAULT_ALPHABET })).toBe(false);
    expect(shapesOverlap(checked, { prefix: 'GIFU-', length: 9, alphabet: DEFAULT_ALPHABET })).toBe(false);
    expect(shapesOverlap(checked, { prefix: 'GIF', length: 11, alphabet: DEFAULT_ALPHABET })).toBe(false);
    expect(shapesOverlap(checked, { prefix: 'GIFT-', length: 9, alphabet: '01' })).toBe(false);
  });

  it('agrees with generated codes: a code of one shape found fitting the other means they overlap', () => {
    fc.assert(
      fc.property(fc.constantFrom('A-', 'AB', 'B-', ''), fc.integer({ min: 1, max: 4 }), fc.constantFrom('AB', 'BC', 'XY', 'AB-'), (prefix, length, alphabet) => {
        const other = { prefix, length, alphabet };
        const small = shapeOfChecked({ prefix: 'A', length: 2, alphabet: 'AB' });
        const fits = (code: string) => checkAgainst({ prefix: 'A', length: 2, alphabet: 'AB' }, code) !== 'other';
        // Every code of `other` (small spaces: enumerate them all).
        const codes: string[] = [prefix];
        for (let i = 0; i < length; i++) codes.splice(0, codes.length, ...codes.flatMap((start) => [...alphabet].map((char) => start + char)));
        expect(shapesOverlap(small, other)).toBe(codes.some(fits));
      }),
    );
  });
});
