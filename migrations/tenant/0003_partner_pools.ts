import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../../server/src/db/migrate.ts';

// The partner side: offers, the batches of promo codes behind them and the codes
// themselves. Codes are stored encrypted with a keyed lookup hash (docs/adr/0006).
export async function up(db: Kysely<any>, { schema }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('offers')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('title', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('value_type', 'text', (col) => col.notNull())
    .addColumn('value_minor', 'bigint')
    .addColumn('value_percent', sql`numeric(5, 2)`)
    .addColumn('currency', 'text', (col) => col.notNull())
    .addColumn('min_order_minor', 'bigint')
    .addColumn('terms_url', 'text')
    .addColumn('codes_valid_until', 'timestamptz')
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('low_stock_threshold', 'integer', (col) => col.notNull())
    .addColumn('stock_state', 'text', (col) => col.notNull().defaultTo('empty'))
    .addColumn('code_case', 'text', (col) => col.notNull())
    .addColumn('code_min_length', 'integer', (col) => col.notNull())
    .addColumn('code_max_length', 'integer', (col) => col.notNull())
    .addColumn('code_characters', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('offers_status', sql`status in ('draft', 'active', 'paused', 'closed')`)
    .addCheckConstraint('offers_stock_state', sql`stock_state in ('ok', 'low', 'empty')`)
    .addCheckConstraint('offers_code_case', sql`code_case in ('upper', 'lower', 'preserve')`)
    .addCheckConstraint(
      'offers_value',
      sql`(value_type = 'fixed' and value_minor > 0 and value_percent is null) or (value_type = 'percent' and value_percent > 0 and value_percent <= 100 and value_minor is null)`,
    )
    .addCheckConstraint('offers_min_order', sql`min_order_minor is null or min_order_minor > 0`)
    .addCheckConstraint('offers_code_lengths', sql`code_min_length >= 1 and code_max_length >= code_min_length and code_max_length <= 128`)
    .execute();

  await db.schema
    .createTable('code_batches')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('offer_id', 'text', (col) => col.notNull().references('offers.id'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('upload_key', 'text', (col) => col.unique())
    .addColumn('source', 'jsonb', (col) => col.notNull())
    .addColumn('bytes_received', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('chunk_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('rows_read', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('accepted', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('rejected', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('import_attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('failure', 'jsonb')
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('queued_at', 'timestamptz')
    .addColumn('progress_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addColumn('voided_at', 'timestamptz')
    .addColumn('voided_by', 'text')
    .addColumn('void_reason', 'text')
    .addCheckConstraint('code_batches_kind', sql`kind in ('upload', 'generated')`)
    .addCheckConstraint('code_batches_status', sql`status in ('receiving', 'queued', 'importing', 'ready', 'failed', 'voided')`)
    .execute();
  await db.schema.createIndex('code_batches_offer_idx').on('code_batches').columns(['offer_id', 'created_at']).execute();
  await sql`create index code_batches_pending_idx on ${sql.id(schema, 'code_batches')} (status) where status in ('receiving', 'queued', 'importing')`.execute(db);

  // An uploaded file, encrypted in chunks until its import has run.
  await db.schema
    .createTable('code_batch_chunks')
    .addColumn('batch_id', 'text', (col) => col.notNull().references('code_batches.id'))
    .addColumn('seq', 'integer', (col) => col.notNull())
    .addColumn('data', 'bytea', (col) => col.notNull())
    .addPrimaryKeyConstraint('code_batch_chunks_pk', ['batch_id', 'seq'])
    .execute();

  await db.schema
    .createTable('code_batch_rejects')
    .addColumn('batch_id', 'text', (col) => col.notNull().references('code_batches.id'))
    .addColumn('line_no', 'bigint', (col) => col.notNull())
    .addColumn('reason', 'text', (col) => col.notNull())
    .addColumn('detail', 'text')
    .addColumn('code_cipher', 'bytea')
    .addPrimaryKeyConstraint('code_batch_rejects_pk', ['batch_id', 'line_no'])
    .execute();

  await db.schema
    .createTable('codes')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    // No foreign keys here: codes arrive a million at a time, and row-by-row key checks
    // cost 40% of such an import (measured). Only the import inserts codes, for a batch
    // and offer it has just read in the same transaction; neither is ever deleted.
    .addColumn('offer_id', 'text', (col) => col.notNull())
    .addColumn('batch_id', 'text', (col) => col.notNull())
    // Keyed hash of the code in upper case: the partner-wide uniqueness and lookup key.
    .addColumn('lookup_hash', 'bytea', (col) => col.notNull())
    // 16-byte AES-CTR counter block followed by the encrypted code.
    .addColumn('cipher', 'bytea', (col) => col.notNull())
    .addColumn('mask', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('reserved_until', 'timestamptz')
    .addColumn('holder_ref', 'text')
    .addColumn('issued_at', 'timestamptz')
    .addColumn('redeemed_at', 'timestamptz')
    .addColumn('status_changed_at', 'timestamptz')
    .addCheckConstraint('codes_status', sql`status in ('available', 'reserved', 'issued', 'redeemed', 'expired', 'voided')`)
    .addCheckConstraint('codes_reserved', sql`status <> 'reserved' or (reserved_until is not null and holder_ref is not null)`)
    .execute();
  await sql`alter table ${sql.id(schema, 'codes')} add constraint codes_lookup_hash_key unique (lookup_hash)`.execute(db);
  // Claims take the available code that expires first: this index is all they read.
  await sql`create index codes_available_idx on ${sql.id(schema, 'codes')} (offer_id, expires_at, id) where status = 'available'`.execute(db);
  await db.schema.createIndex('codes_batch_status_idx').on('codes').columns(['batch_id', 'status']).execute();
  await sql`create index codes_issued_idx on ${sql.id(schema, 'codes')} (offer_id, issued_at) where issued_at is not null`.execute(db);
  await sql`create index codes_reserved_idx on ${sql.id(schema, 'codes')} (reserved_until) where status = 'reserved'`.execute(db);
}
