import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../../server/src/db/migrate.ts';

// The issuer side: settings, campaigns with versioned accrual rules, customers,
// receipts and returns, the append-only sticker ledger, idempotency keys and the
// outbox of events for webhooks. Runs with db.withSchema(<tenant schema>).
export async function up(db: Kysely<any>, { schema }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('issuer_settings')
    .addColumn('id', 'boolean', (col) => col.primaryKey().defaultTo(true))
    .addColumn('auto_enrol', 'boolean', (col) => col.notNull().defaultTo(true))
    .addColumn('phone_region', 'text')
    .addColumn('expiring_soon_days', 'integer', (col) => col.notNull().defaultTo(7))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('issuer_settings_single_row', sql`id`)
    .addCheckConstraint('issuer_settings_expiring_soon_days', sql`expiring_soon_days between 1 and 90`)
    .execute();
  await db.insertInto('issuer_settings').values({ id: true }).execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('operation', 'text', (col) => col.notNull())
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('response', 'jsonb', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').column('created_at').execute();

  await db.schema
    .createTable('outbox_events')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('event_type', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    .addColumn('dispatched_at', 'timestamptz')
    .execute();
  await sql`create index outbox_events_pending_idx on ${sql.id(schema, 'outbox_events')} (id) where dispatched_at is null`.execute(db);

  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('terms', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('starts_at', 'timestamptz', (col) => col.notNull())
    .addColumn('ends_at', 'timestamptz', (col) => col.notNull())
    .addColumn('burn_at', 'timestamptz', (col) => col.notNull())
    .addColumn('store_codes', sql`text[]`)
    .addColumn('milestones', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('expiring_notified_at', 'timestamptz')
    .addColumn('burned_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('campaigns_period', sql`ends_at > starts_at and burn_at >= ends_at`)
    .execute();

  await db.schema
    .createTable('campaign_rule_versions')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('campaign_id', 'text', (col) => col.notNull().references('campaigns.id'))
    .addColumn('effective_from', 'timestamptz', (col) => col.notNull())
    .addColumn('rules', 'jsonb', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('campaign_rule_versions_effective', ['campaign_id', 'effective_from'])
    .execute();

  await db.schema
    .createTable('customers')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('card_number', 'text', (col) => col.unique())
    .addColumn('phone_hash', 'text', (col) => col.unique())
    .addColumn('phone_hint', 'text')
    .addColumn('blocked_at', 'timestamptz')
    .addColumn('blocked_reason', 'text')
    .addColumn('enrolled_via', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('customers_identified', sql`card_number is not null or phone_hash is not null`)
    .execute();

  await db.schema
    .createTable('purchases')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('store_code', 'text', (col) => col.notNull())
    .addColumn('terminal_id', 'text', (col) => col.notNull())
    .addColumn('cashier_id', 'text')
    .addColumn('receipt_id', 'text', (col) => col.notNull())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull())
    .addColumn('customer_id', 'text', (col) => col.notNull().references('customers.id'))
    .addColumn('total_minor', 'bigint', (col) => col.notNull())
    .addColumn('lines', 'jsonb', (col) => col.notNull())
    .addUniqueConstraint('purchases_receipt', ['store_code', 'receipt_id'])
    .addCheckConstraint('purchases_total_positive', sql`total_minor > 0`)
    .execute();
  await db.schema.createIndex('purchases_customer_idx').on('purchases').columns(['customer_id', 'occurred_at']).execute();

  await db.schema
    .createTable('purchase_returns')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('purchase_id', 'text', (col) => col.notNull().references('purchases.id'))
    .addColumn('return_id', 'text', (col) => col.notNull())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull())
    .addColumn('returned_minor', 'bigint', (col) => col.notNull())
    .addColumn('lines', 'jsonb')
    .addUniqueConstraint('purchase_returns_return', ['purchase_id', 'return_id'])
    .addCheckConstraint('purchase_returns_amount_positive', sql`returned_minor > 0`)
    .execute();

  await db.schema
    .createTable('sticker_ledger')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('customer_id', 'text', (col) => col.notNull().references('customers.id'))
    .addColumn('campaign_id', 'text', (col) => col.notNull().references('campaigns.id'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('amount', 'integer', (col) => col.notNull())
    .addColumn('available_at', 'timestamptz', (col) => col.notNull())
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull())
    .addColumn('purchase_id', 'text', (col) => col.references('purchases.id'))
    .addColumn('return_id', 'text', (col) => col.references('purchase_returns.id'))
    .addColumn('actor', 'text')
    .addColumn('reason', 'text')
    .addColumn('reference', 'text')
    .addCheckConstraint('sticker_ledger_kind', sql`kind in ('accrual', 'reversal', 'spend', 'expiry', 'adjustment')`)
    .addCheckConstraint('sticker_ledger_amount', sql`amount <> 0`)
    .addCheckConstraint(
      'sticker_ledger_sign',
      sql`(kind = 'accrual' and amount > 0) or (kind in ('reversal', 'spend', 'expiry') and amount < 0) or kind = 'adjustment'`,
    )
    .addCheckConstraint('sticker_ledger_adjustment_reason', sql`kind <> 'adjustment' or (actor is not null and reason is not null)`)
    .execute();
  await db.schema.createIndex('sticker_ledger_customer_idx').on('sticker_ledger').columns(['customer_id', 'campaign_id', 'id']).execute();
  await db.schema.createIndex('sticker_ledger_purchase_idx').on('sticker_ledger').column('purchase_id').execute();
  await db.schema.createIndex('sticker_ledger_campaign_idx').on('sticker_ledger').columns(['campaign_id', 'customer_id']).execute();

  // Append-only, enforced by the database: no UPDATE, DELETE or TRUNCATE, whoever asks.
  await sql`
    create function ${sql.id(schema, 'sticker_ledger_is_append_only')}() returns trigger language plpgsql as $$
    begin
      raise exception 'sticker_ledger is append-only: % is not allowed', tg_op using errcode = 'P0001';
    end $$`.execute(db);
  await sql`
    create trigger sticker_ledger_no_update_delete before update or delete on ${sql.id(schema, 'sticker_ledger')}
    for each row execute function ${sql.id(schema, 'sticker_ledger_is_append_only')}()`.execute(db);
  await sql`
    create trigger sticker_ledger_no_truncate before truncate on ${sql.id(schema, 'sticker_ledger')}
    for each statement execute function ${sql.id(schema, 'sticker_ledger_is_append_only')}()`.execute(db);
}
