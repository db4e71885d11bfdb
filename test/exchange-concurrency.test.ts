import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import type { ApiResponse } from './support/http-client.ts';
import { availableStickers, codeList, customersWithStickers, exchange, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { startCoalition } from './support/process.ts';

/**
 * Invariants 1-3 under real concurrent requests: a code goes to one voucher, a balance
 * never goes below zero, an Idempotency-Key has one effect, whichever server process
 * serves the request.
 */
let world: ExchangeWorld;

beforeAll(async () => {
  // On the real time: the two server processes below read the system clock.
  world = await startExchangeWorld({ start: new Date().toISOString(), env: { DB_POOL_MAX: '24' } });
});
afterAll(() => world.stop());

function codes(responses: ApiResponse[]): string[] {
  return responses.filter((res) => res.status === 200).map((res) => res.body.code);
}

function byCode(responses: ApiResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const res of responses) {
    const key = res.status === 200 ? '200' : `${res.status} ${res.body?.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function vouchersOf(rewardId: string) {
  return coalitionDb(world.system.services.db).selectFrom('vouchers').selectAll().where('reward_id', '=', rewardId).execute();
}

async function spendsOf(customerIds: readonly string[]) {
  return world.issuerDb().selectFrom('sticker_ledger').selectAll().where('kind', '=', 'spend').where('customer_id', 'in', [...customerIds]).execute();
}

/** The lowest running balance of each customer over the ledger in commit order: never below zero through an exchange. */
async function lowestRunningBalance(customerIds: readonly string[]): Promise<number> {
  const ledger = await world.issuerDb().selectFrom('sticker_ledger').select(['customer_id', 'amount', 'id']).where('customer_id', 'in', [...customerIds]).orderBy('id').execute();
  const running = new Map<string, number>();
  let lowest = Infinity;
  for (const row of ledger) {
    const next = (running.get(row.customer_id) ?? 0) + row.amount;
    running.set(row.customer_id, next);
    lowest = Math.min(lowest, next);
  }
  return lowest;
}

describe('exchanges under concurrency', () => {
  it('1,000 customers at once against a pool of 500 codes: 500 vouchers, each code once, 500 debits, 500 POOL_EXHAUSTED', async () => {
    const pool = codeList('RUSH-', 500);
    const { reward, offer } = await rewardWithCodes(world, pool);
    const customers = await customersWithStickers(world, 1_000, 10);

    const responses = await Promise.all(customers.map((customerId) => exchange(world, { customer: { customerId }, rewardId: reward.id })));

    expect(byCode(responses)).toEqual({ '200': 500, '409 POOL_EXHAUSTED': 500 });
    const handedOut = codes(responses);
    expect(new Set(handedOut).size).toBe(500);
    expect(new Set(handedOut)).toEqual(new Set(pool));

    const vouchers = await vouchersOf(reward.id);
    expect(vouchers).toHaveLength(500);
    expect(new Set(vouchers.map((voucher) => voucher.code_id)).size).toBe(500);
    expect(new Set(vouchers.map((voucher) => voucher.customer_id)).size).toBe(500);
    const spends = await spendsOf(customers);
    expect(spends).toHaveLength(500);
    expect(new Set(spends.map((spend) => spend.reference))).toEqual(new Set(vouchers.map((voucher) => voucher.id)));

    // Every code of the pool is issued, to the voucher that holds it.
    const issued = await world.partnerDb().selectFrom('codes').select(['id', 'status', 'holder_ref']).where('offer_id', '=', offer.id).execute();
    expect(issued.every((code) => code.status === 'issued')).toBe(true);
    const holderOf = new Map(issued.map((code) => [code.id, code.holder_ref]));
    for (const voucher of vouchers) expect(holderOf.get(voucher.code_id)).toBe(voucher.id);

    // Refused customers kept their stickers; served ones paid exactly once.
    const balances = await Promise.all(customers.map((customerId) => availableStickers(world, customerId)));
    expect(balances.filter((balance) => balance === 0)).toHaveLength(500);
    expect(balances.filter((balance) => balance === 10)).toHaveLength(500);

    // The partner heard the pool cross its watermark and run dry, once each.
    const events = await world.partnerDb().selectFrom('outbox_events').select(['event_type', 'payload']).where('event_type', 'in', ['pool.low', 'pool.empty']).execute();
    const forOffer = events.filter((event) => (event.payload as { offerId: string }).offerId === offer.id).map((event) => event.event_type);
    expect(forOffer.sort()).toEqual(['pool.empty', 'pool.low']);
  }, 120_000);

  it('one customer with stickers for 3 rewards firing 50 exchanges at once gets exactly 3, and the balance never goes below zero', async () => {
    const { reward } = await rewardWithCodes(world, codeList('ONE-', 20));
    const [customerId] = await customersWithStickers(world, 1, 35);

    const responses = await Promise.all(Array.from({ length: 50 }, () => exchange(world, { customer: { customerId }, rewardId: reward.id })));

    expect(byCode(responses)).toEqual({ '200': 3, '422 INSUFFICIENT_STICKERS': 47 });
    expect(new Set(codes(responses)).size).toBe(3);
    expect(await availableStickers(world, customerId!)).toBe(5);
    expect(await spendsOf([customerId!])).toHaveLength(3);
    expect(await lowestRunningBalance([customerId!])).toBeGreaterThanOrEqual(0);
    const refused = responses.find((res) => res.status === 422)!;
    expect(refused.body.details).toEqual({ campaignId: world.campaignId, available: 5, required: 10 });
  }, 60_000);

  it('an Idempotency-Key retried 100 times, one after another and all at once, has one effect and one answer', async () => {
    const { reward } = await rewardWithCodes(world, codeList('SAME-', 10));
    const [customerId] = await customersWithStickers(world, 1, 100);
    const body = { customer: { customerId }, rewardId: reward.id };

    const sequentialKey = randomUUID();
    const first = await exchange(world, body, sequentialKey);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    for (let i = 0; i < 100; i++) {
      const retry = await exchange(world, body, sequentialKey);
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
    }

    const concurrentKey = randomUUID();
    const burst = await Promise.all(Array.from({ length: 100 }, () => exchange(world, body, concurrentKey)));
    expect(burst.every((res) => res.status === 200)).toBe(true);
    expect(new Set(burst.map((res) => JSON.stringify(res.body))).size).toBe(1);
    expect(burst.filter((res) => res.headers.get('idempotent-replayed') === null)).toHaveLength(1);

    expect(await vouchersOf(reward.id)).toHaveLength(2);
    expect(await availableStickers(world, customerId!)).toBe(80);

    const reused = await exchange(world, { ...body, rewardId: reward.id, customer: { cardNumber: 'SOMEONE-ELSE' } }, sequentialKey);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await vouchersOf(reward.id)).toHaveLength(2);
  }, 60_000);

  it('two server processes serving the same exchanges at once keep both guarantees', async () => {
    const env = { ...process.env, ...world.system.env, PORT: '0', LOG_LEVEL: 'info', DB_POOL_MAX: '12' };
    const servers = [startCoalition(['serve'], env), startCoalition(['serve'], env)];
    const urls = await Promise.all(servers.map(async (server) => (await server.waitFor(/"url":"(http:\/\/[^"]+)"/))[1]!));
    const at = (i: number) => urls[i % 2]!;

    // Many customers, one pool: 300 requests for 150 codes, alternating between the two processes.
    const pool = codeList('TWO-', 150);
    const { reward } = await rewardWithCodes(world, pool);
    const customers = await customersWithStickers(world, 300, 10);
    const rush = await Promise.all(customers.map((customerId, i) => exchange(world, { customer: { customerId }, rewardId: reward.id }, randomUUID(), at(i))));
    expect(byCode(rush)).toEqual({ '200': 150, '409 POOL_EXHAUSTED': 150 });
    expect(new Set(codes(rush))).toEqual(new Set(pool));
    expect(await vouchersOf(reward.id)).toHaveLength(150);
    expect(await spendsOf(customers)).toHaveLength(150);

    // One customer, stickers for 3: 40 requests split over both processes.
    const { reward: small } = await rewardWithCodes(world, codeList('TWO-ONE-', 10));
    const [customerId] = await customersWithStickers(world, 1, 30);
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => exchange(world, { customer: { customerId }, rewardId: small.id }, randomUUID(), at(i))));
    expect(byCode(burst)).toEqual({ '200': 3, '422 INSUFFICIENT_STICKERS': 37 });
    expect(await availableStickers(world, customerId!)).toBe(0);
    expect(await lowestRunningBalance([customerId!])).toBeGreaterThanOrEqual(0);

    // One Idempotency-Key sent to both processes at once: one voucher, one answer.
    const key = randomUUID();
    const [another] = await customersWithStickers(world, 1, 10);
    const twice = await Promise.all(Array.from({ length: 20 }, (_, i) => exchange(world, { customer: { customerId: another }, rewardId: small.id }, key, at(i))));
    expect(new Set(twice.map((res) => `${res.status} ${JSON.stringify(res.body)}`)).size).toBe(1);
    expect(twice[0]!.status).toBe(200);

    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((server) => server.exited));
  }, 120_000);
});
