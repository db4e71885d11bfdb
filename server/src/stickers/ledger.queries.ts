import { sql, type Insertable, type Selectable } from 'kysely';
import type { TenantDb } from '../db/database.ts';
import type { StickerLedgerTable } from '../db/tables.ts';

export type LedgerRow = Selectable<StickerLedgerTable>;
export type NewLedgerRow = Insertable<StickerLedgerTable>;

export async function appendLedger(db: TenantDb, rows: readonly NewLedgerRow[]): Promise<void> {
  if (rows.length) await db.insertInto('sticker_ledger').values([...rows]).execute();
}

export interface CampaignBalanceRow {
  campaign_id: string;
  name: string;
  starts_at: Date;
  ends_at: Date;
  burn_at: Date;
  available: number;
  total: number;
}

/**
 * Whether a ledger row (alias l, campaign c) counts as available at `now`: once its
 * available_at has passed, or once the campaign's burn date has (stickers still on
 * hold at the burn date burn with the rest). A debit that took effect when it was
 * written (available_at <= recorded_at: a spend, a correction, a reversal of
 * available stickers, a burn) counts at once, whatever `now` says: a writer that read
 * its clock before another process's spend committed, then waited for the customer
 * lock, must still see that spend, or two processes could spend the same stickers.
 */
function countsAsAvailable(now: Date) {
  return sql<boolean>`(least(l.available_at, c.burn_at) <= ${now} or (l.amount < 0 and l.available_at <= l.recorded_at))`;
}

/** A customer's balance per campaign, straight from the ledger (see countsAsAvailable). */
export async function balancesByCampaign(db: TenantDb, customerId: string, now: Date): Promise<CampaignBalanceRow[]> {
  const rows = await db
    .selectFrom('sticker_ledger as l')
    .innerJoin('campaigns as c', 'c.id', 'l.campaign_id')
    .select([
      'l.campaign_id',
      'c.name',
      'c.starts_at',
      'c.ends_at',
      'c.burn_at',
      sql<string>`coalesce(sum(l.amount) filter (where ${countsAsAvailable(now)}), 0)`.as('available'),
      sql<string>`sum(l.amount)`.as('total'),
    ])
    .where('l.customer_id', '=', customerId)
    .groupBy(['l.campaign_id', 'c.name', 'c.starts_at', 'c.ends_at', 'c.burn_at'])
    .orderBy('l.campaign_id')
    .execute();
  return rows.map((row) => ({ ...row, available: Number(row.available), total: Number(row.total) }));
}

/**
 * A customer's available stickers in one campaign, if the campaign still takes ledger
 * rows at `now` (not burned), locking the campaign FOR KEY SHARE like
 * lockOpenCampaigns: the spend's check in one round trip. undefined when the campaign
 * has burned.
 */
export async function availableInOpenCampaign(db: TenantDb, customerId: string, campaignId: string, now: Date): Promise<number | undefined> {
  const row = await db
    .selectFrom('campaigns as c')
    .select((eb) =>
      eb
        .selectFrom('sticker_ledger as l')
        .select(sql<string>`coalesce(sum(l.amount) filter (where ${countsAsAvailable(now)}), 0)`.as('n'))
        .where('l.customer_id', '=', customerId)
        .whereRef('l.campaign_id', '=', 'c.id')
        .as('available'),
    )
    .where('c.id', '=', campaignId)
    .where('c.burned_at', 'is', null)
    .where('c.burn_at', '>', now)
    .forKeyShare()
    .executeTakeFirst();
  return row ? Number(row.available) : undefined;
}

/** Amounts still on hold, by the moment they become available. */
export async function pendingReleases(db: TenantDb, customerId: string, now: Date): Promise<{ campaign_id: string; available_at: Date; amount: number }[]> {
  const rows = await db
    .selectFrom('sticker_ledger as l')
    .innerJoin('campaigns as c', 'c.id', 'l.campaign_id')
    .select(['l.campaign_id', 'l.available_at', sql<string>`sum(l.amount)`.as('amount')])
    .where('l.customer_id', '=', customerId)
    .where(sql<boolean>`not ${countsAsAvailable(now)}`)
    .groupBy(['l.campaign_id', 'l.available_at'])
    .having(sql`sum(l.amount)`, '<>', 0)
    .orderBy('l.available_at')
    .execute();
  return rows.map((row) => ({ campaign_id: row.campaign_id, available_at: row.available_at, amount: Number(row.amount) }));
}

export async function ledgerOfPurchase(db: TenantDb, purchaseId: string): Promise<LedgerRow[]> {
  return db.selectFrom('sticker_ledger').selectAll().where('purchase_id', '=', purchaseId).orderBy('id').execute();
}
