import { sql } from 'kysely';
import { z } from 'zod';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';

/** How long finished deliveries (with their attempt log) and relayed outbox rows are kept. */
export const DELIVERY_RETENTION_DAYS = 30;

/**
 * Deletes deliveries that finished (succeeded or failed) more than the retention ago,
 * their attempts, and outbox rows relayed that long ago. Pending deliveries and
 * unrelayed outbox rows are never touched. Returns what it deleted.
 */
export async function pruneDeliveries(db: Database, now: Date): Promise<{ deliveries: number; outboxEvents: number }> {
  const cutoff = new Date(now.getTime() - DELIVERY_RETENTION_DAYS * 24 * 60 * 60 * 1000);
  const coalition = coalitionDb(db);
  let deliveries = 0;
  for (;;) {
    const batch = await coalition.transaction().execute(async (trx) => {
      const ids = (
        await trx
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('status', '<>', 'pending')
          // Finished that long ago: a delivery replayed recently keeps its new attempts.
          .where(sql<Date>`coalesce(delivered_at, failed_at, created_at)`, '<', cutoff)
          .limit(5_000)
          .forUpdate()
          .skipLocked()
          .execute()
      ).map((row) => row.id);
      if (ids.length === 0) return 0;
      await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
      await trx.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute();
      return ids.length;
    });
    deliveries += batch;
    if (batch < 5_000) break;
  }
  let outboxEvents = 0;
  const tenants = await coalition.selectFrom('tenants').select('slug').orderBy('slug').execute();
  for (const { slug } of tenants) {
    const result = await tenantDb(db, tenantSchemaName(slug)).deleteFrom('outbox_events').where('dispatched_at', '<', cutoff).executeTakeFirst();
    outboxEvents += Number(result.numDeletedRows);
  }
  return { deliveries, outboxEvents };
}

export const pruneDeliveriesJob: JobDefinition<Record<string, never>> = {
  queue: 'maintenance',
  name: 'prune-webhook-deliveries',
  payload: z.strictObject({}),
  repeatEveryMs: 60 * 60 * 1000,
  async handle(_payload, { services, logger }) {
    const pruned = await pruneDeliveries(services.db, services.clock.now());
    if (pruned.deliveries || pruned.outboxEvents) logger.info(pruned, 'pruned old webhook deliveries and relayed outbox rows');
  },
};
