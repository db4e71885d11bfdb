import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './support/http-client.ts';
import { availableStickers, codeList, customersWithStickers, exchange, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';

let world: ExchangeWorld;

beforeAll(async () => {
  world = await startExchangeWorld();
});
afterAll(() => world.stop());

describe('exchanging stickers for a reward', () => {
  it('debits the stickers, hands out one code and a signed voucher', async () => {
    const codes = codeList('SMOKE-', 3);
    const { reward, agreement } = await rewardWithCodes(world, codes);
    const [customerId] = await customersWithStickers(world, 1, 25);
    const res = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(codes).toContain(res.body.code);
    expect(res.body).toMatchObject({ status: 'issued', customerId, rewardId: reward.id, agreementId: agreement.id, stickers: 10, stickersLeft: 15, partner: world.partner.tenant.slug });
    expect(await availableStickers(world, customerId!)).toBe(15);
    const again = await request(world.system.baseUrl, 'GET', `/api/v1/vouchers/${res.body.id}`, { key: world.issuer.key });
    expect(again.body.token).toBe(res.body.token);
  });
});
