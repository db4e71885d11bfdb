import { tenantHandleOf, unauthenticated } from '../auth/authenticate-api-key.ts';
import type { RequestCredentials } from '../auth/credentials.ts';
import type { HeaderSink } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import { coalitionDb } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import type { AppServices } from '../system/services.ts';
import { csrfMatches, issueSessionToken, readSessionToken, sessionCookie, shouldRenew } from './sessions.ts';
import { findUserWithTenant } from './user.queries.ts';
import { scopesOfRoles } from './user.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A portal session: the cookie's token, the user as stored now (disabled users and
 * changed roles take effect on the next request), and for anything but a read, the
 * CSRF token and our own origin. The user's roles become the scopes every procedure
 * already checks.
 */
export async function authenticateSession(services: AppServices, credentials: RequestCredentials, token: string, headers: HeaderSink): Promise<Principal> {
  const now = services.clock.now();
  const claims = await readSessionToken(services.secrets, token, now);
  if (!claims) throw unauthenticated('session_expired', 'Your portal session has ended. Sign in again.');
  if (!SAFE_METHODS.has(credentials.method.toUpperCase())) {
    if (credentials.origin && credentials.origin !== credentials.ownOrigin) {
      throw new AppError('CSRF_REJECTED', 'This change came from another site and was refused.', { reason: 'cross_origin' });
    }
    if (!csrfMatches(claims, credentials.csrfToken)) {
      throw new AppError('CSRF_REJECTED', 'This change lacks the session\'s X-CSRF-Token header. Reload the portal and try again.', { reason: 'missing_or_wrong_token' });
    }
  }

  const user = await findUserWithTenant(coalitionDb(services.db), claims.userId);
  if (!user || user.status !== 'active' || user.session_version !== claims.version) {
    throw unauthenticated('session_revoked', 'Your portal session is no longer valid (the account was disabled or its roles changed). Sign in again.');
  }
  if (shouldRenew(claims, now)) {
    const renewed = await issueSessionToken(services.secrets, { id: user.id, sessionVersion: user.session_version }, now, claims);
    headers.set('Set-Cookie', sessionCookie(renewed.token, renewed.claims, credentials.secureCookies));
  }

  const sessionUser = { id: user.id, email: user.email, displayName: user.display_name, roles: user.roles, tenantName: user.tenant_display_name };
  if (user.tenant_id === null) return { kind: 'operator', keyId: user.id, user: sessionUser };
  if (!user.tenant_slug) throw unauthenticated('session_revoked', 'Your portal session is no longer valid. Sign in again.');
  const tenant = await tenantHandleOf(services.db, { ...user, tenant_id: user.tenant_id, tenant_slug: user.tenant_slug });
  return { kind: 'tenant', keyId: user.id, scopes: scopesOfRoles(user.roles), tenant, user: sessionUser };
}
