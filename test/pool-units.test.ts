import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CsvRecordReader, type CsvRecord } from '../server/src/pools/csv-records.ts';
import { checkCharacter, hasValidCheckCharacter } from '../server/src/pools/check-character.ts';
import { assertCodeSpace, codeGenerator, DEFAULT_ALPHABET, generationRulesProblem, type GenerationSpec } from '../server/src/pools/generation.ts';
import { CodeVault, maskCode } from '../server/src/pools/code-vault.ts';
import { parseExpiry } from '../server/src/pools/expiry.ts';
import { codeChecker, DEFAULT_CODE_CHARACTERS, type CodeRules } from '../server/src/pools/code-rules.ts';
import { Secrets } from '../server/src/secrets/secrets.ts';
import { AppError } from '../server/src/errors/app-error.ts';

function readCsv(chunks: string | string[], delimiter = ',', maxRecordChars = 1000): CsvRecord[] {
  const reader = new CsvRecordReader({ delimiter, maxRecordChars });
  const out: CsvRecord[] = [];
  for (const chunk of typeof chunks === 'string' ? [chunks] : chunks) out.push(...reader.push(chunk));
  return [...out, ...reader.end()];
}
const rec = (line: number, ...fields: string[]): CsvRecord => ({ line, fields });

describe('CsvRecordReader', () => {
  it('strips a leading BOM, also when it arrives as its own chunk', () => {
    expect(readCsv('\uFEFFcode,exp\nX,1\n')).toEqual([rec(1, 'code', 'exp'), rec(2, 'X', '1')]);
    expect(readCsv(['\uFEFF', 'code\n'])).toEqual([rec(1, 'code')]);
  });

  it('handles CRLF, LF and lone CR mixed in one input, counting each as one line', () => {
    expect(readCsv('a\r\nb\nc\rd\r\n\re\n')).toEqual([rec(1, 'a'), rec(2, 'b'), rec(3, 'c'), rec(4, 'd'), rec(6, 'e')]);
  });

  it('treats a CRLF split across two chunks as a single line break', () => {
    expect(readCsv(['a\r', '\nb\n'])).toEqual([rec(1, 'a'), rec(2, 'b')]);
    expect(readCsv(['a\r', '\r\nb'])).toEqual([rec(1, 'a'), rec(3, 'b')]);
  });

  it('reads quoted fields with delimiters, "" escapes and line breaks, keeping later line numbers right', () => {
    const input = '"x,y","say ""hi"""\n"multi\nline\rvalue",z\nafter\n';
    expect(readCsv(input)).toEqual([rec(1, 'x,y', 'say "hi"'), rec(2, 'multi\nline\rvalue', 'z'), rec(5, 'after')]);
  });

  it('keeps a CRLF inside a quoted field as written', () => {
    expect(readCsv('"a\r\nb",c\r\nnext\r\n')).toEqual([rec(1, 'a\r\nb', 'c'), rec(3, 'next')]);
  });

  it('skips blank and whitespace-only lines but counts them; the last record needs no line break', () => {
    const reader = new CsvRecordReader({ delimiter: ',', maxRecordChars: 100 });
    expect(reader.push('\n   \n\t\nA\n \r\nB')).toEqual([rec(4, 'A')]);
    expect(reader.end()).toEqual([rec(6, 'B')]);
  });

  it('counts maxRecordChars inclusively', () => {
    expect(readCsv('a'.repeat(10) + '\n', ',', 10)).toEqual([rec(1, 'a'.repeat(10))]);
    expect(readCsv('a'.repeat(11) + '\n', ',', 10)).toMatchObject([{ line: 1, problem: 'ROW_TOO_LONG' }]);
  });

  it('turns an over-long record into one ROW_TOO_LONG with a short preview and reads on', () => {
    const records = readCsv('short\n' + 'X'.repeat(100) + ',y\nafter\n', ',', 20);
    expect(records).toHaveLength(3);
    expect(records[0]).toEqual(rec(1, 'short'));
    expect(records[1]).toMatchObject({ line: 2, problem: 'ROW_TOO_LONG', detail: expect.stringContaining('20') });
    const preview = (records[1] as { preview: string }).preview;
    expect(preview.length).toBeGreaterThan(0);
    expect(preview.length).toBeLessThanOrEqual(40);
    expect(preview).toMatch(/^X+$/);
    expect(records[2]).toEqual(rec(3, 'after'));
  });

  it('keeps line numbers right after an over-long quoted multi-line record', () => {
    const records = readCsv('"' + 'x\n'.repeat(30) + '"\nafter\n', ',', 20);
    expect(records).toMatchObject([{ line: 1, problem: 'ROW_TOO_LONG' }, { line: 32, fields: ['after'] }]);
  });

  it('does not buffer a 50 MB line fed in 64 KiB chunks', () => {
    const reader = new CsvRecordReader({ delimiter: ',', maxRecordChars: 1000 });
    const chunk = 'Z'.repeat(64 * 1024);
    const out: CsvRecord[] = [...reader.push('head\n')];
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    for (let i = 0; i < 800; i++) {
      out.push(...reader.push(chunk));
      if (i % 20 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    out.push(...reader.push('\nnext,1\n'), ...reader.end());
    expect(peak - before).toBeLessThan(20 * 1024 * 1024);
    expect(out).toHaveLength(3);
    expect(out[0]).toEqual(rec(1, 'head'));
    expect(out[1]).toMatchObject({ line: 2, problem: 'ROW_TOO_LONG' });
    expect((out[1] as { preview: string }).preview).toMatch(/^Z{1,40}$/);
    expect(out[2]).toEqual(rec(3, 'next', '1'));
  });

  it('reports text after a closing quote as MALFORMED_ROW and reads on', () => {
    expect(readCsv('"ab"cd,e\nnext\n')).toEqual([
      { line: 1, problem: 'MALFORMED_ROW', detail: expect.any(String), preview: expect.stringContaining('ab') },
      rec(2, 'next'),
    ]);
  });

  it('reports a quote left open at the end of the input as MALFORMED_ROW', () => {
    expect(readCsv('ok\n"abc,def\nghi')).toMatchObject([rec(1, 'ok'), { line: 2, problem: 'MALFORMED_ROW' }]);
  });

  it('splits on ";" and tab delimiters, leaving commas in fields', () => {
    expect(readCsv('a;b,c;"d;e"\n', ';')).toEqual([rec(1, 'a', 'b,c', 'd;e')]);
    expect(readCsv('a\tb;c\t"d\te"\n', '\t')).toEqual([rec(1, 'a', 'b;c', 'd\te')]);
  });

  it('gives the same records however the input is chunked', () => {
    const csvish = fc.array(fc.constantFrom('a', 'b', ' ', ',', ';', '"', '\r', '\n', '\uFEFF'), { maxLength: 40 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(csvish, fc.array(fc.nat(), { maxLength: 5 }), fc.integer({ min: 3, max: 50 }), (text, cuts, max) => {
        const whole = readCsv(text, ',', max);
        expect(readCsv([...text], ',', max)).toEqual(whole);
        const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...points].map((start, i) => text.slice(start, [...points, text.length][i]));
        expect(readCsv(pieces, ',', max)).toEqual(whole);
        for (let i = 1; i < whole.length; i++) expect(whole[i]!.line).toBeGreaterThan(whole[i - 1]!.line);
      }),
      { numRuns: 500 },
    );
  });
});

describe('check characters', () => {
  const alphabets = { odd31: DEFAULT_ALPHABET, even36: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', digits: '0123456789' };
  const validCode = (alphabet: string) =>
    fc.array(fc.integer({ min: 0, max: alphabet.length - 1 }), { minLength: 1, maxLength: 12 }).map((values) => {
      const body = values.map((v) => alphabet[v]).join('');
      return body + checkCharacter(body, alphabet);
    });

  it('matches the Luhn check digit for the 10-digit alphabet', () => {
    expect(checkCharacter('7992739871', alphabets.digits)).toBe('3');
    expect(hasValidCheckCharacter('79927398713', alphabets.digits)).toBe(true);
  });

  it.each(Object.entries(alphabets))('%s: valid codes verify and every single substitution is caught', (_, alphabet) => {
    fc.assert(
      fc.property(validCode(alphabet), (code) => {
        expect(hasValidCheckCharacter(code, alphabet)).toBe(true);
        for (let i = 0; i < code.length; i++) {
          for (const other of alphabet) {
            if (other === code[i]) continue;
            const changed = code.slice(0, i) + other + code.slice(i + 1);
            if (hasValidCheckCharacter(changed, alphabet)) throw new Error(`${changed} passes as ${code} with ${other} at ${i}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('odd alphabet: every adjacent transposition of distinct characters is caught', () => {
    fc.assert(
      fc.property(validCode(DEFAULT_ALPHABET), (code) => {
        for (let i = 0; i + 1 < code.length; i++) {
          if (code[i] === code[i + 1]) continue;
          const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
          if (hasValidCheckCharacter(swapped, DEFAULT_ALPHABET)) throw new Error(`${swapped} passes as ${code}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rejects characters outside the alphabet and codes without a body', () => {
    const body = 'ABCDEFGH';
    const code = body + checkCharacter(body, DEFAULT_ALPHABET);
    expect(hasValidCheckCharacter(code, DEFAULT_ALPHABET)).toBe(true);
    for (const bad of ['a', 'O', '0', '1', '-', ' ', '😀']) {
      expect(hasValidCheckCharacter(bad + code, DEFAULT_ALPHABET)).toBe(false);
      expect(hasValidCheckCharacter(code.slice(0, 3) + bad + code.slice(4), DEFAULT_ALPHABET)).toBe(false);
    }
    expect(hasValidCheckCharacter(code.at(-1)!, DEFAULT_ALPHABET)).toBe(false);
    expect(() => checkCharacter('ABO', DEFAULT_ALPHABET)).toThrow();
  });
});

describe('code generation', () => {
  const spaceError = (spec: { count: number; alphabet: string; length: number }, existing = 0): AppError | null => {
    try {
      assertCodeSpace(spec, existing);
      return null;
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('CODE_SPACE_TOO_SMALL');
      return error as AppError;
    }
  };

  it('needs 10 characters of the default alphabet for a million codes', () => {
    expect(spaceError({ count: 1_000_000, alphabet: DEFAULT_ALPHABET, length: 9 })?.details.minimumLength).toBe(10);
    expect(spaceError({ count: 1_000_000, alphabet: DEFAULT_ALPHABET, length: 10 })).toBeNull();
    expect(spaceError({ count: 500_000, alphabet: DEFAULT_ALPHABET, length: 9 })).toBeNull();
    expect(spaceError({ count: 500_000, alphabet: DEFAULT_ALPHABET, length: 9 }, 500_000)?.details).toMatchObject({ minimumLength: 10, existingInFormat: 500_000 });
    expect(spaceError({ count: 1, alphabet: DEFAULT_ALPHABET, length: 4 })).toBeNull();
    expect(spaceError({ count: 100, alphabet: DEFAULT_ALPHABET, length: 4 })).toBeNull();
  });

  it('names a minimumLength that passes while one less fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 2, max: 64 }), (count, existing, size) => {
        const alphabet = DEFAULT_ALPHABET.repeat(3).slice(0, size);
        const error = spaceError({ count, alphabet, length: 1 }, existing);
        if (!error) return;
        const minimumLength = error.details.minimumLength as number;
        expect(spaceError({ count, alphabet, length: minimumLength }, existing)).toBeNull();
        expect(spaceError({ count, alphabet, length: minimumLength - 1 }, existing)).not.toBeNull();
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts the minimumLength it names at exactly 0.01 expected collisions (2,500 codes, 50 characters)', () => {
    const alphabet = 'x'.repeat(50);
    const minimumLength = spaceError({ count: 2500, alphabet, length: 4 })?.details.minimumLength as number;
    expect(spaceError({ count: 2500, alphabet, length: minimumLength })).toBeNull();
  });

  const spec = (overrides: Partial<GenerationSpec> = {}): GenerationSpec => ({ count: 1, prefix: 'SUMMER-', length: 10, alphabet: DEFAULT_ALPHABET, checkCharacter: false, ...overrides });

  it('generates prefixed codes of the right length from the alphabet, with a valid check character', () => {
    for (const checked of [false, true]) {
      const next = codeGenerator(spec({ checkCharacter: checked }));
      for (let i = 0; i < 500; i++) {
        const code = next();
        expect(code.startsWith('SUMMER-')).toBe(true);
        expect(code).toHaveLength(7 + 10 + (checked ? 1 : 0));
        expect([...code.slice(7)].every((c) => DEFAULT_ALPHABET.includes(c))).toBe(true);
        if (checked) expect(hasValidCheckCharacter(code.slice(7), DEFAULT_ALPHABET)).toBe(true);
      }
    }
  });

  it('generates 100k distinct codes', () => {
    const next = codeGenerator(spec({ prefix: '' }));
    const codes = new Set<string>();
    for (let i = 0; i < 100_000; i++) codes.add(next());
    expect(codes.size).toBe(100_000);
  });

  it('checks generated codes against the offer rules', () => {
    const rules: CodeRules = { case: 'upper', minLength: 4, maxLength: 18, characters: DEFAULT_CODE_CHARACTERS };
    expect(generationRulesProblem(spec({ checkCharacter: true }), rules)).toBeNull();
    expect(generationRulesProblem(spec({ checkCharacter: true }), { ...rules, maxLength: 17 })?.message).toMatch(/18/);
    expect(generationRulesProblem(spec(), { ...rules, maxLength: 17 })).toBeNull();
    expect(generationRulesProblem(spec(), { ...rules, minLength: 18 })?.message).toMatch(/17/);
    expect(generationRulesProblem(spec(), { ...rules, characters: DEFAULT_ALPHABET + 'SUMER' })?.message).toMatch(/"-"/);
    expect(generationRulesProblem(spec({ alphabet: 'ABC!' }), rules)?.message).toMatch(/"!"/);
    expect(generationRulesProblem(spec({ alphabet: 'abcdef' }), rules)?.message).toMatch(/case/);
    expect(generationRulesProblem(spec({ prefix: 'summer-' }), rules)?.message).toMatch(/case/);
    expect(generationRulesProblem(spec({ prefix: 'summer-', alphabet: 'abcdef' }), { ...rules, case: 'preserve' })).toBeNull();
    expect(generationRulesProblem(spec({ checkCharacter: true }), { ...rules, maxLength: 17 })?.path).toBe('length');
    expect(generationRulesProblem(spec({ prefix: 'summer-' }), rules)?.path).toBe('prefix');
    expect(generationRulesProblem(spec({ alphabet: 'ABC!' }), rules)?.path).toBe('alphabet');
  });
});

describe('CodeVault', () => {
  const secrets = new Secrets(Buffer.alloc(32, 1));
  const vault = new CodeVault(secrets, 'tenant-a');
  const otherTenant = new CodeVault(secrets, 'tenant-b');
  const flip = (buffer: Buffer, index: number) => {
    const copy = Buffer.from(buffer);
    copy[index]! ^= 0x01;
    return copy;
  };

  it('round-trips codes of 1..128 characters, including non-ASCII', () => {
    const chars = [...'ÄÖÜ€abcXYZ019-_😀'];
    const codes = Array.from({ length: 128 }, (_, n) => Array.from({ length: n + 1 }, (_, i) => chars[(i * 7 + n) % chars.length]).join(''));
    const sealed = vault.encryptMany(codes);
    expect(sealed).toHaveLength(codes.length);
    sealed.forEach((cipher, i) => expect(vault.decrypt(cipher, vault.lookupHash(codes[i]!))).toBe(codes[i]));
    codes.forEach((code, i) => {
      if (Buffer.byteLength(code) >= 8) expect(sealed[i]!.includes(Buffer.from(code))).toBe(false);
    });
  });

  it('encrypts more than 65,536 codes in one call without reusing a counter block', () => {
    const codes = Array.from({ length: 70_000 }, (_, i) => `CODE-${i}`);
    const sealed = vault.encryptMany(codes);
    expect(sealed).toHaveLength(70_000);
    expect(new Set(sealed.map((cipher) => cipher.subarray(0, 16).toString('hex'))).size).toBe(70_000);
    sealed.forEach((cipher, i) => {
      if (vault.decrypt(cipher) !== codes[i]) throw new Error(`code ${i} did not round-trip`);
    });
    for (const i of [0, 65_535, 65_536, 69_999]) expect(vault.decrypt(sealed[i]!, vault.lookupHash(codes[i]!))).toBe(codes[i]);
  });

  it('never reuses keystream between codes of one call', () => {
    const [a, b] = vault.encryptMany(['A'.repeat(16), 'B'.repeat(16)]);
    const xor = Buffer.from(a!.subarray(16).map((byte, i) => byte ^ b![16 + i]!));
    expect(xor.equals(Buffer.alloc(16, 'A'.charCodeAt(0) ^ 'B'.charCodeAt(0)))).toBe(false);
  });

  it('hashes lookups case-insensitively, in 16 bytes, per tenant', () => {
    expect(vault.lookupHash('abc')).toHaveLength(16);
    expect(vault.lookupHash('abc').equals(vault.lookupHash('ABC'))).toBe(true);
    expect(vault.lookupHash('abc').equals(new CodeVault(secrets, 'tenant-a').lookupHash('aBc'))).toBe(true);
    expect(vault.lookupHash('abc').equals(vault.lookupHash('abd'))).toBe(false);
    expect(vault.lookupHash('abc').equals(otherTenant.lookupHash('abc'))).toBe(false);
  });

  it('refuses altered ciphertexts and mismatched lookup hashes', () => {
    const cipher = vault.encrypt('SUMMER-ABCDEFGH');
    const hash = vault.lookupHash('SUMMER-ABCDEFGH');
    expect(vault.decrypt(cipher, hash)).toBe('SUMMER-ABCDEFGH');
    expect(() => vault.decrypt(flip(cipher, 20), hash)).toThrow(/lookup hash/);
    expect(() => vault.decrypt(flip(cipher, 3), hash)).toThrow(/lookup hash/);
    expect(() => vault.decrypt(cipher, vault.lookupHash('SUMMER-ABCDEFGX'))).toThrow(/lookup hash/);
    expect(() => otherTenant.decrypt(cipher, otherTenant.lookupHash('SUMMER-ABCDEFGH'))).toThrow(/lookup hash/);
  });

  it('seals chunks bound to their binding', () => {
    const data = Buffer.from('code,expires_at\nABC,2027-01-31\n');
    const sealed = vault.sealChunk(data, 'batch-1:0');
    expect(sealed.includes(data)).toBe(false);
    expect(vault.openChunk(sealed, 'batch-1:0').equals(data)).toBe(true);
    expect(vault.openChunk(vault.sealChunk(Buffer.alloc(0), 'b'), 'b')).toHaveLength(0);
    expect(() => vault.openChunk(sealed, 'batch-1:1')).toThrow();
    expect(() => otherTenant.openChunk(sealed, 'batch-1:0')).toThrow();
    for (const index of [0, 12, sealed.length - 1]) expect(() => vault.openChunk(flip(sealed, index), 'batch-1:0')).toThrow();
  });

  it('masks codes: at most 4 trailing characters and a quarter of the secret part, prefix kept, length kept', () => {
    expect(maskCode('ABCDEFGHIJKLMNOPQRST')).toBe('••••••••••••••••QRST');
    expect(maskCode('ABCDEFGH')).toBe('••••••GH');
    expect(maskCode('ABC')).toBe('•••');
    expect(maskCode('SUMMER-ABCDEFGH', 'SUMMER-')).toBe('SUMMER-••••••GH');
    expect(maskCode('WINTER-ABCDEFGH', 'SUMMER-')).toBe('••••••••••••FGH');
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme-composite', maxLength: 40 }), (prefix, secret) => {
        fc.pre(!(prefix + secret).includes('•'));
        const masked = maskCode(prefix + secret, prefix);
        const secretChars = [...secret];
        expect(masked.startsWith(prefix)).toBe(true);
        expect([...masked]).toHaveLength([...prefix + secret].length);
        const tail = [...masked.slice(prefix.length)].filter((c) => c !== '•');
        expect(tail.length).toBeLessThanOrEqual(Math.min(4, secretChars.length / 4));
        expect(secretChars.slice(secretChars.length - tail.length)).toEqual(tail);
      }),
    );
  });
});

describe('parseExpiry', () => {
  it.each([
    ['2027-01-31', 'Europe/Moscow', '2027-01-31T21:00:00.000Z'],
    ['2027-01-31', 'UTC', '2027-02-01T00:00:00.000Z'],
    ['2027-03-27', 'Europe/Berlin', '2027-03-27T23:00:00.000Z'],
    ['2027-10-30', 'Europe/Berlin', '2027-10-30T22:00:00.000Z'],
    ['2027-01-31T10:00:00+03:00', 'UTC', '2027-01-31T07:00:00.000Z'],
    ['2027-01-31T10:00Z', 'Europe/Berlin', '2027-01-31T10:00:00.000Z'],
    ['2027-01-31T10:00:00.5-05:30', 'UTC', '2027-01-31T15:30:00.500Z'],
  ])('%s in %s is %s', (value, zone, expected) => {
    expect(parseExpiry(value, zone)?.toISOString()).toBe(expected);
  });

  it.each(['2027-02-30', '2027-13-01', '31/01/2027', '2027-01-31T10:00', '2027-1-31', ' 2027-01-31', ''])('refuses %j', (value) => {
    expect(parseExpiry(value, 'UTC')).toBeNull();
  });

  it('refuses an impossible day in a date-time, as it does in a date', () => {
    expect(parseExpiry('2027-02-30T10:00:00Z', 'UTC')).toBeNull();
  });

  const localDate = (zone: string) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });

  it('ends every day of 2027 at the next local midnight in zones with and without DST', () => {
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Beirut', 'Asia/Kolkata']) {
      const format = localDate(zone);
      for (let t = Date.UTC(2027, 0, 1); t < Date.UTC(2028, 0, 1); t += 86_400_000) {
        const day = new Date(t).toISOString().slice(0, 10);
        const end = parseExpiry(day, zone)!.getTime();
        expect([zone, day, format.format(end - 1), format.format(end) > day]).toEqual([zone, day, day, true]);
      }
    }
  });

  it.each([
    ['2027-09-04', 'America/Santiago', '2027-09-05T04:00:00.000Z'],
    ['2027-03-13', 'America/Havana', '2027-03-14T05:00:00.000Z'],
  ])('%s in %s (DST starts at local midnight) lasts until %s', (day, zone, expected) => {
    expect(parseExpiry(day, zone)?.toISOString()).toBe(expected);
  });
});

describe('codeChecker', () => {
  const rules = (overrides: Partial<CodeRules> = {}): CodeRules => ({ case: 'upper', minLength: 4, maxLength: 8, characters: DEFAULT_CODE_CHARACTERS, ...overrides });

  it('trims and applies the case', () => {
    expect(codeChecker(rules())('  ab-Cd \t')).toEqual({ ok: true, code: 'AB-CD' });
    expect(codeChecker(rules({ case: 'lower' }))('\nAB-Cd')).toEqual({ ok: true, code: 'ab-cd' });
    expect(codeChecker(rules({ case: 'preserve' }))(' AbCd ')).toEqual({ ok: true, code: 'AbCd' });
    expect(codeChecker(rules({ characters: 'ABCD' }))('abcd')).toEqual({ ok: true, code: 'ABCD' });
  });

  it('reports empty, short, long and invalid codes with details', () => {
    const check = codeChecker(rules());
    expect(check('')).toEqual({ ok: false, reason: 'EMPTY_CODE', detail: 'empty code' });
    expect(check(' \t ')).toMatchObject({ ok: false, reason: 'EMPTY_CODE' });
    expect(check('abc')).toEqual({ ok: false, reason: 'TOO_SHORT', detail: '3 characters; at least 4' });
    expect(check('abcdefghi')).toEqual({ ok: false, reason: 'TOO_LONG', detail: '9 characters; at most 8' });
    expect(check('ab$cd')).toEqual({ ok: false, reason: 'INVALID_CHARACTERS', detail: 'character "$" is not allowed' });
    expect(check('ab cd')).toMatchObject({ ok: false, reason: 'INVALID_CHARACTERS' });
  });

  it('counts characters, not UTF-16 units', () => {
    const check = codeChecker(rules({ case: 'preserve', minLength: 2, maxLength: 4, characters: 'ÄÖÜ€😀AB' }));
    expect(check('😀😀😀😀')).toEqual({ ok: true, code: '😀😀😀😀' });
    expect(check('😀€😀😀😀')).toEqual({ ok: false, reason: 'TOO_LONG', detail: '5 characters; at most 4' });
    expect(check('😀')).toEqual({ ok: false, reason: 'TOO_SHORT', detail: '1 characters; at least 2' });
    expect(check('ÄÖ😃')).toEqual({ ok: false, reason: 'INVALID_CHARACTERS', detail: 'character "😃" is not allowed' });
  });
});
