import { z } from 'zod';
import type { TenantHandle } from '../auth/principal.ts';
import { campaignIdSchema } from '../campaigns/campaign.ts';
import { requireCampaign } from '../campaigns/manage-campaigns.ts';
import { customerNotFound, lockCustomer } from '../customers/identify-customer.ts';
import { humanText } from '../errors/text-schemas.ts';
import { parseInput } from '../errors/validation.ts';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { computeBalance, type Balance } from './balance.ts';
import { appendLedger, balancesByCampaign } from './ledger.queries.ts';
import { lockOpenCampaigns } from '../campaigns/campaign.queries.ts';
import { AppError } from '../errors/app-error.ts';

export const adjustmentInputSchema = z.strictObject({
  campaignId: campaignIdSchema,
  stickers: z
    .number()
    .int()
    .min(-100_000)
    .max(100_000)
    .refine((value) => value !== 0, 'must not be 0'),
  reason: humanText(500).describe('Why: shown in the customer history and the audit trail.'),
});

/** A manual correction by support staff: an append-only ledger row with who and why. */
export async function adjustStickers(context: { tenant: TenantHandle; actor: string; now: Date }, customerId: string, rawInput: z.input<typeof adjustmentInputSchema>): Promise<Balance> {
  const input = parseInput(adjustmentInputSchema, rawInput);
  return context.tenant.db.transaction().execute(async (trx) => {
    const customer = await lockCustomer(trx, { id: customerId });
    if (!customer) throw customerNotFound({ id: customerId });
    await requireCampaign({ ...context.tenant, db: trx }, input.campaignId);
    if (!(await lockOpenCampaigns(trx, [input.campaignId], context.now)).has(input.campaignId)) {
      throw new AppError('CAMPAIGN_BURNED', 'The campaign has burned its stickers; its balances can no longer change.', { campaignId: input.campaignId });
    }
    if (input.stickers < 0) {
      // Only a return may leave a customer owing: a correction takes back at most what is available.
      const available = (await balancesByCampaign(trx, customer.id, context.now)).find((row) => row.campaign_id === input.campaignId)?.available ?? 0;
      if (available + input.stickers < 0) {
        throw new AppError('INSUFFICIENT_STICKERS', `The customer has ${available} available stickers in this campaign; a correction cannot take ${-input.stickers}.`, {
          campaignId: input.campaignId,
          available,
          required: -input.stickers,
        });
      }
    }
    await appendLedger(trx, [
      {
        customer_id: customer.id,
        campaign_id: input.campaignId,
        kind: 'adjustment',
        amount: input.stickers,
        available_at: context.now,
        recorded_at: context.now,
        purchase_id: null,
        return_id: null,
        actor: context.actor,
        reason: input.reason,
        reference: null,
      },
    ]);
    await insertAuditEvent(trx, { actor: context.actor, action: 'stickers.adjusted', subjectType: 'customer', subjectId: customer.id, details: { ...input } });
    return computeBalance(trx, customer.id, context.now, await getIssuerSettings(trx));
  });
}
