import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookVerificationError, verifyWebhook, type WebhookEvent } from '../client-sdk/src/index.ts';
import { describeEvent, startWebhookReceiver } from '../client-sdk/examples/webhook-receiver.ts';
import { codeList, customersWithStickers, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { rejectionOf, sdkClient } from './support/sdk.ts';
import { startReceiver, startWebhookWorkers, waitUntil, type Receiver, type ReceivedWebhook } from './support/webhooks.ts';

let world: ExchangeWorld;
let receiver: Receiver;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;

beforeAll(async () => {
  world = await startExchangeWorld({ env: { WEBHOOK_ALLOW_LOOPBACK: 'true' } });
  receiver = await startReceiver();
  delivery = await startWebhookWorkers(world.system.services);
});
afterAll(async () => {
  await delivery.stop();
  await receiver.close();
  await world.stop();
});

async function refusal(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(WebhookVerificationError);
  return error;
}

/** An exchange by the issuer and the partner redeeming its code, through the SDK. */
async function redeemedVoucher(prefix: string, orderRef: string) {
  const { reward } = await rewardWithCodes(world, codeList(prefix, 2));
  const [customerId] = await customersWithStickers(world, 1, 10);
  const voucher = await sdkClient(world, world.issuer.key).exchange.mutate({ customer: { customerId: customerId! }, rewardId: reward.id });
  return sdkClient(world, world.partner.key).redemptions.redeem.mutate({ code: voucher.code!, orderRef, orderAmountMinor: 400_000, currency: 'RUB' });
}

let hook: ReceivedWebhook;
let secret: string;

describe('verifyWebhook on real deliveries', () => {
  it('verifies a delivery and returns the typed event', async () => {
    const endpoint = await sdkClient(world, world.issuer.key).webhooks.createEndpoint.mutate({ url: receiver.url, eventTypes: ['voucher.redeemed'] });
    secret = endpoint.secret;
    const redemption = await redeemedVoucher('HOOK-', 'HOOK-ORDER-1');
    [hook] = (await receiver.waitFor(1)) as [ReceivedWebhook];

    const event = await verifyWebhook(hook.headers, hook.body, secret);
    expect(event).toMatchObject({ id: hook.headers['webhook-id'], type: 'voucher.redeemed', sequence: 1, tenant: world.issuer.tenant.slug });
    if (event.type !== 'voucher.redeemed') throw new Error(`unexpected ${event.type}`);
    // Typed: data is the voucher.redeemed payload.
    expect(event.data).toMatchObject({ redemptionId: redemption.id, voucherId: redemption.voucherId, partner: world.partner.tenant.slug, orderRef: 'HOOK-ORDER-1', discountMinor: 50_000 });
    // The raw bytes and a fetch Headers object do as well.
    expect(await verifyWebhook(new Headers(hook.headers), new TextEncoder().encode(hook.body), [secret])).toEqual(event);
  });

  it('refuses a modified body, a replayed old timestamp, a wrong secret and missing headers', async () => {
    expect(await refusal(verifyWebhook(hook.headers, hook.body.replace('"discountMinor":50000', '"discountMinor":90000'), secret))).toMatchObject({ code: 'BAD_SIGNATURE' });
    const sentAt = Number(hook.headers['webhook-timestamp']) * 1000;
    expect(await refusal(verifyWebhook(hook.headers, hook.body, secret, { now: new Date(sentAt + 301_000) }))).toMatchObject({ code: 'TIMESTAMP_TOO_OLD' });
    expect(await verifyWebhook(hook.headers, hook.body, secret, { now: new Date(sentAt + 301_000), toleranceSeconds: 600 })).toMatchObject({ type: 'voucher.redeemed' });
    expect(await refusal(verifyWebhook(hook.headers, hook.body, secret, { now: new Date(sentAt - 301_000) }))).toMatchObject({ code: 'TIMESTAMP_TOO_NEW' });
    // A fresh timestamp on an old delivery: the signature covers it.
    const restamped = { ...hook.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) + 1) };
    expect(await refusal(verifyWebhook(restamped, hook.body, secret))).toMatchObject({ code: 'BAD_SIGNATURE' });
    const otherSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(await refusal(verifyWebhook(hook.headers, hook.body, otherSecret))).toMatchObject({ code: 'BAD_SIGNATURE' });
    const { ['webhook-signature']: _dropped, ...unsigned } = hook.headers;
    expect(await refusal(verifyWebhook(unsigned, hook.body, secret))).toMatchObject({ code: 'MISSING_HEADERS' });
    await expect(verifyWebhook(hook.headers, hook.body, 'not a secret')).rejects.toThrow(TypeError);
  });

  it('during a secret rotation a delivery carries two signatures: the new secret, the old one or both verify it', async () => {
    const client = sdkClient(world, world.partner.key);
    const endpoint = await client.webhooks.createEndpoint.mutate({ url: receiver.url, eventTypes: ['webhook.test'] });
    const rotated = await client.webhooks.rotateSecret.mutate({ endpointId: endpoint.id });
    const { deliveryId } = await client.webhooks.sendTest.mutate({ endpointId: endpoint.id });
    const test = await waitUntil(async () => receiver.received.find((entry) => entry.headers['webhook-id'] === deliveryId));
    expect(test.headers['webhook-signature']!.split(' ')).toHaveLength(2);

    for (const secrets of [rotated.secret, endpoint.secret, [rotated.secret, endpoint.secret], ['whsec_' + Buffer.alloc(32, 1).toString('base64'), endpoint.secret]]) {
      const event = await verifyWebhook(test.headers, test.body, secrets);
      expect(event).toMatchObject({ type: 'webhook.test', data: { endpointId: endpoint.id } });
    }
    expect(await refusal(verifyWebhook(test.headers, test.body, [secret]))).toMatchObject({ code: 'BAD_SIGNATURE' });
  });
});

describe('webhook receiver example', () => {
  it('receives signed deliveries, hands typed events to its handler once each, and answers a forged one with 400', async () => {
    const events: WebhookEvent[] = [];
    const client = sdkClient(world, world.issuer.key);
    const endpoint = await client.webhooks.createEndpoint.mutate({ url: 'https://placeholder.example.com/hooks', eventTypes: ['voucher.redeemed', 'webhook.test'] });
    const example = await startWebhookReceiver({ secrets: endpoint.secret, onEvent: (event) => void events.push(event) });
    try {
      await client.webhooks.updateEndpoint.mutate({ endpointId: endpoint.id, url: example.url });
      await client.webhooks.sendTest.mutate({ endpointId: endpoint.id });
      const redemption = await redeemedVoucher('EXAMPLE-', 'EXAMPLE-ORDER');
      await waitUntil(async () => events.length >= 2);
      expect(events.map((event) => event.type).sort()).toEqual(['voucher.redeemed', 'webhook.test']);
      const redeemed = events.find((event) => event.type === 'voucher.redeemed')!;
      expect(describeEvent(redeemed)).toBe(`voucher ${redemption.voucherId} redeemed at ${world.partner.tenant.slug} for order EXAMPLE-ORDER: 50000 RUB off`);

      // Replaying a delivery sends the same webhook-id again: the example dedupes it.
      const { deliveries } = await client.webhooks.listDeliveries.query({ endpointId: endpoint.id, eventType: 'voucher.redeemed' });
      await client.webhooks.replayDelivery.mutate({ deliveryId: deliveries[0]!.id });
      await waitUntil(async () => (await client.webhooks.getDelivery.query({ deliveryId: deliveries[0]!.id })).attempts === 2 || null);
      expect(events).toHaveLength(2);

      const forged = await fetch(example.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
        body: JSON.stringify({ type: 'voucher.redeemed', data: {} }),
      });
      expect(forged.status).toBe(400);
      expect(events).toHaveLength(2);
    } finally {
      await example.close();
    }
  });
});
