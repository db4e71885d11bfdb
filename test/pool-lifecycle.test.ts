import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDb, type TenantDb } from '../server/src/db/database.ts';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import type { WorkerHost } from '../server/src/jobs/worker-host.ts';
import { claimCode, issueReservedCode, releaseReservedCodes, type PoolOwner } from '../server/src/pools/claim-code.ts';
import { settleStockState } from '../server/src/pools/stock.ts';
import { sweepPartnerPools } from '../server/src/pools/sweep-pools.ts';
import { ManualClock } from '../server/src/system/clock.ts';
import { requireTenantRow } from '../server/src/tenants/get-tenant.ts';
import { tenantWithKey, type TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { createOffer, startImportWorkers, uploadCsv, waitForBatch } from './support/partner.ts';
import { startTestSystem, type TestSystem } from './support/test-system.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
let system: TestSystem;
let workers: WorkerHost;
let shop: TenantWithKey;
let owner: PoolOwner;
let db: TenantDb;

beforeAll(async () => {
  system = await startTestSystem();
  workers = await startImportWorkers(system.services);
  shop = await tenantWithKey(system.services, { roles: ['partner'] });
  owner = { tenantId: (await requireTenantRow(system.services.db, shop.tenant.slug)).id, schema: tenantSchemaName(shop.tenant.slug) };
  db = tenantDb(system.services.db, owner.schema);
});
afterAll(async () => {
  await workers.close();
  await system.stop();
});

async function addCodes(offerId: string, codes: string[], query: Record<string, string> = {}) {
  return waitForBatch(system.baseUrl, shop.key, (await uploadCsv(system.baseUrl, shop.key, offerId, codes.join('\n'), { query })).body.id);
}

function codesFor(tag: string, n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}${String(from + i).padStart(5, '0')}`);
}

const claim = (offerId: string, holderRef: string, options: { now?: Date; reserveUntil?: Date } = {}) =>
  system.services.db.transaction().execute((trx) => claimCode(trx, owner, offerId, system.services.secrets, { now: options.now ?? new Date(), holderRef, ...(options.reserveUntil && { reserveUntil: options.reserveUntil }) }));

async function poolEvents(offerId: string) {
  const rows = await db.selectFrom('outbox_events').select(['event_type', 'payload']).where(sql<boolean>`payload->>'offerId' = ${offerId}`).orderBy('id').execute();
  return rows.map((row) => ({ type: row.event_type, state: row.payload.state, previousState: row.payload.previousState, available: row.payload.available }));
}

describe('stock alerts', () => {
  it('emits pool.refilled, pool.low, pool.empty and pool.refilled again, once each, in the outbox', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 3 });
    await addCodes(offer.id, codesFor('STK', 5));
    for (let i = 0; i < 2; i++) await claim(offer.id, `v${i}`);
    expect((await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}`, { key: shop.key })).body.stockState).toBe('low');
    for (let i = 2; i < 5; i++) await claim(offer.id, `v${i}`);
    await expect(claim(offer.id, 'too-late')).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    expect((await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}`, { key: shop.key })).body.stockState).toBe('empty');
    await addCodes(offer.id, codesFor('STK', 10, 5));
    expect(await poolEvents(offer.id)).toEqual([
      { type: 'pool.refilled', state: 'ok', previousState: 'empty', available: 5 },
      { type: 'pool.low', state: 'low', previousState: 'ok', available: 3 },
      { type: 'pool.empty', state: 'empty', previousState: 'low', available: 0 },
      { type: 'pool.refilled', state: 'ok', previousState: 'empty', available: 10 },
    ]);
  });

  it('a pool seen dropping from ok straight to empty crossed the watermark too: pool.low, then pool.empty', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 3 });
    await addCodes(offer.id, codesFor('JMP', 6));
    // Every code handed out by claims this process did not watch (another server's).
    await db.updateTable('codes').set({ status: 'issued', issued_at: new Date(), holder_ref: 'elsewhere' }).where('offer_id', '=', offer.id).execute();
    expect(await settleStockState(db, offer.id, new Date())).toBe('empty');
    expect(await poolEvents(offer.id)).toEqual([
      { type: 'pool.refilled', state: 'ok', previousState: 'empty', available: 6 },
      { type: 'pool.low', state: 'empty', previousState: 'ok', available: 0 },
      { type: 'pool.empty', state: 'empty', previousState: 'ok', available: 0 },
    ]);
    expect(await settleStockState(db, offer.id, new Date())).toBe('empty');
    expect(await poolEvents(offer.id)).toHaveLength(3);
  });

  it('moving the watermark above the stock sends pool.low', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 1 });
    await addCodes(offer.id, codesFor('WMK', 5));
    const res = await request(system.baseUrl, 'PATCH', `/api/v1/offers/${offer.id}`, { key: shop.key, body: { lowStockThreshold: 10 } });
    expect(res.body.stockState).toBe('low');
    expect((await poolEvents(offer.id)).map((e) => e.type)).toEqual(['pool.refilled', 'pool.low']);
  });
});

describe('voiding', () => {
  it('takes unissued codes out of the pool and leaves issued ones alone', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const batch = await addCodes(offer.id, codesFor('VOID', 6));
    const issued = await claim(offer.id, 'kept-voucher');
    const voided = await request(system.baseUrl, 'POST', `/api/v1/code-batches/${batch.id}/void`, { key: shop.key, body: { reason: 'Printed with the wrong terms' } });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ status: 'voided', voidReason: 'Printed with the wrong terms' });
    const pool = await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/pool`, { key: shop.key });
    expect(pool.body).toMatchObject({ stockState: 'empty', counts: { available: 0, issued: 1, voided: 5, total: 6 } });
    const found = await request(system.baseUrl, 'POST', '/api/v1/codes/find', { key: shop.key, body: { code: issued.code } });
    expect(found.body).toMatchObject({ status: 'issued', holderRef: 'kept-voucher' });
    await expect(claim(offer.id, 'after-void')).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    const again = await request(system.baseUrl, 'POST', `/api/v1/code-batches/${batch.id}/void`, { key: shop.key, body: { reason: 'twice' } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'BATCH_NOT_VOIDABLE', details: { status: 'voided' } });
    expect((await request(system.baseUrl, 'POST', `/api/v1/code-batches/${batch.id}/void`, { key: shop.key, body: {} })).body.code).toBe('VALIDATION_FAILED');
    // A voided code cannot come back through a new upload.
    const reupload = await addCodes(offer.id, codesFor('VOID', 2));
    expect(reupload.rejectsByReason).toEqual({ ALREADY_EXISTS: 2 });
  });
});

describe('pool state', () => {
  it('reports the 7-day issue rate and a days-until-empty forecast', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    await addCodes(offer.id, codesFor('RATE', 100));
    const now = new Date();
    // 14 codes issued over the last week (2 a day), 1 issued 10 days ago (outside the window).
    for (let day = 0; day < 7; day++) for (let i = 0; i < 2; i++) await claim(offer.id, `r${day}-${i}`, { now: new Date(now.getTime() - day * DAY_MS - 1000) });
    await claim(offer.id, 'old', { now: new Date(now.getTime() - 10 * DAY_MS) });
    const pool = await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/pool`, { key: shop.key });
    expect(pool.body).toMatchObject({ counts: { available: 85, issued: 15, total: 100 }, issuedLast7Days: 14, issueRatePerDay: 2, daysUntilEmpty: 42 });
    expect(pool.body.daily).toHaveLength(7);
    expect(pool.body.daily.reduce((sum: number, d: { issued: number }) => sum + d.issued, 0)).toBe(14);
    expect(pool.body.daily.at(-1).date).toBe(now.toISOString().slice(0, 10));
  });
});

describe('expiry, reservations and the sweep', () => {
  it('skips codes past their date at once and marks them expired on the sweep', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    const soon = new Date(Date.now() + 2 * DAY_MS);
    await addCodes(offer.id, codesFor('EXPA', 3), { expiresAt: soon.toISOString() });
    await addCodes(offer.id, codesFor('EXPB', 2));
    // Claims take the code expiring first, and skip codes that expire before the voucher needs them.
    expect((await claim(offer.id, 'first')).code.startsWith('EXPA')).toBe(true);
    const longLived = await system.services.db.transaction().execute((trx) =>
      claimCode(trx, owner, offer.id, system.services.secrets, { now: new Date(), holderRef: 'long', validAtLeastUntil: new Date(Date.now() + 5 * DAY_MS) }),
    );
    expect(longLived.code.startsWith('EXPB')).toBe(true);

    const later = new ManualClock(new Date(Date.now() + 3 * DAY_MS));
    const swept = await sweepPartnerPools({ ...system.services, clock: later }, db, shop.tenant.slug, owner.tenantId);
    expect(swept.expired).toBe(2);
    const pool = await request(system.baseUrl, 'GET', `/api/v1/offers/${offer.id}/pool`, { key: shop.key });
    expect(pool.body.counts).toMatchObject({ available: 1, issued: 2, expired: 2, total: 5 });
    expect((await sweepPartnerPools({ ...system.services, clock: later }, db, shop.tenant.slug, owner.tenantId)).expired).toBe(0);
  });

  it('reserves a code, issues it, or returns it to the pool when the hold lapses', async () => {
    const offer = await createOffer(system.baseUrl, shop.key, { lowStockThreshold: 0 });
    await addCodes(offer.id, codesFor('RSV', 2));
    const now = new Date();
    const held = await claim(offer.id, 'hold-1', { now, reserveUntil: new Date(now.getTime() + 60_000) });
    const lapsing = await claim(offer.id, 'hold-2', { now, reserveUntil: new Date(now.getTime() + 60_000) });
    expect([held.status, lapsing.status]).toEqual(['reserved', 'reserved']);
    await expect(claim(offer.id, 'none-left')).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    expect(await system.services.db.transaction().execute((trx) => issueReservedCode(trx, owner, held.codeId, 'hold-1', new Date()))).toBe(true);
    expect(await system.services.db.transaction().execute((trx) => issueReservedCode(trx, owner, lapsing.codeId, 'someone-else', new Date()))).toBe(false);

    // Past the hold: the sweep returns the second code to the pool.
    const later = new ManualClock(new Date(now.getTime() + 120_000));
    expect((await sweepPartnerPools({ ...system.services, clock: later }, db, shop.tenant.slug, owner.tenantId)).released).toBe(1);
    expect(await system.services.db.transaction().execute((trx) => issueReservedCode(trx, owner, lapsing.codeId, 'hold-2', later.now()))).toBe(false);
    const again = await claim(offer.id, 'after-release');
    expect(again.code).toBe(lapsing.code);
    expect(await system.services.db.transaction().execute((trx) => releaseReservedCodes(trx, owner, new Date(), { codeId: held.codeId }))).toBe(0);
  });

  it('queues again an import whose job never reached Redis', async () => {
    const offer = await createOffer(system.baseUrl, shop.key);
    // A batch committed as queued whose job was lost (Redis down at the time).
    await workers.close();
    const upload = await uploadCsv(system.baseUrl, shop.key, offer.id, 'LOST0001\nLOST0002\n');
    const queues = await import('bullmq');
    const queue = new queues.Queue('code-imports', { connection: { url: system.env.REDIS_URL }, prefix: system.config.queuePrefix });
    await queue.obliterate({ force: true });
    await queue.close();
    workers = await startImportWorkers(system.services);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await request(system.baseUrl, 'GET', `/api/v1/code-batches/${upload.body.id}`, { key: shop.key })).body.status).toBe('queued');

    const later = new ManualClock(new Date(Date.now() + 5 * 60_000));
    const swept = await sweepPartnerPools({ ...system.services, clock: later }, db, shop.tenant.slug, owner.tenantId);
    expect(swept.requeued).toBe(1);
    expect((await waitForBatch(system.baseUrl, shop.key, upload.body.id)).progress.accepted).toBe(2);
  });
});
