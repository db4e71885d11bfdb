import type { Kysely } from 'kysely';
import { z } from 'zod';
import { coalitionDb, tenantDb, type CoalitionDb } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { WebhookDisabledReason } from '../db/tables.ts';
import type { JobDefinition } from '../jobs/job-definition.ts';
import type { Logger } from '../logging/logger.ts';
import { appendOutboxEvent } from '../outbox/events.ts';
import type { AppServices } from '../system/services.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import { DISABLE_AFTER_FAILING_MS, nextRetryDelay, parseRetryAfter } from './retry-schedule.ts';
import { failPendingDeliveries } from './deliveries.queries.ts';
import { sendWebhook, type SendOutcome } from './send-webhook.ts';
import { signatureHeader, WebhookSecretBox } from './webhook-signing.ts';

export const WEBHOOK_QUEUE = 'webhooks';
export const USER_AGENT = 'CoalitionExchange-Webhooks/1';
const FAILURE_NOTICES = new Set(['webhook.delivery_exhausted', 'webhook.endpoint_disabled']);

const payloadSchema = z.object({ deliveryId: z.string(), attempt: z.number().int().min(1) });

/** One attempt of one delivery. Queued by the relay (relay.ts) when the delivery is due. */
export const deliverWebhookJob: JobDefinition<z.infer<typeof payloadSchema>> = {
  queue: WEBHOOK_QUEUE,
  name: 'deliver-webhook',
  payload: payloadSchema,
  concurrency: 32,
  handle: (payload, { services, logger }) => attemptDelivery(services, payload.deliveryId, payload.attempt, logger),
};

async function loadDelivery(db: CoalitionDb, deliveryId: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .innerJoin('tenants as t', 't.id', 'd.tenant_id')
    .select([
      'd.id',
      'd.tenant_id',
      'd.endpoint_id',
      'd.body',
      'd.status',
      'd.attempt_count',
      'd.schedule_step',
      'd.event_type',
      'e.url',
      'e.status as endpoint_status',
      'e.disabled_reason',
      'e.secret_cipher',
      'e.previous_secret_cipher',
      'e.previous_secret_expires_at',
      'e.failing_since',
      't.slug as tenant_slug',
    ])
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();
}

/**
 * Makes attempt number `attempt` of a delivery, if it is still the one due (a job
 * queued twice, or overtaken by a replay, does nothing), and records it: the attempt
 * row, then the delivery's new state — delivered; retried on the published schedule
 * (or after Retry-After); failed for good after the last attempt
 * (`webhook.delivery_exhausted`) or on 410 Gone, which disables the endpoint as does
 * failing continuously for five days (`webhook.endpoint_disabled`).
 */
export async function attemptDelivery(services: AppServices, deliveryId: string, attempt: number, logger: Logger = services.logger): Promise<void> {
  const coalition = coalitionDb(services.db);
  const delivery = await loadDelivery(coalition, deliveryId);
  if (!delivery || delivery.status !== 'pending' || delivery.attempt_count !== attempt - 1) return;
  let outcome: SendOutcome;
  const startedAt = services.clock.now();
  if (delivery.endpoint_status === 'disabled') {
    outcome = { statusCode: null, error: `endpoint disabled (${delivery.disabled_reason})`, responseBody: null, retryAfter: undefined, durationMs: 0 };
  } else {
    try {
      const box = new WebhookSecretBox(services.secrets, delivery.tenant_id);
      const secrets = [box.open(delivery.secret_cipher, delivery.endpoint_id)];
      if (delivery.previous_secret_cipher && delivery.previous_secret_expires_at && delivery.previous_secret_expires_at > startedAt) {
        secrets.push(box.open(delivery.previous_secret_cipher, delivery.endpoint_id));
      }
      outcome = await sendWebhook(
        {
          url: delivery.url,
          headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, 'webhook-id': delivery.id },
          body: delivery.body,
          // The receiver checks the timestamp against its own clock (replay protection): wall time, whatever clock schedules retries.
          signedHeaders: (timestamp) => ({ 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader(secrets, delivery.id, timestamp, delivery.body) }),
        },
        { timeoutMs: services.config.webhooks.timeoutMs, policy: services.config.webhooks },
      );
    } catch (error) {
      // Recorded as a failed attempt, so the schedule, exhaustion and disabling still apply
      // (an endpoint secret that does not open: another SECRET_KEY on this process).
      logger.error({ err: error, deliveryId: delivery.id }, 'webhook attempt could not be made');
      outcome = { statusCode: null, error: 'internal error before sending (see the server log)', responseBody: null, retryAfter: undefined, durationMs: 0 };
    }
  }
  await recordAttempt(services, delivery, attempt, startedAt, outcome);
}

type LoadedDelivery = NonNullable<Awaited<ReturnType<typeof loadDelivery>>>;

async function recordAttempt(services: AppServices, delivery: LoadedDelivery, attempt: number, startedAt: Date, outcome: SendOutcome): Promise<void> {
  const now = services.clock.now();
  const delivered = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  const gone = outcome.statusCode === 410;
  const endpointOff = delivery.endpoint_status === 'disabled';
  const step = delivery.schedule_step + 1;
  const retryAfter = outcome.statusCode === 429 || outcome.statusCode === 503 ? parseRetryAfter(outcome.retryAfter, now) : null;

  await services.db.transaction().execute(async (trx) => {
    const db = coalitionDb(trx);
    // Lock order: delivery, then endpoint. A replay or a second worker on the same
    // attempt is seen here and this (late) outcome dropped.
    const current = await db.selectFrom('webhook_deliveries').select(['status', 'attempt_count']).where('id', '=', delivery.id).forUpdate().executeTakeFirst();
    if (!current || current.status !== 'pending' || current.attempt_count !== attempt - 1) return;
    const common = { attempt_count: attempt, schedule_step: step, last_attempt_at: startedAt, last_status_code: outcome.statusCode, last_error: outcome.error, leased_until: null };
    const logAttempt = (nextAttemptAt: Date | null) =>
      db
        .insertInto('webhook_attempts')
        .values({
          delivery_id: delivery.id,
          attempt,
          started_at: startedAt,
          duration_ms: outcome.durationMs,
          status_code: outcome.statusCode,
          error: outcome.error,
          response_body: outcome.responseBody,
          next_attempt_at: nextAttemptAt,
        })
        .execute();

    if (delivered) {
      await logAttempt(null);
      await db.updateTable('webhook_deliveries').set({ ...common, status: 'succeeded', next_attempt_at: null, delivered_at: now }).where('id', '=', delivery.id).execute();
      // Ends a run of failures; when there was none (as read before the attempt), no write.
      if (delivery.failing_since !== null) await db.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', delivery.endpoint_id).execute();
      return;
    }

    // A failure: the endpoint's run of failures starts (or goes on), and may end it.
    let disable: WebhookDisabledReason | null = null;
    let failingSince: Date | null = null;
    let off = endpointOff;
    if (!off) {
      const endpoint = await db
        .updateTable('webhook_endpoints')
        .set((eb) => ({ failing_since: eb.fn.coalesce('failing_since', eb.val(startedAt)) }))
        .where('id', '=', delivery.endpoint_id)
        .returning(['status', 'failing_since'])
        .executeTakeFirstOrThrow();
      failingSince = endpoint.failing_since;
      const failingTooLong = failingSince !== null && now.getTime() - failingSince.getTime() >= DISABLE_AFTER_FAILING_MS;
      if (endpoint.status === 'enabled' && (gone || failingTooLong)) disable = gone ? 'gone' : 'failing';
      // Disabled while this attempt was under way: no further attempt, as for its other deliveries.
      off = endpoint.status !== 'enabled';
    }
    const delay = off || disable ? null : nextRetryDelay(step, retryAfter);
    const nextAttemptAt = delay === null ? null : new Date(now.getTime() + delay);
    await logAttempt(nextAttemptAt);
    if (nextAttemptAt) {
      await db.updateTable('webhook_deliveries').set({ ...common, next_attempt_at: nextAttemptAt }).where('id', '=', delivery.id).execute();
      return;
    }
    await db.updateTable('webhook_deliveries').set({ ...common, status: 'failed', next_attempt_at: null, failed_at: now }).where('id', '=', delivery.id).execute();
    if (disable) {
      await autoDisable(trx, delivery, disable, now, failingSince);
    } else if (!off && !FAILURE_NOTICES.has(delivery.event_type)) {
      // (Not for a failure notice itself: failing endpoints would bounce notices to each other.)
      await appendOutboxEvent(tenantDb(trx, tenantSchemaName(delivery.tenant_slug)), {
        type: 'webhook.delivery_exhausted',
        occurredAt: now,
        payload: { endpointId: delivery.endpoint_id, deliveryId: delivery.id, eventType: delivery.event_type, attempts: attempt, lastStatusCode: outcome.statusCode, lastError: outcome.error },
      });
    }
  });
}

/** The system turns an endpoint off (410 Gone, or five days of failures) and tells the tenant: an event and an audit entry. */
async function autoDisable(trx: Kysely<any>, delivery: LoadedDelivery, reason: WebhookDisabledReason, now: Date, failingSince: Date | null): Promise<void> {
  await coalitionDb(trx).updateTable('webhook_endpoints').set({ status: 'disabled', disabled_reason: reason, disabled_at: now, updated_at: now }).where('id', '=', delivery.endpoint_id).execute();
  await failPendingDeliveries(coalitionDb(trx), delivery.endpoint_id, reason, now);
  const tenant = tenantDb(trx, tenantSchemaName(delivery.tenant_slug));
  const details = { endpointId: delivery.endpoint_id, url: delivery.url, reason, failingSince: failingSince?.toISOString() ?? null, lastDeliveryId: delivery.id };
  await appendOutboxEvent(tenant, { type: 'webhook.endpoint_disabled', occurredAt: now, payload: details });
  await insertAuditEvent(tenant, { actor: 'system', action: 'webhook_endpoint.disabled', subjectType: 'webhook_endpoint', subjectId: delivery.endpoint_id, details });
}
