import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { pruneIdempotencyKeys } from '../server/src/idempotency/prune-idempotency-keys.ts';
import { ManualClock } from '../server/src/system/clock.ts';
import { keyFor, tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { campaignBody, createCampaign, isoAfter, purchaseBody, recordPurchase } from './support/issuer.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

let system: TestSystem;
let issuer: TenantWithKey;
let pos: string;
const clock = new ManualClock('2026-11-01T10:00:00Z');
let mainCampaign: string;

beforeAll(async () => {
  system = await startTestSystem({}, { clock });
  issuer = await tenantWithKey(system.services, { roles: ['issuer'], scopes: ['admin'] });
  pos = (await keyFor(system.services, issuer.tenant.slug, ['pos:write'])).secret;
  mainCampaign = (
    await createCampaign(
      system.baseUrl,
      issuer.key,
      campaignBody(clock.now(), {
        rules: {
          perAmountMinor: 50_000,
          stickersPerStep: 1,
          minTotalMinor: 30_000,
          maxPerReceipt: 20,
          holdDays: 14,
          skuBonuses: [{ sku: 'PROMO-COFFEE', stickersPerUnit: 2, maxPerReceipt: 4 }],
        },
      }),
    )
  ).id;
});
afterAll(() => system.stop());

const isoDate = (base: Date, days: number) => new Date(isoAfter(base, days));
const db = () => tenantDb(system.services.db, tenantSchemaName(issuer.tenant.slug));
const count = async (table: 'purchases' | 'sticker_ledger' | 'customers' | 'outbox_events' | 'idempotency_keys') =>
  Number((await db().selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

describe('recording a purchase', () => {
  it('credits stickers by the rules in effect, on hold until the returns window closes', async () => {
    const body = purchaseBody(clock.now(), {
      customer: { cardNumber: 'CARD-1001' },
      totalMinor: 160_000,
      lines: [
        { sku: 'PROMO-COFFEE', quantity: 3, amountMinor: 60_000 },
        { sku: 'BREAD', quantity: 1, amountMinor: 100_000 },
      ],
    });
    const res = await recordPurchase(system.baseUrl, pos, body);
    expect(res.status).toBe(200);
    // 1600.00 / 500.00 = 3 base stickers; 3 coffees x 2 = 6 capped at 4 bonus.
    expect(res.body).toMatchObject({
      enrolled: true,
      stickersCredited: 7,
      credited: [{ campaignId: mainCampaign, stickers: 7, availableAt: isoAfter(clock.now(), 14) }],
      balance: { available: 0, pending: 7 },
      nextReward: { campaignId: mainCampaign, label: 'Frying pan', stickersNeeded: 3 },
    });
    const balance = await request(system.baseUrl, 'GET', `/api/v1/customers/${res.body.customerId}/balance`, { key: issuer.key });
    expect(balance.body.pendingReleases).toEqual([{ campaignId: mainCampaign, stickers: 7, availableAt: isoAfter(clock.now(), 14), heldForReview: false }]);
    const events = await db().selectFrom('outbox_events').selectAll().where('event_type', '=', 'stickers.credited').execute();
    const event = events.find((candidate) => (candidate.payload as { purchaseId?: string }).purchaseId === res.body.purchaseId);
    expect(event?.payload).toMatchObject({
      customerId: res.body.customerId,
      credited: res.body.credited,
      campaigns: [{ campaignId: mainCampaign, available: 0, pending: 7 }],
    });
    expect(JSON.stringify(event?.payload)).not.toContain('CARD-1001');
  });

  it('announces a goal as reachable from the day enough stickers are released', async () => {
    const card = 'CARD-GOAL';
    const lines = [{ sku: 'TV', quantity: 1, amountMinor: 300_000 }];
    await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { cardNumber: card }, totalMinor: 300_000, lines })); // 6
    const second = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { cardNumber: card }, totalMinor: 300_000, lines })); // 12: crosses 10
    const events = await db().selectFrom('outbox_events').select('payload').where('event_type', '=', 'reward.reachable').execute();
    expect(events.map((event) => event.payload)).toContainEqual({
      customerId: second.body.customerId,
      campaignId: mainCampaign,
      goal: { stickers: 10, label: 'Frying pan' },
      balance: 12,
      reachableFrom: isoAfter(clock.now(), 14),
    });
  });

  it('refuses campaign rules with unknown fields instead of dropping them', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/campaigns', { key: issuer.key, body: campaignBody(clock.now(), { rules: { perAmountMinor: 50_000, stickersPerAmount: 2 } }) });
    expect(res.status).toBe(400);
    expect(res.body.details.issues[0].message).toMatch(/stickersPerAmount/);
  });

  it('applies the minimum total and the per-receipt cap', async () => {
    const small = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { totalMinor: 29_999, lines: [{ sku: 'X', quantity: 1, amountMinor: 29_999 }] }));
    expect(small.body.stickersCredited).toBe(0);
    const huge = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { totalMinor: 5_000_000, lines: [{ sku: 'TV', quantity: 1, amountMinor: 5_000_000 }] }));
    expect(huge.body.stickersCredited).toBe(20);
  });

  it('credits every running campaign the store takes part in, and only those', async () => {
    const local = await createCampaign(system.baseUrl, issuer.key, campaignBody(clock.now(), { name: 'Store 7 only', storeCodes: ['MSK-007'], rules: { perAmountMinor: 100_000 } }));
    const elsewhere = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { storeCode: 'MSK-001', customer: { cardNumber: 'CARD-2001' } }));
    expect(elsewhere.body.credited.map((c: { campaignId: string }) => c.campaignId)).toEqual([mainCampaign]);
    const inStore = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { storeCode: 'MSK-007', customer: { cardNumber: 'CARD-2001' } }));
    expect(inStore.body.credited.map((c: { campaignId: string }) => c.campaignId).sort()).toEqual([mainCampaign, local.id].sort());
  });

  it('identifies customers by phone in any notation, storing only a keyed hash', async () => {
    await request(system.baseUrl, 'PATCH', '/api/v1/issuer/settings', { key: issuer.key, body: { phoneRegion: 'RU' } });
    const first = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { phone: '8 (912) 345-67-89' } }));
    const second = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { phone: '+7 912 345 67 89' } }));
    expect(second.body.customerId).toBe(first.body.customerId);
    expect(second.body.enrolled).toBe(false);
    const lookup = await request(system.baseUrl, 'GET', `/api/v1/customers/lookup?phone=${encodeURIComponent('+79123456789')}`, { key: issuer.key });
    expect(lookup.body).toMatchObject({ id: first.body.customerId, phoneHint: '…6789' });
    const { rows } = await sql<{ found: boolean }>`select exists (select 1 from ${sql.table(`${tenantSchemaName(issuer.tenant.slug)}.customers`)} where row_to_json(customers)::text like '%9123456789%') as found`.execute(system.services.db);
    expect(rows[0]!.found).toBe(false);
  });

  it('hashes the same phone differently for each issuer', async () => {
    const other = await tenantWithKey(system.services, { roles: ['issuer'], scopes: ['admin'] });
    await createCampaign(system.baseUrl, other.key, campaignBody(clock.now()));
    const phone = '+79990001122';
    const here = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { phone } }));
    const there = await recordPurchase(system.baseUrl, other.key, purchaseBody(clock.now(), { customer: { phone } }));
    const hashOf = async (slug: string, id: string) =>
      (await tenantDb(system.services.db, tenantSchemaName(slug)).selectFrom('customers').select('phone_hash').where('id', '=', id).executeTakeFirstOrThrow()).phone_hash;
    const [a, b] = await Promise.all([hashOf(issuer.tenant.slug, here.body.customerId), hashOf(other.tenant.slug, there.body.customerId)]);
    expect(a).toMatch(/^[\w-]{43}$/);
    expect(b).toMatch(/^[\w-]{43}$/);
    expect(a).not.toBe(b);
  });

  it('refuses unknown customers when auto-enrolment is off, and blocked customers', async () => {
    await request(system.baseUrl, 'PATCH', '/api/v1/issuer/settings', { key: issuer.key, body: { autoEnrol: false } });
    const unknown = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { cardNumber: 'NEVER-SEEN' } }));
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('CUSTOMER_NOT_FOUND');
    await request(system.baseUrl, 'PATCH', '/api/v1/issuer/settings', { key: issuer.key, body: { autoEnrol: true } });

    const customer = (await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { cardNumber: 'CARD-BLOCK' } }))).body.customerId;
    await request(system.baseUrl, 'POST', `/api/v1/customers/${customer}/block`, { key: issuer.key, body: { reason: 'card shared by cashiers' } });
    const blocked = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { cardNumber: 'CARD-BLOCK' } }));
    expect(blocked.status).toBe(403);
    expect(blocked.body).toMatchObject({ code: 'CUSTOMER_BLOCKED', details: { customerId: customer } });
  });
});

describe('idempotency', () => {
  it('answers a retry with the first answer, once, and marks it as a replay', async () => {
    const body = purchaseBody(clock.now(), { customer: { cardNumber: 'CARD-IDEM' } });
    const key = randomUUID();
    const first = await recordPurchase(system.baseUrl, pos, body, key);
    const retry = await recordPurchase(system.baseUrl, pos, body, key);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
  });

  it('refuses the same key with a different body (422) and the same receipt under a new key (409)', async () => {
    const body = purchaseBody(clock.now(), { customer: { cardNumber: 'CARD-IDEM-2' } });
    const key = randomUUID();
    await recordPurchase(system.baseUrl, pos, body, key);
    const changed = await recordPurchase(system.baseUrl, pos, { ...body, totalMinor: 110_000, lines: [{ sku: 'X', quantity: 1, amountMinor: 110_000 }] }, key);
    expect(changed.status).toBe(422);
    expect(changed.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const again = await recordPurchase(system.baseUrl, pos, body, randomUUID());
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('RECEIPT_ALREADY_RECORDED');
  });

  it('has exactly one effect for 50 concurrent identical requests', async () => {
    const body = purchaseBody(clock.now(), { customer: { cardNumber: 'CARD-STORM' } });
    const key = randomUUID();
    const ledgerBefore = await count('sticker_ledger');
    const results = await Promise.all(Array.from({ length: 50 }, () => recordPurchase(system.baseUrl, pos, body, key)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(results.map((r) => r.body.purchaseId)).size).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(49);
    expect(await count('sticker_ledger')).toBe(ledgerBefore + 1);
    const purchases = await db().selectFrom('purchases').select('id').where('receipt_id', '=', body.receiptId).execute();
    expect(purchases).toHaveLength(1);
  });

  it('keeps answers for 30 days, then the key is free again', async () => {
    const body = purchaseBody(clock.now(), { customer: { cardNumber: 'CARD-OLD-KEY' } });
    const key = randomUUID();
    await recordPurchase(system.baseUrl, pos, body, key);
    expect(await pruneIdempotencyKeys(db(), isoDate(clock.now(), 29))).toBe(0);
    expect(await pruneIdempotencyKeys(db(), isoDate(clock.now(), 31))).toBeGreaterThanOrEqual(1);
    expect(await db().selectFrom('idempotency_keys').select('key').where('key', '=', key).executeTakeFirst()).toBeUndefined();
  });

  it('requires the header', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/pos/purchases', { key: pos, body: purchaseBody(clock.now()) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
  });
});

describe('bad input', () => {
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['a negative total', { totalMinor: -100 }, 400, 'VALIDATION_FAILED'],
    ['a fractional amount', { totalMinor: 100.5 }, 400, 'VALIDATION_FAILED'],
    ['a store code with spaces', { storeCode: 'Store #1' }, 400, 'VALIDATION_FAILED'],
    ['a garbage phone', { customer: { phone: 'call me maybe' } }, 400, 'VALIDATION_FAILED'],
    ['both card and phone', { customer: { cardNumber: 'CARD-1', phone: '+79120000000' } }, 400, 'VALIDATION_FAILED'],
    ['lines not adding up', { totalMinor: 150_000 }, 422, 'RECEIPT_TOTAL_MISMATCH'],
    ['a foreign currency', { currency: 'EUR' }, 422, 'CURRENCY_MISMATCH'],
    ['a receipt from the future', { occurredAt: isoAfter(new Date('2026-11-01T10:00:00Z'), 1) }, 400, 'VALIDATION_FAILED'],
    ['no lines', { lines: [] }, 400, 'VALIDATION_FAILED'],
    ['an unknown field', { discount: 5 }, 400, 'VALIDATION_FAILED'],
  ];
  it.each(cases)('refuses %s with a typed error and writes nothing', async (_label, change, status, code) => {
    const before = await Promise.all([count('purchases'), count('sticker_ledger'), count('customers'), count('outbox_events'), count('idempotency_keys')]);
    const res = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { customer: { cardNumber: 'CARD-BAD-INPUT' }, ...change }));
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.body.message.length).toBeGreaterThan(10);
    expect(await Promise.all([count('purchases'), count('sticker_ledger'), count('customers'), count('outbox_events'), count('idempotency_keys')])).toEqual(before);
  });

  it('refuses an oversized receipt with 413 and writes nothing', async () => {
    const before = await count('purchases');
    const lines = Array.from({ length: 20_000 }, (_, i) => ({ sku: `SKU-${i}-${'x'.repeat(40)}`, quantity: 1, amountMinor: 1 }));
    const res = await recordPurchase(system.baseUrl, pos, purchaseBody(clock.now(), { totalMinor: 20_000, lines }));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await count('purchases')).toBe(before);
  });

  it('keeps POS keys to POS work and issuer routes to issuers', async () => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/campaigns', { key: pos, body: campaignBody(clock.now()) });
    expect(res.status).toBe(403);
    const partner = await tenantWithKey(system.services, { roles: ['partner'], scopes: ['admin'] });
    const wrongRole = await recordPurchase(system.baseUrl, partner.key, purchaseBody(clock.now()));
    expect(wrongRole.status).toBe(403);
    expect(wrongRole.body).toMatchObject({ code: 'ROLE_REQUIRED', details: { requiredRole: 'issuer' } });
  });
});
