import type { z } from 'zod';
import type { TenantHandle } from '../auth/principal.ts';
import { coalitionDb, tenantDb, type CoalitionDb } from '../db/database.ts';
import { prefixedIds } from '../db/ids.ts';
import { AppError } from '../errors/app-error.ts';
import { parseInput, validationError } from '../errors/validation.ts';
import type { AppServices } from '../system/services.ts';
import { insertAuditEvent } from '../tenants/audit.queries.ts';
import {
  createEndpointInputSchema,
  endpointUrlProblem,
  toEndpoint,
  updateEndpointInputSchema,
  type CreateEndpointInput,
  type Endpoint,
  type EndpointRow,
} from './endpoint.ts';
import { failPendingDeliveries, insertDeliveries, type NewDelivery } from './deliveries.queries.ts';
import { newWebhookSecret, WebhookSecretBox } from './webhook-signing.ts';

export interface EndpointContext {
  services: AppServices;
  tenant: TenantHandle;
  actor: string;
  now: Date;
}

const newEndpointId = prefixedIds('we');
export const MAX_ENDPOINTS_PER_TENANT = 20;
/** How long the previous secret keeps signing after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

function checkUrl(context: EndpointContext, url: string): void {
  const problem = endpointUrlProblem(url, context.services.config.webhooks);
  if (problem) throw validationError([{ path: ['url'], message: problem }]);
}

export async function requireEndpoint(db: CoalitionDb, tenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<EndpointRow> {
  const query = db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId);
  const row = await (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
  if (!row) throw new AppError('WEBHOOK_ENDPOINT_NOT_FOUND', `No webhook endpoint ${id} of yours.`, { endpointId: id });
  return row;
}

/** Registers an endpoint; its signing secret is in this answer only. */
export async function createEndpoint(context: EndpointContext, rawInput: CreateEndpointInput): Promise<Endpoint & { secret: string }> {
  const input = parseInput(createEndpointInputSchema, rawInput);
  checkUrl(context, input.url);
  const { tenant, now } = context;
  const id = newEndpointId();
  const secret = newWebhookSecret();
  const row = await context.services.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    // Serialises creations per tenant, so the limit holds under concurrency.
    // NO KEY UPDATE: other tables' foreign-key checks on the tenant row (KEY SHARE) do not wait for it.
    await coalition.selectFrom('tenants').select('id').where('id', '=', tenant.id).forNoKeyUpdate().executeTakeFirstOrThrow();
    const { n } = await coalition.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
    if (Number(n) >= MAX_ENDPOINTS_PER_TENANT) {
      throw new AppError('WEBHOOK_ENDPOINT_LIMIT_REACHED', `A tenant can have at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints; disable and reuse one.`, { limit: MAX_ENDPOINTS_PER_TENANT });
    }
    const inserted = await coalition
      .insertInto('webhook_endpoints')
      .values({
        id,
        tenant_id: tenant.id,
        url: input.url,
        description: input.description,
        event_types: input.eventTypes,
        status: 'enabled',
        disabled_reason: null,
        disabled_at: null,
        secret_cipher: new WebhookSecretBox(context.services.secrets, tenant.id).seal(secret, id),
        previous_secret_cipher: null,
        previous_secret_expires_at: null,
        failing_since: null,
        created_by: context.actor,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertAuditEvent(tenantDb(trx, tenant.schema), {
      actor: context.actor,
      action: 'webhook_endpoint.created',
      subjectType: 'webhook_endpoint',
      subjectId: id,
      details: { url: input.url, eventTypes: input.eventTypes },
    });
    return inserted;
  });
  return { ...toEndpoint(row, now), secret };
}

export async function listEndpoints(context: Pick<EndpointContext, 'services' | 'tenant' | 'now'>): Promise<Endpoint[]> {
  const rows = await coalitionDb(context.services.db).selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', context.tenant.id).orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => toEndpoint(row, context.now));
}

export async function getEndpoint(context: Pick<EndpointContext, 'services' | 'tenant' | 'now'>, id: string): Promise<Endpoint> {
  return toEndpoint(await requireEndpoint(coalitionDb(context.services.db), context.tenant.id, id), context.now);
}

/** Changes an endpoint in one transaction with its audit entry; `change` returns the columns to set and what to record. */
async function changeEndpoint(
  context: EndpointContext,
  id: string,
  action: string,
  change: (row: EndpointRow) => { set: Partial<EndpointRow>; details: Record<string, unknown> } | null,
  /** Runs in the same transaction after the change. */
  then?: (db: CoalitionDb) => Promise<unknown>,
): Promise<EndpointRow> {
  const { tenant, now } = context;
  return context.services.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    const row = await requireEndpoint(coalition, tenant.id, id, { forUpdate: true });
    const decided = change(row);
    if (!decided) return row;
    const updated = await coalition
      .updateTable('webhook_endpoints')
      .set({ ...decided.set, updated_at: now })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await then?.(coalition);
    await insertAuditEvent(tenantDb(trx, tenant.schema), { actor: context.actor, action, subjectType: 'webhook_endpoint', subjectId: id, details: decided.details });
    return updated;
  });
}

export async function updateEndpoint(context: EndpointContext, id: string, rawPatch: z.input<typeof updateEndpointInputSchema>): Promise<Endpoint> {
  const patch = parseInput(updateEndpointInputSchema, rawPatch);
  if (Object.values(patch).every((value) => value === undefined)) throw validationError([{ path: [], message: 'name at least one of url, description, eventTypes to change' }]);
  if (patch.url !== undefined) checkUrl(context, patch.url);
  const row = await changeEndpoint(context, id, 'webhook_endpoint.updated', () => ({
    set: {
      ...(patch.url !== undefined && { url: patch.url }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.eventTypes !== undefined && { event_types: patch.eventTypes }),
    },
    details: patch,
  }));
  return toEndpoint(row, context.now);
}

/**
 * Stops deliveries to the endpoint: its pending deliveries and the events that arrive
 * while it is off are kept as failed (replayable), not sent. Disabling a disabled
 * endpoint changes nothing.
 */
export async function disableEndpoint(context: EndpointContext, id: string): Promise<Endpoint> {
  const row = await changeEndpoint(
    context,
    id,
    'webhook_endpoint.disabled',
    (current) => (current.status === 'disabled' ? null : { set: { status: 'disabled', disabled_reason: 'manual', disabled_at: context.now }, details: { reason: 'manual' } }),
    (db) => failPendingDeliveries(db, id, 'manual', context.now),
  );
  return toEndpoint(row, context.now);
}

/** Sends again from the next event on; deliveries that failed meanwhile can be replayed. */
export async function enableEndpoint(context: EndpointContext, id: string): Promise<Endpoint> {
  const row = await changeEndpoint(context, id, 'webhook_endpoint.enabled', (current) =>
    current.status === 'enabled' ? null : { set: { status: 'enabled', disabled_reason: null, disabled_at: null, failing_since: null }, details: { previousReason: current.disabled_reason } },
  );
  return toEndpoint(row, context.now);
}

/**
 * A new signing secret, shown in this answer only. The previous one keeps signing
 * beside it for 24 hours, so receivers can switch without losing a delivery.
 */
export async function rotateEndpointSecret(context: EndpointContext, id: string): Promise<Endpoint & { secret: string }> {
  const secret = newWebhookSecret();
  const box = new WebhookSecretBox(context.services.secrets, context.tenant.id);
  const validUntil = new Date(context.now.getTime() + SECRET_OVERLAP_MS);
  const row = await changeEndpoint(context, id, 'webhook_endpoint.secret_rotated', (current) => ({
    set: { secret_cipher: box.seal(secret, id), previous_secret_cipher: current.secret_cipher, previous_secret_expires_at: validUntil },
    details: { previousValidUntil: validUntil.toISOString() },
  }));
  return { ...toEndpoint(row, context.now), secret };
}

/** Queues a `webhook.test` delivery to this endpoint (only): to check a receiver and its signature check. */
export async function sendTestEvent(context: EndpointContext, id: string): Promise<{ deliveryId: string }> {
  const { tenant, now } = context;
  return context.services.db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    const endpoint = await requireEndpoint(coalition, tenant.id, id, { forUpdate: true });
    if (endpoint.status === 'disabled') throw endpointDisabled(endpoint);
    const event: NewDelivery['event'] = { outboxEventId: null, type: 'webhook.test', occurredAt: now, payload: { endpointId: id, message: 'A test event sent from the API. Verify its signature, answer 2xx.' } };
    const [delivery] = await insertDeliveries(coalition, { tenantId: tenant.id, tenantSlug: tenant.slug, endpointId: id, now }, [event]);
    await insertAuditEvent(tenantDb(trx, tenant.schema), { actor: context.actor, action: 'webhook_endpoint.test_sent', subjectType: 'webhook_endpoint', subjectId: id, details: { deliveryId: delivery! } });
    return { deliveryId: delivery! };
  });
}

export function endpointDisabled(endpoint: EndpointRow): AppError {
  return new AppError('WEBHOOK_ENDPOINT_DISABLED', `Webhook endpoint ${endpoint.id} is disabled (${endpoint.disabled_reason}); enable it first.`, {
    endpointId: endpoint.id,
    reason: endpoint.disabled_reason,
  });
}
