import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFor, operatorKey, tenantWithKey } from './support/factories.ts';
import { request, type ApiResponse } from './support/http-client.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
let operator: string;
let nextIp = 10;

// One trusted proxy hop (the test client itself): each test acts from its own client
// address by sending the X-Forwarded-For a proxy would append.
beforeAll(async () => {
  system = await startTestSystem({ RATE_LIMIT_IP_PER_MINUTE: '3', RATE_LIMIT_KEY_PER_MINUTE: '6', TRUST_PROXY: '1' });
  operator = await operatorKey(system.services);
});
afterAll(() => system.stop());

function fromNewAddress(): Record<string, string> {
  nextIp += 1;
  return { 'x-forwarded-for': `203.0.113.${nextIp}` };
}

const burst = (count: number, send: () => Promise<ApiResponse>) => Promise.all(Array.from({ length: count }, send));

describe('rate limits', () => {
  it('allows exactly the per-key budget under concurrent requests, then 429 with Retry-After', async () => {
    const shop = await tenantWithKey(system.services);
    const headers = fromNewAddress();
    const results = await burst(10, () => request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key, headers }));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    const limited = results.find((r) => r.status === 429)!;
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(limited.body.details).toMatchObject({ limitPerMinute: 6, scope: 'api_key' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body.details.retryAfterSeconds).toBe(retryAfter);
    const ok = results.find((r) => r.status === 200)!;
    expect(ok.headers.get('ratelimit-limit')).toBe('6');
  });

  it('sends Retry-After on the tRPC face too, and counts every call of a batch', async () => {
    const shop = await tenantWithKey(system.services);
    const batch = await request(system.baseUrl, 'GET', '/trpc/me,me,me,me,me,me,me,me?batch=1', { key: shop.key });
    expect(batch.status).toBe(207);
    const codes = (batch.body as { result?: unknown; error?: { data: { code: string } } }[]).map((call) => call.error?.data.code ?? 'ok');
    expect(codes.filter((code) => code === 'ok')).toHaveLength(6);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(2);
    expect(Number(batch.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('serves streamed tRPC batches (httpBatchStreamLink) with the rate-limit bookkeeping intact', async () => {
    const shop = await tenantWithKey(system.services);
    const res = await request(system.baseUrl, 'GET', '/trpc/me,version?batch=1&input=%7B%7D', { key: shop.key, headers: { 'trpc-accept': 'application/jsonl', ...fromNewAddress() } });
    expect(res.status).toBe(200);
    const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
    expect(text).toContain(shop.tenant.slug);
    expect(text).toContain('coalition-exchange');
    expect(text).not.toContain('INTERNAL_ERROR');
  });

  it('refuses batches larger than 20 calls', async () => {
    const shop = await tenantWithKey(system.services);
    const res = await request(system.baseUrl, 'GET', `/trpc/${Array(21).fill('me').join(',')}?batch=1`, { key: shop.key });
    expect(res.status).toBe(400);
  });

  it('counts each key separately', async () => {
    const shop = await tenantWithKey(system.services);
    const second = await keyFor(system.services, shop.tenant.slug, ['pos:write']);
    await burst(6, () => request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key }));
    expect((await request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key })).status).toBe(429);
    expect((await request(system.baseUrl, 'GET', '/api/v1/me', { key: second.secret })).status).toBe(200);
  });

  it('applies a per-tenant limit set by the operator', async () => {
    const shop = await tenantWithKey(system.services);
    const patch = await request(system.baseUrl, 'PATCH', `/api/v1/operator/tenants/${shop.tenant.slug}`, { key: operator, body: { rateLimitPerMinute: 12 } });
    expect(patch.body.rateLimitPerMinute).toBe(12);
    const results = await burst(15, () => request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key }));
    expect(results.filter((r) => r.status === 200)).toHaveLength(12);
    expect(results.filter((r) => r.status === 429)).toHaveLength(3);
  });

  it("counts a suspended tenant's calls: they end in 429, not in endless 403s", async () => {
    const shop = await tenantWithKey(system.services);
    await request(system.baseUrl, 'PATCH', `/api/v1/operator/tenants/${shop.tenant.slug}`, { key: operator, body: { status: 'suspended' } });
    const statuses = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await request(system.baseUrl, 'GET', '/api/v1/me', { key: shop.key })).status);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403, 429, 429]);
  });

  it('limits unauthenticated routes per client IP', async () => {
    const headers = fromNewAddress();
    const results = await burst(5, () => request(system.baseUrl, 'GET', '/api/v1/version', { headers }));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429]);
    expect(results.find((r) => r.status === 429)!.body.details.scope).toBe('client_ip');
    expect((await request(system.baseUrl, 'GET', '/api/v1/version', { headers: fromNewAddress() })).status).toBe(200);
  });

  it('believes only the hop its proxy appended, not what the client wrote before it', async () => {
    const real = fromNewAddress()['x-forwarded-for']!;
    const results = [];
    for (let i = 0; i < 4; i += 1) {
      // A client rotating a fake left-hand address; the proxy appends the real one.
      const headers = { 'x-forwarded-for': `198.51.100.${i}, ${real}` };
      results.push((await request(system.baseUrl, 'GET', '/api/v1/version', { headers })).status);
    }
    expect(results).toEqual([200, 200, 200, 429]);
  });

  it('counts failed authentication against the client IP, so key guessing is throttled', async () => {
    const headers = fromNewAddress();
    const forged = 'cx_live_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await request(system.baseUrl, 'GET', '/api/v1/me', { key: forged, headers })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('does not rate limit health probes', async () => {
    const headers = fromNewAddress();
    const results = await burst(8, () => request(system.baseUrl, 'GET', '/healthz', { headers }));
    expect(results.every((r) => r.status === 200)).toBe(true);
  });
});

describe('rate limits without a trusted proxy', () => {
  let direct: TestSystem;
  beforeAll(async () => {
    direct = await startTestSystem({ RATE_LIMIT_IP_PER_MINUTE: '3' });
  });
  afterAll(() => direct.stop());

  it('ignore X-Forwarded-For entirely: rotating it does not buy a fresh budget', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1) {
      statuses.push((await request(direct.baseUrl, 'GET', '/api/v1/version', { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
