import { z } from 'zod';
import { coalitionDb, tenantDb, type Database, type TenantDb } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';

/** How long a retry with the same Idempotency-Key gets the stored answer. */
export const IDEMPOTENCY_RETENTION_DAYS = 30;

export async function pruneIdempotencyKeys(db: TenantDb, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_RETENTION_DAYS * 24 * 60 * 60 * 1000);
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Every tenant: issuers keep keys of purchases and exchanges, partners of redemptions. */
export async function pruneIdempotencyKeysForAllTenants(db: Database, now: Date): Promise<void> {
  const tenants = await coalitionDb(db).selectFrom('tenants').select('slug').orderBy('slug').execute();
  for (const { slug } of tenants) await pruneIdempotencyKeys(tenantDb(db, tenantSchemaName(slug)), now);
}

export const pruneIdempotencyKeysJob: JobDefinition<Record<string, never>> = {
  queue: 'maintenance',
  name: 'prune-idempotency-keys',
  payload: z.strictObject({}),
  repeatEveryMs: 60 * 60 * 1000,
  async handle(_payload, { services }) {
    await pruneIdempotencyKeysForAllTenants(services.db, services.clock.now());
  },
};
