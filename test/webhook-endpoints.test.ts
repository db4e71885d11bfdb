import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb, tenantDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { WebhookSecretBox } from '../server/src/webhooks/webhook-signing.ts';
import { startExchangeWorld, type ExchangeWorld } from './support/exchange.ts';
import { keyFor, tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createEndpoint, startReceiver, startWebhookWorkers, waitUntil, type Receiver } from './support/webhooks.ts';

// The endpoint management API through REST, on a server whose operator allows loopback
// receivers (development) but not private networks.
let world: ExchangeWorld;
let receiver: Receiver;
let delivery: Awaited<ReturnType<typeof startWebhookWorkers>>;
/** Every secret any answer showed, checked against list/get answers and the log at the end. */
const shownSecrets: string[] = [];

beforeAll(async () => {
  world = await startExchangeWorld({ env: { WEBHOOK_ALLOW_LOOPBACK: 'true', WEBHOOK_TIMEOUT_MS: '2000' } });
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
const auditDb = (who: TenantWithKey) => tenantDb(world.system.services.db, tenantSchemaName(who.tenant.slug));

async function create(who: TenantWithKey, body: Record<string, unknown>) {
  const endpoint = await createEndpoint(world.system.baseUrl, who.key, body);
  shownSecrets.push(endpoint.secret);
  return endpoint;
}

async function endpointRow(id: string) {
  return coalition().selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** The tenant's internal id (the API's tenant shape names it by slug only). */
async function tenantId(who: TenantWithKey): Promise<string> {
  return (await coalition().selectFrom('tenants').select('id').where('slug', '=', who.tenant.slug).executeTakeFirstOrThrow()).id;
}

async function endpointCount(who: TenantWithKey): Promise<number> {
  const { n } = await coalition().selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', await tenantId(who)).executeTakeFirstOrThrow();
  return Number(n);
}

async function auditEvents(who: TenantWithKey, subjectId?: string) {
  let query = auditDb(who).selectFrom('audit_events').selectAll().orderBy('id');
  if (subjectId) query = query.where('subject_id', '=', subjectId);
  return query.execute();
}

async function auditCount(who: TenantWithKey): Promise<number> {
  return (await auditEvents(who)).length;
}

function expectValidationOn(res: { status: number; body: any }, path: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.body.code).toBe('VALIDATION_FAILED');
  expect(res.body.details.issues.map((issue: { path: string }) => issue.path)).toContain(path);
}

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.code).toBe(code);
}

const BAD_URLS: Array<[string, RegExp]> = [
  ['ftp://files.example/hooks', /https/],
  ['http://hooks.example.com/coalition', /https/],
  ['https://user:pw@x.example/', /user name or password/],
  ['https://user@x.example/', /user name or password/],
  ['https://x.example/hooks#section', /fragment/],
  ['http://10.0.0.5/', /private/],
  ['https://10.0.0.5/', /private/],
  ['https://192.168.1.20/hooks', /private/],
  ['https://169.254.169.254/latest/meta-data/', /link-local/],
  ['http://169.254.169.254/', /link-local/],
  ['https://[::ffff:10.0.0.1]/', /private/],
  ['https://[::ffff:169.254.169.254]/', /link-local/],
  ['https://[fe80::1]/', /link-local/],
  ['https://[fd00::1]/', /private/],
  ['https://0.0.0.0/', /reserved/],
  ['https://224.0.0.1/', /reserved/],
  ['not-a-url', /absolute URL/],
  ['https://x.example/a b', /spaces/],
  ['https://x.example/a\u0000b', /control characters/],
  ['https://x.example/\ud800', /broken Unicode/],
  ['/relative/hooks', /absolute URL/],
  ['', /.+/],
];

describe('registering endpoints', () => {
  it('creates an endpoint for an issuer and for a partner tenant: the answer (only) carries the whsec_ secret, the audit log the creation', async () => {
    for (const who of [world.issuer, world.partner]) {
      const res = await api('POST', '/webhooks/endpoints', who.key, { url: receiver.url, description: 'Back office', eventTypes: ['webhook.test', 'voucher.redeemed'] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const created = res.body;
      shownSecrets.push(created.secret);
      expect(created).toEqual({
        id: expect.stringMatching(/^we_[0-9A-Za-z]{12}$/),
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
        url: receiver.url,
        description: 'Back office',
        eventTypes: ['webhook.test', 'voucher.redeemed'],
        status: 'enabled',
        disabled: null,
        failingSince: null,
        secretRotation: null,
        lastSequence: 0,
        createdAt: world.clock.now().toISOString(),
        updatedAt: world.clock.now().toISOString(),
      });

      const row = await endpointRow(created.id);
      expect(row).toMatchObject({ tenant_id: await tenantId(who), url: receiver.url, status: 'enabled', created_by: who.keyId, event_types: ['webhook.test', 'voucher.redeemed'] });
      // Stored sealed for this tenant and endpoint: it opens to the secret shown.
      expect(new WebhookSecretBox(world.system.services.secrets, row.tenant_id).open(row.secret_cipher, created.id)).toBe(created.secret);

      const audit = await auditEvents(who, created.id);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: who.keyId, action: 'webhook_endpoint.created', subject_type: 'webhook_endpoint' });
      expect(audit[0]!.details).toEqual({ url: receiver.url, eventTypes: ['webhook.test', 'voucher.redeemed'] });
      expect(JSON.stringify(audit[0]!.details)).not.toContain(created.secret.slice(6));

      const { secret: _secret, ...withoutSecret } = created;
      const got = await api('GET', `/webhooks/endpoints/${created.id}`, who.key);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(withoutSecret);
      const listed = await api('GET', '/webhooks/endpoints', who.key);
      expect(listed.status).toBe(200);
      expect(listed.body.endpoints).toContainEqual(withoutSecret);
      for (const endpoint of listed.body.endpoints) expect(endpoint).not.toHaveProperty('secret');
    }
  });

  it('accepts https to a public host, and plain http to loopback because this operator allows it; defaults: no description, every event type', async () => {
    const accepted = ['https://hooks.example.com/coalition?tenant=1', `http://127.0.0.1:${receiver.port}/hooks`, 'http://localhost:8080/hooks', 'http://[::1]:8080/hooks', 'https://[::1]/hooks'];
    for (const url of accepted) {
      const res = await api('POST', '/webhooks/endpoints', world.partner.key, { url });
      expect(res.status, `${url}: ${JSON.stringify(res.body)}`).toBe(200);
      shownSecrets.push(res.body.secret);
      expect(res.body).toMatchObject({ url, description: '', eventTypes: null, status: 'enabled' });
      await api('POST', `/webhooks/endpoints/${res.body.id}/disable`, world.partner.key);
    }
  });

  it('refuses bad URLs with 400 VALIDATION_FAILED naming url, on create and on update, changing nothing', async () => {
    const existing = await create(world.issuer, { url: 'https://hooks.example.com/keep', eventTypes: ['webhook.test'] });
    const before = await endpointRow(existing.id);
    const endpointsBefore = await endpointCount(world.issuer);
    const auditBefore = await auditCount(world.issuer);

    for (const [url, message] of BAD_URLS) {
      const created = await api('POST', '/webhooks/endpoints', world.issuer.key, { url, eventTypes: ['webhook.test'] });
      expectValidationOn(created, 'url');
      expect(created.body.details.issues.find((issue: { path: string }) => issue.path === 'url').message, url).toMatch(message);
      const updated = await api('PATCH', `/webhooks/endpoints/${existing.id}`, world.issuer.key, { url });
      expectValidationOn(updated, 'url');
    }

    expect(await endpointCount(world.issuer)).toBe(endpointsBefore);
    expect(await auditCount(world.issuer)).toBe(auditBefore);
    expect(await endpointRow(existing.id)).toEqual(before);
  });

  it('refuses unknown and repeated event types, an empty type list, unknown fields and control characters with VALIDATION_FAILED', async () => {
    const existing = await create(world.issuer, { url: 'https://hooks.example.com/types', eventTypes: ['webhook.test'] });
    const before = await endpointRow(existing.id);
    const endpointsBefore = await endpointCount(world.issuer);

    const unknown = await api('POST', '/webhooks/endpoints', world.issuer.key, { url: 'https://hooks.example.com/x', eventTypes: ['webhook.test', 'voucher.exploded'] });
    expectValidationOn(unknown, 'eventTypes.1');
    expect(unknown.body.details.issues[0].message).toMatch(/unknown event type "voucher.exploded"/);
    expectValidationOn(await api('PATCH', `/webhooks/endpoints/${existing.id}`, world.issuer.key, { eventTypes: ['voucher.exploded'] }), 'eventTypes.0');
    expectValidationOn(await api('POST', '/webhooks/endpoints', world.issuer.key, { url: 'https://hooks.example.com/x', eventTypes: ['webhook.test', 'webhook.test'] }), 'eventTypes');
    expectValidationOn(await api('POST', '/webhooks/endpoints', world.issuer.key, { url: 'https://hooks.example.com/x', eventTypes: [] }), 'eventTypes');
    expectValidationOn(await api('PATCH', `/webhooks/endpoints/${existing.id}`, world.issuer.key, { eventTypes: [] }), 'eventTypes');
    expectError(await api('POST', '/webhooks/endpoints', world.issuer.key, { url: 'https://hooks.example.com/x', secret: 'whsec_mine' }), 400, 'VALIDATION_FAILED');
    expectValidationOn(await api('POST', '/webhooks/endpoints', world.issuer.key, { url: 'https://hooks.example.com/x', description: 'bell\u0007' }), 'description');
    expectError(await api('POST', '/webhooks/endpoints', world.issuer.key, { description: 'no url' }), 400, 'VALIDATION_FAILED');

    expect(await endpointCount(world.issuer)).toBe(endpointsBefore);
    expect(await endpointRow(existing.id)).toEqual(before);
  });

  it('refuses an empty update with VALIDATION_FAILED and changes nothing', async () => {
    const existing = await create(world.issuer, { url: 'https://hooks.example.com/empty', eventTypes: ['webhook.test'] });
    const before = await endpointRow(existing.id);
    world.clock.advance(60_000);
    const res = await api('PATCH', `/webhooks/endpoints/${existing.id}`, world.issuer.key, {});
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.message).toMatch(/at least one of url, description, eventTypes/);
    expect(await endpointRow(existing.id)).toEqual(before);
    expect((await auditEvents(world.issuer, existing.id)).map((event) => event.action)).toEqual(['webhook_endpoint.created']);
  });

  it('updates url, description and event types (null = every type), each change audited', async () => {
    const endpoint = await create(world.partner, { url: 'https://hooks.example.com/v1', description: 'first', eventTypes: ['webhook.test'] });
    world.clock.advance(60_000);
    const res = await api('PATCH', `/webhooks/endpoints/${endpoint.id}`, world.partner.key, { url: 'https://hooks.example.com/v2', description: 'second', eventTypes: ['pool.low', 'pool.empty'] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: endpoint.id, url: 'https://hooks.example.com/v2', description: 'second', eventTypes: ['pool.low', 'pool.empty'], status: 'enabled' });
    expect(res.body.updatedAt).toBe(world.clock.now().toISOString());
    expect(res.body.createdAt).toBe(endpoint.createdAt);
    expect(res.body).not.toHaveProperty('secret');
    expect(await endpointRow(endpoint.id)).toMatchObject({ url: 'https://hooks.example.com/v2', description: 'second', event_types: ['pool.low', 'pool.empty'] });

    const everything = await api('PATCH', `/webhooks/endpoints/${endpoint.id}`, world.partner.key, { eventTypes: null });
    expect(everything.status).toBe(200);
    expect(everything.body).toMatchObject({ url: 'https://hooks.example.com/v2', description: 'second', eventTypes: null });
    expect((await endpointRow(endpoint.id)).event_types).toBeNull();

    const audit = await auditEvents(world.partner, endpoint.id);
    expect(audit.map((event) => event.action)).toEqual(['webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.updated']);
    expect(audit[1]).toMatchObject({ actor: world.partner.keyId, details: { url: 'https://hooks.example.com/v2', description: 'second', eventTypes: ['pool.low', 'pool.empty'] } });
    expect(audit[2]!.details).toEqual({ eventTypes: null });
    await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, world.partner.key);
  });
});

describe('disable, enable, rotate the secret, send a test', () => {
  it('a disabled endpoint refuses a test with WEBHOOK_ENDPOINT_DISABLED; enabling resumes; each change audited once', async () => {
    const endpoint = await create(world.issuer, { url: receiver.url, eventTypes: ['webhook.test'] });
    world.clock.advance(1_000);
    const disabled = await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, world.issuer.key);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ status: 'disabled', disabled: { reason: 'manual', at: world.clock.now().toISOString() } });
    expect(await endpointRow(endpoint.id)).toMatchObject({ status: 'disabled', disabled_reason: 'manual' });
    // Disabling again changes nothing and records nothing.
    const again = await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, world.issuer.key);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(disabled.body);

    const refused = await api('POST', `/webhooks/endpoints/${endpoint.id}/test`, world.issuer.key);
    expectError(refused, 409, 'WEBHOOK_ENDPOINT_DISABLED');
    expect(refused.body.details).toEqual({ endpointId: endpoint.id, reason: 'manual' });
    const deliveries = await coalition().selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute();
    expect(deliveries).toHaveLength(0);

    const enabled = await api('POST', `/webhooks/endpoints/${endpoint.id}/enable`, world.issuer.key);
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ status: 'enabled', disabled: null, failingSince: null });
    expect((await api('POST', `/webhooks/endpoints/${endpoint.id}/enable`, world.issuer.key)).status).toBe(200);

    const sent = await api('POST', `/webhooks/endpoints/${endpoint.id}/test`, world.issuer.key);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body.deliveryId).toMatch(/^msg_[0-9A-Za-z]{20}$/);
    const hook = await waitUntil(async () => receiver.received.find((r) => r.headers['webhook-id'] === sent.body.deliveryId), 15_000, 'the test webhook');
    expect(hook.json).toMatchObject({ type: 'webhook.test', data: { endpointId: endpoint.id } });

    const audit = await auditEvents(world.issuer, endpoint.id);
    expect(audit.map((event) => [event.action, event.actor])).toEqual([
      ['webhook_endpoint.created', world.issuer.keyId],
      ['webhook_endpoint.disabled', world.issuer.keyId],
      ['webhook_endpoint.enabled', world.issuer.keyId],
      ['webhook_endpoint.test_sent', world.issuer.keyId],
    ]);
    expect(audit[1]!.details).toEqual({ reason: 'manual' });
    expect(audit[2]!.details).toEqual({ previousReason: 'manual' });
    expect(audit[3]!.details).toEqual({ deliveryId: sent.body.deliveryId });
    await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, world.issuer.key);
  });

  it('rotation shows a new secret once, keeps the previous one signing for 24 hours, and is audited', async () => {
    const endpoint = await create(world.partner, { url: receiver.url, eventTypes: ['webhook.test'] });
    const before = await endpointRow(endpoint.id);
    const rotated = await api('POST', `/webhooks/endpoints/${endpoint.id}/rotate-secret`, world.partner.key);
    expect(rotated.status).toBe(200);
    shownSecrets.push(rotated.body.secret);
    expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    expect(rotated.body.secretRotation).toEqual({ previousValidUntil: new Date(world.clock.now().getTime() + 24 * 3_600_000).toISOString() });

    const row = await endpointRow(endpoint.id);
    const box = new WebhookSecretBox(world.system.services.secrets, await tenantId(world.partner));
    expect(box.open(row.secret_cipher, endpoint.id)).toBe(rotated.body.secret);
    expect(row.previous_secret_cipher!.equals(before.secret_cipher)).toBe(true);
    expect(box.open(row.previous_secret_cipher!, endpoint.id)).toBe(endpoint.secret);

    const got = await api('GET', `/webhooks/endpoints/${endpoint.id}`, world.partner.key);
    expect(got.body).not.toHaveProperty('secret');
    expect(got.body.secretRotation).toEqual(rotated.body.secretRotation);

    const audit = await auditEvents(world.partner, endpoint.id);
    expect(audit.map((event) => event.action)).toEqual(['webhook_endpoint.created', 'webhook_endpoint.secret_rotated']);
    expect(audit[1]).toMatchObject({ actor: world.partner.keyId, details: { previousValidUntil: rotated.body.secretRotation.previousValidUntil } });
    expect(JSON.stringify(audit.map((event) => event.details))).not.toContain(rotated.body.secret.slice(6));
    await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, world.partner.key);
  });

  it('an unknown endpoint id is WEBHOOK_ENDPOINT_NOT_FOUND for every operation; a malformed one VALIDATION_FAILED', async () => {
    const unknown = 'we_000000000000';
    const auditBefore = await auditCount(world.issuer);
    for (const [method, path, body] of [
      ['GET', `/webhooks/endpoints/${unknown}`],
      ['PATCH', `/webhooks/endpoints/${unknown}`, { description: 'x' }],
      ['POST', `/webhooks/endpoints/${unknown}/disable`],
      ['POST', `/webhooks/endpoints/${unknown}/enable`],
      ['POST', `/webhooks/endpoints/${unknown}/rotate-secret`],
      ['POST', `/webhooks/endpoints/${unknown}/test`],
      ['POST', '/webhooks/deliveries/replay-failed', { since: '2026-01-01T00:00:00Z', endpointId: unknown }],
    ] as const) {
      const res = await api(method, path, world.issuer.key, body);
      expectError(res, 404, 'WEBHOOK_ENDPOINT_NOT_FOUND');
      expect(res.body.details).toEqual({ endpointId: unknown });
    }
    expectValidationOn(await api('GET', '/webhooks/endpoints/we_short', world.issuer.key), 'endpointId');
    expectValidationOn(await api('POST', "/webhooks/endpoints/we_'or'1'='1/disable", world.issuer.key), 'endpointId');
    expect(await auditCount(world.issuer)).toBe(auditBefore);
  });
});

describe('limits and scopes', () => {
  it('the 21st endpoint is refused with WEBHOOK_ENDPOINT_LIMIT_REACHED; disabled endpoints still count', async () => {
    const tenant = await tenantWithKey(world.system.services, { roles: ['partner'], scopes: ['webhooks:manage'] });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await create(tenant, { url: `https://hooks.example.com/${i}`, eventTypes: ['webhook.test'] })).id);
    const refused = await api('POST', '/webhooks/endpoints', tenant.key, { url: 'https://hooks.example.com/21', eventTypes: ['webhook.test'] });
    expectError(refused, 409, 'WEBHOOK_ENDPOINT_LIMIT_REACHED');
    expect(refused.body.details).toEqual({ limit: 20 });
    expect(await endpointCount(tenant)).toBe(20);

    expect((await api('POST', `/webhooks/endpoints/${ids[0]}/disable`, tenant.key)).status).toBe(200);
    expectError(await api('POST', '/webhooks/endpoints', tenant.key, { url: 'https://hooks.example.com/22', eventTypes: ['webhook.test'] }), 409, 'WEBHOOK_ENDPOINT_LIMIT_REACHED');
    expect(await endpointCount(tenant)).toBe(20);
    // Only the 20 creations were audited.
    expect((await auditEvents(tenant)).filter((event) => event.action === 'webhook_endpoint.created')).toHaveLength(20);
    // The limit is per tenant: another tenant can still register.
    const other = await create(world.partner, { url: 'https://hooks.example.com/other', eventTypes: ['webhook.test'] });
    await api('POST', `/webhooks/endpoints/${other.id}/disable`, world.partner.key);
  });

  it('25 concurrent creations: exactly 20 succeed, the rest get WEBHOOK_ENDPOINT_LIMIT_REACHED, never more than 20 exist', async () => {
    const tenant = await tenantWithKey(world.system.services, { roles: ['issuer'], scopes: ['webhooks:manage'] });
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => api('POST', '/webhooks/endpoints', tenant.key, { url: `https://hooks.example.com/race-${i}`, eventTypes: ['webhook.test'] })),
    );
    for (const res of results) if (res.status === 200) shownSecrets.push(res.body.secret);
    expect(results.filter((res) => res.status === 200)).toHaveLength(20);
    const refused = results.filter((res) => res.status !== 200);
    expect(refused).toHaveLength(5);
    for (const res of refused) expectError(res, 409, 'WEBHOOK_ENDPOINT_LIMIT_REACHED');
    expect(await endpointCount(tenant)).toBe(20);
    const listed = await api('GET', '/webhooks/endpoints', tenant.key);
    expect(listed.body.endpoints).toHaveLength(20);
    expect(new Set(listed.body.endpoints.map((e: { id: string }) => e.id)).size).toBe(20);
  });

  it('a key without webhooks:manage gets FORBIDDEN on every route and changes nothing; a key with only webhooks:manage works', async () => {
    const endpoint = await create(world.issuer, { url: receiver.url, eventTypes: ['webhook.test'] });
    const sent = await api('POST', `/webhooks/endpoints/${endpoint.id}/test`, world.issuer.key);
    expect(sent.status).toBe(200);
    const deliveryId: string = sent.body.deliveryId;
    const { secret: weakKey } = await keyFor(world.system.services, world.issuer.tenant.slug, ['pos:write', 'exchange:write', 'customers:read']);
    const before = await endpointRow(endpoint.id);
    const endpointsBefore = await endpointCount(world.issuer);
    const auditBefore = await auditCount(world.issuer);
    const deliveriesBefore = await coalition().selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute();

    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/webhooks/endpoints', { url: 'https://hooks.example.com/sneaky' }],
      ['GET', '/webhooks/endpoints'],
      ['GET', `/webhooks/endpoints/${endpoint.id}`],
      ['PATCH', `/webhooks/endpoints/${endpoint.id}`, { url: 'https://attacker.example/hooks' }],
      ['POST', `/webhooks/endpoints/${endpoint.id}/disable`],
      ['POST', `/webhooks/endpoints/${endpoint.id}/enable`],
      ['POST', `/webhooks/endpoints/${endpoint.id}/rotate-secret`],
      ['POST', `/webhooks/endpoints/${endpoint.id}/test`],
      ['GET', '/webhooks/deliveries'],
      ['GET', `/webhooks/deliveries/${deliveryId}`],
      ['POST', `/webhooks/deliveries/${deliveryId}/replay`],
      ['POST', '/webhooks/deliveries/replay-failed', { since: '2026-01-01T00:00:00Z' }],
    ];
    for (const [method, path, body] of routes) {
      const res = await api(method, path, weakKey, body);
      expectError(res, 403, 'FORBIDDEN');
      expect(res.body.details.requiredScopes, `${method} ${path}`).toEqual(['webhooks:manage']);
      expect(JSON.stringify(res.body)).not.toContain(endpoint.url);
    }
    expect(await endpointRow(endpoint.id)).toEqual(before);
    expect(await endpointCount(world.issuer)).toBe(endpointsBefore);
    expect(await auditCount(world.issuer)).toBe(auditBefore);
    expect(await coalition().selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', endpoint.id).execute()).toEqual(deliveriesBefore);

    const { secret: managerKey } = await keyFor(world.system.services, world.issuer.tenant.slug, ['webhooks:manage']);
    expect((await api('GET', `/webhooks/endpoints/${endpoint.id}`, managerKey)).status).toBe(200);
    expect((await api('GET', `/webhooks/deliveries/${deliveryId}`, managerKey)).status).toBe(200);
    expect((await api('POST', `/webhooks/endpoints/${endpoint.id}/disable`, managerKey)).body.status).toBe('disabled');
    // No key at all: 401.
    expect((await request(world.system.baseUrl, 'GET', '/api/v1/webhooks/endpoints')).status).toBe(401);
  });
});

describe('the delivery log', () => {
  it('filters by endpoint, status, event type and time, newest first, paginated by cursor without gaps or repeats', async () => {
    const tenant = await tenantWithKey(world.system.services, { roles: ['partner'], scopes: ['webhooks:manage'] });
    const ok = await create(tenant, { url: receiver.url, eventTypes: ['webhook.test'], description: 'ok' });
    const erroring = await create(tenant, { url: receiver.url.replace('/hooks', '/erroring'), eventTypes: ['webhook.test'] });
    const gone = await create(tenant, { url: receiver.url.replace('/hooks', '/gone'), eventTypes: ['webhook.test'] });
    receiver.answer((hook) => {
      const endpointId = hook.json?.data?.endpointId;
      if (endpointId === erroring.id) return { status: 500, body: 'try later' };
      if (endpointId === gone.id) return { status: 410, body: 'gone' };
      return { status: 200, body: 'ok' };
    });
    const send = async (endpointId: string) => {
      const res = await api('POST', `/webhooks/endpoints/${endpointId}/test`, tenant.key);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.deliveryId as string;
    };
    const status = (id: string) => coalition().selectFrom('webhook_deliveries').select(['status', 'attempt_count']).where('id', '=', id).executeTakeFirstOrThrow();

    // Three deliveries in the same instant (the clock stands still), then four an hour later.
    const early = [await send(ok.id), await send(ok.id), await send(ok.id)];
    for (const id of early) await waitUntil(async () => (await status(id)).status === 'succeeded', 15_000, `${id} delivered`);
    world.clock.advance(3_600_000);
    const t1 = world.clock.now().toISOString();
    const late = [await send(ok.id), await send(ok.id)];
    const pendingId = await send(erroring.id);
    const failedId = await send(gone.id);
    for (const id of late) await waitUntil(async () => (await status(id)).status === 'succeeded', 15_000, `${id} delivered`);
    await waitUntil(async () => (await status(pendingId)).attempt_count === 1, 15_000, 'the 500 attempt');
    await waitUntil(async () => (await status(failedId)).status === 'failed', 15_000, 'the 410 attempt');
    receiver.answer(() => ({ status: 200, body: 'ok' }));

    const list = async (query: Record<string, string>) => {
      const res = await api('GET', `/webhooks/deliveries?${new URLSearchParams(query)}`, tenant.key);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as { deliveries: any[]; nextCursor: string | null };
    };
    const ids = (page: { deliveries: any[] }) => page.deliveries.map((d) => d.id);

    const all = await list({});
    expect(all.nextCursor).toBeNull();
    expect(all.deliveries).toHaveLength(7);
    expect(new Set(ids(all))).toEqual(new Set([...early, ...late, pendingId, failedId]));
    // Newest first: the four of t1 before the three of t0.
    expect(new Set(ids(all).slice(0, 4))).toEqual(new Set([...late, pendingId, failedId]));
    expect(new Set(ids(all).slice(4))).toEqual(new Set(early));
    for (const d of all.deliveries) expect(d).toMatchObject({ eventType: 'webhook.test' });

    const byEndpoint = await list({ endpointId: ok.id });
    expect(new Set(ids(byEndpoint))).toEqual(new Set([...early, ...late]));
    for (const d of byEndpoint.deliveries) expect(d).toMatchObject({ endpointId: ok.id, status: 'succeeded', attempts: 1, lastStatusCode: 200 });
    expect(ids(await list({ status: 'pending' }))).toEqual([pendingId]);
    expect(ids(await list({ status: 'failed' }))).toEqual([failedId]);
    expect(new Set(ids(await list({ status: 'succeeded' })))).toEqual(new Set([...early, ...late]));
    expect(ids(await list({ endpointId: gone.id, status: 'succeeded' }))).toEqual([]);
    expect(ids(await list({ eventType: 'webhook.test' }))).toHaveLength(7);
    expect(ids(await list({ eventType: 'voucher.redeemed' }))).toEqual([]);
    expect(new Set(ids(await list({ since: t1 })))).toEqual(new Set([...late, pendingId, failedId]));
    expect(new Set(ids(await list({ since: t1, endpointId: ok.id })))).toEqual(new Set(late));
    expect(ids(await list({ since: new Date(world.clock.now().getTime() + 1).toISOString() }))).toEqual([]);

    // Pages of 2: 2 + 2 + 2 + 1, in the same order as the whole list, the last without a cursor.
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: { deliveries: any[]; nextCursor: string | null } = await list({ limit: '2', ...(cursor && { cursor }) });
      pages.push(ids(page));
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);
    expect(pages.map((page) => page.length)).toEqual([2, 2, 2, 1]);
    expect(pages.flat()).toEqual(ids(all));
    // A page exactly at the end has no next cursor.
    const exact = await list({ limit: '7' });
    expect(exact.nextCursor).toBeNull();
    expect(ids(exact)).toEqual(ids(all));
    const filteredPages = await list({ limit: '2', endpointId: ok.id });
    expect(filteredPages.nextCursor).toBe(ids(filteredPages)[1]);
    const second = await list({ limit: '10', endpointId: ok.id, cursor: filteredPages.nextCursor! });
    expect([...ids(filteredPages), ...ids(second)]).toEqual(ids(byEndpoint));

    // One delivery in full: body and attempt log.
    const failed = await api('GET', `/webhooks/deliveries/${failedId}`, tenant.key);
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ id: failedId, endpointId: gone.id, status: 'failed', attempts: 1, lastStatusCode: 410, payload: { id: failedId, type: 'webhook.test', data: { endpointId: gone.id } } });
    expect(failed.body.attemptLog).toEqual([expect.objectContaining({ attempt: 1, statusCode: 410, error: null, responseBody: 'gone', nextAttemptAt: null })]);
    const pending = await api('GET', `/webhooks/deliveries/${pendingId}`, tenant.key);
    expect(pending.body).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500 });
    expect(pending.body.nextAttemptAt).not.toBeNull();
  });

  it('refuses bad filters with VALIDATION_FAILED and unknown deliveries with WEBHOOK_DELIVERY_NOT_FOUND', async () => {
    const key = world.issuer.key;
    expectValidationOn(await api('GET', '/webhooks/deliveries?status=lost', key), 'status');
    expectValidationOn(await api('GET', '/webhooks/deliveries?eventType=voucher.exploded', key), 'eventType');
    expectValidationOn(await api('GET', '/webhooks/deliveries?limit=0', key), 'limit');
    expectValidationOn(await api('GET', '/webhooks/deliveries?limit=201', key), 'limit');
    expectValidationOn(await api('GET', '/webhooks/deliveries?since=yesterday', key), 'since');
    expectValidationOn(await api('GET', '/webhooks/deliveries?endpointId=nope', key), 'endpointId');
    const unknown = 'msg_00000000000000000000';
    expectValidationOn(await api('GET', `/webhooks/deliveries?cursor=${unknown}`, key), 'cursor');

    const got = await api('GET', `/webhooks/deliveries/${unknown}`, key);
    expectError(got, 404, 'WEBHOOK_DELIVERY_NOT_FOUND');
    expect(got.body.details).toEqual({ deliveryId: unknown });
    expectError(await api('POST', `/webhooks/deliveries/${unknown}/replay`, key), 404, 'WEBHOOK_DELIVERY_NOT_FOUND');
    expectValidationOn(await api('GET', '/webhooks/deliveries/msg_short', key), 'deliveryId');
    expectValidationOn(await api('POST', '/webhooks/deliveries/replay-failed', key, {}), 'since');
  });
});

describe('secrets stay secret', () => {
  it('no secret shown by create or rotate appears in any list or get answer, or in the server log', async () => {
    expect(shownSecrets.length).toBeGreaterThan(20);
    const answers: string[] = [];
    for (const who of [world.issuer, world.partner]) {
      const listed = await api('GET', '/webhooks/endpoints', who.key);
      expect(listed.status).toBe(200);
      expect(listed.body.endpoints.length).toBeGreaterThan(0);
      answers.push(JSON.stringify(listed.body));
      for (const endpoint of listed.body.endpoints) {
        expect(endpoint).not.toHaveProperty('secret');
        answers.push(JSON.stringify((await api('GET', `/webhooks/endpoints/${endpoint.id}`, who.key)).body));
      }
    }
    // The log has lines to look at (requests were logged), and none carries a secret, whole or its key part.
    expect(world.system.logLines.length).toBeGreaterThan(0);
    for (const secret of shownSecrets) {
      const keyPart = secret.slice('whsec_'.length);
      for (const answer of answers) expect(answer).not.toContain(keyPart);
      expect(world.system.logLines.filter((line) => line.includes(keyPart))).toEqual([]);
    }
  });
});
