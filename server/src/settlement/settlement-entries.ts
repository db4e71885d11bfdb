import type { CoalitionDb } from '../db/database.ts';
import type { AgreementModel, SettlementEvent } from '../db/tables.ts';
import { monthOf } from '../system/calendar.ts';

interface AgreementTerms {
  id: string;
  model: AgreementModel;
  amount_minor: string | null;
  currency: string;
  timezone: string;
  issuer_tenant_id: string;
  partner_tenant_id: string;
}

/** Who owes whom under the agreement's model: the issuer pays per issued/redeemed code, the partner per redemption. */
export function payerAndPayee(agreement: AgreementTerms): { payer: string; payee: string } {
  return agreement.model.startsWith('issuer_pays')
    ? { payer: agreement.issuer_tenant_id, payee: agreement.partner_tenant_id }
    : { payer: agreement.partner_tenant_id, payee: agreement.issuer_tenant_id };
}

/**
 * Appends one money fact (settlement_entries is append-only, enforced by triggers) in
 * the caller's transaction. `period` is the calendar month of the event in the
 * agreement's time zone; settlement decides which statement takes it.
 */
export async function appendSettlementEntry(
  db: CoalitionDb,
  agreement: AgreementTerms,
  entry: {
    voucherId: string;
    offerId: string;
    /** A correction's original period (the charge it takes back); omitted = its own period. */
    relatesToPeriod?: string;
    /** The redemption a code_redeemed or redemption_reversed entry is about. */
    redemptionId?: string;
    event: SettlementEvent;
    amountMinor: number;
    orderAmountMinor?: number | null;
    occurredAt: Date;
    /** The agreement's currency unless given (a percentage of an order is in the order's). */
    currency?: string;
  },
): Promise<void> {
  const { payer, payee } = payerAndPayee(agreement);
  await db
    .insertInto('settlement_entries')
    .values({
      agreement_id: agreement.id,
      voucher_id: entry.voucherId,
      offer_id: entry.offerId,
      relates_to_period: entry.relatesToPeriod ?? null,
      redemption_id: entry.redemptionId ?? null,
      event: entry.event,
      payer_tenant_id: payer,
      payee_tenant_id: payee,
      amount_minor: entry.amountMinor,
      currency: entry.currency ?? agreement.currency,
      order_amount_minor: entry.orderAmountMinor ?? null,
      occurred_at: entry.occurredAt,
      period: monthOf(entry.occurredAt, agreement.timezone),
    })
    .execute();
}

/** The code_issued charge of an exchange, when the agreement charges per issued code. */
export async function chargeIssuedCode(db: CoalitionDb, agreement: AgreementTerms, voucher: { id: string; offerId: string }, at: Date): Promise<void> {
  if (agreement.model !== 'issuer_pays_per_issued') return;
  await appendSettlementEntry(db, agreement, { voucherId: voucher.id, offerId: voucher.offerId, event: 'code_issued', amountMinor: Number(agreement.amount_minor), occurredAt: at });
}

/** Takes back what a voucher's issue was charged (a cancellation): one negative entry per charge. */
export async function reverseIssueCharges(db: CoalitionDb, agreement: AgreementTerms, voucherId: string, at: Date): Promise<void> {
  const charges = await db.selectFrom('settlement_entries').select(['amount_minor', 'offer_id', 'period']).where('voucher_id', '=', voucherId).where('event', '=', 'code_issued').execute();
  for (const charge of charges) {
    await appendSettlementEntry(db, agreement, {
      voucherId,
      offerId: charge.offer_id!,
      relatesToPeriod: charge.period,
      event: 'issue_cancelled',
      amountMinor: -Number(charge.amount_minor),
      occurredAt: at,
    });
  }
}

/** Takes back what a redemption was charged (a reversal): one negative entry per charge, in the reversal's own period. */
export async function reverseRedemptionCharges(db: CoalitionDb, agreement: AgreementTerms, redemptionId: string, at: Date): Promise<number> {
  const charges = await db
    .selectFrom('settlement_entries')
    .select(['voucher_id', 'offer_id', 'period', 'amount_minor', 'currency', 'order_amount_minor'])
    .where('redemption_id', '=', redemptionId)
    .where('event', '=', 'code_redeemed')
    .execute();
  let total = 0;
  for (const charge of charges) {
    const amountMinor = -Number(charge.amount_minor);
    await appendSettlementEntry(db, agreement, {
      voucherId: charge.voucher_id!,
      offerId: charge.offer_id!,
      relatesToPeriod: charge.period,
      redemptionId,
      event: 'redemption_reversed',
      amountMinor,
      orderAmountMinor: charge.order_amount_minor === null ? null : Number(charge.order_amount_minor),
      occurredAt: at,
      currency: charge.currency,
    });
    total += amountMinor;
  }
  return total;
}
