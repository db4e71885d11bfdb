import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb, tenantDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import type { TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createEndpoint, startReceiver, startWebhookWorkers, waitUntil, type Receiver } from './support/webhooks.ts';

// Two tenants — the world's issuer (A) and partner (B) — each with endpoints and deliveries
// in every state. Neither may see or touch the other's, through any webhook route.
let world: ExchangeWorld;
let receiver: Receiver;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;

interface Side {
  who: TenantWithKey;
  tenantId: string;
  /** Enabled, its deliveries succeeded. */
  ok: string;
  /** Answered 410 (so auto-disabled), then enabled again by its owner: its delivery is failed, replayable. */
  flaky: string;
  /** Disabled by its owner. */
  off: string;
  succeeded: string[];
  failed: string;
}
let A: Side;
let B: Side;
/** Before every delivery of this file. */
let since: string;

const api = (method: string, path: string, key: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }) });
const coalition = () => coalitionDb(world.system.services.db);
const auditDb = (side: Side) => tenantDb(world.system.services.db, tenantSchemaName(side.who.tenant.slug));

const gone = new Set<string>();

async function deliveryStatus(id: string) {
  return (await coalition().selectFrom('webhook_deliveries').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
}

async function sendTest(side: TenantWithKey, endpointId: string): Promise<string> {
  const res = await api('POST', `/webhooks/endpoints/${endpointId}/test`, side.key);
  if (res.status !== 200) throw new Error(`test not sent: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.deliveryId;
}

async function setUp(who: TenantWithKey): Promise<Side> {
  const tenantId = (await coalition().selectFrom('tenants').select('id').where('slug', '=', who.tenant.slug).executeTakeFirstOrThrow()).id;
  const ok = await createEndpoint(world.system.baseUrl, who.key, { url: receiver.url, eventTypes: ['webhook.test'], description: `${who.tenant.slug} ok` });
  const flaky = await createEndpoint(world.system.baseUrl, who.key, { url: receiver.url.replace('/hooks', '/flaky'), eventTypes: ['webhook.test'] });
  const off = await createEndpoint(world.system.baseUrl, who.key, { url: receiver.url.replace('/hooks', '/off'), eventTypes: ['webhook.test'] });
  gone.add(flaky.id);
  const succeeded = [await sendTest(who, ok.id), await sendTest(who, ok.id)];
  const failed = await sendTest(who, flaky.id);
  expect((await api('POST', `/webhooks/endpoints/${off.id}/disable`, who.key)).status).toBe(200);
  return { who, tenantId, ok: ok.id, flaky: flaky.id, off: off.id, succeeded, failed };
}

/** Everything of one tenant that another tenant's calls could change. */
async function snapshot(side: Side) {
  return {
    endpoints: await coalition().selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', side.tenantId).orderBy('id').execute(),
    deliveries: await coalition().selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', side.tenantId).orderBy('id').execute(),
    audit: await auditDb(side).selectFrom('audit_events').selectAll().orderBy('id').execute(),
  };
}

beforeAll(async () => {
  world = await startExchangeWorld({ env: { WEBHOOK_ALLOW_LOOPBACK: 'true', WEBHOOK_TIMEOUT_MS: '2000' } });
  receiver = await startReceiver();
  receiver.answer((hook) => (gone.has(hook.json?.data?.endpointId) ? { status: 410, body: 'gone' } : { status: 200, body: 'ok' }));
  delivery = await startWebhookWorkers(world.system.services);
  since = new Date(world.clock.now().getTime() - 1_000).toISOString();
  A = await setUp(world.issuer);
  B = await setUp(world.partner);
  for (const side of [A, B]) {
    for (const id of side.succeeded) await waitUntil(async () => (await deliveryStatus(id)) === 'succeeded', 15_000, `${id} delivered`);
    await waitUntil(async () => (await deliveryStatus(side.failed)) === 'failed', 15_000, `${side.failed} failed`);
    // 410 disabled it; its owner turns it back on, so its failed delivery can be replayed.
    await waitUntil(async () => (await coalition().selectFrom('webhook_endpoints').select('status').where('id', '=', side.flaky).executeTakeFirstOrThrow()).status === 'disabled');
    expect((await api('POST', `/webhooks/endpoints/${side.flaky}/enable`, side.who.key)).body.status).toBe('enabled');
  }
  gone.clear();
});
afterAll(async () => {
  await delivery?.stop();
  await receiver?.close();
  await world?.stop();
});

const pairs = () =>
  [
    ['A', A, B],
    ['B', B, A],
  ] as const;

describe("one tenant's webhook endpoints are invisible to another", () => {
  it('get, update, disable, enable, rotate and test on the other tenant\'s endpoints answer WEBHOOK_ENDPOINT_NOT_FOUND, changing nothing on either side', async () => {
    for (const [name, me, other] of pairs()) {
      const mine = await snapshot(me);
      const theirs = await snapshot(other);
      for (const endpointId of [other.ok, other.flaky, other.off]) {
        for (const [method, path, body] of [
          ['GET', `/webhooks/endpoints/${endpointId}`],
          ['PATCH', `/webhooks/endpoints/${endpointId}`, { url: 'https://attacker.example/steal' }],
          ['PATCH', `/webhooks/endpoints/${endpointId}`, { description: 'mine now', eventTypes: null }],
          ['POST', `/webhooks/endpoints/${endpointId}/disable`],
          ['POST', `/webhooks/endpoints/${endpointId}/enable`],
          ['POST', `/webhooks/endpoints/${endpointId}/rotate-secret`],
          ['POST', `/webhooks/endpoints/${endpointId}/test`],
          ['POST', '/webhooks/deliveries/replay-failed', { since, endpointId }],
        ] as const) {
          const res = await api(method, path, me.who.key, body);
          expect(res.status, `${name}: ${method} ${path} → ${JSON.stringify(res.body)}`).toBe(404);
          expect(res.body.code).toBe('WEBHOOK_ENDPOINT_NOT_FOUND');
          expect(res.body).not.toHaveProperty('secret');
          expect(JSON.stringify(res.body)).not.toContain(receiver.url);
        }
      }
      expect(await snapshot(other)).toEqual(theirs);
      expect(await snapshot(me)).toEqual(mine);
    }
  });

  it('listing endpoints shows only the caller\'s own', async () => {
    for (const [, me, other] of pairs()) {
      const res = await api('GET', '/webhooks/endpoints', me.who.key);
      expect(res.status).toBe(200);
      const ids = res.body.endpoints.map((endpoint: { id: string }) => endpoint.id);
      expect(new Set(ids)).toEqual(new Set([me.ok, me.flaky, me.off]));
      for (const id of [other.ok, other.flaky, other.off]) expect(ids).not.toContain(id);
    }
  });
});

describe("one tenant's webhook deliveries are invisible to another", () => {
  it('get and replay of the other tenant\'s deliveries answer WEBHOOK_DELIVERY_NOT_FOUND, changing nothing', async () => {
    for (const [name, me, other] of pairs()) {
      const theirs = await snapshot(other);
      const mine = await snapshot(me);
      for (const deliveryId of [...other.succeeded, other.failed]) {
        for (const [method, path] of [
          ['GET', `/webhooks/deliveries/${deliveryId}`],
          ['POST', `/webhooks/deliveries/${deliveryId}/replay`],
        ] as const) {
          const res = await api(method, path, me.who.key);
          expect(res.status, `${name}: ${method} ${path} → ${JSON.stringify(res.body)}`).toBe(404);
          expect(res.body).toMatchObject({ code: 'WEBHOOK_DELIVERY_NOT_FOUND', details: { deliveryId } });
          expect(JSON.stringify(res.body)).not.toContain(other.ok);
        }
      }
      expect(await snapshot(other)).toEqual(theirs);
      expect(await snapshot(me)).toEqual(mine);
    }
  });

  it('listing deliveries shows only the caller\'s own, whatever the filter; the other\'s delivery id is no cursor', async () => {
    for (const [, me, other] of pairs()) {
      const all = await api('GET', '/webhooks/deliveries', me.who.key);
      expect(all.status).toBe(200);
      expect(new Set(all.body.deliveries.map((d: { id: string }) => d.id))).toEqual(new Set([...me.succeeded, me.failed]));
      for (const d of all.body.deliveries) expect([me.ok, me.flaky]).toContain(d.endpointId);

      const filtered = await api('GET', `/webhooks/deliveries?endpointId=${other.ok}`, me.who.key);
      expect(filtered.status).toBe(200);
      expect(filtered.body).toEqual({ deliveries: [], nextCursor: null });
      const failed = await api('GET', '/webhooks/deliveries?status=failed', me.who.key);
      expect(failed.body.deliveries.map((d: { id: string }) => d.id)).toEqual([me.failed]);

      const cursor = await api('GET', `/webhooks/deliveries?cursor=${other.succeeded[0]}`, me.who.key);
      expect(cursor.status).toBe(400);
      expect(cursor.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'cursor' }] } });
    }
  });

  it('replay-failed by A replays A\'s failed deliveries only: B\'s stay failed and untouched in coalition.webhook_deliveries', async () => {
    // Precondition: B's failed delivery is replayable (failed, enabled endpoint, after `since`).
    const bEndpoint = await coalition().selectFrom('webhook_endpoints').select('status').where('id', '=', B.flaky).executeTakeFirstOrThrow();
    expect(bEndpoint.status).toBe('enabled');
    const bFailedBefore = await coalition().selectFrom('webhook_deliveries').selectAll().where('id', '=', B.failed).executeTakeFirstOrThrow();
    expect(bFailedBefore).toMatchObject({ status: 'failed', next_attempt_at: null });
    expect(bFailedBefore.created_at.getTime()).toBeGreaterThanOrEqual(new Date(since).getTime());
    const theirs = await snapshot(B);
    const receivedBefore = receiver.received.length;

    const replay = await api('POST', '/webhooks/deliveries/replay-failed', A.who.key, { since });
    expect(replay.status, JSON.stringify(replay.body)).toBe(200);
    expect(replay.body).toEqual({ replayed: 1 });

    // A's own failed delivery goes out again, same id.
    await waitUntil(async () => (await deliveryStatus(A.failed)) === 'succeeded', 15_000, "A's replayed delivery");
    const again = await waitUntil(async () => receiver.received.slice(receivedBefore).find((r) => r.headers['webhook-id'] === A.failed));
    expect(again.json.data.endpointId).toBe(A.flaky);
    const aAudit = await auditDb(A).selectFrom('audit_events').selectAll().where('action', '=', 'webhook_delivery.replayed_failed').execute();
    expect(aAudit).toHaveLength(1);
    expect(aAudit[0]!.details).toEqual({ since, replayed: 1 });

    // B: every row as it was, nothing sent for it, no audit entry in its schema.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await snapshot(B)).toEqual(theirs);
    const bRows = await coalition().selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', B.tenantId).execute();
    expect(bRows.find((row) => row.id === B.failed)).toEqual(bFailedBefore);
    expect(receiver.received.slice(receivedBefore).filter((r) => r.json?.tenant === B.who.tenant.slug)).toEqual([]);

    // And B's own replay does reach it: it was replayable all along.
    const own = await api('POST', '/webhooks/deliveries/replay-failed', B.who.key, { since });
    expect(own.body).toEqual({ replayed: 1 });
    await waitUntil(async () => (await deliveryStatus(B.failed)) === 'succeeded', 15_000, "B's replayed delivery");
  });
});
