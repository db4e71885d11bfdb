import type { TenantHandle } from '../auth/principal.ts';
import { findAgreement } from '../agreements/agreement.queries.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { prefixedIds } from '../db/ids.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput } from '../errors/validation.ts';
import { runIdempotent } from '../idempotency/run-idempotent.ts';
import { recordHits } from '../fraud/record-cases.ts';
import { checkRedemption } from '../fraud/redemption-rules.ts';
import { loadRules } from '../fraud/rules.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { appendSettlementEntry } from '../settlement/settlement-entries.ts';
import type { AppServices } from '../system/services.ts';
import { voucherTermsOf, type VoucherWithSlugs } from '../vouchers/voucher.ts';
import {
  discountOn,
  percentOf,
  redeemCodeInputSchema,
  toRedemption,
  validateCodeInputSchema,
  type CodeRefusal,
  type CodeValidation,
  type RedeemCodeInput,
  type Redemption,
  type ValidateCodeInput,
} from './redemption.ts';
import { refusalText, resolveCode, type CodeRow } from './resolve-code.ts';

export interface RedemptionContext {
  services: AppServices;
  tenant: TenantHandle;
  /** API key id of the caller. */
  actor: string;
  now: Date;
}

const newRedemptionId = prefixedIds('red');

/** Why a found, uncancelled voucher cannot be redeemed now for this order (null: it can). */
function refusalFor(voucher: VoucherWithSlugs, code: CodeRow, order: { amountMinor?: number | undefined; currency?: string | undefined }, now: Date): CodeRefusal | null {
  if (voucher.status === 'redeemed') return 'ALREADY_REDEEMED';
  if (voucher.expires_at <= now || (code.expires_at !== null && code.expires_at <= now)) return 'EXPIRED';
  const terms = voucherTermsOf(voucher);
  if (order.currency !== undefined && order.currency !== terms.currency) return 'CURRENCY_MISMATCH';
  if (order.amountMinor !== undefined && terms.minOrderMinor !== null && order.amountMinor < terms.minOrderMinor) return 'MIN_ORDER_NOT_MET';
  return null;
}

async function liveRedemptionOf(db: Database, voucherId: string): Promise<{ id: string; redeemed_at: Date } | undefined> {
  return coalitionDb(db).selectFrom('redemptions').select(['id', 'redeemed_at']).where('voucher_id', '=', voucherId).where('status', '=', 'redeemed').executeTakeFirst();
}

function refusalDetails(reason: CodeRefusal, voucher: VoucherWithSlugs | undefined, live: { id: string; redeemed_at: Date } | undefined): Record<string, unknown> {
  const terms = voucher ? voucherTermsOf(voucher) : undefined;
  return {
    reason,
    ...(voucher ? { voucherId: voucher.id } : {}),
    ...(reason === 'ALREADY_REDEEMED' && live ? { redeemedAt: live.redeemed_at.toISOString(), redemptionId: live.id } : {}),
    ...(reason === 'EXPIRED' && voucher ? { expiresAt: voucher.expires_at.toISOString() } : {}),
    ...(reason === 'CURRENCY_MISMATCH' && terms ? { expected: terms.currency } : {}),
    ...(reason === 'MIN_ORDER_NOT_MET' && terms ? { minOrderMinor: terms.minOrderMinor, currency: terms.currency } : {}),
  };
}

/**
 * Checks a code (typed, or the signed voucher) without changing anything: valid or
 * not with a stable reason, and the offer as promised so the shop can show the
 * discount before payment.
 */
export async function validateCode(context: RedemptionContext, rawInput: ValidateCodeInput): Promise<CodeValidation> {
  const input = parseInput(validateCodeInputSchema, rawInput);
  const { services, tenant, now } = context;
  const resolution = await resolveCode(services.db, services, tenant, input, now);
  const voucher = resolution.voucher;
  let reason: CodeRefusal | null = resolution.found ? null : resolution.reason;
  if (resolution.found) reason = refusalFor(resolution.voucher, resolution.code, { amountMinor: input.orderAmountMinor, currency: input.currency }, now);
  const live = reason === 'ALREADY_REDEEMED' && voucher ? await liveRedemptionOf(services.db, voucher.id) : undefined;
  const terms = voucher ? voucherTermsOf(voucher) : null;
  const currencyFits = input.currency === undefined || input.currency === terms?.currency;
  return {
    valid: reason === null,
    reason,
    message: reason === null ? 'The code can be redeemed.' : refusalText(reason),
    voucherId: voucher?.id ?? null,
    issuer: voucher?.issuer_slug ?? null,
    codeMask: voucher?.code_mask ?? null,
    offerId: voucher?.offer_id ?? null,
    offer: terms,
    discountMinor: terms && input.orderAmountMinor !== undefined && currencyFits ? discountOn(terms, input.orderAmountMinor) : null,
    expiresAt: voucher?.expires_at.toISOString() ?? null,
    redeemedAt: live?.redeemed_at.toISOString() ?? null,
    redemptionId: live?.id ?? null,
  };
}

/**
 * Redeems a code for an order, exactly once: in one transaction the Idempotency-Key
 * is claimed, the voucher moves from issued to redeemed by one conditional update
 * (the voucher row is the lock every redemption, reversal and cancellation takes
 * first), the code is marked redeemed, and the redemption, its settlement entry and
 * the issuer's `voucher.redeemed` event are written. A concurrent second redemption
 * waits on the voucher row, then finds it redeemed: ALREADY_REDEEMED.
 */
export async function redeemCode(context: RedemptionContext, idempotencyKey: string | undefined, rawInput: RedeemCodeInput): Promise<{ result: Redemption; replayed: boolean }> {
  const input = parseInput(redeemCodeInputSchema, rawInput);
  const { services, tenant, now } = context;
  return services.db.transaction().execute(async (trx) =>
    runIdempotent(
      tenantDb(trx, tenant.schema),
      { key: idempotencyKey, operation: 'codes.redeem', input, now, fingerprintKey: { secrets: services.secrets, tenantId: tenant.id } },
      async () => {
        const resolution = await resolveCode(trx, services, tenant, input, now);
        if (!resolution.found) throw refusal(resolution.reason, resolution.voucher, undefined);
        const { code } = resolution;
        const order = { amountMinor: input.orderAmountMinor, currency: input.currency };
        const early = refusalFor(resolution.voucher, code, order, now);
        if (early) throw refusal(early, resolution.voucher, early === 'ALREADY_REDEEMED' ? await liveRedemptionOf(trx, resolution.voucher.id) : undefined);

        const coalition = coalitionDb(trx);
        const claimed = await coalition
          .updateTable('vouchers')
          .set({ status: 'redeemed', redeemed_at: now })
          .where('id', '=', resolution.voucher.id)
          .where('partner_tenant_id', '=', tenant.id)
          .where('status', '=', 'issued')
          .where('expires_at', '>', now)
          .returning('id')
          .executeTakeFirst();
        if (!claimed) {
          // Someone else got there first (or the issuer cancelled it): say what it is now.
          const after = await resolveCode(trx, services, tenant, input, now);
          const reason = !after.found ? after.reason : (refusalFor(after.voucher, after.code, order, now) ?? 'ALREADY_REDEEMED');
          throw refusal(reason, after.voucher, reason === 'ALREADY_REDEEMED' ? await liveRedemptionOf(trx, resolution.voucher.id) : undefined);
        }
        const voucher = resolution.voucher;
        const marked = await tenantDb(trx, tenant.schema)
          .updateTable('codes')
          .set({ status: 'redeemed', redeemed_at: now, status_changed_at: now })
          .where('id', '=', code.id)
          .where('status', '=', 'issued')
          .where('holder_ref', '=', voucher.id)
          .returning('id')
          .executeTakeFirst();
        if (!marked) throw new Error(`Code ${code.id} of voucher ${voucher.id} is not issued to it although the voucher is`);

        const terms = voucherTermsOf(voucher);
        const discountMinor = discountOn(terms, input.orderAmountMinor);
        const redemption = await coalition
          .insertInto('redemptions')
          .values({
            id: newRedemptionId(),
            voucher_id: voucher.id,
            partner_tenant_id: tenant.id,
            issuer_tenant_id: voucher.issuer_tenant_id,
            agreement_id: voucher.agreement_id,
            offer_id: voucher.offer_id,
            code_id: code.id,
            code_mask: voucher.code_mask,
            order_ref: input.orderRef,
            shopper_ref: input.shopperRef ?? null,
            order_amount_minor: input.orderAmountMinor,
            currency: input.currency,
            discount_minor: discountMinor,
            status: 'redeemed',
            redeemed_at: now,
            redeemed_by: context.actor,
          })
          .returningAll()
          .executeTakeFirstOrThrow();

        const agreement = (await findAgreement(coalition, voucher.agreement_id))!;
        const charge =
          agreement.model === 'issuer_pays_per_redeemed' || agreement.model === 'partner_pays_per_redeemed'
            ? Number(agreement.amount_minor)
            : agreement.model === 'partner_pays_percent_of_order'
              ? percentOf(input.orderAmountMinor, Number(agreement.percent))
              : null;
        // A percentage of a tiny order can round to nothing: no entry then (entries are never zero).
        if (charge !== null && charge !== 0) {
          await appendSettlementEntry(coalition, agreement, {
            voucherId: voucher.id,
            offerId: voucher.offer_id,
            redemptionId: redemption.id,
            event: 'code_redeemed',
            amountMinor: charge,
            orderAmountMinor: input.orderAmountMinor,
            occurredAt: now,
            // A percentage of the order is in the order's currency.
            ...(agreement.model === 'partner_pays_percent_of_order' ? { currency: input.currency } : {}),
          });
        }
        const issuerDb = tenantDb(trx, tenantSchemaName(voucher.issuer_slug));
        // The issuer's redemption-side rules: a signal for the issuer, never a refusal.
        const findings = await checkRedemption(coalition, await loadRules(issuerDb, 'redemption'), {
          partner: { id: tenant.id, slug: tenant.slug },
          issuerTenantId: voucher.issuer_tenant_id,
          orderRef: input.orderRef,
          shopperRef: input.shopperRef ?? null,
          now,
        });
        for (const finding of findings) {
          await recordHits(issuerDb, { findings: [finding], kind: 'redemption', customerId: voucher.customer_id, subjectKey: finding.evidence.subjectKey as string, reference: redemption.id, now });
        }
        await appendOutboxEvent(issuerDb, {
          type: 'voucher.redeemed',
          occurredAt: now,
          payload: {
            voucherId: voucher.id,
            redemptionId: redemption.id,
            partner: tenant.slug,
            customerId: voucher.customer_id,
            rewardId: voucher.reward_id,
            campaignId: voucher.campaign_id,
            agreementId: voucher.agreement_id,
            offerId: voucher.offer_id,
            codeMask: voucher.code_mask,
            orderRef: input.orderRef,
            shopperRef: input.shopperRef ?? null,
            orderAmountMinor: input.orderAmountMinor,
            discountMinor,
            currency: input.currency,
            redeemedAt: now.toISOString(),
          },
        });
        return toRedemption({ ...redemption, issuer_slug: voucher.issuer_slug }, services.config.redemptionReversalMs);
      },
    ),
  );
}

function refusal(reason: CodeRefusal, voucher: VoucherWithSlugs | undefined, live: { id: string; redeemed_at: Date } | undefined): AppError {
  const message = reason === 'ALREADY_REDEEMED' && live ? `The code was already redeemed at ${live.redeemed_at.toISOString()}.` : refusalText(reason);
  return new AppError(reason, message, refusalDetails(reason, voucher, live));
}
