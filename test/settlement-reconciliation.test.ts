import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { codeList, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { keyFor, tenantWithKey, uniqueSlug } from './support/factories.ts';
import { campaignBody, createCampaign } from './support/issuer.ts';
import { coalitionOf, issuedVoucher, redeem, reverse } from './support/redemption.ts';
import { settlementApi } from './support/settlement.ts';

/**
 * Reconciliation end to end: vouchers issued and redeemed through the API in October,
 * the statement built and finalized in November, then each party uploads its OWN list
 * of October's redemptions (as a finance team exports it from its own systems) and
 * reads what matches, what is missing on either side and what differs.
 */

// Moscow has no DST: October's statement covers 2026-09-30T21:00Z to 2026-10-31T21:00Z.
const START = '2026-10-05T10:00:00Z';
const HOUR_MS = 60 * 60 * 1000;
/** The report's columns, in order: integrators build on them, so they are spelled out here rather than imported. */
const REPORT_HEADER = 'outcome,voucher_id,code_mask,lines,their_order_ref,our_order_refs,their_amount_minor,our_amount_minor,difference_minor,their_time,our_time,differences,detail';

let world: ExchangeWorld;
let issuer: ReturnType<typeof settlementApi>;
let partner: ReturnType<typeof settlementApi>;

beforeAll(async () => {
  world = await startExchangeWorld({ start: START });
  issuer = settlementApi(world, world.issuer.key);
  partner = settlementApi(world, world.partner.key);
});
afterAll(() => world.stop());

/** A voucher of the October statement as both finance teams know it. */
interface Sold {
  id: string;
  code: string;
  codeMask: string;
  orderRef: string;
  orderAmountMinor: number;
  /** 2.5 % of the order, rounded half up: what the partner owes the issuer for it. */
  feeMinor: number;
  redeemedAt: string;
  redemptionId: string;
}

/** Minor units as a finance export writes the amount: 10309 → "103.09", -17500 → "-175.00". */
function major(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** A CSV file from rows of cells, written as given (a cell that needs quotes carries them). */
const csv = (rows: ReadonlyArray<ReadonlyArray<string | number>>, options: { delimiter?: string; eol?: string } = {}) =>
  rows.map((row) => row.join(options.delimiter ?? ',')).join(options.eol ?? '\n') + (options.eol ?? '\n');

/** One CSV line's cells: quoted cells may hold commas and doubled quotes (the report has no line breaks in cells here). */
function cellsOf(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else cell += char;
  }
  cells.push(cell);
  return cells;
}

/** The report as rows of cells keyed by column; every line ends in CRLF. */
function reportRows(text: string): Record<string, string>[] {
  const lines = text.split('\r\n');
  expect(lines.at(-1)).toBe('');
  const header = cellsOf(lines[0]!);
  return lines.slice(1, -1).map((line) => {
    const cells = cellsOf(line);
    expect(cells).toHaveLength(header.length);
    return Object.fromEntries(header.map((name, i) => [name, cells[i]!]));
  });
}

/** POST .../reconciliations with any body and content type (the support helper always sends a string as text/csv). */
async function upload(key: string, statementId: string, body: string | Uint8Array, options: { type?: string; query?: string } = {}) {
  const response = await fetch(`${world.system.baseUrl}/api/v1/settlement/statements/${statementId}/reconciliations${options.query ?? ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': options.type ?? 'text/csv' },
    body,
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, location: response.headers.get('location'), body: parsed };
}

async function reconciliationRows(statementId: string) {
  return coalitionOf(world).selectFrom('settlement_reconciliations').select(['id', 'tenant_id']).where('statement_id', '=', statementId).orderBy('id').execute();
}

describe('each party reconciles its own list of redemptions with the statement', () => {
  let agreementId: string;
  let october: any;
  /** v[0..3] redeemed and owed; v[4] redeemed and reversed in October (net 0). */
  const v: Sold[] = [];
  const orders = [400_000, 412_340, 523_456, 600_002, 700_000];
  const fees = [10_000, 10_309, 13_086, 15_000, 17_500];
  const owed = () => v.slice(0, 4);
  const owedTotal = 10_000 + 10_309 + 13_086 + 15_000;
  /** The partner's exact list: by plain code, v[0] and v[2] typed in lower case. */
  const partnerExact = () =>
    csv([
      ['code', 'order_ref', 'amount', 'currency', 'redeemed_at'],
      ...owed().map((s, i) => [i % 2 === 0 ? s.code.toLowerCase() : s.code, s.orderRef, major(s.feeMinor), 'RUB', s.redeemedAt]),
    ]);

  it('October: five codes redeemed through the API, one reversed; built and finalized in November', async () => {
    const setup = await rewardWithCodes(world, codeList('REC-', 12), { agreement: { model: { type: 'partner_pays_percent_of_order', percent: 2.5 } } });
    agreementId = setup.agreement.id;
    for (const [i, orderAmountMinor] of orders.entries()) {
      const voucher = await issuedVoucher(world, setup.reward.id);
      const orderRef = `ORD-${i}`;
      const redeemed = await redeem(world, { code: voucher.code, orderRef, orderAmountMinor, currency: 'RUB' });
      expect(redeemed.status).toBe(200);
      v.push({ id: voucher.id, code: voucher.code, codeMask: voucher.codeMask, orderRef, orderAmountMinor, feeMinor: fees[i]!, redeemedAt: redeemed.body.redeemedAt, redemptionId: redeemed.body.id });
      world.clock.advance(HOUR_MS);
    }
    expect((await reverse(world, v[4]!.redemptionId)).status).toBe(200);
    expect(new Set(v.map((s) => s.code)).size).toBe(5);
    expect(v.every((s) => s.code !== s.code.toLowerCase())).toBe(true);

    world.clock.set('2026-11-01T00:30:00Z');
    const built = await issuer.build(agreementId, '2026-10');
    expect(built.status).toBe(200);
    expect(built.body).toMatchObject({
      status: 'draft',
      entryCount: 6,
      lines: [
        { section: 'period', event: 'code_redeemed', count: 5, amountMinor: fees.reduce((a, b) => a + b, 0) },
        { section: 'period', event: 'redemption_reversed', count: 1, amountMinor: -17_500 },
      ],
      totals: [{ currency: 'RUB', netMinor: owedTotal, owedBy: world.partner.tenant.slug, owedTo: world.issuer.tenant.slug }],
      reconciliation: { issuer: null, partner: null },
    });
    const finalized = await issuer.finalize(built.body.id, built.body.contentHash);
    expect(finalized.status).toBe(200);
    october = finalized.body;
    expect(october.status).toBe('finalized');
  });

  let partnerRec: any;

  it('the partner lists its redemptions by code, in any case, with the statement amounts: every voucher matches', async () => {
    world.clock.set('2026-11-02T09:00:00Z');
    const res = await upload(world.partner.key, october.id, partnerExact(), { query: '?filename=volt-october.csv' });
    expect(res.status).toBe(201);
    partnerRec = res.body;
    expect(partnerRec).toEqual({
      id: expect.stringMatching(/^rec_[0-9A-Za-z]{12}$/),
      statementId: october.id,
      uploadedAt: '2026-11-02T09:00:00.000Z',
      filename: 'volt-october.csv',
      statementContentHash: october.contentHash,
      reconciled: true,
      rows: 4,
      invalidRows: 0,
      matched: 4,
      missingOurs: 0,
      missingTheirs: 0,
      mismatched: 0,
      theirTotalMinor: owedTotal,
      ourTotalMinor: owedTotal,
    });
    expect(res.location).toBe(`/api/v1/settlement/reconciliations/${partnerRec.id}`);

    const stored = await partner.get(october.id);
    expect(stored.body.reconciliation).toEqual({
      issuer: null,
      partner: {
        reconciliationId: partnerRec.id,
        uploadedAt: '2026-11-02T09:00:00.000Z',
        reconciled: true,
        matched: 4,
        missingOurs: 0,
        missingTheirs: 0,
        mismatched: 0,
        invalidRows: 0,
        currentForStatement: true,
      },
    });
    // The issuer sees the partner's result on the same statement; the statement itself did not change.
    const issuerView = (await issuer.get(october.id)).body;
    expect(issuerView.reconciliation).toEqual(stored.body.reconciliation);
    expect(issuerView.contentHash).toBe(october.contentHash);
    expect(issuerView.status).toBe('finalized');

    // The result is kept: read again over REST, the same answer.
    const again = await fetch(`${world.system.baseUrl}/api/v1/settlement/reconciliations/${partnerRec.id}`, { headers: { authorization: `Bearer ${world.partner.key}` } });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(partnerRec);

    const report = await partner.report(partnerRec.id);
    expect(report.status).toBe(200);
    expect(report.text.split('\r\n')[0]).toBe(REPORT_HEADER);
    const rows = reportRows(report.text);
    expect(rows.map((row) => [row.outcome, row.voucher_id, row.code_mask, row.lines, row.their_amount_minor, row.our_amount_minor, row.difference_minor])).toEqual(
      owed().map((s, i) => ['matched', s.id, s.codeMask, String(i + 2), String(s.feeMinor), String(s.feeMinor), '0']),
    );
    // The plain codes never come back: the report names vouchers and masks only.
    for (const s of v) expect(report.text.toUpperCase()).not.toContain(s.code.toUpperCase());
  });

  let issuerRec: any;

  it('the issuer lists by voucher id with one row missing, one unknown voucher, one amount and one order ref off: each is reported', async () => {
    world.clock.set('2026-11-02T10:00:00Z');
    const [v0, v1, v2, v3] = owed() as [Sold, Sold, Sold, Sold];
    const unknown = 'vch_NotOursAtAll';
    const file = csv([
      ['voucher_id', 'order_ref', 'amount_minor', 'redeemed_at'],
      [v0.id, v0.orderRef, v0.feeMinor, '2026-10-05T13:00:00+03:00'],
      [v2.id, v2.orderRef, v2.feeMinor + 1, ''],
      [v3.id, 'ORD-3-X', v3.feeMinor, ''],
      [unknown, 'ORD-9', 5_000, ''],
      // v1 is not in the file; v4 (reversed, net 0) is not either.
    ]);
    const res = await issuer.reconcile(october.id, file, 'grocer-october.csv');
    expect(res.status).toBe(201);
    issuerRec = res.body;
    expect(issuerRec).toMatchObject({
      statementId: october.id,
      filename: 'grocer-october.csv',
      statementContentHash: october.contentHash,
      reconciled: false,
      rows: 4,
      invalidRows: 0,
      matched: 1,
      missingOurs: 1,
      missingTheirs: 1,
      mismatched: 2,
      theirTotalMinor: v0.feeMinor + v2.feeMinor + 1 + v3.feeMinor + 5_000,
      ourTotalMinor: owedTotal,
    });

    const report = await issuer.report(issuerRec.id);
    expect(report.status).toBe(200);
    expect(report.text.split('\r\n')[0]).toBe(REPORT_HEADER);
    // Discrepancies first (mismatch, missing_ours, missing_theirs), then matches; by line within each.
    expect(reportRows(report.text)).toEqual([
      {
        outcome: 'mismatch', voucher_id: v2.id, code_mask: v2.codeMask, lines: '3', their_order_ref: 'ORD-2', our_order_refs: 'ORD-2',
        their_amount_minor: String(v2.feeMinor + 1), our_amount_minor: String(v2.feeMinor), difference_minor: '1', their_time: '', our_time: v2.redeemedAt, differences: 'amount', detail: '',
      },
      {
        outcome: 'mismatch', voucher_id: v3.id, code_mask: v3.codeMask, lines: '4', their_order_ref: 'ORD-3-X', our_order_refs: 'ORD-3',
        their_amount_minor: String(v3.feeMinor), our_amount_minor: String(v3.feeMinor), difference_minor: '0', their_time: '', our_time: v3.redeemedAt, differences: 'order_ref', detail: '',
      },
      {
        outcome: 'missing_ours', voucher_id: unknown, code_mask: '', lines: '5', their_order_ref: 'ORD-9', our_order_refs: '',
        their_amount_minor: '5000', our_amount_minor: '', difference_minor: '5000', their_time: '', our_time: '', differences: '', detail: '',
      },
      {
        outcome: 'missing_theirs', voucher_id: v1.id, code_mask: v1.codeMask, lines: '', their_order_ref: '', our_order_refs: 'ORD-1',
        their_amount_minor: '', our_amount_minor: String(v1.feeMinor), difference_minor: String(-v1.feeMinor), their_time: '', our_time: v1.redeemedAt, differences: '', detail: '',
      },
      {
        outcome: 'matched', voucher_id: v0.id, code_mask: v0.codeMask, lines: '2', their_order_ref: 'ORD-0', our_order_refs: 'ORD-0',
        their_amount_minor: String(v0.feeMinor), our_amount_minor: String(v0.feeMinor), difference_minor: '0', their_time: '2026-10-05T10:00:00.000Z', our_time: v0.redeemedAt, differences: '', detail: '',
      },
    ]);
    expect(v0.redeemedAt).toBe('2026-10-05T10:00:00.000Z');
    // difference_minor sums to their total minus ours.
    const differences = reportRows(report.text).reduce((sum, row) => sum + Number(row.difference_minor), 0);
    expect(differences).toBe(issuerRec.theirTotalMinor - issuerRec.ourTotalMinor);

    // The statement shows each party's latest result: the issuer's new one, the partner's as it was.
    const statement = (await partner.get(october.id)).body;
    expect(statement.reconciliation).toEqual({
      issuer: {
        reconciliationId: issuerRec.id,
        uploadedAt: '2026-11-02T10:00:00.000Z',
        reconciled: false,
        matched: 1,
        missingOurs: 1,
        missingTheirs: 1,
        mismatched: 2,
        invalidRows: 0,
        currentForStatement: true,
      },
      partner: expect.objectContaining({ reconciliationId: partnerRec.id, reconciled: true }),
    });
  });

  it("a corrected upload reconciles and becomes the issuer's latest; the earlier report is kept as it was", async () => {
    const before = await issuer.report(issuerRec.id);
    world.clock.set('2026-11-02T11:00:00Z');
    const corrected = csv([['voucher_id', 'order_ref', 'amount_minor'], ...owed().map((s) => [s.id, s.orderRef, s.feeMinor])]);
    const res = await issuer.reconcile(october.id, corrected);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ filename: null, reconciled: true, rows: 4, matched: 4, missingOurs: 0, missingTheirs: 0, mismatched: 0, theirTotalMinor: owedTotal, ourTotalMinor: owedTotal });
    expect(res.body.id).not.toBe(issuerRec.id);

    const statement = (await issuer.get(october.id)).body;
    expect(statement.reconciliation.issuer).toEqual({
      reconciliationId: res.body.id,
      uploadedAt: '2026-11-02T11:00:00.000Z',
      reconciled: true,
      matched: 4,
      missingOurs: 0,
      missingTheirs: 0,
      mismatched: 0,
      invalidRows: 0,
      currentForStatement: true,
    });
    expect(statement.reconciliation.partner.reconciliationId).toBe(partnerRec.id);
    expect((await issuer.report(issuerRec.id)).text).toBe(before.text);
  });

  it('a fully reversed voucher absent from the file is not reported; listed with its reversal it matches; at its first amount it differs', async () => {
    const reversed = v[4]!;
    // Absent (the partner's exact file above): nothing about it in the report.
    expect(partnerRec.missingTheirs).toBe(0);
    expect((await partner.report(partnerRec.id)).text).not.toContain(reversed.id);

    world.clock.advance(60_000);
    const withReversal = csv([
      ['code', 'order_ref', 'amount'],
      ...owed().map((s) => [s.code, s.orderRef, major(s.feeMinor)]),
      [reversed.code, reversed.orderRef, major(reversed.feeMinor)],
      [reversed.code, reversed.orderRef, major(-reversed.feeMinor)],
    ]);
    const both = await partner.reconcile(october.id, withReversal);
    expect(both.status).toBe(201);
    expect(both.body).toMatchObject({ reconciled: true, rows: 6, matched: 5, missingOurs: 0, missingTheirs: 0, mismatched: 0, theirTotalMinor: owedTotal, ourTotalMinor: owedTotal });
    const bothRows = reportRows((await partner.report(both.body.id)).text);
    expect(bothRows.find((row) => row.voucher_id === reversed.id)).toMatchObject({ outcome: 'matched', lines: '6 7', their_amount_minor: '0', our_amount_minor: '0' });

    world.clock.advance(60_000);
    const unaware = csv([['code', 'order_ref', 'amount'], ...owed().map((s) => [s.code, s.orderRef, major(s.feeMinor)]), [reversed.code, reversed.orderRef, major(reversed.feeMinor)]]);
    const stale = await partner.reconcile(october.id, unaware);
    expect(stale.body).toMatchObject({ reconciled: false, matched: 4, mismatched: 1, missingOurs: 0, missingTheirs: 0 });
    expect(reportRows((await partner.report(stale.body.id)).text)[0]).toMatchObject({
      outcome: 'mismatch',
      voucher_id: reversed.id,
      their_amount_minor: String(reversed.feeMinor),
      our_amount_minor: '0',
      difference_minor: String(reversed.feeMinor),
      differences: 'amount',
    });
  });

  it('reads amounts in minor units as well as decimals, and a semicolon-separated file with a BOM and CRLF', async () => {
    world.clock.advance(60_000);
    const minorUnits = await partner.reconcile(october.id, csv([['Code', 'AMOUNT_MINOR', 'Order_Ref'], ...owed().map((s) => [s.code, s.feeMinor, s.orderRef])]));
    expect(minorUnits.body).toMatchObject({ reconciled: true, matched: 4, theirTotalMinor: owedTotal });

    world.clock.advance(60_000);
    const spreadsheet = `\uFEFF${csv(
      [['code', 'order_ref', 'amount', 'shop'], ...owed().map((s) => [s.code.toLowerCase(), s.orderRef, major(s.feeMinor), 'Moscow, Tverskaya'])],
      { delimiter: ';', eol: '\r\n' },
    )}`;
    const res = await upload(world.partner.key, october.id, new TextEncoder().encode(spreadsheet), { type: 'text/csv; charset=utf-8' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ reconciled: true, rows: 4, invalidRows: 0, matched: 4, theirTotalMinor: owedTotal, ourTotalMinor: owedTotal });
    expect((await partner.get(october.id)).body.reconciliation.partner).toMatchObject({ reconciliationId: res.body.id, reconciled: true, currentForStatement: true });
  });

  it('refuses a file it cannot read with a typed error and records nothing', async () => {
    world.clock.advance(60_000);
    const rowsBefore = await reconciliationRows(october.id);
    const statementBefore = (await partner.get(october.id)).body;

    const json = await upload(world.partner.key, october.id, JSON.stringify({ rows: [] }), { type: 'application/json' });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const refusals: [string, string | Uint8Array, string, Record<string, unknown>][] = [
      ['empty', '', 'EMPTY', {}],
      ['blank lines', '\r\n  \r\n', 'EMPTY', {}],
      ['no amount column', 'code,order_ref\nREC-00000,ORD-0\n', 'MISSING_COLUMNS', { missing: ['amount or amount_minor'] }],
      ['no key column', 'order_ref,amount\nORD-0,100.00\n', 'MISSING_COLUMNS', {}],
      ['both amount columns', 'code,amount,amount_minor\nREC-00000,100.00,10000\n', 'BOTH_AMOUNT_COLUMNS', {}],
      // "code,amount\n" then "é" in Latin-1 (0xE9) and a stray 0xFF: not UTF-8.
      ['Latin-1 bytes', new Uint8Array([...new TextEncoder().encode('code,amount\nCAF'), 0xe9, 0x2c, 0x31, 0x0a, 0xff]), 'NOT_UTF8', {}],
    ];
    for (const [label, body, reason, details] of refusals) {
      const res = await upload(world.partner.key, october.id, body);
      expect(res.status, label).toBe(422);
      expect(res.body.code, label).toBe('INVALID_RECONCILIATION_FILE');
      expect(res.body.details, label).toMatchObject({ reason, ...details });
    }

    const badQuery = await upload(world.partner.key, october.id, partnerExact(), { query: '?filename=a.csv&sheet=1' });
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.code).toBe('VALIDATION_FAILED');
    const badName = await upload(world.partner.key, october.id, partnerExact(), { query: `?filename=${'x'.repeat(256)}` });
    expect(badName.status).toBe(400);
    expect(badName.body.code).toBe('VALIDATION_FAILED');

    expect(await reconciliationRows(october.id)).toEqual(rowsBefore);
    expect((await partner.get(october.id)).body).toEqual(statementBefore);
  });

  it('reports unreadable rows as invalid_row lines, reads the rest, and does not call the file reconciled', async () => {
    world.clock.advance(60_000);
    const [v0, v1, v2, v3] = owed() as [Sold, Sold, Sold, Sold];
    const file = csv([
      ['code', 'order_ref', 'amount', 'redeemed_at'],
      [v0.code, v0.orderRef, major(v0.feeMinor), ''],
      // A decimal comma, quoted as a spreadsheet writes it.
      [v1.code, v1.orderRef, `"${major(v1.feeMinor).replace('.', ',')}"`, ''],
      [v2.code, v2.orderRef, major(v2.feeMinor), '2026-10-05 12:00'],
      [v3.code, v3.orderRef, major(v3.feeMinor), '2026-10-05T15:00:00Z'],
    ]);
    const res = await partner.reconcile(october.id, file);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ reconciled: false, rows: 4, invalidRows: 2, matched: 2, missingOurs: 0, missingTheirs: 2, mismatched: 0 });
    const rows = reportRows((await partner.report(res.body.id)).text);
    // Rows it could not read leave their vouchers missing; without a line, those are in voucher id order.
    const [firstMissing, secondMissing] = [v1.id, v2.id].sort();
    expect(rows.map((row) => [row.outcome, row.voucher_id, row.lines])).toEqual([
      ['missing_theirs', firstMissing, ''],
      ['missing_theirs', secondMissing, ''],
      ['matched', v0.id, '2'],
      ['matched', v3.id, '5'],
      ['invalid_row', '', '3'],
      ['invalid_row', '', '4'],
    ]);
    expect(rows[4]!.detail).toMatch(/^BAD_AMOUNT: .*comma/);
    expect(rows[5]!.detail).toMatch(/^BAD_TIME: .*time zone/);
    expect((await partner.get(october.id)).body.reconciliation.partner).toMatchObject({ reconciliationId: res.body.id, reconciled: false, invalidRows: 2, missingTheirs: 2 });
  });

  it('lets only the parties upload, with settlement:write, and each read only its own reconciliations', async () => {
    world.clock.advance(60_000);
    const rowsBefore = await reconciliationRows(october.id);

    const reader = await keyFor(world.system.services, world.partner.tenant.slug, ['settlement:read']);
    const readOnly = await upload(reader.secret, october.id, partnerExact());
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.code).toBe('FORBIDDEN');
    // Reading its own tenant's report is what settlement:read is for.
    expect((await settlementApi(world, reader.secret).report(partnerRec.id)).status).toBe(200);

    const stranger = await tenantWithKey(world.system.services, { slug: uniqueSlug('stranger'), roles: ['issuer', 'partner'], scopes: ['admin'] });
    const strangerUpload = await upload(stranger.key, october.id, partnerExact());
    expect(strangerUpload.status).toBe(404);
    expect(strangerUpload.body.code).toBe('STATEMENT_NOT_FOUND');
    expect(await reconciliationRows(october.id)).toEqual(rowsBefore);

    // A reconciliation is its uploader's: not the stranger's, and not the other party's either.
    const attempts: [string, string, string][] = [
      ["stranger, the partner's", stranger.key, partnerRec.id],
      ["stranger, the issuer's", stranger.key, issuerRec.id],
      ["issuer, the partner's", world.issuer.key, partnerRec.id],
      ["partner, the issuer's", world.partner.key, issuerRec.id],
    ];
    for (const [label, key, recId] of attempts) {
      const report = await settlementApi(world, key).report(recId);
      expect(report.status, label).toBe(404);
      expect(JSON.parse(report.text).code, label).toBe('RECONCILIATION_NOT_FOUND');
      for (const s of v) expect(report.text, label).not.toContain(s.id);
      const got = await fetch(`${world.system.baseUrl}/api/v1/settlement/reconciliations/${recId}`, { headers: { authorization: `Bearer ${key}` } });
      expect(got.status, label).toBe(404);
      expect(((await got.json()) as { code: string }).code, label).toBe('RECONCILIATION_NOT_FOUND');
    }

    const badStatement = await upload(world.partner.key, 'statement-1', partnerExact());
    expect(badStatement.status).toBe(400);
    expect(badStatement.body.code).toBe('VALIDATION_FAILED');
    const badReport = await partner.report('rec_1');
    expect(badReport.status).toBe(400);
    expect(JSON.parse(badReport.text).code).toBe('VALIDATION_FAILED');
    const unknownStatement = await upload(world.partner.key, 'stm_000000000000', partnerExact());
    expect(unknownStatement.status).toBe(404);
    expect(unknownStatement.body.code).toBe('STATEMENT_NOT_FOUND');
    expect(await reconciliationRows(october.id)).toEqual(rowsBefore);
  });

  it("an issuer listing a code that the partner issued under another issuer's agreement learns nothing of that voucher", async () => {
    world.clock.advance(60_000);
    // A second issuer with its own agreement with the same partner: one of the partner's codes went to its customer.
    const rival = await tenantWithKey(world.system.services, { slug: uniqueSlug('rival'), roles: ['issuer'], scopes: ['admin'] });
    const campaign = await createCampaign(world.system.baseUrl, rival.key, campaignBody(world.clock.now()));
    const rivalWorld: ExchangeWorld = { ...world, issuer: rival, campaignId: campaign.id, issuerDb: () => tenantDb(world.system.services.db, tenantSchemaName(rival.tenant.slug)) };
    const rivalSetup = await rewardWithCodes(rivalWorld, codeList('RIVAL-', 2), { agreement: { model: { type: 'partner_pays_percent_of_order', percent: 2.5 } } });
    const rivalVoucher = await issuedVoucher(rivalWorld, rivalSetup.reward.id);

    // Our issuer knows the code (a customer showed it) and lists it against its own statement.
    const file = csv([['code', 'order_ref', 'amount'], ...owed().map((s) => [s.code, s.orderRef, major(s.feeMinor)]), [rivalVoucher.code, 'ORD-X', '10.00']]);
    const res = await issuer.reconcile(october.id, file);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ reconciled: false, matched: 4, missingOurs: 1 });
    const report = (await issuer.report(res.body.id)).text;
    const row = reportRows(report).find((item) => item.outcome === 'missing_ours');
    expect(row).toMatchObject({ lines: '6', their_order_ref: 'ORD-X', their_amount_minor: '1000' });
    // The rival's voucher is none of this issuer's business: not its id, not its mask.
    expect(row!.voucher_id).toBe('');
    expect(report).not.toContain(rivalVoucher.id);
    expect(report).not.toContain(rivalVoucher.codeMask);
  });

  describe('a draft', () => {
    let novemberId: string;
    let draftRec: any;
    const november: Sold[] = [];

    async function sellInNovember(setupRewardId: string, orderRef: string) {
      const voucher = await issuedVoucher(world, setupRewardId);
      const redeemed = await redeem(world, { code: voucher.code, orderRef, orderAmountMinor: 400_000, currency: 'RUB' });
      expect(redeemed.status).toBe(200);
      november.push({ id: voucher.id, code: voucher.code, codeMask: voucher.codeMask, orderRef, orderAmountMinor: 400_000, feeMinor: 10_000, redeemedAt: redeemed.body.redeemedAt, redemptionId: redeemed.body.id });
    }
    const listOf = (sold: Sold[]) => csv([['code', 'order_ref', 'amount'], ...sold.map((s) => [s.code, s.orderRef, major(s.feeMinor)])]);

    it('is reconciled like a finalized statement', async () => {
      world.clock.set('2026-11-10T09:00:00Z');
      const rewardId = (await coalitionOf(world).selectFrom('vouchers').select('reward_id').where('id', '=', v[0]!.id).executeTakeFirstOrThrow()).reward_id;
      await sellInNovember(rewardId, 'NOV-1');
      await sellInNovember(rewardId, 'NOV-2');
      world.clock.advance(HOUR_MS);
      const built = await partner.build(agreementId, '2026-11');
      expect(built.status).toBe(200);
      expect(built.body).toMatchObject({ status: 'draft', totals: [{ netMinor: 20_000 }] });
      novemberId = built.body.id;

      world.clock.advance(60_000);
      const res = await partner.reconcile(novemberId, listOf(november));
      expect(res.status).toBe(201);
      draftRec = res.body;
      expect(draftRec).toMatchObject({ statementContentHash: built.body.contentHash, reconciled: true, matched: 2, theirTotalMinor: 20_000, ourTotalMinor: 20_000 });
      expect((await partner.get(novemberId)).body.reconciliation.partner).toMatchObject({ reconciliationId: draftRec.id, reconciled: true, currentForStatement: true });
    });

    it('after a rebuild changes the draft, its earlier reconciliation is no longer current for it', async () => {
      const rewardId = (await coalitionOf(world).selectFrom('vouchers').select('reward_id').where('id', '=', november[0]!.id).executeTakeFirstOrThrow()).reward_id;
      world.clock.advance(HOUR_MS);
      await sellInNovember(rewardId, 'NOV-3');
      const rebuilt = await partner.build(agreementId, '2026-11');
      expect(rebuilt.body.contentHash).not.toBe(draftRec.statementContentHash);
      expect(rebuilt.body.reconciliation.partner).toMatchObject({ reconciliationId: draftRec.id, reconciled: true, currentForStatement: false });
      // The October statement's results are untouched by November.
      expect((await partner.get(october.id)).body.reconciliation.issuer.currentForStatement).toBe(true);

      world.clock.advance(60_000);
      const again = await partner.reconcile(novemberId, listOf(november));
      expect(again.body).toMatchObject({ statementContentHash: rebuilt.body.contentHash, reconciled: true, matched: 3 });
      expect((await partner.get(novemberId)).body.reconciliation.partner).toMatchObject({ reconciliationId: again.body.id, currentForStatement: true });
    });

    it('a reconciliation shown as current for a draft was compared with the draft as it stands, not with entries that arrived since', async () => {
      const rewardId = (await coalitionOf(world).selectFrom('vouchers').select('reward_id').where('id', '=', november[0]!.id).executeTakeFirstOrThrow()).reward_id;
      world.clock.advance(HOUR_MS);
      // A redemption after the draft was built: the stored draft (what both parties read) does not have it yet.
      await sellInNovember(rewardId, 'NOV-4');
      const draft = (await partner.get(novemberId)).body;
      expect(draft.totals[0].netMinor).toBe(30_000);
      expect((await partner.verify(novemberId)).body.identical).toBe(false);

      // The partner's own records have all four November redemptions.
      world.clock.advance(60_000);
      const res = await partner.reconcile(novemberId, listOf(november));
      expect(res.status).toBe(201);
      const summary = (await partner.get(novemberId)).body.reconciliation.partner;
      expect(summary.reconciliationId).toBe(res.body.id);
      // If the statement calls this result current, the result must be about the statement as shown
      // (30 000 owed): either the file was compared with the stored draft, or the result is not current.
      if (summary.currentForStatement) {
        expect(res.body.ourTotalMinor, 'a current result was compared with other content than the statement').toBe(draft.totals[0].netMinor);
      } else {
        expect(res.body.statementContentHash).not.toBe(draft.contentHash);
      }
    });
  });
});
