import { sql } from 'kysely';
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { TenantDb } from '../db/database.ts';
import type { CustomersTable } from '../db/tables.ts';

export type CustomerRow = Selectable<CustomersTable>;

export async function findCustomer(
  db: TenantDb,
  by: { id?: string; cardNumber?: string; phoneHash?: string },
  options: { forUpdate?: boolean } = {},
): Promise<CustomerRow | undefined> {
  let query = db.selectFrom('customers').selectAll();
  if (by.id !== undefined) query = query.where('id', '=', by.id);
  else if (by.cardNumber !== undefined) query = query.where('card_number', '=', by.cardNumber);
  else if (by.phoneHash !== undefined) query = query.where('phone_hash', '=', by.phoneHash);
  else return undefined;
  // FOR NO KEY UPDATE: serialises writers of one customer without blocking the
  // foreign-key checks (KEY SHARE) other transactions make when they reference it.
  return (options.forUpdate ? query.forNoKeyUpdate() : query).executeTakeFirst();
}

/** Inserts unless the card or phone is taken meanwhile; undefined then (the caller looks it up). */
export async function insertCustomerIfAbsent(db: TenantDb, values: Insertable<CustomersTable>): Promise<CustomerRow | undefined> {
  return atomically(db, async (trx) => {
    const row = await trx.insertInto('customers').values(values).onConflict((oc) => oc.doNothing()).returningAll().executeTakeFirst();
    if (row?.phone_hash) await linkPhone(trx, row.id, row.phone_hash);
    return row;
  });
}

export async function updateCustomer(db: TenantDb, id: string, patch: Updateable<CustomersTable>): Promise<CustomerRow | undefined> {
  return atomically(db, async (trx) => {
    const row = await trx
      .updateTable('customers')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row?.phone_hash && patch.phone_hash) await linkPhone(trx, row.id, row.phone_hash);
    return row;
  });
}

/** In the caller's transaction, or in one of its own: a customer and its phone link are written together. */
function atomically<T>(db: TenantDb, work: (trx: TenantDb) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** Every phone a customer has held stays linked to them: the shared-phone rule reads it (docs/fraud.md). */
async function linkPhone(db: TenantDb, customerId: string, phoneHash: string): Promise<void> {
  await db.insertInto('customer_phone_links').values({ phone_hash: phoneHash, customer_id: customerId, linked_at: sql<Date>`now()` }).onConflict((oc) => oc.doNothing()).execute();
}
