import { randomUUID } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import { sql } from 'kysely';
import { tenantDb, type TenantDb } from '../../server/src/db/database.ts';
import { tenantSchemaName } from '../../server/src/db/schema-names.ts';
import type { WorkerHost } from '../../server/src/jobs/worker-host.ts';
import { ManualClock } from '../../server/src/system/clock.ts';
import { tenantWithKey, type TenantWithKey } from './factories.ts';
import { request, type ApiResponse } from './http-client.ts';
import { campaignBody, createCampaign } from './issuer.ts';
import { createOffer, startImportWorkers, uploadCsv, waitForBatch } from './partner.ts';
import { startTestSystem, type TestSystem } from './test-system.ts';

const cardSuffix = customAlphabet('0123456789', 10);

export interface ExchangeWorld {
  system: TestSystem;
  clock: ManualClock;
  workers: WorkerHost;
  issuer: TenantWithKey;
  partner: TenantWithKey;
  campaignId: string;
  issuerDb: () => TenantDb;
  partnerDb: () => TenantDb;
  stop(): Promise<void>;
}

/** A test system on a controlled clock with an issuer (running campaign) and a partner (import workers running). */
export async function startExchangeWorld(options: { start?: string; env?: Record<string, string> } = {}): Promise<ExchangeWorld> {
  const clock = new ManualClock(options.start ?? '2026-11-02T10:00:00Z');
  const system = await startTestSystem(options.env ?? {}, { clock });
  const workers = await startImportWorkers(system.services);
  const issuer = await tenantWithKey(system.services, { slug: `grocer-${cardSuffix().slice(0, 6)}`, roles: ['issuer'], scopes: ['admin'] });
  const partner = await tenantWithKey(system.services, { slug: `volt-${cardSuffix().slice(0, 6)}`, roles: ['partner'], scopes: ['admin'] });
  const campaign = await createCampaign(system.baseUrl, issuer.key, campaignBody(clock.now()));
  return {
    system,
    clock,
    workers,
    issuer,
    partner,
    campaignId: campaign.id,
    issuerDb: () => tenantDb(system.services.db, tenantSchemaName(issuer.tenant.slug)),
    partnerDb: () => tenantDb(system.services.db, tenantSchemaName(partner.tenant.slug)),
    stop: async () => {
      await workers.close();
      await system.stop();
    },
  };
}

/** An active offer of the partner holding exactly these codes. */
export async function offerWithCodes(world: ExchangeWorld, codes: readonly string[], overrides: Record<string, unknown> = {}): Promise<{ id: string }> {
  const offer = await createOffer(world.system.baseUrl, world.partner.key, { lowStockThreshold: 10, ...overrides });
  if (codes.length) {
    const upload = await uploadCsv(world.system.baseUrl, world.partner.key, offer.id, `code\n${codes.join('\n')}\n`);
    const batch = await waitForBatch(world.system.baseUrl, world.partner.key, upload.body.id);
    if (batch.status !== 'ready' || batch.progress.accepted !== codes.length) throw new Error(`codes not imported: ${JSON.stringify(batch)}`);
  }
  return offer;
}

export function codeList(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
}

/** The partner proposes, the issuer accepts: an agreement in force over these offers. */
export async function activeAgreement(world: ExchangeWorld, offerIds: string[], terms: Record<string, unknown> = {}): Promise<any> {
  const proposed = await request(world.system.baseUrl, 'POST', '/api/v1/agreements', {
    key: world.partner.key,
    body: { name: 'Kitchenware for stickers', issuer: world.issuer.tenant.slug, offerIds, model: { type: 'issuer_pays_per_issued', amountMinor: 5_000 }, currency: 'RUB', ...terms },
  });
  if (proposed.status !== 200) throw new Error(`agreement not proposed: ${proposed.status} ${JSON.stringify(proposed.body)}`);
  const accepted = await request(world.system.baseUrl, 'POST', `/api/v1/agreements/${proposed.body.id}/accept`, { key: world.issuer.key });
  if (accepted.status !== 200) throw new Error(`agreement not accepted: ${accepted.status} ${JSON.stringify(accepted.body)}`);
  return accepted.body;
}

export async function createReward(world: ExchangeWorld, body: Record<string, unknown>): Promise<any> {
  const res = await request(world.system.baseUrl, 'POST', '/api/v1/rewards', { key: world.issuer.key, body: { title: 'Frying pan voucher', campaignId: world.campaignId, stickerCost: 10, ...body } });
  if (res.status !== 200) throw new Error(`reward not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Offer + codes + agreement + reward in one go. */
export async function rewardWithCodes(world: ExchangeWorld, codes: readonly string[], options: { reward?: Record<string, unknown>; agreement?: Record<string, unknown>; offer?: Record<string, unknown> } = {}) {
  const offer = await offerWithCodes(world, codes, options.offer);
  const agreement = await activeAgreement(world, [offer.id], options.agreement);
  const reward = await createReward(world, { agreementId: agreement.id, offerId: offer.id, ...options.reward });
  return { offer, agreement, reward };
}

/**
 * Customers of the issuer holding `stickers` available stickers each in the world's
 * campaign, written straight to the tables (a support adjustment each): seeding, not
 * the behaviour under test.
 */
export async function customersWithStickers(world: ExchangeWorld, count: number, stickers: number): Promise<string[]> {
  const db = world.issuerDb();
  const ids = Array.from({ length: count }, () => `cus_${customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 16)()}`);
  for (let start = 0; start < ids.length; start += 500) {
    const slice = ids.slice(start, start + 500);
    await db
      .insertInto('customers')
      .values(slice.map((id) => ({ id, card_number: `C-${cardSuffix()}`, phone_hash: null, phone_hint: null, enrolled_via: 'test' })))
      .execute();
    await db
      .insertInto('sticker_ledger')
      .values(
        slice.map((id) => ({
          customer_id: id,
          campaign_id: world.campaignId,
          kind: 'adjustment' as const,
          amount: stickers,
          available_at: world.clock.now(),
          recorded_at: world.clock.now(),
          purchase_id: null,
          return_id: null,
          actor: 'test',
          reason: 'seed',
          reference: null,
        })),
      )
      .execute();
  }
  return ids;
}

export function exchange(world: ExchangeWorld, body: Record<string, unknown>, idempotencyKey: string = randomUUID(), baseUrl = world.system.baseUrl, key = world.issuer.key): Promise<ApiResponse> {
  return request(baseUrl, 'POST', '/api/v1/exchanges', { key, body, headers: { 'idempotency-key': idempotencyKey } });
}

export async function availableStickers(world: ExchangeWorld, customerId: string): Promise<number> {
  const row = await world
    .issuerDb()
    .selectFrom('sticker_ledger')
    .select(sql<number>`coalesce(sum(amount), 0)::integer`.as('n'))
    .where('customer_id', '=', customerId)
    .executeTakeFirstOrThrow();
  return row.n;
}
