import type { Insertable, Selectable, Updateable } from 'kysely';
import type { TenantColumns } from '../auth/authenticate-api-key.ts';
import { TENANT_COLUMNS } from '../auth/api-key.queries.ts';
import type { CoalitionDb } from '../db/database.ts';
import type { PortalInvitationsTable, PortalUsersTable } from '../db/tables.ts';

export type PortalUserRow = Selectable<PortalUsersTable>;
export type InvitationRow = Selectable<PortalInvitationsTable>;
export type PortalUserWithTenant = PortalUserRow & Omit<TenantColumns, 'tenant_id' | 'tenant_slug'> & { tenant_slug: string | null; tenant_display_name: string | null };

function withTenant(db: CoalitionDb) {
  return db
    .selectFrom('portal_users')
    .leftJoin('tenants', 'tenants.id', 'portal_users.tenant_id')
    .selectAll('portal_users')
    .select([...TENANT_COLUMNS, 'tenants.display_name as tenant_display_name']);
}

/** One indexed lookup per portal request: the user and their tenant together. */
export async function findUserWithTenant(db: CoalitionDb, id: string): Promise<PortalUserWithTenant | undefined> {
  return withTenant(db).where('portal_users.id', '=', id).executeTakeFirst();
}

export async function findUserByEmail(db: CoalitionDb, email: string): Promise<PortalUserWithTenant | undefined> {
  return withTenant(db).where((eb) => eb(eb.fn('lower', ['portal_users.email']), '=', email.toLowerCase())).executeTakeFirst();
}

export async function insertUser(db: CoalitionDb, values: Insertable<PortalUsersTable>): Promise<PortalUserRow> {
  return db.insertInto('portal_users').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function updateUser(db: CoalitionDb, id: string, values: Updateable<PortalUsersTable>): Promise<PortalUserRow | undefined> {
  return db.updateTable('portal_users').set(values).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function listUsers(db: CoalitionDb, tenantId: string | null): Promise<PortalUserRow[]> {
  const query = db.selectFrom('portal_users').selectAll().orderBy('created_at').orderBy('id');
  return (tenantId === null ? query.where('tenant_id', 'is', null) : query.where('tenant_id', '=', tenantId)).execute();
}

export async function insertInvitation(db: CoalitionDb, values: Insertable<PortalInvitationsTable>): Promise<InvitationRow> {
  return db.insertInto('portal_invitations').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findInvitationByTokenHash(db: CoalitionDb, tokenHash: string): Promise<(InvitationRow & { tenant_display_name: string | null; tenant_slug: string | null }) | undefined> {
  return db
    .selectFrom('portal_invitations')
    .leftJoin('tenants', 'tenants.id', 'portal_invitations.tenant_id')
    .selectAll('portal_invitations')
    .select(['tenants.display_name as tenant_display_name', 'tenants.slug as tenant_slug'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export async function listInvitations(db: CoalitionDb, tenantId: string | null): Promise<InvitationRow[]> {
  const query = db.selectFrom('portal_invitations').selectAll().where('accepted_at', 'is', null).where('resets_user_id', 'is', null).orderBy('created_at', 'desc').limit(200);
  return (tenantId === null ? query.where('tenant_id', 'is', null) : query.where('tenant_id', '=', tenantId)).execute();
}
