import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALPHABET } from '../server/src/pools/generation.ts';
import { checkCharacter } from '../server/src/pools/check-character.ts';
import { checkAgainst } from '../server/src/redemptions/code-formats.ts';
import { voucherQrText } from '../server/src/vouchers/qr-text.ts';
import { codeList, offerWithCodes, activeAgreement, createReward, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { keyFor } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { splitCompact, unsignedToken, withHeader, withPayload } from './support/jws.ts';
import { waitForBatch } from './support/partner.ts';
import {
  codeRowOf,
  coalitionOf,
  issuedVoucher,
  newPartnerWorld,
  redeem,
  redemptionFootprint,
  reverse,
  tenantIdOf,
  validate,
} from './support/redemption.ts';

const START = '2026-11-02T10:00:00Z';
const DAY_MS = 86_400_000;
let world: ExchangeWorld;

beforeAll(async () => {
  world = await startExchangeWorld({ start: START });
});
afterAll(() => world.stop());
// Tests that move time put it back, so every test starts at START.
afterEach(() => world.clock.set(START));

const api = (method: string, path: string, key: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }) });
const iso = (ms: number) => new Date(ms).toISOString();
const order = (presented: Record<string, unknown>, orderAmountMinor = 400_000, orderRef = `ORD-${randomUUID().slice(0, 8)}`) => ({ ...presented, orderRef, orderAmountMinor, currency: 'RUB' });

/** What validate answers when nothing of the partner's matches. */
const NOTHING_FOUND = { voucherId: null, issuer: null, codeMask: null, offerId: null, offer: null, discountMinor: null, expiresAt: null, redeemedAt: null, redemptionId: null };

/** A different character of the default alphabet at `index` of `code`. */
function mistype(code: string, index: number): string {
  const wrong = [...DEFAULT_ALPHABET].find((char) => char !== code[index])!;
  return code.slice(0, index) + wrong + code.slice(index + 1);
}

describe('validating a code', () => {
  it('finds the typed code (any case), the signed voucher and its QR text alike, shows the offer and the discount, and changes nothing', async () => {
    const { reward, offer } = await rewardWithCodes(world, codeList('VAL-', 2));
    const voucher = await issuedVoucher(world, reward.id);
    const before = await redemptionFootprint(world);
    const codeBefore = await codeRowOf(world, voucher.code);
    const expected = {
      valid: true,
      reason: null,
      message: 'The code can be redeemed.',
      voucherId: voucher.id,
      issuer: world.issuer.tenant.slug,
      codeMask: voucher.codeMask,
      offerId: offer.id,
      offer: { title: '500 RUB off orders over 3,000 RUB', description: 'Electronics and accessories.', value: { type: 'fixed', amountMinor: 50_000 }, currency: 'RUB', minOrderMinor: 300_000, termsUrl: 'https://shop.example/terms' },
      discountMinor: 50_000,
      expiresAt: voucher.expiresAt,
      redeemedAt: null,
      redemptionId: null,
    };
    const forms = [{ code: voucher.code }, { code: voucher.code.toLowerCase() }, { code: `  ${voucher.code}  ` }, { voucher: voucher.token }, { voucher: voucher.qrText }];
    for (const presented of forms) {
      const res = await validate(world, { ...presented, orderAmountMinor: 400_000, currency: 'RUB' });
      expect(res.status, JSON.stringify(presented)).toBe(200);
      expect(res.body, JSON.stringify(presented)).toEqual(expected);
    }
    // No order amount: no discount figure; the currency defaults to the offer's.
    expect((await validate(world, { code: voucher.code })).body).toEqual({ ...expected, discountMinor: null });
    expect((await validate(world, { voucher: voucher.token, orderAmountMinor: 400_000 })).body).toEqual(expected);

    // Nothing was written or changed: the code is still redeemable.
    expect(await redemptionFootprint(world)).toEqual(before);
    expect(await codeRowOf(world, voucher.code)).toEqual(codeBefore);
    const row = await coalitionOf(world).selectFrom('vouchers').select(['status', 'redeemed_at']).where('id', '=', voucher.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'issued', redeemed_at: null });
    expect((await redeem(world, order({ code: voucher.code }))).status).toBe(200);
  });

  it('caps a fixed discount at the order and rounds a percentage half up', async () => {
    const fixed = await rewardWithCodes(world, ['CAPPED-00001'], { offer: { minOrderMinor: null } });
    const fixedVoucher = await issuedVoucher(world, fixed.reward.id);
    for (const [amount, discount] of [[80_000, 50_000], [50_000, 50_000], [49_999, 49_999], [1, 1], [0, 0]] as const) {
      const res = await validate(world, { code: fixedVoucher.code, orderAmountMinor: amount });
      expect(res.body, `fixed ${amount}`).toMatchObject({ valid: true, discountMinor: discount });
    }
    const percent = await rewardWithCodes(world, ['PERCENT-00001'], { offer: { title: '12.5% off', value: { type: 'percent', percent: 12.5 }, minOrderMinor: null } });
    const percentVoucher = await issuedVoucher(world, percent.reward.id);
    const cases = [
      [100_004, 12_501], // 12,500.5 rounds up
      [100_003, 12_500], // 12,500.375 rounds down
      [100_000, 12_500],
      [4, 1], // 0.5
      [3, 0], // 0.375
      [0, 0],
      [1_000_000_000_000, 125_000_000_000],
    ] as const;
    for (const [amount, discount] of cases) {
      const res = await validate(world, { voucher: percentVoucher.token, orderAmountMinor: amount, currency: 'RUB' });
      expect(res.body, `percent ${amount}`).toMatchObject({ valid: true, offer: { value: { type: 'percent', percent: 12.5 }, minOrderMinor: null }, discountMinor: discount });
    }
  });

  it('says MIN_ORDER_NOT_MET below the minimum and CURRENCY_MISMATCH for an order in another currency', async () => {
    const { reward } = await rewardWithCodes(world, ['MINORDER-00001']);
    const voucher = await issuedVoucher(world, reward.id);
    const below = await validate(world, { code: voucher.code, orderAmountMinor: 299_999, currency: 'RUB' });
    expect(below.status).toBe(200);
    expect(below.body).toMatchObject({ valid: false, reason: 'MIN_ORDER_NOT_MET', voucherId: voucher.id, offer: { minOrderMinor: 300_000 }, redeemedAt: null, redemptionId: null });
    expect(below.body.message).toContain('minimum');
    expect((await validate(world, { code: voucher.code, orderAmountMinor: 300_000, currency: 'RUB' })).body).toMatchObject({ valid: true, reason: null, discountMinor: 50_000 });

    const euros = await validate(world, { voucher: voucher.qrText, orderAmountMinor: 400_000, currency: 'EUR' });
    expect(euros.body).toMatchObject({ valid: false, reason: 'CURRENCY_MISMATCH', voucherId: voucher.id, offer: { currency: 'RUB' }, discountMinor: null });
    // The currency is checked before the amount: an amount in euros means nothing against a minimum in roubles.
    expect((await validate(world, { code: voucher.code, orderAmountMinor: 100, currency: 'EUR' })).body.reason).toBe('CURRENCY_MISMATCH');
  });

  it('says UNKNOWN_CODE for no code of this shop and NOT_ISSUED for a code still in the pool, showing nothing of either', async () => {
    const codes = ['POOLED-00001', 'POOLED-00002'];
    const { reward } = await rewardWithCodes(world, codes);
    const voucher = await issuedVoucher(world, reward.id);
    const pooled = codes.find((code) => code !== voucher.code)!;
    const notIssued = await validate(world, { code: pooled, orderAmountMinor: 400_000 });
    expect(notIssued.status).toBe(200);
    expect(notIssued.body).toEqual({ valid: false, reason: 'NOT_ISSUED', message: 'The code exists but was never handed to a customer.', ...NOTHING_FOUND });
    const unknown = await validate(world, { code: 'NO-SUCH-CODE-1', orderAmountMinor: 400_000 });
    expect(unknown.body).toEqual({ valid: false, reason: 'UNKNOWN_CODE', message: 'No code of this shop matches.', ...NOTHING_FOUND });
  });

  it('says VOUCHER_CANCELLED once the issuer cancels, and the old voucher stays cancelled when its code goes to another customer', async () => {
    const voided = await rewardWithCodes(world, ['CANCEL-VOID-1']);
    const voucher = await issuedVoucher(world, voided.reward.id);
    expect((await api('POST', `/vouchers/${voucher.id}/cancel`, world.issuer.key, { reason: 'Customer complaint' })).status).toBe(200);
    for (const presented of [{ code: voucher.code }, { voucher: voucher.token }, { voucher: voucher.qrText }]) {
      const res = await validate(world, { ...presented, orderAmountMinor: 400_000 });
      expect(res.body, JSON.stringify(presented)).toMatchObject({ valid: false, reason: 'VOUCHER_CANCELLED', voucherId: voucher.id, offerId: voided.offer.id });
    }

    const pooled = await rewardWithCodes(world, ['CANCEL-BACK-1'], { offer: { onVoucherCancelled: 'return_to_pool' } });
    const first = await issuedVoucher(world, pooled.reward.id);
    await api('POST', `/vouchers/${first.id}/cancel`, world.issuer.key, { reason: 'Mistake' });
    // The code is back in the pool: as typed it was never handed out; the voucher was cancelled.
    expect((await validate(world, { code: first.code })).body.reason).toBe('NOT_ISSUED');
    expect((await validate(world, { voucher: first.token })).body).toMatchObject({ reason: 'VOUCHER_CANCELLED', voucherId: first.id });
    const second = await issuedVoucher(world, pooled.reward.id);
    expect(second.code).toBe(first.code);
    expect((await validate(world, { code: first.code })).body).toMatchObject({ valid: true, voucherId: second.id });
    expect((await validate(world, { voucher: second.token })).body).toMatchObject({ valid: true, voucherId: second.id });
    expect((await validate(world, { voucher: first.token })).body).toMatchObject({ valid: false, reason: 'VOUCHER_CANCELLED', voucherId: first.id });
    // The old voucher cannot redeem the new customer's code either.
    const refused = await redeem(world, order({ voucher: first.qrText }));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'VOUCHER_CANCELLED', details: { reason: 'VOUCHER_CANCELLED', voucherId: first.id } });
  });

  it('says EXPIRED from the moment the voucher expires', async () => {
    const { reward } = await rewardWithCodes(world, ['EXPIRING-00001'], { reward: { voucherValidDays: 1, minCodeValidityDays: 0 } });
    const voucher = await issuedVoucher(world, reward.id);
    const expiresAt = Date.parse(voucher.expiresAt);
    expect(expiresAt).toBe(Date.parse(START) + DAY_MS);
    world.clock.set(new Date(expiresAt - 1));
    expect((await validate(world, { code: voucher.code })).body).toMatchObject({ valid: true, expiresAt: voucher.expiresAt });
    world.clock.set(new Date(expiresAt));
    for (const presented of [{ code: voucher.code }, { voucher: voucher.token }, { voucher: voucher.qrText }]) {
      expect((await validate(world, { ...presented, orderAmountMinor: 400_000 })).body, JSON.stringify(presented)).toMatchObject({
        valid: false,
        reason: 'EXPIRED',
        voucherId: voucher.id,
        expiresAt: voucher.expiresAt,
      });
    }
  });

  it('says ALREADY_REDEEMED with when and by which redemption', async () => {
    const { reward } = await rewardWithCodes(world, ['USED-UP-00001']);
    const voucher = await issuedVoucher(world, reward.id);
    world.clock.advance(5 * 60_000);
    const redeemed = await redeem(world, order({ code: voucher.code }));
    expect(redeemed.status).toBe(200);
    world.clock.advance(60_000);
    for (const presented of [{ code: voucher.code }, { voucher: voucher.token }, { voucher: voucher.qrText }]) {
      const res = await validate(world, { ...presented, orderAmountMinor: 400_000 });
      expect(res.body, JSON.stringify(presented)).toMatchObject({
        valid: false,
        reason: 'ALREADY_REDEEMED',
        voucherId: voucher.id,
        redeemedAt: iso(Date.parse(START) + 5 * 60_000),
        redemptionId: redeemed.body.id,
      });
    }
  });

  it('says INVALID_VOUCHER for anything this system did not sign (or signed with a revoked key) and WRONG_PARTNER for another shop\'s voucher', async () => {
    const { reward } = await rewardWithCodes(world, codeList('SIGNED-', 3));
    const voucher = await issuedVoucher(world, reward.id);
    const other = await issuedVoucher(world, reward.id);
    const forged = [
      withPayload(voucher.token, (payload) => ({ ...payload, code: other.code })),
      withPayload(voucher.token, (payload) => ({ ...payload, sub: other.id, jti: other.id })),
      withPayload(voucher.token, (payload) => ({ ...payload, exp: payload.exp + 365 * 86_400 })),
      withHeader(voucher.token, (header) => ({ ...header, typ: 'JWT' })),
      unsignedToken(splitCompact(voucher.token).header, splitCompact(voucher.token).payload),
      withPayload(voucher.token, (payload) => ({ ...payload, iss: 'no-such-issuer' })),
      voucherQrText(withPayload(voucher.token, (payload) => ({ ...payload, code: other.code }))),
      'not-a-token',
      'CXV1:%%%',
      'CXV1:',
      `${voucher.token}x`,
    ];
    for (const text of forged) {
      const res = await validate(world, { voucher: text });
      expect(res.status, text).toBe(200);
      expect(res.body, text).toEqual({ valid: false, reason: 'INVALID_VOUCHER', message: expect.stringContaining('not one this system signed'), ...NOTHING_FOUND });
    }

    // Another partner of the same issuer: its vouchers name it as audience.
    const shopB = await newPartnerWorld(world, 'other-shop');
    const theirs = await rewardWithCodes(shopB, ['THEIRS-00001']);
    const theirVoucher = await issuedVoucher(shopB, theirs.reward.id);
    for (const text of [theirVoucher.token, theirVoucher.qrText]) {
      expect((await validate(world, { voucher: text })).body).toEqual({ valid: false, reason: 'WRONG_PARTNER', message: 'The voucher is for another shop.', ...NOTHING_FOUND });
      expect((await validate(shopB, { voucher: text })).body).toMatchObject({ valid: true, voucherId: theirVoucher.id });
    }
    expect((await validate(world, { code: theirVoucher.code })).body.reason).toBe('UNKNOWN_CODE');

    // The issuer revokes the key that signed the voucher: the old token no longer
    // verifies, the voucher as the issuer shows it now (re-signed) does.
    const kid = splitCompact(voucher.token).header.kid as string;
    expect((await api('POST', `/signing-keys/${kid}/revoke`, world.issuer.key, { reason: 'Leaked' })).status).toBe(200);
    expect((await validate(world, { voucher: voucher.token })).body.reason).toBe('INVALID_VOUCHER');
    expect((await validate(world, { voucher: voucher.qrText })).body.reason).toBe('INVALID_VOUCHER');
    const now = (await api('GET', `/vouchers/${voucher.id}`, world.issuer.key)).body;
    expect(now.token).not.toBe(voucher.token);
    expect((await validate(world, { voucher: now.token })).body).toMatchObject({ valid: true, voucherId: voucher.id });
    expect((await validate(world, { voucher: now.qrText })).body).toMatchObject({ valid: true, voucherId: voucher.id });
    expect((await validate(world, { code: voucher.code })).body).toMatchObject({ valid: true, voucherId: voucher.id });
  });

  it('refuses a malformed request (400), not a code', async () => {
    const bodies = [{}, { code: 'A-1', voucher: 'x' }, { code: '' }, { code: 'A-1', orderAmountMinor: -1 }, { code: 'A-1', orderAmountMinor: 1.5 }, { code: 'A-1', currency: 'rub' }, { code: 'A-1', extra: true }];
    for (const body of bodies) {
      const res = await validate(world, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code, JSON.stringify(body)).toBe('VALIDATION_FAILED');
    }
  });
});

describe('redeeming a code', () => {
  const MODELS = [
    { model: { type: 'issuer_pays_per_issued', amountMinor: 5_000 }, charge: null },
    { model: { type: 'issuer_pays_per_redeemed', amountMinor: 3_000 }, charge: { amount: '3000', payer: 'issuer' } },
    { model: { type: 'partner_pays_per_redeemed', amountMinor: 7_000 }, charge: { amount: '7000', payer: 'partner' } },
    // 2.5% of 3,000.20 is 75.005: rounded half up to 75.01.
    { model: { type: 'partner_pays_percent_of_order', percent: 2.5 }, charge: { amount: '7501', payer: 'partner' } },
  ] as const;

  for (const { model, charge } of MODELS) {
    it(`writes the redemption, marks voucher and code, charges per the agreement and tells the issuer (${model.type})`, async () => {
      const { reward, offer, agreement } = await rewardWithCodes(world, [`MODEL-${model.type.toUpperCase().replaceAll('_', '-')}`], { agreement: { model } });
      const voucher = await issuedVoucher(world, reward.id);
      const issuerId = await tenantIdOf(world, world.issuer.tenant.slug);
      const partnerId = await tenantIdOf(world, world.partner.tenant.slug);
      const partnerOutboxBefore = await world.partnerDb().selectFrom('outbox_events').select('id').execute();
      world.clock.advance(2 * 3_600_000);
      const now = world.clock.now();

      const res = await redeem(world, { code: voucher.code.toLowerCase(), orderRef: 'ORDER-77-Ä', shopperRef: `acct-${model.type}`, orderAmountMinor: 300_020, currency: 'RUB' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get('idempotent-replayed')).toBeNull();
      expect(res.body).toEqual({
        id: expect.stringMatching(/^red_[0-9A-Za-z]{12}$/),
        status: 'redeemed',
        voucherId: voucher.id,
        issuer: world.issuer.tenant.slug,
        offerId: offer.id,
        codeMask: voucher.codeMask,
        orderRef: 'ORDER-77-Ä',
        shopperRef: `acct-${model.type}`,
        orderAmountMinor: 300_020,
        currency: 'RUB',
        discountMinor: 50_000,
        redeemedAt: now.toISOString(),
        reversal: null,
        reversibleUntil: iso(now.getTime() + 30 * DAY_MS),
      });
      const redemptionId: string = res.body.id;

      const voucherRow = await coalitionOf(world).selectFrom('vouchers').select(['status', 'redeemed_at']).where('id', '=', voucher.id).executeTakeFirstOrThrow();
      expect(voucherRow).toEqual({ status: 'redeemed', redeemed_at: now });
      const code = await codeRowOf(world, voucher.code);
      expect(code).toMatchObject({ status: 'redeemed', holder_ref: voucher.id, redeemed_at: now });
      const rows = await coalitionOf(world).selectFrom('redemptions').selectAll().where('voucher_id', '=', voucher.id).execute();
      expect(rows).toEqual([
        expect.objectContaining({
          id: redemptionId,
          partner_tenant_id: partnerId,
          issuer_tenant_id: issuerId,
          agreement_id: agreement.id,
          offer_id: offer.id,
          code_id: code.id,
          code_mask: voucher.codeMask,
          order_ref: 'ORDER-77-Ä',
          shopper_ref: `acct-${model.type}`,
          order_amount_minor: '300020',
          currency: 'RUB',
          discount_minor: '50000',
          status: 'redeemed',
          redeemed_at: now,
          redeemed_by: world.partner.keyId,
          reversed_at: null,
        }),
      ]);

      const entries = await coalitionOf(world)
        .selectFrom('settlement_entries')
        .select(['event', 'amount_minor', 'currency', 'redemption_id', 'order_amount_minor', 'payer_tenant_id', 'payee_tenant_id', 'agreement_id', 'period'])
        .where('voucher_id', '=', voucher.id)
        .orderBy('id')
        .execute();
      if (charge === null) {
        // Charged when the code was issued, not again when it is used.
        expect(entries).toEqual([{ event: 'code_issued', amount_minor: '5000', currency: 'RUB', redemption_id: null, order_amount_minor: null, payer_tenant_id: issuerId, payee_tenant_id: partnerId, agreement_id: agreement.id, period: '2026-11-01' }]);
      } else {
        const [payer, payee] = charge.payer === 'issuer' ? [issuerId, partnerId] : [partnerId, issuerId];
        expect(entries).toEqual([
          { event: 'code_redeemed', amount_minor: charge.amount, currency: 'RUB', redemption_id: redemptionId, order_amount_minor: '300020', payer_tenant_id: payer, payee_tenant_id: payee, agreement_id: agreement.id, period: '2026-11-01' },
        ]);
      }

      const events = await world.issuerDb().selectFrom('outbox_events').select(['event_type', 'payload', 'occurred_at']).where('event_type', '=', 'voucher.redeemed').execute();
      const ours = events.filter((event) => (event.payload as { voucherId?: string }).voucherId === voucher.id);
      expect(ours).toEqual([
        {
          event_type: 'voucher.redeemed',
          occurred_at: now,
          payload: {
            voucherId: voucher.id,
            redemptionId,
            partner: world.partner.tenant.slug,
            customerId: voucher.customerId,
            rewardId: reward.id,
            campaignId: world.campaignId,
            agreementId: agreement.id,
            offerId: offer.id,
            codeMask: voucher.codeMask,
            orderRef: 'ORDER-77-Ä',
            shopperRef: `acct-${model.type}`,
            orderAmountMinor: 300_020,
            discountMinor: 50_000,
            currency: 'RUB',
            redeemedAt: now.toISOString(),
          },
        },
      ]);
      expect(JSON.stringify(ours)).not.toContain(voucher.code);
      // The partner's own outbox gets nothing from its redemption.
      expect(await world.partnerDb().selectFrom('outbox_events').select('id').execute()).toEqual(partnerOutboxBefore);

      // Both sides see it: the issuer's voucher is redeemed, the partner reads the redemption back.
      expect((await api('GET', `/vouchers/${voucher.id}`, world.issuer.key)).body).toMatchObject({ status: 'redeemed', redeemedAt: now.toISOString() });
      expect((await api('GET', `/redemptions/${redemptionId}`, world.partner.key)).body).toEqual(res.body);
    });
  }

  it('writes no zero settlement entry when a percentage of a tiny order rounds to nothing', async () => {
    const { reward } = await rewardWithCodes(world, ['TINY-00001', 'TINY-00002'], { offer: { minOrderMinor: null }, agreement: { model: { type: 'partner_pays_percent_of_order', percent: 2.5 } } });
    const tiny = await issuedVoucher(world, reward.id);
    const small = await issuedVoucher(world, reward.id);
    // 2.5% of 0.19 is 0.00475: nothing. Of 0.20 it is 0.005: half a kopeck, rounded up.
    expect((await redeem(world, order({ code: tiny.code }, 19))).body).toMatchObject({ status: 'redeemed', discountMinor: 19 });
    expect((await redeem(world, order({ code: small.code }, 20))).status).toBe(200);
    const entries = await coalitionOf(world).selectFrom('settlement_entries').select(['voucher_id', 'event', 'amount_minor']).where('voucher_id', 'in', [tiny.id, small.id]).execute();
    expect(entries).toEqual([{ voucher_id: small.id, event: 'code_redeemed', amount_minor: '1' }]);
  });

  it('keeps a voucher redeemable after its agreement ends, and still charges per the agreement', async () => {
    const { reward, agreement } = await rewardWithCodes(world, ['ENDED-00001'], { agreement: { model: { type: 'issuer_pays_per_redeemed', amountMinor: 3_000 } } });
    const voucher = await issuedVoucher(world, reward.id);
    const ended = await api('POST', `/agreements/${agreement.id}/status`, world.issuer.key, { status: 'ended', reason: 'Season over' });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect((await validate(world, { code: voucher.code })).body.valid).toBe(true);
    const redeemed = await redeem(world, order({ code: voucher.code }));
    expect(redeemed.status).toBe(200);
    const entries = await coalitionOf(world).selectFrom('settlement_entries').select(['event', 'amount_minor', 'redemption_id']).where('voucher_id', '=', voucher.id).execute();
    expect(entries).toEqual([{ event: 'code_redeemed', amount_minor: '3000', redemption_id: redeemed.body.id }]);
  });

  it('answers a retry with the same Idempotency-Key from the first answer, and refuses the key for another body', async () => {
    const { reward } = await rewardWithCodes(world, codeList('IDEM-', 2));
    const voucher = await issuedVoucher(world, reward.id);
    const next = await issuedVoucher(world, reward.id);
    const key = randomUUID();
    const body = { code: voucher.code, orderRef: 'ORD-IDEM-1', orderAmountMinor: 400_000, currency: 'RUB' };
    const first = await redeem(world, body, { idempotencyKey: key });
    expect(first.status).toBe(200);
    const after = await redemptionFootprint(world);

    world.clock.advance(60_000);
    const replay = await redeem(world, { currency: 'RUB', orderAmountMinor: 400_000, orderRef: 'ORD-IDEM-1', code: voucher.code }, { idempotencyKey: key });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);

    const reused = await redeem(world, { ...body, orderRef: 'ORD-IDEM-2' }, { idempotencyKey: key });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { idempotencyKey: key } });
    // Another code under the key is another request too: refused, and that code stays unused.
    const otherCode = await redeem(world, { ...body, code: next.code }, { idempotencyKey: key });
    expect(otherCode.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await validate(world, { code: next.code })).body.valid).toBe(true);

    // The same body under a new key is a second redemption of a used code.
    const second = await redeem(world, body);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({
      code: 'ALREADY_REDEEMED',
      details: { reason: 'ALREADY_REDEEMED', voucherId: voucher.id, redemptionId: first.body.id, redeemedAt: first.body.redeemedAt },
    });
    expect(second.body.message).toContain(first.body.redeemedAt);
    expect(await redemptionFootprint(world)).toEqual(after);
  });

  it('needs an Idempotency-Key and writes nothing without one', async () => {
    const { reward } = await rewardWithCodes(world, ['NOKEY-00001']);
    const voucher = await issuedVoucher(world, reward.id);
    const before = await redemptionFootprint(world);
    for (const idempotencyKey of [null, '', 'has spaces in it', 'x'.repeat(256)]) {
      const res = await redeem(world, order({ code: voucher.code }), { idempotencyKey });
      expect(res.status, JSON.stringify(idempotencyKey)).toBe(400);
      expect(res.body.code, JSON.stringify(idempotencyKey)).toBe('IDEMPOTENCY_KEY_REQUIRED');
    }
    expect(await redemptionFootprint(world)).toEqual(before);
    expect((await redeem(world, order({ code: voucher.code }))).status).toBe(200);
  });

  it('refuses with the reason as the error code, and writes nothing (not even the Idempotency-Key)', async () => {
    const { reward } = await rewardWithCodes(world, codeList('REFUSED-', 8), { reward: { voucherValidDays: 2, minCodeValidityDays: 0 } });
    const pooledOffer = await rewardWithCodes(world, ['REFUSED-POOL-1', 'REFUSED-POOL-2']);
    const [used, cancelled, expiring, fine, viaToken] = await Promise.all(Array.from({ length: 5 }, () => issuedVoucher(world, reward.id)));
    const pooledVoucher = await issuedVoucher(world, pooledOffer.reward.id);
    const pooled = ['REFUSED-POOL-1', 'REFUSED-POOL-2'].find((code) => code !== pooledVoucher.code)!;
    const usedRedemption = await redeem(world, order({ code: used!.code }));
    await api('POST', `/vouchers/${cancelled!.id}/cancel`, world.issuer.key, { reason: 'Refund' });
    const shopB = await newPartnerWorld(world, 'refused-b');
    const theirs = await issuedVoucher(shopB, (await rewardWithCodes(shopB, ['REFUSED-B-1'])).reward.id);
    // Everything is ready; two days on, the vouchers of `reward` have expired: the ones
    // redeemed or cancelled are refused for that first.
    world.clock.advanceDays(2);
    const before = await redemptionFootprint(world);
    const beforeB = await redemptionFootprint(shopB);

    const cases: [Record<string, unknown>, number, string, Record<string, unknown>][] = [
      [order({ code: 'NO-SUCH-CODE-99' }), 404, 'UNKNOWN_CODE', { reason: 'UNKNOWN_CODE' }],
      [order({ code: pooled }), 409, 'NOT_ISSUED', { reason: 'NOT_ISSUED' }],
      [order({ code: cancelled!.code }), 409, 'VOUCHER_CANCELLED', { reason: 'VOUCHER_CANCELLED', voucherId: cancelled!.id }],
      [order({ voucher: cancelled!.token }), 409, 'VOUCHER_CANCELLED', { reason: 'VOUCHER_CANCELLED', voucherId: cancelled!.id }],
      [order({ code: used!.code }), 409, 'ALREADY_REDEEMED', { voucherId: used!.id, redemptionId: usedRedemption.body.id, redeemedAt: usedRedemption.body.redeemedAt }],
      [order({ voucher: used!.qrText }), 409, 'ALREADY_REDEEMED', { voucherId: used!.id, redemptionId: usedRedemption.body.id }],
      [order({ code: expiring!.code }), 409, 'EXPIRED', { reason: 'EXPIRED', voucherId: expiring!.id, expiresAt: expiring!.expiresAt }],
      [order({ voucher: expiring!.token }), 409, 'EXPIRED', { voucherId: expiring!.id }],
      [order({ voucher: withPayload(viaToken!.token, (payload) => ({ ...payload, code: fine!.code })) }), 422, 'INVALID_VOUCHER', { reason: 'INVALID_VOUCHER' }],
      [order({ voucher: theirs.token }), 422, 'WRONG_PARTNER', { reason: 'WRONG_PARTNER' }],
      [order({ code: theirs.code }), 404, 'UNKNOWN_CODE', { reason: 'UNKNOWN_CODE' }],
      [{ ...order({ code: 'A' }), code: undefined, voucher: undefined }, 400, 'VALIDATION_FAILED', {}],
      [{ ...order({ code: 'A' }), voucher: 'B' }, 400, 'VALIDATION_FAILED', {}],
      [{ code: 'A', orderRef: 'X', orderAmountMinor: 100 }, 400, 'VALIDATION_FAILED', {}],
      [{ ...order({ code: 'A' }), orderRef: 'line\nbreak' }, 400, 'VALIDATION_FAILED', {}],
    ];
    // `fine` has expired too (same validity): whatever the order, its refusal is EXPIRED.
    cases.push([order({ code: fine!.code }, 100), 409, 'EXPIRED', { voucherId: fine!.id }]);
    for (const [body, status, code, details] of cases) {
      const key = randomUUID();
      const res = await redeem(world, body, { idempotencyKey: key });
      const label = `${code} ${JSON.stringify(body).slice(0, 120)}`;
      expect(res.status, label).toBe(status);
      expect(res.body.code, label).toBe(code);
      expect(res.body.details, label).toMatchObject(details);
      expect(res.body.message.length, label).toBeGreaterThan(10);
      expect(await world.partnerDb().selectFrom('idempotency_keys').select('key').where('key', '=', key).execute(), label).toEqual([]);
    }
    expect(await redemptionFootprint(world)).toEqual(before);
    expect(await redemptionFootprint(shopB)).toEqual(beforeB);
  });

  it('refuses CURRENCY_MISMATCH and MIN_ORDER_NOT_MET with the offer terms; the refused key then works for the corrected order', async () => {
    const { reward } = await rewardWithCodes(world, ['ORDERTERMS-01']);
    const voucher = await issuedVoucher(world, reward.id);
    const before = await redemptionFootprint(world);
    const key = randomUUID();
    const euros = await redeem(world, { ...order({ code: voucher.code }), currency: 'EUR' }, { idempotencyKey: key });
    expect(euros.status).toBe(422);
    expect(euros.body).toMatchObject({ code: 'CURRENCY_MISMATCH', details: { reason: 'CURRENCY_MISMATCH', voucherId: voucher.id, expected: 'RUB' } });
    const small = await redeem(world, order({ code: voucher.code }, 299_999), { idempotencyKey: key });
    expect(small.status).toBe(422);
    expect(small.body).toMatchObject({ code: 'MIN_ORDER_NOT_MET', details: { reason: 'MIN_ORDER_NOT_MET', voucherId: voucher.id, minOrderMinor: 300_000, currency: 'RUB' } });
    expect(await redemptionFootprint(world)).toEqual(before);
    // Nothing kept the key: the corrected order goes through under it.
    const ok = await redeem(world, order({ code: voucher.code }, 300_000), { idempotencyKey: key });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('reversing a redemption', () => {
  it('puts voucher and code back, negates the charge of the right redemption and tells the issuer; twice changes nothing; the code redeems again', async () => {
    const { reward, agreement } = await rewardWithCodes(world, ['REVERSE-00001'], { agreement: { model: { type: 'partner_pays_percent_of_order', percent: 2.5 } } });
    const voucher = await issuedVoucher(world, reward.id);
    const first = await redeem(world, order({ code: voucher.code }, 400_000, 'ORD-R-1'));
    expect(first.status).toBe(200);
    world.clock.advance(3_600_000);
    const reversedAt = world.clock.now().toISOString();

    const reversed = await reverse(world, first.body.id, 'Order cancelled by the shopper');
    expect(reversed.status, JSON.stringify(reversed.body)).toBe(200);
    expect(reversed.body).toEqual({ ...first.body, status: 'reversed', reversal: { at: reversedAt, reason: 'Order cancelled by the shopper' }, reversibleUntil: null });
    expect(await coalitionOf(world).selectFrom('vouchers').select(['status', 'redeemed_at']).where('id', '=', voucher.id).executeTakeFirstOrThrow()).toEqual({ status: 'issued', redeemed_at: null });
    expect(await codeRowOf(world, voucher.code)).toMatchObject({ status: 'issued', holder_ref: voucher.id, redeemed_at: null });
    expect(await coalitionOf(world).selectFrom('redemptions').select(['status', 'reversed_by', 'reverse_reason']).where('id', '=', first.body.id).executeTakeFirstOrThrow()).toEqual({
      status: 'reversed',
      reversed_by: world.partner.keyId,
      reverse_reason: 'Order cancelled by the shopper',
    });
    const reversalEvents = async () =>
      (await world.issuerDb().selectFrom('outbox_events').select(['event_type', 'payload']).where('event_type', 'in', ['voucher.redeemed', 'voucher.redemption_reversed']).orderBy('id').execute()).filter(
        (event) => (event.payload as { voucherId?: string }).voucherId === voucher.id,
      );
    expect((await reversalEvents()).map((event) => event.event_type)).toEqual(['voucher.redeemed', 'voucher.redemption_reversed']);
    expect((await reversalEvents())[1]!.payload).toEqual({
      voucherId: voucher.id,
      redemptionId: first.body.id,
      partner: world.partner.tenant.slug,
      agreementId: agreement.id,
      offerId: first.body.offerId,
      codeMask: voucher.codeMask,
      orderRef: 'ORD-R-1',
      orderAmountMinor: 400_000,
      currency: 'RUB',
      redeemedAt: first.body.redeemedAt,
      reversedAt,
      reason: 'Order cancelled by the shopper',
      settlementReversedMinor: -10_000,
    });
    expect((await api('GET', `/vouchers/${voucher.id}`, world.issuer.key)).body).toMatchObject({ status: 'issued', redeemedAt: null });

    // Twice: answered as it is, nothing more written.
    const afterOnce = await redemptionFootprint(world);
    world.clock.advance(60_000);
    const twice = await reverse(world, first.body.id, 'Another reason');
    expect(twice.status).toBe(200);
    expect(twice.body).toEqual(reversed.body);
    expect(await redemptionFootprint(world)).toEqual(afterOnce);

    // The code is redeemable again, under a new key, for another order.
    expect((await validate(world, { code: voucher.code, orderAmountMinor: 500_000 })).body).toMatchObject({ valid: true, discountMinor: 50_000, redeemedAt: null, redemptionId: null });
    const second = await redeem(world, order({ voucher: voucher.qrText }, 500_000, 'ORD-R-2'));
    expect(second.status).toBe(200);
    expect(second.body.id).not.toBe(first.body.id);
    expect((await validate(world, { code: voucher.code })).body).toMatchObject({ reason: 'ALREADY_REDEEMED', redemptionId: second.body.id });
    world.clock.advance(60_000);
    expect((await reverse(world, second.body.id)).body.status).toBe('reversed');

    const entries = await coalitionOf(world).selectFrom('settlement_entries').select(['event', 'amount_minor', 'currency', 'redemption_id', 'order_amount_minor']).where('voucher_id', '=', voucher.id).orderBy('id').execute();
    expect(entries).toEqual([
      { event: 'code_redeemed', amount_minor: '10000', currency: 'RUB', redemption_id: first.body.id, order_amount_minor: '400000' },
      { event: 'redemption_reversed', amount_minor: '-10000', currency: 'RUB', redemption_id: first.body.id, order_amount_minor: '400000' },
      { event: 'code_redeemed', amount_minor: '12500', currency: 'RUB', redemption_id: second.body.id, order_amount_minor: '500000' },
      { event: 'redemption_reversed', amount_minor: '-12500', currency: 'RUB', redemption_id: second.body.id, order_amount_minor: '500000' },
    ]);
    expect((await reversalEvents()).map((event) => [event.event_type, (event.payload as { redemptionId: string }).redemptionId])).toEqual([
      ['voucher.redeemed', first.body.id],
      ['voucher.redemption_reversed', first.body.id],
      ['voucher.redeemed', second.body.id],
      ['voucher.redemption_reversed', second.body.id],
    ]);
    expect((await reversalEvents())[3]!.payload).toMatchObject({ settlementReversedMinor: -12_500, orderRef: 'ORD-R-2' });
    // Reversing the first again still changes nothing.
    expect((await reverse(world, first.body.id)).body).toEqual(reversed.body);
  });

  it('reverses a per-issued agreement without a settlement entry, and lets the issuer cancel the voucher afterwards', async () => {
    const { reward } = await rewardWithCodes(world, ['REVERSE-ISSUED-1']);
    const voucher = await issuedVoucher(world, reward.id);
    const redeemed = await redeem(world, order({ code: voucher.code }));
    expect((await api('POST', `/vouchers/${voucher.id}/cancel`, world.issuer.key, { reason: 'Too late' })).body.code).toBe('VOUCHER_NOT_CANCELLABLE');
    expect((await reverse(world, redeemed.body.id)).status).toBe(200);
    const entries = await coalitionOf(world).selectFrom('settlement_entries').select(['event', 'amount_minor']).where('voucher_id', '=', voucher.id).orderBy('id').execute();
    expect(entries).toEqual([{ event: 'code_issued', amount_minor: '5000' }]);
    const payload = (await world.issuerDb().selectFrom('outbox_events').select('payload').where('event_type', '=', 'voucher.redemption_reversed').orderBy('id', 'desc').executeTakeFirstOrThrow()).payload;
    expect(payload).toMatchObject({ redemptionId: redeemed.body.id, settlementReversedMinor: 0 });
    const cancelled = await api('POST', `/vouchers/${voucher.id}/cancel`, world.issuer.key, { reason: 'Order refunded' });
    expect(cancelled.status).toBe(200);
    expect((await validate(world, { code: voucher.code })).body.reason).toBe('VOUCHER_CANCELLED');
  });

  it(`allows reversal up to ${30} days after the redemption and refuses it after, changing nothing`, async () => {
    const { reward } = await rewardWithCodes(world, codeList('WINDOW-', 2), { agreement: { model: { type: 'partner_pays_per_redeemed', amountMinor: 7_000 } } });
    const early = await issuedVoucher(world, reward.id);
    const late = await issuedVoucher(world, reward.id);
    const a = await redeem(world, order({ code: early.code }));
    const b = await redeem(world, order({ code: late.code }));
    const closesAt = iso(Date.parse(START) + 30 * DAY_MS);
    expect(a.body.reversibleUntil).toBe(closesAt);

    world.clock.set(closesAt);
    expect((await reverse(world, a.body.id)).body).toMatchObject({ status: 'reversed', reversal: { at: closesAt } });
    // The reversal is dated when it happens: December's statement takes it, November's keeps the charge.
    const entries = await coalitionOf(world).selectFrom('settlement_entries').select(['event', 'amount_minor', 'period', 'occurred_at']).where('redemption_id', '=', a.body.id).orderBy('id').execute();
    expect(entries).toEqual([
      { event: 'code_redeemed', amount_minor: '7000', period: '2026-11-01', occurred_at: new Date(START) },
      { event: 'redemption_reversed', amount_minor: '-7000', period: '2026-12-01', occurred_at: new Date(closesAt) },
    ]);

    world.clock.set(START);
    world.clock.advanceDays(31);
    const before = await redemptionFootprint(world);
    const refused = await reverse(world, b.body.id);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'REVERSAL_WINDOW_CLOSED', details: { redemptionId: b.body.id, redeemedAt: b.body.redeemedAt, closedAt: closesAt } });
    expect(await redemptionFootprint(world)).toEqual(before);
    expect((await api('GET', `/redemptions/${b.body.id}`, world.partner.key)).body).toEqual(b.body);
    expect((await codeRowOf(world, late.code)).status).toBe('redeemed');
  });

  it('reverses a redemption whose voucher has expired meanwhile: the code is then EXPIRED, not redeemable', async () => {
    const { reward } = await rewardWithCodes(world, ['REVERSE-LATE-1'], { reward: { voucherValidDays: 2, minCodeValidityDays: 0 } });
    const voucher = await issuedVoucher(world, reward.id);
    const redeemed = await redeem(world, order({ code: voucher.code }));
    world.clock.advanceDays(3);
    const reversed = await reverse(world, redeemed.body.id);
    expect(reversed.status).toBe(200);
    expect(reversed.body.status).toBe('reversed');
    expect((await validate(world, { code: voucher.code })).body).toMatchObject({ valid: false, reason: 'EXPIRED', redemptionId: null });
    const again = await redeem(world, order({ code: voucher.code }));
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('EXPIRED');
    expect((await api('GET', `/vouchers/${voucher.id}`, world.issuer.key)).body).toMatchObject({ status: 'expired', redeemedAt: null });
  });

  it('follows REDEMPTION_REVERSAL_DAYS', async () => {
    const shortWorld = await startExchangeWorld({ start: START, env: { REDEMPTION_REVERSAL_DAYS: '2' } });
    try {
      const { reward } = await rewardWithCodes(shortWorld, ['SHORT-WINDOW-1']);
      const voucher = await issuedVoucher(shortWorld, reward.id);
      const redeemed = await redeem(shortWorld, order({ code: voucher.code }));
      expect(redeemed.body.reversibleUntil).toBe(iso(Date.parse(START) + 2 * DAY_MS));
      shortWorld.clock.advance(2 * DAY_MS + 1);
      expect((await reverse(shortWorld, redeemed.body.id)).body.code).toBe('REVERSAL_WINDOW_CLOSED');
    } finally {
      await shortWorld.stop();
    }
  });

  it('refuses an unknown redemption (404) and a malformed request (400)', async () => {
    const { reward } = await rewardWithCodes(world, ['REVERSE-BAD-1']);
    const redeemed = await redeem(world, order({ code: (await issuedVoucher(world, reward.id)).code }));
    const before = await redemptionFootprint(world);
    const unknown = await reverse(world, 'red_000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'REDEMPTION_NOT_FOUND', details: { redemptionId: 'red_000000000000' } });
    expect((await reverse(world, 'not-a-redemption')).body.code).toBe('VALIDATION_FAILED');
    expect((await reverse(world, redeemed.body.id, '   ')).body.code).toBe('VALIDATION_FAILED');
    expect((await api('GET', '/redemptions/red_000000000000', world.partner.key)).body.code).toBe('REDEMPTION_NOT_FOUND');
    expect(await redemptionFootprint(world)).toEqual(before);
  });

  it('refuses text PostgreSQL could not store (control characters, broken Unicode) with VALIDATION_FAILED, not a 500', async () => {
    const { reward } = await rewardWithCodes(world, ['TEXT-BAD-1']);
    const voucher = await issuedVoucher(world, reward.id);
    const redeemed = await redeem(world, order({ code: voucher.code }));
    expect(redeemed.status).toBe(200);
    const before = await redemptionFootprint(world);
    const refused = [
      await api('GET', '/redemptions?orderRef=a%00b', world.partner.key),
      await api('GET', '/redemptions?code=A%00B', world.partner.key),
      await redeem(world, order({ code: voucher.code }, 400_000, 'o-\ud800')),
      await redeem(world, order({ code: voucher.code }, 400_000, 'o-\u0007')),
      await reverse(world, redeemed.body.id, 'refund \udc00'),
      await validate(world, { code: 'A\u0000B' }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    expect(await redemptionFootprint(world)).toEqual(before);
  });
});

describe('listing redemptions', () => {
  it('lists newest first, filters by code, order reference, status and time, and pages with a cursor', async () => {
    const shop = await newPartnerWorld(world, 'lister');
    const codes = codeList('LIST-', 5);
    const { reward } = await rewardWithCodes(shop, codes);
    const vouchers = [];
    for (let i = 0; i < 5; i++) vouchers.push(await issuedVoucher(shop, reward.id));
    const minute = 60_000;
    const at = (minutes: number) => iso(Date.parse(START) + minutes * minute);
    const redeemAt = async (minutes: number, voucher: { code: string }, orderRef: string) => {
      shop.clock.set(at(minutes));
      const res = await redeem(shop, order({ code: voucher.code }, 400_000, orderRef));
      expect(res.status).toBe(200);
      return res.body;
    };
    const r1 = await redeemAt(1, vouchers[0]!, 'L-1');
    const r2 = await redeemAt(2, vouchers[1]!, 'L-2');
    // Two at the same instant: the id breaks the tie.
    const r3 = await redeemAt(3, vouchers[2]!, 'L-3');
    const r4 = await redeemAt(3, vouchers[3]!, 'L-4');
    const r5 = await redeemAt(4, vouchers[4]!, 'L-5');
    shop.clock.set(at(5));
    const r2Reversed = (await reverse(shop, r2.id)).body;
    const r6 = await redeemAt(6, vouchers[1]!, 'L-2');

    const [tieFirst, tieSecond] = r3.id > r4.id ? [r3, r4] : [r4, r3];
    const newestFirst = [r6, r5, tieFirst, tieSecond, r2Reversed, r1];
    const list = (query: Record<string, string | number>, key = shop.partner.key) => api('GET', `/redemptions?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`, key);

    const all = await list({});
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ redemptions: newestFirst, nextCursor: null });

    for (const limit of [1, 2, 4, 5]) {
      const seen = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: any = (await list({ limit, ...(cursor ? { cursor } : {}) })).body;
        expect(page.redemptions.length).toBeLessThanOrEqual(limit);
        seen.push(...page.redemptions);
        cursor = page.nextCursor;
        if (cursor) expect(cursor).toBe(page.redemptions.at(-1).id);
        pages++;
      } while (cursor && pages < 10);
      expect(seen, `limit ${limit}`).toEqual(newestFirst);
      expect(pages, `limit ${limit}`).toBe(Math.ceil(newestFirst.length / limit));
    }

    const ids = async (query: Record<string, string | number>) => ((await list(query)).body.redemptions as { id: string }[]).map((r) => r.id);
    expect(codes).toContain(vouchers[1]!.code);
    expect(await ids({ code: vouchers[1]!.code.toLowerCase() })).toEqual([r6.id, r2.id]);
    expect(await ids({ code: vouchers[4]!.code })).toEqual([r5.id]);
    expect(await ids({ code: 'LIST-NONE-1' })).toEqual([]);
    expect(await ids({ orderRef: 'L-4' })).toEqual([r4.id]);
    expect(await ids({ orderRef: 'L-2' })).toEqual([r6.id, r2.id]);
    expect(await ids({ orderRef: 'L-9' })).toEqual([]);
    expect(await ids({ status: 'reversed' })).toEqual([r2.id]);
    expect(await ids({ offerId: r1.offerId })).toEqual(newestFirst.map((r) => r.id));
    expect(await ids({ offerId: 'off_000000000000' })).toEqual([]);
    expect(await ids({ status: 'redeemed' })).toEqual([r6.id, r5.id, tieFirst.id, tieSecond.id, r1.id]);
    // from is inclusive, to exclusive.
    expect(await ids({ from: at(2), to: at(4) })).toEqual([tieFirst.id, tieSecond.id, r2.id]);
    expect(await ids({ from: '2026-11-02T13:03:00+03:00' })).toEqual([r6.id, r5.id, tieFirst.id, tieSecond.id]);
    expect(await ids({ to: at(1) })).toEqual([]);
    expect(await ids({ status: 'redeemed', from: at(2), limit: 2 })).toEqual([r6.id, r5.id]);
    const filteredPage = (await list({ status: 'redeemed', limit: 2, cursor: r5.id })).body;
    expect(filteredPage).toEqual({ redemptions: [tieFirst, tieSecond], nextCursor: tieSecond.id });
    expect((await list({ status: 'redeemed', limit: 2, cursor: tieSecond.id })).body).toEqual({ redemptions: [r1], nextCursor: null });

    // Each listed redemption reads back the same by id.
    for (const redemption of newestFirst) expect((await api('GET', `/redemptions/${redemption.id}`, shop.partner.key)).body).toEqual(redemption);

    // A cursor that is not this shop's (another shop's redemption) or a bad query is refused.
    const { reward: otherReward } = await rewardWithCodes(world, ['LIST-OTHER-1']);
    const foreign = await redeem(world, order({ code: (await issuedVoucher(world, otherReward.id)).code }));
    expect((await list({ cursor: foreign.body.id })).body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await list({ cursor: 'red_000000000000' })).status).toBe(400);
    expect((await list({ limit: 0 })).status).toBe(400);
    expect((await list({ limit: 201 })).status).toBe(400);
    expect((await list({ status: 'cancelled' })).status).toBe(400);
    expect((await list({ from: 'yesterday' })).status).toBe(400);
    // The other shop's redemption never shows in this shop's list, nor this shop's in the other's.
    expect(await ids({ orderRef: foreign.body.orderRef })).toEqual([]);
    const theirs = ((await list({ limit: 200 }, world.partner.key)).body.redemptions as { id: string }[]).map((r) => r.id);
    expect(theirs).toContain(foreign.body.id);
    for (const redemption of newestFirst) expect(theirs).not.toContain(redemption.id);
  });
});

describe('check characters', () => {
  it('refuses a mistyped generated code as INVALID_CHECK_CHARACTER without a lookup, and finds the code typed right', async () => {
    const shop = await newPartnerWorld(world, 'checked');
    const offer = await offerWithCodes(shop, [], { minOrderMinor: null });
    // A lookup before the format exists: the format generated next is known at once all the same.
    expect((await validate(shop, { code: 'CHK-AAAAAAAAA' })).body.reason).toBe('UNKNOWN_CODE');
    const generated = await request(world.system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, {
      key: shop.partner.key,
      body: { count: 5, prefix: 'CHK-', length: 8, checkCharacter: true },
    });
    expect(generated.status, JSON.stringify(generated.body)).toBe(200);
    expect((await waitForBatch(world.system.baseUrl, shop.partner.key, generated.body.id)).status).toBe('ready');
    const agreement = await activeAgreement(shop, [offer.id]);
    const reward = await createReward(shop, { agreementId: agreement.id, offerId: offer.id });
    const voucher = await issuedVoucher(shop, reward.id);
    const code: string = voucher.code;
    expect(code).toMatch(/^CHK-[A-Z2-9]{9}$/);
    expect(checkAgainst({ prefix: 'CHK-', length: 8, alphabet: DEFAULT_ALPHABET }, code)).toBe('passes');

    const body = code.slice(4, -1);
    const swapAt = [...body].findIndex((char, i) => i + 1 < body.length && char !== body[i + 1]);
    const swapped = `CHK-${body.slice(0, swapAt)}${body[swapAt + 1]}${body[swapAt]}${body.slice(swapAt + 2)}${code.at(-1)}`;
    const mistyped = [mistype(code, code.length - 1), mistype(code, 6), mistype(code, 4), swapped, mistype(code, code.length - 1).toLowerCase()];
    const before = await redemptionFootprint(shop);
    for (const typo of mistyped) {
      const checked = await validate(shop, { code: typo, orderAmountMinor: 1_000 });
      expect(checked.status, typo).toBe(200);
      expect(checked.body, typo).toEqual({ valid: false, reason: 'INVALID_CHECK_CHARACTER', message: expect.stringContaining('mistyped'), ...NOTHING_FOUND });
      const refused = await redeem(shop, order({ code: typo }));
      expect(refused.status, typo).toBe(422);
      expect(refused.body, typo).toMatchObject({ code: 'INVALID_CHECK_CHARACTER', details: { reason: 'INVALID_CHECK_CHARACTER' } });
    }
    expect(await redemptionFootprint(shop)).toEqual(before);

    // A code with a right check character that is not in the pool is looked up: UNKNOWN_CODE.
    const randomBody = body === 'ABCDEFGH' ? 'HGFEDCBA' : 'ABCDEFGH';
    expect((await validate(shop, { code: `CHK-${randomBody}${checkCharacter(randomBody, DEFAULT_ALPHABET)}` })).body.reason).toBe('UNKNOWN_CODE');
    // Codes of another shape are looked up as well.
    expect((await validate(shop, { code: 'CHK-SHORT' })).body.reason).toBe('UNKNOWN_CODE');
    expect((await validate(shop, { code: `XYZ-${code.slice(4)}` })).body.reason).toBe('UNKNOWN_CODE');

    for (const typed of [code, code.toLowerCase()]) expect((await validate(shop, { code: typed, orderAmountMinor: 400_000 })).body).toMatchObject({ valid: true, voucherId: voucher.id });
    const redeemed = await redeem(shop, order({ code: code.toLowerCase() }));
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.voucherId).toBe(voucher.id);
  });

  it('never refuses a code of a mixed-case alphabet typed in another case: codes are matched without regard to case', async () => {
    const shop = await newPartnerWorld(world, 'mixed');
    const offer = await offerWithCodes(shop, [], { minOrderMinor: null, codeRules: { case: 'preserve' } });
    const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ';
    const generated = await request(world.system.baseUrl, 'POST', `/api/v1/offers/${offer.id}/code-batches/generate`, {
      key: shop.partner.key,
      body: { count: 5, prefix: '77-', length: 10, alphabet, checkCharacter: true },
    });
    expect(generated.status, JSON.stringify(generated.body)).toBe(200);
    expect((await waitForBatch(world.system.baseUrl, shop.partner.key, generated.body.id)).status).toBe('ready');
    const agreement = await activeAgreement(shop, [offer.id]);
    const reward = await createReward(shop, { agreementId: agreement.id, offerId: offer.id });
    const vouchers = [await issuedVoucher(shop, reward.id), await issuedVoucher(shop, reward.id)];
    // Vary the case of at least one letter (a random code of 10 from 46 characters has letters).
    const flipped = (code: string) => [...code].map((char) => (char === char.toUpperCase() ? char.toLowerCase() : char.toUpperCase())).join('');
    for (const voucher of vouchers) {
      for (const typed of [voucher.code, voucher.code.toUpperCase(), voucher.code.toLowerCase(), flipped(voucher.code)]) {
        expect((await validate(shop, { code: typed })).body, typed).toMatchObject({ valid: true, voucherId: voucher.id });
      }
    }
    const redeemed = await redeem(shop, order({ code: flipped(vouchers[0]!.code) }));
    expect(redeemed.status, JSON.stringify(redeemed.body)).toBe(200);
    // A mistyped code of that format is looked up, and not found.
    const code: string = vouchers[1]!.code;
    const wrong = [...alphabet].find((char) => char.toUpperCase() !== code.at(-1)!.toUpperCase())!;
    expect((await validate(shop, { code: code.slice(0, -1) + wrong })).body.reason).toBe('UNKNOWN_CODE');
  });
});

describe('who may redeem', () => {
  it('needs the codes:redeem scope (admin has it) and a partner tenant', async () => {
    const { reward } = await rewardWithCodes(world, codeList('SCOPE-', 2));
    const voucher = await issuedVoucher(world, reward.id);
    const existing = await redeem(world, order({ code: (await issuedVoucher(world, reward.id)).code }));
    const poolsOnly = (await keyFor(world.system.services, world.partner.tenant.slug, ['pools:write', 'codes:export'])).secret;
    const redeemer = await keyFor(world.system.services, world.partner.tenant.slug, ['codes:redeem']);
    const before = await redemptionFootprint(world);

    const calls = (key: string) => [
      ['validate', () => request(world.system.baseUrl, 'POST', '/api/v1/codes/validate', { key, body: { code: voucher.code } })],
      ['redeem', () => redeem(world, order({ code: voucher.code }), { key })],
      ['reverse', () => reverse(world, existing.body.id, 'probe', key)],
      ['get', () => api('GET', `/redemptions/${existing.body.id}`, key)],
      ['list', () => api('GET', '/redemptions', key)],
    ] as const;
    for (const [name, call] of calls(poolsOnly)) {
      const res = await call();
      expect(res.status, name).toBe(403);
      expect(res.body, name).toMatchObject({ code: 'FORBIDDEN', details: { requiredScopes: ['codes:redeem'] } });
    }
    // The issuer's admin key holds every scope, but the issuer is not a partner shop.
    for (const [name, call] of calls(world.issuer.key)) {
      const res = await call();
      expect(res.status, name).toBe(403);
      expect(res.body, name).toMatchObject({ code: 'ROLE_REQUIRED', details: { requiredRole: 'partner' } });
    }
    for (const [name, call] of calls('')) expect((await call()).status, name).toBe(401);
    expect(await redemptionFootprint(world)).toEqual(before);

    // A key with just codes:redeem does all of it; the redemption names that key.
    const scoped = calls(redeemer.secret);
    expect((await scoped[0][1]()).body.valid).toBe(true);
    const done = await scoped[1][1]();
    expect(done.status).toBe(200);
    expect((await coalitionOf(world).selectFrom('redemptions').select('redeemed_by').where('id', '=', done.body.id).executeTakeFirstOrThrow()).redeemed_by).toBe(redeemer.apiKey.id);
    expect((await scoped[3][1]()).body.id).toBe(existing.body.id);
    expect((await scoped[4][1]()).status).toBe(200);
    expect((await scoped[2][1]()).body.status).toBe('reversed');
  });
});
