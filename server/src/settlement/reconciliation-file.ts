/**
 * Reconciliation of a settlement statement against the counterparty's own records: a
 * finance team uploads ITS list of redemptions for the statement's period as CSV, and
 * we report what matches, what is missing on either side and what differs.
 *
 * Three pure steps, kept apart so each is testable without a database:
 *  1. parseReconciliationFile: CSV text → rows in integer minor units, plus row problems;
 *  2. reconcile: our statement vouchers × their rows (codes already resolved to vouchers);
 *  3. reportCsvLines: the result as a CSV report safe to open in a spreadsheet.
 */
import { AppError } from '../errors/app-error.ts';
import { CsvRecordReader, type CsvRecord } from '../pools/csv-records.ts';
import { csvField, csvQuoted } from '../pools/manage-batches.ts';
import { minorDigits } from '../system/money.ts';
import { voucherIdSchema } from '../vouchers/voucher.ts';

// ---- parsing ---------------------------------------------------------------------

export interface TheirRow {
  /** Line of the file the row starts on (1 is the header). */
  line: number;
  voucherId: string | null;
  /** As typed (trimmed, case kept): the server normalizes codes when it resolves them. */
  code: string | null;
  orderRef: string | null;
  amountMinor: number;
  redeemedAt: Date | null;
}

export interface RowProblem {
  line: number;
  reason: 'MALFORMED_ROW' | 'ROW_TOO_LONG' | 'MISSING_KEY' | 'BAD_AMOUNT' | 'BAD_CURRENCY' | 'BAD_TIME' | 'BAD_VOUCHER_ID';
  detail: string;
}

export interface ParsedFile {
  rows: TheirRow[];
  problems: RowProblem[];
  /** Header names we do not read (trimmed, as written), so the uploader sees what was skipped. */
  ignoredColumns: string[];
}

/** Longest CSV record read; longer ones become ROW_TOO_LONG problems without being held. */
const MAX_RECORD_CHARS = 4_096;
const MAX_CODE_CHARS = 64;
const MAX_ORDER_REF_CHARS = 200;
/** How much of a bad value is echoed in a problem's detail. */
const ECHO_CHARS = 40;

const DELIMITERS = [',', ';', '\t'] as const;

type Column = 'voucher_id' | 'code' | 'order_ref' | 'amount' | 'amount_minor' | 'currency' | 'redeemed_at' | 'time';
const KNOWN_COLUMNS: ReadonlySet<string> = new Set<Column>(['voucher_id', 'code', 'order_ref', 'amount', 'amount_minor', 'currency', 'redeemed_at', 'time']);

type FileProblem = 'EMPTY' | 'NO_HEADER' | 'DUPLICATE_COLUMN' | 'MISSING_COLUMNS' | 'BOTH_AMOUNT_COLUMNS' | 'TOO_MANY_ROWS';

function fileError(reason: FileProblem, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('INVALID_RECONCILIATION_FILE', message, { reason, ...details });
}

/**
 * Reads a counterparty's redemption list. Spreadsheets export CSV with whatever
 * delimiter the locale likes, so it is guessed from the header; column names are
 * matched case-insensitively and unknown columns skipped, because finance exports carry
 * extra columns we cannot predict. Amounts become integer minor units by string
 * arithmetic: a float would turn 0.07 into 0.06999… and make an exact comparison with
 * the statement wrong. A bad row is reported and the rest of the file still counts;
 * only problems that make the whole file unreadable (or too big) throw
 * INVALID_RECONCILIATION_FILE.
 */
export function parseReconciliationFile(text: string, options: { currency: string; maxRows: number }): ParsedFile {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw fileError('EMPTY', 'The reconciliation file is empty.');

  const delimiter = detectDelimiter(body);
  const reader = new CsvRecordReader({ delimiter, maxRecordChars: MAX_RECORD_CHARS });
  // Fed in slices, and stopped as soon as the file has more rows than allowed: a file of
  // millions of tiny rows never becomes millions of records in memory.
  const records: CsvRecord[] = [];
  for (let start = 0; start < text.length && records.length <= options.maxRows + 1; start += READ_SLICE_CHARS) {
    records.push(...reader.push(text.slice(start, start + READ_SLICE_CHARS)));
  }
  if (records.length <= options.maxRows + 1) records.push(...reader.end());

  const headerRecord = records[0];
  if (!headerRecord) throw fileError('EMPTY', 'The reconciliation file is empty.');
  if ('problem' in headerRecord) {
    throw fileError('NO_HEADER', `The header row (line ${headerRecord.line}) cannot be read: ${headerRecord.detail}.`, { line: headerRecord.line });
  }
  const header = readHeader(headerRecord.fields);
  const amountDigits = minorDigits(options.currency);
  const currency = options.currency.toUpperCase();

  if (records.length - 1 > options.maxRows) {
    throw fileError('TOO_MANY_ROWS', `The file has more than ${options.maxRows} data rows, the most accepted. Split it or upload one period only.`, {
      maxRows: options.maxRows,
    });
  }

  const rows: TheirRow[] = [];
  const problems: RowProblem[] = [];
  for (const record of records.slice(1)) {
    if ('problem' in record) {
      problems.push({ line: record.line, reason: record.problem, detail: record.detail });
      continue;
    }
    const row = readRow(record.line, record.fields, header, headerRecord.fields.length, amountDigits, currency);
    if ('reason' in row) problems.push(row);
    else rows.push(row);
  }
  return { rows, problems, ignoredColumns: header.ignored };
}

/**
 * The delimiter that occurs most often outside quotes on the header line; a comma on a
 * tie or when there is none (a one-column file, which then fails the column check).
 */
function detectDelimiter(text: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\r' || char === '\n')) break;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best: string = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

interface Header {
  index: Partial<Record<Column, number>>;
  /** The amount column in use: major units (decimal) or minor units (integer). */
  amount: { column: 'amount' | 'amount_minor'; index: number };
  time: number | undefined;
  ignored: string[];
}

function readHeader(fields: string[]): Header {
  const index: Partial<Record<Column, number>> = {};
  const ignored: string[] = [];
  fields.forEach((raw, i) => {
    const name = raw.trim().toLowerCase();
    if (!KNOWN_COLUMNS.has(name)) {
      if (raw.trim() !== '') ignored.push(raw.trim());
      return;
    }
    const column = name as Column;
    if (index[column] !== undefined) throw fileError('DUPLICATE_COLUMN', `The column "${column}" appears twice in the header.`, { column });
    index[column] = i;
  });
  const missing: string[] = [];
  if (index.voucher_id === undefined && index.code === undefined) missing.push('voucher_id or code');
  if (index.amount === undefined && index.amount_minor === undefined) missing.push('amount or amount_minor');
  if (missing.length > 0) {
    throw fileError('MISSING_COLUMNS', `The header lacks the column(s) ${missing.join(' and ')} (found: ${fields.map((f) => f.trim()).join(', ') || 'none'}).`, {
      missing,
      found: fields.map((f) => f.trim()),
    });
  }
  if (index.amount !== undefined && index.amount_minor !== undefined) {
    throw fileError('BOTH_AMOUNT_COLUMNS', 'The header has both "amount" and "amount_minor": keep one, so the amount is not ambiguous.');
  }
  // Both time columns: redeemed_at is the precise name; the other is reported as skipped.
  let time = index.redeemed_at ?? index.time;
  if (index.redeemed_at !== undefined && index.time !== undefined) {
    ignored.push(fields[index.time]!.trim());
    time = index.redeemed_at;
  }
  const amount = index.amount !== undefined ? { column: 'amount' as const, index: index.amount } : { column: 'amount_minor' as const, index: index.amount_minor! };
  return { index, amount, time, ignored };
}

function readRow(line: number, fields: string[], header: Header, headerWidth: number, amountDigits: number, currency: string): TheirRow | RowProblem {
  const problem = (reason: RowProblem['reason'], detail: string): RowProblem => ({ line, reason, detail });
  // Trailing empty fields (a spreadsheet's stray delimiters) are harmless; values past the header are not.
  if (fields.slice(headerWidth).some((f) => f.trim() !== '')) {
    return problem('MALFORMED_ROW', `the row has ${fields.length} fields; the header has ${headerWidth}`);
  }
  const value = (i: number | undefined): string => (i === undefined ? '' : (fields[i] ?? '').trim());

  const voucherId = value(header.index.voucher_id) || null;
  const code = value(header.index.code) || null;
  const orderRef = value(header.index.order_ref) || null;
  if (!voucherId && !code) return problem('MISSING_KEY', 'the row has neither a voucher_id nor a code');
  if (voucherId && !voucherIdSchema.safeParse(voucherId).success) {
    return problem('BAD_VOUCHER_ID', `"${echo(voucherId)}" is not a voucher id (vch_ followed by 12 letters and digits)`);
  }
  if (code && code.length > MAX_CODE_CHARS) return problem('MALFORMED_ROW', `the code is ${code.length} characters long; at most ${MAX_CODE_CHARS}`);
  if (orderRef && orderRef.length > MAX_ORDER_REF_CHARS) {
    return problem('MALFORMED_ROW', `the order_ref is ${orderRef.length} characters long; at most ${MAX_ORDER_REF_CHARS}`);
  }

  const rowCurrency = value(header.index.currency);
  if (rowCurrency && rowCurrency.toUpperCase() !== currency) {
    return problem('BAD_CURRENCY', `"${echo(rowCurrency)}" is not the statement's currency ${currency}`);
  }

  const rawAmount = value(header.amount.index);
  const amount = header.amount.column === 'amount' ? parseMajorAmount(rawAmount, amountDigits) : parseMinorAmount(rawAmount);
  if (typeof amount === 'string') return problem('BAD_AMOUNT', amount);

  let redeemedAt: Date | null = null;
  const rawTime = value(header.time);
  if (rawTime) {
    const time = parseOffsetTime(rawTime);
    if (typeof time === 'string') return problem('BAD_TIME', time);
    redeemedAt = time;
  }
  return { line, voucherId, code, orderRef, amountMinor: amount, redeemedAt };
}

function echo(value: string): string {
  return value.length > ECHO_CHARS ? `${value.slice(0, ECHO_CHARS)}…` : value;
}


/**
 * The largest amount of one row, in minor units (100,000,000.00 in a two-decimal
 * currency): far above any one voucher's charge, and low enough that the sums of a
 * whole file stay exact integers.
 */
export const MAX_ROW_AMOUNT_MINOR = 10_000_000_000;
const MAX_AMOUNT = BigInt(MAX_ROW_AMOUNT_MINOR);
const READ_SLICE_CHARS = 64 * 1024;

/** Integer digits (with sign) → an amount within MAX_ROW_AMOUNT_MINOR, or why not. */
function safeInteger(sign: string, digits: string, raw: string): number | string {
  const value = BigInt(digits);
  if (value > MAX_AMOUNT) return `"${echo(raw)}" is too large: at most ${MAX_ROW_AMOUNT_MINOR} minor units per row`;
  // Number(-0n) is 0: a "-0.00" never becomes -0.
  return Number(sign === '-' ? -value : value);
}

/**
 * "150", "150.5", "-20.00" in major units → minor units, by moving the decimal point in
 * the string: exact, with no floating point anywhere. More fraction digits than the
 * currency has is refused rather than rounded (it is not an amount anyone was charged).
 */
function parseMajorAmount(raw: string, digits: number): number | string {
  if (raw === '') return 'the amount is empty';
  const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(raw);
  if (!match) {
    if (/^[+-]?\d+,\d+$/.test(raw)) return `"${echo(raw)}" uses a comma as the decimal separator; use a point (150.50)`;
    return `"${echo(raw)}" is not an amount (write it like 150.50 or -20.00)`;
  }
  const [, sign = '', whole = '', fraction = ''] = match;
  if (fraction.length > digits) {
    return digits === 0 ? `"${echo(raw)}" has decimals; amounts in this currency are whole numbers` : `"${echo(raw)}" has more than ${digits} decimals`;
  }
  return safeInteger(sign, whole + fraction.padEnd(digits, '0'), raw);
}

function parseMinorAmount(raw: string): number | string {
  if (raw === '') return 'the amount is empty';
  const match = /^([+-]?)(\d+)$/.exec(raw);
  if (!match) return `"${echo(raw)}" is not a whole number of minor units`;
  return safeInteger(match[1] ?? '', match[2]!, raw);
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/**
 * ISO 8601 date and time with a zone: "2026-10-31T23:59:59.999+03:00" or "…Z". A time
 * without an offset is refused, not read in some assumed zone: at a month's edge the
 * guess decides which statement a redemption belongs to.
 */
function parseOffsetTime(raw: string): Date | string {
  const match = ISO_TIME.exec(raw);
  if (!match) return `"${echo(raw)}" is not an ISO 8601 date and time (like 2026-10-31T23:59:59+03:00)`;
  const [, y, mo, d, h, mi, s = '0', frac = '', zulu, offSign, offH, offM = '0'] = match;
  if (!zulu && !offSign) return `"${echo(raw)}" has no time zone offset; add Z or one like +03:00`;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHours = Number(offH ?? '0');
  const offsetMinutes = Number(offM);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const validDate = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!validDate || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) {
    return `"${echo(raw)}" is not a valid date and time`;
  }
  date.setUTCHours(hour, minute, second, Number(frac.slice(0, 3).padEnd(3, '0')));
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000 * (offSign === '-' ? -1 : 1);
  return new Date(date.getTime() - offsetMs);
}

// ---- matching --------------------------------------------------------------------

export interface OurVoucher {
  voucherId: string;
  codeMask: string;
  orderRefs: string[];
  /** Net settlement amount of this voucher in the statement; 0 when reversed. */
  amountMinor: number;
  redeemedAt: Date | null;
  reversed: boolean;
}

export interface ResolvedRow extends TheirRow {
  /** The voucher id given, or the one found by the code; null = unknown code/voucher. */
  resolvedVoucherId: string | null;
}

export type Outcome = 'matched' | 'missing_ours' | 'missing_theirs' | 'mismatch';

export interface ReportItem {
  outcome: Outcome;
  voucherId: string | null;
  codeMask: string | null;
  lines: number[];
  theirOrderRef: string | null;
  ourOrderRefs: string[];
  theirAmountMinor: number | null;
  ourAmountMinor: number | null;
  theirTime: Date | null;
  ourTime: Date | null;
  differences: Array<'amount' | 'order_ref'>;
}

export interface ReconciliationResult {
  items: ReportItem[];
  counts: Record<Outcome, number>;
  theirTotalMinor: number;
  ourTotalMinor: number;
  /** No discrepancy between the two sides. Rows the parser refused are not seen here: the caller weighs those. */
  reconciled: boolean;
}

const OUTCOME_ORDER: Record<Outcome, number> = { mismatch: 0, missing_ours: 1, missing_theirs: 2, matched: 3 };

interface TheirGroup {
  lines: number[];
  amountMinor: number;
  orderRef: string | null;
  time: Date | null;
}

/**
 * Compares our statement with their rows. Their rows for one voucher are summed (a
 * redemption and its reversal may be two rows) and compared with the voucher's net
 * amount, so both sides speak of what is owed rather than of how events were split.
 * A voucher fully reversed in the period (net 0) that they do not list is not a
 * discrepancy: nobody owes anything for it. Pure and deterministic: the same inputs
 * give the same items in the same order, so reports can be diffed.
 */
export function reconcile(ours: readonly OurVoucher[], theirs: readonly ResolvedRow[]): ReconciliationResult {
  const items: ReportItem[] = [];
  const groups = new Map<string, TheirGroup>();
  let theirTotalMinor = 0;
  for (const row of theirs) {
    theirTotalMinor += row.amountMinor;
    if (row.resolvedVoucherId === null) {
      items.push({
        outcome: 'missing_ours',
        voucherId: row.voucherId,
        codeMask: null,
        lines: [row.line],
        theirOrderRef: row.orderRef,
        ourOrderRefs: [],
        theirAmountMinor: row.amountMinor,
        ourAmountMinor: null,
        theirTime: row.redeemedAt,
        ourTime: null,
        differences: [],
      });
      continue;
    }
    const group = groups.get(row.resolvedVoucherId);
    if (!group) {
      groups.set(row.resolvedVoucherId, { lines: [row.line], amountMinor: row.amountMinor, orderRef: row.orderRef, time: row.redeemedAt });
    } else {
      group.lines.push(row.line);
      group.amountMinor += row.amountMinor;
      group.orderRef ??= row.orderRef;
      group.time ??= row.redeemedAt;
    }
  }

  // A voucher listed twice on our side (it should not be) counts once, with its amounts summed.
  const ourById = new Map<string, OurVoucher>();
  let ourTotalMinor = 0;
  for (const voucher of ours) {
    ourTotalMinor += voucher.amountMinor;
    const seen = ourById.get(voucher.voucherId);
    ourById.set(
      voucher.voucherId,
      seen
        ? {
            voucherId: voucher.voucherId,
            codeMask: seen.codeMask,
            orderRefs: [...new Set([...seen.orderRefs, ...voucher.orderRefs])],
            amountMinor: seen.amountMinor + voucher.amountMinor,
            redeemedAt: seen.redeemedAt ?? voucher.redeemedAt,
            reversed: seen.reversed || voucher.reversed,
          }
        : voucher,
    );
  }

  for (const [voucherId, group] of groups) {
    const our = ourById.get(voucherId);
    const differences: ReportItem['differences'] = [];
    if (our) {
      if (group.amountMinor !== our.amountMinor) differences.push('amount');
      if (group.orderRef !== null && !our.orderRefs.includes(group.orderRef)) differences.push('order_ref');
    }
    items.push({
      outcome: !our ? 'missing_ours' : differences.length > 0 ? 'mismatch' : 'matched',
      voucherId,
      codeMask: our?.codeMask ?? null,
      lines: group.lines,
      theirOrderRef: group.orderRef,
      ourOrderRefs: our ? [...our.orderRefs] : [],
      theirAmountMinor: group.amountMinor,
      ourAmountMinor: our?.amountMinor ?? null,
      theirTime: group.time,
      ourTime: our?.redeemedAt ?? null,
      differences,
    });
  }

  for (const our of ourById.values()) {
    if (groups.has(our.voucherId)) continue;
    if (our.amountMinor === 0 && our.reversed) continue;
    items.push({
      outcome: 'missing_theirs',
      voucherId: our.voucherId,
      codeMask: our.codeMask,
      lines: [],
      theirOrderRef: null,
      ourOrderRefs: [...our.orderRefs],
      theirAmountMinor: null,
      ourAmountMinor: our.amountMinor,
      theirTime: null,
      ourTime: our.redeemedAt,
      differences: [],
    });
  }

  items.sort(compareItems);
  const counts: Record<Outcome, number> = { matched: 0, missing_ours: 0, missing_theirs: 0, mismatch: 0 };
  for (const item of items) counts[item.outcome] += 1;
  return {
    items,
    counts,
    theirTotalMinor,
    ourTotalMinor,
    reconciled: counts.mismatch + counts.missing_ours + counts.missing_theirs === 0,
  };
}

function compareItems(a: ReportItem, b: ReportItem): number {
  const byOutcome = OUTCOME_ORDER[a.outcome] - OUTCOME_ORDER[b.outcome];
  if (byOutcome !== 0) return byOutcome;
  const lineA = a.lines[0] ?? Number.POSITIVE_INFINITY;
  const lineB = b.lines[0] ?? Number.POSITIVE_INFINITY;
  if (lineA !== lineB) return lineA < lineB ? -1 : 1;
  const idA = a.voucherId ?? '';
  const idB = b.voucherId ?? '';
  return idA < idB ? -1 : idA > idB ? 1 : 0;
}

// ---- report ----------------------------------------------------------------------

export const REPORT_COLUMNS = [
  'outcome',
  'voucher_id',
  'code_mask',
  'lines',
  'their_order_ref',
  'our_order_refs',
  'their_amount_minor',
  'our_amount_minor',
  'difference_minor',
  'their_time',
  'our_time',
  'differences',
  'detail',
] as const;

/**
 * The reconciliation as CSV lines (each ending in CRLF): the header, one line per item
 * in the result's order, then one `invalid_row` line per row problem by line number.
 * Columns are fixed so finance teams can build on them. Text that came from a file or
 * from order references is defused against spreadsheet formula injection (a leading
 * ' before = + - @ tab CR); numeric columns are not, so -2000 stays a number.
 * difference_minor is theirs − ours with a missing side as 0, so the column sums to
 * theirTotalMinor − ourTotalMinor.
 */
export function reportCsvLines(result: ReconciliationResult, problems: RowProblem[]): string[] {
  const line = (cells: string[]): string => `${cells.join(',')}\r\n`;
  const text = (value: string | null): string => csvField(value ?? '');
  const plain = (value: string | number | null): string => csvQuoted(value === null ? '' : String(value));
  const time = (value: Date | null): string => (value ? value.toISOString() : '');

  const out = [line([...REPORT_COLUMNS])];
  for (const item of result.items) {
    out.push(
      line([
        plain(item.outcome),
        text(item.voucherId),
        text(item.codeMask),
        plain(item.lines.join(' ')),
        text(item.theirOrderRef),
        text(item.ourOrderRefs.join(' ')),
        plain(item.theirAmountMinor),
        plain(item.ourAmountMinor),
        plain((item.theirAmountMinor ?? 0) - (item.ourAmountMinor ?? 0)),
        time(item.theirTime),
        time(item.ourTime),
        plain(item.differences.join(' ')),
        '',
      ]),
    );
  }
  for (const problem of [...problems].sort((a, b) => a.line - b.line)) {
    out.push(line(['invalid_row', '', '', String(problem.line), '', '', '', '', '', '', '', '', text(`${problem.reason}: ${problem.detail}`)]));
  }
  return out;
}
