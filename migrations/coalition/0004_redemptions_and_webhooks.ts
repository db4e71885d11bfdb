import { sql, type Kysely } from 'kysely';

// Redemptions (a fact between a partner and an issuer) and webhook delivery: endpoints,
// deliveries and their attempts live here, one table each for every tenant, so the
// relay schedules and drains them with one indexed query (docs/adr/0009).
// Runs with db.withSchema('coalition').
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('redemptions')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // No foreign keys, as for vouchers (docs/adr/0008): the voucher row is locked first anyway.
    .addColumn('voucher_id', 'text', (col) => col.notNull())
    .addColumn('partner_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('issuer_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('offer_id', 'text', (col) => col.notNull())
    .addColumn('code_id', 'bigint', (col) => col.notNull())
    .addColumn('code_mask', 'text', (col) => col.notNull())
    .addColumn('order_ref', 'text', (col) => col.notNull())
    .addColumn('order_amount_minor', 'bigint', (col) => col.notNull())
    .addColumn('currency', sql`char(3)`, (col) => col.notNull())
    .addColumn('discount_minor', 'bigint', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('redeemed_at', 'timestamptz', (col) => col.notNull())
    .addColumn('redeemed_by', 'text', (col) => col.notNull())
    .addColumn('reversed_at', 'timestamptz')
    .addColumn('reversed_by', 'text')
    .addColumn('reverse_reason', 'text')
    .addCheckConstraint('redemptions_status', sql`status in ('redeemed', 'reversed')`)
    .addCheckConstraint('redemptions_amounts', sql`order_amount_minor >= 0 and discount_minor >= 0`)
    .addCheckConstraint('redemptions_reversed', sql`(status = 'reversed') = (reversed_at is not null)`)
    .execute();
  // A code is redeemed at most once at a time: the database refuses a second live
  // redemption of one voucher even if the application's conditional update were wrong.
  await sql`create unique index redemptions_live_voucher_key on coalition.redemptions (voucher_id) where status = 'redeemed'`.execute(db);
  await db.schema.createIndex('redemptions_partner_time_idx').on('redemptions').columns(['partner_tenant_id', 'redeemed_at', 'id']).execute();
  await db.schema.createIndex('redemptions_partner_order_idx').on('redemptions').columns(['partner_tenant_id', 'order_ref']).execute();
  await db.schema.createIndex('redemptions_partner_code_idx').on('redemptions').columns(['partner_tenant_id', 'code_id']).execute();
  await db.schema.createIndex('redemptions_voucher_idx').on('redemptions').columns(['voucher_id']).execute();

  // Which redemption a code_redeemed / redemption_reversed entry is about: a voucher can
  // be redeemed, reversed and redeemed again. A new nullable column: existing rows keep
  // their bytes, and the append-only triggers (on update and delete) are untouched.
  await db.schema.alterTable('settlement_entries').addColumn('redemption_id', 'text').execute();
  await db.schema.createIndex('settlement_entries_redemption_idx').on('settlement_entries').column('redemption_id').where(sql.ref('redemption_id'), 'is not', null).execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('tenant_id', 'uuid', (col) => col.notNull().references('tenants.id'))
    .addColumn('url', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull().defaultTo(''))
    // null: every event type.
    .addColumn('event_types', sql`text[]`)
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('disabled_reason', 'text')
    .addColumn('disabled_at', 'timestamptz')
    // AES-256-GCM under a per-tenant subkey of SECRET_KEY: signing needs the secret itself.
    .addColumn('secret_cipher', 'bytea', (col) => col.notNull())
    .addColumn('previous_secret_cipher', 'bytea')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    .addColumn('last_sequence', 'bigint', (col) => col.notNull().defaultTo(0))
    // Start of the current run of failed attempts; null after a success.
    .addColumn('failing_since', 'timestamptz')
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
    .addCheckConstraint('webhook_endpoints_status', sql`status in ('enabled', 'disabled')`)
    .addCheckConstraint('webhook_endpoints_disabled', sql`(status = 'disabled') = (disabled_reason is not null)`)
    .addCheckConstraint('webhook_endpoints_disabled_reason', sql`disabled_reason is null or disabled_reason in ('manual', 'gone', 'failing')`)
    .execute();
  await db.schema.createIndex('webhook_endpoints_tenant_idx').on('webhook_endpoints').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    // The Standard Webhooks webhook-id: the same on every attempt and on a replay.
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('endpoint_id', 'text', (col) => col.notNull())
    .addColumn('event_type', 'text', (col) => col.notNull())
    // The tenant outbox row it came from; null for a test event.
    .addColumn('outbox_event_id', 'bigint')
    .addColumn('sequence', 'bigint', (col) => col.notNull())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    // The exact bytes every attempt sends (and signs).
    .addColumn('body', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('attempt_count', 'integer', (col) => col.notNull().defaultTo(0))
    // Attempts counted toward the retry schedule: a replay starts the schedule again.
    .addColumn('schedule_step', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz')
    // Set while a job for the next attempt is in the queue; a lapsed lease is re-queued.
    .addColumn('leased_until', 'timestamptz')
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('failed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addCheckConstraint('webhook_deliveries_status', sql`status in ('pending', 'succeeded', 'failed')`)
    .addCheckConstraint('webhook_deliveries_pending', sql`(status = 'pending') = (next_attempt_at is not null)`)
    .execute();
  // One delivery per event and endpoint, however often the relay runs.
  await sql`create unique index webhook_deliveries_event_key on coalition.webhook_deliveries (endpoint_id, outbox_event_id) where outbox_event_id is not null`.execute(db);
  await sql`create index webhook_deliveries_due_idx on coalition.webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await db.schema.createIndex('webhook_deliveries_tenant_idx').on('webhook_deliveries').columns(['tenant_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('webhook_deliveries_endpoint_idx').on('webhook_deliveries').columns(['endpoint_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('delivery_id', 'text', (col) => col.notNull())
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('started_at', 'timestamptz', (col) => col.notNull())
    .addColumn('duration_ms', 'integer', (col) => col.notNull())
    .addColumn('status_code', 'integer')
    // Connection refused, timeout, blocked address…; null when a response came back.
    .addColumn('error', 'text')
    // The first KiB of the response body.
    .addColumn('response_body', 'text')
    .addColumn('next_attempt_at', 'timestamptz')
    .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
    .execute();

  // Wakes the relay when a tenant's outbox gains rows: tenant migrations attach it to
  // each outbox_events table. The notification is sent at commit, never for a rollback.
  await sql`
    create function coalition.notify_outbox() returns trigger language plpgsql as $$
    begin
      perform pg_notify('coalition_outbox', tg_table_schema);
      return null;
    end $$`.execute(db);
}
