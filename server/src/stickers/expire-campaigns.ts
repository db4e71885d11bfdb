import { sql } from 'kysely';
import { z } from 'zod';
import { coalitionDb, tenantDb, type Database, type TenantDb } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';
import type { Logger } from '../logging/logger.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { appendLedger } from './ledger.queries.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

async function customerTotals(trx: TenantDb, campaignId: string): Promise<{ customer_id: string; card_number: string | null; total: number }[]> {
  // Lock every holder's customer row first (in id order, as everything else locks one
  // customer at a time): a spend or return in flight finishes before the totals are
  // read, and none can slip in between the totals and the expiry rows.
  const holders = await trx.selectFrom('sticker_ledger').select('customer_id').distinct().where('campaign_id', '=', campaignId).execute();
  if (holders.length === 0) return [];
  await trx.selectFrom('customers').select('id').where('id', 'in', holders.map((row) => row.customer_id)).orderBy('id').forUpdate().execute();
  const rows = await trx
    .selectFrom('sticker_ledger as l')
    .innerJoin('customers as c', 'c.id', 'l.customer_id')
    .select(['l.customer_id', 'c.card_number', sql<string>`sum(l.amount)`.as('total')])
    .where('l.campaign_id', '=', campaignId)
    .groupBy(['l.customer_id', 'c.card_number'])
    .having(sql`sum(l.amount)`, '>', 0)
    .orderBy('l.customer_id')
    .execute();
  return rows.map((row) => ({ customer_id: row.customer_id, card_number: row.card_number, total: Number(row.total) }));
}

type Holder = Awaited<ReturnType<typeof customerTotals>>[number];

/**
 * Runs `work` once per campaign, each in its own transaction, and stamps `doneColumn`
 * in it. The campaign row is locked (skipping one another worker holds), and re-read
 * with the stamp still empty, so concurrent workers never do a campaign twice.
 */
async function onceEach(
  db: TenantDb,
  campaigns: readonly { id: string }[],
  doneColumn: 'expiring_notified_at' | 'burned_at',
  now: Date,
  work: (trx: TenantDb, campaign: { id: string; burn_at: Date }, holders: Holder[]) => Promise<void>,
): Promise<string[]> {
  const done: string[] = [];
  for (const { id } of campaigns) {
    await db.transaction().execute(async (trx) => {
      const campaign = await trx.selectFrom('campaigns').select(['id', 'burn_at']).where('id', '=', id).where(doneColumn, 'is', null).forUpdate().skipLocked().executeTakeFirst();
      if (!campaign) return;
      await work(trx, campaign, await customerTotals(trx, id));
      await trx.updateTable('campaigns').set({ [doneColumn]: now }).where('id', '=', id).execute();
      done.push(id);
    });
  }
  return done;
}

/**
 * One issuer's scheduled sticker work at `now`: warns holders of stickers that burn
 * within the issuer's expiringSoonDays, and burns campaigns whose burn date has come.
 * Idempotent: each campaign is warned once and burned once, whoever runs it.
 */
export async function expireDueCampaigns(db: TenantDb, now: Date): Promise<{ warned: string[]; burned: string[] }> {
  const { expiringSoonDays } = await getIssuerSettings(db);
  const warnBefore = new Date(now.getTime() + expiringSoonDays * DAY_MS);
  const toWarn = await db.selectFrom('campaigns').select('id').where('expiring_notified_at', 'is', null).where('burn_at', '>', now).where('burn_at', '<=', warnBefore).execute();
  const warned = await onceEach(db, toWarn, 'expiring_notified_at', now, async (trx, campaign, holders) => {
    for (const holder of holders) {
      await appendOutboxEvent(trx, {
        type: 'stickers.expiring_soon',
        occurredAt: now,
        payload: { customerId: holder.customer_id, cardNumber: holder.card_number, campaignId: campaign.id, stickers: holder.total, burnAt: campaign.burn_at.toISOString() },
      });
    }
  });

  const toBurn = await db.selectFrom('campaigns').select('id').where('burned_at', 'is', null).where('burn_at', '<=', now).execute();
  const burned = await onceEach(db, toBurn, 'burned_at', now, async (trx, campaign, holders) => {
    await appendLedger(
      trx,
      holders.map((holder) => ({
        customer_id: holder.customer_id,
        campaign_id: campaign.id,
        kind: 'expiry' as const,
        amount: -holder.total,
        available_at: campaign.burn_at,
        recorded_at: now,
        purchase_id: null,
        return_id: null,
        actor: null,
        reason: null,
        reference: null,
      })),
    );
    for (const holder of holders) {
      await appendOutboxEvent(trx, {
        type: 'stickers.expired',
        occurredAt: now,
        payload: { customerId: holder.customer_id, cardNumber: holder.card_number, campaignId: campaign.id, stickers: holder.total, burnedAt: campaign.burn_at.toISOString() },
      });
    }
  });
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
