import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableStickers, codeList, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { request } from './support/http-client.ts';
import { codeRowOf, coalitionOf, issuedVoucher, redeem, redemptionFootprint } from './support/redemption.ts';

/**
 * Redemption exactly once under real concurrency: the requests below are sent at the
 * same moment over HTTP, each on its own database connection (the pool is larger than
 * the number of requests), so they race inside PostgreSQL, not in a queue in front of it.
 */
let world: ExchangeWorld;

beforeAll(async () => {
  world = await startExchangeWorld({ env: { DB_POOL_MAX: '40' } });
});
afterAll(() => world.stop());

const PER_REDEEMED = { model: { type: 'partner_pays_per_redeemed', amountMinor: 7_000 } };
const order = (presented: Record<string, unknown>, orderRef: string) => ({ ...presented, orderRef, orderAmountMinor: 400_000, currency: 'RUB' });

async function issuerEventsOf(voucherId: string, type: string) {
  const events = await world.issuerDb().selectFrom('outbox_events').select(['event_type', 'payload']).where('event_type', '=', type).execute();
  return events.filter((event) => (event.payload as { voucherId?: string }).voucherId === voucherId);
}

async function settlementOf(voucherId: string) {
  return coalitionOf(world).selectFrom('settlement_entries').select(['event', 'amount_minor', 'redemption_id']).where('voucher_id', '=', voucherId).orderBy('id').execute();
}

describe('concurrent redemptions', () => {
  it('redeems one code once when twenty checkouts send it at the same moment with twenty keys', async () => {
    const { reward } = await rewardWithCodes(world, ['RACE-00001'], { agreement: PER_REDEEMED });
    const voucher = await issuedVoucher(world, reward.id);
    // The same code in every form a checkout may send it.
    const forms = [{ code: voucher.code }, { code: voucher.code.toLowerCase() }, { voucher: voucher.token }, { voucher: voucher.qrText }];
    const keys = Array.from({ length: 20 }, () => randomUUID());
    const results = await Promise.all(keys.map((key, i) => redeem(world, order(forms[i % forms.length]!, `RACE-ORDER-${i}`), { idempotencyKey: key })));

    const winners = results.filter((res) => res.status === 200);
    const losers = results.filter((res) => res.status !== 200);
    expect(results.map((res) => res.status).sort()).toEqual([200, ...Array<number>(19).fill(409)]);
    const won = winners[0]!.body;
    expect(won).toMatchObject({ status: 'redeemed', voucherId: voucher.id });
    for (const res of losers) {
      expect(res.body).toMatchObject({ code: 'ALREADY_REDEEMED', details: { reason: 'ALREADY_REDEEMED', voucherId: voucher.id, redemptionId: won.id, redeemedAt: won.redeemedAt } });
    }

    const redemptions = await coalitionOf(world).selectFrom('redemptions').select(['id', 'order_ref', 'status']).where('voucher_id', '=', voucher.id).execute();
    expect(redemptions).toEqual([{ id: won.id, order_ref: won.orderRef, status: 'redeemed' }]);
    expect(await settlementOf(voucher.id)).toEqual([{ event: 'code_redeemed', amount_minor: '7000', redemption_id: won.id }]);
    const events = await issuerEventsOf(voucher.id, 'voucher.redeemed');
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({ redemptionId: won.id, orderRef: won.orderRef });
    // Only the winner's Idempotency-Key was kept: the refused ones can be used again.
    const kept = await world.partnerDb().selectFrom('idempotency_keys').select('key').where('key', 'in', keys).execute();
    expect(kept.map((row) => row.key)).toEqual([keys[results.indexOf(winners[0]!)]]);
    expect(await coalitionOf(world).selectFrom('vouchers').select('status').where('id', '=', voucher.id).executeTakeFirstOrThrow()).toEqual({ status: 'redeemed' });
    expect((await codeRowOf(world, voucher.code)).status).toBe('redeemed');
  });

  it('answers twenty concurrent retries with the same Idempotency-Key with one redemption', async () => {
    const { reward } = await rewardWithCodes(world, ['RETRY-00001'], { agreement: PER_REDEEMED });
    const voucher = await issuedVoucher(world, reward.id);
    const key = randomUUID();
    const body = order({ code: voucher.code }, 'RETRY-ORDER-1');
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(world, body, { idempotencyKey: key })));

    expect(results.map((res) => res.status)).toEqual(Array<number>(20).fill(200));
    const ids = new Set(results.map((res) => res.body.id));
    expect(ids.size).toBe(1);
    for (const res of results) expect(res.body).toEqual(results[0]!.body);
    // One did the work; nineteen were answered from it.
    expect(results.filter((res) => res.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(results.filter((res) => res.headers.get('idempotent-replayed') === null)).toHaveLength(1);

    const [id] = [...ids];
    expect(await coalitionOf(world).selectFrom('redemptions').select('id').where('voucher_id', '=', voucher.id).execute()).toEqual([{ id }]);
    expect(await settlementOf(voucher.id)).toEqual([{ event: 'code_redeemed', amount_minor: '7000', redemption_id: id }]);
    expect(await issuerEventsOf(voucher.id, 'voucher.redeemed')).toHaveLength(1);
    expect(await world.partnerDb().selectFrom('idempotency_keys').select('key').where('key', '=', key).execute()).toHaveLength(1);
  });

  it('lets exactly one of a redemption and the issuer cancelling the same voucher win, leaving a consistent state', async () => {
    const rounds = 16;
    const { reward } = await rewardWithCodes(world, codeList('RVC-', rounds), { agreement: PER_REDEEMED });
    const vouchers: any[] = [];
    for (let i = 0; i < rounds; i++) vouchers.push(await issuedVoucher(world, reward.id));
    const outcomes = { redeemed: 0, cancelled: 0 };
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    // A redemption does more work than a cancellation before it takes the voucher row, so
    // the cancellation leaves later and later: the first round surely goes to the
    // cancellation, the last to the redemption, and the ones between are real races.
    const raced = await Promise.all(
      vouchers.map(async (voucher, i) => {
        const cancelDelay = i === rounds - 1 ? 400 : Math.max(0, (i - 1) * 4);
        const redeemDelay = i === 0 ? 400 : 0;
        const cancelled = sleep(cancelDelay).then(() =>
          request(world.system.baseUrl, 'POST', `/api/v1/vouchers/${voucher.id}/cancel`, { key: world.issuer.key, body: { reason: 'Customer complaint' } }),
        );
        const redeemed = sleep(redeemDelay).then(() => redeem(world, order(i % 2 ? { voucher: voucher.token } : { code: voucher.code }, `RVC-ORDER-${i}`)));
        return { voucher, redeemed: await redeemed, cancelled: await cancelled };
      }),
    );

    for (const { voucher, redeemed, cancelled } of raced) {
      const label = `${voucher.id}: redeem ${redeemed.status} ${redeemed.body.code ?? ''}, cancel ${cancelled.status} ${cancelled.body.code ?? ''}`;
      expect([redeemed.status, cancelled.status].filter((status) => status === 200), label).toHaveLength(1);
      const row = await coalitionOf(world).selectFrom('vouchers').select(['status', 'redeemed_at', 'cancelled_at']).where('id', '=', voucher.id).executeTakeFirstOrThrow();
      const code = await codeRowOf(world, voucher.code);
      const redemptions = await coalitionOf(world).selectFrom('redemptions').select('id').where('voucher_id', '=', voucher.id).execute();
      const settlement = await settlementOf(voucher.id);
      const redeemedEvents = await issuerEventsOf(voucher.id, 'voucher.redeemed');
      const cancelledEvents = await issuerEventsOf(voucher.id, 'voucher.cancelled');
      if (redeemed.status === 200) {
        outcomes.redeemed++;
        expect(cancelled.status, label).toBe(409);
        expect(cancelled.body).toMatchObject({ code: 'VOUCHER_NOT_CANCELLABLE', details: { voucherId: voucher.id, status: 'redeemed' } });
        expect(row, label).toMatchObject({ status: 'redeemed', cancelled_at: null });
        expect(code.status, label).toBe('redeemed');
        expect(redemptions, label).toEqual([{ id: redeemed.body.id }]);
        expect(settlement, label).toEqual([{ event: 'code_redeemed', amount_minor: '7000', redemption_id: redeemed.body.id }]);
        expect([redeemedEvents.length, cancelledEvents.length], label).toEqual([1, 0]);
        // The stickers stay spent.
        expect(await availableStickers(world, voucher.customerId), label).toBe(0);
      } else {
        outcomes.cancelled++;
        expect(cancelled.status, label).toBe(200);
        expect(redeemed.status, label).toBe(409);
        expect(redeemed.body, label).toMatchObject({ code: 'VOUCHER_CANCELLED', details: { voucherId: voucher.id } });
        expect(row, label).toMatchObject({ status: 'cancelled', redeemed_at: null });
        // The offer's default policy voids the code of a cancelled voucher.
        expect(code.status, label).toBe('voided');
        expect(redemptions, label).toEqual([]);
        expect(settlement, label).toEqual([]);
        expect([redeemedEvents.length, cancelledEvents.length], label).toEqual([0, 1]);
        expect(await availableStickers(world, voucher.customerId), label).toBe(10);
      }
    }
    expect(outcomes.redeemed + outcomes.cancelled).toBe(rounds);
    expect(outcomes.redeemed).toBeGreaterThan(0);
    expect(outcomes.cancelled).toBeGreaterThan(0);
  });

  it('never redeems one code twice when redemptions and reversals interleave', async () => {
    const { reward } = await rewardWithCodes(world, ['FLIP-00001'], { agreement: PER_REDEEMED });
    const voucher = await issuedVoucher(world, reward.id);
    const first = await redeem(world, order({ code: voucher.code }, 'FLIP-0'));
    expect(first.status).toBe(200);
    const before = await redemptionFootprint(world);
    // Ten reversals of the same redemption and ten new redemptions of its code at once.
    const reversals = Array.from({ length: 10 }, () => request(world.system.baseUrl, 'POST', `/api/v1/redemptions/${first.body.id}/reverse`, { key: world.partner.key, body: { reason: 'Refund' } }));
    const redemptions = Array.from({ length: 10 }, (_, i) => redeem(world, order({ code: voucher.code }, `FLIP-${i + 1}`)));
    const [reversed, redeemed] = await Promise.all([Promise.all(reversals), Promise.all(redemptions)]);

    expect(reversed.map((res) => res.status)).toEqual(Array<number>(10).fill(200));
    for (const res of reversed) expect(res.body).toMatchObject({ id: first.body.id, status: 'reversed' });
    const won = redeemed.filter((res) => res.status === 200);
    expect(won.length).toBeLessThanOrEqual(1);
    for (const res of redeemed.filter((r) => r.status !== 200)) expect(res.body.code).toBe('ALREADY_REDEEMED');

    const rows = await coalitionOf(world).selectFrom('redemptions').select(['id', 'status']).where('voucher_id', '=', voucher.id).orderBy('redeemed_at').orderBy('id').execute();
    const live = rows.filter((row) => row.status === 'redeemed');
    expect(live.map((row) => row.id)).toEqual(won.map((res) => res.body.id));
    expect(rows).toHaveLength(1 + won.length);
    // One reversal entry for the first redemption, one charge for the new one (if any).
    const settlement = await settlementOf(voucher.id);
    expect(settlement.filter((entry) => entry.event === 'redemption_reversed')).toEqual([{ event: 'redemption_reversed', amount_minor: '-7000', redemption_id: first.body.id }]);
    expect(settlement.filter((entry) => entry.event === 'code_redeemed').map((entry) => entry.redemption_id)).toEqual([first.body.id, ...won.map((res) => res.body.id)]);
    expect(await issuerEventsOf(voucher.id, 'voucher.redemption_reversed')).toHaveLength(1);
    expect(await issuerEventsOf(voucher.id, 'voucher.redeemed')).toHaveLength(1 + won.length);
    const voucherRow = await coalitionOf(world).selectFrom('vouchers').select('status').where('id', '=', voucher.id).executeTakeFirstOrThrow();
    expect(voucherRow.status).toBe(won.length ? 'redeemed' : 'issued');
    expect((await codeRowOf(world, voucher.code)).status).toBe(won.length ? 'redeemed' : 'issued');
    const after = await redemptionFootprint(world);
    expect(after.reversed - before.reversed).toBe(1);
  });
});
