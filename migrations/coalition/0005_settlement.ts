import { sql, type Kysely } from 'kysely';

// Monthly settlement (docs/finance-guide.md, docs/adr/0011): statements per agreement
// and period, the entries a finalized statement took, settlement runs, reconciliations.
// Runs with db.withSchema('coalition').
export async function up(db: Kysely<any>): Promise<void> {
  // Settlement entries gain what a statement groups by without joins: the offer, and for
  // a correction (a reversal, a cancellation, a dispute adjustment) the period it
  // corrects. Dispute adjustments have no voucher. Existing rows are filled in once,
  // with the append-only trigger held off for this migration only.
  await db.schema
    .alterTable('settlement_entries')
    .addColumn('offer_id', 'text')
    .addColumn('relates_to_period', 'date')
    .addColumn('statement_ref', 'text')
    .addColumn('note', 'text')
    .addColumn('created_by', 'text')
    .execute();
  await sql`alter table coalition.settlement_entries alter column voucher_id drop not null`.execute(db);
  await sql`alter table coalition.settlement_entries disable trigger settlement_entries_no_update_delete`.execute(db);
  await sql`update coalition.settlement_entries e set offer_id = v.offer_id from coalition.vouchers v where v.id = e.voucher_id`.execute(db);
  await sql`
    update coalition.settlement_entries e set relates_to_period = original.period
    from coalition.settlement_entries original
    where e.event = 'redemption_reversed' and original.event = 'code_redeemed' and original.redemption_id = e.redemption_id`.execute(db);
  await sql`
    update coalition.settlement_entries e set relates_to_period = original.period
    from coalition.settlement_entries original
    where e.event = 'issue_cancelled' and original.event = 'code_issued' and original.voucher_id = e.voucher_id`.execute(db);
  await sql`alter table coalition.settlement_entries enable trigger settlement_entries_no_update_delete`.execute(db);
  // What a statement reads, in one index: an index-only scan of an agreement's month
  // instead of a heap page per entry (entries of many agreements interleave in time).
  await sql`drop index coalition.settlement_entries_agreement_idx`.execute(db);
  await sql`
    create index settlement_entries_agreement_period_idx on coalition.settlement_entries (agreement_id, period, id)
    include (relates_to_period, offer_id, event, statement_ref, currency, amount_minor)`.execute(db);
  await sql`alter table coalition.settlement_entries drop constraint settlement_entries_event`.execute(db);
  await sql`
    alter table coalition.settlement_entries add constraint settlement_entries_event
    check (event in ('code_issued', 'issue_cancelled', 'code_redeemed', 'redemption_reversed', 'adjustment'))`.execute(db);
  await sql`
    alter table coalition.settlement_entries add constraint settlement_entries_adjustment
    check ((event = 'adjustment') = (voucher_id is null) and (event = 'adjustment') = (statement_ref is not null and note is not null))`.execute(db);

  await db.schema
    .createTable('settlement_statements')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('agreement_id', 'text', (col) => col.notNull().references('agreements.id'))
    .addColumn('issuer_tenant_id', 'uuid', (col) => col.notNull().references('tenants.id'))
    .addColumn('partner_tenant_id', 'uuid', (col) => col.notNull().references('tenants.id'))
    // Who owes whom under the agreement's model when the net is positive.
    .addColumn('payer_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('payee_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('period', 'date', (col) => col.notNull())
    .addColumn('timezone', 'text', (col) => col.notNull())
    .addColumn('period_start', 'timestamptz', (col) => col.notNull())
    .addColumn('period_end', 'timestamptz', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    // The statement as canonical JSON (the content the hash covers) and its totals;
    // null only inside the transaction that first builds the statement.
    .addColumn('document', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('totals', 'jsonb')
    .addColumn('entry_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('build_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('built_at', 'timestamptz', (col) => col.notNull())
    .addColumn('built_by', 'text', (col) => col.notNull())
    .addColumn('finalized_at', 'timestamptz')
    .addColumn('finalized_by', 'text')
    .addColumn('finalized_by_tenant_id', 'uuid')
    .addColumn('paid_at', 'timestamptz')
    .addColumn('paid_by', 'text')
    .addColumn('paid_by_tenant_id', 'uuid')
    .addColumn('payment_reference', 'text')
    .addColumn('disputed_at', 'timestamptz')
    .addColumn('disputed_by', 'text')
    .addColumn('disputed_by_tenant_id', 'uuid')
    .addColumn('dispute_reason', 'text')
    .addColumn('dispute_resolved_at', 'timestamptz')
    .addColumn('dispute_resolved_by', 'text')
    .addColumn('dispute_resolution', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
    .addCheckConstraint('settlement_statements_status', sql`status in ('draft', 'finalized', 'paid', 'disputed')`)
    .addCheckConstraint('settlement_statements_finalized', sql`status = 'draft' or (finalized_at is not null and content_hash is not null)`)
    .addCheckConstraint('settlement_statements_paid', sql`status <> 'paid' or (paid_at is not null and payment_reference is not null)`)
    .addCheckConstraint('settlement_statements_disputed', sql`status <> 'disputed' or (disputed_at is not null and dispute_reason is not null)`)
    .addCheckConstraint('settlement_statements_period', sql`extract(day from period) = 1 and period_end > period_start`)
    .addUniqueConstraint('settlement_statements_agreement_period_key', ['agreement_id', 'period'])
    .execute();
  await db.schema.createIndex('settlement_statements_issuer_idx').on('settlement_statements').columns(['issuer_tenant_id', 'period']).execute();
  await db.schema.createIndex('settlement_statements_partner_idx').on('settlement_statements').columns(['partner_tenant_id', 'period']).execute();
  await db.schema.createIndex('settlement_statements_period_idx').on('settlement_statements').columns(['period', 'status']).execute();

  // A finalized statement's lines are frozen with it; a draft's are rebuilt in place.
  await db.schema
    .createTable('settlement_statement_lines')
    .addColumn('statement_id', 'text', (col) => col.notNull().references('settlement_statements.id'))
    .addColumn('line_no', 'integer', (col) => col.notNull())
    .addColumn('section', 'text', (col) => col.notNull())
    .addColumn('relates_to_period', 'date', (col) => col.notNull())
    .addColumn('offer_id', 'text')
    .addColumn('event', 'text', (col) => col.notNull())
    .addColumn('statement_ref', 'text')
    .addColumn('currency', sql`char(3)`, (col) => col.notNull())
    .addColumn('count', 'integer', (col) => col.notNull())
    .addColumn('amount_minor', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('settlement_statement_lines_pk', ['statement_id', 'line_no'])
    .addCheckConstraint('settlement_statement_lines_section', sql`section in ('period', 'adjustment')`)
    .execute();

  // A finalized statement's content never changes, whatever code runs: its document,
  // hash, totals, period and parties are refused any update, it is never deleted, and
  // its lines are refused any change.
  await sql`
    create function coalition.settlement_statements_content_is_fixed() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        if old.status <> 'draft' then
          raise exception 'statement % is %: it is never deleted', old.id, old.status using errcode = 'P0001';
        end if;
        return old;
      end if;
      if old.status <> 'draft' and (new.document is distinct from old.document or new.content_hash is distinct from old.content_hash
          or new.totals is distinct from old.totals or new.entry_count <> old.entry_count or new.period <> old.period
          or new.period_start <> old.period_start or new.period_end <> old.period_end or new.agreement_id <> old.agreement_id
          or new.status = 'draft') then
        raise exception 'statement % is %: its content is fixed', old.id, old.status using errcode = 'P0001';
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger settlement_statements_fixed before update or delete on coalition.settlement_statements
    for each row execute function coalition.settlement_statements_content_is_fixed()`.execute(db);
  await sql`
    create function coalition.settlement_statement_lines_are_fixed() returns trigger language plpgsql as $$
    declare
      target text := coalesce(new.statement_id, old.statement_id);
    begin
      if tg_op = 'UPDATE' or exists (select 1 from coalition.settlement_statements where id = target and status <> 'draft') then
        raise exception 'lines of statement % are fixed', target using errcode = 'P0001';
      end if;
      return coalesce(new, old);
    end $$`.execute(db);
  await sql`
    create trigger settlement_statement_lines_fixed before insert or update or delete on coalition.settlement_statement_lines
    for each row execute function coalition.settlement_statement_lines_are_fixed()`.execute(db);

  // Which entries a finalized statement took: an entry is settled by one statement only
  // (the primary key), and a late entry, committed after its period's statement was
  // finalized, is left for the next one as an adjustment.
  await db.schema
    .createTable('settlement_statement_entries')
    .addColumn('entry_id', 'bigint', (col) => col.primaryKey())
    .addColumn('statement_id', 'text', (col) => col.notNull().references('settlement_statements.id'))
    .execute();
  await sql`
    create function coalition.settlement_statement_entries_are_fixed() returns trigger language plpgsql as $$
    begin
      raise exception 'settlement_statement_entries is append-only: % is not allowed', tg_op using errcode = 'P0001';
    end $$`.execute(db);
  await sql`
    create trigger settlement_statement_entries_no_update_delete before update or delete on coalition.settlement_statement_entries
    for each row execute function coalition.settlement_statement_entries_are_fixed()`.execute(db);
  await sql`
    create trigger settlement_statement_entries_no_truncate before truncate on coalition.settlement_statement_entries
    for each statement execute function coalition.settlement_statement_entries_are_fixed()`.execute(db);
  await db.schema.createIndex('settlement_statement_entries_statement_idx').on('settlement_statement_entries').columns(['statement_id', 'entry_id']).execute();

  // Settlement runs: the scheduled close of a period and runs asked for through the API.
  await db.schema
    .createTable('settlement_runs')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // null = every agreement (the scheduler); else the tenant that asked.
    .addColumn('tenant_id', 'uuid', (col) => col.references('tenants.id'))
    // null = each agreement's last closed period.
    .addColumn('period', 'date')
    .addColumn('trigger', 'text', (col) => col.notNull())
    .addColumn('requested_by', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('statements_built', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('statements_unchanged', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addCheckConstraint('settlement_runs_status', sql`status in ('queued', 'running', 'succeeded', 'failed')`)
    .addCheckConstraint('settlement_runs_trigger', sql`trigger in ('schedule', 'api')`)
    .execute();
  await db.schema.createIndex('settlement_runs_tenant_idx').on('settlement_runs').columns(['tenant_id', 'created_at']).execute();
  await sql`create index settlement_runs_open_idx on coalition.settlement_runs (created_at) where status in ('queued', 'running')`.execute(db);

  // A party's own list for a statement, compared with ours; the items are the report.
  await db.schema
    .createTable('settlement_reconciliations')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('statement_id', 'text', (col) => col.notNull().references('settlement_statements.id'))
    .addColumn('tenant_id', 'uuid', (col) => col.notNull().references('tenants.id'))
    .addColumn('uploaded_by', 'text', (col) => col.notNull())
    .addColumn('uploaded_at', 'timestamptz', (col) => col.notNull())
    .addColumn('filename', 'text')
    // The statement's content hash the file was compared with.
    .addColumn('statement_hash', 'text', (col) => col.notNull())
    .addColumn('rows', 'integer', (col) => col.notNull())
    .addColumn('invalid_rows', 'integer', (col) => col.notNull())
    .addColumn('matched', 'integer', (col) => col.notNull())
    .addColumn('missing_ours', 'integer', (col) => col.notNull())
    .addColumn('missing_theirs', 'integer', (col) => col.notNull())
    .addColumn('mismatched', 'integer', (col) => col.notNull())
    .addColumn('their_total_minor', 'bigint', (col) => col.notNull())
    .addColumn('our_total_minor', 'bigint', (col) => col.notNull())
    .addColumn('reconciled', 'boolean', (col) => col.notNull())
    // The report's CSV lines, as downloaded (small: one line per voucher of one statement).
    .addColumn('report', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('settlement_reconciliations_statement_idx').on('settlement_reconciliations').columns(['statement_id', 'tenant_id', 'uploaded_at']).execute();
}
