import type { Selectable } from 'kysely';
import { coalitionDb, type Database } from '../db/database.ts';
import type { TenantsTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { findTenantBySlug, listTenantsPage } from './tenant.queries.ts';
import { toTenant, type Tenant } from './tenant.ts';

export async function requireTenantRow(db: Database, slug: string): Promise<Selectable<TenantsTable>> {
  const row = await findTenantBySlug(coalitionDb(db), slug);
  if (!row) throw new AppError('TENANT_NOT_FOUND', `No tenant has slug "${slug}".`, { slug });
  return row;
}

export async function getTenant(db: Database, slug: string): Promise<Tenant> {
  return toTenant(await requireTenantRow(db, slug));
}

export async function listTenants(
  db: Database,
  options: { limit: number; cursor?: string | undefined },
): Promise<{ tenants: Tenant[]; nextCursor: string | null }> {
  const rows = await listTenantsPage(coalitionDb(db), { limit: options.limit + 1, afterSlug: options.cursor });
  const page = rows.slice(0, options.limit);
  return { tenants: page.map(toTenant), nextCursor: rows.length > options.limit ? (page.at(-1)?.slug ?? null) : null };
}
