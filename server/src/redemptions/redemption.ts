import type { Selectable } from 'kysely';
import { z } from 'zod';
import { timestampSchema } from '../campaigns/campaign.ts';
import type { RedemptionsTable } from '../db/tables.ts';
import { humanText, isPrintableText, PRINTABLE_TEXT } from '../errors/text-schemas.ts';
import { offerIdSchema, offerTermsSchema, type OfferTerms } from '../offers/offer.ts';
import { currencySchema } from '../tenants/tenant.ts';

export const redemptionIdSchema = z.string().regex(/^red_[0-9A-Za-z]{12}$/, 'must be a redemption id (red_ followed by 12 letters and digits)');

/** What the shop has in hand: the code as typed, or the signed voucher (compact JWS or its QR text). */
const codeOrVoucher = {
  code: z.string().trim().min(1).max(128).refine(isPrintableText, PRINTABLE_TEXT).optional().describe('The promo code as the shopper typed it (case does not matter).'),
  voucher: z
    .string()
    .trim()
    .min(1)
    .max(4_096)
    .optional()
    .describe('The signed voucher instead of the code: the compact JWS, or the "CXV1:" text of its QR code.'),
};

function exactlyOneOf(value: { code?: string | undefined; voucher?: string | undefined }): boolean {
  return (value.code === undefined) !== (value.voucher === undefined);
}
const ONE_OF = { message: 'send either code or voucher, not both', path: ['code'] };

const orderAmount = z.number().int().min(0).max(1_000_000_000_000).describe('Order total in minor units (299000 = 2,990.00), before the discount.');
const orderRef = z.string().trim().min(1).max(200).refine(isPrintableText, PRINTABLE_TEXT).describe("The shop's own order number: searchable, and sent to the issuer.");

export const validateCodeInputSchema = z
  .strictObject({
    ...codeOrVoucher,
    orderAmountMinor: orderAmount.optional().describe('If given, the answer says whether the order meets the minimum and what the discount comes to.'),
    currency: currencySchema.optional().describe('Currency of orderAmountMinor; defaults to the offer currency.'),
  })
  .refine(exactlyOneOf, ONE_OF);
export type ValidateCodeInput = z.input<typeof validateCodeInputSchema>;

export const redeemCodeInputSchema = z
  .strictObject({
    ...codeOrVoucher,
    orderRef,
    shopperRef: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .refine(isPrintableText, PRINTABLE_TEXT)
      .optional()
      .describe("The shop's own id for the shopper's account (not an email or name: an opaque id). Optional; sent to the issuer, whose anti-fraud rules watch for one account redeeming many customers' codes."),
    orderAmountMinor: orderAmount,
    currency: currencySchema,
  })
  .refine(exactlyOneOf, ONE_OF);
export type RedeemCodeInput = z.input<typeof redeemCodeInputSchema>;

export const reverseRedemptionInputSchema = z.strictObject({
  reason: humanText(500).describe('Why (order cancelled, refunded): kept with the redemption and sent to the issuer.'),
});

/**
 * Why a code cannot be redeemed. Stable strings: shops branch on them. The redeem
 * call answers the same reason as its error code.
 */
export const CODE_REFUSALS = [
  'INVALID_CHECK_CHARACTER',
  'INVALID_VOUCHER',
  'WRONG_PARTNER',
  'UNKNOWN_CODE',
  'NOT_ISSUED',
  'VOUCHER_CANCELLED',
  'ALREADY_REDEEMED',
  'EXPIRED',
  'CURRENCY_MISMATCH',
  'MIN_ORDER_NOT_MET',
] as const;
export type CodeRefusal = (typeof CODE_REFUSALS)[number];

export const validationOutputSchema = z.object({
  valid: z.boolean(),
  reason: z.enum(CODE_REFUSALS).nullable().describe('null when valid; otherwise why not (docs/errors.md explains each).'),
  message: z.string().describe('The reason in words, for the cashier or shopper.'),
  voucherId: z.string().nullable(),
  issuer: z.string().nullable().describe("The issuer's slug: whose customer holds the code."),
  codeMask: z.string().nullable(),
  offerId: z.string().nullable(),
  offer: offerTermsSchema.nullable().describe('The offer as the customer was promised it: show the discount before payment.'),
  discountMinor: z.number().int().nullable().describe('The discount on the given order amount (fixed value capped at the order, or the percentage rounded half up).'),
  expiresAt: z.string().nullable(),
  redeemedAt: z.string().nullable().describe('When ALREADY_REDEEMED: when it was.'),
  redemptionId: z.string().nullable().describe('When ALREADY_REDEEMED: the redemption that used it.'),
});
export type CodeValidation = z.infer<typeof validationOutputSchema>;

export const redemptionOutputSchema = z.object({
  id: z.string(),
  status: z.enum(['redeemed', 'reversed']),
  voucherId: z.string(),
  issuer: z.string(),
  offerId: z.string(),
  codeMask: z.string(),
  orderRef: z.string(),
  shopperRef: z.string().nullable(),
  orderAmountMinor: z.number().int(),
  currency: z.string(),
  discountMinor: z.number().int(),
  redeemedAt: z.string(),
  reversal: z.object({ at: z.string(), reason: z.string() }).nullable(),
  reversibleUntil: z.string().nullable().describe('Last moment the redemption can be reversed; null once reversed.'),
});
export type Redemption = z.infer<typeof redemptionOutputSchema>;

export const listRedemptionsInputSchema = z.strictObject({
  code: z.string().trim().min(1).max(128).refine(isPrintableText, PRINTABLE_TEXT).optional().describe('Redemptions of this code (as typed).'),
  orderRef: orderRef.optional(),
  status: z.enum(['redeemed', 'reversed']).optional(),
  offerId: offerIdSchema.optional().describe('Redemptions of codes of this offer.'),
  from: timestampSchema.optional().describe('Redeemed at or after.'),
  to: timestampSchema.optional().describe('Redeemed before.'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: redemptionIdSchema.optional().describe('nextCursor of the previous page.'),
});

export type RedemptionRow = Selectable<RedemptionsTable> & { issuer_slug: string };

export function toRedemption(row: RedemptionRow, reversalWindowMs: number): Redemption {
  return {
    id: row.id,
    status: row.status,
    voucherId: row.voucher_id,
    issuer: row.issuer_slug,
    offerId: row.offer_id,
    codeMask: row.code_mask,
    orderRef: row.order_ref,
    shopperRef: row.shopper_ref,
    orderAmountMinor: Number(row.order_amount_minor),
    currency: row.currency,
    discountMinor: Number(row.discount_minor),
    redeemedAt: row.redeemed_at.toISOString(),
    reversal: row.reversed_at ? { at: row.reversed_at.toISOString(), reason: row.reverse_reason ?? '' } : null,
    reversibleUntil: row.status === 'redeemed' ? new Date(row.redeemed_at.getTime() + reversalWindowMs).toISOString() : null,
  };
}

/** `amount` × `percent` / 100, rounded half up, in exact integer arithmetic (percent has two decimals). */
export function percentOf(amountMinor: number, percent: number): number {
  const basisPoints = BigInt(Math.round(percent * 100));
  return Number((BigInt(amountMinor) * basisPoints + 5_000n) / 10_000n);
}

/** What the offer takes off an order: a fixed value never more than the order, or its percentage. */
export function discountOn(terms: OfferTerms, orderAmountMinor: number): number {
  return terms.value.type === 'fixed' ? Math.min(terms.value.amountMinor, orderAmountMinor) : percentOf(orderAmountMinor, terms.value.percent);
}
