import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import type { TenantDb } from '../db/database.ts';
import type { OffersTable, StockState, TenantTables } from '../db/tables.ts';
import { appendOutboxEvent, type OutboxEventType } from '../outbox/events.ts';

/** Codes still valid at `at`: no expiry, or one after it. */
export function validAt(at: Date) {
  return (eb: ExpressionBuilder<TenantTables, 'codes'>) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]);
}

/** Available codes of an offer, counting no further than `limit` (an index range scan of at most that many entries). */
export async function countAvailable(db: TenantDb, offerId: string, now: Date, limit?: number): Promise<number> {
  let inner = db
    .selectFrom('codes')
    .select(sql`1`.as('one'))
    .where('offer_id', '=', offerId)
    .where('status', '=', 'available')
    .where(validAt(now));
  if (limit !== undefined) inner = inner.limit(limit);
  const row = await db.selectFrom(inner.as('a')).select(sql<number>`count(*)::integer`.as('n')).executeTakeFirstOrThrow();
  return row.n;
}

export type OfferStock = Pick<Selectable<OffersTable>, 'title' | 'low_stock_threshold' | 'stock_state'>;

const RANK: Record<StockState, number> = { empty: 0, low: 1, ok: 2 };

function stateFor(available: number, threshold: number): StockState {
  if (available === 0) return 'empty';
  return available <= threshold ? 'low' : 'ok';
}

/** The events a move writes: a drop from ok straight to empty crossed the watermark too. */
function eventsFor(previous: StockState, next: StockState): OutboxEventType[] {
  if (next === 'empty') return previous === 'ok' ? ['pool.low', 'pool.empty'] : ['pool.empty'];
  if (next === 'low') return previous === 'ok' ? ['pool.low'] : ['pool.refilled'];
  return ['pool.refilled'];
}

/**
 * Moves an offer's stock state (ok / low / empty) to match its pool and, when it
 * changes, writes pool.low, pool.empty or pool.refilled to the outbox in the caller's
 * transaction. Cheap enough for every claim: the count stops at the watermark, and
 * the offer row is only written (and locked) when the state actually changes, by a
 * conditional update, so concurrent claimers crossing the same line emit one event.
 *
 * A pool that drops from ok straight to empty between two looks (concurrent claims
 * each counting the others' uncommitted codes as still there) crossed the watermark
 * too: both pool.low and pool.empty are written.
 *
 * Under concurrency a claim cannot see codes other claims are taking but have not
 * committed: the claim that takes the last code may still count them. The pool then
 * reads empty to the next claim (POOL_EXHAUSTED) at once, and pool.empty is written
 * by settleStockState after that refusal, or by the minute's pool sweep.
 */
export async function reconcileStockState(
  trx: TenantDb,
  offerId: string,
  now: Date,
  options: { downOnly?: boolean; /** The offer as the caller just read it in this transaction (saves a read). */ offer?: OfferStock } = {},
): Promise<StockState | null> {
  const offer = options.offer ?? (await trx.selectFrom('offers').select(['title', 'low_stock_threshold', 'stock_state']).where('id', '=', offerId).executeTakeFirst());
  if (!offer) return null;
  let available = await countAvailable(trx, offerId, now, offer.low_stock_threshold + 1);
  const next = stateFor(available, offer.low_stock_threshold);
  if (next === offer.stock_state) return next;
  // A claim only takes codes away. Its count still sees codes other claims hold
  // uncommitted, so it may be late to see the pool drop, never right to see it rise.
  if (options.downOnly && RANK[next] > RANK[offer.stock_state]) return offer.stock_state;
  const moved = await trx
    .updateTable('offers')
    .set({ stock_state: next })
    .where('id', '=', offerId)
    .where('stock_state', '=', offer.stock_state)
    .returning('id')
    .executeTakeFirst();
  if (!moved) return null;
  if (next === 'ok') available = await countAvailable(trx, offerId, now);
  for (const type of eventsFor(offer.stock_state, next)) {
    await appendOutboxEvent(trx, {
      type,
      occurredAt: now,
      payload: { offerId, title: offer.title, state: next, previousState: offer.stock_state, available, lowStockThreshold: offer.low_stock_threshold },
    });
  }
  return next;
}

/**
 * For a caller whose claim failed with POOL_EXHAUSTED and rolled back: brings the
 * offer's stock state up to date in a transaction of its own, so pool.empty is written
 * now rather than by the next sweep. Concurrent claims that have committed since are
 * counted; any still in flight are left to the sweep.
 */
export async function settleStockState(db: TenantDb, offerId: string, now: Date): Promise<StockState | null> {
  return db.transaction().execute((trx) => reconcileStockState(trx, offerId, now, { downOnly: true }));
}
