import type { z } from 'zod';
import { findAgreement } from '../agreements/agreement.queries.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import { CodeVault } from '../pools/code-vault.ts';
import { reverseRedemptionCharges } from '../settlement/settlement-entries.ts';
import type { RedemptionContext } from './redeem-code.ts';
import { listRedemptionsInputSchema, reverseRedemptionInputSchema, toRedemption, type Redemption, type RedemptionRow } from './redemption.ts';

function redemptionsOfPartner(db: Database, partnerTenantId: string) {
  return coalitionDb(db)
    .selectFrom('redemptions as r')
    .innerJoin('tenants as i', 'i.id', 'r.issuer_tenant_id')
    .selectAll('r')
    .select('i.slug as issuer_slug')
    .where('r.partner_tenant_id', '=', partnerTenantId);
}

async function requireRedemption(db: Database, partnerTenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<RedemptionRow> {
  const query = redemptionsOfPartner(db, partnerTenantId).where('r.id', '=', id);
  const row = await (options.forUpdate ? query.forUpdate('r') : query).executeTakeFirst();
  if (!row) throw new AppError('REDEMPTION_NOT_FOUND', `No redemption ${id} of yours.`, { redemptionId: id });
  return row;
}

export async function getRedemption(context: Pick<RedemptionContext, 'services' | 'tenant'>, id: string): Promise<Redemption> {
  return toRedemption(await requireRedemption(context.services.db, context.tenant.id, id), context.services.config.redemptionReversalMs);
}

/**
 * Undoes a redemption (the order was cancelled or refunded) within the reversal
 * window: the code can be redeemed again, the redemption's charges are reversed by a
 * negative settlement entry dated now (so it lands in the open period, never in a
 * finalized one), and the issuer gets `voucher.redemption_reversed`. Reversing a
 * reversed redemption answers it as it is.
 *
 * Lock order as for redemption and cancellation: the voucher row first.
 */
export async function reverseRedemption(context: RedemptionContext, id: string, rawInput: z.input<typeof reverseRedemptionInputSchema>): Promise<Redemption> {
  const input = parseInput(reverseRedemptionInputSchema, rawInput);
  const { services, tenant, now } = context;
  const found = await requireRedemption(services.db, tenant.id, id);
  await services.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    await coalition.selectFrom('vouchers').select('id').where('id', '=', found.voucher_id).forUpdate().executeTakeFirstOrThrow();
    const redemption = await requireRedemption(trx, tenant.id, id, { forUpdate: true });
    if (redemption.status === 'reversed') return;
    const closesAt = new Date(redemption.redeemed_at.getTime() + services.config.redemptionReversalMs);
    if (now > closesAt) {
      throw new AppError('REVERSAL_WINDOW_CLOSED', `Redemption ${id} can no longer be reversed: the window closed at ${closesAt.toISOString()}.`, {
        redemptionId: id,
        redeemedAt: redemption.redeemed_at.toISOString(),
        closedAt: closesAt.toISOString(),
      });
    }
    await coalition
      .updateTable('redemptions')
      .set({ status: 'reversed', reversed_at: now, reversed_by: context.actor, reverse_reason: input.reason })
      .where('id', '=', id)
      .execute();
    await coalition.updateTable('vouchers').set({ status: 'issued', redeemed_at: null }).where('id', '=', redemption.voucher_id).where('status', '=', 'redeemed').execute();
    await tenantDb(trx, tenant.schema)
      .updateTable('codes')
      .set({ status: 'issued', redeemed_at: null, status_changed_at: now })
      .where('id', '=', redemption.code_id)
      .where('status', '=', 'redeemed')
      .execute();
    const agreement = (await findAgreement(coalition, redemption.agreement_id))!;
    const reversedMinor = await reverseRedemptionCharges(coalition, agreement, id, now);
    await appendOutboxEvent(tenantDb(trx, tenantSchemaName(redemption.issuer_slug)), {
      type: 'voucher.redemption_reversed',
      occurredAt: now,
      payload: {
        voucherId: redemption.voucher_id,
        redemptionId: id,
        partner: tenant.slug,
        agreementId: redemption.agreement_id,
        offerId: redemption.offer_id,
        codeMask: redemption.code_mask,
        orderRef: redemption.order_ref,
        orderAmountMinor: Number(redemption.order_amount_minor),
        currency: redemption.currency,
        redeemedAt: redemption.redeemed_at.toISOString(),
        reversedAt: now.toISOString(),
        reason: input.reason,
        settlementReversedMinor: reversedMinor,
      },
    });
  });
  return getRedemption(context, id);
}

/** A partner's redemptions, newest first, by code, order reference, status and time; keyset-paginated. */
export async function listRedemptions(
  context: Pick<RedemptionContext, 'services' | 'tenant'>,
  rawInput: z.input<typeof listRedemptionsInputSchema>,
): Promise<{ redemptions: Redemption[]; nextCursor: string | null }> {
  const input = parseInput(listRedemptionsInputSchema, rawInput);
  const { services, tenant } = context;
  const db = services.db;
  let query = redemptionsOfPartner(db, tenant.id)
    .orderBy('r.redeemed_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(input.limit + 1);
  if (input.code !== undefined) {
    const hash = new CodeVault(services.secrets, tenant.id).lookupHash(input.code);
    const code = await tenant.db.selectFrom('codes').select('id').where('lookup_hash', '=', hash).executeTakeFirst();
    if (!code) return { redemptions: [], nextCursor: null };
    query = query.where('r.code_id', '=', code.id);
  }
  if (input.orderRef !== undefined) query = query.where('r.order_ref', '=', input.orderRef);
  if (input.status !== undefined) query = query.where('r.status', '=', input.status);
  if (input.offerId !== undefined) query = query.where('r.offer_id', '=', input.offerId);
  if (input.from !== undefined) query = query.where('r.redeemed_at', '>=', new Date(input.from));
  if (input.to !== undefined) query = query.where('r.redeemed_at', '<', new Date(input.to));
  if (input.cursor !== undefined) {
    const after = await coalitionDb(db).selectFrom('redemptions').select(['redeemed_at', 'id']).where('id', '=', input.cursor).where('partner_tenant_id', '=', tenant.id).executeTakeFirst();
    if (!after) throw validationError([{ path: ['cursor'], message: 'is not a redemption of yours' }]);
    query = query.where((eb) => eb.or([eb('r.redeemed_at', '<', after.redeemed_at), eb.and([eb('r.redeemed_at', '=', after.redeemed_at), eb('r.id', '<', after.id)])]));
  }
  const rows = await query.execute();
  const page = rows.slice(0, input.limit);
  return {
    redemptions: page.map((row) => toRedemption(row, services.config.redemptionReversalMs)),
    nextCursor: rows.length > input.limit ? page.at(-1)!.id : null,
  };
}
