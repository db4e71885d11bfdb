import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { VouchersTable } from '../db/tables.ts';
import { offerTermsSchema, termsOf, type OfferTerms } from '../offers/offer.ts';

export const voucherIdSchema = z.string().regex(/^vch_[0-9A-Za-z]{12}$/, 'must be a voucher id (vch_ followed by 12 letters and digits)');

export const voucherStatusSchema = z
  .enum(['issued', 'redeemed', 'expired', 'cancelled'])
  .describe('issued: the customer can use it; redeemed: used at the partner; expired: past expiresAt unused; cancelled: withdrawn by the issuer, stickers refunded.');

export const voucherOutputSchema = z.object({
  id: z.string(),
  status: voucherStatusSchema,
  customerId: z.string(),
  rewardId: z.string(),
  campaignId: z.string(),
  stickers: z.number().int().describe('Stickers the customer paid.'),
  partner: z.string().describe("The partner's slug: where the code is spent."),
  agreementId: z.string(),
  offerId: z.string(),
  offer: offerTermsSchema.describe('The offer as promised at issue.'),
  code: z.string().nullable().describe('The promo code to type at the partner. null once the voucher is cancelled (the code may belong to someone else by then).'),
  codeMask: z.string(),
  token: z.string().nullable().describe('The signed voucher: a compact JWS (EdDSA) the partner verifies offline against the issuer JWKS. URL-safe as it is. null once cancelled.'),
  qrText: z.string().nullable().describe('The same voucher for a QR code: "CXV1:" + Base45 of the deflated token (QR alphanumeric mode). null once cancelled.'),
  issuedAt: z.string(),
  expiresAt: z.string(),
  redeemedAt: z.string().nullable(),
  cancellation: z
    .object({
      at: z.string(),
      reason: z.string(),
      codeDisposition: z.enum(['returned_to_pool', 'voided']),
      stickersRefunded: z.number().int(),
    })
    .nullable(),
});
export type Voucher = z.infer<typeof voucherOutputSchema>;

export type VoucherRow = Selectable<VouchersTable>;
export type VoucherWithSlugs = VoucherRow & { issuer_slug: string; partner_slug: string };

export function voucherStatus(row: Pick<VoucherRow, 'status' | 'expires_at'>, now: Date): Voucher['status'] {
  return row.status === 'issued' && row.expires_at <= now ? 'expired' : row.status;
}

/** The offer as promised at issue (stored as JSON: its keys come back in JSONB's order, so always go through termsOf). */
export function voucherTermsOf(row: Pick<VoucherRow, 'terms'>): OfferTerms {
  return termsOf(row.terms as unknown as OfferTerms);
}

/** The voucher as the issuer's app shows it; `secrets` are the plain code and its signed forms (absent once cancelled). */
export function toVoucher(row: VoucherWithSlugs, now: Date, secrets: { code: string; token: string; qrText: string } | null): Voucher {
  return {
    id: row.id,
    status: voucherStatus(row, now),
    customerId: row.customer_id,
    rewardId: row.reward_id,
    campaignId: row.campaign_id,
    stickers: row.stickers,
    partner: row.partner_slug,
    agreementId: row.agreement_id,
    offerId: row.offer_id,
    offer: voucherTermsOf(row),
    code: secrets?.code ?? null,
    codeMask: row.code_mask,
    token: secrets?.token ?? null,
    qrText: secrets?.qrText ?? null,
    issuedAt: row.issued_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    redeemedAt: row.redeemed_at?.toISOString() ?? null,
    cancellation:
      row.status === 'cancelled' && row.cancelled_at && row.code_disposition
        ? { at: row.cancelled_at.toISOString(), reason: row.cancel_reason ?? '', codeDisposition: row.code_disposition, stickersRefunded: row.stickers_refunded ?? 0 }
        : null,
  };
}
