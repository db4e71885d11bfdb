/**
 * Check characters for generated codes: one extra character computed from the random
 * part, so a shop can refuse a mistyped code before looking it up.
 *
 * Any single-character substitution is caught, for any alphabet size M: every
 * position's weight is a unit modulo M, so changing one character always changes the
 * weighted sum. For odd M (the default alphabet has 31 characters) the weights
 * alternate 1 and 2, which also catches every swap of two adjacent characters; for
 * even M, Luhn mod N (which doubles every other value, a permutation when M is even)
 * catches all but one kind of adjacent swap.
 */
export function checkCharacter(body: string, alphabet: string): string {
  const m = alphabet.length;
  let sum = 0;
  // Weights count from the right, so the character next to the check one is doubled.
  for (let i = body.length - 1, position = 0; i >= 0; i--, position++) {
    const value = alphabet.indexOf(body[i]!);
    if (value < 0) throw new Error(`"${body[i]}" is not in the code alphabet`);
    if (position % 2 === 0) {
      const doubled = value * 2;
      sum += m % 2 === 1 ? doubled : Math.floor(doubled / m) + (doubled % m);
    } else {
      sum += value;
    }
  }
  return alphabet[(m - (sum % m)) % m]!;
}

/** True when the last character of `code` is the check character of the rest. */
export function hasValidCheckCharacter(code: string, alphabet: string): boolean {
  if (code.length < 2) return false;
  const body = code.slice(0, -1);
  for (const char of code) if (!alphabet.includes(char)) return false;
  return checkCharacter(body, alphabet) === code.at(-1);
}
