import { sql, type Kysely } from 'kysely';

// The API validates these too; the database makes them hold for every writer.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addCheckConstraint('tenants_currency_format', sql`currency ~ '^[A-Z]{3}$'`)
    .execute();
  await db.schema
    .alterTable('tenants')
    .addCheckConstraint('tenants_display_name_present', sql`btrim(display_name) <> ''`)
    .execute();
  await db.schema
    .alterTable('tenants')
    .addCheckConstraint('tenants_slug_format', sql`slug ~ '^[a-z]([a-z0-9]|-(?=[a-z0-9])){2,31}$'`)
    .execute();
  await db.schema.alterTable('api_keys').addCheckConstraint('api_keys_name_present', sql`btrim(name) <> ''`).execute();
}
