import { sql, type Kysely } from 'kysely';

// The exchange: facts that belong to two tenants (agreements, vouchers, settlement
// entries) and the issuers' voucher signing keys. Runs with db.withSchema('coalition').
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('agreements')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('issuer_tenant_id', 'uuid', (col) => col.notNull().references('tenants.id'))
    .addColumn('partner_tenant_id', 'uuid', (col) => col.notNull().references('tenants.id'))
    .addColumn('offer_ids', sql`text[]`, (col) => col.notNull())
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('amount_minor', 'bigint')
    .addColumn('percent', sql`numeric(5, 2)`)
    .addColumn('currency', sql`char(3)`, (col) => col.notNull())
    .addColumn('timezone', 'text', (col) => col.notNull())
    .addColumn('valid_from', 'timestamptz', (col) => col.notNull())
    .addColumn('valid_until', 'timestamptz')
    .addColumn('monthly_cap', 'integer')
    .addColumn('status', 'text', (col) => col.notNull())
    // null = the coalition operator
    .addColumn('proposed_by_tenant_id', 'uuid', (col) => col.references('tenants.id'))
    .addColumn('proposed_by', 'text', (col) => col.notNull())
    .addColumn('proposed_at', 'timestamptz', (col) => col.notNull())
    .addColumn('accepted_by', 'text')
    .addColumn('accepted_at', 'timestamptz')
    // The last suspend / resume / end: which side (null tenant = operator), which key, why.
    .addColumn('status_changed_by_tenant_id', 'uuid', (col) => col.references('tenants.id'))
    .addColumn('status_changed_by', 'text')
    .addColumn('status_changed_at', 'timestamptz')
    .addColumn('status_reason', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
    .addCheckConstraint('agreements_status', sql`status in ('proposed', 'active', 'suspended', 'ended', 'declined', 'withdrawn')`)
    .addCheckConstraint('agreements_parties', sql`issuer_tenant_id <> partner_tenant_id`)
    .addCheckConstraint('agreements_offers', sql`cardinality(offer_ids) between 1 and 100`)
    .addCheckConstraint(
      'agreements_model',
      sql`(model in ('issuer_pays_per_issued', 'issuer_pays_per_redeemed', 'partner_pays_per_redeemed') and amount_minor > 0 and percent is null)
       or (model = 'partner_pays_percent_of_order' and percent > 0 and percent <= 100 and amount_minor is null)`,
    )
    .addCheckConstraint('agreements_currency', sql`currency ~ '^[A-Z]{3}$'`)
    .addCheckConstraint('agreements_period', sql`valid_until is null or valid_until > valid_from`)
    .addCheckConstraint('agreements_cap', sql`monthly_cap is null or monthly_cap > 0`)
    .addCheckConstraint('agreements_accepted', sql`status in ('proposed', 'declined', 'withdrawn') or accepted_at is not null`)
    .execute();
  await db.schema.createIndex('agreements_issuer_idx').on('agreements').columns(['issuer_tenant_id', 'created_at']).execute();
  await db.schema.createIndex('agreements_partner_idx').on('agreements').columns(['partner_tenant_id', 'created_at']).execute();

  // Codes issued under a capped agreement per calendar month (in the agreement's time
  // zone): one row per agreement and month, incremented conditionally by each exchange.
  // No foreign key, for the reason given at vouchers below.
  await db.schema
    .createTable('agreement_usage')
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('period', 'date', (col) => col.notNull())
    .addColumn('issued', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('agreement_usage_pk', ['agreement_id', 'period'])
    .addCheckConstraint('agreement_usage_issued', sql`issued >= 0`)
    .execute();

  // An issuer's Ed25519 voucher signing keys. The private key is stored encrypted
  // (AES-256-GCM under a subkey of SECRET_KEY, bound to the kid).
  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (col) => col.primaryKey())
    // Creation order: of two keys activating at the same moment, the later one signs.
    .addColumn('seq', 'bigserial', (col) => col.notNull().unique())
    .addColumn('tenant_id', 'uuid', (col) => col.notNull().references('tenants.id'))
    .addColumn('algorithm', 'text', (col) => col.notNull())
    .addColumn('public_jwk', 'jsonb', (col) => col.notNull())
    .addColumn('private_key_cipher', 'bytea', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('activates_at', 'timestamptz', (col) => col.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .addColumn('revoke_reason', 'text')
    .addCheckConstraint('signing_keys_algorithm', sql`algorithm = 'EdDSA'`)
    .execute();
  await db.schema.createIndex('signing_keys_tenant_idx').on('signing_keys').columns(['tenant_id', 'activates_at']).execute();

  // No foreign keys on vouchers and settlement entries: every exchange would take KEY
  // SHARE locks on the same few rows (both tenants, the agreement, the signing key),
  // and with dozens of exchanges in flight PostgreSQL keeps those as multixacts that it
  // rewrites on every new locker. The exchange inserts them for rows it has just read in
  // the same transaction, and none of those rows is ever deleted.
  await db.schema
    .createTable('vouchers')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('issuer_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('partner_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('reward_id', 'text', (col) => col.notNull())
    .addColumn('campaign_id', 'text', (col) => col.notNull())
    .addColumn('customer_id', 'text', (col) => col.notNull())
    .addColumn('offer_id', 'text', (col) => col.notNull())
    // The partner's codes.id; the code itself stays encrypted in the partner's schema.
    .addColumn('code_id', 'bigint', (col) => col.notNull())
    .addColumn('code_mask', 'text', (col) => col.notNull())
    .addColumn('stickers', 'integer', (col) => col.notNull())
    // The offer as the customer was promised it (its value is locked once issued).
    .addColumn('terms', 'jsonb', (col) => col.notNull())
    .addColumn('kid', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('issued_at', 'timestamptz', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('usage_period', 'date')
    .addColumn('redeemed_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('cancelled_by', 'text')
    .addColumn('cancel_reason', 'text')
    .addColumn('code_disposition', 'text')
    .addColumn('stickers_refunded', 'integer')
    .addCheckConstraint('vouchers_status', sql`status in ('issued', 'redeemed', 'cancelled')`)
    .addCheckConstraint('vouchers_cancelled', sql`status <> 'cancelled' or (cancelled_at is not null and code_disposition in ('returned_to_pool', 'voided'))`)
    .addCheckConstraint('vouchers_expiry', sql`expires_at > issued_at`)
    .addCheckConstraint('vouchers_stickers', sql`stickers > 0`)
    .execute();
  await sql`create unique index vouchers_partner_code_key on coalition.vouchers (partner_tenant_id, code_id) where status <> 'cancelled'`.execute(db);
  await db.schema.createIndex('vouchers_customer_idx').on('vouchers').columns(['issuer_tenant_id', 'customer_id', 'issued_at']).execute();
  await db.schema.createIndex('vouchers_kid_idx').on('vouchers').columns(['kid', 'expires_at']).execute();
  await db.schema.createIndex('vouchers_agreement_idx').on('vouchers').columns(['agreement_id', 'issued_at']).execute();

  // Append-only money facts between two tenants; settlement statements are built from them.
  await db.schema
    .createTable('settlement_entries')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('voucher_id', 'text', (col) => col.notNull())
    .addColumn('event', 'text', (col) => col.notNull())
    .addColumn('payer_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('payee_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('amount_minor', 'bigint', (col) => col.notNull())
    .addColumn('currency', sql`char(3)`, (col) => col.notNull())
    .addColumn('order_amount_minor', 'bigint')
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    .addColumn('period', 'date', (col) => col.notNull())
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('settlement_entries_event', sql`event in ('code_issued', 'issue_cancelled', 'code_redeemed', 'redemption_reversed')`)
    .addCheckConstraint('settlement_entries_amount', sql`amount_minor <> 0`)
    .addCheckConstraint('settlement_entries_parties', sql`payer_tenant_id <> payee_tenant_id`)
    .execute();
  await db.schema.createIndex('settlement_entries_agreement_idx').on('settlement_entries').columns(['agreement_id', 'period']).execute();
  await db.schema.createIndex('settlement_entries_voucher_idx').on('settlement_entries').column('voucher_id').execute();

  await sql`
    create function coalition.settlement_entries_are_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'settlement_entries is append-only: % is not allowed', tg_op using errcode = 'P0001';
    end $$`.execute(db);
  await sql`
    create trigger settlement_entries_no_update_delete before update or delete on coalition.settlement_entries
    for each row execute function coalition.settlement_entries_are_append_only()`.execute(db);
  await sql`
    create trigger settlement_entries_no_truncate before truncate on coalition.settlement_entries
    for each statement execute function coalition.settlement_entries_are_append_only()`.execute(db);
}
