import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalitionDb } from '../server/src/db/database.ts';
import { keyFor, operatorKey, tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
let shop: TenantWithKey;
let operator: string;

beforeAll(async () => {
  system = await startTestSystem();
  shop = await tenantWithKey(system.services, { scopes: ['admin'] });
  operator = await operatorKey(system.services);
});
afterAll(() => system.stop());

const me = (key?: string, headers?: Record<string, string>) => request(system.baseUrl, 'GET', '/api/v1/me', { key, headers });

describe('API keys', () => {
  it('authenticates a tenant key and reports its tenant and scopes', async () => {
    const res = await me(shop.key);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ kind: 'tenant', keyId: shop.keyId, scopes: ['admin'], tenant: { slug: shop.tenant.slug, roles: ['issuer', 'partner'] } });
  });

  it('has the recognisable cx_live_<id>_<secret> format and is stored only as a hash', async () => {
    expect(shop.key).toMatch(/^cx_live_[0-9A-Za-z]{16}_[0-9A-Za-z]{32}$/);
    const secret = shop.key.split('_').at(-1)!;
    const row = await coalitionDb(system.services.db).selectFrom('api_keys').selectAll().where('id', '=', shop.keyId).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['no header', undefined, {}, 'missing'],
    ['a non-bearer header', undefined, { authorization: 'Basic dXNlcjpwYXNz' }, 'malformed_header'],
    ['a malformed key', 'cx_live_short', {}, 'malformed_key'],
    ['an unknown key', 'cx_live_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', {}, 'invalid_key'],
  ])('rejects %s with 401 UNAUTHENTICATED', async (_label, key, headers, reason) => {
    const res = await me(key, headers);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason } });
    expect(res.body.message).toMatch(/API key/);
  });

  it('rejects a known key id with a wrong secret', async () => {
    const forged = `${shop.key.slice(0, -4)}ZZZZ`;
    const res = await me(forged);
    expect(res.status).toBe(401);
    expect(res.body.details.reason).toBe('invalid_key');
  });

  it('rejects a revoked key, and revocation is permanent', async () => {
    const { apiKey, secret } = await keyFor(system.services, shop.tenant.slug, ['pos:write']);
    expect((await me(secret)).status).toBe(200);
    const revoke = await request(system.baseUrl, 'POST', `/api/v1/api-keys/${apiKey.id}/revoke`, { key: shop.key });
    expect(revoke.status).toBe(200);
    expect(revoke.body.revokedAt).toEqual(expect.any(String));
    const after = await me(secret);
    expect(after.status).toBe(401);
    expect(after.body.details.reason).toBe('revoked_key');
    const again = await request(system.baseUrl, 'POST', `/api/v1/api-keys/${apiKey.id}/revoke`, { key: shop.key });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('API_KEY_ALREADY_REVOKED');
  });

  it('returns 403 FORBIDDEN naming the missing scope, and changes nothing', async () => {
    const { secret } = await keyFor(system.services, shop.tenant.slug, ['pos:write']);
    const before = await request(system.baseUrl, 'GET', '/api/v1/api-keys', { key: shop.key });
    const res = await request(system.baseUrl, 'POST', '/api/v1/api-keys', { key: secret, body: { name: 'sneaky', scopes: ['admin'] } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', details: { requiredScopes: ['admin'], grantedScopes: ['pos:write'] } });
    const after = await request(system.baseUrl, 'GET', '/api/v1/api-keys', { key: shop.key });
    expect(after.body.apiKeys).toHaveLength(before.body.apiKeys.length);
  });

  it('keeps tenant keys out of operator routes and operator keys out of tenant routes', async () => {
    const tenantOnOperator = await request(system.baseUrl, 'GET', '/api/v1/operator/tenants', { key: shop.key });
    expect(tenantOnOperator.status).toBe(403);
    expect(tenantOnOperator.body.code).toBe('FORBIDDEN');
    const operatorOnTenant = await request(system.baseUrl, 'GET', '/api/v1/api-keys', { key: operator });
    expect(operatorOnTenant.status).toBe(403);
    expect(operatorOnTenant.body.code).toBe('FORBIDDEN');
  });

  it('blocks every key of a suspended tenant with TENANT_SUSPENDED until reactivated', async () => {
    const other = await tenantWithKey(system.services);
    const suspend = await request(system.baseUrl, 'PATCH', `/api/v1/operator/tenants/${other.tenant.slug}`, { key: operator, body: { status: 'suspended' } });
    expect(suspend.status).toBe(200);
    const blocked = await me(other.key);
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe('TENANT_SUSPENDED');
    await request(system.baseUrl, 'PATCH', `/api/v1/operator/tenants/${other.tenant.slug}`, { key: operator, body: { status: 'active' } });
    expect((await me(other.key)).status).toBe(200);
  });

  it('tracks last use of a key', async () => {
    const { apiKey, secret } = await keyFor(system.services, shop.tenant.slug, ['customers:read']);
    expect(apiKey.lastUsedAt).toBeNull();
    await me(secret);
    await expect
      .poll(async () => (await request(system.baseUrl, 'GET', `/api/v1/api-keys/${apiKey.id}`, { key: shop.key })).body.lastUsedAt)
      .toEqual(expect.any(String));
  });

  it('creates a key through the API: the secret is returned once and never listed', async () => {
    const created = await request(system.baseUrl, 'POST', '/api/v1/api-keys', { key: shop.key, body: { name: 'POS store 12', scopes: ['pos:write', 'customers:read'] } });
    expect(created.status).toBe(200);
    expect(created.body.secret).toMatch(/^cx_live_/);
    expect(created.body.apiKey).toMatchObject({ name: 'POS store 12', scopes: ['customers:read', 'pos:write'], revokedAt: null });
    expect((await me(created.body.secret)).status).toBe(200);
    const listed = await request(system.baseUrl, 'GET', '/api/v1/api-keys', { key: shop.key });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret.split('_').at(-1));
    expect(listed.body.apiKeys.map((key: { id: string }) => key.id)).toContain(created.body.apiKey.id);
  });

  it('rejects unknown scopes with VALIDATION_FAILED naming the valid ones', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/api-keys', { key: shop.key, body: { name: 'x', scopes: ['everything'] } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.details.issues[0]).toMatchObject({ path: 'scopes.0' });
    expect(res.body.details.issues[0].message).toContain('codes:redeem');
  });
});
