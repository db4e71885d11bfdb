import type { TenantDb } from '../db/database.ts';

/**
 * Events a tenant's webhooks will carry. They are written to the tenant's outbox in
 * the same transaction as the change they describe; the relay that delivers them
 * arrives with the webhook issue (docs/adr/0002).
 */
export type OutboxEventType =
  | 'stickers.credited'
  | 'stickers.reversed'
  | 'stickers.expiring_soon'
  | 'stickers.expired'
  | 'reward.reachable'
  | 'pool.low'
  | 'pool.empty'
  | 'pool.refilled'
  | 'agreement.proposed'
  | 'agreement.accepted'
  | 'agreement.declined'
  | 'agreement.withdrawn'
  | 'agreement.suspended'
  | 'agreement.resumed'
  | 'agreement.ended'
  | 'voucher.issued'
  | 'voucher.cancelled';

export async function appendOutboxEvent(
  trx: TenantDb,
  event: { type: OutboxEventType; occurredAt: Date; payload: Record<string, unknown> },
): Promise<void> {
  await trx
    .insertInto('outbox_events')
    .values({ event_type: event.type, payload: JSON.stringify(event.payload), occurred_at: event.occurredAt, dispatched_at: null })
    .execute();
}
