import { z } from 'zod';

/**
 * Scopes a tenant API key can carry. `admin` manages the tenant's own keys and
 * settings and satisfies every other scope requirement. Append-only: integrators
 * store these strings.
 */
export const TENANT_SCOPES = [
  'admin',
  'pos:write',
  'customers:read',
  'exchange:write',
  'pools:write',
  'codes:redeem',
  'webhooks:manage',
  'settlement:read',
  'settlement:write',
  'campaigns:write',
  'codes:export',
  'agreements:read',
  'agreements:write',
  'fraud:review',
  'fraud:rules',
] as const;

export type TenantScope = (typeof TENANT_SCOPES)[number];

export const tenantScopeSchema = z.enum(TENANT_SCOPES, {
  error: (issue) => `unknown scope ${JSON.stringify(issue.input)}; valid scopes: ${TENANT_SCOPES.join(', ')}`,
});

export function hasScopes(granted: readonly string[], required: readonly TenantScope[]): boolean {
  return granted.includes('admin') || required.every((scope) => granted.includes(scope));
}
