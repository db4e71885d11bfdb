import { z } from 'zod';
import { agreementProblem } from '../agreements/agreement.ts';
import { agreementsOfIssuer } from '../agreements/agreement.queries.ts';
import { countAgainstCap } from '../agreements/agreement-usage.queries.ts';
import type { TenantHandle } from '../auth/principal.ts';
import { cardNumberSchema, customerIdSchema, phoneInputSchema } from '../customers/customer.ts';
import { assertNotBlocked, customerKeyOf, customerNotFound, lockCustomer } from '../customers/identify-customer.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { prefixedIds } from '../db/ids.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput } from '../errors/validation.ts';
import { requireIdempotencyKey, runIdempotent } from '../idempotency/run-idempotent.ts';
import { getIssuerSettings } from '../issuer-settings/issuer-settings.ts';
import { termsOf, toOffer } from '../offers/offer.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { claimCode, type ClaimedCode, type PoolOwner } from '../pools/claim-code.ts';
import { revealCodes } from '../pools/issued-codes.ts';
import { settleStockState } from '../pools/stock.ts';
import { checkExchange } from '../fraud/exchange-rules.ts';
import { blockingTransaction, FraudBlocked, recordHits, verdictOf } from '../fraud/record-cases.ts';
import { loadRules } from '../fraud/rules.ts';
import { limitUsage } from '../rewards/availability.ts';
import { requireReward } from '../rewards/manage-rewards.ts';
import { codesNeededUntil, rewardIdSchema, type RewardRow } from '../rewards/reward.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { chargeIssuedCode } from '../settlement/settlement-entries.ts';
import { spendStickers } from '../stickers/spend-stickers.ts';
import { voucherSecrets } from '../vouchers/show-vouchers.ts';
import { signingKeyFor } from '../vouchers/signing-keys.ts';
import { toVoucher, voucherOutputSchema, type VoucherWithSlugs } from '../vouchers/voucher.ts';
import { findVoucherOfIssuer, insertVoucher } from '../vouchers/voucher.queries.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

const newVoucherId = prefixedIds('vch');

/** How an app names the customer: by id, card or phone, exactly one. */
export const customerSelectorSchema = z
  .strictObject({ customerId: customerIdSchema.optional(), cardNumber: cardNumberSchema.optional(), phone: phoneInputSchema.optional() })
  .refine((value) => [value.customerId, value.cardNumber, value.phone].filter((field) => field !== undefined).length === 1, 'give exactly one of customerId, cardNumber or phone');

export const exchangeInputSchema = z.strictObject({
  customer: customerSelectorSchema,
  rewardId: rewardIdSchema,
});
export type ExchangeInput = z.input<typeof exchangeInputSchema>;

export const exchangeOutputSchema = voucherOutputSchema.extend({
  stickersLeft: z.number().int().describe("The customer's available stickers left in the reward's campaign."),
});
export type ExchangeResult = z.infer<typeof exchangeOutputSchema>;

export interface ExchangeContext {
  db: Database;
  secrets: Secrets;
  tenant: TenantHandle;
  now: Date;
  idempotencyKey: string | undefined;
}

function floorToSecond(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

function earliest(...moments: (Date | null)[]): Date {
  return new Date(Math.min(...moments.filter((moment): moment is Date => moment !== null).map((moment) => moment.getTime())));
}

function unavailable(reward: RewardRow, reason: string, message: string): AppError {
  return new AppError('REWARD_UNAVAILABLE', message, { rewardId: reward.id, reason });
}

/**
 * A customer turns stickers into a partner's promo code, in ONE transaction across the
 * issuer's schema (reward, customer, ledger, idempotency key, outbox), the partner's
 * (the code, its stock state, outbox) and the coalition's (agreement, cap, voucher,
 * settlement entry). Any failure rolls all of it back: no debit without a code, no code
 * without a debit.
 *
 * Lock order (the same in every writer, so none deadlock): Idempotency-Key row →
 * customer FOR NO KEY UPDATE → campaign FOR KEY SHARE → offer FOR KEY SHARE → one
 * available code FOR UPDATE SKIP LOCKED (→ the offer row, only when its stock state
 * changes) → the month's cap counter (capped agreements only, as late as possible:
 * every exchange under the agreement queues on it) → an anti-fraud case row (only when
 * a rule flags: last). The issuer's anti-fraud rules are judged right after the customer
 * lock, before anything is spent (docs/fraud.md). The agreement is read without a
 * lock (docs/adr/0008).
 *
 * The stored answer of the Idempotency-Key holds no code or token: a replay decrypts
 * the code again and re-signs the voucher, which yields the same token (Ed25519 is
 * deterministic).
 */
export async function exchangeStickers(context: ExchangeContext, rawInput: ExchangeInput): Promise<{ result: ExchangeResult; replayed: boolean }> {
  const input = parseInput(exchangeInputSchema, rawInput);
  const idempotencyKey = requireIdempotencyKey(context.idempotencyKey);
  const { tenant, now } = context;
  const signingKey = await signingKeyFor(context.db, context.secrets, tenant.id, now);
  let issued: { row: VoucherWithSlugs; code: string } | undefined;
  let exhausted: { owner: PoolOwner; offerId: string } | undefined;

  let outcome: { result: ExchangeResult; replayed: boolean };
  try {
    outcome = await blockingTransaction(tenantDb(context.db, tenant.schema), now, () =>
      context.db.transaction().execute((trx) => {
        const issuerDb = tenantDb(trx, tenant.schema);
        const coalition = coalitionDb(trx);
        return runIdempotent(issuerDb, { key: idempotencyKey, operation: 'exchange', input, now, fingerprintKey: { secrets: context.secrets, tenantId: context.tenant.id } }, async (): Promise<ExchangeResult> => {
          const reward = await requireReward(issuerDb, input.rewardId);
          if (reward.status !== 'active') throw unavailable(reward, reward.status, `Reward ${reward.id} is ${reward.status}.`);

          const [agreement] = await agreementsOfIssuer(coalition, tenant.id, [reward.agreement_id]);
          if (!agreement) throw new Error(`Reward ${reward.id} names agreement ${reward.agreement_id}, which is not the issuer's`);
          const problem = agreementProblem(agreement, { issuer: agreement.issuer_status, partner: agreement.partner_status }, now);
          if (problem) {
            throw new AppError('AGREEMENT_INACTIVE', `The agreement with ${agreement.partner_slug} behind this reward is not in force (${problem.replaceAll('_', ' ')}).`, {
              agreementId: agreement.id,
              reason: problem,
            });
          }

          const { customer: selector } = input;
          const customerKey =
            selector.customerId !== undefined
              ? { id: selector.customerId }
              : customerKeyOf(selector, { tenant, secrets: context.secrets, phoneRegion: selector.phone !== undefined ? (await getIssuerSettings(issuerDb)).phoneRegion : null }, ['customer', 'phone']);
          const customer = await lockCustomer(issuerDb, customerKey);
          if (!customer) throw customerNotFound(customerKey);
          assertNotBlocked(customer);

          const usage = await limitUsage(coalition, { issuerTenantId: tenant.id, customerId: customer.id, reward, timezone: tenant.timezone, now });
          if (usage.reached) {
            const limit = usage.reached === 'total' ? usage.total! : usage.period!;
            throw new AppError(
              'LIMIT_REACHED',
              usage.reached === 'total'
                ? `The customer already holds ${limit.used} of at most ${limit.limit} vouchers of this reward.`
                : `The customer already exchanged this reward ${limit.used} of at most ${limit.limit} times this ${usage.period!.period}; the limit resets at ${usage.period!.resetsAt}.`,
              { rewardId: reward.id, limit: usage.reached, max: limit.limit, used: limit.used, ...(usage.reached === 'period' && { period: usage.period!.period, resetsAt: usage.period!.resetsAt }) },
            );
          }

          // Anti-fraud, under the customer's lock (docs/fraud.md): a block rolls this back.
          const findings = await checkExchange(issuerDb, coalition, await loadRules(issuerDb, 'exchange'), {
            issuerTenantId: tenant.id,
            customer,
            rewardId: reward.id,
            timezone: tenant.timezone,
            now,
          });
          if (verdictOf(findings) === 'block') throw new FraudBlocked(findings, { kind: 'exchange', customerId: customer.id, reference: reward.id });

          const voucherId = newVoucherId();
          const { availableAfter } = await spendStickers(issuerDb, {
            customer,
            campaignId: reward.campaign_id,
            stickers: reward.sticker_cost,
            reference: voucherId,
            now,
            burned: () => unavailable(reward, 'campaign_burned', `The campaign paying for reward ${reward.id} has burned its stickers.`),
          });

          const owner: PoolOwner = { tenantId: agreement.partner_tenant_id, schema: tenantSchemaName(agreement.partner_slug) };
          let claimed: ClaimedCode;
          try {
            claimed = await claimCode(trx, owner, reward.offer_id, context.secrets, { now, holderRef: voucherId, validAtLeastUntil: codesNeededUntil(reward, now) });
          } catch (error) {
            if (!(error instanceof AppError)) throw error;
            if (error.code === 'POOL_EXHAUSTED') {
              exhausted = { owner, offerId: reward.offer_id };
              throw new AppError('POOL_EXHAUSTED', `${agreement.partner_slug} has no code left for reward ${reward.id}.`, { rewardId: reward.id, offerId: reward.offer_id });
            }
            if (error.code === 'OFFER_NOT_ACTIVE' && error.details.endsTooSoon) {
              throw unavailable(reward, 'offer_ends_soon', `${agreement.partner_slug}'s offer ends before a code would be valid long enough for this reward.`);
            }
            if (error.code === 'OFFER_NOT_ACTIVE' || error.code === 'OFFER_NOT_FOUND') {
              throw unavailable(reward, 'offer_not_active', `${agreement.partner_slug} is not handing out codes for this offer right now.`);
            }
            throw error;
          }

          const usagePeriod = await countAgainstCap(coalition, agreement, now);

          const terms = termsOf(toOffer(claimed.offer));
          const expiresAt = floorToSecond(earliest(claimed.expiresAt, claimed.offer.codes_valid_until, new Date(now.getTime() + reward.voucher_valid_days * DAY_MS)));
          const row: VoucherWithSlugs = {
            id: voucherId,
            issuer_tenant_id: tenant.id,
            partner_tenant_id: agreement.partner_tenant_id,
            agreement_id: agreement.id,
            reward_id: reward.id,
            campaign_id: reward.campaign_id,
            customer_id: customer.id,
            offer_id: reward.offer_id,
            code_id: claimed.codeId,
            code_mask: claimed.mask,
            stickers: reward.sticker_cost,
            terms: terms as unknown as VoucherWithSlugs['terms'],
            kid: signingKey.kid,
            status: 'issued',
            issued_at: now,
            expires_at: expiresAt,
            usage_period: usagePeriod,
            redeemed_at: null,
            cancelled_at: null,
            cancelled_by: null,
            cancel_reason: null,
            code_disposition: null,
            stickers_refunded: null,
            issuer_slug: tenant.slug,
            partner_slug: agreement.partner_slug,
          };
          const { issuer_slug: _issuerSlug, partner_slug: _partnerSlug, ...stored } = row;
          await insertVoucher(coalition, { ...stored, terms: JSON.stringify(terms) });
          await chargeIssuedCode(coalition, agreement, { id: voucherId, offerId: reward.offer_id }, now);

          const event = { voucherId, agreementId: agreement.id, offerId: reward.offer_id, codeMask: claimed.mask, issuedAt: now.toISOString(), expiresAt: expiresAt.toISOString() };
          await appendOutboxEvent(issuerDb, {
            type: 'voucher.issued',
            occurredAt: now,
            payload: { ...event, partner: agreement.partner_slug, customerId: customer.id, rewardId: reward.id, campaignId: reward.campaign_id, stickers: reward.sticker_cost },
          });
          await appendOutboxEvent(tenantDb(trx, owner.schema), { type: 'voucher.issued', occurredAt: now, payload: { ...event, issuer: tenant.slug } });

          issued = { row, code: claimed.code };
          if (findings.length) await recordHits(issuerDb, { findings, kind: 'exchange', customerId: customer.id, reference: voucherId, now });
          return { ...toVoucher(row, now, null), stickersLeft: availableAfter };
        });
      }),
    );
  } catch (error) {
    // The claim that took the last code may have left pool.empty unwritten (it could not
    // see other claims' uncommitted work); this refusal can: settle it now, not at the sweep.
    if (exhausted) await settleStockState(tenantDb(context.db, exhausted.owner.schema), exhausted.offerId, now).catch(() => {});
    throw error;
  }

  return { result: { ...outcome.result, ...(await revealExchanged(context, outcome.result.id, issued)) }, replayed: outcome.replayed };
}

/**
 * The code and signed forms of the exchanged voucher: from memory on the first run,
 * decrypted and re-signed on a replay. A replay of a voucher cancelled since shows it
 * cancelled, without its code (which may belong to someone else by now).
 */
async function revealExchanged(context: ExchangeContext, voucherId: string, issued: { row: VoucherWithSlugs; code: string } | undefined): Promise<Partial<ExchangeResult>> {
  if (issued) return voucherSecrets(context.db, context.secrets, issued.row, issued.code, context.now);
  const row = await findVoucherOfIssuer(coalitionDb(context.db), context.tenant.id, voucherId);
  if (!row) throw new Error(`The stored answer names voucher ${voucherId}, which does not exist`);
  if (row.status === 'cancelled') {
    const { status, cancellation, code, token, qrText } = toVoucher(row, context.now, null);
    return { status, cancellation, code, token, qrText };
  }
  const owner = { tenantId: row.partner_tenant_id, schema: tenantSchemaName(row.partner_slug) };
  const code = (await revealCodes(context.db, owner, context.secrets, [row.code_id])).get(row.code_id)!;
  return voucherSecrets(context.db, context.secrets, row, code, context.now);
}
