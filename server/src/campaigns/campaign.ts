import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { CampaignMilestone, CampaignRuleVersionsTable, CampaignsTable } from '../db/tables.ts';
import { humanText } from '../errors/text-schemas.ts';
import { accrualRulesSchema, type AccrualRules } from './accrual-rules.ts';

export const campaignIdSchema = z.string().regex(/^cmp_[0-9A-Za-z]{12}$/, 'must be a campaign id (cmp_ followed by 12 letters and digits)');
/** Case-insensitive: stored and compared in capitals, so "msk-001" and "MSK-001" are one store. */
export const storeCodeSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, dots, hyphens or underscores, starting with a letter or digit')
  .transform((value) => value.toUpperCase());
export const timestampSchema = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T00:00:00+03:00' });

export const milestoneSchema = z.strictObject({ stickers: z.number().int().min(1).max(100_000), label: humanText(100) });

const campaignFields = {
  name: humanText(200),
  description: z.string().trim().max(5_000).default(''),
  terms: z.string().trim().max(20_000).default('').describe('Terms and conditions shown to customers.'),
  startsAt: timestampSchema,
  endsAt: timestampSchema.describe('Purchases from startsAt up to (not including) endsAt earn stickers.'),
  burnAt: timestampSchema.describe('Unspent stickers burn at this moment; not before endsAt.'),
  storeCodes: z.array(storeCodeSchema).min(1).max(10_000).nullable().default(null).describe('Eligible stores; null = all stores.'),
  milestones: z.array(milestoneSchema).max(50).default([]).describe('Goals shown as progress until the reward catalog exists.'),
};

function periodIsValid(value: { startsAt?: string | undefined; endsAt?: string | undefined; burnAt?: string | undefined }, context: z.RefinementCtx): void {
  const { startsAt, endsAt, burnAt } = value;
  if (startsAt && endsAt && new Date(endsAt) <= new Date(startsAt)) context.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' });
  if (endsAt && burnAt && new Date(burnAt) < new Date(endsAt)) context.addIssue({ code: 'custom', path: ['burnAt'], message: 'must not be before endsAt' });
}

export const createCampaignInputSchema = z
  .strictObject({ ...campaignFields, rules: accrualRulesSchema })
  .superRefine(periodIsValid)
  .superRefine((value, context) => {
    const problem = holdBeforeBurnProblem(value.endsAt, value.burnAt, value.rules.holdDays);
    if (problem) context.addIssue({ code: 'custom', path: ['burnAt'], message: problem });
  });

const DAY_MS = 24 * 60 * 60 * 1000;

/** The last purchase's stickers must be released before they burn, or they could never be spent. */
export function holdBeforeBurnProblem(endsAt: string | Date, burnAt: string | Date, holdDays: number): string | null {
  return new Date(burnAt).getTime() < new Date(endsAt).getTime() + holdDays * DAY_MS
    ? `must be at least holdDays (${holdDays}) after endsAt, so the last purchases' stickers can be used`
    : null;
}
export type CreateCampaignInput = z.input<typeof createCampaignInputSchema>;

export const updateCampaignInputSchema = z
  .strictObject({
    name: campaignFields.name.optional(),
    description: z.string().trim().max(5_000).optional(),
    terms: z.string().trim().max(20_000).optional(),
    startsAt: timestampSchema.optional(),
    endsAt: timestampSchema.optional(),
    burnAt: timestampSchema.optional(),
    storeCodes: z.array(storeCodeSchema).min(1).max(10_000).nullable().optional(),
    milestones: z.array(milestoneSchema).max(50).optional(),
  })
  .superRefine(periodIsValid)
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), 'name at least one field to change');
export type UpdateCampaignInput = z.input<typeof updateCampaignInputSchema>;

export const ruleVersionOutputSchema = z.object({ effectiveFrom: z.string(), rules: accrualRulesSchema });

export const campaignOutputSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  terms: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  burnAt: z.string(),
  storeCodes: z.array(z.string()).nullable(),
  milestones: z.array(z.object({ stickers: z.number(), label: z.string() })),
  status: z.enum(['scheduled', 'running', 'ended', 'burned']),
  ruleVersions: z.array(ruleVersionOutputSchema).describe('Every rules version, oldest first; a purchase uses the one in effect at its time.'),
});
export type Campaign = z.infer<typeof campaignOutputSchema>;

export interface RuleVersion {
  effectiveFrom: Date;
  rules: AccrualRules;
}

export function toRuleVersion(row: Pick<Selectable<CampaignRuleVersionsTable>, 'effective_from' | 'rules'>): RuleVersion {
  return { effectiveFrom: row.effective_from, rules: accrualRulesSchema.parse(row.rules) };
}

/** The version in effect at `at`, or undefined before the first one. */
export function ruleVersionAt(versions: readonly RuleVersion[], at: Date): RuleVersion | undefined {
  let current: RuleVersion | undefined;
  for (const version of versions) if (version.effectiveFrom <= at) current = version;
  return current;
}

export function campaignStatus(row: Pick<Selectable<CampaignsTable>, 'starts_at' | 'ends_at' | 'burn_at'>, now: Date): Campaign['status'] {
  if (now < row.starts_at) return 'scheduled';
  if (now < row.ends_at) return 'running';
  if (now < row.burn_at) return 'ended';
  return 'burned';
}

export function toCampaign(row: Selectable<CampaignsTable>, versions: readonly RuleVersion[], now: Date): Campaign {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    terms: row.terms,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    burnAt: row.burn_at.toISOString(),
    storeCodes: row.store_codes,
    milestones: row.milestones as unknown as CampaignMilestone[],
    status: campaignStatus(row, now),
    ruleVersions: versions.map((version) => ({ effectiveFrom: version.effectiveFrom.toISOString(), rules: version.rules })),
  };
}
