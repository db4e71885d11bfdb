import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { keyFor } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { uploadCsv, waitForBatch } from './support/partner.ts';
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
const coalition = () => coalitionDb(world.system.services.db);

/** Everything an exchange writes, to prove a refused one wrote nothing. */
async function footprint() {
  const count = async (query: { execute(): Promise<unknown[]> }) => (await query.execute()).length;
  return {
    ledger: await count(world.issuerDb().selectFrom('sticker_ledger').select('id')),
    issuerOutbox: await count(world.issuerDb().selectFrom('outbox_events').select('id')),
    partnerOutbox: await count(world.partnerDb().selectFrom('outbox_events').select('id')),
    idempotencyKeys: await count(world.issuerDb().selectFrom('idempotency_keys').select('key')),
    codesHandedOut: await count(world.partnerDb().selectFrom('codes').select('id').where('status', '<>', 'available')),
    vouchers: await count(coalition().selectFrom('vouchers').select('id')),
    settlement: await count(coalition().selectFrom('settlement_entries').select('id')),
  };
}

describe('exchanging stickers for a reward', () => {
  it('debits the stickers, hands out one code with the offer terms and a signed voucher, and tells both sides', async () => {
    const codes = codeList('HAPPY-', 3);
    const { reward, agreement, offer } = await rewardWithCodes(world, codes);
    const [customerId] = await customersWithStickers(world, 1, 25);
    const res = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(res.status).toBe(200);
    expect(codes).toContain(res.body.code);
    expect(res.body).toMatchObject({
      status: 'issued',
      customerId,
      rewardId: reward.id,
      campaignId: world.campaignId,
      agreementId: agreement.id,
      offerId: offer.id,
      stickers: 10,
      stickersLeft: 15,
      partner: world.partner.tenant.slug,
      offer: { title: '500 RUB off orders over 3,000 RUB', value: { type: 'fixed', amountMinor: 50_000 }, currency: 'RUB', minOrderMinor: 300_000, termsUrl: 'https://shop.example/terms' },
      issuedAt: world.clock.now().toISOString(),
      // 90 days by default: the codes themselves do not expire.
      expiresAt: new Date(world.clock.now().getTime() + 90 * 86_400_000).toISOString(),
      redeemedAt: null,
      cancellation: null,
    });
    expect(res.body.codeMask.endsWith(res.body.code.slice(-2))).toBe(true);
    expect(res.body.token.split('.')).toHaveLength(3);
    expect(res.body.qrText.startsWith('CXV1:')).toBe(true);
    expect(await availableStickers(world, customerId!)).toBe(15);

    const history = await api('GET', `/customers/${customerId}/history`, world.issuer.key);
    expect(history.body.entries[0]).toMatchObject({ kind: 'spend', stickers: -10, description: `10 stickers exchanged for voucher ${res.body.id}` });

    // The issuer pays per issued code under this agreement: one settlement entry.
    const entries = await coalition().selectFrom('settlement_entries').selectAll().where('voucher_id', '=', res.body.id).execute();
    expect(entries).toEqual([expect.objectContaining({ event: 'code_issued', amount_minor: '5000', currency: 'RUB', agreement_id: agreement.id, period: '2026-11-01' })]);

    const issuerEvent = await world.issuerDb().selectFrom('outbox_events').select('payload').where('event_type', '=', 'voucher.issued').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(issuerEvent.payload).toMatchObject({ voucherId: res.body.id, customerId, rewardId: reward.id, partner: world.partner.tenant.slug, stickers: 10 });
    const partnerEvent = await world.partnerDb().selectFrom('outbox_events').select('payload').where('event_type', '=', 'voucher.issued').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(partnerEvent.payload).toMatchObject({ voucherId: res.body.id, issuer: world.issuer.tenant.slug, offerId: offer.id, codeMask: res.body.codeMask });
    expect(JSON.stringify(partnerEvent.payload)).not.toContain(customerId);
    for (const payload of [issuerEvent.payload, partnerEvent.payload]) expect(JSON.stringify(payload)).not.toContain(res.body.code);

    const again = await api('GET', `/vouchers/${res.body.id}`, world.issuer.key);
    const { stickersLeft: _left, ...voucher } = res.body;
    expect(again.body).toEqual(voucher);
  });

  it('keeps plain codes out of the database and the logs: the stored answer of the Idempotency-Key holds no code or token', async () => {
    const { reward } = await rewardWithCodes(world, ['PLAIN-SECRET-0001']);
    const [customerId] = await customersWithStickers(world, 1, 10);
    const key = randomUUID();
    const res = await exchange(world, { customer: { customerId }, rewardId: reward.id }, key);
    expect(res.body.code).toBe('PLAIN-SECRET-0001');
    const stored = await world.issuerDb().selectFrom('idempotency_keys').select('response').where('key', '=', key).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored.response)).not.toContain('PLAIN-SECRET-0001');
    expect(stored.response).toMatchObject({ id: res.body.id, code: null, token: null });
    const { rows } = await sql<{ hits: number }>`
      select count(*)::integer as hits from coalition.vouchers v where v.terms::text like '%PLAIN-SECRET%' or v.code_mask like '%PLAIN-SECRET%'`.execute(world.system.services.db);
    expect(rows[0]!.hits).toBe(0);
    expect(world.system.logLines.join('\n')).not.toContain('PLAIN-SECRET-0001');
    expect(world.system.logLines.join('\n')).not.toContain(res.body.token);
  });

  it('finds the customer by card or phone as well as by id', async () => {
    const { reward } = await rewardWithCodes(world, codeList('BYCARD-', 2));
    const enrolled = await api('POST', '/customers', world.issuer.key, { cardNumber: '7000-5555', phone: '+7 916 123-45-67' });
    await api('POST', `/customers/${enrolled.body.id}/adjustments`, world.issuer.key, { campaignId: world.campaignId, stickers: 20, reason: 'Welcome bonus' });
    expect((await exchange(world, { customer: { cardNumber: '7000-5555' }, rewardId: reward.id })).body.customerId).toBe(enrolled.body.id);
    expect((await exchange(world, { customer: { phone: '+79161234567' }, rewardId: reward.id })).body.customerId).toBe(enrolled.body.id);
  });

  it('refuses with a typed error and changes nothing', async () => {
    const { reward, offer } = await rewardWithCodes(world, codeList('REFUSE-', 2));
    const [rich, poor, blocked] = await customersWithStickers(world, 3, 10);
    await api('POST', `/customers/${blocked}/block`, world.issuer.key, { reason: 'Fraud review' });
    await world.issuerDb().insertInto('sticker_ledger').values({ customer_id: poor!, campaign_id: world.campaignId, kind: 'spend', amount: -5, available_at: world.clock.now(), recorded_at: world.clock.now(), purchase_id: null, return_id: null, actor: null, reason: null, reference: 'test' }).execute();
    const paused = await createReward(world, { agreementId: reward.agreementId, offerId: offer.id, status: 'paused' });
    const readOnly = (await keyFor(world.system.services, world.issuer.tenant.slug, ['customers:read'])).secret;
    const before = await footprint();

    const cases: [Record<string, unknown>, number, string, Record<string, string>?][] = [
      [{ customer: { customerId: poor }, rewardId: reward.id }, 422, 'INSUFFICIENT_STICKERS'],
      [{ customer: { customerId: blocked }, rewardId: reward.id }, 403, 'CUSTOMER_BLOCKED'],
      [{ customer: { customerId: 'cus_0000000000000000' }, rewardId: reward.id }, 404, 'CUSTOMER_NOT_FOUND'],
      [{ customer: { cardNumber: 'NO-SUCH-CARD' }, rewardId: reward.id }, 404, 'CUSTOMER_NOT_FOUND'],
      [{ customer: { customerId: rich }, rewardId: 'rwd_000000000000' }, 404, 'REWARD_NOT_FOUND'],
      [{ customer: { customerId: rich }, rewardId: paused.id }, 409, 'REWARD_UNAVAILABLE'],
      [{ customer: { customerId: rich, cardNumber: 'X-1' }, rewardId: reward.id }, 400, 'VALIDATION_FAILED'],
      [{ customer: { customerId: rich }, rewardId: 'reward-1' }, 400, 'VALIDATION_FAILED'],
      [{ customer: { customerId: rich }, rewardId: reward.id, stickers: 1 }, 400, 'VALIDATION_FAILED'],
      [{ customer: { phone: '12' }, rewardId: reward.id }, 400, 'VALIDATION_FAILED'],
      [{ customer: { customerId: rich }, rewardId: reward.id }, 400, 'IDEMPOTENCY_KEY_REQUIRED', {}],
      [{ customer: { customerId: rich }, rewardId: reward.id }, 400, 'IDEMPOTENCY_KEY_REQUIRED', { 'idempotency-key': 'has spaces in it' }],
    ];
    for (const [body, status, code, headers] of cases) {
      const res = await request(world.system.baseUrl, 'POST', '/api/v1/exchanges', { key: world.issuer.key, body, headers: headers ?? { 'idempotency-key': randomUUID() } });
      expect(res.status, `${code} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.code, JSON.stringify(body)).toBe(code);
      expect(res.body.message.length).toBeGreaterThan(10);
    }
    const scoped = await exchange(world, { customer: { customerId: rich }, rewardId: reward.id }, randomUUID(), world.system.baseUrl, readOnly);
    expect(scoped.body).toMatchObject({ code: 'FORBIDDEN', details: { requiredScopes: ['exchange:write'] } });
    const partnerKey = await exchange(world, { customer: { customerId: rich }, rewardId: reward.id }, randomUUID(), world.system.baseUrl, world.partner.key);
    expect(partnerKey.body.code).toBe('ROLE_REQUIRED');

    expect(await footprint()).toEqual(before);
    expect((await exchange(world, { customer: { customerId: poor }, rewardId: reward.id })).body.details).toEqual({ campaignId: world.campaignId, available: 5, required: 10 });
  });

  it("says REWARD_UNAVAILABLE when the partner pauses the offer, and POOL_EXHAUSTED once the last code is gone", async () => {
    const { reward, offer } = await rewardWithCodes(world, ['LAST-00001']);
    const customers = await customersWithStickers(world, 2, 10);
    await api('POST', `/offers/${offer.id}/status`, world.partner.key, { status: 'paused' });
    expect((await exchange(world, { customer: { customerId: customers[0] }, rewardId: reward.id })).body).toMatchObject({ code: 'REWARD_UNAVAILABLE', details: { reason: 'offer_not_active' } });
    await api('POST', `/offers/${offer.id}/status`, world.partner.key, { status: 'active' });
    expect((await exchange(world, { customer: { customerId: customers[0] }, rewardId: reward.id })).body.code).toBe('LAST-00001');
    const empty = await exchange(world, { customer: { customerId: customers[1] }, rewardId: reward.id });
    expect(empty.status).toBe(409);
    expect(empty.body).toMatchObject({ code: 'POOL_EXHAUSTED', details: { rewardId: reward.id } });
    expect(await availableStickers(world, customers[1]!)).toBe(10);
  });

  it('hands out only codes valid long enough, and the voucher expires with its code', async () => {
    const offer = await offerWithCodes(world, []);
    const soon = new Date(world.clock.now().getTime() + 3 * 86_400_000).toISOString();
    const later = new Date(world.clock.now().getTime() + 20 * 86_400_000).toISOString();
    for (const [code, expiresAt] of [['EXP-SOON-01', soon], ['EXP-LATER-01', later]]) {
      const upload = await uploadCsv(world.system.baseUrl, world.partner.key, offer.id, `code,expires_at\n${code},${expiresAt}\n`);
      await waitForBatch(world.system.baseUrl, world.partner.key, upload.body.id);
    }
    const agreement = await activeAgreement(world, [offer.id]);
    const reward = await createReward(world, { agreementId: agreement.id, offerId: offer.id, minCodeValidityDays: 7, voucherValidDays: 30 });
    const [customerId] = await customersWithStickers(world, 1, 30);
    const res = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(res.body).toMatchObject({ code: 'EXP-LATER-01', expiresAt: later });
    // The code expiring in 3 days is never handed out under a 7-day minimum.
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).body.code).toBe('POOL_EXHAUSTED');
  });

  it("refuses codes of an offer that ends before the reward's minimum validity, and says so in the catalog", async () => {
    const ends = new Date(world.clock.now().getTime() + 2 * 86_400_000 + 500).toISOString();
    const { reward } = await rewardWithCodes(world, codeList('ENDS-', 3), { offer: { codesValidUntil: ends }, reward: { minCodeValidityDays: 3 } });
    const [customerId] = await customersWithStickers(world, 1, 30);
    const before = await availableStickers(world, customerId!);
    const refused = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'REWARD_UNAVAILABLE', details: { rewardId: reward.id, reason: 'offer_ends_soon' } });
    expect(await availableStickers(world, customerId!)).toBe(before);
    const catalog = await api('GET', '/catalog', world.issuer.key);
    expect(catalog.body.rewards.find((entry: { id: string }) => entry.id === reward.id).availability).toMatchObject({ exchangeable: false, reason: 'REWARD_UNAVAILABLE', detail: 'offer_ends_soon' });
    // Even with no minimum, a code is handed out only if it stays valid for an hour,
    // and never with an expiry at or before its issue.
    await api('PATCH', `/rewards/${reward.id}`, world.issuer.key, { minCodeValidityDays: 0 });
    world.clock.set(new Date(new Date(ends).getTime() - 30 * 60_000));
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).body.details).toMatchObject({ reason: 'offer_ends_soon' });
    world.clock.set(new Date(new Date(ends).getTime() - 2 * 3_600_000));
    const served = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(served.status).toBe(200);
    expect(new Date(served.body.expiresAt).getTime()).toBeGreaterThan(world.clock.now().getTime());
    world.clock.set('2026-11-02T10:00:00Z');
  });
});

describe('per-customer limits and the monthly cap', () => {
  it('stops a customer at the per-customer total and per-week limits, and counts cancelled vouchers out', async () => {
    const { reward } = await rewardWithCodes(world, codeList('LIM-', 10), { reward: { limits: { perCustomer: 3, perPeriod: { count: 2, period: 'week' } } } });
    const [customerId] = await customersWithStickers(world, 1, 100);
    const first = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);
    const weekly = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(weekly.status).toBe(409);
    // 2026-11-02 is a Monday: the week ends at the next Monday, midnight in Moscow.
    expect(weekly.body).toMatchObject({ code: 'LIMIT_REACHED', details: { limit: 'period', max: 2, used: 2, period: 'week', resetsAt: '2026-11-08T21:00:00.000Z' } });

    await api('POST', `/vouchers/${first.body.id}/cancel`, world.issuer.key, { reason: 'Customer changed their mind' });
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);
    world.clock.advanceDays(7);
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);
    const total = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(total.body).toMatchObject({ code: 'LIMIT_REACHED', details: { limit: 'total', max: 3, used: 3 } });
  });

  it("stops every customer at the agreement's monthly cap until the next month, and a cancellation frees a place", async () => {
    world.clock.set('2026-12-30T12:00:00Z');
    const { reward } = await rewardWithCodes(world, codeList('CAP-', 10), { agreement: { monthlyCap: 2 } });
    const customers = await customersWithStickers(world, 3, 10);
    const served = [await exchange(world, { customer: { customerId: customers[0] }, rewardId: reward.id }), await exchange(world, { customer: { customerId: customers[1] }, rewardId: reward.id })];
    expect(served.map((res) => res.status)).toEqual([200, 200]);
    const capped = await exchange(world, { customer: { customerId: customers[2] }, rewardId: reward.id });
    expect(capped.status).toBe(409);
    // December ends at midnight Moscow time (UTC+3).
    expect(capped.body).toMatchObject({ code: 'AGREEMENT_CAP_REACHED', details: { monthlyCap: 2, resetsAt: '2026-12-31T21:00:00.000Z' } });
    await api('POST', `/vouchers/${served[0]!.body.id}/cancel`, world.issuer.key, { reason: 'Mistake' });
    expect((await exchange(world, { customer: { customerId: customers[2] }, rewardId: reward.id })).status).toBe(200);
    expect((await exchange(world, { customer: { customerId: customers[0] }, rewardId: reward.id })).body.code).toBe('AGREEMENT_CAP_REACHED');
    world.clock.set('2026-12-31T21:00:00Z');
    expect((await exchange(world, { customer: { customerId: customers[0] }, rewardId: reward.id })).status).toBe(200);
  });
});
