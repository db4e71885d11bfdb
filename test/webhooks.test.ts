import { randomUUID } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { request } from './support/http-client.ts';
import { codeList, customersWithStickers, exchange, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { createEndpoint, startReceiver, startWebhookWorkers, waitUntil, type Receiver } from './support/webhooks.ts';

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

const api = (method: string, path: string, key: string, body?: unknown, headers?: Record<string, string>) =>
  request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }), ...(headers && { headers }) });

/** An issued voucher of the world's issuer, redeemable at the world's partner. */
async function issuedVoucher(prefix: string, agreement: Record<string, unknown> = {}) {
  const { reward } = await rewardWithCodes(world, codeList(prefix, 2), { agreement });
  const [customerId] = await customersWithStickers(world, 1, 30);
  const res = await exchange(world, { customer: { customerId }, rewardId: reward.id });
  expect(res.status).toBe(200);
  return res.body;
}

function redeem(code: string, orderRef = `order-${randomUUID()}`) {
  return api('POST', '/redemptions', world.partner.key, { code, orderRef, orderAmountMinor: 500_000, currency: 'RUB' }, { 'idempotency-key': randomUUID() });
}

describe('webhooks end to end', () => {
  it('exchange → redeem → the issuer receiver gets voucher.redeemed, signed per Standard Webhooks', async () => {
    const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['voucher.redeemed'], description: 'POS back end' });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const voucher = await issuedVoucher('E2E-', { model: { type: 'issuer_pays_per_redeemed', amountMinor: 7_000 } });
    const redeemed = await redeem(voucher.code, 'order-e2e-1');
    expect(redeemed.status).toBe(200);

    const [hook] = await receiver.waitFor(1);
    // The reference verifier accepts it (it throws otherwise) and returns the payload.
    const verified = new Webhook(endpoint.secret).verify(hook!.body, hook!.headers) as any;
    expect(verified).toMatchObject({
      type: 'voucher.redeemed',
      sequence: 1,
      tenant: world.issuer.tenant.slug,
      data: { voucherId: voucher.id, redemptionId: redeemed.body.id, partner: world.partner.tenant.slug, orderRef: 'order-e2e-1', orderAmountMinor: 500_000, currency: 'RUB' },
    });
    expect(hook!.headers['webhook-id']).toBe(verified.id);
    expect(hook!.headers['content-type']).toBe('application/json');
    expect(Math.abs(Number(hook!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);

    // The delivery log shows the attempt.
    const detail = await waitUntil(async () => {
      const res = await api('GET', `/webhooks/deliveries/${verified.id}`, world.issuer.key);
      return res.body.status === 'succeeded' ? res.body : null;
    });
    expect(detail).toMatchObject({ endpointId: endpoint.id, eventType: 'voucher.redeemed', sequence: 1, attempts: 1, lastStatusCode: 200 });
    expect(detail.attemptLog).toHaveLength(1);
    expect(detail.attemptLog[0]).toMatchObject({ attempt: 1, statusCode: 200, error: null, responseBody: 'ok' });
    expect(detail.payload.data.voucherId).toBe(voucher.id);
    // Only the subscribed type arrived (voucher.issued was written too, for every exchange).
    expect(receiver.received.map((r) => r.json.type)).toEqual(['voucher.redeemed']);
  });

  it('the reference verifier rejects a tampered body, an old timestamp and the wrong secret', async () => {
    const hook = receiver.received[0]!;
    const endpoint = (await api('GET', '/webhooks/endpoints', world.issuer.key)).body.endpoints[0];
    expect(endpoint.id).toBeDefined();
    const secret = (await coalitionSecret(endpoint.id))!;
    expect(() => new Webhook(secret).verify(hook.body, hook.headers)).not.toThrow();
    expect(() => new Webhook(secret).verify(hook.body.replace('500000', '900000'), hook.headers)).toThrow(WebhookVerificationError);
    const old = String(Math.floor(Date.now() / 1000) - 600);
    expect(() => new Webhook(secret).verify(hook.body, { ...hook.headers, 'webhook-timestamp': old })).toThrow(WebhookVerificationError);
    const other = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    expect(() => new Webhook(other).verify(hook.body, hook.headers)).toThrow(WebhookVerificationError);
  });

  it('never stores or logs the secret in plain text', async () => {
    const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['webhook.test'] });
    const row = await coalitionDb(world.system.services.db).selectFrom('webhook_endpoints').selectAll().where('id', '=', endpoint.id).executeTakeFirstOrThrow();
    const raw = endpoint.secret.slice('whsec_'.length);
    expect(row.secret_cipher.includes(Buffer.from(raw))).toBe(false);
    expect(row.secret_cipher.includes(Buffer.from(raw, 'base64'))).toBe(false);
    expect(world.system.logLines.some((line) => line.includes(raw))).toBe(false);
    const listed = await api('GET', `/webhooks/endpoints/${endpoint.id}`, world.issuer.key);
    expect(JSON.stringify(listed.body)).not.toContain(raw);
    await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, world.issuer.key);
  });
});

describe('events while an endpoint is off, and reversals', () => {
  it('keeps events for a disabled endpoint as failed deliveries, replayable once it is enabled; reversals arrive as voucher.redemption_reversed', async () => {
    const local = await startReceiver();
    try {
      const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: local.url, eventTypes: ['voucher.redeemed', 'voucher.redemption_reversed'] });
      const since = world.clock.now().toISOString();
      expect((await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, world.issuer.key)).body.status).toBe('disabled');
      const voucher = await issuedVoucher('OFF-');
      const redeemed = await redeem(voucher.code);
      expect(redeemed.status).toBe(200);
      const kept = await waitUntil(async () => {
        const res = await api('GET', `/webhooks/deliveries?endpointId=${endpoint.id}`, world.issuer.key);
        return res.body.deliveries.length === 1 ? res.body.deliveries[0] : null;
      });
      expect(kept).toMatchObject({ eventType: 'voucher.redeemed', status: 'failed', attempts: 0, lastError: 'endpoint disabled (manual)' });
      expect(local.received).toHaveLength(0);

      await api('POST', `/webhooks/endpoints/${endpoint.id}/enable`, world.issuer.key);
      const replay = await api('POST', '/webhooks/deliveries/replay-failed', world.issuer.key, { since });
      expect(replay.body.replayed).toBe(1);
      const [got] = await local.waitFor(1);
      expect(got!.headers['webhook-id']).toBe(kept.id);
      expect(got!.json.data.redemptionId).toBe(redeemed.body.id);

      const reversed = await api('POST', `/redemptions/${redeemed.body.id}/reverse`, world.partner.key, { reason: 'order cancelled' });
      expect(reversed.status).toBe(200);
      const [, reversal] = await local.waitFor(2);
      expect(() => new Webhook(endpoint.secret).verify(reversal!.body, reversal!.headers)).not.toThrow();
      expect(reversal!.json).toMatchObject({
        type: 'voucher.redemption_reversed',
        sequence: got!.json.sequence + 1,
        data: { voucherId: voucher.id, redemptionId: redeemed.body.id, reason: 'order cancelled', partner: world.partner.tenant.slug },
      });
    } finally {
      await local.close();
    }
  });
});

describe('secret rotation and test events', () => {
  it('after a rotation both secrets verify for 24 hours, then only the new one', async () => {
    const local = await startReceiver();
    try {
      const endpoint = await createEndpoint(world.system.baseUrl, world.partner.key, { url: local.url, eventTypes: ['webhook.test'] });
      const rotated = await api('POST', `/webhooks/endpoints/${endpoint.id}/rotate-secret`, world.partner.key);
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).not.toBe(endpoint.secret);
      expect(rotated.body.secretRotation.previousValidUntil).toBe(new Date(world.clock.now().getTime() + 24 * 3_600_000).toISOString());
      const sent = await api('POST', `/webhooks/endpoints/${endpoint.id}/test`, world.partner.key);
      expect(sent.status).toBe(200);
      const [first] = await local.waitFor(1);
      expect(first!.headers['webhook-id']).toBe(sent.body.deliveryId);
      expect(first!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
      expect(() => new Webhook(endpoint.secret).verify(first!.body, first!.headers)).not.toThrow();
      expect(() => new Webhook(rotated.body.secret).verify(first!.body, first!.headers)).not.toThrow();
      expect(first!.json).toMatchObject({ type: 'webhook.test', data: { endpointId: endpoint.id } });

      world.clock.advance(24 * 3_600_000 + 1_000);
      await api('POST', `/webhooks/endpoints/${endpoint.id}/test`, world.partner.key);
      const [, second] = await local.waitFor(2);
      expect(second!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
      expect(() => new Webhook(endpoint.secret).verify(second!.body, second!.headers)).toThrow(WebhookVerificationError);
      expect(() => new Webhook(rotated.body.secret).verify(second!.body, second!.headers)).not.toThrow();
      expect(second!.json.sequence).toBe(first!.json.sequence + 1);
    } finally {
      await local.close();
    }
  });
});

async function coalitionSecret(endpointId: string): Promise<string | undefined> {
  const { WebhookSecretBox } = await import('../server/src/webhooks/webhook-signing.ts');
  const row = await coalitionDb(world.system.services.db).selectFrom('webhook_endpoints').select(['tenant_id', 'secret_cipher']).where('id', '=', endpointId).executeTakeFirst();
  return row ? new WebhookSecretBox(world.system.services.secrets, row.tenant_id).open(row.secret_cipher, endpointId) : undefined;
}
