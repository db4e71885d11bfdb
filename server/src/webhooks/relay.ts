import { sql } from 'kysely';
import pg from 'pg';
import { coalitionDb, tenantDb } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { Logger } from '../logging/logger.ts';
import type { AppServices } from '../system/services.ts';
import { deliverWebhookJob } from './deliver-webhook.ts';
import { insertDeliveries } from './deliveries.queries.ts';

/** Advisory lock class of the per-tenant fan-out (second key: hash of the tenant id). */
const FAN_OUT_LOCK = 7_302_114;
const NOTIFY_CHANNEL = 'coalition_outbox';

export interface RelayOptions {
  /** How often due deliveries (first attempts and retries) are looked for. */
  pollMs?: number;
  /** How often every tenant's outbox is checked, whatever notifications said. */
  fullScanMs?: number;
  /** A queued attempt not recorded within this time is queued again (same job id: never twice in the queue). */
  leaseMs?: number;
  batchSize?: number;
}

interface TenantRef {
  id: string;
  slug: string;
}

/**
 * Moves committed events to webhook receivers (docs/adr/0002, 0009), in two steps that
 * each survive a crash or a Redis outage:
 *
 * 1. **Fan-out** (PostgreSQL only): a tenant's undelivered outbox rows become one
 *    delivery row per subscribed endpoint, with the endpoint's next sequence numbers,
 *    and the outbox rows are marked relayed, in one transaction. Woken by
 *    LISTEN/NOTIFY at commit, and a full scan every few seconds catches anything a
 *    notification missed. One relay per tenant at a time (advisory lock), so sequence
 *    numbers follow outbox order.
 * 2. **Dispatch**: deliveries that are due (new, or retry time reached) are leased and
 *    added to BullMQ, job id = delivery id + attempt number. If Redis is down the
 *    lease is released and the next poll tries again; a job lost with Redis is queued
 *    again when its lease lapses. Nothing is skipped, nothing sent twice under
 *    different ids: a delivery keeps its id for every attempt.
 */
export class WebhookRelay {
  private readonly pollMs: number;
  private readonly fullScanMs: number;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly logger: Logger;
  private readonly dirty = new Set<string>();
  private tenants = new Map<string, TenantRef>();
  private lastFullScan = 0;
  private listener: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private redisWarned = false;

  constructor(
    private readonly services: AppServices,
    options: RelayOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1_000;
    this.fullScanMs = options.fullScanMs ?? 10_000;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.batchSize = options.batchSize ?? 500;
    this.logger = services.logger.child({ component: 'webhook-relay' });
  }

  async start(): Promise<void> {
    await this.listen();
    this.wake();
  }

  /** Runs a pass soon (or right after the one running). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), 0);
  }

  /** One full pass now (every tenant's outbox, then due deliveries): for tests and tools. */
  async runOnce(): Promise<{ relayed: number; dispatched: number }> {
    await this.running;
    const relayed = await this.fanOutAll(true);
    const dispatched = await this.dispatchDue();
    return { relayed, dispatched };
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    this.running = (async () => {
      try {
        do {
          this.again = false;
          const full = Date.now() - this.lastFullScan >= this.fullScanMs;
          await this.fanOutAll(full);
          while ((await this.dispatchDue()) === this.batchSize && !this.stopped);
        } while (this.again && !this.stopped);
      } catch (error) {
        this.logger.warn({ err: error }, 'webhook relay pass failed; retrying at the next poll');
      }
    })();
    await this.running;
    this.running = undefined;
    if (!this.stopped) this.timer = setTimeout(() => void this.pass(), this.pollMs);
  }

  private async refreshTenants(): Promise<void> {
    const rows = await coalitionDb(this.services.db).selectFrom('tenants').select(['id', 'slug']).execute();
    this.tenants = new Map(rows.map((row) => [tenantSchemaName(row.slug), row]));
  }

  private async fanOutAll(full: boolean): Promise<number> {
    let schemas: string[];
    if (full) {
      await this.refreshTenants();
      this.lastFullScan = Date.now();
      this.dirty.clear();
      schemas = [...this.tenants.keys()];
    } else {
      schemas = [...this.dirty];
      this.dirty.clear();
      if (schemas.some((schema) => !this.tenants.has(schema))) await this.refreshTenants();
    }
    let relayed = 0;
    for (const schema of schemas) {
      const tenant = this.tenants.get(schema);
      if (!tenant) continue;
      for (;;) {
        const moved = await this.fanOutTenant(tenant);
        relayed += moved;
        if (moved < this.batchSize) break;
      }
    }
    return relayed;
  }

  /** One batch of a tenant's outbox into deliveries; the number of outbox rows relayed. */
  async fanOutTenant(tenant: TenantRef): Promise<number> {
    const schema = tenantSchemaName(tenant.slug);
    return this.services.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${FAN_OUT_LOCK}, hashtext(${tenant.id})) as locked`.execute(trx);
      // Another relay is draining this tenant; it loops until the outbox is empty.
      if (!rows[0]?.locked) return 0;
      const outbox = tenantDb(trx, schema);
      const events = await outbox
        .selectFrom('outbox_events')
        .select(['id', 'event_type', 'payload', 'occurred_at'])
        .where('dispatched_at', 'is', null)
        .orderBy('id')
        .limit(this.batchSize)
        .execute();
      if (events.length === 0) return 0;
      const coalition = coalitionDb(trx);
      const endpoints = await coalition
        .selectFrom('webhook_endpoints')
        .select(['id', 'event_types', 'status', 'disabled_reason', 'created_at'])
        .where('tenant_id', '=', tenant.id)
        .orderBy('id')
        .forUpdate()
        .execute();
      const now = this.services.clock.now();
      for (const endpoint of endpoints) {
        const matching = events.filter(
          (event) =>
            // From its registration on: an event from before it, not yet relayed, is not its.
            event.occurred_at >= endpoint.created_at &&
            (endpoint.event_types === null || endpoint.event_types.includes(event.event_type)) &&
            // An endpoint is not told about its own failures: that could feed itself forever.
            !(event.event_type.startsWith('webhook.') && (event.payload as Record<string, unknown>)['endpointId'] === endpoint.id),
        );
        await insertDeliveries(
          coalition,
          {
            tenantId: tenant.id,
            tenantSlug: tenant.slug,
            endpointId: endpoint.id,
            now,
            ...(endpoint.status === 'disabled' && { failedBecause: `endpoint disabled (${endpoint.disabled_reason})` }),
          },
          matching.map((event) => ({ outboxEventId: event.id, type: event.event_type, occurredAt: event.occurred_at, payload: event.payload as Record<string, unknown> })),
        );
      }
      await outbox
        .updateTable('outbox_events')
        .set({ dispatched_at: now })
        .where(
          'id',
          'in',
          events.map((event) => event.id),
        )
        .execute();
      return events.length;
    });
  }

  /** Leases due deliveries and queues their next attempt; the number queued. */
  async dispatchDue(): Promise<number> {
    const now = this.services.clock.now();
    const { rows } = await sql<{ id: string; attempt_count: number }>`
      update coalition.webhook_deliveries set leased_until = ${new Date(now.getTime() + this.leaseMs)}
      where id in (
        select id from coalition.webhook_deliveries
        where status = 'pending' and next_attempt_at <= ${now} and (leased_until is null or leased_until <= ${now})
        order by next_attempt_at
        limit ${this.batchSize}
        for update skip locked)
      returning id, attempt_count`.execute(this.services.db);
    if (rows.length === 0) return 0;
    try {
      await this.services.jobs.enqueueMany(
        deliverWebhookJob,
        rows.map((row) => ({ payload: { deliveryId: row.id, attempt: row.attempt_count + 1 }, jobId: `${row.id}.${row.attempt_count + 1}` })),
      );
      if (this.redisWarned) this.logger.info('Redis is back: webhook deliveries are being queued again');
      this.redisWarned = false;
      return rows.length;
    } catch (error) {
      if (!this.redisWarned) this.logger.warn({ err: error }, 'cannot queue webhook deliveries (Redis unavailable?); they stay due in PostgreSQL and are retried');
      this.redisWarned = true;
      await coalitionDb(this.services.db)
        .updateTable('webhook_deliveries')
        .set({ leased_until: null })
        .where(
          'id',
          'in',
          rows.map((row) => row.id),
        )
        .where('status', '=', 'pending')
        .execute()
        .catch(() => {});
      return 0;
    }
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.services.config.databaseUrl, application_name: 'coalition-relay' });
    client.on('notification', (message) => {
      if (message.payload) this.dirty.add(message.payload);
      this.wake();
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'webhook relay lost its LISTEN connection; polling until it is back');
      void client.end().catch(() => {});
      if (this.listener === client) this.listener = undefined;
      // A notification may have been missed meanwhile: the next pass scans every tenant.
      this.lastFullScan = 0;
      setTimeout(() => void this.listen().catch(() => {}), 1_000).unref();
    });
    try {
      await client.connect();
      await client.query(`listen ${NOTIFY_CHANNEL}`);
      if (this.stopped) await client.end();
      else this.listener = client;
    } catch (error) {
      this.logger.warn({ err: error }, 'webhook relay cannot LISTEN; polling, and trying again');
      void client.end().catch(() => {});
      setTimeout(() => void this.listen().catch(() => {}), 5_000).unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.listener?.end().catch(() => {});
    this.listener = undefined;
  }
}
