import { assertNotBlocked, customerNotFound, lockCustomer } from '../customers/identify-customer.ts';
import type { CustomerRow } from '../customers/customer.queries.ts';
import type { TenantDb } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { appendLedger, availableInOpenCampaign } from './ledger.queries.ts';

export interface SpendInput {
  /** A customer id (locked here), or the row the caller already locked in this transaction. */
  customer: { id: string } | CustomerRow;
  campaignId: string;
  stickers: number;
  /** What the stickers bought (the exchange's voucher id): shown in the history. */
  reference: string;
  now: Date;
  /** The error for a campaign that has burned (default: INSUFFICIENT_STICKERS, as nothing is left to spend). */
  burned?: () => AppError;
}

/**
 * Debits available stickers of one campaign: what the exchange calls inside its own
 * transaction (`trx`). The customer row lock makes the balance check and the debit
 * one step, so concurrent spends and tills cannot take the balance below zero.
 */
export async function spendStickers(trx: TenantDb, input: SpendInput): Promise<{ availableAfter: number }> {
  if (!Number.isInteger(input.stickers) || input.stickers <= 0) throw new Error('spendStickers needs a positive whole number of stickers');
  const customer = 'blocked_at' in input.customer ? input.customer : await lockCustomer(trx, { id: input.customer.id });
  if (!customer) throw customerNotFound({ id: input.customer.id });
  assertNotBlocked(customer);
  const available = await availableInOpenCampaign(trx, customer.id, input.campaignId, input.now);
  if (available === undefined) {
    throw input.burned?.() ?? new AppError('INSUFFICIENT_STICKERS', 'The campaign has burned its stickers; none can be spent.', { campaignId: input.campaignId, available: 0, required: input.stickers });
  }
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
