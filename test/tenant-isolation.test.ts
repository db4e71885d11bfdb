import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proceduresOf } from '../server/src/http/openapi.ts';
import { appRouter } from '../server/src/trpc/app-router.ts';
import type { ProcedureMeta } from '../server/src/trpc/trpc.ts';
import { keyFor, operatorKey, tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request, trpcCall, type ApiResponse } from './support/http-client.ts';
import { campaignBody, createCampaign, isoAfter, purchaseBody, recordPurchase } from './support/issuer.ts';
import { createOffer, exportCodes, offerBody, rejectReport, startImportWorkers, uploadCsv, waitForBatch } from './support/partner.ts';
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
  /** B's issuer data: a campaign, two customers (by card), a receipt each, the key B used. */
  bCampaignId: string;
  bCustomerId: string;
  bCards: [string, string];
  bReceipts: [string, string];
  bIdempotencyKey: string;
  /** B's partner data: an offer, an imported batch and one of its codes. */
  bOfferId: string;
  bBatchId: string;
  bCode: string;
}

type Face = 'REST' | 'tRPC';

type Probe = { headers?: Record<string, string> } & (
  | { input: unknown; refusedWith: { status: 400 | 403 | 404; code: string } }
  | { input: unknown; answersWithOwnDataOnly: true }
);

const notFound = (code: string) => ({ status: 404 as const, code });

const MATRIX: Record<string, (world: World, face: Face) => Probe[]> = {
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
  // issuer: settings and campaigns (tenant schema)
  'issuerSettings.get': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'issuerSettings.update': () => [{ input: { expiringSoonDays: 3 }, answersWithOwnDataOnly: true }],
  'campaigns.create': () => [{ input: campaignBody(new Date()), answersWithOwnDataOnly: true }],
  'campaigns.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'campaigns.get': (w) => [{ input: { campaignId: w.bCampaignId }, refusedWith: notFound('CAMPAIGN_NOT_FOUND') }],
  'campaigns.update': (w) => [{ input: { campaignId: w.bCampaignId, name: 'hijacked' }, refusedWith: notFound('CAMPAIGN_NOT_FOUND') }],
  'campaigns.scheduleRules': (w) => [
    { input: { campaignId: w.bCampaignId, effectiveFrom: isoAfter(new Date(), 1), rules: { perAmountMinor: 1 } }, refusedWith: notFound('CAMPAIGN_NOT_FOUND') },
  ],
  // issuer: customers. Card numbers are per issuer: A enrolling B's card makes A's own customer.
  'customers.enrol': (w, face) => [{ input: { cardNumber: face === 'REST' ? w.bCards[0] : `${w.bCards[0]}-T` }, answersWithOwnDataOnly: true }],
  'customers.lookup': (w) => [{ input: { cardNumber: w.bCards[1] }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.attachIdentity': (w) => [{ input: { customerId: w.bCustomerId, cardNumber: 'PROBE-1' }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.get': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.block': (w) => [{ input: { customerId: w.bCustomerId, reason: 'probe' }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.unblock': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.balance': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.progress': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.history': (w) => [{ input: { customerId: w.bCustomerId }, refusedWith: notFound('CUSTOMER_NOT_FOUND') }],
  'customers.adjust': (w) => [
    { input: { customerId: w.bCustomerId, campaignId: w.bCampaignId, stickers: 100, reason: 'probe' }, refusedWith: notFound('CUSTOMER_NOT_FOUND') },
  ],
  // POS: B's Idempotency-Key must not replay B's answer to A; B's receipt ids are A's to use.
  'pos.recordPurchase': (w, face) => [
    {
      input: purchaseBody(new Date(), { receiptId: `${w.bReceipts[0]}${face === 'REST' ? '' : '-T'}`, customer: { cardNumber: 'PROBE-POS' } }),
      headers: { 'idempotency-key': `${w.bIdempotencyKey}-${face}` },
      answersWithOwnDataOnly: true,
    },
    {
      input: purchaseBody(new Date(), { receiptId: `${w.bReceipts[0]}-again-${face}`, customer: { cardNumber: 'PROBE-POS' } }),
      // B's exact key (once: on the second face A would be reusing its own key).
      headers: { 'idempotency-key': face === 'REST' ? w.bIdempotencyKey : `${w.bIdempotencyKey}-tRPC-2` },
      answersWithOwnDataOnly: true,
    },
  ],
  'pos.recordReturn': (w, face) => [
    {
      input: { storeCode: 'MSK-001', receiptId: w.bReceipts[1], returnId: `RET-${face}`, occurredAt: new Date().toISOString() },
      headers: { 'idempotency-key': `probe-return-${face}` },
      refusedWith: notFound('PURCHASE_NOT_FOUND'),
    },
  ],
  // partner: offers, batches and codes (tenant schema; codes looked up by keyed hash)
  'offers.create': () => [{ input: offerBody(), answersWithOwnDataOnly: true }],
  'offers.list': () => [{ input: undefined, answersWithOwnDataOnly: true }],
  'offers.get': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'offers.update': (w) => [{ input: { offerId: w.bOfferId, title: 'hijacked' }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'offers.setStatus': (w) => [{ input: { offerId: w.bOfferId, status: 'paused' }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'offers.poolState': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codeBatches.generate': (w) => [{ input: { offerId: w.bOfferId, count: 10 }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codeBatches.list': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codeBatches.get': (w) => [{ input: { batchId: w.bBatchId }, refusedWith: notFound('BATCH_NOT_FOUND') }],
  'codeBatches.void': (w) => [{ input: { batchId: w.bBatchId, reason: 'probe' }, refusedWith: notFound('BATCH_NOT_FOUND') }],
  'codes.list': (w) => [{ input: { offerId: w.bOfferId }, refusedWith: notFound('OFFER_NOT_FOUND') }],
  'codes.find': (w) => [{ input: { code: w.bCode }, refusedWith: notFound('CODE_NOT_FOUND') }],
};

let system: TestSystem;
let world: World;
let operator: string;

beforeAll(async () => {
  system = await startTestSystem();
  const a = await tenantWithKey(system.services, { scopes: ['admin'] });
  const b = await tenantWithKey(system.services, { scopes: ['admin'] });
  const bExtra = await keyFor(system.services, b.tenant.slug, ['codes:redeem']);
  const now = new Date();
  const campaign = await createCampaign(system.baseUrl, b.key, campaignBody(now));
  const bCards: [string, string] = ['B-CARD-0001', 'B-CARD-0002'];
  const bReceipts: [string, string] = ['B-R-1', 'B-R-2'];
  const bIdempotencyKey = 'b-purchase-key-1';
  const first = await recordPurchase(system.baseUrl, b.key, purchaseBody(now, { receiptId: bReceipts[0], customer: { cardNumber: bCards[0] } }), bIdempotencyKey);
  await recordPurchase(system.baseUrl, b.key, purchaseBody(now, { receiptId: bReceipts[1], customer: { cardNumber: bCards[1] } }));
  const bOffer = await createOffer(system.baseUrl, b.key);
  const bCode = 'B-SECRET-CODE-0001';
  const workers = await startImportWorkers(system.services);
  const bBatch = await waitForBatch(system.baseUrl, b.key, (await uploadCsv(system.baseUrl, b.key, bOffer.id, `${bCode}\nB-SECRET-CODE-0002\n`)).body.id);
  await workers.close();
  world = { a, b, bExtraKeyId: bExtra.apiKey.id, bCampaignId: campaign.id, bCustomerId: first.body.customerId, bCards, bReceipts, bIdempotencyKey, bOfferId: bOffer.id, bBatchId: bBatch.id, bCode };
  operator = await operatorKey(system.services);
});
afterAll(() => system.stop());

const procedures = proceduresOf(appRouter);

function restCall(path: string, input: unknown, key: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
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
    return request(system.baseUrl, 'GET', `/api${url}${query ? `?${query}` : ''}`, { key, headers });
  }
  return request(system.baseUrl, method, `/api${url}`, { key, body: rest, headers });
}

function tenantBMarkers(): string[] {
  return [world.b.tenant.slug, world.b.keyId, world.bExtraKeyId, world.bCampaignId, world.bCustomerId, world.bOfferId, world.bBatchId, world.bCode];
}

async function snapshotOfB() {
  const keys = await request(system.baseUrl, 'GET', '/api/v1/api-keys', { key: world.b.key });
  const audit = await request(system.baseUrl, 'GET', '/api/v1/audit-events?limit=500', { key: world.b.key });
  const tenant = await request(system.baseUrl, 'GET', `/api/v1/operator/tenants/${world.b.tenant.slug}`, { key: operator });
  // lastUsedAt is bookkeeping written after the response; compare what B owns.
  const ownedKeys = keys.body.apiKeys.map(({ lastUsedAt: _ignored, ...key }: Record<string, unknown>) => key);
  const get = async (path: string) => (await request(system.baseUrl, 'GET', path, { key: world.b.key })).body;
  return {
    keys: ownedKeys,
    auditCount: audit.body.events.length,
    tenant: tenant.body,
    settings: await get('/api/v1/issuer/settings'),
    campaigns: await get('/api/v1/campaigns'),
    customer: await get(`/api/v1/customers/${world.bCustomerId}`),
    balance: await get(`/api/v1/customers/${world.bCustomerId}/balance`),
    history: await get(`/api/v1/customers/${world.bCustomerId}/history`),
    secondCustomer: await get(`/api/v1/customers/lookup?cardNumber=${world.bCards[1]}`),
    offers: await get('/api/v1/offers'),
    batch: await get(`/api/v1/code-batches/${world.bBatchId}`),
    pool: await get(`/api/v1/offers/${world.bOfferId}/pool`),
  };
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
        for (const probe of MATRIX[name]!(world, face)) {
          const res =
            face === 'REST'
              ? await restCall(name, probe.input, world.a.key, probe.headers)
              : await trpcCall(system.baseUrl, procedure._def.type as 'query' | 'mutation', name, probe.input, world.a.key, probe.headers);
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

  it('refuses A the file routes of B: upload, reject report, export', async () => {
    const before = await snapshotOfB();
    const upload = await uploadCsv(system.baseUrl, world.a.key, world.bOfferId, 'PROBE-CODE-1\n');
    expect(upload.status).toBe(404);
    expect(upload.body.code).toBe('OFFER_NOT_FOUND');
    const report = await rejectReport(system.baseUrl, world.a.key, world.bBatchId);
    expect(report.status).toBe(404);
    expect(JSON.parse(report.text).code).toBe('BATCH_NOT_FOUND');
    const exported = await exportCodes(system.baseUrl, world.a.key, world.bOfferId);
    expect(exported.status).toBe(404);
    expect(exported.text).not.toContain(world.bCode);
    expect(await snapshotOfB()).toEqual(before);
  });

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
