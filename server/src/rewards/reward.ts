import type { Selectable } from 'kysely';
import { z } from 'zod';
import { agreementIdSchema } from '../agreements/agreement.ts';
import { campaignIdSchema } from '../campaigns/campaign.ts';
import type { RewardsTable } from '../db/tables.ts';
import { humanText } from '../errors/text-schemas.ts';
import { offerIdSchema } from '../offers/offer.ts';

export const rewardIdSchema = z.string().regex(/^rwd_[0-9A-Za-z]{12}$/, 'must be a reward id (rwd_ followed by 12 letters and digits)');

export const limitPeriodSchema = z.enum(['day', 'week', 'month']).describe("Calendar day, ISO week (from Monday) or month, in the issuer's time zone.");

export const rewardLimitsSchema = z.strictObject({
  perCustomer: z.number().int().min(1).max(1_000_000).nullable().default(null).describe('How many vouchers of this reward one customer may hold in all; null = no limit.'),
  perPeriod: z
    .strictObject({ count: z.number().int().min(1).max(1_000_000), period: limitPeriodSchema })
    .nullable()
    .default(null)
    .describe('How many per calendar period; null = no limit.'),
});

const imageUrlSchema = z.url({ protocol: /^https$/, error: 'must be an https URL' }).max(2_000).nullable();

const displayFields = {
  title: humanText(200),
  description: z.string().trim().max(5_000),
  imageUrl: imageUrlSchema,
  sortOrder: z.number().int().min(-1_000_000).max(1_000_000).describe('Catalog order: lower first.'),
};

const exchangeFields = {
  stickerCost: z.number().int().min(1).max(100_000).describe("Stickers of the campaign one voucher costs."),
  voucherValidDays: z.number().int().min(1).max(730).describe("A voucher expires this many days after issue at the latest (earlier if its code or the partner's offer expires first)."),
  minCodeValidityDays: z.number().int().min(0).max(730).describe('Only codes still valid for at least this many days are handed out.'),
};

function validityIsConsistent(value: { voucherValidDays?: number | undefined; minCodeValidityDays?: number | undefined }, context: z.RefinementCtx): void {
  if (value.voucherValidDays !== undefined && value.minCodeValidityDays !== undefined && value.minCodeValidityDays > value.voucherValidDays) {
    context.addIssue({ code: 'custom', path: ['minCodeValidityDays'], message: 'must not exceed voucherValidDays' });
  }
}

export const createRewardInputSchema = z
  .strictObject({
    title: displayFields.title,
    description: displayFields.description.default(''),
    imageUrl: displayFields.imageUrl.default(null),
    sortOrder: displayFields.sortOrder.default(0),
    agreementId: agreementIdSchema.describe('An active agreement of yours (as issuer) that covers the offer.'),
    offerId: offerIdSchema.describe("The partner's offer behind the reward."),
    campaignId: campaignIdSchema.describe('The campaign whose stickers pay for it.'),
    stickerCost: exchangeFields.stickerCost,
    limits: rewardLimitsSchema.prefault({}),
    voucherValidDays: exchangeFields.voucherValidDays.default(90),
    minCodeValidityDays: exchangeFields.minCodeValidityDays.default(7),
    status: z.enum(['active', 'paused']).default('active'),
  })
  .superRefine(validityIsConsistent);
export type CreateRewardInput = z.input<typeof createRewardInputSchema>;

export const updateRewardInputSchema = z
  .strictObject({
    title: displayFields.title.optional(),
    description: displayFields.description.optional(),
    imageUrl: displayFields.imageUrl.optional(),
    sortOrder: displayFields.sortOrder.optional(),
    stickerCost: exchangeFields.stickerCost.optional(),
    limits: rewardLimitsSchema.optional(),
    voucherValidDays: exchangeFields.voucherValidDays.optional(),
    minCodeValidityDays: exchangeFields.minCodeValidityDays.optional(),
  })
  .superRefine(validityIsConsistent)
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'name at least one field to change');
export type UpdateRewardInput = z.input<typeof updateRewardInputSchema>;

export const rewardStatusSchema = z.enum(['active', 'paused', 'archived']).describe('active: in the catalog; paused: hidden for now; archived: retired for good.');

export const rewardOutputSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  imageUrl: z.string().nullable(),
  sortOrder: z.number().int(),
  agreementId: z.string(),
  offerId: z.string(),
  campaignId: z.string(),
  stickerCost: z.number().int(),
  limits: z.object({ perCustomer: z.number().int().nullable(), perPeriod: z.object({ count: z.number().int(), period: limitPeriodSchema }).nullable() }),
  voucherValidDays: z.number().int(),
  minCodeValidityDays: z.number().int(),
  status: rewardStatusSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Reward = z.infer<typeof rewardOutputSchema>;

export type RewardRow = Selectable<RewardsTable>;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Every code handed out is valid for at least this long, even with minCodeValidityDays 0. */
const MIN_CODE_VALIDITY_MS = 60 * 60 * 1000;

/** The moment a code handed out for this reward must still be valid at: the catalog counts and the exchange claims with it. */
export function codesNeededUntil(reward: Pick<RewardRow, 'min_code_validity_days'>, now: Date): Date {
  return new Date(now.getTime() + Math.max(reward.min_code_validity_days * DAY_MS, MIN_CODE_VALIDITY_MS));
}

export function limitsOf(row: RewardRow): Reward['limits'] {
  return {
    perCustomer: row.limit_total,
    perPeriod: row.limit_per_period !== null && row.limit_period !== null ? { count: row.limit_per_period, period: row.limit_period } : null,
  };
}

export function toReward(row: RewardRow): Reward {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    imageUrl: row.image_url,
    sortOrder: row.sort_order,
    agreementId: row.agreement_id,
    offerId: row.offer_id,
    campaignId: row.campaign_id,
    stickerCost: row.sticker_cost,
    limits: limitsOf(row),
    voucherValidDays: row.voucher_valid_days,
    minCodeValidityDays: row.min_code_validity_days,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** archived is final; active and paused move both ways. */
export const REWARD_TRANSITIONS: Record<RewardRow['status'], RewardRow['status'][]> = {
  active: ['paused', 'archived'],
  paused: ['active', 'archived'],
  archived: [],
};
