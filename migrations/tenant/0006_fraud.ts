import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../../server/src/db/migrate.ts';

// Anti-fraud on the issuer side (docs/fraud.md, docs/adr/0014): the issuer's rule
// settings, the review cases the rules open and what happened on each, the history of
// which customer held which phone, and whether a return left the card owing.
// Runs with db.withSchema(<tenant schema>).
export async function up(db: Kysely<any>, { schema }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('fraud_rule_settings')
    .addColumn('rule_id', 'text', (col) => col.primaryKey())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('params', 'jsonb', (col) => col.notNull())
    .addColumn('updated_by', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
    .addCheckConstraint('fraud_rule_settings_action', sql`action in ('allow', 'flag', 'hold', 'block')`)
    .execute();

  await db.schema
    .createTable('fraud_cases')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('rule_id', 'text', (col) => col.notNull())
    // What the case is about: the customer for customer rules, the shop account for
    // redemption signals. One open case per rule and subject gathers every hit.
    .addColumn('subject_key', 'text', (col) => col.notNull())
    // No foreign key: a blocked purchase that would have enrolled the card leaves no customer row.
    .addColumn('customer_id', 'text')
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('open'))
    .addColumn('summary', 'text', (col) => col.notNull())
    .addColumn('hits', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('held_stickers', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('opened_at', 'timestamptz', (col) => col.notNull())
    .addColumn('last_hit_at', 'timestamptz', (col) => col.notNull())
    .addColumn('decision', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_by_name', 'text')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decision_reason', 'text')
    .addColumn('decision_details', 'jsonb')
    .addCheckConstraint('fraud_cases_action', sql`action in ('flag', 'hold', 'block')`)
    .addCheckConstraint('fraud_cases_status', sql`status in ('open', 'closed')`)
    .addCheckConstraint('fraud_cases_decision', sql`(status = 'open') = (decision is null) and (decision is null or decision in ('released', 'reversed', 'card_blocked', 'dismissed'))`)
    .execute();
  await sql`create unique index fraud_cases_open_subject on ${sql.id(schema, 'fraud_cases')} (rule_id, subject_key) where status = 'open'`.execute(db);
  await db.schema.createIndex('fraud_cases_queue_idx').on('fraud_cases').columns(['status', 'opened_at', 'id']).execute();
  await db.schema.createIndex('fraud_cases_customer_idx').on('fraud_cases').columns(['customer_id', 'opened_at']).execute();

  await db.schema
    .createTable('fraud_case_hits')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('case_id', 'text', (col) => col.notNull().references('fraud_cases.id'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull())
    .addColumn('purchase_id', 'text')
    .addColumn('reference', 'text')
    .addColumn('evidence', 'jsonb', (col) => col.notNull())
    // Stickers this hit put on hold: [{ campaignId, stickers, availableAt, heldUntil }].
    .addColumn('held', 'jsonb')
    .addCheckConstraint('fraud_case_hits_kind', sql`kind in ('purchase', 'return', 'exchange', 'redemption')`)
    .addCheckConstraint('fraud_case_hits_action', sql`action in ('flag', 'hold', 'block')`)
    .execute();
  await db.schema.createIndex('fraud_case_hits_case_idx').on('fraud_case_hits').columns(['case_id', 'id']).execute();

  // Phones move between cards (a lost card, a new one, a friend's): every pairing is kept.
  await db.schema
    .createTable('customer_phone_links')
    .addColumn('phone_hash', 'text', (col) => col.notNull())
    .addColumn('customer_id', 'text', (col) => col.notNull().references('customers.id'))
    .addColumn('linked_at', 'timestamptz', (col) => col.notNull())
    .addPrimaryKeyConstraint('customer_phone_links_pkey', ['phone_hash', 'customer_id'])
    .execute();
  await db.schema.createIndex('customer_phone_links_customer_idx').on('customer_phone_links').column('customer_id').execute();
  await sql`insert into ${sql.id(schema, 'customer_phone_links')} (phone_hash, customer_id, linked_at)
    select phone_hash, id, created_at from ${sql.id(schema, 'customers')} where phone_hash is not null`.execute(db);

  await db.schema.alterTable('purchase_returns').addColumn('left_owing', 'boolean', (col) => col.notNull().defaultTo(false)).execute();
}
