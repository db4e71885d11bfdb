import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { request, type ApiResponse } from './support/http-client.ts';
import { codeList, customersWithStickers, exchange, rewardWithCodes, startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { startCoalition, type RunningProcess } from './support/process.ts';
import { createEndpoint, startReceiver, waitUntil, type Receiver } from './support/webhooks.ts';

/**
 * Invariants 1 and 4 across processes, as production runs them: several `coalition
 * serve` processes redeeming the same codes, and several `coalition worker` processes
 * (each with its own webhook relay) delivering the same outbox.
 */
let world: ExchangeWorld;
let receiver: Receiver;
const processes: RunningProcess[] = [];

beforeAll(async () => {
  // On the real time: the spawned processes read the system clock.
  world = await startExchangeWorld({ start: new Date().toISOString(), env: { DB_POOL_MAX: '24', WEBHOOK_ALLOW_LOOPBACK: 'true' } });
  receiver = await startReceiver();
}, 60_000);
afterAll(async () => {
  for (const child of processes) child.child.kill('SIGTERM');
  await Promise.all(processes.map((child) => child.exited));
  await receiver.close();
  await world.stop();
});

function start(command: 'serve' | 'worker'): RunningProcess {
  const child = startCoalition([command], { ...process.env, ...world.system.env, PORT: '0', LOG_LEVEL: 'info', DB_POOL_MAX: '12', WEBHOOK_ALLOW_LOOPBACK: 'true' });
  processes.push(child);
  return child;
}

async function issuedVouchers(prefix: string, count: number) {
  const { reward } = await rewardWithCodes(world, codeList(prefix, count));
  const customers = await customersWithStickers(world, count, 10);
  const vouchers = [];
  for (const customerId of customers) {
    const res = await exchange(world, { customer: { customerId }, rewardId: reward.id });
    expect(res.status).toBe(200);
    vouchers.push(res.body as { id: string; code: string });
  }
  return vouchers;
}

function redeemAt(baseUrl: string, code: string, orderRef: string): Promise<ApiResponse> {
  return request(baseUrl, 'POST', '/api/v1/redemptions', {
    key: world.partner.key,
    body: { code, orderRef, orderAmountMinor: 400_000, currency: 'RUB' },
    headers: { 'idempotency-key': randomUUID() },
  });
}

describe('scale-out', () => {
  it('two server processes redeeming the same codes at once: each code once', async () => {
    const servers = [start('serve'), start('serve')];
    const urls = await Promise.all(servers.map(async (server) => (await server.waitFor(/"url":"(http:\/\/[^"]+)"/))[1]!));
    const vouchers = await issuedVouchers('SCALE-', 15);
    // Every code sent 8 times at the same moment, alternating between the two processes.
    const attempts = vouchers.flatMap((voucher) => Array.from({ length: 8 }, (_, i) => ({ voucher, url: urls[i % 2]! })));
    const results = await Promise.all(attempts.map(({ voucher, url }, i) => redeemAt(url, voucher.code, `SCALE-ORDER-${i}`)));
    for (const voucher of vouchers) {
      const mine = results.filter((_, i) => attempts[i]!.voucher.id === voucher.id);
      expect(mine.map((res) => (res.status === 200 ? '200' : `${res.status} ${res.body.code}`)).sort()).toEqual(['200', ...Array(7).fill('409 ALREADY_REDEEMED')]);
    }
    const rows = await coalitionDb(world.system.services.db)
      .selectFrom('redemptions')
      .select(['voucher_id'])
      .where(
        'voucher_id',
        'in',
        vouchers.map((voucher) => voucher.id),
      )
      .execute();
    expect(rows.map((row) => row.voucher_id).sort()).toEqual(vouchers.map((voucher) => voucher.id).sort());
  }, 120_000);

  it('two worker processes, each with a relay, deliver every event once per endpoint with one sequence number each', async () => {
    // Registered now: the redemptions of the test above (their events not relayed, no worker ran) are from before it.
    world.clock.set(new Date());
    const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['voucher.redeemed'] });
    const workers = [start('worker'), start('worker')];
    await Promise.all(workers.map((worker) => worker.waitFor(/worker host started/)));
    const vouchers = await issuedVouchers('RELAY-', 40);
    const redeemed = await Promise.all(vouchers.map((voucher, i) => redeemAt(world.system.baseUrl, voucher.code, `RELAY-ORDER-${i}`)));
    expect(redeemed.every((res) => res.status === 200)).toBe(true);

    await waitUntil(async () => new Set(receiver.received.map((hook) => hook.json.data.redemptionId)).size === 40, 30_000, 'all 40 redemptions delivered');
    // Give a duplicate, if any relay made one, time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const hooks = receiver.received;
    for (const hook of hooks) expect(() => new Webhook(endpoint.secret).verify(hook.body, hook.headers)).not.toThrow();
    expect(hooks).toHaveLength(40);
    expect(new Set(hooks.map((hook) => hook.headers['webhook-id'])).size).toBe(40);
    expect(hooks.map((hook) => hook.json.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(new Set(hooks.map((hook) => hook.json.data.redemptionId))).toEqual(new Set(redeemed.map((res) => res.body.id)));
    const deliveries = await coalitionDb(world.system.services.db).selectFrom('webhook_deliveries').select(['status', 'attempt_count']).where('endpoint_id', '=', endpoint.id).execute();
    expect(deliveries).toHaveLength(40);
    expect(deliveries.every((row) => row.status === 'succeeded' && row.attempt_count === 1)).toBe(true);
  }, 120_000);
});
