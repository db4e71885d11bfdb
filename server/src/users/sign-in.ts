import type { HeaderSink } from '../auth/access.ts';
import { coalitionDb, tenantDb, type Database } from '../db/database.ts';
import { tenantSchemaName } from '../db/schema-names.ts';
import { AppError } from '../errors/app-error.ts';
import { insertAuditEvent, insertOperatorAuditEvent } from '../tenants/audit.queries.ts';
import { passwordMatches } from './passwords.ts';
import type { SignInLimits } from './sign-in-limits.ts';
import { findUserByEmail, type PortalUserWithTenant } from './user.queries.ts';

/**
 * Email and password to a user, or SIGN_IN_FAILED without saying which part was wrong
 * (an unknown address costs the same time as a wrong password).
 */
export async function signIn(
  db: Database,
  limits: SignInLimits,
  input: { email: string; password: string; clientIp: string },
  headers: HeaderSink,
  now: Date,
): Promise<PortalUserWithTenant> {
  await limits.admit(input.clientIp, input.email, headers);
  const user = await findUserByEmail(coalitionDb(db), input.email);
  const matches = await passwordMatches(user?.password_hash, input.password);
  if (!user || !matches || user.status !== 'active') {
    throw new AppError('SIGN_IN_FAILED', 'The email address or password is wrong.');
  }
  await limits.recordSuccess(input.email);
  await db.transaction().execute(async (trx) => {
    await coalitionDb(trx).updateTable('portal_users').set({ last_sign_in_at: now }).where('id', '=', user.id).execute();
    const entry = { actor: user.id, action: 'user.signed_in', subjectType: 'user', subjectId: user.id, details: { clientIp: input.clientIp } };
    if (user.tenant_slug) await insertAuditEvent(tenantDb(trx, tenantSchemaName(user.tenant_slug)), entry);
    else await insertOperatorAuditEvent(coalitionDb(trx), entry);
  });
  return user;
}
