import type { TenantDb } from '../db/database.ts';

/**
 * Events a tenant's webhooks carry (docs/webhooks.md has the catalog). Each is written
 * to the tenant's outbox in the same transaction as the change it describes; the relay
 * turns committed rows into webhook deliveries (docs/adr/0002, 0009). Append-only:
 * receivers branch on these strings.
 */
export const OUTBOX_EVENT_TYPES = [
  'stickers.credited',
  'stickers.reversed',
  'stickers.expiring_soon',
  'stickers.expired',
  'reward.reachable',
  'pool.low',
  'pool.empty',
  'pool.refilled',
  'agreement.proposed',
  'agreement.accepted',
  'agreement.declined',
  'agreement.withdrawn',
  'agreement.suspended',
  'agreement.resumed',
  'agreement.ended',
  'voucher.issued',
  'voucher.cancelled',
  'voucher.redeemed',
  'voucher.redemption_reversed',
  'settlement.statement_finalized',
  'settlement.statement_paid',
  'settlement.statement_disputed',
  'settlement.dispute_resolved',
  'settlement.adjustment_recorded',
  'fraud.case_opened',
  'fraud.case_decided',
  'webhook.delivery_exhausted',
  'webhook.endpoint_disabled',
] as const;

export type OutboxEventType = (typeof OUTBOX_EVENT_TYPES)[number];

export async function appendOutboxEvent(
  trx: TenantDb,
  event: { type: OutboxEventType; occurredAt: Date; payload: Record<string, unknown> },
): Promise<void> {
  await trx
    .insertInto('outbox_events')
    .values({ event_type: event.type, payload: JSON.stringify(event.payload), occurred_at: event.occurredAt, dispatched_at: null })
    .execute();
}
