import type { Kysely } from 'kysely';
import { tenantDb } from '../db/database.ts';
import type { Secrets } from '../secrets/secrets.ts';
import type { PoolOwner } from './claim-code.ts';
import { CodeVault } from './code-vault.ts';
import { reconcileStockState } from './stock.ts';

/** The plain codes behind issued code ids, for showing a customer the vouchers they hold. Never logged. */
export async function revealCodes(trx: Kysely<any>, owner: PoolOwner, secrets: Secrets, codeIds: readonly string[]): Promise<Map<string, string>> {
  if (codeIds.length === 0) return new Map();
  const rows = await tenantDb(trx, owner.schema).selectFrom('codes').select(['id', 'cipher', 'lookup_hash']).where('id', 'in', [...codeIds]).execute();
  const vault = new CodeVault(secrets, owner.tenantId);
  return new Map(rows.map((row) => [row.id, vault.decrypt(row.cipher, row.lookup_hash)]));
}

/**
 * Takes back the code of a cancelled voucher, in the caller's transaction. The offer's
 * policy decides: `return_to_pool` makes it available again (if it is still valid, its
 * batch not voided and the offer not closed), `void` retires it. null when the code is
 * no longer issued to this holder (it was redeemed meanwhile).
 */
export async function takeBackCode(trx: Kysely<any>, owner: PoolOwner, input: { codeId: string; holderRef: string; now: Date }): Promise<'returned_to_pool' | 'voided' | null> {
  const db = tenantDb(trx, owner.schema);
  const code = await db
    .selectFrom('codes as c')
    .innerJoin('offers as o', 'o.id', 'c.offer_id')
    .innerJoin('code_batches as b', 'b.id', 'c.batch_id')
    .select(['c.id', 'c.offer_id', 'c.status', 'c.holder_ref', 'c.expires_at', 'o.cancelled_code_policy', 'o.status as offer_status', 'o.codes_valid_until', 'b.status as batch_status'])
    .where('c.id', '=', input.codeId)
    .forUpdate('c')
    .executeTakeFirst();
  if (!code || code.status !== 'issued' || code.holder_ref !== input.holderRef) return null;
  const reusable =
    code.cancelled_code_policy === 'return_to_pool' &&
    code.offer_status !== 'closed' &&
    code.batch_status !== 'voided' &&
    (code.expires_at === null || code.expires_at > input.now) &&
    (code.codes_valid_until === null || code.codes_valid_until > input.now);
  await db
    .updateTable('codes')
    .set(reusable ? { status: 'available', holder_ref: null, issued_at: null, status_changed_at: input.now } : { status: 'voided', status_changed_at: input.now })
    .where('id', '=', code.id)
    .execute();
  if (reusable) await reconcileStockState(db, code.offer_id, input.now);
  return reusable ? 'returned_to_pool' : 'voided';
}
