import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import { timestampSchema } from '../campaigns/campaign.ts';
import { coalitionDb, tenantDb } from '../db/database.ts';
import type { WebhookAttemptsTable, WebhookDeliveriesTable } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { endpointIdSchema, eventTypeSchema } from './endpoint.ts';
import { endpointDisabled, requireEndpoint, type EndpointContext } from './manage-endpoints.ts';

export const deliveryIdSchema = z.string().regex(/^msg_[0-9A-Za-z]{20}$/, 'must be a delivery id (msg_ followed by 20 letters and digits)');

export const attemptOutputSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable().describe('Why no response came back: connection refused, timed out, blocked address…'),
  responseBody: z.string().nullable().describe('The first KiB of what the receiver answered.'),
  nextAttemptAt: z.string().nullable(),
});

export const deliveryOutputSchema = z.object({
  id: z.string().describe('The webhook-id header: the same on every attempt and replay. Receivers dedupe on it.'),
  endpointId: z.string(),
  eventType: z.string(),
  sequence: z.number().int().describe("The event's place in this endpoint's stream."),
  occurredAt: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  failedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type Delivery = z.infer<typeof deliveryOutputSchema>;

export const deliveryDetailSchema = deliveryOutputSchema.extend({
  payload: z.record(z.string(), z.unknown()).describe('The body as sent.'),
  attemptLog: z.array(attemptOutputSchema),
});

type DeliveryRow = Selectable<WebhookDeliveriesTable>;

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventType: row.event_type,
    sequence: Number(row.sequence),
    occurredAt: row.occurred_at.toISOString(),
    status: row.status,
    attempts: row.attempt_count,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    lastAttemptAt: row.last_attempt_at?.toISOString() ?? null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    deliveredAt: row.delivered_at?.toISOString() ?? null,
    failedAt: row.failed_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

function toAttempt(row: Selectable<WebhookAttemptsTable>): z.infer<typeof attemptOutputSchema> {
  return {
    attempt: row.attempt,
    startedAt: row.started_at.toISOString(),
    durationMs: row.duration_ms,
    statusCode: row.status_code,
    error: row.error,
    responseBody: row.response_body,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
  };
}

export const listDeliveriesInputSchema = z.strictObject({
  endpointId: endpointIdSchema.optional(),
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
  eventType: eventTypeSchema.optional(),
  since: timestampSchema.optional().describe('Created at or after.'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: deliveryIdSchema.optional().describe('nextCursor of the previous page.'),
});

type ReaderContext = Pick<EndpointContext, 'services' | 'tenant'>;

/** The tenant's deliveries, newest first. */
export async function listDeliveries(context: ReaderContext, rawInput: z.input<typeof listDeliveriesInputSchema>): Promise<{ deliveries: Delivery[]; nextCursor: string | null }> {
  const input = parseInput(listDeliveriesInputSchema, rawInput);
  const db = coalitionDb(context.services.db);
  let query = db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('tenant_id', '=', context.tenant.id)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(input.limit + 1);
  if (input.endpointId) query = query.where('endpoint_id', '=', input.endpointId);
  if (input.status) query = query.where('status', '=', input.status);
  if (input.eventType) query = query.where('event_type', '=', input.eventType);
  if (input.since) query = query.where('created_at', '>=', new Date(input.since));
  if (input.cursor) {
    const after = await db.selectFrom('webhook_deliveries').select(['created_at', 'id']).where('id', '=', input.cursor).where('tenant_id', '=', context.tenant.id).executeTakeFirst();
    if (!after) throw validationError([{ path: ['cursor'], message: 'is not a delivery of yours' }]);
    query = query.where((eb) => eb.or([eb('created_at', '<', after.created_at), eb.and([eb('created_at', '=', after.created_at), eb('id', '<', after.id)])]));
  }
  const rows = await query.execute();
  const page = rows.slice(0, input.limit);
  return { deliveries: page.map(toDelivery), nextCursor: rows.length > input.limit ? page.at(-1)!.id : null };
}

async function requireDelivery(db: Kysely<any>, tenantId: string, id: string): Promise<DeliveryRow> {
  const row = await coalitionDb(db).selectFrom('webhook_deliveries').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) throw new AppError('WEBHOOK_DELIVERY_NOT_FOUND', `No webhook delivery ${id} of yours.`, { deliveryId: id });
  return row;
}

/** One delivery with the body it sends and every attempt made. */
export async function getDelivery(context: ReaderContext, id: string): Promise<z.infer<typeof deliveryDetailSchema>> {
  // One snapshot for both reads: an attempt recorded in between would otherwise show in the log but not in the counts.
  return context.services.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const row = await requireDelivery(trx, context.tenant.id, id);
      const attempts = await coalitionDb(trx).selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', id).orderBy('attempt').execute();
      return { ...toDelivery(row), payload: JSON.parse(row.body) as Record<string, unknown>, attemptLog: attempts.map(toAttempt) };
    });
}

/**
 * Sends a delivery again, with the same webhook-id and body: due now, with a fresh
 * retry schedule. A pending delivery is simply made due now.
 */
export async function replayDelivery(context: EndpointContext, id: string): Promise<Delivery> {
  const { tenant, now } = context;
  const row = await requireDelivery(context.services.db, context.tenant.id, id);
  await context.services.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    const endpoint = await requireEndpoint(coalition, tenant.id, row.endpoint_id);
    if (endpoint.status === 'disabled') throw endpointDisabled(endpoint);
    await coalition
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: now, schedule_step: 0, leased_until: null, failed_at: null })
      .where('id', '=', id)
      .execute();
    await insertAuditEvent(tenantDb(trx, tenant.schema), { actor: context.actor, action: 'webhook_delivery.replayed', subjectType: 'webhook_delivery', subjectId: id, details: { previousStatus: row.status } });
  });
  return toDelivery(await requireDelivery(context.services.db, context.tenant.id, id));
}

export const replayFailedInputSchema = z.strictObject({
  since: timestampSchema.describe('Replay deliveries created at or after this moment that are failed now.'),
  endpointId: endpointIdSchema.optional().describe('Only this endpoint (default: every enabled endpoint).'),
});

/** Every failed delivery since a moment, to enabled endpoints, due again now (same ids). */
export async function replayFailedDeliveries(context: EndpointContext, rawInput: z.input<typeof replayFailedInputSchema>): Promise<{ replayed: number }> {
  const input = parseInput(replayFailedInputSchema, rawInput);
  const { tenant, now } = context;
  if (input.endpointId) {
    const endpoint = await requireEndpoint(coalitionDb(context.services.db), tenant.id, input.endpointId);
    if (endpoint.status === 'disabled') throw endpointDisabled(endpoint);
  }
  return context.services.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    let query = coalition
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: now, schedule_step: 0, leased_until: null, failed_at: null })
      .where('tenant_id', '=', tenant.id)
      .where('status', '=', 'failed')
      .where('created_at', '>=', new Date(input.since))
      .where('endpoint_id', 'in', coalition.selectFrom('webhook_endpoints').select('id').where('tenant_id', '=', tenant.id).where('status', '=', 'enabled'));
    if (input.endpointId) query = query.where('endpoint_id', '=', input.endpointId);
    const result = await query.executeTakeFirst();
    const replayed = Number(result.numUpdatedRows);
    await insertAuditEvent(tenantDb(trx, tenant.schema), {
      actor: context.actor,
      action: 'webhook_delivery.replayed_failed',
      subjectType: 'webhook_endpoint',
      subjectId: input.endpointId ?? '*',
      details: { since: input.since, replayed },
    });
    return { replayed };
  });
}
