import { sql, type Kysely } from 'kysely';

// Portal users and their invitations (docs/portal-guide.md, docs/adr/0012). A user
// belongs to one tenant, or to none: then they are a coalition operator. Runs with
// db.withSchema('coalition').
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('portal_users')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('tenant_id', 'uuid', (col) => col.references('tenants.id'))
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('display_name', 'text', (col) => col.notNull())
    .addColumn('roles', sql`text[]`, (col) => col.notNull())
    .addColumn('password_hash', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().defaultTo('active'))
    // Bumped when the user is disabled or their roles change: sessions carry the version
    // they were issued under and stop working when it moves.
    .addColumn('session_version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text')
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_sign_in_at', 'timestamptz')
    .addCheckConstraint('portal_users_status_valid', sql`status in ('active', 'disabled')`)
    .addCheckConstraint(
      'portal_users_roles_valid',
      sql`cardinality(roles) > 0 and (
        (tenant_id is null and roles = array['operator']::text[])
        or (tenant_id is not null and roles <@ array['admin', 'pool_manager', 'marketer', 'finance', 'fraud_reviewer']::text[]))`,
    )
    .execute();
  // One person signs in with one address: the address names the account, in any case.
  await sql`create unique index portal_users_email_idx on coalition.portal_users (lower(email))`.execute(db);
  await db.schema.createIndex('portal_users_tenant_idx').on('portal_users').columns(['tenant_id', 'created_at']).execute();

  await db.schema
    .createTable('portal_invitations')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('tenant_id', 'uuid', (col) => col.references('tenants.id'))
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('roles', sql`text[]`, (col) => col.notNull())
    // SHA-256 of the link's token: the link is shown once, to the admin who invited.
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('accepted_user_id', 'text', (col) => col.references('portal_users.id'))
    .addColumn('revoked_at', 'timestamptz')
    // A password reset: the same one-time link, for an existing user.
    .addColumn('resets_user_id', 'text', (col) => col.references('portal_users.id'))
    .execute();
  // The coalition operators' own audit trail (tenants' trails live in their schemas):
  // operator accounts, their sign-ins, and every change an operator makes in the portal.
  await db.schema
    .createTable('operator_audit_events')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('subject_type', 'text', (col) => col.notNull())
    .addColumn('subject_id', 'text', (col) => col.notNull())
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('portal_invitations_tenant_idx').on('portal_invitations').columns(['tenant_id', 'created_at']).execute();
}
