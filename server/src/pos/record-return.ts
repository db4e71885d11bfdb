import { stickersToReverse } from '../campaigns/accrual-rules.ts';
import { lockOpenCampaigns } from '../campaigns/campaign.queries.ts';
import { lockCustomer } from '../customers/identify-customer.ts';
import { isUniqueViolation } from '../db/postgres-errors.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput } from '../errors/validation.ts';
import { runIdempotent } from '../idempotency/run-idempotent.ts';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { checkReturn } from '../fraud/return-rules.ts';
import { recordHits } from '../fraud/record-cases.ts';
import { loadRules } from '../fraud/rules.ts';
import { computeBalance } from '../stickers/balance.ts';
import { appendLedger, ledgerOfPurchase, type NewLedgerRow } from '../stickers/ledger.queries.ts';
import { campaignBalances, checkReceipt, newPosId, type PosContext } from './record-purchase.ts';
import { returnInputSchema, type ReturnInput, type ReturnResult } from './receipt.ts';

const newReturnId = newPosId('ret');

/**
 * Records a return and takes back the stickers its share of the receipt earned.
 * Stickers still on hold are voided; stickers already available are taken back now,
 * even when spent, which leaves the customer owing (a negative available balance).
 */
export async function recordReturn(context: PosContext, rawInput: ReturnInput): Promise<{ result: ReturnResult; replayed: boolean }> {
  const input = parseInput(returnInputSchema, rawInput);
  const occurredAt = checkReceipt(input, context);
  const { now, tenant } = context;
  return tenant.db.transaction().execute((trx) =>
    runIdempotent(trx, { key: context.idempotencyKey, operation: 'pos.return', input, now, fingerprintKey: { secrets: context.secrets, tenantId: context.tenant.id } }, async () => {
      const purchase = await trx.selectFrom('purchases').selectAll().where('store_code', '=', input.storeCode).where('receipt_id', '=', input.receiptId).executeTakeFirst();
      if (!purchase) {
        throw new AppError('PURCHASE_NOT_FOUND', `No purchase with receipt ${input.receiptId} was recorded for store ${input.storeCode}.`, {
          storeCode: input.storeCode,
          receiptId: input.receiptId,
        });
      }
      await lockCustomer(trx, { id: purchase.customer_id });
      const duplicate = await trx.selectFrom('purchase_returns').select('id').where('purchase_id', '=', purchase.id).where('return_id', '=', input.returnId).executeTakeFirst();
      if (duplicate) {
        throw new AppError('RETURN_ALREADY_RECORDED', `Return ${input.returnId} of receipt ${input.receiptId} was already recorded.`, { returnId: input.returnId });
      }
      const totalMinor = Number(purchase.total_minor);
      const previous = await trx
        .selectFrom('purchase_returns')
        .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('returned_minor'), eb.val('0')).as('sum'))
        .where('purchase_id', '=', purchase.id)
        .executeTakeFirstOrThrow();
      const returnedBefore = Number(previous.sum);
      let returnedMinor = input.lines ? input.lines.reduce((sum, line) => sum + line.amountMinor, 0) : totalMinor - returnedBefore;
      // Lines may overshoot the total by the same rounding tolerance a receipt has.
      if (input.lines && returnedBefore + returnedMinor > totalMinor && returnedBefore + returnedMinor <= totalMinor + input.lines.length) {
        returnedMinor = totalMinor - returnedBefore;
      }
      if (returnedMinor <= 0 || returnedBefore + returnedMinor > totalMinor) {
        throw new AppError('RETURN_EXCEEDS_PURCHASE', `Receipt ${input.receiptId} totals ${totalMinor}; ${returnedBefore} was returned before, ${returnedMinor} more is too much.`, {
          totalMinor,
          returnedBeforeMinor: returnedBefore,
          returnedNowMinor: returnedMinor,
        });
      }

      const returnRowId = newReturnId();
      try {
        await trx
          .insertInto('purchase_returns')
          .values({
            id: returnRowId,
            purchase_id: purchase.id,
            return_id: input.returnId,
            occurred_at: occurredAt,
            recorded_at: now,
            returned_minor: returnedMinor,
            lines: input.lines ? JSON.stringify(input.lines) : null,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error, 'purchase_returns_return')) {
          throw new AppError('RETURN_ALREADY_RECORDED', `Return ${input.returnId} of receipt ${input.receiptId} was already recorded.`, { returnId: input.returnId });
        }
        throw error;
      }

      const ledger = await ledgerOfPurchase(trx, purchase.id);
      const campaignIds = [...new Set(ledger.map((row) => row.campaign_id))];
      const open = await lockOpenCampaigns(trx, campaignIds, now);
      const reversed: ReturnResult['reversed'] = [];
      const rows: NewLedgerRow[] = [];
      for (const campaignId of campaignIds) {
        const accrual = ledger.find((row) => row.campaign_id === campaignId && row.kind === 'accrual');
        if (!accrual) continue;
        const alreadyReversed = -ledger.filter((row) => row.campaign_id === campaignId && row.kind === 'reversal').reduce((sum, row) => sum + row.amount, 0);
        const stickers = stickersToReverse({ credited: accrual.amount, alreadyReversed, totalMinor, returnedMinor: returnedBefore + returnedMinor });
        if (stickers <= 0) continue;
        if (!open.has(campaignId)) {
          // The campaign burned its stickers already: nothing is left to take back.
          reversed.push({ campaignId, stickers: 0, from: 'burned' });
          continue;
        }
        // A reviewer's release re-dates held stickers (docs/fraud.md): that date counts.
        const release = ledger.find((row) => row.campaign_id === campaignId && row.kind === 'adjustment' && row.amount > 0 && row.purchase_id === purchase.id);
        const availableAt = release?.available_at ?? accrual.available_at;
        const pending = availableAt > now;
        rows.push({
          customer_id: purchase.customer_id,
          campaign_id: campaignId,
          kind: 'reversal',
          amount: -stickers,
          // Voiding on-hold stickers keeps their release date; taking back available ones is immediate.
          available_at: pending ? availableAt : now,
          recorded_at: now,
          purchase_id: purchase.id,
          return_id: returnRowId,
          actor: null,
          reason: null,
          reference: input.returnId,
        });
        reversed.push({ campaignId, stickers, from: pending ? 'pending' : 'available' });
      }
      await appendLedger(trx, rows);

      const settings = await getIssuerSettings(trx);
      const balance = await computeBalance(trx, purchase.customer_id, now, settings);
      // Left owing: this return took back available stickers the customer had already spent.
      const leftOwing = reversed.some((entry) => entry.from === 'available' && (balance.campaigns.find((row) => row.campaignId === entry.campaignId)?.available ?? 0) < 0);
      if (leftOwing) await trx.updateTable('purchase_returns').set({ left_owing: true }).where('id', '=', returnRowId).execute();
      const findings = await checkReturn(trx, await loadRules(trx, 'return'), { customerId: purchase.customer_id, occurredAt, leftOwing });
      const review = findings.length
        ? await recordHits(trx, { findings, kind: 'return', customerId: purchase.customer_id, purchaseId: purchase.id, reference: input.returnId, now })
        : undefined;
      if (rows.length) {
        await appendOutboxEvent(trx, {
          type: 'stickers.reversed',
          occurredAt: now,
          payload: {
            customerId: purchase.customer_id,
            purchaseId: purchase.id,
            storeCode: input.storeCode,
            receiptId: input.receiptId,
            returnId: input.returnId,
            reversed: reversed.filter((entry) => entry.stickers > 0),
            returnedMinor,
            balance: { available: balance.available, pending: balance.pending },
            campaigns: campaignBalances(balance, reversed.filter((entry) => entry.stickers > 0).map((entry) => entry.campaignId)),
            owing: balance.campaigns.some((row) => row.available < 0),
          },
        });
      }
      return {
        returnId: input.returnId,
        purchaseId: purchase.id,
        customerId: purchase.customer_id,
        returnedMinor,
        reversed,
        balance: { available: balance.available, pending: balance.pending },
        owing: balance.campaigns.some((row) => row.available < 0),
        review: review?.primaryCaseId ? { caseId: review.primaryCaseId, action: 'flag' as const } : null,
      };
    }),
  );
}
