import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import type { TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createEndpoint, startReceiver, startWebhookWorkers, waitUntil, type Receiver } from './support/webhooks.ts';

// The operator's defaults: neither loopback nor private receivers allowed. A real receiver
// listens on 127.0.0.1 all the same, to prove nothing reaches it.
let world: ExchangeWorld;
let receiver: Receiver;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;

beforeAll(async () => {
  world = await startExchangeWorld({ env: { WEBHOOK_TIMEOUT_MS: '2000' } });
  receiver = await startReceiver();
  delivery = await startWebhookWorkers(world.system.services);
});
afterAll(async () => {
  await delivery?.stop();
  await receiver?.close();
  await world?.stop();
});

const api = (method: string, path: string, key: string, body?: unknown) => request(world.system.baseUrl, method, `/api/v1${path}`, { key, ...(body !== undefined && { body }) });
const coalition = () => coalitionDb(world.system.services.db);

async function endpointRows() {
  return coalition().selectFrom('webhook_endpoints').selectAll().orderBy('id').execute();
}

async function expectRefusedEverywhere(urls: string[], message: RegExp) {
  const before = await endpointRows();
  const existing = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: 'https://hooks.example.com/stays', eventTypes: ['webhook.test'] });
  const existingRow = await coalition().selectFrom('webhook_endpoints').selectAll().where('id', '=', existing.id).executeTakeFirstOrThrow();
  for (const url of urls) {
    for (const who of [world.issuer, world.partner] as TenantWithKey[]) {
      const res = await api('POST', '/webhooks/endpoints', who.key, { url, eventTypes: ['webhook.test'] });
      expect(res.status, `${url}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.details.issues).toEqual([expect.objectContaining({ path: 'url', message: expect.stringMatching(message) })]);
    }
    const updated = await api('PATCH', `/webhooks/endpoints/${existing.id}`, world.issuer.key, { url });
    expect(updated.status, `${url}: ${JSON.stringify(updated.body)}`).toBe(400);
    expect(updated.body.details.issues[0].path).toBe('url');
  }
  const after = await endpointRows();
  expect(after.filter((row) => row.id !== existing.id)).toEqual(before);
  expect(after.find((row) => row.id === existing.id)).toEqual(existingRow);
  await api('POST', `/webhooks/endpoints/${existing.id}/disable`, world.issuer.key);
}

describe('registration, with loopback not allowed (the default)', () => {
  it('refuses http://127.0.0.1:<port> and every other spelling of a loopback address with VALIDATION_FAILED on url', async () => {
    const port = receiver.port;
    await expectRefusedEverywhere(
      [
        `http://127.0.0.1:${port}/hooks`,
        `https://127.0.0.1:${port}/hooks`,
        `http://127.1:${port}/hooks`,
        `http://2130706433:${port}/hooks`,
        `http://0x7f.0.0.1:${port}/hooks`,
        `https://127.8.9.10/hooks`,
        `http://[::1]:${port}/hooks`,
        `https://[::ffff:127.0.0.1]/hooks`,
        `https://[::ffff:7f00:1]/hooks`,
        `https://[64:ff9b::7f00:1]/hooks`,
      ],
      /loopback address/,
    );
    // 0.0.0.0 reaches this machine on Linux: refused too, as reserved.
    await expectRefusedEverywhere([`http://0.0.0.0:${port}/hooks`, `https://0/hooks`], /reserved address/);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a host named localhost (or a name under .localhost) at registration', async () => {
    await expectRefusedEverywhere(
      [`http://localhost:${receiver.port}/hooks`, 'https://localhost/hooks', 'https://LOCALHOST:8443/hooks', 'https://api.localhost/hooks', 'https://a.b.localhost/hooks'],
      /loopback address/,
    );
  });

  // "localhost." is the same name as "localhost" written fully qualified; it is not an IP
  // literal, and it does not end with ".localhost", so the registration check lets it through.
  it('refuses localhost written fully qualified, with a trailing dot', async () => {
    await expectRefusedEverywhere(['https://localhost./hooks', `https://localhost.:${receiver.port}/hooks`, 'https://api.localhost./hooks'], /loopback address/);
  });

  it('still accepts https to a public host name', async () => {
    const res = await api('POST', '/webhooks/endpoints', world.partner.key, { url: 'https://hooks.example.com/coalition', eventTypes: ['webhook.test'] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ url: 'https://hooks.example.com/coalition', status: 'enabled' });
    await api('POST', `/webhooks/endpoints/${res.body.id}/disable`, world.partner.key);
  });
});

describe('delivery, with loopback not allowed', () => {
  it('an endpoint stored with a loopback URL (registered while the operator allowed it) is refused at every attempt: the receiver gets nothing', async () => {
    const port = receiver.port;
    const targets = [`http://localhost:${port}/hooks`, `http://127.0.0.1:${port}/hooks`, `http://[::ffff:127.0.0.1]:${port}/hooks`];
    const deliveries: string[] = [];
    for (const url of targets) {
      const endpoint = await createEndpoint(world.system.baseUrl, world.issuer.key, { url: 'https://hooks.example.com/later-moved', eventTypes: ['webhook.test'] });
      // As if registered under WEBHOOK_ALLOW_LOOPBACK=true and the operator has since turned it off.
      await coalition().updateTable('webhook_endpoints').set({ url }).where('id', '=', endpoint.id).execute();
      const sent = await api('POST', `/webhooks/endpoints/${endpoint.id}/test`, world.issuer.key);
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      deliveries.push(sent.body.deliveryId);
    }
    for (const [index, id] of deliveries.entries()) {
      const detail = await waitUntil(
        async () => {
          const res = await api('GET', `/webhooks/deliveries/${id}`, world.issuer.key);
          // Both: the row and the attempt log are read by two queries, so one may run ahead of the other.
          return res.body.attempts >= 1 && res.body.attemptLog?.length >= 1 ? res.body : null;
        },
        15_000,
        `the attempt of ${targets[index]}`,
      );
      expect(detail.attemptLog[0]).toMatchObject({ attempt: 1, statusCode: null, responseBody: null });
      expect(detail.attemptLog[0].error, targets[index]).toMatch(/^blocked: .*loopback address, which webhooks may not reach$/);
      // A refused address is a failed attempt like any other: retried on the schedule.
      expect(detail).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
    }
    expect((await api('GET', `/webhooks/deliveries/${deliveries[0]}`, world.issuer.key)).body.attemptLog[0].error).toMatch(/^blocked: localhost resolves to /);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.received).toHaveLength(0);
  });
});
