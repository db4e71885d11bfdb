import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { latestMigrationName, migrateTenantSchema, withMigrationsSettled } from '../db/migrate.ts';
import { isUniqueViolation } from '../db/postgres-errors.ts';
import { assertValidSlug, tenantSchemaName } from '../db/schema-names.ts';
import type { TenantRole } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { insertAuditEvent } from './audit.queries.ts';
import { findTenantBySlug, insertTenant } from './tenant.queries.ts';
import { createTenantInputSchema, toTenant, type CreateTenantInput, type Tenant } from './tenant.ts';
import { parseInput } from '../errors/validation.ts';

/**
 * Registers a tenant and provisions its schema. The schema is migrated first (that
 * step is idempotent and takes its own transaction), the registry row second: a crash
 * in between leaves an empty schema that the next attempt reuses, never a registered
 * tenant without tables.
 */
export async function createTenant(db: Database, rawInput: CreateTenantInput, actor: string): Promise<Tenant> {
  assertValidSlug(rawInput.slug);
  const input = parseInput(createTenantInputSchema, rawInput);
  if (await findTenantBySlug(coalitionDb(db), input.slug)) throw slugTaken(input.slug);
  return withMigrationsSettled(db, () => provisionAndRegister(db, input, actor));
}

async function provisionAndRegister(db: Database, input: ReturnType<typeof createTenantInputSchema.parse>, actor: string): Promise<Tenant> {
  await migrateTenantSchema(db, input.slug);
  const schemaVersion = await latestMigrationName('tenant');
  try {
    return await db.transaction().execute(async (trx) => {
      const row = await insertTenant(coalitionDb(trx), {
        slug: input.slug,
        display_name: input.displayName,
        roles: [...new Set(input.roles)].sort() as TenantRole[],
        timezone: input.timezone,
        currency: input.currency,
        rate_limit_per_minute: input.rateLimitPerMinute ?? null,
        schema_version: schemaVersion,
      });
      await insertAuditEvent(tenantDb(trx, tenantSchemaName(row.slug)), {
        actor,
        action: 'tenant.created',
        subjectType: 'tenant',
        subjectId: row.slug,
        details: { roles: row.roles, timezone: row.timezone, currency: row.currency },
      });
      return toTenant(row);
    });
  } catch (error) {
    if (isUniqueViolation(error, 'tenants_slug_key')) throw slugTaken(input.slug);
    throw error;
  }
}

function slugTaken(slug: string): AppError {
  return new AppError('TENANT_SLUG_TAKEN', `A tenant with slug "${slug}" already exists.`, { slug });
}
