import type { AppServices } from '../system/services.ts';
import type { TenantRole } from '../db/tables.ts';
import { AppError } from '../errors/app-error.ts';
import { authenticateSession } from '../users/authenticate-session.ts';
import { authenticateApiKey } from './authenticate-api-key.ts';
import type { RequestCredentials } from './credentials.ts';
import type { Principal, TenantHandle } from './principal.ts';
import { hasScopes, type TenantScope } from './scopes.ts';

/** Where rate-limit headers go: the tRPC context's map, or an Express response. */
export interface HeaderSink {
  set(name: string, value: string): unknown;
}

/**
 * Resolves the API key, or else the portal session cookie; a failed attempt counts
 * against the caller's address, so guessing keys gets a 429. An Authorization header
 * wins over a cookie: a script holding a key never needs a CSRF token.
 */
export async function authenticateCounted(services: AppServices, credentials: RequestCredentials, clientIp: string, headers: HeaderSink): Promise<Principal> {
  try {
    if (!credentials.authorization && credentials.sessionToken) return await authenticateSession(services, credentials, credentials.sessionToken, headers);
    return await authenticateApiKey(services.db, credentials.authorization);
  } catch (error) {
    if (error instanceof AppError && error.code === 'UNAUTHENTICATED') await services.rateLimits.consumeForIp(clientIp, headers);
    throw error;
  }
}

/** Every call counts against its key (a suspended tenant's too); suspended tenants are then refused. */
export async function admitPrincipal(services: AppServices, principal: Principal, headers: HeaderSink): Promise<void> {
  const tenantLimit = principal.kind === 'tenant' ? principal.tenant.rateLimitPerMinute : null;
  await services.rateLimits.consumeForKey(principal.keyId, tenantLimit, headers);
  if (principal.kind === 'tenant' && principal.tenant.status === 'suspended') {
    throw new AppError('TENANT_SUSPENDED', `Tenant ${principal.tenant.slug} is suspended. Contact the coalition operator.`, { tenant: principal.tenant.slug });
  }
}

/** The tenant a tenant operation acts for, once its key's scopes and its tenant's role are checked. */
export function requireTenantAccess(principal: Principal, required: readonly TenantScope[], role: TenantRole | undefined): { tenant: TenantHandle; keyId: string } {
  if (principal.kind !== 'tenant') {
    throw new AppError('FORBIDDEN', 'This operation acts for a tenant and needs a tenant API key (cx_live_…).', { requiredScopes: required });
  }
  if (!hasScopes(principal.scopes, required)) {
    const lacks = principal.user
      ? `Your role${principal.user.roles.length > 1 ? 's' : ''} (${principal.user.roles.join(', ')}) do${principal.user.roles.length > 1 ? '' : 'es'} not allow this; ask a tenant admin.`
      : `This API key lacks the scope${required.length > 1 ? 's' : ''} ${required.join(', ')}.`;
    throw new AppError('FORBIDDEN', lacks, {
      requiredScopes: required,
      grantedScopes: principal.scopes,
    });
  }
  if (role && !principal.tenant.roles.includes(role)) {
    throw new AppError('ROLE_REQUIRED', `This operation is for ${role} tenants; ${principal.tenant.slug} is not one.`, { requiredRole: role });
  }
  return { tenant: principal.tenant, keyId: principal.keyId };
}
