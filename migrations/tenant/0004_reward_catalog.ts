import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../../server/src/db/migrate.ts';

// The exchange's tenant side: the issuer's reward catalog, sticker refunds for
// cancelled vouchers, and the partner's choice of what a cancelled voucher's code
// becomes. Runs with db.withSchema(<tenant schema>).
export async function up(db: Kysely<any>, { schema }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('rewards')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('title', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('image_url', 'text')
    .addColumn('sort_order', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('partner_tenant_id', 'uuid', (col) => col.notNull())
    .addColumn('offer_id', 'text', (col) => col.notNull())
    .addColumn('campaign_id', 'text', (col) => col.notNull().references('campaigns.id'))
    .addColumn('sticker_cost', 'integer', (col) => col.notNull())
    .addColumn('limit_total', 'integer')
    .addColumn('limit_per_period', 'integer')
    .addColumn('limit_period', 'text')
    .addColumn('voucher_valid_days', 'integer', (col) => col.notNull())
    .addColumn('min_code_validity_days', 'integer', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
    .addCheckConstraint('rewards_status', sql`status in ('active', 'paused', 'archived')`)
    .addCheckConstraint('rewards_cost', sql`sticker_cost > 0`)
    .addCheckConstraint('rewards_limit_total', sql`limit_total is null or limit_total > 0`)
    .addCheckConstraint(
      'rewards_limit_period',
      sql`(limit_per_period is null and limit_period is null) or (limit_per_period > 0 and limit_period in ('day', 'week', 'month'))`,
    )
    .addCheckConstraint('rewards_validity', sql`voucher_valid_days between 1 and 730 and min_code_validity_days between 0 and voucher_valid_days`)
    .execute();
  await db.schema.createIndex('rewards_status_idx').on('rewards').columns(['status', 'sort_order']).execute();

  // A cancelled voucher gives its stickers back: a positive 'refund' row.
  await sql`alter table ${sql.id(schema, 'sticker_ledger')} drop constraint sticker_ledger_kind`.execute(db);
  await sql`alter table ${sql.id(schema, 'sticker_ledger')} drop constraint sticker_ledger_sign`.execute(db);
  await sql`
    alter table ${sql.id(schema, 'sticker_ledger')}
      add constraint sticker_ledger_kind check (kind in ('accrual', 'reversal', 'spend', 'expiry', 'adjustment', 'refund')),
      add constraint sticker_ledger_sign check (
        (kind in ('accrual', 'refund') and amount > 0) or (kind in ('reversal', 'spend', 'expiry') and amount < 0) or kind = 'adjustment')`.execute(db);

  await db.schema
    .alterTable('offers')
    .addColumn('cancelled_code_policy', 'text', (col) => col.notNull().defaultTo('void'))
    .execute();
  await sql`alter table ${sql.id(schema, 'offers')} add constraint offers_cancelled_code_policy check (cancelled_code_policy in ('void', 'return_to_pool'))`.execute(db);
}
