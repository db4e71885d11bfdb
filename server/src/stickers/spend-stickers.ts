import { assertNotBlocked, customerNotFound, lockCustomer } from '../customers/identify-customer.ts';
import type { TenantDb } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { lockOpenCampaigns } from '../campaigns/campaign.queries.ts';
import { balancesByCampaign, appendLedger } from './ledger.queries.ts';

/**
 * Debits available stickers of one campaign: what the exchange calls inside its own
 * transaction (`trx`). The customer row lock makes the balance check and the debit
 * one step, so concurrent spends and tills cannot take the balance below zero.
 */
export async function spendStickers(trx: TenantDb, input: { customerId: string; campaignId: string; stickers: number; reference: string; now: Date }): Promise<{ availableAfter: number }> {
  if (!Number.isInteger(input.stickers) || input.stickers <= 0) throw new Error('spendStickers needs a positive whole number of stickers');
  const customer = await lockCustomer(trx, { id: input.customerId });
  if (!customer) throw customerNotFound({ id: input.customerId });
  assertNotBlocked(customer);
  if (!(await lockOpenCampaigns(trx, [input.campaignId], input.now)).has(input.campaignId)) {
    throw new AppError('INSUFFICIENT_STICKERS', 'The campaign has burned its stickers; none can be spent.', { campaignId: input.campaignId, available: 0, required: input.stickers });
  }
  const available = (await balancesByCampaign(trx, customer.id, input.now)).find((row) => row.campaign_id === input.campaignId)?.available ?? 0;
  if (available < input.stickers) {
    throw new AppError('INSUFFICIENT_STICKERS', `The customer has ${available} available stickers in this campaign; ${input.stickers} are needed.`, {
      campaignId: input.campaignId,
      available,
      required: input.stickers,
    });
  }
  await appendLedger(trx, [
    {
      customer_id: customer.id,
      campaign_id: input.campaignId,
      kind: 'spend',
      amount: -input.stickers,
      available_at: input.now,
      recorded_at: input.now,
      purchase_id: null,
      return_id: null,
      actor: null,
      reason: null,
      reference: input.reference,
    },
  ]);
  return { availableAfter: available - input.stickers };
}
