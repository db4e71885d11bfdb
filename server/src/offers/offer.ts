import type { Selectable } from 'kysely';
import { z } from 'zod';
import { timestampSchema } from '../campaigns/campaign.ts';
import type { OffersTable } from '../db/tables.ts';
import { humanText } from '../errors/text-schemas.ts';
import { codeRulesSchema, type CodeRules } from '../pools/code-rules.ts';
import { currencySchema } from '../tenants/tenant.ts';

export const offerIdSchema = z.string().regex(/^off_[0-9A-Za-z]{12}$/, 'must be an offer id (off_ followed by 12 letters and digits)');

export const offerValueSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('fixed'),
      amountMinor: z.number().int().min(1).max(1_000_000_000_000).describe('Discount in minor units of the offer currency (50000 = 500.00).'),
    }),
    z.strictObject({
      type: z.literal('percent'),
      percent: z
        .number()
        .gt(0)
        .max(100)
        .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-9, 'must have at most two decimals')
        .describe('Discount in percent of the order, up to two decimals.'),
    }),
  ],
  { error: () => 'must be {"type":"fixed","amountMinor":…} or {"type":"percent","percent":…}' },
);

export type OfferValue = z.infer<typeof offerValueSchema>;

const termsUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2_000)
  .nullable();

export const offerStatusSchema = z.enum(['draft', 'active', 'paused', 'closed']);

export const cancelledCodePolicySchema = z
  .enum(['void', 'return_to_pool'])
  .describe('What a code becomes when the issuer cancels the voucher it went to: void (never handed out again) or return_to_pool (available for another customer).');

const offerFields = {
  title: humanText(200),
  description: z.string().trim().max(5_000).default(''),
  value: offerValueSchema,
  currency: currencySchema.optional().describe("ISO 4217; defaults to the partner's currency."),
  minOrderMinor: z.number().int().min(1).max(1_000_000_000_000).nullable().default(null).describe('Smallest order the code applies to, in minor units.'),
  termsUrl: termsUrlSchema.default(null),
  codesValidUntil: timestampSchema.nullable().default(null).describe('After this moment no code of the offer is valid or handed out.'),
  lowStockThreshold: z
    .number()
    .int()
    .min(0)
    .max(50_000)
    .default(100)
    .describe('pool.low is sent when available codes fall to this number or below; 0 = only pool.empty.'),
  onVoucherCancelled: cancelledCodePolicySchema.default('void'),
};

export const createOfferInputSchema = z.strictObject({
  ...offerFields,
  status: z.enum(['draft', 'active']).default('draft'),
  codeRules: codeRulesSchema.prefault({}),
});
export type CreateOfferInput = z.input<typeof createOfferInputSchema>;

export const updateOfferInputSchema = z.strictObject({
  title: offerFields.title.optional(),
  description: z.string().trim().max(5_000).optional(),
  value: offerValueSchema.optional(),
  currency: currencySchema.optional(),
  minOrderMinor: z.number().int().min(1).max(1_000_000_000_000).nullable().optional(),
  termsUrl: termsUrlSchema.optional(),
  codesValidUntil: timestampSchema.nullable().optional(),
  lowStockThreshold: z.number().int().min(0).max(50_000).optional(),
  onVoucherCancelled: cancelledCodePolicySchema.optional(),
  codeRules: codeRulesSchema.optional(),
});
export type UpdateOfferInput = z.input<typeof updateOfferInputSchema>;

/** What a customer is promised: the part of an offer a voucher carries. */
export const offerTermsSchema = z.object({
  title: z.string(),
  description: z.string(),
  value: offerValueSchema,
  currency: z.string(),
  minOrderMinor: z.number().nullable(),
  termsUrl: z.string().nullable(),
});
export type OfferTerms = z.infer<typeof offerTermsSchema>;

export const offerOutputSchema = z.object({
  id: z.string(),
  ...offerTermsSchema.shape,
  codesValidUntil: z.string().nullable(),
  status: offerStatusSchema,
  lowStockThreshold: z.number(),
  stockState: z.enum(['ok', 'low', 'empty']).describe('ok: above the threshold; low: at or below it; empty: no available code.'),
  onVoucherCancelled: cancelledCodePolicySchema,
  codeRules: z.object({ case: z.enum(['upper', 'lower', 'preserve']), minLength: z.number(), maxLength: z.number(), characters: z.string() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Offer = z.infer<typeof offerOutputSchema>;

export type OfferRow = Selectable<OffersTable>;


export function termsOf(offer: OfferTerms): OfferTerms {
  return { title: offer.title, description: offer.description, value: offer.value, currency: offer.currency, minOrderMinor: offer.minOrderMinor, termsUrl: offer.termsUrl };
}

/** What an issuer sees of a partner's offer it may list (never its pool's codes). */
export const offerSummarySchema = z.object({
  id: z.string(),
  ...offerTermsSchema.shape,
  codesValidUntil: z.string().nullable(),
  status: offerStatusSchema,
  stockState: z.enum(['ok', 'low', 'empty']),
});
export type OfferSummary = z.infer<typeof offerSummarySchema>;

export function toOfferSummary(row: OfferRow): OfferSummary {
  const offer = toOffer(row);
  return { id: offer.id, ...termsOf(offer), codesValidUntil: offer.codesValidUntil, status: offer.status, stockState: offer.stockState };
}

export function codeRulesOf(row: OfferRow): CodeRules {
  return { case: row.code_case, minLength: row.code_min_length, maxLength: row.code_max_length, characters: row.code_characters };
}

export function toOffer(row: OfferRow): Offer {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    value: row.value_type === 'fixed' ? { type: 'fixed', amountMinor: Number(row.value_minor) } : { type: 'percent', percent: Number(row.value_percent) },
    currency: row.currency,
    minOrderMinor: row.min_order_minor === null ? null : Number(row.min_order_minor),
    termsUrl: row.terms_url,
    codesValidUntil: row.codes_valid_until?.toISOString() ?? null,
    status: row.status,
    lowStockThreshold: row.low_stock_threshold,
    stockState: row.stock_state,
    onVoucherCancelled: row.cancelled_code_policy,
    codeRules: codeRulesOf(row),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Where an offer may go from each status; closed is final. */
export const OFFER_TRANSITIONS: Record<OfferRow['status'], OfferRow['status'][]> = {
  draft: ['active', 'closed'],
  active: ['paused', 'closed'],
  paused: ['active', 'closed'],
  closed: [],
};
