import { customAlphabet } from 'nanoid';
import { sql } from 'kysely';
import type { CoalitionDb } from '../db/database.ts';

/** webhook-id values: "msg_" and 20 random letters and digits (119 bits). */
export const newDeliveryId = (() => {
  const random = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 20);
  return () => `msg_${random()}`;
})();

export interface NewDelivery {
  event: { outboxEventId: string | null; type: string; occurredAt: Date; payload: Record<string, unknown> };
}

/**
 * What a receiver gets: the Standard Webhooks shape (type, timestamp, data) plus the
 * delivery id (also the webhook-id header), the endpoint's sequence number and the
 * tenant. Built once; every attempt and replay sends these very bytes.
 */
export function deliveryBody(input: { id: string; type: string; occurredAt: Date; sequence: number; tenantSlug: string; payload: Record<string, unknown> }): string {
  return JSON.stringify({ id: input.id, type: input.type, timestamp: input.occurredAt.toISOString(), sequence: input.sequence, tenant: input.tenantSlug, data: input.payload });
}

/**
 * Queues events for one endpoint, in the caller's transaction, in the order given:
 * the endpoint's sequence counter is advanced by their number (the endpoint row stays
 * locked until commit, so sequences follow commit order per endpoint). Due at once.
 */
export async function insertDeliveries(
  db: CoalitionDb,
  target: { tenantId: string; tenantSlug: string; endpointId: string; now: Date; /** Recorded as failed at once (a disabled endpoint): kept for replay, not sent. */ failedBecause?: string },
  events: readonly NewDelivery['event'][],
): Promise<string[]> {
  if (events.length === 0) return [];
  const { last_sequence } = await db
    .updateTable('webhook_endpoints')
    .set({ last_sequence: sql`last_sequence + ${events.length}` })
    .where('id', '=', target.endpointId)
    .returning('last_sequence')
    .executeTakeFirstOrThrow();
  const first = Number(last_sequence) - events.length + 1;
  const rows = events.map((event, index) => {
    const id = newDeliveryId();
    const sequence = first + index;
    return {
      id,
      tenant_id: target.tenantId,
      endpoint_id: target.endpointId,
      event_type: event.type,
      outbox_event_id: event.outboxEventId,
      sequence,
      occurred_at: event.occurredAt,
      body: deliveryBody({ id, type: event.type, occurredAt: event.occurredAt, sequence, tenantSlug: target.tenantSlug, payload: event.payload }),
      created_at: target.now,
      ...(target.failedBecause === undefined
        ? { status: 'pending' as const, next_attempt_at: target.now }
        : { status: 'failed' as const, next_attempt_at: null, failed_at: target.now, last_error: target.failedBecause }),
    };
  });
  // Re-running the relay over the same outbox rows adds nothing: one delivery per event and endpoint.
  const inserted = await db
    .insertInto('webhook_deliveries')
    .values(rows)
    .onConflict((oc) => oc.columns(['endpoint_id', 'outbox_event_id']).where('outbox_event_id', 'is not', null).doNothing())
    .returning('id')
    .execute();
  return inserted.map((row) => row.id);
}

/**
 * Ends the pending deliveries of an endpoint being disabled: failed now (kept for
 * replay), not attempted. A delivery whose attempt is being recorded right now is
 * skipped (its row is locked; waiting for it could deadlock): its next attempt finds
 * the endpoint disabled and fails it then.
 */
export async function failPendingDeliveries(db: CoalitionDb, endpointId: string, reason: string, now: Date): Promise<number> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'failed', next_attempt_at: null, leased_until: null, failed_at: now, last_error: `endpoint disabled (${reason})` })
    .where('id', 'in', (eb) =>
      eb.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', endpointId).where('status', '=', 'pending').forUpdate().skipLocked(),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
