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
  return db.insertInto('customers').values(values).onConflict((oc) => oc.doNothing()).returningAll().executeTakeFirst();
}

export async function updateCustomer(db: TenantDb, id: string, patch: Updateable<CustomersTable>): Promise<CustomerRow | undefined> {
  return db
    .updateTable('customers')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}
