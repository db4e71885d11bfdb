import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { TenantRole } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { insertAuditEvent } from './audit.queries.ts';
import { updateTenantBySlug } from './tenant.queries.ts';
import { toTenant, updateTenantInputSchema, type Tenant, type UpdateTenantInput } from './tenant.ts';
import { parseInput } from '../errors/validation.ts';

/** Currency is fixed at creation: money already recorded in it would change meaning. */
export async function updateTenant(db: Database, slug: string, rawPatch: UpdateTenantInput, actor: string): Promise<Tenant> {
  const patch = parseInput(updateTenantInputSchema, rawPatch);
  return db.transaction().execute(async (trx) => {
    const row = await updateTenantBySlug(coalitionDb(trx), slug, {
      ...(patch.displayName !== undefined && { display_name: patch.displayName }),
      ...(patch.roles !== undefined && { roles: [...new Set(patch.roles)].sort() as TenantRole[] }),
      ...(patch.status !== undefined && { status: patch.status }),
      ...(patch.timezone !== undefined && { timezone: patch.timezone }),
      ...(patch.rateLimitPerMinute !== undefined && { rate_limit_per_minute: patch.rateLimitPerMinute }),
    });
    if (!row) throw new AppError('TENANT_NOT_FOUND', `No tenant has slug "${slug}".`, { slug });
    await insertAuditEvent(tenantDb(trx, tenantSchemaName(slug)), {
      actor,
      action: 'tenant.updated',
      subjectType: 'tenant',
      subjectId: slug,
      details: { ...patch },
    });
    return toTenant(row);
  });
}
