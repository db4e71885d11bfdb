import type { Insertable, Selectable, Updateable } from 'kysely';
import type { CoalitionDb } from '../db/database.ts';
import type { TenantsTable } from '../db/tables.ts';

export async function insertTenant(db: CoalitionDb, values: Insertable<TenantsTable>): Promise<Selectable<TenantsTable>> {
  return db.insertInto('tenants').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findTenantBySlug(db: CoalitionDb, slug: string): Promise<Selectable<TenantsTable> | undefined> {
  return db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
}

export async function listTenantsPage(db: CoalitionDb, options: { limit: number; afterSlug?: string | undefined }): Promise<Selectable<TenantsTable>[]> {
  let query = db.selectFrom('tenants').selectAll().orderBy('slug').limit(options.limit);
  if (options.afterSlug) query = query.where('slug', '>', options.afterSlug);
  return query.execute();
}

export async function updateTenantBySlug(
  db: CoalitionDb,
  slug: string,
  patch: Updateable<TenantsTable>,
): Promise<Selectable<TenantsTable> | undefined> {
  return db
    .updateTable('tenants')
    .set({ ...patch, updated_at: new Date() })
    .where('slug', '=', slug)
    .returningAll()
    .executeTakeFirst();
}

/** What other domains need to know of a tenant they deal with: never its keys or settings. */
export interface TenantSummary {
  id: string;
  slug: string;
  displayName: string;
  roles: string[];
  status: string;
  timezone: string;
}

export async function tenantSummaries(db: CoalitionDb, ids: readonly string[]): Promise<Map<string, TenantSummary>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('tenants')
    .select(['id', 'slug', 'display_name', 'roles', 'status', 'timezone'])
    .where('id', 'in', [...new Set(ids)])
    .execute();
  return new Map(rows.map((row) => [row.id, toTenantSummary(row)]));
}

export function toTenantSummary(row: Pick<Selectable<TenantsTable>, 'id' | 'slug' | 'display_name' | 'roles' | 'status' | 'timezone'>): TenantSummary {
  return { id: row.id, slug: row.slug, displayName: row.display_name, roles: row.roles, status: row.status, timezone: row.timezone };
}
