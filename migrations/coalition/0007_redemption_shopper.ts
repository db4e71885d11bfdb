import { sql, type Kysely } from 'kysely';

// The shop's own account id for the shopper, when the shop sends one with a
// redemption: the issuer's anti-fraud rules look for one account redeeming many
// customers' codes (docs/fraud.md). Runs with db.withSchema('coalition').
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('redemptions').addColumn('shopper_ref', 'text').execute();
  await sql`create index redemptions_partner_shopper_idx on coalition.redemptions (partner_tenant_id, shopper_ref, redeemed_at) where shopper_ref is not null`.execute(db);
}
