import { z } from 'zod';
import type { TenantScope } from '../auth/scopes.ts';
import type { PortalRole } from '../db/tables.ts';
import { humanText } from '../errors/text-schemas.ts';

/** Roles a tenant's portal user can hold. `operator` is the coalition's own and has no tenant. */
export const TENANT_PORTAL_ROLES = ['admin', 'pool_manager', 'marketer', 'finance', 'fraud_reviewer'] as const satisfies readonly PortalRole[];
export type TenantPortalRole = (typeof TENANT_PORTAL_ROLES)[number];

/**
 * What each role may do, as the API-key scopes the server already enforces on every
 * procedure: a portal user's requests pass the same checks as an API key holding
 * these scopes. The portal reads the same table to hide what a role cannot do.
 */
export const ROLE_SCOPES: Record<TenantPortalRole, readonly TenantScope[]> = {
  admin: ['admin'],
  pool_manager: ['pools:write', 'codes:redeem', 'codes:export', 'agreements:read'],
  marketer: ['campaigns:write', 'customers:read', 'exchange:write', 'agreements:read'],
  finance: ['settlement:read', 'settlement:write', 'agreements:read', 'agreements:write'],
  fraud_reviewer: ['customers:read', 'fraud:review'],
};

export function scopesOfRoles(roles: readonly PortalRole[]): TenantScope[] {
  const scopes = new Set<TenantScope>();
  for (const role of roles) if (role !== 'operator') for (const scope of ROLE_SCOPES[role]) scopes.add(scope);
  return [...scopes];
}

export const tenantPortalRoleSchema = z.enum(TENANT_PORTAL_ROLES, {
  error: (issue) => `unknown role ${JSON.stringify(issue.input)}; roles: ${TENANT_PORTAL_ROLES.join(', ')}`,
});

export const portalRolesSchema = z
  .array(tenantPortalRoleSchema)
  .min(1, 'give the user at least one role')
  .max(TENANT_PORTAL_ROLES.length)
  .refine((roles) => new Set(roles).size === roles.length, 'each role once')
  .describe(`Roles: ${TENANT_PORTAL_ROLES.join(', ')}.`);

export const emailSchema = z
  .string()
  .trim()
  .max(254, 'at most 254 characters')
  .pipe(z.email({ message: 'must be an email address such as ana@shop.example' }))
  .transform((email) => email.toLowerCase());

export const displayNameSchema = humanText(100);

export const MIN_PASSWORD_LENGTH = 12;
export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(256, 'at most 256 characters');

export const userIdSchema = z.string().regex(/^usr_[0-9A-Za-z]{12}$/, 'a user id such as usr_3fK9aB2cD4eF');

export const portalUserOutputSchema = z.object({
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  roles: z.array(z.string()),
  status: z.enum(['active', 'disabled']),
  createdAt: z.string(),
  lastSignInAt: z.string().nullable(),
});
export type PortalUser = z.infer<typeof portalUserOutputSchema>;

export const invitationOutputSchema = z.object({
  id: z.string(),
  email: z.string(),
  roles: z.array(z.string()),
  status: z.enum(['pending', 'accepted', 'expired', 'revoked']),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string(),
});
export type Invitation = z.infer<typeof invitationOutputSchema>;
