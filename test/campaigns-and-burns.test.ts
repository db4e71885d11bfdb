import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantSchemaName } from '../server/src/db/schema-names.ts';
import { expireDueCampaigns } from '../server/src/stickers/expire-campaigns.ts';
import type { ManualClock } from '../server/src/system/clock.ts';
import type { TenantWithKey } from './support/factories.ts';
import { request } from './support/http-client.ts';
import { campaignBody, createCampaign, isoAfter, purchaseBody, recordPurchase, recordReturn, startIssuerWorld, type IssuerWorld } from './support/issuer.ts';
import type { TestSystem } from './support/test-system.ts';

let system: TestSystem;
let issuer: TenantWithKey;
let clock: ManualClock;
let db: IssuerWorld['db'];

beforeAll(async () => {
  ({ system, issuer, clock, db } = await startIssuerWorld());
});
afterAll(() => system.stop());

const buyFor = (card: string, totalMinor: number, extra: Record<string, unknown> = {}) =>
  recordPurchase(system.baseUrl, issuer.key, purchaseBody(clock.now(), { customer: { cardNumber: card }, totalMinor, lines: [{ sku: 'G', quantity: 1, amountMinor: totalMinor }], ...extra }));

describe('campaign rules', () => {
  it.each([
    ['an end before the start', { endsAt: isoAfter(new Date('2026-11-01T10:00:00Z'), -2) }, 'endsAt'],
    ['a burn before the hold of the last purchases ends', { endsAt: isoAfter(new Date('2026-11-01T10:00:00Z'), 10), burnAt: isoAfter(new Date('2026-11-01T10:00:00Z'), 20) }, 'burnAt'],
    ['a negative amount step', { rules: { perAmountMinor: -500 } }, 'rules.perAmountMinor'],
    ['a start in the past', { startsAt: isoAfter(new Date('2026-11-01T10:00:00Z'), -3) }, 'startsAt'],
  ])('refuses %s', async (_label, change, path) => {
    const res = await request(system.baseUrl, 'POST', '/api/v1/campaigns', { key: issuer.key, body: campaignBody(clock.now(), change) });
    expect(res.status).toBe(400);
    expect(res.body.details.issues.map((issue: { path: string }) => issue.path)).toContain(path);
  });

  it('change only from a moment on: earlier receipts, even recorded later, keep the old terms', async () => {
    const campaign = await createCampaign(system.baseUrl, issuer.key, campaignBody(clock.now(), { storeCodes: ['RULES-1'], rules: { perAmountMinor: 10_000, holdDays: 14 } }));
    const past = await request(system.baseUrl, 'POST', `/api/v1/campaigns/${campaign.id}/rules`, {
      key: issuer.key,
      body: { effectiveFrom: isoAfter(clock.now(), -1), rules: { perAmountMinor: 1_000 } },
    });
    expect(past.status).toBe(422);
    expect(past.body.code).toBe('RULES_NOT_RETROACTIVE');

    const switchAt = isoAfter(clock.now(), 2);
    const scheduled = await request(system.baseUrl, 'POST', `/api/v1/campaigns/${campaign.id}/rules`, {
      key: issuer.key,
      body: { effectiveFrom: switchAt, rules: { perAmountMinor: 5_000, holdDays: 14 } },
    });
    expect(scheduled.body.ruleVersions.map((v: { effectiveFrom: string }) => v.effectiveFrom)).toEqual([clock.now().toISOString(), switchAt]);

    const receiptTime = clock.now();
    clock.advanceDays(3);
    const after = await buyFor('RULES-CARD', 100_000, { storeCode: 'RULES-1' });
    // A receipt from before the switch, arriving now (an offline till): old rules.
    const late = await buyFor('RULES-CARD', 100_000, { storeCode: 'RULES-1', occurredAt: receiptTime.toISOString() });
    expect(after.body.credited[0].stickers).toBe(20);
    expect(late.body.credited[0].stickers).toBe(10);

    const edit = await request(system.baseUrl, 'PATCH', `/api/v1/campaigns/${campaign.id}`, { key: issuer.key, body: { endsAt: isoAfter(clock.now(), 100) } });
    expect(edit.status).toBe(409);
    expect(edit.body.code).toBe('CAMPAIGN_ALREADY_STARTED');
    const rename = await request(system.baseUrl, 'PATCH', `/api/v1/campaigns/${campaign.id}`, { key: issuer.key, body: { name: 'Renamed while running' } });
    expect(rename.body.name).toBe('Renamed while running');
  });
});

describe('returns, idempotently', () => {
  it('replay, refuse a reused key with another body, and refuse the same return under a new key', async () => {
    const purchase = purchaseBody(clock.now(), { customer: { cardNumber: 'RET-IDEM' } });
    await recordPurchase(system.baseUrl, issuer.key, purchase);
    const body = { storeCode: 'MSK-001', receiptId: purchase.receiptId, returnId: 'DOC-7', occurredAt: clock.now().toISOString(), lines: [{ sku: 'MILK-1L', quantity: 2, amountMinor: 20_000 }] };
    const key = randomUUID();
    const first = await recordReturn(system.baseUrl, issuer.key, body, key);
    const replay = await recordReturn(system.baseUrl, issuer.key, body, key);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const reused = await recordReturn(system.baseUrl, issuer.key, { ...body, returnId: 'DOC-8' }, key);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const again = await recordReturn(system.baseUrl, issuer.key, body, randomUUID());
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('RETURN_ALREADY_RECORDED');
  });
});

describe('burns', () => {
  it('burn a campaign with many thousand holders in one go', async () => {
    const start = clock.now();
    const campaign = await createCampaign(system.baseUrl, issuer.key, campaignBody(start, { storeCodes: ['BIG-1'], endsAt: isoAfter(start, 5), burnAt: isoAfter(start, 20), rules: { perAmountMinor: 10_000, holdDays: 14 } }));
    const schema = tenantSchemaName(issuer.tenant.slug);
    const holders = 7_000;
    // Seed holders straight into the tables (the API path is covered elsewhere).
    const client = new pg.Client({ connectionString: system.env.DATABASE_URL });
    await client.connect();
    await client.query(`insert into ${schema}.customers (id, card_number, enrolled_via) select 'cus_big' || lpad(g::text, 12, '0'), 'BIG-' || g, 'test' from generate_series(1, $1) g`, [holders]);
    await client.query(
      `insert into ${schema}.sticker_ledger (customer_id, campaign_id, kind, amount, available_at, recorded_at) select 'cus_big' || lpad(g::text, 12, '0'), $1, 'accrual', 3, $2, $2 from generate_series(1, $3) g`,
      [campaign.id, start, holders],
    );
    await client.end();

    clock.advanceDays(20);
    const { burned } = await expireDueCampaigns(db(), clock.now());
    expect(burned).toContain(campaign.id);
    const totals = await db().selectFrom('sticker_ledger').select((eb) => eb.fn.sum<string>('amount').as('sum')).where('campaign_id', '=', campaign.id).executeTakeFirstOrThrow();
    expect(Number(totals.sum)).toBe(0);
    const events = await db().selectFrom('outbox_events').select((eb) => eb.fn.countAll<string>().as('n')).where('event_type', '=', 'stickers.expired').where(sql`payload->>'campaignId'`, '=', campaign.id).executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(holders);
  });

  it('wait for a purchase in flight at the burn date and count it; later ones land nowhere', async () => {
    const start = clock.now();
    const campaign = await createCampaign(system.baseUrl, issuer.key, campaignBody(start, { storeCodes: ['RACE-1'], endsAt: isoAfter(start, 5), burnAt: isoAfter(start, 20), rules: { perAmountMinor: 10_000, holdDays: 14 } }));
    const first = await buyFor('RACE-CARD', 50_000, { storeCode: 'RACE-1' });
    clock.advanceDays(20);
    // A writer that locked the open campaign just before the burn, and commits after it started.
    const schema = tenantSchemaName(issuer.tenant.slug);
    const writer = new pg.Client({ connectionString: system.env.DATABASE_URL });
    await writer.connect();
    await writer.query('begin');
    await writer.query(`select id from ${schema}.campaigns where id = $1 for key share`, [campaign.id]);
    // The burn does not wait inside the job: it leaves the busy campaign for the next run.
    expect((await expireDueCampaigns(db(), clock.now())).burned).not.toContain(campaign.id);
    await writer.query(
      `insert into ${schema}.sticker_ledger (customer_id, campaign_id, kind, amount, available_at, recorded_at) values ($1, $2, 'accrual', 4, $3, $3)`,
      [first.body.customerId, campaign.id, clock.now()],
    );
    await writer.query('commit');
    await writer.end();
    expect((await expireDueCampaigns(db(), clock.now())).burned).toContain(campaign.id);
    const total = await db().selectFrom('sticker_ledger').select((eb) => eb.fn.sum<string>('amount').as('sum')).where('campaign_id', '=', campaign.id).executeTakeFirstOrThrow();
    expect(Number(total.sum)).toBe(0);
    // After the burn the campaign takes nothing more.
    const afterBurn = await buyFor('RACE-CARD', 50_000, { storeCode: 'RACE-1', occurredAt: isoAfter(start, 4) });
    expect(afterBurn.body.credited).toEqual([]);
    const ret = await recordReturn(system.baseUrl, issuer.key, {
      storeCode: 'RACE-1',
      receiptId: (await db().selectFrom('purchases').select('receipt_id').where('id', '=', first.body.purchaseId).executeTakeFirstOrThrow()).receipt_id,
      returnId: 'RACE-RET',
      occurredAt: clock.now().toISOString(),
    });
    expect(ret.body.reversed).toEqual([{ campaignId: campaign.id, stickers: 0, from: 'burned' }]);
  });
});
