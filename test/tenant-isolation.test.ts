import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proceduresOf } from '../server/src/http/openapi.ts';
import { appRouter } from '../server/src/trpc/app-router.ts';
import type { ProcedureMeta } from '../server/src/trpc/trpc.ts';
import { keyFor, operatorKey, tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request, trpcCall, type ApiResponse } from './support/http-client.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

/**
 * Invariant 5: no principal of tenant A can read or change anything of tenant B, through
 * any route. Every procedure of the router must have a row here (a test below fails
 * otherwise), so each new route lands with its cross-tenant probes.
 *
 * A probe is a call made with tenant A's admin key that names or could reach tenant B's
 * data. It must be refused (403/404) or answer with A's own data only.
 */
interface World {
  a: TenantWithKey;
  b: TenantWithKey;
  bExtraKeyId: string;
}

type Probe =
  | { input: unknown; refusedWith: { status: 400 | 403 | 404; code: string } }
  | { input: unknown; answersWithOwnDataOnly: true };

const MATRIX: Record<string, (world: World) => Probe[]> = {
  // public / any key
  version: () => [{ input: undefined, answersWithOwnDataOnly: true }],
  me: () => [{ input: undefined, answersWithOwnDataOnly: true }],
  // tenant: API keys
  'apiKeys.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'apiKeys.get': (w) => [
    { input: { keyId: w.b.keyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
    { input: { keyId: w.bExtraKeyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
  ],
  'apiKeys.revoke': (w) => [
    { input: { keyId: w.b.keyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
    { input: { keyId: w.bExtraKeyId }, refusedWith: { status: 404, code: 'API_KEY_NOT_FOUND' } },
  ],
  // A body naming B is refused outright (inputs are strict); a plain one creates A's key.
  'apiKeys.create': (w) => [
    { input: { name: 'probe', scopes: ['pos:write'], slug: w.b.tenant.slug }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
    { input: { name: 'probe', scopes: ['pos:write'], tenant: w.b.tenant.slug }, refusedWith: { status: 400, code: 'VALIDATION_FAILED' } },
    { input: { name: 'probe', scopes: ['pos:write'] }, answersWithOwnDataOnly: true },
  ],
  // tenant: audit trail (tenant schema)
  'auditEvents.list': () => [{ input: {}, answersWithOwnDataOnly: true }],
  // operator routes: a tenant key never gets in, whatever it names
  'operator.tenants.create': () => [
    { input: { slug: 'probe-tenant', displayName: 'x', roles: ['issuer'], timezone: 'UTC', currency: 'EUR' }, refusedWith: { status: 403, code: 'FORBIDDEN' } },
  ],
  'operator.tenants.list': () => [{ input: {}, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.tenants.get': (w) => [{ input: { slug: w.b.tenant.slug }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.tenants.update': (w) => [{ input: { slug: w.b.tenant.slug, status: 'suspended' }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.apiKeys.create': (w) => [{ input: { slug: w.b.tenant.slug, name: 'x', scopes: ['admin'] }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.apiKeys.list': (w) => [{ input: { slug: w.b.tenant.slug }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
  'operator.apiKeys.revoke': (w) => [{ input: { keyId: w.b.keyId }, refusedWith: { status: 403, code: 'FORBIDDEN' } }],
};

let system: TestSystem;
let world: World;
let operator: string;

beforeAll(async () => {
  system = await startTestSystem();
  const a = await tenantWithKey(system.services, { scopes: ['admin'] });
  const b = await tenantWithKey(system.services, { scopes: ['admin'] });
  const bExtra = await keyFor(system.services, b.tenant.slug, ['codes:redeem']);
  world = { a, b, bExtraKeyId: bExtra.apiKey.id };
  operator = await operatorKey(system.services);
});
afterAll(() => system.stop());

const procedures = proceduresOf(appRouter);

function restCall(path: string, input: unknown, key: string): Promise<ApiResponse> {
  const meta = procedures.find(([name]) => name === path)![1]._def.meta as ProcedureMeta;
  const { method, path: template } = meta.openapi!;
  const rest = { ...(input as Record<string, unknown> | undefined) };
  const url = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = String(rest[name]);
    delete rest[name];
    return encodeURIComponent(value);
  });
  if (method === 'GET') {
    const query = new URLSearchParams(Object.entries(rest).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return request(system.baseUrl, 'GET', `/api${url}${query ? `?${query}` : ''}`, { key });
  }
  return request(system.baseUrl, method, `/api${url}`, { key, body: rest });
}

function tenantBMarkers(): string[] {
  return [world.b.tenant.slug, world.b.keyId, world.bExtraKeyId];
}

async function snapshotOfB() {
  const keys = await request(system.baseUrl, 'GET', '/api/v1/api-keys', { key: world.b.key });
  const audit = await request(system.baseUrl, 'GET', '/api/v1/audit-events?limit=500', { key: world.b.key });
  const tenant = await request(system.baseUrl, 'GET', `/api/v1/operator/tenants/${world.b.tenant.slug}`, { key: operator });
  // lastUsedAt is bookkeeping written after the response; compare what B owns.
  const ownedKeys = keys.body.apiKeys.map(({ lastUsedAt: _ignored, ...key }: Record<string, unknown>) => key);
  return { keys: ownedKeys, auditCount: audit.body.events.length, tenant: tenant.body };
}

describe('tenant isolation matrix', () => {
  it('has probes for every procedure of the router', () => {
    expect(Object.keys(MATRIX).sort()).toEqual(procedures.map(([name]) => name).sort());
    for (const [name, procedure] of procedures) {
      const meta = procedure._def.meta as ProcedureMeta | undefined;
      expect(meta?.access, `${name} has no access level`).toBeDefined();
      expect(meta?.openapi, `${name} has no REST route`).toBeDefined();
    }
  });

  for (const face of ['REST', 'tRPC'] as const) {
    it(`refuses or scopes every probe of tenant A against tenant B over ${face}`, async () => {
      const before = await snapshotOfB();
      for (const [name, procedure] of procedures) {
        for (const probe of MATRIX[name]!(world)) {
          const res =
            face === 'REST'
              ? await restCall(name, probe.input, world.a.key)
              : await trpcCall(system.baseUrl, procedure._def.type as 'query' | 'mutation', name, probe.input, world.a.key);
          const label = `${face} ${name} ${JSON.stringify(probe.input)}`;
          if ('refusedWith' in probe) {
            expect(res.status, label).toBe(probe.refusedWith.status);
            const errorBody = face === 'REST' ? res.body : res.body.error.data;
            expect(errorBody.code, label).toBe(probe.refusedWith.code);
          } else {
            expect(res.status, label).toBe(200);
            const text = JSON.stringify(res.body);
            for (const marker of tenantBMarkers()) expect(text, label).not.toContain(marker);
          }
        }
      }
      // Nothing of B changed: same keys (none revoked, none added), same audit trail, same status.
      const after = await snapshotOfB();
      expect(after).toEqual(before);
      expect(after.tenant.status).toBe('active');
    });
  }

  it('a key tenant A creates belongs to A', async () => {
    const created = await request(system.baseUrl, 'POST', '/api/v1/api-keys', { key: world.a.key, body: { name: 'probe', scopes: ['pos:write'] } });
    const whoami = await request(system.baseUrl, 'GET', '/api/v1/me', { key: created.body.secret });
    expect(whoami.body.tenant.slug).toBe(world.a.tenant.slug);
  });

  it('holds over tRPC batches that mix own and foreign objects', async () => {
    const paths = 'me,apiKeys.get,apiKeys.get,operator.tenants.get';
    const input = { 0: undefined, 1: { keyId: world.a.keyId }, 2: { keyId: world.b.keyId }, 3: { slug: world.b.tenant.slug } };
    const res = await request(system.baseUrl, 'GET', `/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`, { key: world.a.key });
    expect(res.status).toBe(207);
    expect(res.body[0].result.data.tenant.slug).toBe(world.a.tenant.slug);
    expect(res.body[1].result.data.id).toBe(world.a.keyId);
    expect(res.body[2].error.data.code).toBe('API_KEY_NOT_FOUND');
    expect(res.body[3].error.data.code).toBe('FORBIDDEN');
  });

  it('each tenant schema holds only its own audit trail', async () => {
    const a = await request(system.baseUrl, 'GET', '/api/v1/audit-events', { key: world.a.key });
    const b = await request(system.baseUrl, 'GET', '/api/v1/audit-events', { key: world.b.key });
    expect(a.body.events.map((e: { subjectId: string }) => e.subjectId)).toContain(world.a.tenant.slug);
    expect(JSON.stringify(a.body)).not.toContain(world.b.tenant.slug);
    expect(b.body.events.map((e: { subjectId: string }) => e.subjectId)).toContain(world.b.keyId);
    expect(JSON.stringify(b.body)).not.toContain(world.a.keyId);
  });
});
