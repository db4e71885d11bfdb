import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { CodeVault } from '../server/src/pools/code-vault.ts';
import { requireTenantRow } from '../server/src/tenants/get-tenant.ts';
import { request } from './support/http-client.ts';
import {
  activeAgreement,
  availableStickers,
  codeList,
  createReward,
  customersWithStickers,
  exchange,
  offerWithCodes,
  rewardWithCodes,
  startExchangeWorld,
  type ExchangeWorld,
} from './support/exchange.ts';

let world: ExchangeWorld;

beforeAll(async () => {
  world = await startExchangeWorld();
});
afterAll(() => world.stop());

const api = (method: string, path: string, key: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }) });

async function codeRow(code: string) {
  const partnerId = (await requireTenantRow(world.system.services.db, world.partner.tenant.slug)).id;
  const hash = new CodeVault(world.system.services.secrets, partnerId).lookupHash(code);
  return world.partnerDb().selectFrom('codes').select(['status', 'holder_ref']).where('lookup_hash', '=', hash).executeTakeFirstOrThrow();
}

/** Moscow keeps UTC+3 all year: its next midnight, as an instant. */
function nextMoscowMidnight(now: Date): string {
  const MOSCOW_MS = 3 * 60 * 60 * 1000;
  const DAY_MS = 24 * 60 * 60 * 1000;
  return new Date((Math.floor((now.getTime() + MOSCOW_MS) / DAY_MS) + 1) * DAY_MS - MOSCOW_MS).toISOString();
}

describe('cancelling a voucher', () => {
  it('refunds the stickers, returns the code to the pool when the offer says so, reverses the charge and tells both sides, once', async () => {
    const { reward } = await rewardWithCodes(world, ['BACK-00001'], { offer: { onVoucherCancelled: 'return_to_pool' } });
    const [customerId, nextCustomer] = await customersWithStickers(world, 2, 10);
    const issueKey = randomUUID();
    const issued = await exchange(world, { customer: { customerId }, rewardId: reward.id }, issueKey);
    expect(await availableStickers(world, customerId!)).toBe(0);

    const cancelled = await api('POST', `/vouchers/${issued.body.id}/cancel`, world.issuer.key, { reason: 'Customer complaint: code refused at checkout' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: issued.body.id,
      status: 'cancelled',
      code: null,
      token: null,
      qrText: null,
      codeMask: issued.body.codeMask,
      cancellation: { at: world.clock.now().toISOString(), reason: 'Customer complaint: code refused at checkout', codeDisposition: 'returned_to_pool', stickersRefunded: 10 },
    });
    expect(await availableStickers(world, customerId!)).toBe(10);
    const history = await api('GET', `/customers/${customerId}/history`, world.issuer.key);
    expect(history.body.entries[0]).toMatchObject({ kind: 'refund', stickers: 10, description: `10 stickers given back: voucher ${issued.body.id} cancelled (Customer complaint: code refused at checkout)` });
    expect(await codeRow('BACK-00001')).toEqual({ status: 'available', holder_ref: null });

    const entries = await coalitionDb(world.system.services.db).selectFrom('settlement_entries').select(['event', 'amount_minor']).where('voucher_id', '=', issued.body.id).orderBy('id').execute();
    expect(entries).toEqual([
      { event: 'code_issued', amount_minor: '5000' },
      { event: 'issue_cancelled', amount_minor: '-5000' },
    ]);
    const issuerEvent = await world.issuerDb().selectFrom('outbox_events').select('payload').where('event_type', '=', 'voucher.cancelled').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(issuerEvent.payload).toMatchObject({ voucherId: issued.body.id, customerId, stickersRefunded: 10, codeDisposition: 'returned_to_pool' });
    const partnerEvent = await world.partnerDb().selectFrom('outbox_events').select('payload').where('event_type', '=', 'voucher.cancelled').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(partnerEvent.payload).toMatchObject({ voucherId: issued.body.id, issuer: world.issuer.tenant.slug, codeDisposition: 'returned_to_pool' });

    // A retry changes nothing; a replay of the exchange no longer shows the code.
    const retry = await api('POST', `/vouchers/${issued.body.id}/cancel`, world.issuer.key, { reason: 'Again' });
    expect(retry.body).toEqual(cancelled.body);
    expect(await availableStickers(world, customerId!)).toBe(10);
    const replay = await exchange(world, { customer: { customerId }, rewardId: reward.id }, issueKey);
    expect(replay.body).toMatchObject({ id: issued.body.id, status: 'cancelled', code: null, token: null, stickersLeft: 0 });

    // The code went back to the pool: the next customer gets it.
    const next = await exchange(world, { customer: { customerId: nextCustomer }, rewardId: reward.id });
    expect(next.body.code).toBe('BACK-00001');
    expect(await codeRow('BACK-00001')).toEqual({ status: 'issued', holder_ref: next.body.id });
  });

  it("voids the code under the offer's default policy", async () => {
    const { reward, offer } = await rewardWithCodes(world, ['VOID-00001', 'VOID-00002']);
    const [customerId] = await customersWithStickers(world, 1, 10);
    const issued = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    const cancelled = await api('POST', `/vouchers/${issued.body.id}/cancel`, world.issuer.key, { reason: 'Duplicate order' });
    expect(cancelled.body.cancellation).toMatchObject({ codeDisposition: 'voided', stickersRefunded: 10 });
    expect((await codeRow(issued.body.code)).status).toBe('voided');
    const pool = await api('GET', `/offers/${offer.id}/pool`, world.partner.key);
    expect(pool.body.counts).toMatchObject({ available: 1, voided: 1, issued: 0 });
  });

  it('refuses a redeemed voucher, an unknown one and a blank reason, changing nothing', async () => {
    const { reward } = await rewardWithCodes(world, ['USED-00001']);
    const [customerId] = await customersWithStickers(world, 1, 10);
    const issued = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    // Redemption lands with the partner API; here the partner's shop has used the code.
    await coalitionDb(world.system.services.db).updateTable('vouchers').set({ status: 'redeemed', redeemed_at: world.clock.now() }).where('id', '=', issued.body.id).execute();
    await world.partnerDb().updateTable('codes').set({ status: 'redeemed', redeemed_at: world.clock.now() }).where('holder_ref', '=', issued.body.id).execute();

    const refused = await api('POST', `/vouchers/${issued.body.id}/cancel`, world.issuer.key, { reason: 'Too late' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'VOUCHER_NOT_CANCELLABLE', details: { voucherId: issued.body.id, status: 'redeemed' } });
    expect((await api('POST', '/vouchers/vch_000000000000/cancel', world.issuer.key, { reason: 'x' })).body.code).toBe('VOUCHER_NOT_FOUND');
    expect((await api('POST', `/vouchers/${issued.body.id}/cancel`, world.issuer.key, { reason: '   ' })).body.code).toBe('VALIDATION_FAILED');
    expect(await availableStickers(world, customerId!)).toBe(0);
    expect((await codeRow('USED-00001')).status).toBe('redeemed');
    expect((await api('GET', `/vouchers/${issued.body.id}`, world.issuer.key)).body).toMatchObject({ status: 'redeemed', code: 'USED-00001' });
  });
});

describe("a customer's vouchers", () => {
  it('lists them newest first with their codes, by status, a page at a time', async () => {
    const { reward } = await rewardWithCodes(world, codeList('LIST-', 5), { reward: { voucherValidDays: 10 } });
    const [customerId] = await customersWithStickers(world, 1, 50);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await exchange(world, { customer: { customerId }, rewardId: reward.id })).body.id);
      world.clock.advance(60_000);
    }
    await api('POST', `/vouchers/${ids[1]}/cancel`, world.issuer.key, { reason: 'Mistake' });

    const page1 = await api('GET', `/customers/${customerId}/vouchers?limit=3`, world.issuer.key);
    expect(page1.body.vouchers.map((voucher: { id: string }) => voucher.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(page1.body.vouchers[0].code).toMatch(/^LIST-/);
    expect(page1.body.vouchers[2]).toMatchObject({ status: 'cancelled', code: null });
    const page2 = await api('GET', `/customers/${customerId}/vouchers?limit=3&cursor=${page1.body.nextCursor}`, world.issuer.key);
    expect(page2.body).toEqual({ vouchers: [expect.objectContaining({ id: ids[0] })], nextCursor: null });

    const cancelled = await api('GET', `/customers/${customerId}/vouchers?status=cancelled`, world.issuer.key);
    expect(cancelled.body.vouchers.map((voucher: { id: string }) => voucher.id)).toEqual([ids[1]]);
    world.clock.advanceDays(11);
    const expired = await api('GET', `/customers/${customerId}/vouchers?status=expired`, world.issuer.key);
    expect(expired.body.vouchers.map((voucher: { id: string }) => voucher.id)).toEqual([ids[3], ids[2], ids[0]]);
    expect(expired.body.vouchers[0].code).toMatch(/^LIST-/);
    expect((await api('GET', `/customers/${customerId}/vouchers?status=issued`, world.issuer.key)).body.vouchers).toEqual([]);
    expect((await api('GET', `/customers/${customerId}/vouchers?status=lost`, world.issuer.key)).body.code).toBe('VALIDATION_FAILED');
    expect((await api('GET', '/customers/cus_0000000000000000/vouchers', world.issuer.key)).body.code).toBe('CUSTOMER_NOT_FOUND');
  });
});

describe('the reward catalog', () => {
  it("is managed by the issuer's marketers under active agreements only", async () => {
    const offer = await offerWithCodes(world, []);
    const other = await offerWithCodes(world, []);
    const agreement = await activeAgreement(world, [offer.id]);
    const pending = (await api('POST', '/agreements', world.partner.key, { name: 'Pending', issuer: world.issuer.tenant.slug, offerIds: [offer.id], model: { type: 'issuer_pays_per_issued', amountMinor: 100 }, currency: 'RUB' })).body;
    const base = { title: 'Pan', campaignId: world.campaignId, stickerCost: 10, agreementId: agreement.id, offerId: offer.id };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...base, agreementId: pending.id }, 409, 'AGREEMENT_INACTIVE'],
      [{ ...base, agreementId: 'agr_000000000000' }, 404, 'AGREEMENT_NOT_FOUND'],
      [{ ...base, offerId: other.id }, 422, 'OFFER_NOT_IN_AGREEMENT'],
      [{ ...base, campaignId: 'cmp_000000000000' }, 404, 'CAMPAIGN_NOT_FOUND'],
      [{ ...base, stickerCost: 0 }, 400, 'VALIDATION_FAILED'],
      [{ ...base, imageUrl: 'http://insecure.example/pan.png' }, 400, 'VALIDATION_FAILED'],
      [{ ...base, voucherValidDays: 10, minCodeValidityDays: 20 }, 400, 'VALIDATION_FAILED'],
      [{ ...base, limits: { perPeriod: { count: 1, period: 'year' } } }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await api('POST', '/rewards', world.issuer.key, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.code).toBe(code);
    }
    expect((await api('POST', '/rewards', world.partner.key, base)).body.code).toBe('ROLE_REQUIRED');

    const reward = await createReward(world, { ...base, limits: { perCustomer: 2 } });
    expect(reward).toMatchObject({ status: 'active', limits: { perCustomer: 2, perPeriod: null }, voucherValidDays: 90, minCodeValidityDays: 7 });
    const edited = await api('PATCH', `/rewards/${reward.id}`, world.issuer.key, { stickerCost: 12, title: 'Frying pan, 28 cm' });
    expect(edited.body).toMatchObject({ stickerCost: 12, title: 'Frying pan, 28 cm' });
    expect((await api('PATCH', `/rewards/${reward.id}`, world.issuer.key, { minCodeValidityDays: 200 })).body.code).toBe('VALIDATION_FAILED');
    expect((await api('POST', `/rewards/${reward.id}/status`, world.issuer.key, { status: 'archived' })).body.status).toBe('archived');
    expect((await api('POST', `/rewards/${reward.id}/status`, world.issuer.key, { status: 'active' })).body).toMatchObject({ code: 'REWARD_STATUS_TRANSITION', details: { allowed: [] } });
    expect((await api('PATCH', `/rewards/${reward.id}`, world.issuer.key, { title: 'x' })).body.code).toBe('REWARD_ARCHIVED');
  });

  it('shows the app live availability and, for a customer, progress and limits', async () => {
    const { reward, offer, agreement } = await rewardWithCodes(world, codeList('CAT-', 2), { reward: { title: 'Blender voucher', stickerCost: 20, sortOrder: -100, limits: { perPeriod: { count: 1, period: 'day' } } }, agreement: { monthlyCap: 5 } });
    const [customerId] = await customersWithStickers(world, 1, 15);

    const find = async (query = '') => (await api('GET', `/catalog${query}`, world.issuer.key)).body.rewards.find((entry: { id: string }) => entry.id === reward.id);
    expect(await find()).toMatchObject({
      title: 'Blender voucher',
      stickerCost: 20,
      partner: { slug: world.partner.tenant.slug, displayName: 'Test Retailer' },
      offer: { value: { type: 'fixed', amountMinor: 50_000 }, minOrderMinor: 300_000 },
      availability: { exchangeable: true, reason: null, detail: null, codesLeft: 2, codesLeftAtLeast: false, capLeftThisMonth: 5 },
      customer: null,
    });
    expect((await find(`?customerId=${customerId}`)).customer).toMatchObject({
      availableStickers: 15,
      stickersNeeded: 5,
      percent: 75,
      canExchange: false,
      reason: 'INSUFFICIENT_STICKERS',
      limits: { perCustomer: null, perPeriod: { limit: 1, used: 0, period: 'day', resetsAt: nextMoscowMidnight(world.clock.now()) } },
    });

    await api('POST', `/customers/${customerId}/adjustments`, world.issuer.key, { campaignId: world.campaignId, stickers: 30, reason: 'Goodwill' });
    expect((await find(`?customerId=${customerId}`)).customer).toMatchObject({ stickersNeeded: 0, percent: 100, canExchange: true, reason: null });
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);
    expect(await find(`?customerId=${customerId}`)).toMatchObject({
      availability: { codesLeft: 1, capLeftThisMonth: 4 },
      customer: { availableStickers: 25, canExchange: false, reason: 'LIMIT_REACHED' },
    });

    await api('POST', `/offers/${offer.id}/status`, world.partner.key, { status: 'paused' });
    expect((await find()).availability).toMatchObject({ exchangeable: false, reason: 'REWARD_UNAVAILABLE', detail: 'offer_not_active' });
    await api('POST', `/offers/${offer.id}/status`, world.partner.key, { status: 'active' });
    await api('POST', `/agreements/${agreement.id}/status`, world.partner.key, { status: 'suspended' });
    expect((await find()).availability).toMatchObject({ reason: 'AGREEMENT_INACTIVE', detail: 'suspended' });
    await api('POST', `/agreements/${agreement.id}/status`, world.partner.key, { status: 'active' });
    const [other] = await customersWithStickers(world, 1, 20);
    await exchange(world, { customer: { customerId: other }, rewardId: reward.id });
    expect((await find()).availability).toMatchObject({ exchangeable: false, reason: 'POOL_EXHAUSTED', detail: null, codesLeft: 0 });

    await api('POST', `/rewards/${reward.id}/status`, world.issuer.key, { status: 'paused' });
    expect(await find()).toBeUndefined();
    expect((await api('GET', '/catalog?customerId=cus_0000000000000000', world.issuer.key)).body.code).toBe('CUSTOMER_NOT_FOUND');
  });
});
