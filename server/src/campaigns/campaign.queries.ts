import type { Insertable, Selectable, Updateable } from 'kysely';
import type { TenantDb } from '../db/database.ts';
import type { CampaignsTable } from '../db/tables.ts';
import { toRuleVersion, type RuleVersion } from './campaign.ts';

export type CampaignRow = Selectable<CampaignsTable>;

export async function insertCampaign(db: TenantDb, values: Insertable<CampaignsTable>): Promise<CampaignRow> {
  return db.insertInto('campaigns').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findCampaign(db: TenantDb, id: string, options: { forUpdate?: boolean } = {}): Promise<CampaignRow | undefined> {
  const query = db.selectFrom('campaigns').selectAll().where('id', '=', id);
  return (options.forUpdate ? query.forNoKeyUpdate() : query).executeTakeFirst();
}

export async function listCampaignRows(db: TenantDb): Promise<CampaignRow[]> {
  return db.selectFrom('campaigns').selectAll().orderBy('starts_at', 'desc').orderBy('id').execute();
}

export async function updateCampaignRow(db: TenantDb, id: string, patch: Updateable<CampaignsTable>): Promise<CampaignRow> {
  return db.updateTable('campaigns').set({ ...patch, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function insertRuleVersion(db: TenantDb, values: { campaignId: string; effectiveFrom: Date; rules: unknown; createdBy: string }): Promise<void> {
  await db
    .insertInto('campaign_rule_versions')
    .values({ campaign_id: values.campaignId, effective_from: values.effectiveFrom, rules: JSON.stringify(values.rules), created_by: values.createdBy })
    .execute();
}

export async function ruleVersionsByCampaign(db: TenantDb, campaignIds: readonly string[]): Promise<Map<string, RuleVersion[]>> {
  const byCampaign = new Map<string, RuleVersion[]>(campaignIds.map((id) => [id, []]));
  if (campaignIds.length === 0) return byCampaign;
  const rows = await db
    .selectFrom('campaign_rule_versions')
    .select(['campaign_id', 'effective_from', 'rules'])
    .where('campaign_id', 'in', campaignIds)
    .orderBy('effective_from')
    .execute();
  for (const row of rows) byCampaign.get(row.campaign_id)?.push(toRuleVersion(row));
  return byCampaign;
}

/**
 * Campaigns in which a purchase at `at` in `storeCode` earns stickers, among those
 * still open at `now`, locked FOR KEY SHARE like lockOpenCampaigns (one round trip).
 */
export async function lockCampaignsAccruingAt(db: TenantDb, at: Date, storeCode: string, now: Date): Promise<CampaignRow[]> {
  return db
    .selectFrom('campaigns')
    .selectAll()
    .where('starts_at', '<=', at)
    .where('ends_at', '>', at)
    .where('burned_at', 'is', null)
    .where('burn_at', '>', now)
    .where((eb) => eb.or([eb('store_codes', 'is', null), eb(eb.val(storeCode), '=', eb.fn.any('store_codes'))]))
    .orderBy('id')
    .forKeyShare()
    .execute();
}

/**
 * The campaigns among `ids` that still take ledger rows at `now`, locked FOR KEY SHARE
 * until the transaction ends. A burn takes the campaign FOR UPDATE SKIP LOCKED: while
 * a writer holds this lock the burn leaves the campaign for its next run, and writers
 * that come while a burn runs wait for it, then see it. Nothing lands after a burn.
 */
export async function lockOpenCampaigns(db: TenantDb, ids: readonly string[], now: Date): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('campaigns').select('id').where('id', 'in', [...ids]).where('burned_at', 'is', null).where('burn_at', '>', now).orderBy('id').forKeyShare().execute();
  return new Set(rows.map((row) => row.id));
}
