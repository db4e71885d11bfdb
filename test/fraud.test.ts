import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { keyFor } from './support/factories.ts';
import { request, type ApiResponse } from './support/http-client.ts';
import { customersWithStickers, exchange, rewardWithCodes, codeList, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { campaignBody, createCampaign, isoAfter, purchaseBody, recordPurchase, recordReturn } from './support/issuer.ts';

/**
 * The anti-fraud rules through the API: settings and their validation, what flag, hold
 * and block do to a purchase or an exchange, the review decisions and what they write to
 * the ledger, and a daily exchange cap under 20 simultaneous requests.
 */
let world: ExchangeWorld;
let n = 0;

beforeAll(async () => {
  world = await startExchangeWorld({ start: '2026-11-02T07:00:00Z' });
});
afterAll(() => world.stop());

const api = (method: string, path: string, body?: unknown, key = world.issuer.key) => request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }) });
const setRule = (ruleId: string, body: Record<string, unknown>) => api('PATCH', `/fraud/rules/${ruleId}`, body);
const card = () => `FR-${Date.now()}-${++n}`;

async function buy(cardNumber: string, overrides: Record<string, unknown> = {}): Promise<ApiResponse> {
  return recordPurchase(world.system.baseUrl, world.issuer.key, purchaseBody(world.clock.now(), { customer: { cardNumber }, receiptId: `R-${randomUUID()}`, ...overrides }));
}

async function casesOf(customerId: string, status?: 'open' | 'closed') {
  const res = await api('GET', `/fraud/cases?customerId=${customerId}${status ? `&status=${status}` : ''}`);
  expect(res.status).toBe(200);
  return res.body.cases as any[];
}

async function outboxEvents(type: string) {
  return world.issuerDb().selectFrom('outbox_events').selectAll().where('event_type', '=', type).orderBy('id').execute();
}

describe('rule settings', () => {
  it('lists every rule with its defaults, and changes one within its limits only', async () => {
    const listed = await api('GET', '/fraud/rules');
    expect(listed.status).toBe(200);
    const ids = listed.body.rules.map((rule: any) => rule.id);
    expect(ids).toEqual(expect.arrayContaining(['cashier.own_card_shift', 'velocity.daily_purchases', 'returns.spent_stickers', 'exchange.daily_cap', 'redemption.shared_shopper']));
    const daily = listed.body.rules.find((rule: any) => rule.id === 'velocity.daily_purchases');
    expect(daily).toMatchObject({ stage: 'purchase', action: 'hold', defaultAction: 'hold', customized: false, params: [{ name: 'maxPurchases', value: 6, default: 6 }] });

    const refusals = await Promise.all([
      setRule('exchange.daily_cap', { action: 'hold' }),
      setRule('returns.ratio', { action: 'block' }),
      setRule('velocity.daily_purchases', { params: { maxPurchases: 0 } }),
      setRule('velocity.daily_purchases', { params: { maxPurchases: 2.5 } }),
      setRule('velocity.daily_purchases', { params: { perHour: 3 } }),
      setRule('velocity.daily_purchases', {}),
      setRule('velocity.daily_purchases', { reset: true, action: 'flag' }),
    ]);
    for (const res of refusals) expect(res.body.code, JSON.stringify(res.body)).toBe('VALIDATION_FAILED');
    expect(refusals[0].body.details.issues[0].message).toContain('allow, flag, block');
    expect(refusals[2].body.details.issues[0]).toMatchObject({ path: 'params.maxPurchases', message: 'must be between 1 and 1000' });
    expect(refusals[4].body.details.issues[0].message).toContain('maxPurchases');
    const unknown = await setRule('velocity.nonsense', { action: 'flag' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'FRAUD_RULE_NOT_FOUND', details: { ruleId: 'velocity.nonsense' } });
    const unchanged = await api('GET', '/fraud/rules');
    expect(unchanged.body).toEqual(listed.body);

    const changed = await setRule('exchange.daily_cap', { action: 'flag', params: { maxExchanges: 3 } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ action: 'flag', customized: true, params: [{ name: 'maxExchanges', value: 3, default: 5 }] });
    const reset = await setRule('exchange.daily_cap', { reset: true });
    expect(reset.body).toMatchObject({ action: 'block', customized: false, params: [{ value: 5 }] });
    const audit = await api('GET', '/audit-events?limit=10');
    expect(audit.body.events.map((event: any) => event.action)).toEqual(expect.arrayContaining(['fraud.rule_updated', 'fraud.rule_reset']));
  });

  it('lets a reviewer key read rules and cases but not change rules', async () => {
    const reviewer = (await keyFor(world.system.services, world.issuer.tenant.slug, ['fraud:review'])).secret;
    expect((await api('GET', '/fraud/rules', undefined, reviewer)).status).toBe(200);
    expect((await api('GET', '/fraud/cases', undefined, reviewer)).status).toBe(200);
    const refused = await api('PATCH', '/fraud/rules/velocity.daily_purchases', { action: 'flag' }, reviewer);
    expect(refused.status).toBe(403);
    const pos = (await keyFor(world.system.services, world.issuer.tenant.slug, ['pos:write'])).secret;
    expect((await api('GET', '/fraud/cases', undefined, pos)).status).toBe(403);
    expect((await api('GET', '/fraud/cases', undefined, world.partner.key)).status).toBe(403);
  });
});

describe('purchases', () => {
  it('holds the stickers of a receipt over the daily limit until a reviewer releases them', async () => {
    await setRule('velocity.daily_purchases', { action: 'hold', params: { maxPurchases: 2 } });
    const cardNumber = card();
    const first = await buy(cardNumber);
    await buy(cardNumber);
    expect(first.body.review).toBeNull();
    const third = await buy(cardNumber, { receiptId: `TV-${cardNumber}`, totalMinor: 250_000, lines: [{ sku: 'TV', quantity: 1, amountMinor: 250_000 }] });
    expect(third.status).toBe(200);
    const customerId = third.body.customerId;
    const campaign = (await api('GET', `/campaigns/${world.campaignId}`)).body;
    expect(third.body.review).toMatchObject({ action: 'hold', held: true });
    expect(third.body.credited).toEqual([expect.objectContaining({ stickers: 5, availableAt: campaign.burnAt })]);

    const balance = (await api('GET', `/customers/${customerId}/balance`)).body;
    expect(balance).toMatchObject({ available: 0, pending: 2 * 2 + 5, heldForReview: 5 });
    expect(balance.pendingReleases).toContainEqual({ campaignId: world.campaignId, stickers: 5, availableAt: campaign.burnAt, heldForReview: true });

    const [open] = await casesOf(customerId, 'open');
    expect(open).toMatchObject({ id: third.body.review.caseId, ruleId: 'velocity.daily_purchases', action: 'hold', hits: 1, heldStickers: 5, subject: `customer:${customerId}`, customer: { id: customerId, cardNumber } });
    const opened = (await outboxEvents('fraud.case_opened')).find((event) => (event.payload as any).caseId === open.id);
    expect(opened?.payload).toMatchObject({ ruleId: 'velocity.daily_purchases', action: 'hold', kind: 'purchase', customerId, purchaseId: third.body.purchaseId });

    const detail = (await api('GET', `/fraud/cases/${open.id}`)).body;
    expect(detail.hitList).toHaveLength(1);
    expect(detail.hitList[0].evidence.receipts).toHaveLength(3);
    expect(detail.stillHeld).toEqual([{ purchaseId: third.body.purchaseId, campaignId: world.campaignId, stickers: 5, availableAt: isoAfter(world.clock.now(), 14) }]);

    // A fourth receipt the same day is another hit of the same case.
    const fourth = await buy(cardNumber);
    expect(fourth.body.review).toMatchObject({ caseId: open.id, action: 'hold' });
    expect((await casesOf(customerId, 'open'))[0]).toMatchObject({ hits: 2, heldStickers: 7 });

    const released = await api('POST', `/fraud/cases/${open.id}/decision`, { decision: 'release', reason: 'Office party shopping, confirmed by the store manager' });
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ status: 'closed', decision: { decision: 'released', by: world.issuer.keyId, reason: 'Office party shopping, confirmed by the store manager' } });
    expect(released.body.decision.released).toHaveLength(2);
    const after = (await api('GET', `/customers/${customerId}/balance`)).body;
    expect(after).toMatchObject({ available: 0, pending: 2 * 2 + 5 + 2, heldForReview: 0 });
    expect(after.pendingReleases).toEqual([{ campaignId: world.campaignId, stickers: 11, availableAt: isoAfter(world.clock.now(), 14), heldForReview: false }]);
    const decided = (await outboxEvents('fraud.case_decided')).find((event) => (event.payload as any).caseId === open.id);
    expect(decided?.payload).toMatchObject({ decision: 'released', customerId });

    const again = await api('POST', `/fraud/cases/${open.id}/decision`, { decision: 'reverse', reason: 'second thoughts' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'FRAUD_CASE_CLOSED', details: { decision: 'released' } });

    // Released stickers become available on their own date, and a return takes them back from there.
    world.clock.advance(15 * 24 * 60 * 60 * 1000);
    expect((await api('GET', `/customers/${customerId}/balance`)).body).toMatchObject({ available: 11, pending: 0 });
    const returned = await recordReturn(world.system.baseUrl, world.issuer.key, { storeCode: 'MSK-001', receiptId: `TV-${cardNumber}`, returnId: 'RET-1', occurredAt: world.clock.now().toISOString() });
    expect(returned.status).toBe(200);
    expect(returned.body.reversed).toEqual([{ campaignId: world.campaignId, stickers: 5, from: 'available' }]);
    expect((await api('GET', `/customers/${customerId}/balance`)).body).toMatchObject({ available: 6, pending: 0, heldForReview: 0 });
    await setRule('velocity.daily_purchases', { reset: true });
  });

  it('reverses held stickers, or blocks the card, on the reviewer\'s word; a flag case has nothing to release', async () => {
    await setRule('cashier.own_card_shift', { action: 'hold', params: { maxReceipts: 1 } });
    const reversedCard = card();
    await buy(reversedCard, { cashierId: 'C-7' });
    const held = await buy(reversedCard, { cashierId: 'C-7', receiptId: `C7-${reversedCard}` });
    expect(held.body.review).toMatchObject({ action: 'hold', held: true });
    const reversed = await api('POST', `/fraud/cases/${held.body.review.caseId}/decision`, { decision: 'reverse', reason: 'Cashier C-7 confirmed scanning own card' });
    expect(reversed.body.decision).toMatchObject({ decision: 'reversed', reversed: [{ purchaseId: held.body.purchaseId, stickers: 2 }] });
    expect((await api('GET', `/customers/${held.body.customerId}/balance`)).body).toMatchObject({ pending: 2, heldForReview: 0 });
    // A later return of that receipt has nothing left to take back.
    const ret = await recordReturn(world.system.baseUrl, world.issuer.key, { storeCode: 'MSK-001', receiptId: `C7-${reversedCard}`, returnId: 'RET-R', occurredAt: world.clock.now().toISOString() });
    expect(ret.body.reversed).toEqual([]);
    expect((await api('GET', `/customers/${held.body.customerId}/balance`)).body).toMatchObject({ pending: 2 });

    const blockedCard = card();
    await buy(blockedCard, { cashierId: 'C-8' });
    const second = await buy(blockedCard, { cashierId: 'C-8' });
    const blocked = await api('POST', `/fraud/cases/${second.body.review.caseId}/decision`, { decision: 'block_card', reason: 'Card used by cashier C-8 for strangers' });
    expect(blocked.body).toMatchObject({ customer: { blocked: true }, decision: { decision: 'card_blocked', reversed: [{ stickers: 2 }] } });
    const refused = await buy(blockedCard, { cashierId: 'C-9' });
    expect(refused.body.code).toBe('CUSTOMER_BLOCKED');

    await setRule('cashier.own_card_shift', { action: 'flag' });
    const flaggedCard = card();
    await buy(flaggedCard, { cashierId: 'C-10' });
    const flagged = await buy(flaggedCard, { cashierId: 'C-10' });
    expect(flagged.body.review).toMatchObject({ action: 'flag', held: false });
    expect(flagged.body.credited[0].availableAt).toBe(isoAfter(world.clock.now(), 14));
    const nothing = await api('POST', `/fraud/cases/${flagged.body.review.caseId}/decision`, { decision: 'release', reason: 'x' });
    expect(nothing.body).toMatchObject({ code: 'FRAUD_DECISION_NOT_APPLICABLE', details: { reason: 'nothing_held' } });
    const bad = await api('POST', `/fraud/cases/${flagged.body.review.caseId}/decision`, { decision: 'forgive', reason: '' });
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect((await api('GET', `/fraud/cases/${flagged.body.review.caseId}`)).body.status).toBe('open');
    const dismissed = await api('POST', `/fraud/cases/${flagged.body.review.caseId}/decision`, { decision: 'dismiss', reason: 'Regular who lives next door' });
    expect(dismissed.body.decision.decision).toBe('dismissed');
    // A new hit after the decision opens a new case.
    const later = await buy(flaggedCard, { cashierId: 'C-10' });
    expect(later.body.review.caseId).not.toBe(flagged.body.review.caseId);
    expect(await casesOf(later.body.customerId)).toHaveLength(2);
    await setRule('cashier.own_card_shift', { reset: true });
    expect((await api('GET', '/fraud/cases/frc_0000000000000000')).body.code).toBe('FRAUD_CASE_NOT_FOUND');
  });

  it('blocks a purchase outright: nothing is written but the case, and the retries join it', async () => {
    await setRule('velocity.store_hop', { action: 'block', params: { withinMinutes: 30 } });
    const cardNumber = card();
    const first = await buy(cardNumber, { storeCode: 'MSK-001' });
    const customerId = first.body.customerId;
    const body = purchaseBody(world.clock.now(), { customer: { cardNumber }, storeCode: 'SPB-002', receiptId: 'HOP-1' });
    const attempts = await Promise.all([recordPurchase(world.system.baseUrl, world.issuer.key, body), recordPurchase(world.system.baseUrl, world.issuer.key, body)]);
    for (const res of attempts) {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'FRAUD_SUSPECTED', details: { ruleId: 'velocity.store_hop' } });
    }
    expect(await world.issuerDb().selectFrom('purchases').select('id').where('receipt_id', '=', 'HOP-1').execute()).toEqual([]);
    expect((await api('GET', `/customers/${customerId}/balance`)).body.pending).toBe(2);
    const [blocked] = await casesOf(customerId);
    expect(blocked).toMatchObject({ id: attempts[0]!.body.details.caseId, action: 'block', hits: 2, ruleId: 'velocity.store_hop' });
    const detail = (await api('GET', `/fraud/cases/${blocked.id}`)).body;
    expect(detail.hitList[0]).toMatchObject({ kind: 'purchase', action: 'block', reference: 'HOP-1', purchaseId: null });
    expect(detail.hitList[0].evidence.otherStores).toEqual([expect.objectContaining({ storeCode: 'MSK-001' })]);
    await setRule('velocity.store_hop', { reset: true });
  });
});

describe('exchanges', () => {
  it('lets exactly 2 of 20 simultaneous exchanges through a daily cap of 2, and opens one case for the rest', async () => {
    await setRule('exchange.daily_cap', { action: 'block', params: { maxExchanges: 2 } });
    const { reward } = await rewardWithCodes(world, codeList('CAP-', 30));
    const [customerId] = await customersWithStickers(world, 1, 500);
    const responses = await Promise.all(Array.from({ length: 20 }, () => exchange(world, { customer: { customerId }, rewardId: reward.id })));
    const ok = responses.filter((res) => res.status === 200);
    const refused = responses.filter((res) => res.status === 403);
    expect(ok).toHaveLength(2);
    expect(refused).toHaveLength(18);
    for (const res of refused) expect(res.body).toMatchObject({ code: 'FRAUD_SUSPECTED', details: { ruleId: 'exchange.daily_cap' } });
    const vouchers = await coalitionDb(world.system.services.db).selectFrom('vouchers').select('id').where('customer_id', '=', customerId!).execute();
    expect(vouchers).toHaveLength(2);
    const spends = await world.issuerDb().selectFrom('sticker_ledger').select('amount').where('customer_id', '=', customerId!).where('kind', '=', 'spend').execute();
    expect(spends).toHaveLength(2);
    const cases = await casesOf(customerId!);
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ ruleId: 'exchange.daily_cap', action: 'block', hits: 18 });

    // The next day (Moscow) the cap starts again.
    world.clock.advanceDays(1);
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);
    await setRule('exchange.daily_cap', { reset: true });
  });

  it('flags vouchers going to cards that have shared a phone, and cool-downs new cards when turned on', async () => {
    await setRule('exchange.shared_phone', { params: { maxVouchers: 2 } });
    const { reward } = await rewardWithCodes(world, codeList('PH-', 10));
    const [a, b] = await customersWithStickers(world, 2, 100);
    const phone = '+79161234567';
    expect((await api('POST', `/customers/${a}/identities`, { phone })).status).toBe(200);
    expect((await exchange(world, { customer: { customerId: a }, rewardId: reward.id })).status).toBe(200);
    // The phone moves to card b: the two cards are now linked through it.
    expect((await api('POST', `/customers/${b}/identities`, { phone })).status).toBe(409);
    await api('POST', `/customers/${a}/identities`, { phone: '+79160000000' });
    expect((await api('POST', `/customers/${b}/identities`, { phone })).status).toBe(200);
    expect((await exchange(world, { customer: { customerId: b }, rewardId: reward.id })).status).toBe(200);
    expect(await casesOf(b!)).toEqual([]);
    const third = await exchange(world, { customer: { customerId: b }, rewardId: reward.id });
    expect(third.status).toBe(200);
    const [shared] = await casesOf(b!);
    expect(shared).toMatchObject({ ruleId: 'exchange.shared_phone', action: 'flag' });
    const detail = (await api('GET', `/fraud/cases/${shared.id}`)).body;
    expect(detail.hitList[0].reference).toBe(third.body.id);
    expect(detail.hitList[0].evidence.cards.map((entry: any) => entry.customerId).sort()).toEqual([a, b].sort());
    await setRule('exchange.shared_phone', { reset: true });

    await setRule('exchange.new_card_cooldown', { action: 'block', params: { hours: 2 } });
    const cardNumber = card();
    const enrolled = await api('POST', '/customers', { cardNumber });
    await world.issuerDb().insertInto('sticker_ledger').values({ customer_id: enrolled.body.id, campaign_id: world.campaignId, kind: 'adjustment', amount: 50, available_at: world.clock.now(), recorded_at: world.clock.now(), purchase_id: null, return_id: null, actor: 'test', reason: 'welcome bonus', reference: null }).execute();
    const tooSoon = await exchange(world, { customer: { cardNumber }, rewardId: reward.id });
    expect(tooSoon.body).toMatchObject({ code: 'FRAUD_SUSPECTED', details: { ruleId: 'exchange.new_card_cooldown' } });
    await setRule('exchange.new_card_cooldown', { reset: true });
    expect((await exchange(world, { customer: { cardNumber }, rewardId: reward.id })).status).toBe(200);
  });
});

describe('returns', () => {
  it('flags a customer who keeps returning goods after exchanging their stickers', async () => {
    const instant = await createCampaign(world.system.baseUrl, world.issuer.key, campaignBody(world.clock.now(), { name: 'No hold', rules: { perAmountMinor: 50_000, stickersPerStep: 1, holdDays: 0 }, storeCodes: ['RET-01'] }));
    const { reward } = await rewardWithCodes(world, codeList('RG-', 5), { reward: { campaignId: instant.id, stickerCost: 4 } });
    const cardNumber = card();
    const reviews: unknown[] = [];
    for (const round of [1, 2]) {
      // The second round buys twice as much: the first return left the card owing 4 stickers.
      const totalMinor = round * 200_000;
      const bought = await buy(cardNumber, { storeCode: 'RET-01', receiptId: `RG-${round}-${cardNumber}`, totalMinor, lines: [{ sku: 'DRILL', quantity: round, amountMinor: totalMinor }] });
      const exchanged = await exchange(world, { customer: { customerId: bought.body.customerId }, rewardId: reward.id });
      expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
      const back = await recordReturn(world.system.baseUrl, world.issuer.key, { storeCode: 'RET-01', receiptId: `RG-${round}-${cardNumber}`, returnId: `RET-${round}`, occurredAt: world.clock.now().toISOString() });
      expect(back.body.owing).toBe(true);
      reviews.push(back.body.review);
    }
    expect(reviews[0]).toBeNull();
    expect(reviews[1]).toMatchObject({ action: 'flag' });
    const [flagged] = (await api('GET', `/fraud/cases?ruleId=returns.spent_stickers`)).body.cases;
    expect(flagged.id).toBe((reviews[1] as any).caseId);
    expect((await api('GET', `/fraud/cases/${flagged.id}`)).body.hitList[0].evidence.returns).toHaveLength(2);
  });
});

describe('edges the rules must get right', () => {
  it('keeps refusing blocked exchanges (never a 500) while a reviewer closes their case', async () => {
    await setRule('exchange.daily_cap', { action: 'block', params: { maxExchanges: 1 } });
    const { reward } = await rewardWithCodes(world, codeList('RACE-', 5));
    const [customerId] = await customersWithStickers(world, 1, 100);
    expect((await exchange(world, { customer: { customerId }, rewardId: reward.id })).status).toBe(200);
    const first = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    const caseId = first.body.details.caseId as string;
    const [decided, ...attempts] = await Promise.all([
      api('POST', `/fraud/cases/${caseId}/decision`, { decision: 'dismiss', reason: 'Checked with the customer' }),
      ...Array.from({ length: 10 }, () => exchange(world, { customer: { customerId }, rewardId: reward.id })),
    ]);
    expect(decided.status).toBe(200);
    for (const res of attempts) expect(res.body.code).toBe('FRAUD_SUSPECTED');
    // Every refusal is a hit: on the case before it closed, or on the one opened after.
    const cases = await casesOf(customerId!);
    expect(cases.reduce((sum, c) => sum + c.hits, 0)).toBe(11);
    expect(cases.filter((c) => c.status === 'open').length).toBeLessThanOrEqual(1);

    // The same moment, pinned down: a reviewer's transaction holds the open case while a
    // refusal is recorded, then closes it. The refusal waits, then opens a new case.
    const openId = (await exchange(world, { customer: { customerId }, rewardId: reward.id })).body.details.caseId as string;
    const reviewer = await world.issuerDb().startTransaction().execute();
    await reviewer.selectFrom('fraud_cases').select('id').where('id', '=', openId).forUpdate().execute();
    const pending = exchange(world, { customer: { customerId }, rewardId: reward.id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await reviewer
      .updateTable('fraud_cases')
      .set({ status: 'closed', decision: 'dismissed', decided_by: 'test', decided_at: world.clock.now(), decision_reason: 'closed while a hit arrived' })
      .where('id', '=', openId)
      .execute();
    await reviewer.commit().execute();
    const refused = await pending;
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FRAUD_SUSPECTED');
    expect(refused.body.details.caseId).not.toBe(openId);
    expect((await api('GET', `/fraud/cases/${refused.body.details.caseId}`)).body).toMatchObject({ status: 'open', hits: 1 });
    await setRule('exchange.daily_cap', { reset: true });
  });

  it("counts a cashier per store: cashier 1 of five different stores is five cashiers", async () => {
    const cardNumber = card();
    const start = world.clock.now().getTime() - 5 * 60 * 60 * 1000;
    const responses = [];
    for (let i = 0; i < 5; i += 1) {
      responses.push(await buy(cardNumber, { storeCode: `CHAIN-${i}`, cashierId: '1', occurredAt: new Date(start + i * 45 * 60 * 1000).toISOString() }));
    }
    expect(responses.map((res) => res.body.review)).toEqual([null, null, null, null, null]);
    const sameStore = card();
    for (let i = 0; i < 5; i += 1) responses.push(await buy(sameStore, { storeCode: 'CHAIN-0', cashierId: '1', occurredAt: new Date(start + i * 45 * 60 * 1000).toISOString() }));
    expect(responses.at(-1)!.body.review).toMatchObject({ action: 'hold' });
    const [held] = await casesOf(responses.at(-1)!.body.customerId);
    expect(held).toMatchObject({ ruleId: 'cashier.own_card_shift', summary: expect.stringContaining('cashier 1 at CHAIN-0') });
  });

  it('judges the return ratio on the same receipts on both sides: returns of an old receipt do not count against new ones', async () => {
    const cardNumber = card();
    const old = await buy(cardNumber, { receiptId: `OLD-${cardNumber}`, totalMinor: 1_000_000, lines: [{ sku: 'SOFA', quantity: 1, amountMinor: 1_000_000 }] });
    expect(old.status).toBe(200);
    world.clock.advanceDays(80);
    // A campaign running now (the first one has ended), so the new receipts earn stickers.
    await createCampaign(world.system.baseUrl, world.issuer.key, campaignBody(world.clock.now(), { name: 'Winter' }));
    world.clock.advanceDays(15);
    for (let i = 0; i < 3; i += 1) {
      await buy(cardNumber, { receiptId: `NEW-${i}-${cardNumber}`, totalMinor: 33_400, lines: [{ sku: 'TEA', quantity: 1, amountMinor: 33_400 }] });
    }
    const returned = [];
    for (let i = 0; i < 3; i += 1) {
      returned.push(
        await recordReturn(world.system.baseUrl, world.issuer.key, {
          storeCode: 'MSK-001',
          receiptId: `OLD-${cardNumber}`,
          returnId: `OLD-RET-${i}`,
          occurredAt: world.clock.now().toISOString(),
          lines: [{ sku: 'SOFA-CUSHION', quantity: 1, amountMinor: 20_000 }],
        }),
      );
    }
    // 600.00 of a 10,000.00 receipt from 95 days ago: not 60% of the 1,002.00 bought since.
    for (const res of returned) expect(res.body.review, JSON.stringify(res.body)).toBeNull();
    // Returning most of the new receipts is what the rule is for.
    const back = [];
    for (let i = 0; i < 3; i += 1) {
      back.push(await recordReturn(world.system.baseUrl, world.issuer.key, { storeCode: 'MSK-001', receiptId: `NEW-${i}-${cardNumber}`, returnId: `NEW-RET-${i}`, occurredAt: world.clock.now().toISOString() }));
    }
    expect(back.map((res) => res.body.review?.action ?? null)).toEqual([null, null, 'flag']);
    const [ratio] = (await api('GET', `/fraud/cases?ruleId=returns.ratio&customerId=${back[2]!.body.customerId}`)).body.cases;
    expect(ratio.summary).toContain('returned 100%');
  });
});
