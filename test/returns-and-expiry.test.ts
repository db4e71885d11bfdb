import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { expireCampaignsJob, expireDueCampaigns } from '../server/src/stickers/expire-campaigns.ts';
import { spendStickers } from '../server/src/stickers/spend-stickers.ts';
import type { ManualClock } from '../server/src/system/clock.ts';
import type { TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { startIssuerWorld, type IssuerWorld, campaignBody, createCampaign, isoAfter, purchaseBody, recordPurchase, recordReturn } from './support/issuer.ts';
import type { TestSystem } from './support/test-system.ts';

let system: TestSystem;
let issuer: TenantWithKey;
let clock: ManualClock;
let db: IssuerWorld['db'];
let campaignId: string;

beforeAll(async () => {
  ({ system, issuer, clock, db } = await startIssuerWorld());
  // 1 sticker per 100.00, 14 days on hold, burns 60 days from now.
  campaignId = (await createCampaign(system.baseUrl, issuer.key, campaignBody(clock.now(), { rules: { perAmountMinor: 10_000, holdDays: 14 } }))).id;
});
afterAll(() => system.stop());

const balanceOf = async (customerId: string) => (await request(system.baseUrl, 'GET', `/api/v1/customers/${customerId}/balance`, { key: issuer.key })).body;

async function buy(card: string, totalMinor: number, extra: Record<string, unknown> = {}) {
  const res = await recordPurchase(system.baseUrl, issuer.key, purchaseBody(clock.now(), { customer: { cardNumber: card }, totalMinor, lines: [{ sku: 'GOODS', quantity: 1, amountMinor: totalMinor }], ...extra }));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe('returns', () => {
  it('void stickers still on hold, proportionally for partial returns', async () => {
    const purchase = await buy('RET-1', 100_000); // 10 stickers, pending
    const partial = await recordReturn(system.baseUrl, issuer.key, {
      storeCode: 'MSK-001',
      receiptId: (await db().selectFrom('purchases').select('receipt_id').where('id', '=', purchase.purchaseId).executeTakeFirstOrThrow()).receipt_id,
      returnId: 'RET-DOC-1',
      occurredAt: clock.now().toISOString(),
      lines: [{ sku: 'GOODS', quantity: 1, amountMinor: 35_000 }],
    });
    expect(partial.status, JSON.stringify(partial.body)).toBe(200);
    expect(partial.body).toMatchObject({ returnedMinor: 35_000, reversed: [{ campaignId, stickers: 3, from: 'pending' }], balance: { available: 0, pending: 7 }, owing: false });
    // The rest of the receipt: a whole-receipt return takes back exactly what remains.
    const receiptId = (await db().selectFrom('purchases').select('receipt_id').where('id', '=', purchase.purchaseId).executeTakeFirstOrThrow()).receipt_id;
    const rest = await recordReturn(system.baseUrl, issuer.key, { storeCode: 'MSK-001', receiptId, returnId: 'RET-DOC-2', occurredAt: clock.now().toISOString() });
    expect(rest.body).toMatchObject({ returnedMinor: 65_000, reversed: [{ stickers: 7, from: 'pending' }], balance: { available: 0, pending: 0 } });
    const more = await recordReturn(system.baseUrl, issuer.key, { storeCode: 'MSK-001', receiptId, returnId: 'RET-DOC-3', occurredAt: clock.now().toISOString() });
    expect(more.status).toBe(422);
    expect(more.body.code).toBe('RETURN_EXCEEDS_PURCHASE');
  });

  it('take back spent stickers: the customer owes, cannot exchange, and the history says why', async () => {
    const purchase = await buy('RET-2', 100_000, { receiptId: 'R-SPENT' }); // 10 stickers
    clock.advanceDays(15); // hold over: available
    expect(await balanceOf(purchase.customerId)).toMatchObject({ available: 10, pending: 0 });
    await db().transaction().execute((trx) => spendStickers(trx, { customer: { id: purchase.customerId }, campaignId, stickers: 8, reference: 'exchange ex_1', now: clock.now() }));

    const ret = await recordReturn(system.baseUrl, issuer.key, { storeCode: 'MSK-001', receiptId: 'R-SPENT', returnId: 'RET-SPENT', occurredAt: clock.now().toISOString() });
    expect(ret.body).toMatchObject({ reversed: [{ stickers: 10, from: 'available' }], balance: { available: -8 }, owing: true });
    const reversedEvent = (await db().selectFrom('outbox_events').select('payload').where('event_type', '=', 'stickers.reversed').execute()).map((row) => row.payload).find((payload) => (payload as { returnId?: string }).returnId === 'RET-SPENT');
    expect(reversedEvent).toMatchObject({ returnedMinor: 100_000, owing: true, campaigns: [{ campaignId, available: -8, pending: 0 }] });

    const spend = db().transaction().execute((trx) => spendStickers(trx, { customer: { id: purchase.customerId }, campaignId, stickers: 1, reference: 'exchange ex_2', now: clock.now() }));
    await expect(spend).rejects.toMatchObject({ code: 'INSUFFICIENT_STICKERS' });

    const history = (await request(system.baseUrl, 'GET', `/api/v1/customers/${purchase.customerId}/history`, { key: issuer.key })).body;
    expect(history.entries.map((entry: { kind: string; stickers: number }) => [entry.kind, entry.stickers])).toEqual([
      ['reversal', -10],
      ['spend', -8],
      ['accrual', 10],
    ]);
    expect(history.entries[0].description).toContain('return RET-SPENT of receipt R-SPENT');
  });
});

describe('time: hold releases, expiry warnings and burns', () => {
  it('releases held stickers on their date, warns before the burn, burns on the burn date', async () => {
    const start = clock.now();
    const campaign = (
      await createCampaign(system.baseUrl, issuer.key, campaignBody(start, { name: 'Short one', endsAt: isoAfter(start, 10), burnAt: isoAfter(start, 20), rules: { perAmountMinor: 10_000, holdDays: 3 } }))
    ).id;
    const purchase = await buy('TIME-1', 50_000);
    const inCampaign = async () => (await balanceOf(purchase.customerId)).campaigns.find((c: { campaignId: string }) => c.campaignId === campaign);
    expect(await inCampaign()).toMatchObject({ available: 0, pending: 5 });

    clock.advanceDays(3);
    expect(await inCampaign()).toMatchObject({ available: 5, pending: 0 });

    // Default warning: 7 days before the burn.
    clock.advanceDays(9); // day 12: burn in 8 days
    expect((await expireDueCampaigns(db(), clock.now())).warned).not.toContain(campaign);
    clock.advanceDays(1); // day 13: burn in 7 days
    expect((await expireDueCampaigns(db(), clock.now())).warned).toContain(campaign);
    expect((await expireDueCampaigns(db(), clock.now())).warned).not.toContain(campaign);
    const warning = await db().selectFrom('outbox_events').select('payload').where('event_type', '=', 'stickers.expiring_soon').execute();
    expect(warning.map((row) => row.payload)).toContainEqual(expect.objectContaining({ customerId: purchase.customerId, campaignId: campaign, stickers: 5 }));

    clock.advanceDays(7); // day 20: the burn date
    // The scheduled job, as a worker runs it.
    await expireCampaignsJob.handle({}, { services: system.services, logger: system.services.logger });
    expect(await inCampaign()).toMatchObject({ available: 0, pending: 0, status: 'burned' });
    const expired = await db().selectFrom('outbox_events').select('payload').where('event_type', '=', 'stickers.expired').execute();
    expect(expired.map((row) => row.payload)).toContainEqual(expect.objectContaining({ customerId: purchase.customerId, campaignId: campaign, stickers: 5 }));
    // Burned once: running the job again writes nothing new.
    const ledgerRows = async () => (await db().selectFrom('sticker_ledger').select('id').where('campaign_id', '=', campaign).execute()).length;
    const before = await ledgerRows();
    await expireCampaignsJob.handle({}, { services: system.services, logger: system.services.logger });
    expect(await ledgerRows()).toBe(before);
  });
});

describe('the ledger', () => {
  it('refuses UPDATE, DELETE and TRUNCATE at the database, whoever asks', async () => {
    const table = sql.table(`${tenantSchemaName(issuer.tenant.slug)}.sticker_ledger`);
    for (const statement of [sql`update ${table} set amount = 1000`, sql`delete from ${table}`, sql`truncate ${table}`]) {
      await expect(statement.execute(system.services.db)).rejects.toThrow(/append-only/);
    }
  });
});
