import { sql, type Kysely, type Selectable } from 'kysely';
import type { OffersTable } from '../db/tables.ts';
import { tenantDb } from '../db/database.ts';
import type { TenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import type { Secrets } from '../secrets/secrets.ts';
import { CodeVault } from './code-vault.ts';
import { reconcileStockState, validAt } from './stock.ts';

/** The partner whose pool a claim draws from. */
export interface PoolOwner {
  tenantId: string;
  schema: TenantSchemaName;
}

export interface ClaimedCode {
  codeId: string;
  offerId: string;
  batchId: string;
  /** The plain code, for the customer. Never logged. */
  code: string;
  mask: string;
  expiresAt: Date | null;
  status: 'issued' | 'reserved';
  /** The offer as it stood at the claim (its value is locked from now on). */
  offer: Selectable<OffersTable>;
}

export interface ClaimOptions {
  now: Date;
  /** What the code goes to (a voucher id): stored with the code. */
  holderRef: string;
  /** Skip codes that expire before this moment (default: now). */
  validAtLeastUntil?: Date;
  /** Reserve instead of issue: the code is held until then, then returns to the pool unless issued. */
  reserveUntil?: Date;
}

/**
 * Takes one available code of a partner's offer inside the CALLER's transaction (the
 * exchange's, spanning issuer, partner and coalition schemas). `FOR UPDATE SKIP
 * LOCKED` lets concurrent claimers pass over each other's rows instead of queueing, and
 * the status condition is re-checked on the locked row, so a code is never handed out
 * twice; if the caller rolls back, the code is available again. The code expiring
 * first goes first. POOL_EXHAUSTED when none is left.
 */
export async function claimCode(trx: Kysely<any>, owner: PoolOwner, offerId: string, secrets: Secrets, options: ClaimOptions): Promise<ClaimedCode> {
  const db = tenantDb(trx, owner.schema);
  // FOR KEY SHARE: an edit of the offer's value (FOR UPDATE) waits for the claims in
  // flight and then sees their codes as issued, so the value a customer was promised
  // never changes under them. Claims do not wait for each other.
  const offer = await db.selectFrom('offers').selectAll().where('id', '=', offerId).forKeyShare().executeTakeFirst();
  if (!offer) throw new AppError('OFFER_NOT_FOUND', `No offer ${offerId} exists.`, { offerId });
  const validUntil = options.validAtLeastUntil ?? options.now;
  if (offer.status !== 'active' || (offer.codes_valid_until && offer.codes_valid_until <= validUntil)) {
    const endsTooSoon = offer.status === 'active' && offer.codes_valid_until! > options.now;
    throw new AppError(
      'OFFER_NOT_ACTIVE',
      `Offer ${offerId} ${offer.status !== 'active' ? `is ${offer.status}` : endsTooSoon ? 'ends before a code would need to be valid until' : 'is past its codes-valid-until date'}; no code can be handed out.`,
      { offerId, status: offer.status, codesValidUntil: offer.codes_valid_until?.toISOString() ?? null, ...(endsTooSoon && { endsTooSoon: true }) },
    );
  }
  const reserving = options.reserveUntil !== undefined;
  // One statement picks (skipping rows other claims hold) and takes the code; the
  // status is checked again on the locked row.
  const row = await db
    .with('picked', (qc) =>
      qc
        .selectFrom('codes')
        .select('id')
        .where('offer_id', '=', offerId)
        .where('status', '=', 'available')
        .where(validAt(validUntil))
        .orderBy('expires_at')
        .orderBy('id')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .updateTable('codes')
    .from('picked')
    .set({
      status: reserving ? 'reserved' : 'issued',
      holder_ref: options.holderRef,
      reserved_until: options.reserveUntil ?? null,
      issued_at: reserving ? null : options.now,
      status_changed_at: options.now,
    })
    .whereRef('codes.id', '=', 'picked.id')
    .where('codes.status', '=', 'available')
    .returning(['codes.id', 'codes.offer_id', 'codes.batch_id', 'codes.cipher', 'codes.lookup_hash', 'codes.mask', 'codes.expires_at'])
    .executeTakeFirst();
  if (!row) {
    throw new AppError('POOL_EXHAUSTED', `Offer ${offerId} has no available code left.`, { offerId });
  }
  await reconcileStockState(db, offerId, options.now, { downOnly: true, offer });
  const code = new CodeVault(secrets, owner.tenantId).decrypt(row.cipher, row.lookup_hash);
  return { codeId: row.id, offerId: row.offer_id, batchId: row.batch_id, code, mask: row.mask, expiresAt: row.expires_at, status: reserving ? 'reserved' : 'issued', offer };
}

/** Turns a reservation into an issue (same transaction rules as claimCode). False when it lapsed or was released. */
export async function issueReservedCode(trx: Kysely<any>, owner: PoolOwner, codeId: string, holderRef: string, now: Date): Promise<boolean> {
  const row = await tenantDb(trx, owner.schema)
    .updateTable('codes')
    .set({ status: 'issued', issued_at: now, reserved_until: null, status_changed_at: now })
    .where('id', '=', codeId)
    .where('status', '=', 'reserved')
    .where('holder_ref', '=', holderRef)
    .where('reserved_until', '>', now)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Returns reserved codes to the pool: one (when `codeId` is given) or every reservation
 * that has lapsed. A code whose batch was voided meanwhile is voided instead.
 */
export async function releaseReservedCodes(trx: Kysely<any>, owner: PoolOwner, now: Date, filter: { codeId?: string; holderRef?: string } = {}): Promise<number> {
  const db = tenantDb(trx, owner.schema);
  let query = db
    .updateTable('codes')
    .set({
      status: sql`case when exists (select 1 from ${sql.table(`${owner.schema}.code_batches`)} b where b.id = codes.batch_id and b.status = 'voided') then 'voided' else 'available' end`,
      holder_ref: null,
      reserved_until: null,
      status_changed_at: now,
    })
    .where('status', '=', 'reserved');
  if (filter.codeId) query = query.where('id', '=', filter.codeId);
  if (filter.holderRef) query = query.where('holder_ref', '=', filter.holderRef);
  if (!filter.codeId && !filter.holderRef) query = query.where('reserved_until', '<=', now);
  const released = await query.returning('offer_id').execute();
  for (const offerId of new Set(released.map((row) => row.offer_id))) await reconcileStockState(db, offerId, now);
  return released.length;
}

