import { sql } from 'kysely';
import { z } from 'zod';
import { coalitionDb, tenantDb, type TenantDb } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';
import type { AppServices } from '../system/services.ts';
import { releaseReservedCodes } from './claim-code.ts';
import { requeueStalledImports } from './import-batch.ts';
import { reconcileStockState } from './stock.ts';

const MINUTE_MS = 60_000;
/** Codes moved to expired per statement, so one sweep never holds a huge transaction. */
const EXPIRE_STEP = 50_000;

export interface SweepOptions {
  /** A queued batch older than this whose job never arrived is queued again. */
  queuedForMs: number;
  /** An importing batch silent this long lost its worker: queued again. */
  silentForMs: number;
  /** An upload that received nothing for this long was abandoned by its client or server. */
  receivingForMs: number;
}

export const DEFAULT_SWEEP: SweepOptions = { queuedForMs: 2 * MINUTE_MS, silentForMs: 10 * MINUTE_MS, receivingForMs: 15 * MINUTE_MS };

/**
 * One partner's pool housekeeping: codes past their date (or their offer's) become
 * expired, lapsed reservations return to the pool, stock states are brought up to
 * date (emitting pool.low / pool.empty the claims may have left to it), and imports
 * whose job was lost are queued again. Idempotent; safe from any number of workers.
 */
export async function sweepPartnerPools(services: AppServices, db: TenantDb, slug: string, tenantId: string, options: SweepOptions = DEFAULT_SWEEP) {
  const now = services.clock.now();
  // Per offer, so each step is a range scan of the available-codes index.
  const offers = await db.selectFrom('offers').select(['id', 'status', 'codes_valid_until']).execute();
  let expired = 0;
  for (const offer of offers) {
    const offerEnded = offer.codes_valid_until !== null && offer.codes_valid_until <= now;
    for (;;) {
      const step = await db
        .updateTable('codes')
        .set({ status: 'expired', status_changed_at: now })
        .where(
          'id',
          'in',
          db
            .selectFrom('codes')
            .select('id')
            .where('offer_id', '=', offer.id)
            .where('status', '=', 'available')
            .$if(!offerEnded, (query) => query.where('expires_at', '<=', now))
            .limit(EXPIRE_STEP),
        )
        // Checked again on the row itself: a claim that took the code while this
        // statement waited for its lock leaves it issued (PostgreSQL re-checks only the
        // outer conditions on a row that changed).
        .where('status', '=', 'available')
        .executeTakeFirst();
      const n = Number(step.numUpdatedRows);
      expired += n;
      if (n < EXPIRE_STEP) break;
    }
  }
  const released = await releaseReservedCodes(db, { tenantId, schema: tenantSchemaName(slug) }, now);
  for (const { id } of offers.filter((offer) => offer.status !== 'closed')) await db.transaction().execute((trx) => reconcileStockState(trx, id, now));
  const requeued = await requeueStalledImports(services, db, slug, options);
  const abandoned = await db
    .updateTable('code_batches')
    .set({ status: 'failed', failure: JSON.stringify({ message: 'The upload stopped arriving before the whole file was received. Send it again.' }), chunk_count: 0 })
    .where('status', '=', 'receiving')
    .where('progress_at', '<', new Date(now.getTime() - options.receivingForMs))
    .returning('id')
    .execute();
  if (abandoned.length) await db.deleteFrom('code_batch_chunks').where('batch_id', 'in', abandoned.map((b) => b.id)).execute();
  return { expired, released, requeued, abandoned: abandoned.length };
}

export const sweepPoolsJob: JobDefinition<Record<string, never>> = {
  queue: 'pools',
  name: 'sweep-pools',
  payload: z.strictObject({}),
  repeatEveryMs: MINUTE_MS,
  async handle(_payload, { services, logger }) {
    const partners = await coalitionDb(services.db)
      .selectFrom('tenants')
      .select(['id', 'slug'])
      .where('status', '=', 'active')
      .where(sql<boolean>`'partner' = any(roles)`)
      .orderBy('slug')
      .execute();
    const failed: string[] = [];
    for (const partner of partners) {
      try {
        const result = await sweepPartnerPools(services, tenantDb(services.db, tenantSchemaName(partner.slug)), partner.slug, partner.id);
        if (result.expired || result.released || result.requeued || result.abandoned) logger.info({ tenant: partner.slug, ...result }, 'pools swept');
      } catch (error) {
        failed.push(partner.slug);
        logger.error({ tenant: partner.slug, err: error }, 'sweeping pools failed for this partner');
      }
    }
    if (failed.length) throw new Error(`Sweeping pools failed for ${failed.length} partner(s): ${failed.join(', ')}`);
  },
};
