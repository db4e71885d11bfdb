import { sql, type Insertable } from 'kysely';
import type { CoalitionDb } from '../db/database.ts';
import type { VouchersTable } from '../db/tables.ts';
import type { VoucherWithSlugs } from './voucher.ts';

export async function insertVoucher(db: CoalitionDb, values: Insertable<VouchersTable>): Promise<void> {
  await db.insertInto('vouchers').values(values).execute();
}

/** Vouchers with both tenants' slugs: the base of every voucher read (issuer's and partner's). */
export function vouchersWithSlugs(db: CoalitionDb) {
  return db
    .selectFrom('vouchers as v')
    .innerJoin('tenants as i', 'i.id', 'v.issuer_tenant_id')
    .innerJoin('tenants as p', 'p.id', 'v.partner_tenant_id')
    .selectAll('v')
    .select(['i.slug as issuer_slug', 'p.slug as partner_slug']);
}

/** A voucher this issuer issued; another issuer's voucher is not found. */
export async function findVoucherOfIssuer(db: CoalitionDb, issuerTenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<VoucherWithSlugs | undefined> {
  const query = vouchersWithSlugs(db).where('v.id', '=', id).where('v.issuer_tenant_id', '=', issuerTenantId);
  return (options.forUpdate ? query.forUpdate('v') : query).executeTakeFirst();
}

export type VoucherListStatus = 'issued' | 'redeemed' | 'expired' | 'cancelled';

/** A customer's vouchers, newest first, keyset-paginated by (issued_at, id). */
export async function listVouchersOfCustomer(
  db: CoalitionDb,
  input: { issuerTenantId: string; customerId: string; status?: VoucherListStatus | undefined; limit: number; cursor?: string | undefined; now: Date },
): Promise<VoucherWithSlugs[]> {
  let query = vouchersWithSlugs(db)
    .where('v.issuer_tenant_id', '=', input.issuerTenantId)
    .where('v.customer_id', '=', input.customerId)
    .orderBy('v.issued_at', 'desc')
    .orderBy('v.id', 'desc')
    .limit(input.limit);
  if (input.status === 'issued') query = query.where('v.status', '=', 'issued').where('v.expires_at', '>', input.now);
  else if (input.status === 'expired') query = query.where('v.status', '=', 'issued').where('v.expires_at', '<=', input.now);
  else if (input.status) query = query.where('v.status', '=', input.status);
  if (input.cursor) {
    const after = input.cursor;
    query = query.where(
      sql<boolean>`(v.issued_at, v.id) < (select c.issued_at, c.id from coalition.vouchers c where c.id = ${after} and c.issuer_tenant_id = ${input.issuerTenantId})`,
    );
  }
  return query.execute();
}
