import { z } from 'zod';
import { campaignStatus } from '../campaigns/campaign.ts';
import type { TenantDb } from '../db/database.ts';
import type { CampaignMilestone } from '../db/tables.ts';
import { balancesByCampaign, pendingReleases } from './ledger.queries.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export const balanceOutputSchema = z.object({
  customerId: z.string(),
  available: z.number().int().describe('Stickers the customer can exchange now, all campaigns together. Negative after a return of spent stickers.'),
  pending: z.number().int().describe('Stickers on hold (returns window), all campaigns together.'),
  heldForReview: z.number().int().describe('Of pending: stickers an anti-fraud rule holds until a reviewer releases or reverses them (docs/fraud.md).'),
  campaigns: z.array(
    z.object({
      campaignId: z.string(),
      name: z.string(),
      status: z.enum(['scheduled', 'running', 'ended', 'burned']),
      available: z.number().int(),
      pending: z.number().int(),
      burnAt: z.string(),
    }),
  ),
  pendingReleases: z.array(
    z.object({
      campaignId: z.string(),
      stickers: z.number().int(),
      availableAt: z.string(),
      heldForReview: z.boolean().describe('Held by an anti-fraud rule: availableAt is the burn date, and a reviewer decides before then.'),
    }),
  ),
  expiringSoon: z.array(z.object({ campaignId: z.string(), stickers: z.number().int(), burnAt: z.string() })),
});

export type Balance = z.infer<typeof balanceOutputSchema>;

export async function computeBalance(db: TenantDb, customerId: string, now: Date, options: { expiringSoonDays: number }): Promise<Balance> {
  const [perCampaign, releases] = await Promise.all([balancesByCampaign(db, customerId, now), pendingReleases(db, customerId, now)]);
  const rows = perCampaign.map((row) => ({
    campaignId: row.campaign_id,
    name: row.name,
    status: campaignStatus(row, now),
    available: row.available,
    pending: row.total - row.available,
    burnAt: row.burn_at.toISOString(),
  }));
  const soon = new Date(now.getTime() + options.expiringSoonDays * DAY_MS);
  const burnAt = new Map(perCampaign.map((row) => [row.campaign_id, row.burn_at.getTime()]));
  // A hold dates its stickers at the campaign's burn date (docs/fraud.md).
  const pendingRows = releases.map((release) => ({
    campaignId: release.campaign_id,
    stickers: release.amount,
    availableAt: release.available_at.toISOString(),
    heldForReview: release.available_at.getTime() === burnAt.get(release.campaign_id),
  }));
  return {
    customerId,
    available: rows.reduce((sum, row) => sum + row.available, 0),
    pending: rows.reduce((sum, row) => sum + row.pending, 0),
    heldForReview: pendingRows.filter((row) => row.heldForReview).reduce((sum, row) => sum + row.stickers, 0),
    campaigns: rows,
    pendingReleases: pendingRows,
    expiringSoon: rows
      .filter((row) => row.available + row.pending > 0 && new Date(row.burnAt) > now && new Date(row.burnAt) <= soon)
      .map((row) => ({ campaignId: row.campaignId, stickers: row.available + row.pending, burnAt: row.burnAt })),
  };
}

export const progressOutputSchema = z.object({
  customerId: z.string(),
  goals: z.array(
    z.object({
      campaignId: z.string(),
      label: z.string(),
      stickers: z.number().int().describe('Stickers the goal costs.'),
      available: z.number().int(),
      stickersNeeded: z.number().int().describe('Still missing, counting available stickers only.'),
      percent: z.number().int().min(0).max(100),
    }),
  ),
});

export type Progress = z.infer<typeof progressOutputSchema>;

/**
 * Progress towards each goal the customer could aim at: until the reward catalog
 * exists, the milestones of campaigns not yet burned.
 */
export async function computeProgress(db: TenantDb, customerId: string, now: Date): Promise<Progress> {
  const [perCampaign, campaigns] = await Promise.all([
    balancesByCampaign(db, customerId, now),
    db.selectFrom('campaigns').select(['id', 'milestones', 'burn_at', 'starts_at']).where('burn_at', '>', now).where('starts_at', '<=', now).orderBy('id').execute(),
  ]);
  const available = new Map(perCampaign.map((row) => [row.campaign_id, row.available]));
  return {
    customerId,
    goals: campaigns.flatMap((campaign) =>
      (campaign.milestones as unknown as CampaignMilestone[])
        .slice()
        .sort((a, b) => a.stickers - b.stickers)
        .map((milestone) => {
          const have = Math.max(0, available.get(campaign.id) ?? 0);
          return {
            campaignId: campaign.id,
            label: milestone.label,
            stickers: milestone.stickers,
            available: available.get(campaign.id) ?? 0,
            stickersNeeded: Math.max(0, milestone.stickers - have),
            percent: Math.min(100, Math.floor((have * 100) / milestone.stickers)),
          };
        }),
    ),
  };
}
