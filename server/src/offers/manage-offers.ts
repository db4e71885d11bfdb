import { prefixedIds } from '../db/ids.ts';
import type { TenantHandle } from '../auth/principal.ts';
import { sql } from 'kysely';
import { coalitionDb, type TenantDb } from '../db/database.ts';
import type { OffersTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { reconcileStockState } from '../pools/stock.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import {
  createOfferInputSchema,
  OFFER_TRANSITIONS,
  toOffer,
  updateOfferInputSchema,
  type CreateOfferInput,
  toOfferSummary,
  type Offer,
  type OfferRow,
  type OfferSummary,
  type UpdateOfferInput,
} from './offer.ts';

const newOfferId = prefixedIds('off');

export interface OfferContext {
  tenant: TenantHandle;
  actor: string;
  now: Date;
}

function assertFuture(value: string | null | undefined, now: Date, path: string): void {
  if (value && new Date(value) <= now) throw validationError([{ path: [path], message: 'must be in the future' }]);
}

export async function createOffer(context: OfferContext, rawInput: CreateOfferInput): Promise<Offer> {
  const input = parseInput(createOfferInputSchema, rawInput);
  assertFuture(input.codesValidUntil, context.now, 'codesValidUntil');
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('offers')
      .values({
        id: newOfferId(),
        title: input.title,
        description: input.description,
        ...valueColumns(input.value),
        currency: input.currency ?? context.tenant.currency,
        min_order_minor: input.minOrderMinor,
        terms_url: input.termsUrl,
        codes_valid_until: input.codesValidUntil ? new Date(input.codesValidUntil) : null,
        status: input.status,
        low_stock_threshold: input.lowStockThreshold,
        cancelled_code_policy: input.onVoucherCancelled,
        code_case: input.codeRules.case,
        code_min_length: input.codeRules.minLength,
        code_max_length: input.codeRules.maxLength,
        code_characters: input.codeRules.characters,
        created_at: context.now,
        updated_at: context.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertAuditEvent(trx, { actor: context.actor, action: 'offer.created', subjectType: 'offer', subjectId: row.id, details: { title: row.title } });
    return toOffer(row);
  });
}

function valueColumns(value: NonNullable<UpdateOfferInput['value']>): { value_type: OffersTable['value_type']; value_minor: number | null; value_percent: number | null } {
  return value.type === 'fixed'
    ? { value_type: 'fixed', value_minor: value.amountMinor, value_percent: null }
    : { value_type: 'percent', value_minor: null, value_percent: value.percent };
}

/**
 * `forUpdate`: FOR NO KEY UPDATE, enough for edits that claims may see either way.
 * `forValueChange`: FOR UPDATE, which waits for the claims in flight (they hold the
 * offer FOR KEY SHARE) so that their codes are seen before the value may change.
 */
export async function requireOffer(db: TenantDb, id: string, options: { forUpdate?: boolean; forValueChange?: boolean } = {}): Promise<OfferRow> {
  let query = db.selectFrom('offers').selectAll().where('id', '=', id);
  if (options.forValueChange) query = query.forUpdate();
  else if (options.forUpdate) query = query.forNoKeyUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw new AppError('OFFER_NOT_FOUND', `No offer ${id} exists.`, { offerId: id });
  return row;
}

/** Offers of a partner by id, as an issuer may see them (agreements, rewards). */
export async function describeOffers(db: TenantDb, ids: readonly string[]): Promise<Map<string, OfferSummary>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('offers').selectAll().where('id', 'in', [...ids]).execute();
  return new Map(rows.map((row) => [row.id, toOfferSummary(row)]));
}

export async function getOffer(tenant: TenantHandle, id: string): Promise<Offer> {
  return toOffer(await requireOffer(tenant.db, id));
}

export async function listOffers(tenant: TenantHandle, filter: { status?: OfferRow['status'] | undefined }): Promise<Offer[]> {
  let query = tenant.db.selectFrom('offers').selectAll().orderBy('created_at', 'desc').orderBy('id');
  if (filter.status) query = query.where('status', '=', filter.status);
  return (await query.execute()).map(toOffer);
}

async function hasIssuedCodes(trx: TenantDb, offerId: string): Promise<boolean> {
  const row = await trx.selectFrom('codes').select('id').where('offer_id', '=', offerId).where('status', 'in', ['reserved', 'issued', 'redeemed']).limit(1).executeTakeFirst();
  if (row) return true;
  // Codes handed out before they expired or were voided count too: customers hold them.
  const earlier = await trx.selectFrom('codes').select('id').where('offer_id', '=', offerId).where('issued_at', 'is not', null).limit(1).executeTakeFirst();
  return earlier !== undefined;
}

/**
 * Texts, dates and the watermark change any time until the offer is closed. The value
 * (and currency, minimum order) is fixed once a code has been issued: customers hold
 * codes promising it. Code rules are fixed once a batch exists: it was checked by them.
 */
export async function updateOffer(context: OfferContext, id: string, rawPatch: UpdateOfferInput): Promise<Offer> {
  const patch = parseInput(updateOfferInputSchema, rawPatch);
  assertFuture(patch.codesValidUntil, context.now, 'codesValidUntil');
  const touchesValue = patch.value !== undefined || patch.currency !== undefined || patch.minOrderMinor !== undefined;
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await requireOffer(trx, id, touchesValue ? { forValueChange: true } : { forUpdate: true });
    if (row.status === 'closed') throw new AppError('OFFER_CLOSED', `Offer ${id} is closed and can no longer change.`, { offerId: id });
    const current = toOffer(row);
    const valueChanges =
      (patch.value !== undefined && JSON.stringify(patch.value) !== JSON.stringify(current.value)) ||
      (patch.currency !== undefined && patch.currency !== current.currency) ||
      (patch.minOrderMinor !== undefined && patch.minOrderMinor !== current.minOrderMinor);
    if (valueChanges && (await hasIssuedCodes(trx, id))) {
      throw new AppError('OFFER_VALUE_LOCKED', `Codes of offer ${id} have been issued; its value, currency and minimum order can no longer change.`, { offerId: id });
    }
    if (patch.currency !== undefined && patch.currency !== current.currency) {
      // A percentage of the order is settled in the orders' currency: such an agreement was accepted for this one.
      const bound = await coalitionDb(trx)
        .selectFrom('agreements')
        .select('id')
        .where('partner_tenant_id', '=', context.tenant.id)
        .where('model', '=', 'partner_pays_percent_of_order')
        .where('status', 'in', ['proposed', 'active', 'suspended'])
        .where(sql<boolean>`${id} = any(offer_ids)`)
        .limit(1)
        .executeTakeFirst();
      if (bound) {
        throw new AppError('OFFER_CURRENCY_LOCKED', `Offer ${id} is in agreement ${bound.id}, which takes a percentage of orders in ${current.currency}; its currency cannot change while that agreement runs.`, {
          offerId: id,
          agreementId: bound.id,
          currency: current.currency,
        });
      }
    }
    if (patch.codeRules !== undefined && JSON.stringify(patch.codeRules) !== JSON.stringify(current.codeRules)) {
      // A failed upload never checked a code against the rules: it does not lock them.
      const batch = await trx.selectFrom('code_batches').select('id').where('offer_id', '=', id).where('status', '<>', 'failed').limit(1).executeTakeFirst();
      if (batch) throw new AppError('OFFER_CODE_RULES_LOCKED', `Offer ${id} already has code batches; its code rules can no longer change.`, { offerId: id });
    }
    const updated = await trx
      .updateTable('offers')
      .set({
        ...(patch.title !== undefined && { title: patch.title }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.value !== undefined && valueColumns(patch.value)),
        ...(patch.currency !== undefined && { currency: patch.currency }),
        ...(patch.minOrderMinor !== undefined && { min_order_minor: patch.minOrderMinor }),
        ...(patch.termsUrl !== undefined && { terms_url: patch.termsUrl }),
        ...(patch.codesValidUntil !== undefined && { codes_valid_until: patch.codesValidUntil ? new Date(patch.codesValidUntil) : null }),
        ...(patch.lowStockThreshold !== undefined && { low_stock_threshold: patch.lowStockThreshold }),
        ...(patch.onVoucherCancelled !== undefined && { cancelled_code_policy: patch.onVoucherCancelled }),
        ...(patch.codeRules !== undefined && {
          code_case: patch.codeRules.case,
          code_min_length: patch.codeRules.minLength,
          code_max_length: patch.codeRules.maxLength,
          code_characters: patch.codeRules.characters,
        }),
        updated_at: context.now,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertAuditEvent(trx, { actor: context.actor, action: 'offer.updated', subjectType: 'offer', subjectId: id, details: { ...patch } });
    if (patch.lowStockThreshold !== undefined) await reconcileStockState(trx, id, context.now);
    return toOffer((await trx.selectFrom('offers').selectAll().where('id', '=', id).executeTakeFirst()) ?? updated);
  });
}

export async function setOfferStatus(context: OfferContext, id: string, status: OfferRow['status']): Promise<Offer> {
  return context.tenant.db.transaction().execute(async (trx) => {
    const row = await requireOffer(trx, id, { forUpdate: true });
    if (row.status === status) return toOffer(row);
    const allowed = OFFER_TRANSITIONS[row.status];
    if (!allowed.includes(status)) {
      throw new AppError('OFFER_STATUS_TRANSITION', `Offer ${id} is ${row.status}; it can move to ${allowed.length ? allowed.join(' or ') : 'no other status'}, not ${status}.`, {
        offerId: id,
        status: row.status,
        requested: status,
        allowed,
      });
    }
    const updated = await trx.updateTable('offers').set({ status, updated_at: context.now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await insertAuditEvent(trx, { actor: context.actor, action: 'offer.status_changed', subjectType: 'offer', subjectId: id, details: { from: row.status, to: status } });
    return toOffer(updated);
  });
}
