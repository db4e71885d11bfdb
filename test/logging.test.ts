import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorKey, tenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ LOG_LEVEL: 'debug' });
});
afterAll(() => system.stop());

function secretOf(key: string): string {
  return key.split('_').at(-1)!;
}

describe('structured logs', () => {
  it('carry the request id on every request line, matching the X-Request-Id header', async () => {
    const res = await request(system.baseUrl, 'GET', '/api/v1/version', { headers: { 'x-request-id': 'pos-7-req-0001' } });
    expect(res.headers.get('x-request-id')).toBe('pos-7-req-0001');
    const line = system.logLines.map((l) => JSON.parse(l)).find((entry) => entry.requestId === 'pos-7-req-0001');
    expect(line).toMatchObject({ level: 'info', method: 'GET', path: '/api/v1/version', status: 200 });
  });

  it('replace a malformed incoming request id instead of logging it', async () => {
    const res = await request(system.baseUrl, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id {with} spaces' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[\w-]{21}$/);
  });

  it('never contain an API key secret, whether it authenticates, fails or is being created', async () => {
    const operator = await operatorKey(system.services);
    const shop = await tenantWithKey(system.services);
    const created = await request(system.baseUrl, 'POST', '/api/v1/api-keys', { key: shop.key, body: { name: 'logged?', scopes: ['pos:write'] } });
    const forged = `${shop.key.slice(0, -6)}XXXXXX`;
    await request(system.baseUrl, 'GET', '/api/v1/me', { key: forged });
    await request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key });
    await request(system.baseUrl, 'GET', '/api/v1/operator/tenants', { key: operator });
    // A failure deep inside a request logs the error, still without the caller's key.
    await system.services.db.schema.withSchema('coalition').alterTable('tenants').renameTo('tenants_away').execute();
    await request(system.baseUrl, 'GET', `/api/v1/operator/tenants/${shop.tenant.slug}`, { key: operator });
    await system.services.db.schema.withSchema('coalition').alterTable('tenants_away').renameTo('tenants').execute();

    const logs = system.logLines.join('\n');
    expect(logs).toContain('unhandled error');
    for (const key of [operator, shop.key, created.body.secret as string, forged]) expect(logs).not.toContain(secretOf(key));
  });
});

describe('portal logs', () => {
  it('never contain a password, an invitation token, a session token or a CSRF token', async () => {
    const shop = await tenantWithKey(system.services);
    const invited = await request(system.baseUrl, 'POST', '/api/v1/users/invitations', { key: shop.key, body: { email: 'logged@shop.example', roles: ['admin'] } });
    const password = 'a password nobody logs';
    const accepted = await fetch(`${system.baseUrl}/auth/invitations/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: invited.body.token, displayName: 'Logged', password }),
    });
    const session = (await accepted.json()) as { csrfToken: string };
    const cookie = accepted.headers.get('set-cookie')!.split(';')[0]!;
    const second = await request(system.baseUrl, 'POST', '/api/v1/users/invitations', { key: shop.key, body: { email: 'linked@shop.example', roles: ['finance'] } });
    // The link's page and what it asks the server carry the token in the path.
    await fetch(`${system.baseUrl}/portal/invite/${second.body.token}`);
    await fetch(`${system.baseUrl}/auth/invitations/${second.body.token}`);
    await fetch(`${system.baseUrl}/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'logged@shop.example', password: 'wrong password entirely' }) });
    await fetch(`${system.baseUrl}/api/v1/users/invitations`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'third@shop.example', roles: ['finance'] }),
    });

    const logs = system.logLines.join('\n');
    expect(logs).toContain('portal invitation accepted');
    expect(logs).toContain('"path":"/auth/invitations/…"');
    for (const secret of [password, 'wrong password entirely', invited.body.token as string, second.body.token as string, cookie.split('=')[1]!, session.csrfToken]) expect(logs).not.toContain(secret);
  });
});
