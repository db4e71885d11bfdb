import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeList, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { tenantWithKey, uniqueSlug } from './support/factories.ts';
import { coalitionOf, issuedVoucher, redeem, reverse } from './support/redemption.ts';
import { request } from './support/http-client.ts';
import { settlementApi } from './support/settlement.ts';

// Moscow has no DST: October's statement covers 2026-09-30T21:00Z to 2026-10-31T21:00Z.
const START = '2026-10-05T10:00:00Z';
let world: ExchangeWorld;
let issuer: ReturnType<typeof settlementApi>;
let partner: ReturnType<typeof settlementApi>;

beforeAll(async () => {
  world = await startExchangeWorld({ start: START });
  issuer = settlementApi(world, world.issuer.key);
  partner = settlementApi(world, world.partner.key);
});
afterAll(() => world.stop());

const order = (code: string, orderRef: string, orderAmountMinor = 400_000) => ({ code, orderRef, orderAmountMinor, currency: 'RUB' });

describe('a month of redemptions becomes a statement both parties can finalize, pay and export', () => {
  let agreementId: string;
  let offerId: string;
  let october: any;
  const redemptions: string[] = [];

  it('builds October: redeemed and reversed codes per offer, the net owed by the payer, the same figures for both parties', async () => {
    const { agreement, reward, offer } = await rewardWithCodes(world, codeList('STM-', 6), { agreement: { model: { type: 'issuer_pays_per_redeemed', amountMinor: 2_500 } } });
    agreementId = agreement.id;
    offerId = offer.id;
    const vouchers = [await issuedVoucher(world, reward.id), await issuedVoucher(world, reward.id), await issuedVoucher(world, reward.id)];
    for (const [index, voucher] of vouchers.entries()) {
      const res = await redeem(world, order(voucher.code, `ORD-${index}`));
      expect(res.status).toBe(200);
      redemptions.push(res.body.id);
    }
    expect((await reverse(world, redemptions[2]!)).status).toBe(200);

    world.clock.set('2026-11-01T00:30:00Z'); // 03:30 in Moscow on the 1st
    const built = await issuer.build(agreementId, '2026-10');
    expect(built.status).toBe(200);
    october = built.body;
    expect(october).toMatchObject({
      agreementId,
      issuer: world.issuer.tenant.slug,
      partner: world.partner.tenant.slug,
      yourSide: 'issuer',
      period: '2026-10',
      timezone: 'Europe/Moscow',
      periodStart: '2026-09-30T21:00:00.000Z',
      periodEnd: '2026-10-31T21:00:00.000Z',
      status: 'draft',
      entryCount: 4,
      lines: [
        { section: 'period', relatesToPeriod: '2026-10', offerId, event: 'code_redeemed', statementRef: null, currency: 'RUB', count: 3, amountMinor: 7_500 },
        { section: 'period', relatesToPeriod: '2026-10', offerId, event: 'redemption_reversed', statementRef: null, currency: 'RUB', count: 1, amountMinor: -2_500 },
      ],
      totals: [{ currency: 'RUB', periodMinor: 5_000, adjustmentsMinor: 0, netMinor: 5_000, owedBy: world.issuer.tenant.slug, owedTo: world.partner.tenant.slug, amountMinor: 5_000 }],
      yourNet: [{ currency: 'RUB', amountMinor: -5_000 }],
    });
    expect(october.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const partnerView = (await partner.get(october.id)).body;
    expect(partnerView).toMatchObject({ yourSide: 'partner', yourNet: [{ currency: 'RUB', amountMinor: 5_000 }], lines: october.lines, totals: october.totals, contentHash: october.contentHash });
  });

  it('rebuilding without new entries changes nothing; the draft can be verified against its entries', async () => {
    const again = await partner.build(agreementId, '2026-10');
    expect(again.body).toEqual({ ...october, yourSide: 'partner', yourNet: [{ currency: 'RUB', amountMinor: 5_000 }] });
    expect((await issuer.verify(october.id)).body).toEqual({ statementId: october.id, status: 'draft', identical: true, contentHash: october.contentHash, rebuiltContentHash: october.contentHash });
    const rows = await coalitionOf(world).selectFrom('settlement_statements').select('id').where('agreement_id', '=', agreementId).execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses to finalize with a stale hash, then finalizes the reviewed draft', async () => {
    const stale = await issuer.finalize(october.id, '0'.repeat(64));
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('STATEMENT_CHANGED');
    expect((await issuer.get(october.id)).body.status).toBe('draft');

    const finalized = await issuer.finalize(october.id, october.contentHash);
    expect(finalized.status).toBe(200);
    expect(finalized.body).toMatchObject({ status: 'finalized', finalizedBy: 'issuer', contentHash: october.contentHash, totals: october.totals, lines: october.lines });
    // Finalizing again answers the statement as it is; a hash is always required.
    expect((await partner.finalize(october.id, october.contentHash)).body).toMatchObject({ status: 'finalized', finalizedBy: 'issuer' });
    const noHash = await request(world.system.baseUrl, 'POST', `/api/v1/settlement/statements/${october.id}/finalize`, { key: world.partner.key, body: {} });
    expect(noHash.status).toBe(400);
    expect(noHash.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'expectedContentHash' }] } });
  });

  it('a reversal after finalization leaves October byte-identical and lands in November as an adjustment to October', async () => {
    world.clock.set('2026-11-03T09:00:00Z');
    expect((await reverse(world, redemptions[0]!)).status).toBe(200);
    const octoberNow = await issuer.get(october.id);
    expect(octoberNow.body).toMatchObject({ status: 'finalized', contentHash: october.contentHash, lines: october.lines, totals: october.totals });
    expect((await issuer.verify(october.id)).body).toMatchObject({ identical: true, rebuiltContentHash: october.contentHash });
    // Rebuilding a finalized statement returns it unchanged.
    expect((await issuer.build(agreementId, '2026-10')).body.contentHash).toBe(october.contentHash);

    world.clock.set('2026-12-01T01:00:00Z');
    const november = await issuer.build(agreementId, '2026-11');
    expect(november.body).toMatchObject({
      status: 'draft',
      lines: [{ section: 'adjustment', relatesToPeriod: '2026-10', offerId, event: 'redemption_reversed', count: 1, amountMinor: -2_500 }],
      totals: [{ currency: 'RUB', periodMinor: 0, adjustmentsMinor: -2_500, netMinor: -2_500, owedBy: world.partner.tenant.slug, owedTo: world.issuer.tenant.slug, amountMinor: 2_500 }],
    });
  });

  it('is paid with a reference, disputed by the other party, and only the disputing party resolves', async () => {
    const paid = await partner.pay(october.id, 'SEPA-2026-11-004512');
    expect(paid.body).toMatchObject({ status: 'paid', paidBy: 'partner', paymentReference: 'SEPA-2026-11-004512' });
    const disputed = await issuer.dispute(october.id, 'ORD-1 was refunded on 30 October');
    expect(disputed.body).toMatchObject({ status: 'disputed', disputedBy: 'issuer', disputeReason: 'ORD-1 was refunded on 30 October', contentHash: october.contentHash });
    const notYours = await partner.resolve(october.id, 'Nothing to see');
    expect(notYours.status).toBe(403);
    expect(notYours.body.code).toBe('STATEMENT_ACTION_FORBIDDEN');
    const refusedPay = await partner.pay(october.id, 'again');
    expect(refusedPay.status).toBe(409);
    expect(refusedPay.body).toMatchObject({ code: 'STATEMENT_STATUS_TRANSITION', details: { status: 'disputed', allowed: ['resolve', 'adjust'] } });
  });

  it('the partner concedes an adjustment, which lands on the open month referring to October; the issuer then resolves', async () => {
    const noKey = await partner.adjust(october.id, { amountMinor: 1_000, currency: 'RUB', reason: 'Goodwill for ORD-1' }, null);
    expect(noKey.status).toBe(400);
    expect(noKey.body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    const conceded = await partner.adjust(october.id, { amountMinor: 1_000, currency: 'RUB', reason: 'Goodwill for ORD-1' }, 'adj-ord-1');
    expect(conceded.status).toBe(200);
    // A retry (the answer was lost) records nothing more and answers the same.
    const retried = await partner.adjust(october.id, { amountMinor: 1_000, currency: 'RUB', reason: 'Goodwill for ORD-1' }, 'adj-ord-1');
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.adjustment).toEqual(conceded.body.adjustment);
    const reused = await partner.adjust(october.id, { amountMinor: 2_000, currency: 'RUB', reason: 'Goodwill for ORD-1' }, 'adj-ord-1');
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const wrongCurrency = await partner.adjust(october.id, { amountMinor: 1_000, currency: 'EUR', reason: 'Goodwill' });
    expect(wrongCurrency.status).toBe(400);
    expect(wrongCurrency.body.details.issues[0].path).toBe('currency');
    // The partner is the payee: conceding lowers what it is owed.
    expect(conceded.body.adjustment).toEqual({ amountMinor: -1_000, currency: 'RUB', period: '2026-12', reason: 'Goodwill for ORD-1' });
    const resolved = await issuer.resolve(october.id, 'Adjusted by 10.00 RUB in December');
    expect(resolved.body).toMatchObject({ status: 'paid', disputeResolution: 'Adjusted by 10.00 RUB in December', contentHash: october.contentHash });

    world.clock.set('2027-01-01T06:00:00Z');
    const december = await issuer.build(agreementId, '2026-12');
    expect(december.body.lines).toEqual([
      { section: 'adjustment', relatesToPeriod: '2026-10', offerId: null, event: 'adjustment', statementRef: october.id, currency: 'RUB', count: 1, amountMinor: -1_000 },
    ]);
  });

  it('exports a summary CSV, a per-entry CSV and a printable HTML page to both parties and to nobody else', async () => {
    const summary = await partner.file(october.id, 'summary.csv');
    expect(summary.status).toBe(200);
    expect(summary.type).toBe('text/csv; charset=utf-8');
    const rows = summary.text.trimEnd().split('\r\n');
    expect(rows[0]).toBe('statement_id,agreement_id,issuer,partner,period,timezone,status,content_hash,row_type,section,relates_to_period,event,offer_id,statement_ref,currency,count,amount_minor,owed_by,owed_to');
    expect(rows.slice(1).map((row) => row.split(',').slice(8))).toEqual([
      ['line', 'period', '2026-10', 'code_redeemed', offerId, '', 'RUB', '3', '7500', '', ''],
      ['line', 'period', '2026-10', 'redemption_reversed', offerId, '', 'RUB', '1', '-2500', '', ''],
      ['total', '', '', '', '', '', 'RUB', '', '5000', world.issuer.tenant.slug, world.partner.tenant.slug],
    ]);
    const entries = await issuer.file(october.id, 'entries.csv');
    const entryRows = entries.text.trimEnd().split('\r\n');
    expect(entryRows[0]).toBe('statement_id,entry_id,occurred_at,occurred_at_local,section,relates_to_period,event,offer_id,voucher_id,redemption_id,code_mask,order_ref,order_amount_minor,currency,amount_minor,statement_ref,note');
    expect(entryRows).toHaveLength(5);
    expect(entryRows.slice(1).map((row) => row.split(',')[14]).map(Number).reduce((a, b) => a + b, 0)).toBe(5_000);
    expect(entryRows[1]).toContain('+03:00');
    const html = await issuer.file(october.id, 'statement.html');
    expect(html.type).toBe('text/html; charset=utf-8');
    expect(html.text).toContain('50.00 RUB');
    expect(html.text).toContain(october.contentHash);

    const stranger = await tenantWithKey(world.system.services, { slug: uniqueSlug('other'), roles: ['issuer'], scopes: ['admin'] });
    const other = settlementApi(world, stranger.key);
    expect((await other.get(october.id)).body.code).toBe('STATEMENT_NOT_FOUND');
    expect((await other.file(october.id, 'summary.csv')).status).toBe(404);
    expect((await other.list()).body.statements).toEqual([]);
  });
});
