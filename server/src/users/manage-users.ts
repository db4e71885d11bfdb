import { createHash, randomBytes } from 'node:crypto';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { prefixedIds } from '../db/ids.ts';
import { isUniqueViolation } from '../db/postgres-errors.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import type { PortalRole } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { insertAuditEvent, insertOperatorAuditEvent } from '../tenants/audit.queries.ts';
import { validationError } from '../errors/validation.ts';
import { hashPassword } from './passwords.ts';
import {
  findInvitationByTokenHash,
  insertInvitation,
  insertUser,
  listInvitations,
  listUsers,
  type InvitationRow,
  type PortalUserRow,
} from './user.queries.ts';
import type { Invitation, PortalUser, TenantPortalRole } from './user.ts';

const newUserId = prefixedIds('usr');
const newInvitationId = prefixedIds('inv');
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const RESET_TTL_MS = 24 * 60 * 60 * 1000;

/** Whose users an action concerns: a tenant (its slug for the audit log), or the coalition's operators. */
export type UserScope = { tenantId: string; tenantSlug: string } | { tenantId: null };

export function toPortalUser(row: PortalUserRow): PortalUser {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    roles: row.roles,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    lastSignInAt: row.last_sign_in_at?.toISOString() ?? null,
  };
}

export function toInvitation(row: InvitationRow, now: Date): Invitation {
  const status = row.accepted_at ? 'accepted' : row.revoked_at ? 'revoked' : row.expires_at <= now ? 'expired' : 'pending';
  return {
    id: row.id,
    email: row.email,
    roles: row.roles,
    status,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    expiresAt: row.expires_at.toISOString(),
  };
}

function scopeOf(tenantId: string | null, tenantSlug: string | null): UserScope {
  return tenantId !== null && tenantSlug ? { tenantId, tenantSlug } : { tenantId: null };
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Into the tenant's trail, or for operator accounts the operators' own. */
async function audit(db: Database, scope: UserScope, event: { actor: string; action: string; subjectType: string; subjectId: string; details?: Record<string, unknown> }): Promise<void> {
  if (scope.tenantId !== null) await insertAuditEvent(tenantDb(db, tenantSchemaName(scope.tenantSlug)), event);
  else await insertOperatorAuditEvent(coalitionDb(db), event);
}

export async function listPortalUsers(db: Database, scope: UserScope, now: Date): Promise<{ users: PortalUser[]; invitations: Invitation[] }> {
  const coalition = coalitionDb(db);
  const [users, invitations] = await Promise.all([listUsers(coalition, scope.tenantId), listInvitations(coalition, scope.tenantId)]);
  return { users: users.map(toPortalUser), invitations: invitations.map((row) => toInvitation(row, now)).filter((i) => i.status !== 'revoked') };
}

/**
 * An invitation: a one-time link (the token is returned here once and stored only as
 * its SHA-256). Inviting the same address again replaces its pending invitation.
 */
export async function inviteUser(
  db: Database,
  scope: UserScope,
  input: { email: string; roles: PortalRole[]; actor: string },
  now: Date,
): Promise<{ invitation: Invitation; token: string; path: string }> {
  const token = randomBytes(32).toString('base64url');
  const row = await db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    // Only this tenant's accounts are checked: whether an address has an account at
    // another tenant is not the inviter's to learn. Such an invitation fails when its
    // holder accepts it, and they are told.
    let taken = coalition
      .selectFrom('portal_users')
      .select('id')
      .where((eb) => eb(eb.fn('lower', ['email']), '=', input.email));
    taken = scope.tenantId === null ? taken.where('tenant_id', 'is', null) : taken.where('tenant_id', '=', scope.tenantId);
    if (await taken.executeTakeFirst()) throw new AppError('EMAIL_TAKEN', `${input.email} already has a portal account here.`, { email: input.email });
    let replace = coalition
      .updateTable('portal_invitations')
      .set({ revoked_at: now })
      .where('email', '=', input.email)
      .where('resets_user_id', 'is', null)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null);
    replace = scope.tenantId === null ? replace.where('tenant_id', 'is', null) : replace.where('tenant_id', '=', scope.tenantId);
    await replace.execute();
    const invitation = await insertInvitation(coalition, {
      id: newInvitationId(),
      tenant_id: scope.tenantId,
      email: input.email,
      roles: input.roles,
      token_hash: tokenHash(token),
      created_by: input.actor,
      created_at: now,
      expires_at: new Date(now.getTime() + INVITATION_TTL_MS),
    });
    await audit(trx, scope, { actor: input.actor, action: 'user.invited', subjectType: 'invitation', subjectId: invitation.id, details: { email: input.email, roles: input.roles } });
    return invitation;
  });
  return { invitation: toInvitation(row, now), token, path: `/portal/invite/${token}` };
}

export async function revokeInvitation(db: Database, scope: UserScope, invitationId: string, actor: string, now: Date): Promise<Invitation> {
  return db.transaction().execute(async (trx) => {
    let query = coalitionDb(trx)
      .updateTable('portal_invitations')
      .set({ revoked_at: now })
      .where('id', '=', invitationId)
      .where('resets_user_id', 'is', null)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null);
    query = scope.tenantId === null ? query.where('tenant_id', 'is', null) : query.where('tenant_id', '=', scope.tenantId);
    const row = await query.returningAll().executeTakeFirst();
    if (!row) throw new AppError('INVITATION_NOT_FOUND', `No pending invitation ${invitationId}.`, { invitationId });
    await audit(trx, scope, { actor, action: 'user.invitation_revoked', subjectType: 'invitation', subjectId: row.id, details: { email: row.email } });
    return toInvitation(row, now);
  });
}

/**
 * A password reset for a user who forgot theirs: a one-time link (valid a day) like an
 * invitation's, shown once to the admin. Using it sets a new password and ends every
 * session of the user; an earlier reset link of theirs stops working.
 */
export async function createPasswordReset(db: Database, scope: UserScope, userId: string, actor: string, now: Date): Promise<{ token: string; path: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + RESET_TTL_MS);
  await db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    let users = coalition.selectFrom('portal_users').selectAll().where('id', '=', userId);
    users = scope.tenantId === null ? users.where('tenant_id', 'is', null) : users.where('tenant_id', '=', scope.tenantId);
    const user = await users.executeTakeFirst();
    if (!user) throw new AppError('USER_NOT_FOUND', `No portal user ${userId}.`, { userId });
    await coalition.updateTable('portal_invitations').set({ revoked_at: now }).where('resets_user_id', '=', userId).where('accepted_at', 'is', null).where('revoked_at', 'is', null).execute();
    const reset = await insertInvitation(coalition, {
      id: newInvitationId(),
      tenant_id: user.tenant_id,
      email: user.email,
      roles: user.roles,
      token_hash: tokenHash(token),
      created_by: actor,
      created_at: now,
      expires_at: expiresAt,
      resets_user_id: user.id,
    });
    await audit(trx, scope, { actor, action: 'user.password_reset_requested', subjectType: 'user', subjectId: user.id, details: { email: user.email, linkId: reset.id } });
  });
  return { token, path: `/portal/invite/${token}`, expiresAt: expiresAt.toISOString() };
}

/** What an invitation (or reset) link shows before the person sets a password. */
export async function describeInvitation(
  db: Database,
  token: string,
  now: Date,
): Promise<{ purpose: 'join' | 'reset'; email: string; roles: PortalRole[]; tenant: string | null; expiresAt: string }> {
  const row = await usableInvitation(db, token, now);
  return { purpose: row.resets_user_id ? 'reset' : 'join', email: row.email, roles: row.roles, tenant: row.tenant_display_name, expiresAt: row.expires_at.toISOString() };
}

async function usableInvitation(db: Database, token: string, now: Date) {
  const row = /^[A-Za-z0-9_-]{43}$/.test(token) ? await findInvitationByTokenHash(coalitionDb(db), tokenHash(token)) : undefined;
  const reason = !row ? 'unknown' : row.accepted_at ? 'used' : row.revoked_at ? 'revoked' : row.expires_at <= now ? 'expired' : null;
  if (!row || reason) {
    const said = { unknown: 'is not valid', used: 'has already been used', revoked: 'was withdrawn', expired: 'has expired' }[reason ?? 'unknown'];
    throw new AppError('INVITATION_INVALID', `This invitation link ${said}. Ask your administrator for a new one.`, { reason });
  }
  return row;
}

/**
 * Turns an invitation into an account, once: two tabs accepting the same link get one
 * account. A reset link sets the user's new password instead and ends their sessions.
 */
export async function acceptInvitation(db: Database, input: { token: string; displayName?: string | undefined; password: string }, now: Date): Promise<PortalUserRow> {
  const found = await usableInvitation(db, input.token, now);
  if (!found.resets_user_id && !input.displayName) throw validationError([{ path: ['displayName'], message: 'enter your name' }]);
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.transaction().execute(async (trx) => {
      const coalition = coalitionDb(trx);
      const invitation = await coalition
        .updateTable('portal_invitations')
        .set({ accepted_at: now })
        .where('id', '=', found.id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      if (!invitation) throw new AppError('INVITATION_INVALID', 'This invitation link has already been used.', { reason: 'used' });
      if (invitation.resets_user_id) {
        // A disabled user's reset links are withdrawn when they are disabled; this is the backstop.
        const user = await coalition
          .updateTable('portal_users')
          .set((eb) => ({ password_hash: passwordHash, session_version: eb('session_version', '+', 1), updated_at: now }))
          .where('id', '=', invitation.resets_user_id)
          .where('status', '=', 'active')
          .returningAll()
          .executeTakeFirst();
        if (!user) throw new AppError('INVITATION_INVALID', 'This link was withdrawn: the account is disabled.', { reason: 'revoked' });
        await coalition.updateTable('portal_invitations').set({ accepted_user_id: user.id }).where('id', '=', invitation.id).execute();
        await audit(trx, scopeOf(invitation.tenant_id, found.tenant_slug), { actor: user.id, action: 'user.password_reset', subjectType: 'user', subjectId: user.id, details: { email: user.email } });
        return user;
      }
      const user = await insertUser(coalition, {
        id: newUserId(),
        tenant_id: invitation.tenant_id,
        email: invitation.email,
        display_name: input.displayName!,
        roles: invitation.roles,
        password_hash: passwordHash,
        created_by: invitation.created_by,
        created_at: now,
        updated_at: now,
      });
      await coalition.updateTable('portal_invitations').set({ accepted_user_id: user.id }).where('id', '=', invitation.id).execute();
      await audit(trx, scopeOf(invitation.tenant_id, found.tenant_slug), { actor: user.id, action: 'user.joined', subjectType: 'user', subjectId: user.id, details: { email: user.email, roles: user.roles } });
      return user;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'portal_users_email_idx')) throw new AppError('EMAIL_TAKEN', `${found.email} already has a portal account. Sign in instead.`, { email: found.email });
    throw error;
  }
}

/**
 * Roles, display name, or status of a user. Sessions of a disabled user, or of one
 * whose roles changed, end at their next request. A tenant always keeps an active
 * admin, and nobody disables or demotes themselves by accident.
 */
export async function changeUser(
  db: Database,
  scope: UserScope,
  userId: string,
  change: { roles?: PortalRole[]; displayName?: string; status?: 'active' | 'disabled' },
  actor: string,
  now: Date,
  options: { byOperator?: boolean } = {},
): Promise<PortalUser> {
  return db.transaction().execute(async (trx) => {
    const coalition = coalitionDb(trx);
    // Lock the tenant's users: two admins demoting each other at once cannot both win.
    let users = coalition.selectFrom('portal_users').selectAll().orderBy('id').forUpdate();
    users = scope.tenantId === null ? users.where('tenant_id', 'is', null) : users.where('tenant_id', '=', scope.tenantId);
    const all = await users.execute();
    const current = all.find((user) => user.id === userId);
    if (!current) throw new AppError('USER_NOT_FOUND', `No portal user ${userId}.`, { userId });
    const next = { roles: change.roles ?? current.roles, status: change.status ?? current.status };
    const adminRole: PortalRole = scope.tenantId === null ? 'operator' : 'admin';
    const isAdmin = (user: { roles: PortalRole[]; status: string }) => user.status === 'active' && user.roles.includes(adminRole);
    // The operator may lock out a tenant's only admin (a compromised account); a tenant's
    // own admins and the operators among themselves always keep one.
    const guarded = !(options.byOperator && scope.tenantId !== null);
    if (guarded && isAdmin(current) && !isAdmin(next)) {
      if (userId === actor) throw new AppError('LAST_ADMIN', 'You cannot disable yourself or remove your own admin role; another admin can.', { userId });
      if (!all.some((user) => user.id !== userId && isAdmin(user))) {
        throw new AppError('LAST_ADMIN', `This would leave no active ${adminRole}. Give another user the ${adminRole} role first.`, { userId });
      }
    }
    const rolesChanged = change.roles !== undefined && [...change.roles].sort().join() !== [...current.roles].sort().join();
    const statusChanged = change.status !== undefined && change.status !== current.status;
    const row = await coalition
      .updateTable('portal_users')
      .set({
        ...(change.roles && { roles: change.roles }),
        ...(change.displayName !== undefined && { display_name: change.displayName }),
        ...(change.status && { status: change.status }),
        ...((rolesChanged || (statusChanged && change.status === 'disabled')) && { session_version: current.session_version + 1 }),
        updated_at: now,
      })
      .where('id', '=', userId)
      .returningAll()
      .executeTakeFirstOrThrow();
    // A disabled user's reset links, and the invitations a user sent while an admin, stop
    // working when they are disabled or stop being an admin: no way back in through them.
    const disabling = statusChanged && change.status === 'disabled';
    if (disabling || (isAdmin(current) && !isAdmin(next))) {
      await coalition
        .updateTable('portal_invitations')
        .set({ revoked_at: now })
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('created_by', '=', userId), ...(disabling ? [eb('resets_user_id', '=', userId)] : [])]))
        .execute();
    }
    const action = statusChanged ? (change.status === 'disabled' ? 'user.disabled' : 'user.enabled') : 'user.updated';
    await audit(trx, scope, { actor, action, subjectType: 'user', subjectId: userId, details: { email: row.email, ...change } });
    return toPortalUser(row);
  });
}

/** Ends every session issued under this version (sign-out): the next request of any of them is refused. */
export async function endSessions(db: Database, userId: string, version: number): Promise<void> {
  await coalitionDb(db)
    .updateTable('portal_users')
    .set((eb) => ({ session_version: eb('session_version', '+', 1) }))
    .where('id', '=', userId)
    .where('session_version', '=', version)
    .execute();
}

/** The tenant (or the operators) a user belongs to, for the operator's actions on any user. */
export async function userScopeOf(db: Database, userId: string): Promise<UserScope> {
  const row = await coalitionDb(db)
    .selectFrom('portal_users')
    .leftJoin('tenants', 'tenants.id', 'portal_users.tenant_id')
    .select(['portal_users.tenant_id', 'tenants.slug'])
    .where('portal_users.id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new AppError('USER_NOT_FOUND', `No portal user ${userId}.`, { userId });
  return row.tenant_id !== null && row.slug ? { tenantId: row.tenant_id, tenantSlug: row.slug } : { tenantId: null };
}
