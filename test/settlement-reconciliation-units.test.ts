import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../server/src/errors/app-error.ts';
import { CsvRecordReader } from '../server/src/pools/csv-records.ts';
import {
  MAX_ROW_AMOUNT_MINOR,
  parseReconciliationFile,
  reconcile,
  reportCsvLines,
  type OurVoucher,
  type ParsedFile,
  type ReconciliationResult,
  type ResolvedRow,
  type RowProblem,
} from '../server/src/settlement/reconciliation-file.ts';

const V1 = 'vch_AAAAAAAAAAA1';
const V2 = 'vch_AAAAAAAAAAA2';
const V3 = 'vch_AAAAAAAAAAA3';
const V4 = 'vch_AAAAAAAAAAA4';

const RUB = { currency: 'RUB', maxRows: 1_000 };

function parse(text: string, options: { currency: string; maxRows: number } = RUB): ParsedFile {
  return parseReconciliationFile(text, options);
}

/** The one data row of `amount` in a one-row file: its minor units, or the problem's reason. */
function amountOf(value: string, currency = 'RUB', column = 'amount'): number | RowProblem['reason'] {
  const parsed = parse(`voucher_id;${column}\n${V1};${value}\n`, { currency, maxRows: 10 });
  if (parsed.problems.length > 0) return parsed.problems[0]!.reason;
  return parsed.rows[0]!.amountMinor;
}

function timeOf(value: string): Date | null | RowProblem['reason'] {
  const parsed = parse(`voucher_id,amount,redeemed_at\n${V1},1,${value}\n`);
  if (parsed.problems.length > 0) return parsed.problems[0]!.reason;
  return parsed.rows[0]!.redeemedAt;
}

function fileErrorOf(text: string, options = RUB): AppError {
  try {
    parse(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    expect(appError.code).toBe('INVALID_RECONCILIATION_FILE');
    expect(appError.httpStatus).toBe(422);
    return appError;
  }
  throw new Error('expected a file error');
}

describe('parseReconciliationFile', () => {
  it('reads every column, with CRLF, quoted fields, odd header case and unknown columns', () => {
    const text = [
      ' Voucher_ID ,CODE,Order_Ref,Amount,currency,redeemed_at,Shop',
      `${V1},Spring-7KQ2,"ORD-1, ""gift""",150.50,RUB,2026-10-31T23:59:59.999+03:00,Moscow`,
      `,sale-abc,,-20,,2026-10-01T00:00:00Z,"line one\r\nline two"`,
      `  ${V2}  ,, ORD-3 ,0.01,rub,,`,
    ].join('\r\n');
    const parsed = parse(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.ignoredColumns).toEqual(['Shop']);
    expect(parsed.rows).toEqual([
      { line: 2, voucherId: V1, code: 'Spring-7KQ2', orderRef: 'ORD-1, "gift"', amountMinor: 15_050, redeemedAt: new Date('2026-10-31T20:59:59.999Z') },
      { line: 3, voucherId: null, code: 'sale-abc', orderRef: null, amountMinor: -2_000, redeemedAt: new Date('2026-10-01T00:00:00Z') },
      // The quoted line break above makes this row start on line 5.
      { line: 5, voucherId: V2, code: null, orderRef: 'ORD-3', amountMinor: 1, redeemedAt: null },
    ]);
  });

  it('detects a semicolon or tab delimiter from the header, ignoring delimiters in quotes', () => {
    const semicolon = parse(`"a,b,c,d";code;amount\r\nx;CODE1;"1,50"\r\ny;CODE2;7.5\r\n`);
    expect(semicolon.ignoredColumns).toEqual(['a,b,c,d']);
    expect(semicolon.rows).toMatchObject([{ line: 3, code: 'CODE2', amountMinor: 750 }]);
    expect(semicolon.problems).toMatchObject([{ line: 2, reason: 'BAD_AMOUNT', detail: expect.stringContaining('comma') }]);

    const tab = parse(`voucher_id\tamount_minor\torder_ref\n${V1}\t1500\tA, B; C\n`);
    expect(tab.rows).toEqual([{ line: 2, voucherId: V1, code: null, orderRef: 'A, B; C', amountMinor: 1_500, redeemedAt: null }]);

    // A one-column header has no delimiter at all: a comma is assumed.
    expect(() => parse('code\nABC\n')).toThrowError(AppError);
  });

  it('tolerates a UTF-8 BOM, blank lines and a missing final line break, keeping line numbers', () => {
    const parsed = parse(`\uFEFFcode,amount\n\nABC,1\n   \nDEF,2`);
    expect(parsed.rows.map((r) => [r.line, r.code, r.amountMinor])).toEqual([
      [3, 'ABC', 100],
      [5, 'DEF', 200],
    ]);
  });

  it('converts decimal amounts exactly to minor units of the currency', () => {
    expect(amountOf('150')).toBe(15_000);
    expect(amountOf('150.5')).toBe(15_050);
    expect(amountOf('150.50')).toBe(15_050);
    expect(amountOf('0.01')).toBe(1);
    expect(amountOf('0.07')).toBe(7);
    expect(amountOf('1.15')).toBe(115);
    expect(amountOf('-20.00')).toBe(-2_000);
    expect(amountOf('+3')).toBe(300);
    expect(amountOf('-0.00')).toBe(0);
    expect(Object.is(amountOf('-0.00'), -0)).toBe(false);
    expect(amountOf('007.10')).toBe(710);
    expect(amountOf('1500', 'JPY')).toBe(1_500);
    expect(amountOf('1.234', 'KWD')).toBe(1_234);
    expect(amountOf('150.5', 'EUR')).toBe(15_050);
    // The largest row amount: 100,000,000.00 (sums of a whole file stay exact).
    expect(amountOf('100000000.00')).toBe(MAX_ROW_AMOUNT_MINOR);
    expect(amountOf('100000000.01')).toBe('BAD_AMOUNT');
  });

  it('refuses amounts that are not exact in the currency, not decimal, or too large', () => {
    expect(amountOf('1500.5', 'JPY')).toBe('BAD_AMOUNT');
    expect(amountOf('1500.0', 'JPY')).toBe('BAD_AMOUNT');
    expect(amountOf('1.234')).toBe('BAD_AMOUNT');
    expect(amountOf('1.2345', 'KWD')).toBe('BAD_AMOUNT');
    expect(amountOf('1,50')).toBe('BAD_AMOUNT');
    expect(amountOf('1 500')).toBe('BAD_AMOUNT');
    expect(amountOf('1e3')).toBe('BAD_AMOUNT');
    expect(amountOf('.5')).toBe('BAD_AMOUNT');
    expect(amountOf('5.')).toBe('BAD_AMOUNT');
    expect(amountOf('--5')).toBe('BAD_AMOUNT');
    expect(amountOf('₽150')).toBe('BAD_AMOUNT');
    expect(amountOf('')).toBe('BAD_AMOUNT');
    expect(amountOf('90071992547409.92')).toBe('BAD_AMOUNT');
    expect(amountOf('99999999999999999999999999')).toBe('BAD_AMOUNT');
  });

  it('reads amount_minor as a whole number of minor units', () => {
    expect(amountOf('15000', 'RUB', 'amount_minor')).toBe(15_000);
    expect(amountOf('-2000', 'RUB', 'amount_minor')).toBe(-2_000);
    expect(amountOf('1500', 'JPY', 'AMOUNT_MINOR')).toBe(1_500);
    expect(amountOf('150.5', 'RUB', 'amount_minor')).toBe('BAD_AMOUNT');
    expect(amountOf('9007199254740992', 'RUB', 'amount_minor')).toBe('BAD_AMOUNT');
    expect(amountOf('', 'RUB', 'amount_minor')).toBe('BAD_AMOUNT');
  });

  it('takes times only with a zone offset or Z', () => {
    expect(timeOf('2026-10-31T23:59:59.999+03:00')).toEqual(new Date('2026-10-31T20:59:59.999Z'));
    expect(timeOf('2026-10-31T23:59:59Z')).toEqual(new Date('2026-10-31T23:59:59Z'));
    expect(timeOf('2026-11-01T01:30:00-0230')).toEqual(new Date('2026-11-01T04:00:00Z'));
    expect(timeOf('2026-11-01T10:00+05')).toEqual(new Date('2026-11-01T05:00:00Z'));
    expect(timeOf('2026-11-01T10:00:00.123456Z')).toEqual(new Date('2026-11-01T10:00:00.123Z'));
    expect(timeOf('')).toBeNull();
    // No offset: the month it falls in would be a guess.
    expect(timeOf('2026-10-31T23:59:59')).toBe('BAD_TIME');
    expect(timeOf('2026-10-31')).toBe('BAD_TIME');
    expect(timeOf('31.10.2026 23:59')).toBe('BAD_TIME');
    expect(timeOf('2026-02-30T10:00:00Z')).toBe('BAD_TIME');
    expect(timeOf('2026-10-31T24:00:00Z')).toBe('BAD_TIME');
    expect(timeOf('yesterday')).toBe('BAD_TIME');
    const noOffset = parse(`code,amount,time\nABC,1,2026-10-31T23:59:59\n`).problems[0]!;
    expect(noOffset).toMatchObject({ line: 2, reason: 'BAD_TIME', detail: expect.stringContaining('offset') });
  });

  it('prefers redeemed_at when both time columns exist and lists the other as ignored', () => {
    const parsed = parse(`code,amount,time,redeemed_at\nABC,1,not a time,2026-10-31T10:00:00Z\n`);
    expect(parsed.problems).toEqual([]);
    expect(parsed.ignoredColumns).toEqual(['time']);
    expect(parsed.rows[0]!.redeemedAt).toEqual(new Date('2026-10-31T10:00:00Z'));
  });

  it("refuses a row in another currency, and accepts the statement's in any case", () => {
    const parsed = parse(`code,amount,currency\nA,1,EUR\nB,1,rub\nC,1,\n`);
    expect(parsed.problems).toEqual([{ line: 2, reason: 'BAD_CURRENCY', detail: expect.stringContaining('EUR') }]);
    expect(parsed.rows.map((r) => r.code)).toEqual(['B', 'C']);
  });

  it('reports row problems by line and keeps reading the rows after them', () => {
    const text = [
      'voucher_id,code,order_ref,amount',
      ',,ORD-1,1', // 2: no key
      'vch_short,,,1', // 3: not a voucher id
      `${V1},${'X'.repeat(65)},,1`, // 4: code too long
      `${V1},,${'R'.repeat(201)},1`, // 5: order ref too long
      `${V1},"ABC"x,,1`, // 6: text after a closing quote
      `${V1},,,1,extra`, // 7: more values than columns
      `,${'Y'.repeat(5_000)},,1`, // 8: longer than any row may be
      `${V2},abc,ORD-9,9,,`, // 9: trailing empty fields are fine
      `,${'Z'.repeat(64)},${'R'.repeat(200)},1`, // 10: at the limits
    ].join('\n');
    const parsed = parse(text);
    expect(parsed.problems.map((p) => [p.line, p.reason])).toEqual([
      [2, 'MISSING_KEY'],
      [3, 'BAD_VOUCHER_ID'],
      [4, 'MALFORMED_ROW'],
      [5, 'MALFORMED_ROW'],
      [6, 'MALFORMED_ROW'],
      [7, 'MALFORMED_ROW'],
      [8, 'ROW_TOO_LONG'],
    ]);
    expect(parsed.problems[2]!.detail).toContain('code');
    expect(parsed.problems[3]!.detail).toContain('order_ref');
    expect(parsed.rows.map((r) => r.line)).toEqual([9, 10]);
    expect(parsed.rows[0]).toMatchObject({ voucherId: V2, code: 'abc', orderRef: 'ORD-9', amountMinor: 900 });
  });

  it('needs a key in every row: a code-only file is fine, an empty key is not', () => {
    const parsed = parse(`code,amount\nSpring-Ab,1\n  ,2\n`);
    expect(parsed.rows.map((r) => r.code)).toEqual(['Spring-Ab']);
    expect(parsed.problems).toMatchObject([{ line: 3, reason: 'MISSING_KEY' }]);
  });

  it('accepts a header with no data rows', () => {
    expect(parse('voucher_id,amount\r\n')).toEqual({ rows: [], problems: [], ignoredColumns: [] });
  });

  it('throws INVALID_RECONCILIATION_FILE when the file as a whole cannot be read', () => {
    expect(fileErrorOf('').details.reason).toBe('EMPTY');
    expect(fileErrorOf('\uFEFF \r\n\r\n').details.reason).toBe('EMPTY');
    expect(fileErrorOf('"voucher_id,amount\nx,1\n').details.reason).toBe('NO_HEADER');
    expect(fileErrorOf(`voucher_id,order_ref\n${V1},A\n`).details).toMatchObject({ reason: 'MISSING_COLUMNS', missing: ['amount or amount_minor'] });
    expect(fileErrorOf(`order_ref,amount\nA,1\n`).details).toMatchObject({ reason: 'MISSING_COLUMNS', missing: ['voucher_id or code'] });
    // The first line is data, not a header.
    expect(fileErrorOf(`${V1},150\n`).details.reason).toBe('MISSING_COLUMNS');
    expect(fileErrorOf(`code,amount,amount_minor\nA,1,100\n`).details.reason).toBe('BOTH_AMOUNT_COLUMNS');
    expect(fileErrorOf(`code,amount,Code\nA,1,B\n`).details.reason).toBe('DUPLICATE_COLUMN');
  });

  it('refuses more data rows than allowed, counting bad rows too', () => {
    const rows = (n: number) => ['code,amount', ...Array.from({ length: n }, (_, i) => (i === 0 ? ',1' : `C${i},1`))].join('\n');
    expect(parse(rows(3), { currency: 'RUB', maxRows: 3 }).rows).toHaveLength(2);
    expect(fileErrorOf(rows(4), { currency: 'RUB', maxRows: 3 }).details).toMatchObject({ reason: 'TOO_MANY_ROWS', maxRows: 3 });
  });
});

// ---- matching --------------------------------------------------------------------

function our(voucherId: string, amountMinor: number, extra: Partial<OurVoucher> = {}): OurVoucher {
  return { voucherId, codeMask: `••••${voucherId.slice(-1)}`, orderRefs: [], amountMinor, redeemedAt: null, reversed: false, ...extra };
}

function their(line: number, resolvedVoucherId: string | null, amountMinor: number, extra: Partial<ResolvedRow> = {}): ResolvedRow {
  return { line, voucherId: resolvedVoucherId, code: null, orderRef: null, amountMinor, redeemedAt: null, resolvedVoucherId, ...extra };
}

describe('reconcile', () => {
  it('reports each outcome, discrepancies first, with totals and counts', () => {
    const t1 = new Date('2026-10-05T10:00:00Z');
    const result = reconcile(
      [our(V1, 15_000, { orderRefs: ['ORD-1'], redeemedAt: t1 }), our(V2, 5_000), our(V3, 7_000)],
      [
        their(2, V1, 15_000, { orderRef: 'ORD-1', redeemedAt: t1 }),
        their(3, null, 1_000, { code: 'NOPE' }),
        their(4, V2, 4_000),
        their(5, V4, 2_500), // a voucher that exists, but not in this statement
      ],
    );
    expect(result.items.map((i) => [i.outcome, i.voucherId, i.lines])).toEqual([
      ['mismatch', V2, [4]],
      ['missing_ours', null, [3]],
      ['missing_ours', V4, [5]],
      ['missing_theirs', V3, []],
      ['matched', V1, [2]],
    ]);
    expect(result.counts).toEqual({ matched: 1, missing_ours: 2, missing_theirs: 1, mismatch: 1 });
    expect(result.theirTotalMinor).toBe(22_500);
    expect(result.ourTotalMinor).toBe(27_000);
    expect(result.reconciled).toBe(false);
    expect(result.items[0]).toEqual({
      outcome: 'mismatch',
      voucherId: V2,
      codeMask: '••••2',
      lines: [4],
      theirOrderRef: null,
      ourOrderRefs: [],
      theirAmountMinor: 4_000,
      ourAmountMinor: 5_000,
      theirTime: null,
      ourTime: null,
      differences: ['amount'],
    });
    expect(result.items[3]).toMatchObject({ codeMask: '••••3', theirAmountMinor: null, ourAmountMinor: 7_000 });
    expect(result.items[4]).toMatchObject({ theirTime: t1, ourTime: t1, ourOrderRefs: ['ORD-1'], differences: [] });
  });

  it('sums their rows for one voucher (a redemption and its reversal) and keeps the first order ref and time', () => {
    const t = new Date('2026-10-07T08:00:00Z');
    const result = reconcile(
      [our(V1, 10_000, { orderRefs: ['A', 'B'] })],
      [their(7, V1, 15_000), their(3, V1, -5_000, { orderRef: 'B', redeemedAt: t }), their(9, V1, 0, { orderRef: 'Z' })],
    );
    expect(result.items).toHaveLength(1);
    expect(result.items[0]).toMatchObject({ outcome: 'matched', lines: [7, 3, 9], theirAmountMinor: 10_000, theirOrderRef: 'B', theirTime: t });
    expect(result.reconciled).toBe(true);
  });

  it('does not report a voucher fully reversed in the period that they do not list', () => {
    const result = reconcile([our(V1, 0, { reversed: true }), our(V2, 0), our(V3, 3_000, { reversed: true })], []);
    expect(result.items.map((i) => [i.outcome, i.voucherId])).toEqual([
      ['missing_theirs', V2],
      ['missing_theirs', V3],
    ]);
    expect(reconcile([our(V1, 0, { reversed: true })], []).reconciled).toBe(true);
    // Listed anyway: compared as any other.
    expect(reconcile([our(V1, 0, { reversed: true })], [their(2, V1, 0)]).items[0]!.outcome).toBe('matched');
    expect(reconcile([our(V1, 0, { reversed: true })], [their(2, V1, 500)]).items[0]).toMatchObject({ outcome: 'mismatch', differences: ['amount'] });
  });

  it('flags an order ref they give that we do not have, and no order ref at all is no difference', () => {
    const ours = [our(V1, 100, { orderRefs: ['ORD-1'] }), our(V2, 200, { orderRefs: ['ORD-2'] }), our(V3, 300)];
    const result = reconcile(ours, [their(2, V1, 100, { orderRef: 'ORD-9' }), their(3, V2, 200), their(4, V3, 999, { orderRef: 'X' })]);
    expect(result.items.map((i) => [i.outcome, i.voucherId, i.differences])).toEqual([
      ['mismatch', V1, ['order_ref']],
      ['mismatch', V3, ['amount', 'order_ref']],
      ['matched', V2, []],
    ]);
  });

  it('orders items within an outcome by first line, then voucher id', () => {
    const result = reconcile([our(V3, 1), our(V1, 1), our(V2, 1)], [their(9, null, 1), their(4, V4, 1), their(6, null, 1)]);
    expect(result.items.map((i) => [i.outcome, i.lines[0] ?? null, i.voucherId])).toEqual([
      ['missing_ours', 4, V4],
      ['missing_ours', 6, null],
      ['missing_ours', 9, null],
      ['missing_theirs', null, V1],
      ['missing_theirs', null, V2],
      ['missing_theirs', null, V3],
    ]);
  });

  it('is reconciled for an empty statement and an empty file', () => {
    expect(reconcile([], [])).toEqual({ items: [], counts: { matched: 0, missing_ours: 0, missing_theirs: 0, mismatch: 0 }, theirTotalMinor: 0, ourTotalMinor: 0, reconciled: true });
  });

  const POOL = Array.from({ length: 8 }, (_, i) => `vch_${String(i).padStart(12, '0')}`);
  const REFS = ['o1', 'o2', 'o3'];
  const oursArb = fc.uniqueArray(
    fc.record({
      voucherId: fc.constantFrom(...POOL.slice(0, 6)),
      amountMinor: fc.integer({ min: -3, max: 3 }),
      reversed: fc.boolean(),
      orderRefs: fc.subarray(REFS.slice(0, 2)),
    }),
    { selector: (v) => v.voucherId, maxLength: 6 },
  ).map((list) => list.map((v) => our(v.voucherId, v.amountMinor, { reversed: v.reversed, orderRefs: v.orderRefs })));
  const rowsArb = fc
    .array(fc.record({ id: fc.option(fc.constantFrom(...POOL), { freq: 6 }), amountMinor: fc.integer({ min: -3, max: 3 }), orderRef: fc.option(fc.constantFrom(...REFS)) }), { maxLength: 12 })
    .map((list) => list.map((r, i) => their(i + 2, r.id, r.amountMinor, { orderRef: r.orderRef })));

  /** Rows that say exactly what our statement says, split across 1-3 rows per voucher, shuffled. */
  const mirrorArb = oursArb.chain((ours) => {
    const perVoucher = ours.map((v) =>
      fc
        .tuple(
          fc.integer({ min: v.amountMinor === 0 && v.reversed ? 0 : 1, max: 3 }),
          fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 2, maxLength: 2 }),
          fc.option(v.orderRefs.length > 0 ? fc.constantFrom(...v.orderRefs) : fc.constant(null)),
        )
        .map(([count, splits, ref]) => {
          const amounts = count === 0 ? [] : [...splits.slice(0, count - 1), v.amountMinor - splits.slice(0, count - 1).reduce((a, b) => a + b, 0)];
          return amounts.map((amountMinor, k) => ({ id: v.voucherId, amountMinor, orderRef: k === 0 ? ref : null }));
        }),
    );
    return fc.tuple(fc.constant(ours), fc.tuple(...perVoucher).chain((groups) => fc.shuffledSubarray(groups.flat(), { minLength: groups.flat().length })));
  });

  /** The rules again, written as a check: does the file mirror the statement? */
  function mirrors(ours: readonly OurVoucher[], theirs: readonly ResolvedRow[]): boolean {
    if (theirs.some((r) => r.resolvedVoucherId === null || !ours.some((v) => v.voucherId === r.resolvedVoucherId))) return false;
    return ours.every((v) => {
      const rows = theirs.filter((r) => r.resolvedVoucherId === v.voucherId);
      if (rows.length === 0) return v.amountMinor === 0 && v.reversed;
      const sum = rows.reduce((total, r) => total + r.amountMinor, 0);
      const ref = rows.find((r) => r.orderRef !== null)?.orderRef ?? null;
      return sum === v.amountMinor && (ref === null || v.orderRefs.includes(ref));
    });
  }

  function checkInvariants(ours: readonly OurVoucher[], theirs: readonly ResolvedRow[], result: ReconciliationResult): void {
    for (const v of ours) {
      const items = result.items.filter((i) => i.voucherId === v.voucherId);
      expect(items.length, v.voucherId).toBe(v.amountMinor !== 0 || !v.reversed || theirs.some((r) => r.resolvedVoucherId === v.voucherId) ? 1 : 0);
      if (items[0]) expect(items[0].outcome).not.toBe('missing_ours');
    }
    const lines = result.items.flatMap((i) => i.lines).sort((a, b) => a - b);
    expect(lines).toEqual(theirs.map((r) => r.line).sort((a, b) => a - b));
    const counted = { matched: 0, missing_ours: 0, missing_theirs: 0, mismatch: 0 };
    for (const item of result.items) counted[item.outcome] += 1;
    expect(result.counts).toEqual(counted);
    expect(Object.values(result.counts).reduce((a, b) => a + b, 0)).toBe(result.items.length);
    expect(result.theirTotalMinor).toBe(theirs.reduce((a, r) => a + r.amountMinor, 0));
    expect(result.ourTotalMinor).toBe(ours.reduce((a, v) => a + v.amountMinor, 0));
    expect(result.reconciled).toBe(mirrors(ours, theirs));
    const ranks = result.items.map((i) => ['mismatch', 'missing_ours', 'missing_theirs', 'matched'].indexOf(i.outcome));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  }

  it('accounts for every voucher and every line exactly once; reconciled iff the file mirrors the statement (property)', () => {
    fc.assert(
      fc.property(oursArb, rowsArb, (ours, theirs) => {
        checkInvariants(ours, theirs, reconcile(ours, theirs));
      }),
      { numRuns: 2_000 },
    );
  });

  it('is reconciled, all matched, for any file that mirrors the statement, and not after one change (property)', () => {
    fc.assert(
      fc.property(mirrorArb, fc.nat(), (([ours, rows], pick) => {
        const theirs = rows.map((r, i) => their(i + 2, r.id, r.amountMinor, { orderRef: r.orderRef }));
        const result = reconcile(ours, theirs);
        checkInvariants(ours, theirs, result);
        expect(result.reconciled).toBe(true);
        expect(result.items.every((i) => i.outcome === 'matched')).toBe(true);
        if (theirs.length > 0) {
          const changed = theirs.map((r, i) => (i === pick % theirs.length ? { ...r, amountMinor: r.amountMinor + 1 } : r));
          expect(reconcile(ours, changed).reconciled).toBe(false);
          expect(reconcile(ours, [...theirs, their(99, null, 0)]).reconciled).toBe(false);
        }
      })),
      { numRuns: 1_000 },
    );
  });
});

// ---- report ----------------------------------------------------------------------

const HEADER = 'outcome,voucher_id,code_mask,lines,their_order_ref,our_order_refs,their_amount_minor,our_amount_minor,difference_minor,their_time,our_time,differences,detail\r\n';

function readCsv(lines: string[]): string[][] {
  const reader = new CsvRecordReader({ delimiter: ',', maxRecordChars: 10_000 });
  return [...reader.push(lines.join('')), ...reader.end()].map((record) => {
    if ('problem' in record) throw new Error(record.detail);
    return record.fields;
  });
}

describe('reportCsvLines', () => {
  const t = new Date('2026-10-31T20:59:59.999Z');
  const result = reconcile(
    [our(V1, 15_000, { orderRefs: ['ORD-1', '=HYPERLINK("x")'], redeemedAt: t }), our(V2, -2_000, { orderRefs: ['+7 900'] }), our(V3, 100)],
    [their(2, V1, 15_000, { orderRef: 'ORD-1', redeemedAt: t }), their(3, V2, -2_500, { orderRef: '@evil, "quoted"' }), their(4, null, -20)],
  );
  const problems: RowProblem[] = [
    { line: 9, reason: 'BAD_AMOUNT', detail: '"1,50" uses a comma as the decimal separator; use a point (150.50)' },
    { line: 5, reason: 'MISSING_KEY', detail: 'the row has neither a voucher_id nor a code' },
  ];
  const lines = reportCsvLines(result, problems);

  it('starts with the stable header and ends every line with CRLF', () => {
    expect(lines[0]).toBe(HEADER);
    expect(reportCsvLines(reconcile([], []), [])).toEqual([HEADER]);
    for (const line of lines) expect(line.endsWith('\r\n')).toBe(true);
    expect(lines).toHaveLength(1 + result.items.length + problems.length);
  });

  it('writes one line per item, then the row problems by line, every line with all columns', () => {
    const rows = readCsv(lines);
    expect(rows.every((r) => r.length === 13)).toBe(true);
    expect(rows.slice(1)).toEqual([
      ['mismatch', V2, '••••2', '3', `'@evil, "quoted"`, "'+7 900", '-2500', '-2000', '-500', '', '', 'amount order_ref', ''],
      ['missing_ours', '', '', '4', '', '', '-20', '', '-20', '', '', '', ''],
      ['missing_theirs', V3, '••••3', '', '', '', '', '100', '-100', '', '', '', ''],
      ['matched', V1, '••••1', '2', 'ORD-1', 'ORD-1 =HYPERLINK("x")', '15000', '15000', '0', '2026-10-31T20:59:59.999Z', '2026-10-31T20:59:59.999Z', '', ''],
      ['invalid_row', '', '', '5', '', '', '', '', '', '', '', '', 'MISSING_KEY: the row has neither a voucher_id nor a code'],
      ['invalid_row', '', '', '9', '', '', '', '', '', '', '', '', 'BAD_AMOUNT: "1,50" uses a comma as the decimal separator; use a point (150.50)'],
    ]);
    // difference_minor adds up to the difference of the totals.
    const differenceSum = rows.slice(1, 1 + result.items.length).reduce((a, r) => a + Number(r[8]), 0);
    expect(differenceSum).toBe(result.theirTotalMinor - result.ourTotalMinor);
  });

  it('quotes per RFC 4180, defuses formulas in text columns and leaves negative numbers alone', () => {
    expect(lines[1]).toBe(`mismatch,${V2},••••2,3,"'@evil, ""quoted""",'+7 900,-2500,-2000,-500,,,amount order_ref,\r\n`);
    expect(lines[2]).toBe('missing_ours,,,4,,,-20,,-20,,,,\r\n');
    expect(lines.at(-1)).toBe(`invalid_row,,,9,,,,,,,,,"BAD_AMOUNT: ""1,50"" uses a comma as the decimal separator; use a point (150.50)"\r\n`);

    const formulas = reconcile(
      [our(V1, 1, { codeMask: '=1+1', orderRefs: ['-2+3'] })],
      [their(2, V1, 1, { orderRef: '\tcmd' }), their(3, null, 0, { voucherId: '=HYPERLINK("http://x")' })],
    );
    const [, mismatch, missing] = readCsv(reportCsvLines(formulas, [{ line: 7, reason: 'MALFORMED_ROW', detail: 'x' }]));
    expect([mismatch![0], mismatch![2], mismatch![4], mismatch![5], mismatch![6], mismatch![7]]).toEqual(['mismatch', "'=1+1", "'\tcmd", "'-2+3", '1', '1']);
    expect([missing![0], missing![1]]).toEqual(['missing_ours', `'=HYPERLINK("http://x")`]);
  });

  it('keeps every line one CSV record, whatever text the fields hold (property)', () => {
    const textArb = fc.string({ unit: fc.constantFrom('a', ',', '"', '\r', '\n', '=', '-', '+', '@', '\t', ' ', '1'), maxLength: 8 });
    fc.assert(
      fc.property(textArb, textArb, fc.integer({ min: -1_000, max: 1_000 }), (ref, detail, amount) => {
        const r = reconcile([our(V1, 0, { orderRefs: [ref] })], [their(2, V1, amount, { orderRef: ref })]);
        const out = reportCsvLines(r, [{ line: 3, reason: 'MALFORMED_ROW', detail }]);
        const rows = readCsv(out.slice(1));
        expect(rows).toHaveLength(2);
        expect(rows.every((row) => row.length === 13)).toBe(true);
        expect(rows[0]![6]).toBe(String(amount));
        const shown = rows[0]![4]!;
        expect(shown === ref || shown === `'${ref}`).toBe(true);
        expect(/^[=+\-@\t\r]/.test(shown)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
