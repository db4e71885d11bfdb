import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { pruneDeliveries } from '../server/src/webhooks/prune-deliveries.ts';
import { request } from './support/http-client.ts';
import { startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { createEndpoint, startReceiver, startWebhookWorkers, waitUntil, type Receiver } from './support/webhooks.ts';

// Retries on a controlled clock: the relay and the worker read the world's ManualClock,
// so a 5-minute wait is a clock.advance, and nothing happens before the clock says so.
let world: ExchangeWorld;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;

beforeAll(async () => {
  world = await startExchangeWorld({ env: { WEBHOOK_ALLOW_LOOPBACK: 'true', WEBHOOK_TIMEOUT_MS: '1000' } });
  delivery = await startWebhookWorkers(world.system.services);
});
afterAll(async () => {
  await delivery.stop();
  await world.stop();
});

const api = (method: string, path: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key: world.issuer.key, ...(body !== undefined && { body }) });

async function getDelivery(id: string) {
  const res = await api('GET', `/webhooks/deliveries/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

function waitForAttempts(id: string, attempts: number) {
  return waitUntil(async () => {
    const detail = await getDelivery(id);
    return detail.attempts >= attempts && detail.attemptLog.length >= attempts ? detail : null;
  }, 15_000, `${attempts} attempts of ${id}`);
}

/** Moves the clock to the delivery's next attempt time. */
async function advanceToNextAttempt(id: string) {
  const detail = await getDelivery(id);
  expect(detail.nextAttemptAt).not.toBeNull();
  world.clock.set(detail.nextAttemptAt);
}

function expectWaitNear(detail: any, attempt: number, expectedMs: number) {
  const log = detail.attemptLog.find((entry: any) => entry.attempt === attempt);
  const wait = new Date(log.nextAttemptAt).getTime() - new Date(log.startedAt).getTime();
  expect(wait).toBeGreaterThanOrEqual(expectedMs * 0.9);
  expect(wait).toBeLessThanOrEqual(expectedMs * 1.1);
}

async function sendTest(endpointId: string): Promise<string> {
  const res = await api('POST', `/webhooks/endpoints/${endpointId}/test`);
  expect(res.status).toBe(200);
  return res.body.deliveryId;
}

/** A port nothing listens on (yet): a receiver started and closed again. */
async function freePort(): Promise<number> {
  const probe = await startReceiver();
  await probe.close();
  return probe.port;
}

describe('retries on the published schedule', () => {
  it('connection refused, then 500, then 200: waits 5 s and 5 min (±10 %), the same webhook-id throughout', async () => {
    const port = await freePort();
    const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: `http://127.0.0.1:${port}/hooks`, eventTypes: ['webhook.test'] });
    const id = await sendTest(endpoint.id);

    let detail = await waitForAttempts(id, 1);
    expect(detail.status).toBe('pending');
    expect(detail.attemptLog[0]).toMatchObject({ attempt: 1, statusCode: null, error: 'connection refused' });
    expectWaitNear(detail, 1, 5_000);

    const receiver = await startReceiver(port);
    try {
      receiver.answer(() => ({ status: 500, body: 'database down' }));
      // Not before its time: the clock has not moved.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(receiver.received).toHaveLength(0);

      await advanceToNextAttempt(id);
      detail = await waitForAttempts(id, 2);
      expect(detail.attemptLog[1]).toMatchObject({ attempt: 2, statusCode: 500, error: null, responseBody: 'database down' });
      expectWaitNear(detail, 2, 5 * 60_000);
      const endpointNow = (await api('GET', `/webhooks/endpoints/${endpoint.id}`)).body;
      expect(endpointNow.failingSince).toBe(detail.attemptLog[0].startedAt);

      receiver.answer(() => ({ status: 204 }));
      await advanceToNextAttempt(id);
      detail = await waitForAttempts(id, 3);
      expect(detail).toMatchObject({ status: 'succeeded', attempts: 3, lastStatusCode: 204, nextAttemptAt: null });
      expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([id, id]);
      expect(receiver.received[0]!.body).toBe(receiver.received[1]!.body);
      expect((await api('GET', `/webhooks/endpoints/${endpoint.id}`)).body.failingSince).toBeNull();
    } finally {
      await receiver.close();
    }
  });

  it('honours Retry-After on 429 and 503, and times out a receiver that does not answer', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['webhook.test'] });
      receiver.answer(() => ({ status: 429, headers: { 'retry-after': '120' } }));
      const id = await sendTest(endpoint.id);
      let detail = await waitForAttempts(id, 1);
      const first = detail.attemptLog[0];
      expect(new Date(first.nextAttemptAt).getTime() - new Date(first.startedAt).getTime()).toBe(120_000);

      receiver.answer(() => ({ status: 503, headers: { 'retry-after': new Date(world.clock.now().getTime() + 3_600_000).toUTCString() } }));
      await advanceToNextAttempt(id);
      detail = await waitForAttempts(id, 2);
      const second = detail.attemptLog[1];
      expect(Math.abs(new Date(second.nextAttemptAt).getTime() - (new Date(second.startedAt).getTime() + 3_600_000))).toBeLessThan(1_000);

      receiver.answer(() => 'hang');
      await advanceToNextAttempt(id);
      detail = await waitForAttempts(id, 3);
      expect(detail.attemptLog[2]).toMatchObject({ statusCode: null, error: 'timed out after 1000 ms' });
      // The third failure waits the schedule's third step: 30 minutes.
      expectWaitNear(detail, 3, 30 * 60_000);
    } finally {
      await receiver.close();
    }
  });

  it('fails a delivery after the eighth attempt and records webhook.delivery_exhausted', async () => {
    const receiver = await startReceiver();
    try {
      receiver.answer(() => ({ status: 500 }));
      // Subscribed to its own kind of failure notice: it must still not be sent its own.
      const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['webhook.test', 'webhook.delivery_exhausted'] });
      const watcher = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url.replace('/hooks', '/ops'), eventTypes: ['webhook.delivery_exhausted'] });
      const id = await sendTest(endpoint.id);
      const waits = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 10 * 3_600_000];
      for (let attempt = 1; attempt <= 7; attempt++) {
        const detail = await waitForAttempts(id, attempt);
        expectWaitNear(detail, attempt, waits[attempt - 1]!);
        await advanceToNextAttempt(id);
      }
      const detail = await waitForAttempts(id, 8);
      expect(detail).toMatchObject({ status: 'failed', attempts: 8, nextAttemptAt: null });
      expect(detail.attemptLog[7].nextAttemptAt).toBeNull();
      // The tenant is told, on the endpoint that listens for it (and never on the failing one itself).
      // (Deliveries of earlier tests, still retrying as the clock moves, may be exhausted too: look for this one.)
      const exhausted = (r: (typeof receiver.received)[number]) => r.json?.type === 'webhook.delivery_exhausted' && r.json.data.deliveryId === id;
      const ops = await waitUntil(async () => receiver.received.find(exhausted));
      expect(ops.json.data).toMatchObject({ endpointId: endpoint.id, deliveryId: id, attempts: 8, lastStatusCode: 500 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(receiver.received.filter(exhausted)).toHaveLength(1);
      await api('POST', `/webhooks/endpoints/${watcher.id}/disable`);
      await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`);
    } finally {
      await receiver.close();
    }
  });
});

describe('what receivers answer, and notices about failures', () => {
  it('logs an answer holding NUL bytes (as U+FFFD) and counts the delivery as done', async () => {
    const receiver = await startReceiver();
    try {
      receiver.answer(() => ({ status: 200, body: 'ok\u0000\u0000binary' }));
      const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['webhook.test'] });
      const id = await sendTest(endpoint.id);
      const detail = await waitForAttempts(id, 1);
      expect(detail).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200 });
      expect(detail.attemptLog[0].responseBody).toBe('ok\uFFFD\uFFFDbinary');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(receiver.received).toHaveLength(1);
      await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`);
    } finally {
      await receiver.close();
    }
  });

  it('records an attempt that could not be made (a secret that does not open here) as a failure, retried on schedule', async () => {
    const receiver = await startReceiver();
    try {
      const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['webhook.test'] });
      // As if this process had another SECRET_KEY: the stored secret no longer opens.
      await coalitionDb(world.system.services.db).updateTable('webhook_endpoints').set({ secret_cipher: Buffer.alloc(60, 1) }).where('id', '=', endpoint.id).execute();
      const id = await sendTest(endpoint.id);
      const detail = await waitForAttempts(id, 1);
      expect(detail).toMatchObject({ status: 'pending', attempts: 1, lastError: 'internal error before sending (see the server log)' });
      expectWaitNear(detail, 1, 5_000);
      expect(receiver.received).toHaveLength(0);
      expect(world.system.logLines.some((line) => line.includes('webhook attempt could not be made') && line.includes(id))).toBe(true);
      await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`);
    } finally {
      await receiver.close();
    }
  });

  it('two failing endpoints listening for delivery_exhausted do not keep notifying each other', async () => {
    const receiver = await startReceiver();
    try {
      receiver.answer(() => ({ status: 500 }));
      const body = { url: receiver.url, eventTypes: ['webhook.test', 'webhook.delivery_exhausted'] };
      const first = await createEndpoint(world.system.baseUrl, world.issuer.key, body);
      const second = await createEndpoint(world.system.baseUrl, world.issuer.key, body);
      const ids = [first.id, second.id];
      await sendTest(first.id);
      const db = coalitionDb(world.system.services.db);
      // Drive the clock from one recorded attempt to the next until nothing of the two endpoints is pending.
      for (let step = 0; step < 40; step++) {
        await waitUntil(async () => {
          const undispatched = await world.issuerDb().selectFrom('outbox_events').select('id').where('dispatched_at', 'is', null).execute();
          const inFlight = await db.selectFrom('webhook_deliveries').select('id').where('endpoint_id', 'in', ids).where('status', '=', 'pending').where('next_attempt_at', '<=', world.clock.now()).execute();
          return undispatched.length === 0 && inFlight.length === 0;
        });
        const next = await db.selectFrom('webhook_deliveries').select('next_attempt_at').where('endpoint_id', 'in', ids).where('status', '=', 'pending').orderBy('next_attempt_at').executeTakeFirst();
        if (!next) break;
        world.clock.set(next.next_attempt_at!);
      }
      const rows = await db.selectFrom('webhook_deliveries').select(['endpoint_id', 'event_type', 'status', 'attempt_count', 'body']).where('endpoint_id', 'in', ids).orderBy('created_at').execute();
      // (Notices about earlier tests' endpoints, still failing as the clock runs, reach these two as well: leave them out.)
      const deliveries = rows
        .filter((row) => row.event_type === 'webhook.test' || ids.includes(JSON.parse(row.body).data.endpointId))
        .map(({ body: _body, ...row }) => row);
      // The test event to the first, exhausted; its notice to the second (not to the first), exhausted too; nothing after.
      expect(deliveries).toEqual([
        { endpoint_id: first.id, event_type: 'webhook.test', status: 'failed', attempt_count: 8 },
        { endpoint_id: second.id, event_type: 'webhook.delivery_exhausted', status: 'failed', attempt_count: 8 },
      ]);
      for (const id of ids) await api('POST', `/webhooks/endpoints/${id}/disable`);
    } finally {
      await receiver.close();
    }
  });
});

describe('disabling endpoints, and replay', () => {
  it('410 Gone disables the endpoint; after enabling, a replay re-sends the same id and body', async () => {
    const receiver = await startReceiver();
    try {
      receiver.answer(() => ({ status: 410, body: 'no such hook' }));
      const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: receiver.url, eventTypes: ['webhook.test'] });
      const id = await sendTest(endpoint.id);
      const detail = await waitForAttempts(id, 1);
      expect(detail).toMatchObject({ status: 'failed', lastStatusCode: 410 });
      const disabled = (await api('GET', `/webhooks/endpoints/${endpoint.id}`)).body;
      expect(disabled).toMatchObject({ status: 'disabled', disabled: { reason: 'gone' } });
      const audit = await world.issuerDb().selectFrom('audit_events').selectAll().where('action', '=', 'webhook_endpoint.disabled').where('subject_id', '=', endpoint.id).execute();
      expect(audit).toHaveLength(1);
      const told = await world.issuerDb().selectFrom('outbox_events').select('payload').where('event_type', '=', 'webhook.endpoint_disabled').execute();
      expect(told.map((row) => row.payload)).toContainEqual(expect.objectContaining({ endpointId: endpoint.id, reason: 'gone' }));

      // Replaying to a disabled endpoint is refused with a reason.
      const refused = await api('POST', `/webhooks/deliveries/${id}/replay`);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('WEBHOOK_ENDPOINT_DISABLED');

      receiver.answer(() => ({ status: 200 }));
      expect((await api('POST', `/webhooks/endpoints/${endpoint.id}/enable`)).body.status).toBe('enabled');
      const replayed = await api('POST', `/webhooks/deliveries/${id}/replay`);
      expect(replayed.status).toBe(200);
      expect(replayed.body.status).toBe('pending');
      await waitForAttempts(id, 2);
      const [first, second] = await receiver.waitFor(2);
      expect(second!.headers['webhook-id']).toBe(id);
      expect(second!.body).toBe(first!.body);
      expect(() => new Webhook(endpoint.secret).verify(second!.body, second!.headers)).not.toThrow();
      expect((await getDelivery(id)).status).toBe('succeeded');
    } finally {
      await receiver.close();
    }
  });

  it('an endpoint failing continuously for five days is disabled, its pending deliveries kept as failed and replayed since a time', async () => {
    const port = await freePort();
    const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: `http://127.0.0.1:${port}/hooks`, eventTypes: ['webhook.test'] });
    const since = world.clock.now().toISOString();
    const first = await sendTest(endpoint.id);
    const started = new Date((await waitForAttempts(first, 1)).attemptLog[0].startedAt).getTime();

    // Failing for a minute less than five days: still enabled, retried on schedule.
    world.clock.set(new Date(started + 5 * 24 * 3_600_000 - 60_000));
    await waitForAttempts(first, 2);
    expect((await api('GET', `/webhooks/endpoints/${endpoint.id}`)).body).toMatchObject({ status: 'enabled', failingSince: new Date(started).toISOString() });
    const other = await sendTest(endpoint.id);
    await waitForAttempts(other, 1);

    // The next failure is past five days: the endpoint is disabled and its pending deliveries end.
    await advanceToNextAttempt(first);
    const ended = await waitForAttempts(first, 3);
    expect(ended).toMatchObject({ status: 'failed', nextAttemptAt: null });
    expect(ended.attemptLog[2].nextAttemptAt).toBeNull();
    expect((await api('GET', `/webhooks/endpoints/${endpoint.id}`)).body).toMatchObject({ status: 'disabled', disabled: { reason: 'failing' } });
    // Failed at once, or (if its own retry was under way at that moment) by that attempt.
    await waitUntil(async () => (await getDelivery(other)).status === 'failed');
    expect(await getDelivery(other)).toMatchObject({ status: 'failed', nextAttemptAt: null });
    const told = await world.issuerDb().selectFrom('outbox_events').select('payload').where('event_type', '=', 'webhook.endpoint_disabled').execute();
    expect(told.map((row) => row.payload)).toContainEqual(expect.objectContaining({ endpointId: endpoint.id, reason: 'failing', failingSince: new Date(started).toISOString() }));

    const receiver = await startReceiver(port);
    try {
      await api('POST', `/webhooks/endpoints/${endpoint.id}/enable`);
      const replay = await api('POST', '/webhooks/deliveries/replay-failed', { since, endpointId: endpoint.id });
      expect(replay.status).toBe(200);
      expect(replay.body.replayed).toBe(2);
      const got = await receiver.waitFor(2);
      expect(got.map((r) => r.headers['webhook-id']).sort()).toEqual([first, other].sort());
    } finally {
      await receiver.close();
    }
  });
});

describe('retention', () => {
  it('prunes finished deliveries and relayed outbox rows after 30 days, never a pending delivery', async () => {
    const db = coalitionDb(world.system.services.db);
    const port = await freePort();
    const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: `http://127.0.0.1:${port}/hooks`, eventTypes: ['webhook.test'] });
    const pending = await sendTest(endpoint.id);
    await waitForAttempts(pending, 1);
    // Hold the delivery side still, so the snapshot below is what pruning sees.
    await delivery.stop();
    try {
      const before = await db.selectFrom('webhook_deliveries').select(['id', 'status']).execute();
      const finished = before.filter((row) => row.status !== 'pending');
      const stillPending = before.filter((row) => row.status === 'pending');
      expect(finished.length).toBeGreaterThan(0);
      expect(stillPending.map((row) => row.id)).toContain(pending);
      const relayed = await world.issuerDb().selectFrom('outbox_events').select('id').where('dispatched_at', 'is not', null).execute();
      expect(relayed.length).toBeGreaterThan(0);

      expect(await pruneDeliveries(world.system.services.db, world.clock.now())).toEqual({ deliveries: 0, outboxEvents: 0 });
      world.clock.advanceDays(31);
      const pruned = await pruneDeliveries(world.system.services.db, world.clock.now());
      expect(pruned.deliveries).toBe(finished.length);
      expect(pruned.outboxEvents).toBeGreaterThanOrEqual(relayed.length);
      const left = await db.selectFrom('webhook_deliveries').select(['id', 'status']).orderBy('id').execute();
      expect(left).toEqual([...stillPending].sort((a, b) => (a.id < b.id ? -1 : 1)));
      const attempts = await db.selectFrom('webhook_attempts').select('delivery_id').execute();
      expect(new Set(attempts.map((row) => row.delivery_id))).toEqual(new Set(stillPending.map((row) => row.id)));
    } finally {
      delivery = await startWebhookWorkers(world.system.services);
    }
  });
});
