import { sql, type Kysely } from 'kysely';

// Runs with db.withSchema('coalition'): unqualified table names land in that schema.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (col) => col.notNull().unique())
    .addColumn('display_name', 'text', (col) => col.notNull())
    .addColumn('roles', sql`text[]`, (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('active'))
    .addColumn('timezone', 'text', (col) => col.notNull())
    .addColumn('currency', sql`char(3)`, (col) => col.notNull())
    .addColumn('rate_limit_per_minute', 'integer')
    .addColumn('schema_version', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('tenants_roles_valid', sql`cardinality(roles) > 0 and roles <@ array['issuer', 'partner']::text[]`)
    .addCheckConstraint('tenants_status_valid', sql`status in ('active', 'suspended')`)
    .addCheckConstraint('tenants_rate_limit_positive', sql`rate_limit_per_minute is null or rate_limit_per_minute > 0`)
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('tenant_id', 'uuid', (col) => col.references('tenants.id'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('scopes', sql`text[]`, (col) => col.notNull())
    .addColumn('secret_hash', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addCheckConstraint('api_keys_kind_valid', sql`kind in ('tenant', 'operator')`)
    .addCheckConstraint('api_keys_tenant_matches_kind', sql`(kind = 'operator') = (tenant_id is null)`)
    .execute();

  await db.schema.createIndex('api_keys_tenant_idx').on('api_keys').columns(['tenant_id', 'created_at']).execute();
}
