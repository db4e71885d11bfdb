import type { Selectable } from 'kysely';
import { z } from 'zod';
import { timestampSchema } from '../campaigns/campaign.ts';
import type { AgreementsTable, AgreementStatus } from '../db/tables.ts';
import { humanText } from '../errors/text-schemas.ts';
import { offerIdSchema } from '../offers/offer.ts';
import { currencySchema, slugSchema, timezoneSchema } from '../tenants/tenant.ts';

export const agreementIdSchema = z.string().regex(/^agr_[0-9A-Za-z]{12}$/, 'must be an agreement id (agr_ followed by 12 letters and digits)');

const amountMinor = z.number().int().min(1).max(1_000_000_000_000).describe('Minor units of the agreement currency (5000 = 50.00).');
const percent = z
  .number()
  .gt(0)
  .max(100)
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-9, 'must have at most two decimals')
  .describe('Percent of the order amount, up to two decimals.');

/** Who pays whom, and for what. */
export const commercialModelSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('issuer_pays_per_issued'), amountMinor }).describe('The issuer pays the partner for every code issued to a customer.'),
    z.strictObject({ type: z.literal('issuer_pays_per_redeemed'), amountMinor }).describe('The issuer pays the partner for every code redeemed.'),
    z.strictObject({ type: z.literal('partner_pays_per_redeemed'), amountMinor }).describe('The partner pays the issuer a fixed fee per redeemed code (new-customer traffic).'),
    z.strictObject({ type: z.literal('partner_pays_percent_of_order'), percent }).describe('The partner pays the issuer a percentage of the order value per redeemed code.'),
  ],
  {
    error: () =>
      'must be {"type":"issuer_pays_per_issued"|"issuer_pays_per_redeemed"|"partner_pays_per_redeemed","amountMinor":…} or {"type":"partner_pays_percent_of_order","percent":…}',
  },
);
export type CommercialModel = z.infer<typeof commercialModelSchema>;

const uniqueOfferIds = z
  .array(offerIdSchema)
  .min(1, 'list at least one offer')
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, 'must not repeat an offer');

const termsFields = {
  name: humanText(200).describe('How both sides will recognise the agreement, e.g. "Autumn 2026 kitchenware".'),
  offerIds: uniqueOfferIds.describe("The partner's offers the issuer may list as rewards."),
  model: commercialModelSchema,
  currency: currencySchema.describe('ISO 4217 currency of every amount the agreement moves.'),
  timezone: timezoneSchema.optional().describe("Whose calendar months bound the monthly cap and the settlement periods; defaults to the issuer's time zone."),
  validFrom: timestampSchema.optional().describe('No exchange before this moment; defaults to now.'),
  validUntil: timestampSchema.nullable().default(null).describe('No exchange from this moment on; null = open-ended. Issued vouchers stay valid.'),
  monthlyCap: z.number().int().min(1).max(100_000_000).nullable().default(null).describe('At most this many codes issued per calendar month; null = no cap.'),
};

function periodIsValid(value: { validFrom?: string | undefined; validUntil?: string | null | undefined }, context: z.RefinementCtx): void {
  if (value.validFrom && value.validUntil && new Date(value.validUntil) <= new Date(value.validFrom)) {
    context.addIssue({ code: 'custom', path: ['validUntil'], message: 'must be after validFrom' });
  }
}

/** A tenant proposes: naming the partner makes it the issuer side, naming the issuer the partner side. */
export const proposeAgreementInputSchema = z
  .strictObject({
    partner: slugSchema.optional().describe('Set when you propose as the issuer: the partner whose offers you want to list.'),
    issuer: slugSchema.optional().describe('Set when you propose as the partner: the issuer that may list your offers.'),
    ...termsFields,
  })
  .superRefine((value, context) => {
    if ((value.partner === undefined) === (value.issuer === undefined)) {
      context.addIssue({ code: 'custom', path: [], message: 'give exactly one of partner (you are the issuer) or issuer (you are the partner)' });
    }
  })
  .superRefine(periodIsValid);
export type ProposeAgreementInput = z.input<typeof proposeAgreementInputSchema>;

/** The operator sets up an agreement on both tenants' behalf: in force at once. */
export const createAgreementInputSchema = z
  .strictObject({ issuer: slugSchema, partner: slugSchema, ...termsFields })
  .superRefine(periodIsValid);
export type CreateAgreementInput = z.input<typeof createAgreementInputSchema>;

export const agreementStatusSchema = z.enum(['proposed', 'active', 'suspended', 'ended', 'declined', 'withdrawn']);

export const agreementDecisionReason = humanText(500).optional().describe('Why, for the other side and the audit trail.');

/** Suspend (stop new exchanges for now), resume (back to active) or end (for good). */
export const agreementStatusChangeSchema = z.strictObject({
  status: z.enum(['suspended', 'active', 'ended']).describe('suspended: stop new exchanges for now; active: resume; ended: stop for good.'),
  reason: agreementDecisionReason,
});

const partySchema = z.object({ slug: z.string(), displayName: z.string() });
const actionSchema = z.object({
  side: z.enum(['issuer', 'partner', 'operator']),
  actor: z.string().describe('The API key that acted.'),
  at: z.string(),
});

export const agreementOutputSchema = z.object({
  id: z.string(),
  name: z.string(),
  issuer: partySchema,
  partner: partySchema,
  offerIds: z.array(z.string()),
  model: commercialModelSchema,
  currency: z.string(),
  timezone: z.string(),
  validFrom: z.string(),
  validUntil: z.string().nullable(),
  monthlyCap: z.number().int().nullable(),
  status: agreementStatusSchema,
  inForce: z.boolean().describe('Whether exchanges may happen under it right now: active, inside its validity period, and both tenants active.'),
  proposed: actionSchema,
  accepted: actionSchema.nullable(),
  lastStatusChange: actionSchema.extend({ status: agreementStatusSchema, reason: z.string().nullable() }).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Agreement = z.infer<typeof agreementOutputSchema>;

export type AgreementRow = Selectable<AgreementsTable>;
export type AgreementSide = 'issuer' | 'partner' | 'operator';

interface Party {
  id: string;
  slug: string;
  displayName: string;
  status: string;
}

export interface AgreementParties {
  issuer: Party;
  partner: Party;
}

export function modelOf(row: Pick<AgreementRow, 'model' | 'amount_minor' | 'percent'>): CommercialModel {
  return row.model === 'partner_pays_percent_of_order'
    ? { type: row.model, percent: Number(row.percent) }
    : { type: row.model, amountMinor: Number(row.amount_minor) };
}

export function modelColumns(model: CommercialModel): Pick<AgreementsTable, 'model'> & { amount_minor: number | null; percent: number | null } {
  return model.type === 'partner_pays_percent_of_order'
    ? { model: model.type, amount_minor: null, percent: model.percent }
    : { model: model.type, amount_minor: model.amountMinor, percent: null };
}

export function sideOf(row: Pick<AgreementRow, 'issuer_tenant_id' | 'partner_tenant_id'>, tenantId: string | null): AgreementSide {
  if (tenantId === null) return 'operator';
  return tenantId === row.issuer_tenant_id ? 'issuer' : 'partner';
}

export type AgreementProblem = 'proposed' | 'suspended' | 'ended' | 'declined' | 'withdrawn' | 'not_yet_valid' | 'expired' | 'issuer_suspended' | 'partner_suspended';

/**
 * Why no exchange may happen under the agreement at `now`, or null when it is in force:
 * active, inside its validity period, and both tenants active.
 */
export function agreementProblem(row: Pick<AgreementRow, 'status' | 'valid_from' | 'valid_until'>, statuses: { issuer: string; partner: string }, now: Date): AgreementProblem | null {
  if (row.status !== 'active') return row.status;
  if (row.valid_from > now) return 'not_yet_valid';
  if (row.valid_until !== null && row.valid_until <= now) return 'expired';
  if (statuses.issuer !== 'active') return 'issuer_suspended';
  if (statuses.partner !== 'active') return 'partner_suspended';
  return null;
}

export function toAgreement(row: AgreementRow, parties: AgreementParties, now: Date): Agreement {
  return {
    id: row.id,
    name: row.name,
    issuer: { slug: parties.issuer.slug, displayName: parties.issuer.displayName },
    partner: { slug: parties.partner.slug, displayName: parties.partner.displayName },
    offerIds: row.offer_ids,
    model: modelOf(row),
    currency: row.currency,
    timezone: row.timezone,
    validFrom: row.valid_from.toISOString(),
    validUntil: row.valid_until?.toISOString() ?? null,
    monthlyCap: row.monthly_cap,
    status: row.status,
    inForce: agreementProblem(row, { issuer: parties.issuer.status, partner: parties.partner.status }, now) === null,
    proposed: { side: sideOf(row, row.proposed_by_tenant_id), actor: row.proposed_by, at: row.proposed_at.toISOString() },
    accepted:
      row.accepted_at && row.accepted_by
        ? { side: row.proposed_by_tenant_id === null ? 'operator' : row.proposed_by_tenant_id === row.issuer_tenant_id ? 'partner' : 'issuer', actor: row.accepted_by, at: row.accepted_at.toISOString() }
        : null,
    lastStatusChange:
      row.status_changed_at && row.status_changed_by
        ? {
            side: sideOf(row, row.status_changed_by_tenant_id),
            actor: row.status_changed_by,
            at: row.status_changed_at.toISOString(),
            status: row.status,
            reason: row.status_reason,
          }
        : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The steps each status allows (`accept`/`decline`/`withdraw` only while proposed). */
export const AGREEMENT_STEPS: Record<AgreementStatus, readonly string[]> = {
  proposed: ['accept', 'decline', 'withdraw'],
  active: ['suspended', 'ended'],
  suspended: ['active', 'ended'],
  ended: [],
  declined: [],
  withdrawn: [],
};
