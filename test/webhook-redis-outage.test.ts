import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { request } from './support/http-client.ts';
import { codeList, customersWithStickers, exchange, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { createEndpoint, startReceiver, startWebhookWorkers, waitUntil, type Receiver } from './support/webhooks.ts';

// This file's own redis-server, so stopping it disturbs no other test file.
let redisPort: number;
let redisProcess: ChildProcess | undefined;

async function startRedis(): Promise<void> {
  redisProcess = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitUntil(async () => {
    const probe = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }, 10_000, 'redis-server to start');
}

async function stopRedis(): Promise<void> {
  const child = redisProcess!;
  redisProcess = undefined;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

let world: ExchangeWorld;
let receiver: Receiver;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;

beforeAll(async () => {
  const probe = await startReceiver();
  redisPort = probe.port;
  await probe.close();
  await startRedis();
  world = await startExchangeWorld({ env: { REDIS_URL: `redis://127.0.0.1:${redisPort}`, WEBHOOK_ALLOW_LOOPBACK: 'true' } });
  receiver = await startReceiver();
  delivery = await startWebhookWorkers(world.system.services, { leaseMs: 2_000 });
}, 60_000);
afterAll(async () => {
  await delivery?.stop();
  await receiver?.close();
  await world?.stop();
  if (redisProcess) await stopRedis();
});

describe('Redis down while redemptions commit', () => {
  it('every committed redemption reaches the issuer once Redis is back, each under one webhook-id', { timeout: 90_000 }, async () => {
    const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['voucher.redeemed'] });
    const { reward } = await rewardWithCodes(world, codeList('OUTAGE-', 12));
    const customers = await customersWithStickers(world, 12, 10);
    const vouchers = [];
    for (const customerId of customers) {
      const res = await exchange(world, { customer: { customerId }, rewardId: reward.id });
      expect(res.status).toBe(200);
      vouchers.push(res.body);
    }
    const redeem = (code: string) =>
      request(world.system.baseUrl, 'POST', '/api/v1/redemptions', {
        key: world.partner.key,
        body: { code, orderRef: `o-${code}`, orderAmountMinor: 400_000, currency: 'RUB' },
        headers: { 'idempotency-key': randomUUID() },
      });

    // Redis up: delivered as usual.
    const before = await Promise.all(vouchers.slice(0, 4).map((voucher) => redeem(voucher.code)));
    expect(before.map((res) => res.status)).toEqual([200, 200, 200, 200]);
    await receiver.waitFor(4);

    // Redis down: redemptions still commit (PostgreSQL is the truth); nothing can be queued.
    await stopRedis();
    const during = await Promise.all(vouchers.slice(4).map((voucher) => redeem(voucher.code)));
    expect(during.map((res) => res.status)).toEqual(Array(8).fill(200));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(receiver.received).toHaveLength(4);
    const waiting = await coalitionDb(world.system.services.db).selectFrom('webhook_deliveries').select('status').where('endpoint_id', '=', endpoint.id).execute();
    expect(waiting.filter((row) => row.status === 'pending')).toHaveLength(8);

    // Redis back (empty: it keeps nothing on disk): the relay queues them again.
    await startRedis();
    await waitUntil(async () => new Set(receiver.received.map((r) => r.json.data.redemptionId)).size === 12, 45_000, 'all 12 redemptions delivered');

    const redemptionIds = [...before, ...during].map((res) => res.body.id).sort();
    const byRedemption = new Map<string, Set<string>>();
    for (const hook of receiver.received) {
      expect(() => new Webhook(endpoint.secret).verify(hook.body, hook.headers)).not.toThrow();
      const ids = byRedemption.get(hook.json.data.redemptionId) ?? new Set();
      ids.add(hook.headers['webhook-id']!);
      byRedemption.set(hook.json.data.redemptionId, ids);
    }
    expect([...byRedemption.keys()].sort()).toEqual(redemptionIds);
    // Delivered at least once; a redemption sent twice would carry the same webhook-id.
    for (const ids of byRedemption.values()) expect(ids.size).toBe(1);
    const sequences = receiver.received.map((r) => r.json.sequence);
    expect(new Set(sequences).size).toBe(12);
    await waitUntil(async () => {
      const rows = await coalitionDb(world.system.services.db).selectFrom('webhook_deliveries').select('status').where('endpoint_id', '=', endpoint.id).execute();
      return rows.length === 12 && rows.every((row) => row.status === 'succeeded');
    }, 10_000, 'deliveries marked succeeded');
  });
});
