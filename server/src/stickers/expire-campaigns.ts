import { sql } from 'kysely';
import { z } from 'zod';
import { coalitionDb, tenantDb, type Database, type TenantDb } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';
import type { Logger } from '../logging/logger.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Per-holder totals of a campaign, as a subquery: set-based, whatever the number of holders. */
function holderTotals(trx: TenantDb, campaignId: string) {
  return trx
    .selectFrom('sticker_ledger')
    .select(['customer_id', sql<number>`sum(amount)::integer`.as('total')])
    .where('campaign_id', '=', campaignId)
    .groupBy('customer_id')
    .having(sql`sum(amount)`, '>', 0);
}

/**
 * Warns every holder once the campaign has ended and its burn is within the issuer's
 * expiringSoonDays. Takes the campaign FOR NO KEY UPDATE, which purchases' and returns'
 * KEY SHARE locks do not wait for.
 */
async function warnHolders(db: TenantDb, campaignId: string, now: Date): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const campaign = await trx.selectFrom('campaigns').select(['id', 'burn_at']).where('id', '=', campaignId).where('expiring_notified_at', 'is', null).forNoKeyUpdate().skipLocked().executeTakeFirst();
    if (!campaign) return false;
    await trx
      .insertInto('outbox_events')
      .columns(['event_type', 'payload', 'occurred_at'])
      .expression(
        trx
          .selectFrom(holderTotals(trx, campaignId).as('h'))
          .select([
            sql<string>`'stickers.expiring_soon'`.as('event_type'),
            sql<string>`jsonb_build_object('customerId', h.customer_id, 'campaignId', ${campaignId}::text, 'stickers', h.total, 'burnAt', ${campaign.burn_at.toISOString()}::text)`.as('payload'),
            sql<Date>`${now}::timestamptz`.as('occurred_at'),
          ]),
      )
      .execute();
    await trx.updateTable('campaigns').set({ expiring_notified_at: now }).where('id', '=', campaignId).execute();
    return true;
  });
}

/**
 * Burns a campaign: one expiry row per holder taking a positive total to zero, and a
 * stickers.expired event each, in two set-based statements. FOR UPDATE on the campaign
 * waits for writers holding KEY SHARE on it (their rows are then counted) and makes
 * later writers wait, then see the burn (lockOpenCampaigns).
 */
async function burn(db: TenantDb, campaignId: string, now: Date): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const campaign = await trx.selectFrom('campaigns').select(['id', 'burn_at']).where('id', '=', campaignId).where('burned_at', 'is', null).forUpdate().skipLocked().executeTakeFirst();
    if (!campaign) return false;
    await trx
      .insertInto('sticker_ledger')
      .columns(['customer_id', 'campaign_id', 'kind', 'amount', 'available_at', 'recorded_at'])
      .expression(
        trx
          .selectFrom(holderTotals(trx, campaignId).as('h'))
          .select([
            'h.customer_id',
            sql<string>`${campaignId}::text`.as('campaign_id'),
            sql<string>`'expiry'`.as('kind'),
            sql<number>`-h.total`.as('amount'),
            sql<Date>`${campaign.burn_at}::timestamptz`.as('available_at'),
            sql<Date>`${now}::timestamptz`.as('recorded_at'),
          ]),
      )
      .execute();
    await trx
      .insertInto('outbox_events')
      .columns(['event_type', 'payload', 'occurred_at'])
      .expression(
        trx
          .selectFrom('sticker_ledger as l')
          .select([
            sql<string>`'stickers.expired'`.as('event_type'),
            sql<string>`jsonb_build_object('customerId', l.customer_id, 'campaignId', l.campaign_id, 'stickers', -l.amount, 'burnedAt', ${campaign.burn_at.toISOString()}::text)`.as('payload'),
            sql<Date>`${now}::timestamptz`.as('occurred_at'),
          ])
          .where('l.campaign_id', '=', campaignId)
          .where('l.kind', '=', 'expiry'),
      )
      .execute();
    await trx.updateTable('campaigns').set({ burned_at: now }).where('id', '=', campaignId).execute();
    return true;
  });
}

/**
 * One issuer's scheduled sticker work at `now`: warns holders of stickers that burn
 * within the issuer's expiringSoonDays (once the campaign has ended, so every holder
 * is known), and burns campaigns whose burn date has come. Idempotent: each campaign
 * is warned once and burned once, whoever runs it; one campaign's failure does not
 * stop the others (the first error is rethrown at the end).
 */
export async function expireDueCampaigns(db: TenantDb, now: Date): Promise<{ warned: string[]; burned: string[] }> {
  const { expiringSoonDays } = await getIssuerSettings(db);
  const warnBefore = new Date(now.getTime() + expiringSoonDays * DAY_MS);
  const warned: string[] = [];
  const burned: string[] = [];
  const errors: unknown[] = [];

  const toWarn = await db
    .selectFrom('campaigns')
    .select('id')
    .where('expiring_notified_at', 'is', null)
    .where('ends_at', '<=', now)
    .where('burn_at', '>', now)
    .where('burn_at', '<=', warnBefore)
    .orderBy('id')
    .execute();
  for (const { id } of toWarn) {
    await warnHolders(db, id, now).then((done) => done && warned.push(id), (error: unknown) => errors.push(error));
  }
  const toBurn = await db.selectFrom('campaigns').select('id').where('burned_at', 'is', null).where('burn_at', '<=', now).orderBy('id').execute();
  for (const { id } of toBurn) {
    await burn(db, id, now).then((done) => done && burned.push(id), (error: unknown) => errors.push(error));
  }
  if (errors.length) throw errors[0];
  return { warned, burned };
}

/** Every active issuer, in turn; one issuer's failure does not hold up the others. */
export async function expireDueCampaignsForAllIssuers(db: Database, now: Date, logger?: Logger): Promise<void> {
  const issuers = await coalitionDb(db)
    .selectFrom('tenants')
    .select('slug')
    .where('status', '=', 'active')
    .where(sql<boolean>`'issuer' = any(roles)`)
    .orderBy('slug')
    .execute();
  const failed: string[] = [];
  for (const { slug } of issuers) {
    try {
      await expireDueCampaigns(tenantDb(db, tenantSchemaName(slug)), now);
    } catch (error) {
      failed.push(slug);
      logger?.error({ tenant: slug, err: error }, 'expiring campaigns failed for this issuer');
    }
  }
  // Failing the job makes the failure visible (BullMQ keeps it); the next run retries.
  if (failed.length) throw new Error(`Expiring campaigns failed for ${failed.length} issuer(s): ${failed.join(', ')}`);
}

/** Runs every minute: hold releases need no job (they are derived), burns and warnings do. */
export const expireCampaignsJob: JobDefinition<Record<string, never>> = {
  queue: 'stickers',
  name: 'expire-campaigns',
  payload: z.strictObject({}),
  repeatEveryMs: 60_000,
  async handle(_payload, { services, logger }) {
    await expireDueCampaignsForAllIssuers(services.db, services.clock.now(), logger);
  },
};
