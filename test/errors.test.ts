import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../server/src/errors/error-codes.ts';
import { renderErrorCatalog } from '../scripts/render-error-catalog.ts';
import { keyFor, operatorKey, tenantWithKey } from './support/factories.ts';
import { runCli } from './support/cli.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';
import { request, trpcCall } from './support/http-client.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';
import { coalitionDb } from '../server/src/db/database.ts';

let system: TestSystem;
let operator: string;

beforeAll(async () => {
  system = await startTestSystem({ BODY_LIMIT_BYTES: '4096' });
  operator = await operatorKey(system.services);
});
afterAll(() => system.stop());

/** A port that accepts nothing: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const validTenant = { slug: 'north-market', displayName: 'North Market', roles: ['issuer'], timezone: 'Europe/Berlin', currency: 'EUR' };

async function tenantCount(): Promise<number> {
  const row = await coalitionDb(system.services.db).selectFrom('tenants').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('error bodies', () => {
  it('gives REST and tRPC clients the same { code, message, details, requestId }', async () => {
    const body = { ...validTenant, slug: 'Not A Slug', currency: 'rub' };
    const rest = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, body });
    const trpc = await trpcCall(system.baseUrl, 'mutation', 'operator.tenants.create', body, operator);
    expect(rest.status).toBe(400);
    expect(trpc.status).toBe(400);
    expect(Object.keys(rest.body).sort()).toEqual(['code', 'details', 'message', 'requestId']);
    expect(rest.body.code).toBe('VALIDATION_FAILED');
    expect(rest.body.details.issues.map((issue: { path: string }) => issue.path)).toEqual(['slug', 'currency']);
    expect(rest.body.message).toContain('currency: must be an ISO 4217 currency code');
    expect(rest.headers.get('x-request-id')).toBe(rest.body.requestId);
    const data = trpc.body.error.data;
    expect({ code: data.code, message: data.message, details: data.details }).toEqual({ code: rest.body.code, message: rest.body.message, details: rest.body.details });
    expect(data.httpStatus).toBe(400);
  });

  it('changes nothing when input is rejected', async () => {
    const before = await tenantCount();
    const res = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, body: { ...validTenant, timezone: 'Moon/Base' } });
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await tenantCount()).toBe(before);
  });

  it('refuses a duplicate slug with 409 TENANT_SLUG_TAKEN, also under concurrent creates', async () => {
    const body = { ...validTenant, slug: 'race-market' };
    const results = await Promise.all([1, 2, 3, 4].map(() => request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, body })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'TENANT_SLUG_TAKEN')).toBe(true);
  });

  it('rejects a malformed slug in the path with VALIDATION_FAILED naming the slug', async () => {
    const res = await request(system.baseUrl, 'GET', '/api/v1/operator/tenants/Bad_Slug', { key: operator });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: 'slug' }] } });
  });

  it('parses JSON bodies whose Content-Type names a charset', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', {
      key: operator,
      body: { ...validTenant, slug: 'charset-market' },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.status).toBe(200);
    expect(res.body.slug).toBe('charset-market');
  });

  it.each(['REST', 'tRPC'])('does not coerce non-numbers into number fields over %s, not even after REST calls', async (face) => {
    await request(system.baseUrl, 'PATCH', '/api/v1/operator/tenants/charset-market', { key: operator, body: { rateLimitPerMinute: 50 } });
    for (const bad of [true, [7], ' 9 ', '12']) {
      const body = { slug: 'charset-market', rateLimitPerMinute: bad };
      const res =
        face === 'REST'
          ? await request(system.baseUrl, 'PATCH', '/api/v1/operator/tenants/charset-market', { key: operator, body: { rateLimitPerMinute: bad } })
          : await trpcCall(system.baseUrl, 'mutation', 'operator.tenants.update', body, operator);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const tenant = await request(system.baseUrl, 'GET', '/api/v1/operator/tenants/charset-market', { key: operator });
    expect(tenant.body.rateLimitPerMinute).toBe(50);
  });

  it('refuses unknown fields instead of dropping them silently', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, body: { ...validTenant, slug: 'typo-market', rateLimit: 5 } });
    expect(res.status).toBe(400);
    expect(res.body.details.issues[0].message).toMatch(/rateLimit/);
    expect((await request(system.baseUrl, 'GET', '/api/v1/operator/tenants/typo-market', { key: operator })).status).toBe(404);
  });

  it('refuses an update that changes nothing', async () => {
    const res = await request(system.baseUrl, 'PATCH', '/api/v1/operator/tenants/charset-market', { key: operator, body: {} });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('name at least one field to change');
  });

  it('refuses names with control characters', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, body: { ...validTenant, slug: 'escape-market', displayName: 'Shop\u001b[2J' } });
    expect(res.status).toBe(400);
    expect(res.body.details.issues[0]).toMatchObject({ path: 'displayName', message: 'must not contain control characters or broken Unicode' });
  });

  it('refuses a pagination cursor beyond the id range with VALIDATION_FAILED, not a 500', async () => {
    const shop = await tenantWithKey(system.services);
    const res = await request(system.baseUrl, 'GET', '/api/v1/audit-events?cursor=9999999999999999999', { key: shop.key });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('caps active keys per tenant at 50, counting concurrent creations exactly', async () => {
    const shop = await tenantWithKey(system.services);
    for (let i = 0; i < 45; i += 1) await keyFor(system.services, shop.tenant.slug, ['pos:write']);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => request(system.baseUrl, 'POST', '/api/v1/api-keys', { key: shop.key, body: { name: `till ${i}`, scopes: ['pos:write'] } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(4);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'API_KEY_LIMIT_REACHED')).toBe(true);
  });

  it('answers an unknown tenant slug with 404 TENANT_NOT_FOUND', async () => {
    const res = await request(system.baseUrl, 'GET', '/api/v1/operator/tenants/no-such-shop', { key: operator });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'TENANT_NOT_FOUND', details: { slug: 'no-such-shop' } });
  });

  it('rejects malformed JSON with MALFORMED_JSON', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, rawBody: '{"slug": ' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('MALFORMED_JSON');
  });

  it('rejects a non-JSON body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, rawBody: 'slug=x', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it.each(['REST', 'tRPC'])('rejects a body over BODY_LIMIT_BYTES with 413 PAYLOAD_TOO_LARGE over %s', async (face) => {
    const body = { ...validTenant, displayName: 'x'.repeat(10_000) };
    const res =
      face === 'REST'
        ? await request(system.baseUrl, 'POST', '/api/v1/operator/tenants', { key: operator, body })
        : await trpcCall(system.baseUrl, 'mutation', 'operator.tenants.create', body, operator);
    expect(res.status).toBe(413);
    expect(face === 'REST' ? res.body.code : res.body.error.data.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers unknown routes with 404 ROUTE_NOT_FOUND on every face', async () => {
    for (const path of ['/api/v1/nothing-here', '/nothing', '/trpc/nothing.here']) {
      const res = await request(system.baseUrl, 'GET', path);
      expect(res.status, path).toBe(404);
      expect(path.startsWith('/trpc') ? res.body.error.data.code : res.body.code, path).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('answers a known path with the wrong method with 405 METHOD_NOT_ALLOWED and an Allow header', async () => {
    const rest = await request(system.baseUrl, 'DELETE', '/api/v1/operator/tenants/some-shop', { key: operator });
    expect(rest.status).toBe(405);
    expect(rest.headers.get('allow')).toBe('GET, PATCH');
    expect(rest.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED', details: { allowed: ['GET', 'PATCH'] } });
    const trpc = await request(system.baseUrl, 'GET', '/trpc/operator.tenants.create', { key: operator });
    expect(trpc.status).toBe(405);
    expect(trpc.body.error.data.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('rejects malformed JSON on the tRPC face with MALFORMED_JSON too', async () => {
    const res = await request(system.baseUrl, 'POST', '/trpc/operator.tenants.create', { key: operator, rawBody: '{"slug": ' });
    expect(res.status).toBe(400);
    expect(res.body.error.data.code).toBe('MALFORMED_JSON');
  });

  it("gives tRPC clients the JSON-RPC code of the reason's tRPC code", async () => {
    const res = await trpcCall(system.baseUrl, 'query', 'operator.tenants.get', { slug: 'missing-shop' }, operator);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe(-32004); // NOT_FOUND
    expect(res.body.error.data.code).toBe('TENANT_NOT_FOUND');
  });

  it('answers 503 SERVICE_UNAVAILABLE when PostgreSQL goes away under a running server', async () => {
    const real = new URL(system.env.DATABASE_URL!);
    const proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port) });
    const viaProxy = new URL(real);
    viaProxy.port = String(proxy.port);
    const cut = await startTestSystem({ DATABASE_URL: viaProxy.toString() });
    expect((await request(cut.baseUrl, 'GET', '/api/v1/me', { key: operator })).status).toBe(200);
    await proxy.cut();
    try {
      const res = await request(cut.baseUrl, 'GET', '/api/v1/me', { key: operator });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
      expect(res.body.message).toMatch(/Retry/);
    } finally {
      await cut.stop();
    }
  });

  it('turns an unexpected failure into 500 INTERNAL_ERROR without leaking internals', async () => {
    // A real fault: the registry table disappears under the running server.
    await system.services.db.schema.withSchema('coalition').alterTable('tenants').renameTo('tenants_moved').execute();
    try {
      const res = await request(system.baseUrl, 'GET', '/api/v1/operator/tenants', { key: operator });
      expect(res.status).toBe(500);
      expect(res.body.code).toBe('INTERNAL_ERROR');
      expect(JSON.stringify(res.body)).not.toMatch(/tenants|relation|select|stack/i);
      expect(system.logLines.some((line) => line.includes('unhandled error') && line.includes(res.body.requestId))).toBe(true);
    } finally {
      await system.services.db.schema.withSchema('coalition').alterTable('tenants_moved').renameTo('tenants').execute();
    }
  });

  it('documents every error code in docs/errors.md, generated from the code table', async () => {
    const { current, rendered } = await renderErrorCatalog();
    expect(current, 'docs/errors.md is out of date: run npm run docs:errors').toBe(rendered);
    for (const code of Object.keys(ERROR_CODES)) expect(current).toContain(`| \`${code}\` |`);
  });
});

// The OpenAPI document and the /docs/api page: test/openapi.test.ts.

describe('health', () => {
  it('reports liveness and readiness of Postgres and Redis', async () => {
    expect((await request(system.baseUrl, 'GET', '/healthz')).body.status).toBe('ok');
    const ready = await request(system.baseUrl, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'up', redis: 'up' } });
  });

  it('answers 503 naming the service that is down', async () => {
    const port = await closedPort();
    // The API refuses to start without Redis rather than serving half-working.
    const serve = await runCli(['serve'], { ...system.env, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toMatch(/^error: Cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/m);

    // A running server whose Redis goes away.
    const realRedis = new URL(system.env.REDIS_URL!);
    const proxy = await startTcpProxy({ host: realRedis.hostname, port: Number(realRedis.port) });
    const cut = await startTestSystem({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    try {
      expect((await request(cut.baseUrl, 'GET', '/readyz')).status).toBe(200);
      await proxy.cut();
      const ready = await request(cut.baseUrl, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ status: 'unavailable', checks: { postgres: 'up', redis: 'down' } });
    } finally {
      await cut.stop();
    }
    expect((await request(system.baseUrl, 'GET', '/readyz')).status).toBe(200);
  });
});
