import { z } from 'zod';
import { findAgreement } from '../agreements/agreement.queries.ts';
import { releaseFromCap } from '../agreements/agreement-usage.queries.ts';
import { lockOpenCampaigns } from '../campaigns/campaign.queries.ts';
import { lockCustomer } from '../customers/identify-customer.ts';
import { coalitionDb, tenantDb } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import { humanText } from '../errors/text-schemas.ts';
import { parseInput } from '../errors/validation.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { takeBackCode } from '../pools/issued-codes.ts';
import { reverseIssueCharges } from '../settlement/settlement-entries.ts';
import { appendLedger } from '../stickers/ledger.queries.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { getVoucher, requireVoucher, type VoucherReader } from './show-vouchers.ts';
import type { Voucher } from './voucher.ts';

export const cancelVoucherInputSchema = z.strictObject({ reason: humanText(500).describe('Why (a customer complaint, a mistake): kept with the voucher and in the audit trail.') });

/**
 * The issuer withdraws a voucher not yet redeemed, in one transaction: the code goes
 * back to the partner's pool or is voided (the offer's policy), the stickers come back
 * to the customer as a `refund` ledger row (none if the campaign has burned meanwhile),
 * a per-issued-code charge is reversed, the month's cap counter gives the code back,
 * and `voucher.cancelled` goes to both sides. Cancelling a cancelled voucher answers
 * it as it is (a retry changes nothing).
 *
 * Lock order: the voucher row first (a redemption takes it first too), then the
 * customer, the code (and the offer row when its stock state changes), the campaign
 * and the cap counter. The exchange takes the campaign before the code; the two
 * cannot wait for each other there, since both only take the campaign FOR KEY SHARE.
 */
export async function cancelVoucher(reader: VoucherReader & { actor: string }, voucherId: string, rawInput: z.input<typeof cancelVoucherInputSchema>): Promise<Voucher> {
  const input = parseInput(cancelVoucherInputSchema, rawInput);
  const { tenant, now } = reader;
  await reader.db.transaction().execute(async (trx) => {
    const voucher = await requireVoucher(trx, tenant, voucherId, { forUpdate: true });
    if (voucher.status === 'cancelled') return;
    if (voucher.status === 'redeemed') {
      throw new AppError('VOUCHER_NOT_CANCELLABLE', `Voucher ${voucherId} was redeemed at ${voucher.redeemed_at?.toISOString()}; it can no longer be cancelled.`, { voucherId, status: 'redeemed' });
    }
    const issuerDb = tenantDb(trx, tenant.schema);
    const coalition = coalitionDb(trx);
    await lockCustomer(issuerDb, { id: voucher.customer_id });
    const partnerSchema = tenantSchemaName(voucher.partner_slug);
    const disposition = await takeBackCode(trx, { tenantId: voucher.partner_tenant_id, schema: partnerSchema }, { codeId: voucher.code_id, holderRef: voucher.id, now });
    if (!disposition) {
      throw new AppError('VOUCHER_NOT_CANCELLABLE', `The code of voucher ${voucherId} has been redeemed; the voucher can no longer be cancelled.`, { voucherId, status: 'redeemed' });
    }
    const refundable = (await lockOpenCampaigns(issuerDb, [voucher.campaign_id], now)).has(voucher.campaign_id);
    if (refundable) {
      await appendLedger(issuerDb, [
        {
          customer_id: voucher.customer_id,
          campaign_id: voucher.campaign_id,
          kind: 'refund',
          amount: voucher.stickers,
          available_at: now,
          recorded_at: now,
          purchase_id: null,
          return_id: null,
          actor: reader.actor,
          reason: input.reason,
          reference: voucher.id,
        },
      ]);
    }
    const agreement = (await findAgreement(coalition, voucher.agreement_id))!;
    await reverseIssueCharges(coalition, agreement, voucher.id, now);
    if (voucher.usage_period !== null) await releaseFromCap(coalition, voucher.agreement_id, voucher.usage_period);
    const stickersRefunded = refundable ? voucher.stickers : 0;
    await coalition
      .updateTable('vouchers')
      .set({ status: 'cancelled', cancelled_at: now, cancelled_by: reader.actor, cancel_reason: input.reason, code_disposition: disposition, stickers_refunded: stickersRefunded })
      .where('id', '=', voucher.id)
      .execute();
    const event = { voucherId: voucher.id, agreementId: voucher.agreement_id, offerId: voucher.offer_id, codeMask: voucher.code_mask, codeDisposition: disposition, cancelledAt: now.toISOString(), reason: input.reason };
    await appendOutboxEvent(issuerDb, {
      type: 'voucher.cancelled',
      occurredAt: now,
      payload: { ...event, partner: voucher.partner_slug, customerId: voucher.customer_id, rewardId: voucher.reward_id, campaignId: voucher.campaign_id, stickersRefunded },
    });
    await appendOutboxEvent(tenantDb(trx, partnerSchema), { type: 'voucher.cancelled', occurredAt: now, payload: { ...event, issuer: voucher.issuer_slug } });
    await insertAuditEvent(issuerDb, { actor: reader.actor, action: 'voucher.cancelled', subjectType: 'voucher', subjectId: voucher.id, details: { reason: input.reason, codeDisposition: disposition, stickersRefunded } });
  });
  return getVoucher(reader, voucherId);
}
