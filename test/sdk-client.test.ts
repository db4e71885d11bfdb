import { randomUUID } from 'node:crypto';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoalitionError, isCoalitionError, type FetchLike } from '../client-sdk/src/index.ts';
import { checkout, cancelOrder, previewDiscount } from '../client-sdk/examples/partner-checkout.ts';
import { exchangeForReward, rewardsScreen } from '../client-sdk/examples/issuer-app.ts';
import { codeList, customersWithStickers, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { issuedVoucher, redeem, redemptionFootprint } from './support/redemption.ts';
import { rejectionOf, sdkClient } from './support/sdk.ts';

let world: ExchangeWorld;

beforeAll(async () => {
  world = await startExchangeWorld({ env: { WEBHOOK_ALLOW_LOOPBACK: 'true' } });
});
afterAll(() => world.stop());

const issuerClient = () => sdkClient(world, world.issuer.key);
const partnerClient = (fetch?: FetchLike) => sdkClient(world, world.partner.key, fetch ? { fetch } : {});

describe('typed calls against the real server', () => {
  it('POS: a purchase recorded through the SDK (no Idempotency-Key given) credits stickers, and the balance shows them', async () => {
    const client = issuerClient();
    const purchase = await client.pos.recordPurchase.mutate({
      storeCode: 'MSK-001',
      terminalId: 'till-1',
      receiptId: `R-${randomUUID()}`,
      occurredAt: world.clock.now().toISOString(),
      customer: { cardNumber: `7000-${randomUUID().slice(0, 8)}` },
      totalMinor: 120_000,
      lines: [{ sku: 'MILK-1L', quantity: 2, amountMinor: 20_000 }, { sku: 'BEEF-1KG', quantity: 1, amountMinor: 100_000 }],
    });
    expect(purchase).toMatchObject({ enrolled: true, stickersCredited: 2, balance: { available: 0, pending: 2 } });
    expect(purchase.credited[0]).toMatchObject({ campaignId: world.campaignId, stickers: 2 });

    const balance = await client.customers.balance.query({ customerId: purchase.customerId });
    expect(balance).toMatchObject({ customerId: purchase.customerId, available: 0, pending: 2 });
    expect(balance.pendingReleases).toEqual([{ campaignId: world.campaignId, stickers: 2, availableAt: purchase.credited[0]!.availableAt, heldForReview: false }]);
  });

  it('issuer app example: balance → catalog → exchange debits the stickers once and hands out a code and a signed voucher', async () => {
    const { reward } = await rewardWithCodes(world, codeList('APP-', 3));
    const [customerId] = await customersWithStickers(world, 1, 25);
    const client = issuerClient();

    const screen = await rewardsScreen(client, customerId!);
    expect(screen.available).toBe(25);
    expect(screen.exchangeable.map((entry) => entry.id)).toContain(reward.id);

    const outcome = await exchangeForReward(client, customerId!, reward.id);
    expect(outcome).toMatchObject({ status: 'issued', stickersLeft: 15 });
    if (outcome.status !== 'issued') throw new Error('not issued');
    expect(outcome.code).toMatch(/^APP-\d{5}$/);
    expect(outcome.qrText).toMatch(/^CXV1:/);
    expect((await client.customers.balance.query({ customerId: customerId! })).available).toBe(15);

    // Not enough left for a second and a third: the example reports the reason code.
    await exchangeForReward(client, customerId!, reward.id);
    expect(await exchangeForReward(client, customerId!, reward.id)).toMatchObject({ status: 'refused', reason: 'INSUFFICIENT_STICKERS' });
  });

  it('partner checkout example: validate → redeem with the order ref; a cancelled order is reversed and the code redeems again', async () => {
    const { reward } = await rewardWithCodes(world, codeList('SHOP-', 2));
    const voucher = await issuedVoucher(world, reward.id);
    const client = partnerClient();

    const preview = await previewDiscount(client, { code: voucher.code, orderRef: 'x', amountMinor: 400_000, currency: 'RUB' });
    expect(preview).toMatchObject({ valid: true, discountMinor: 50_000, voucherId: voucher.id });

    const first = await checkout(client, { code: voucher.code, orderRef: 'ORDER-1001', amountMinor: 400_000, currency: 'RUB' });
    expect(first).toMatchObject({ status: 'redeemed', discountMinor: 50_000, totalToPayMinor: 350_000 });
    if (first.status !== 'redeemed') throw new Error('not redeemed');
    const redemption = await client.redemptions.get.query({ redemptionId: first.redemptionId });
    expect(redemption).toMatchObject({ orderRef: 'ORDER-1001', status: 'redeemed', voucherId: voucher.id });

    // The same order checked out again (a rerun after a crash): its own redemption, not a refusal, and nothing new.
    const before = await redemptionFootprint(world);
    expect(await checkout(client, { code: voucher.code, orderRef: 'ORDER-1001', amountMinor: 400_000, currency: 'RUB' })).toEqual(first);
    expect(await redemptionFootprint(world)).toEqual(before);
    // The same code on another order: refused before payment, with the reason.
    expect(await checkout(client, { code: voucher.code, orderRef: 'ORDER-1002', amountMinor: 400_000, currency: 'RUB' })).toMatchObject({ status: 'refused', reason: 'ALREADY_REDEEMED' });

    const reversed = await cancelOrder(client, first.redemptionId, 'Order cancelled by the shopper');
    expect(reversed).toMatchObject({ status: 'reversed', reversal: { reason: 'Order cancelled by the shopper' } });
    // Scanned this time, for an order number that is not ASCII: the QR text works as the code does.
    const scanned = await checkout(client, { code: voucher.qrText, orderRef: 'ЗАКАЗ 1003', amountMinor: 400_000, currency: 'RUB' });
    expect(scanned).toMatchObject({ status: 'redeemed', discountMinor: 50_000 });
  });

  it('partner checkout example: a code another till redeems between validate and redeem is refused by its reason code', async () => {
    const { reward } = await rewardWithCodes(world, codeList('RACE-', 2));
    const voucher = await issuedVoucher(world, reward.id);
    let otherTill: Promise<unknown> | undefined;
    const racingFetch: FetchLike = async (url, init) => {
      if (url.endsWith('/trpc/redemptions.redeem') && !otherTill) {
        otherTill = redeem(world, { code: voucher.code, orderRef: 'OTHER-TILL', orderAmountMinor: 400_000, currency: 'RUB' });
        await otherTill;
      }
      return fetch(url, init);
    };
    const outcome = await checkout(partnerClient(racingFetch), { code: voucher.code, orderRef: 'ORDER-2001', amountMinor: 400_000, currency: 'RUB' });
    expect(outcome).toMatchObject({ status: 'refused', reason: 'ALREADY_REDEEMED' });
  });

  it('partner checkout example: a double click runs two checkouts of one order at once; the code is redeemed once', async () => {
    const { reward } = await rewardWithCodes(world, codeList('TWICE-', 2));
    const voucher = await issuedVoucher(world, reward.id);
    const before = await redemptionFootprint(world);
    const order = { code: voucher.code, orderRef: 'ORDER-3001', amountMinor: 400_000, currency: 'RUB' };
    const [one, two] = await Promise.all([checkout(partnerClient(), order), checkout(partnerClient(), order)]);
    expect(one).toMatchObject({ status: 'redeemed', discountMinor: 50_000 });
    expect(two).toEqual(one);
    expect((await redemptionFootprint(world)).redemptions - before.redemptions).toBe(1);
  });

  it('webhooks: endpoints are created, listed, changed, rotated, disabled and enabled through the SDK', async () => {
    const client = issuerClient();
    const created = await client.webhooks.createEndpoint.mutate({ url: 'http://127.0.0.1:9/hooks/sdk', description: 'SDK test', eventTypes: ['voucher.redeemed'] });
    expect(created.secret).toMatch(/^whsec_/);
    expect(created).toMatchObject({ status: 'enabled', eventTypes: ['voucher.redeemed'] });

    const listed = await client.webhooks.listEndpoints.query();
    expect(listed.endpoints.map((endpoint) => endpoint.id)).toContain(created.id);

    const updated = await client.webhooks.updateEndpoint.mutate({ endpointId: created.id, eventTypes: ['voucher.redeemed', 'voucher.redemption_reversed'] });
    expect(updated.eventTypes).toEqual(['voucher.redeemed', 'voucher.redemption_reversed']);

    const rotated = await client.webhooks.rotateSecret.mutate({ endpointId: created.id });
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.secretRotation).not.toBeNull();

    expect((await client.webhooks.disableEndpoint.mutate({ endpointId: created.id })).status).toBe('disabled');
    expect((await client.webhooks.enableEndpoint.mutate({ endpointId: created.id })).status).toBe('enabled');
    expect((await client.webhooks.getEndpoint.query({ endpointId: created.id })).description).toBe('SDK test');
  });

  it('settlement: a draft statement is built and read back with its totals', async () => {
    const { agreement, reward } = await rewardWithCodes(world, codeList('SETL-', 2));
    await issuedVoucher(world, reward.id);
    const client = issuerClient();
    const built = await client.settlement.build.mutate({ agreementId: agreement.id, period: '2026-11' });
    expect(built).toMatchObject({ agreementId: agreement.id, period: '2026-11', status: 'draft' });

    const statement = await client.settlement.get.query({ statementId: built.id });
    // issuer_pays_per_issued, 5,000 per code: one code issued this month.
    expect(statement.totals).toEqual([
      { currency: 'RUB', periodMinor: 5_000, adjustmentsMinor: 0, netMinor: 5_000, owedBy: world.issuer.tenant.slug, owedTo: world.partner.tenant.slug, amountMinor: 5_000 },
    ]);
    const listed = await sdkClient(world, world.partner.key).settlement.list.query({ agreementId: agreement.id });
    expect(listed.statements.map((entry) => entry.id)).toEqual([built.id]);
  });
});

describe('typed errors', () => {
  it('a refused redemption throws CoalitionError with the reason code, HTTP status, details and request id', async () => {
    const { reward } = await rewardWithCodes(world, codeList('ERR-', 2));
    const voucher = await issuedVoucher(world, reward.id);
    const client = partnerClient();
    const order = { code: voucher.code, orderAmountMinor: 400_000, currency: 'RUB' };
    const first = await client.redemptions.redeem.mutate({ ...order, orderRef: 'ERR-1' });

    const error = await rejectionOf(client.redemptions.redeem.mutate({ ...order, orderRef: 'ERR-2' }));
    expect(error).toBeInstanceOf(CoalitionError);
    expect(isCoalitionError(error, 'ALREADY_REDEEMED')).toBe(true);
    expect(error).toMatchObject({ code: 'ALREADY_REDEEMED', httpStatus: 409, attempts: 1, details: { redemptionId: first.id } });
    expect(error.requestId).toMatch(/^\S+$/);
    expect(error.message).toMatch(/redeemed/i);
    expect(error.cause).toBeInstanceOf(TRPCClientError);
  });

  it('invalid input throws VALIDATION_FAILED with the field issues in details, and writes nothing', async () => {
    const before = await redemptionFootprint(world);
    // Both a code and a voucher, and a negative amount: the server names each problem.
    const error = await rejectionOf(partnerClient().redemptions.redeem.mutate({ code: 'ABC-12345', voucher: 'x.y.z', orderRef: 'V-1', orderAmountMinor: -1, currency: 'RUB' }));
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', httpStatus: 400 });
    expect(error.details.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'orderAmountMinor', message: expect.any(String) })]));
    expect(await redemptionFootprint(world)).toEqual(before);
  });

  it('a wrong key is UNAUTHENTICATED; a partner key on an issuer procedure is refused by role', async () => {
    const unknown = await rejectionOf(sdkClient(world, 'cx_live_not-a-real-key').me.query());
    expect(unknown).toMatchObject({ code: 'UNAUTHENTICATED', httpStatus: 401 });
    const wrongRole = await rejectionOf(partnerClient().exchange.mutate({ customer: { customerId: 'cus_0000000000000000' }, rewardId: 'rwd_000000000000' }));
    expect(wrongRole).toMatchObject({ code: 'ROLE_REQUIRED', httpStatus: 403 });
  });
});
