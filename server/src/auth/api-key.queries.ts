import { sql, type Insertable, type Selectable } from 'kysely';
import type { CoalitionDb } from '../db/database.ts';
import type { ApiKeysTable, TenantStatus } from '../db/tables.ts';

export async function insertApiKey(db: CoalitionDb, values: Insertable<ApiKeysTable>): Promise<Selectable<ApiKeysTable>> {
  return db.insertInto('api_keys').values(values).returningAll().executeTakeFirstOrThrow();
}

export type ApiKeyWithTenant = Selectable<ApiKeysTable> & {
  tenant_slug: string | null;
  tenant_status: TenantStatus | null;
  tenant_roles: string[] | null;
  tenant_rate_limit_per_minute: number | null;
  tenant_schema_version: string | null;
  tenant_currency: string | null;
  tenant_timezone: string | null;
};

/** What an authentication lookup reads of the caller's tenant (left-joined as `tenants`). */
export const TENANT_COLUMNS = [
  'tenants.slug as tenant_slug',
  'tenants.status as tenant_status',
  'tenants.roles as tenant_roles',
  'tenants.rate_limit_per_minute as tenant_rate_limit_per_minute',
  'tenants.schema_version as tenant_schema_version',
  'tenants.currency as tenant_currency',
  'tenants.timezone as tenant_timezone',
] as const;

/** One indexed lookup per authenticated request: the key and its tenant together. */
export async function findApiKeyWithTenant(db: CoalitionDb, id: string): Promise<ApiKeyWithTenant | undefined> {
  return db
    .selectFrom('api_keys')
    .leftJoin('tenants', 'tenants.id', 'api_keys.tenant_id')
    .selectAll('api_keys')
    .select(TENANT_COLUMNS)
    .where('api_keys.id', '=', id)
    .executeTakeFirst();
}

export async function findTenantApiKey(
  db: CoalitionDb,
  tenantId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Selectable<ApiKeysTable> | undefined> {
  const query = db.selectFrom('api_keys').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId);
  return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

export async function listTenantApiKeys(db: CoalitionDb, tenantId: string): Promise<Selectable<ApiKeysTable>[]> {
  return db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').orderBy('id').execute();
}

export async function countActiveTenantApiKeys(db: CoalitionDb, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('tenant_id', '=', tenantId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function listOperatorApiKeys(db: CoalitionDb): Promise<Selectable<ApiKeysTable>[]> {
  return db.selectFrom('api_keys').selectAll().where('kind', '=', 'operator').orderBy('created_at', 'desc').orderBy('id').execute();
}

/** Sets revoked_at once; returns undefined when the key was already revoked (or absent). */
export async function markApiKeyRevoked(db: CoalitionDb, id: string): Promise<Selectable<ApiKeysTable> | undefined> {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Records use at most once a minute per key, so a busy key does not turn every read
 * into a write.
 */
export async function touchApiKeyLastUsed(db: CoalitionDb, id: string): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ last_used_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();
}
